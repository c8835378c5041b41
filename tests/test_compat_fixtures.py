"""The fixtures of Coral's and Perspective's real formats load, agree with the port of Coral's
code in tests/compat/coral_reader.py, and that port accepts a Perspective-shaped answer and
refuses malformed ones as Coral does. No endpoint of ours is needed yet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.compat import coral_reader as coral

FIXTURES = Path(__file__).parent / "fixtures"
PERSPECTIVE = FIXTURES / "perspective"
CORAL = FIXTURES / "coral"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("folder", [PERSPECTIVE, CORAL], ids=lambda p: p.name)
def test_every_fixture_loads_and_its_readme_gives_its_source(folder: Path) -> None:
    readme = (folder / "README.md").read_text(encoding="utf-8")
    files = sorted(folder.glob("*.json"))
    assert files
    for path in files:
        load(path)
        assert f"`{path.name}`" in readme, f"{path.name} has no source in {folder}/README.md"


@pytest.mark.parametrize("name", ["coral_analyze_request.json", "coral_suggestscore_request.json"])
def test_coral_perspective_requests_are_sent_as_their_raw_body(name: str) -> None:
    fixture = load(PERSPECTIVE / name)
    assert coral.js_stringify(fixture["body"]) == fixture["body_raw"]
    assert fixture["url"].endswith(f"{fixture['path']}?key={fixture['query']['key']}")
    assert fixture["headers"]["Content-Type"] == "application/json"


def test_the_analyze_fixture_is_what_perspective_ts_builds() -> None:
    fixture = load(PERSPECTIVE / "coral_analyze_request.json")
    body = coral.analyze_body(
        fixture["body"]["comment"]["text"], do_not_store=True, model="TOXICITY", locale="fr-FR"
    )
    assert coral.js_stringify(body) == fixture["body_raw"]
    endpoint = "https://moderation.example.fr/perspective/v1alpha1"
    key = fixture["query"]["key"]
    assert coral.perspective_url(endpoint, "comments:analyze", key) == fixture["url"]
    # An admin's trailing slash or stray spaces change nothing (path.join, .trim()).
    assert coral.perspective_url(f" {endpoint}/ ", "comments:analyze", f"{key} ") == fixture["url"]


def test_coral_sends_one_language_and_english_for_any_other_locale() -> None:
    assert [coral.convert_language(x) for x in ("fr-FR", "en-US", "de", "pt-BR", "es")] == [
        "fr",
        "en",
        "de",
        "pt",
        "es",
    ]
    assert coral.convert_language("it-IT") == "en"


def test_the_suggestscore_fixture_is_what_perspective_ts_builds() -> None:
    fixture = load(PERSPECTIVE / "coral_suggestscore_request.json")
    body = coral.suggestscore_body(
        text=fixture["body"]["comment"]["text"],
        comment_id="3f1c2a9e-7b4d-4e21-9c55-0d8a6b1e2f47",
        comment_parent_id="d79b787f-f406-49a0-a179-72e3652e54be",
        comment_status="DELETED",
        story_url="https://www.example.fr/articles/raqqa-al-mayadeen",
        tenant_url="https://coral.example.fr/",
        model="TOXICITY",
        locale="fr-FR",
    )
    assert coral.js_stringify(body) == fixture["body_raw"]
    assert body["attributeScores"]["TOXICITY"]["summaryScore"]["value"] == 1
    context = json.loads(body["context"]["entries"][0]["text"])
    assert context["Coral_comment_id"] == body["clientToken"].removeprefix("comment:")


def test_an_approval_suggests_zero_and_a_top_level_comment_has_no_parent_key() -> None:
    body = coral.suggestscore_body(
        text="Merci pour cet article.",
        comment_id="c1",
        comment_parent_id=None,
        comment_status="APPROVED",
        story_url="https://www.example.fr/a",
        tenant_url="https://coral.example.fr/",
        model="TOXICITY",
        locale="fr-FR",
    )
    assert body["attributeScores"] == {"TOXICITY": {"summaryScore": {"value": 0}}}
    assert json.loads(body["context"]["entries"][0]["text"]) == {
        "url": "https://www.example.fr/a?commentID=c1",
        "Coral_comment_id": "c1",
    }


def answer(value: Any, attribute: str = "TOXICITY") -> str:
    """A hand-written answer in Perspective's shape, as our endpoint will give it."""
    return json.dumps(
        {
            "attributeScores": {
                attribute: {"summaryScore": {"value": value, "type": "PROBABILITY"}}
            },
            "languages": ["fr"],
        }
    )


def test_coral_reads_a_perspective_shaped_answer_above_its_threshold_as_toxic() -> None:
    result = coral.read_toxic_phase(200, answer(0.93), threshold=0.8, nudge=True)
    assert result.is_toxic and result.would_nudge
    assert result.status == "SYSTEM_WITHHELD"
    assert result.comment_actions == [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}]
    assert result.metadata == {"perspective": {"model": "TOXICITY", "score": 0.93}}


def test_coral_reads_a_score_at_or_below_its_threshold_as_not_toxic() -> None:
    assert not coral.read_toxic_phase(200, answer(0.8), threshold=0.8).is_toxic
    result = coral.read_toxic_phase(200, answer(0.12))
    assert result.status is None and result.comment_actions == []


def test_coral_reads_perspectives_documented_answer() -> None:
    body = (PERSPECTIVE / "analyze_response_docs_example.json").read_text(encoding="utf-8")
    assert coral.read_toxic_phase(200, body).score == pytest.approx(0.8627961)
    unsubstantial = coral.read_toxic_phase(200, body, model="UNSUBSTANTIAL")
    assert unsubstantial.score == pytest.approx(0.69036055)


def test_coral_reads_the_model_its_admin_chose() -> None:
    body = answer(0.95, attribute="SEVERE_TOXICITY")
    assert coral.read_toxic_phase(200, body, model="SEVERE_TOXICITY").is_toxic
    with pytest.raises(coral.CoralSkips):
        coral.read_toxic_phase(200, body)  # TOXICITY is absent: TypeError, fails open


@pytest.mark.parametrize(
    "name",
    [
        "error_400_unsupported_language.json",
        "error_400_text_too_long.json",
        "error_403_permission_denied.json",
        "error_429_resource_exhausted.json",
        "error_503_unavailable.json",
    ],
)
def test_coral_fails_open_on_every_google_error(name: str) -> None:
    text = (PERSPECTIVE / name).read_text(encoding="utf-8")
    error = json.loads(text)["error"]
    assert set(error) == {"code", "message", "status"}
    assert name.startswith(f"error_{error['code']}_")
    with pytest.raises(coral.CoralSkips):
        coral.read_toxic_phase(error["code"], text)


@pytest.mark.parametrize(
    "body",
    ["", "not json", "[]", "{}", '{"attributeScores": {}}', '{"attributeScores": null}'],
)
def test_coral_fails_open_on_a_malformed_success(body: str) -> None:
    with pytest.raises(coral.CoralSkips):
        coral.read_toxic_phase(200, body)


def test_a_missing_value_silently_reads_as_not_toxic() -> None:
    """`undefined > threshold` is false: our answers must never omit summaryScore.value."""
    body = json.dumps({"attributeScores": {"TOXICITY": {"summaryScore": {}}}})
    assert coral.read_toxic_phase(200, body).is_toxic is False


def test_a_score_that_is_not_a_json_number_is_refused_by_the_port() -> None:
    with pytest.raises(AssertionError):
        coral.read_toxic_phase(200, answer("0.9"))


def test_suggestscore_success_is_any_2xx_and_the_body_is_ignored() -> None:
    assert coral.read_suggestscore(200)
    assert not coral.read_suggestscore(403)
    assert not coral.read_suggestscore(503)


# --- external moderation phase ----------------------------------------------------------------

REQUESTS = ["external_moderation_request.json", "external_moderation_request_rotation.json"]


@pytest.mark.parametrize("name", REQUESTS)
def test_coral_signs_the_pretty_printed_body_with_every_active_secret(name: str) -> None:
    fixture = load(CORAL / name)
    raw = fixture["body_raw"]
    assert coral.external_request_body(fixture["body"]) == raw
    header = fixture["headers"]["X-Coral-Signature"]
    assert coral.coral_signature_header(fixture["signing_secrets"], raw) == header
    assert len(coral.extract_signatures(header)) == len(fixture["signing_secrets"])
    for secret in fixture["signing_secrets"]:
        assert coral.verify_signature(header, raw.encode("utf-8"), secret)


@pytest.mark.parametrize("name", REQUESTS)
def test_a_wrong_secret_a_changed_body_or_no_header_fails_verification(name: str) -> None:
    fixture = load(CORAL / name)
    raw = fixture["body_raw"].encode("utf-8")
    header = fixture["headers"]["X-Coral-Signature"]
    secret = fixture["signing_secrets"][0]
    assert not coral.verify_signature(header, raw, "empsec_" + "00" * 32)
    # The same JSON re-serialised is another body: the signature covers the raw bytes.
    assert not coral.verify_signature(
        header, coral.js_stringify(fixture["body"]).encode("utf-8"), secret
    )
    assert not coral.verify_signature(None, raw, secret)
    assert not coral.verify_signature("", raw, secret)
    assert not coral.verify_signature("v1=" + header.split("=", 1)[1], raw, secret)


def test_coral_keeps_every_documented_response() -> None:
    for example in load(CORAL / "external_moderation_responses_docs_examples.json"):
        assert coral.read_external_phase_response(200, json.dumps(example)) == example


def test_a_rejection_with_its_reason_in_words_loses_the_words() -> None:
    """stripUnknown: Coral keeps status, actions and tags, and drops any other key."""
    text = json.dumps(
        {
            "status": "REJECTED",
            "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC", "x": 1}],
            "reason": "Insulte envers un autre lecteur",
        }
    )
    assert coral.read_external_phase_response(200, text) == {
        "status": "REJECTED",
        "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
    }


@pytest.mark.parametrize(("status", "text"), [(204, ""), (200, ""), (200, "{}"), (500, "{}")])
def test_coral_takes_no_decision_from_an_abstention_or_a_failure(status: int, text: str) -> None:
    assert coral.read_external_phase_response(status, text) is None


def test_an_empty_object_with_a_newline_is_kept_as_an_empty_decision() -> None:
    """Only the exact text "{}" abstains; Flask's jsonify({}) adds a newline."""
    assert coral.read_external_phase_response(200, "{}\n") == {}


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        "null",
        '{"status": "PUBLISHED"}',
        '{"status": null}',
        '{"status": ["REJECTED"]}',
        '{"actions": [{"actionType": "FLAG", "reason": "INSULT"}]}',
        '{"actions": [{"reason": "COMMENT_DETECTED_TOXIC"}]}',
        '{"actions": {"actionType": "FLAG"}}',
        '{"tags": ["PINNED"]}',
    ],
)
def test_coral_refuses_a_malformed_phase_response(text: str) -> None:
    with pytest.raises(coral.CoralSkips):
        coral.read_external_phase_response(200, text)


def test_an_answer_with_every_score_below_threshold_has_no_scores_and_coral_fails_open() -> None:
    text = (PERSPECTIVE / "analyze_response_below_threshold.json").read_text(encoding="utf-8")
    assert "attributeScores" not in json.loads(text)
    with pytest.raises(coral.CoralSkips):
        coral.read_toxic_phase(200, text)
