"""Coral's external moderation phase, driven as Coral drives it: the request bodies Coral
builds (tests/fixtures/coral), signed as Coral signs them, and our answers read by Coral's own
reading code ported (tests/compat/coral_reader.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import CoralDecision, Role, SettingChange
from app.services import clients, coral, settings
from tests.compat.coral_reader import (
    coral_signature_header,
    external_request_body,
    read_external_phase_response,
)
from tests.conftest import login, make_user
from tests.scorers import SpyScorer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "coral"
URL = "/coral/moderation/lemonde"
FLAG = [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}]


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


SIMPLE = _fixture("external_moderation_request.json")
ROTATION = _fixture("external_moderation_request_rotation.json")
OLD_SECRET, NEW_SECRET = ROTATION["signing_secrets"]


@pytest.fixture
def scorer(tiny_scorer: Any) -> SpyScorer:
    return SpyScorer(tiny_scorer)


@pytest.fixture
def lemonde(app: Any) -> Any:
    """The client whose Coral phase signs with the fixture's (older) secret."""
    return clients.create("lemonde", coral_secret=OLD_SECRET).client


def _request(text: str = "Un avis posé sur l’article.", **changes: Any) -> dict[str, Any]:
    """Coral's request for a new comment (the documented example), with another text."""
    body = json.loads(json.dumps(SIMPLE["body"]))
    body["comment"]["body"] = text
    for key, value in changes.items():
        body[key] = value
    return body


def _send(
    client: Any,
    request: dict[str, Any] | str | bytes,
    secrets: list[str] | None = None,
    url: str = URL,
    signature: str | None = None,
) -> Any:
    """POST as Coral does: `JSON.stringify(request, null, 2)`, signed with each secret (by
    Coral's own function; raw bytes that are not UTF-8 are signed as bytes)."""
    if isinstance(request, dict):
        request = external_request_body(request)
    raw = request.encode("utf-8") if isinstance(request, str) else request
    if signature is None:
        if isinstance(request, str):
            signature = coral_signature_header(secrets or [OLD_SECRET], request)
        else:
            digest = hmac.new(OLD_SECRET.encode(), raw, hashlib.sha256).hexdigest()
            signature = f"sha256={digest}"
    headers = {"Content-Type": "application/json", "User-Agent": "Coral Moderation/9.0.0"}
    if signature:
        headers["X-Coral-Signature"] = signature
    return client.post(url, data=raw, headers=headers)


def _as_coral(response: Any) -> dict[str, Any] | None:
    """What Coral keeps of our answer (None: no decision, Coral's settings apply)."""
    return read_external_phase_response(response.status_code, response.get_data(as_text=True))


def _rows() -> list[CoralDecision]:
    db.session.expire_all()
    return list(db.session.scalars(select(CoralDecision).order_by(CoralDecision.id)))


# --- Signatures --------------------------------------------------------------------------------


def test_the_documented_request_signed_as_coral_signs_it_is_answered(client, lemonde, scorer):
    raw = SIMPLE["body_raw"].encode("utf-8")
    response = client.post(URL, data=raw, headers=SIMPLE["headers"])
    assert response.status_code == 204
    assert response.get_data() == b""
    assert _as_coral(response) is None  # Coral: no decision, its own settings apply
    assert len(scorer.calls) == 1
    [row] = _rows()
    assert (row.action, row.story_url, row.body) == (
        "NEW", "http://localhost:1313/posts/a-story-url/", "Here's a comment!",
    )  # fmt: skip
    assert (row.author_id, row.author_role, row.tenant_domain, row.parent_id) == (
        "baf4e943-3594-4fcc-b2ba-3e8de7a76352", "COMMENTER", "localhost", None,
    )  # fmt: skip
    assert (row.outcome, row.http_status, row.coral_status) == ("publish", 204, None)
    assert row.scores["toxicity"] == pytest.approx(0.01, abs=0.01)
    assert row.model_name == scorer.name


def test_while_coral_rotates_its_secret_either_of_the_two_signatures_is_enough(
    client, app, lemonde, scorer
):
    raw = ROTATION["body_raw"].encode("utf-8")  # non-ASCII: the HMAC covers UTF-8 bytes
    assert client.post(URL, data=raw, headers=ROTATION["headers"]).status_code in (200, 204)
    # The admin gives us the new secret; Coral signs with both until the old one expires.
    result = app.test_cli_runner().invoke(
        args=["clients", "coral-secret", "lemonde", "--secret", NEW_SECRET]
    )
    assert result.exit_code == 0, result.output
    assert NEW_SECRET not in result.output
    edited = {**ROTATION["body"], "action": "EDIT"}
    assert _send(client, edited, secrets=[OLD_SECRET, NEW_SECRET]).status_code in (200, 204)
    assert _send(client, _request("Un autre avis."), secrets=[NEW_SECRET]).status_code == 204
    # Once the old secret has expired in Coral, a request signed with it alone is refused.
    assert _send(client, _request("Encore un avis."), secrets=[OLD_SECRET]).status_code == 403
    assert len(scorer.calls) == 3
    assert [r.action for r in _rows()] == ["NEW", "EDIT", "NEW"]
    history = db.session.scalars(
        select(SettingChange.new_value).where(SettingChange.key == "client:lemonde")
    ).all()
    assert NEW_SECRET not in repr(history) and OLD_SECRET not in repr(history)


def test_the_secret_of_an_unknown_client_cannot_be_set(app):
    result = app.test_cli_runner().invoke(
        args=["clients", "coral-secret", "inconnu", "--secret", NEW_SECRET]
    )
    assert result.exit_code == 2 and "Aucun client" in result.output


@pytest.mark.parametrize(
    "signature",
    [
        None,  # missing
        "",
        "sha256=" + "0" * 64,  # wrong
        "sha1=" + "0" * 40,  # another algorithm
        "sha256=",
        "garbage",
        "sha256=é" * 3,  # non-ASCII: compared as bytes, never an error
        ",".join(["sha256=" + "1" * 64] * 200),  # many entries
    ],
)
def test_a_missing_or_wrong_signature_is_refused_and_nothing_is_scored(
    client, lemonde, scorer, signature
):
    raw = SIMPLE["body_raw"].encode("utf-8")
    headers = {} if signature is None else {"X-Coral-Signature": signature}
    response = client.post(URL, data=raw, headers=headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "PERMISSION_DENIED"
    assert _as_coral(response) is None
    assert len(scorer.calls) == 0
    assert _rows() == []


def test_a_signature_of_another_body_is_refused(client, lemonde, scorer):
    signed = _request("Un avis posé.")
    sent = external_request_body(_request("Quel connard."))
    header = coral_signature_header([OLD_SECRET], external_request_body(signed))
    response = client.post(URL, data=sent.encode(), headers={"X-Coral-Signature": header})
    assert response.status_code == 403
    assert len(scorer.calls) == 0 and _rows() == []


def test_the_body_is_checked_as_received_not_reserialised(client, lemonde, scorer):
    """Compact JSON signed as it is sent passes: we HMAC the bytes, not our reading of them."""
    raw = json.dumps(_request(), separators=(",", ":"), ensure_ascii=False)
    response = _send(client, raw)
    assert response.status_code == 204


@pytest.mark.parametrize("url", ["/coral/moderation/inconnu", "/coral/moderation/x%00y",
                                 "/coral/moderation/" + "a" * 300])  # fmt: skip
def test_an_unknown_client_gets_the_same_refusal(client, lemonde, scorer, url):
    response = _send(client, _request(), url=url)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "PERMISSION_DENIED"
    assert len(scorer.calls) == 0 and _rows() == []


def test_a_revoked_client_or_one_without_a_coral_secret_is_refused(client, lemonde, scorer):
    clients.create("cms-ouest")  # an API key, no Coral secret
    response = _send(client, _request(), url="/coral/moderation/cms-ouest", signature="sha256=")
    assert response.status_code == 403
    clients.revoke("lemonde")
    response = _send(client, _request())
    assert response.status_code == 403
    assert len(scorer.calls) == 0 and _rows() == []


def test_a_client_past_its_quota_gets_429_and_nothing_is_scored(client, app, scorer):
    clients.create("lemonde", quota="2 per minute", coral_secret=OLD_SECRET)
    answers = [_send(client, _request(f"Un avis posé, le n° {i}.")) for i in range(3)]
    assert [a.status_code for a in answers] == [204, 204, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert answers[2].get_json()["error"]["code"] == "RESOURCE_EXHAUSTED"
    assert _as_coral(answers[2]) is None
    assert len(scorer.calls) == 2 and len(_rows()) == 2


# --- Verdicts, as Coral reads them -------------------------------------------------------------


def test_a_comment_over_a_reject_threshold_is_rejected_with_a_flag(client, lemonde):
    response = _send(client, _request("Quel connard, celui-là."))
    assert response.status_code == 200
    assert _as_coral(response) == {"status": "REJECTED", "actions": FLAG}
    reason = response.get_json()["reason"]  # stripped by Coral; for whoever reads the traffic
    assert "insultes" in reason and "seuil de rejet" in reason
    [row] = _rows()
    assert (row.outcome, row.coral_status, row.flagged) == ("reject", "REJECTED", True)
    assert {r["code"] for r in row.reasons} == {"category_reject"}


def test_a_comment_over_a_hold_threshold_is_withheld_and_flagged(client, lemonde):
    response = _send(client, _request("Quel idiot, celui-là."))
    assert _as_coral(response) == {"status": "SYSTEM_WITHHELD", "actions": FLAG}
    [row] = _rows()
    assert (row.outcome, row.coral_status) == ("hold", "SYSTEM_WITHHELD")
    assert row.reasons[0]["code"] == "category_hold" and row.reasons[0]["category"] == "insult"


def test_a_site_rule_holds_as_premod_without_a_flag(client, lemonde):
    settings.set_value("premoderate_all", True)
    response = _send(client, _request())
    assert _as_coral(response) == {"status": "PREMOD"}
    settings.set_value("premoderate_all", False)
    settings.set_value("suspect_words", ["ministre"])
    response = _send(client, _request("Le ministre a raison."))
    assert _as_coral(response) == {"status": "PREMOD"}
    assert [r.coral_status for r in _rows()] == ["PREMOD", "PREMOD"]


def test_a_banned_word_rejects_with_the_reason_in_words(client, lemonde):
    settings.set_value("banned_words", ["raclure"])
    response = _send(client, _request("Quelle raclure."))
    assert _as_coral(response) == {"status": "REJECTED", "actions": FLAG}
    assert response.get_json()["reason"] == "Mot interdit : « raclure »"
    [row] = _rows()
    assert row.reasons[0] == {"code": "banned_word", "detail": "raclure"}


def test_an_html_body_is_scored_as_the_text_a_reader_sees(client, lemonde):
    html = "<p>Quel <b>co</b><b>nnard</b>&nbsp;!</p><script>idiot</script>"
    response = _send(client, _request(html))
    assert _as_coral(response)["status"] == "REJECTED"
    [row] = _rows()
    assert row.body == "Quel connard\xa0!"


def test_model_down_means_withheld_for_a_human_never_a_guess(client, lemonde, scorer):
    scorer.broken = True
    response = _send(client, _request("Un avis posé."))
    assert response.status_code == 200
    assert _as_coral(response) == {"status": "SYSTEM_WITHHELD"}
    [row] = _rows()
    assert (row.outcome, row.scores, row.model_name) == ("hold", None, None)
    assert row.reasons == [{"code": "scoring_unavailable"}]


class TestSlowModel:
    @pytest.fixture
    def config_overrides(self):
        return {"CORAL_SCORING_WAIT_SECONDS": 0.05}

    def test_a_model_slower_than_the_wait_means_withheld_not_a_late_guess(
        self, client, lemonde, scorer
    ):
        scorer.gate = threading.Event()  # the model stays busy until the test lets it go
        response = _send(client, _request("Quel connard."))
        assert scorer.calls and scorer.finished == 0  # answered while the model still worked
        assert _as_coral(response) == {"status": "SYSTEM_WITHHELD"}
        [row] = _rows()
        assert (row.outcome, row.scores) == ("hold", None)
        scorer.gate.set()  # let the model finish before the app stops
        deadline = time.monotonic() + 30
        while scorer.finished == 0 and time.monotonic() < deadline:
            time.sleep(0.01)


def test_the_same_request_again_gets_the_same_answer_without_a_second_model_call(
    client, lemonde, scorer
):
    first = _send(client, _request("Quel idiot."))
    again = _send(client, _request("Quel idiot."))
    assert _as_coral(first) == _as_coral(again) == {"status": "SYSTEM_WITHHELD", "actions": FLAG}
    assert len(scorer.calls) == 1 and len(_rows()) == 1


# --- Hostile input -----------------------------------------------------------------------------


def _with(**changes: Any) -> dict[str, Any]:
    body = _request()
    for path, value in changes.items():
        target = body
        *parents, key = path.split("__")
        for parent in parents:
            target = target[parent]
        target[key] = value
    return body


@pytest.mark.parametrize(
    "request_body",
    [
        "pas du json",
        b"\xff\xfe{}",
        "[]",
        "null",
        '"NEW"',
        "[" * 5000 + "]" * 5000,
        json.dumps({"action": "NEW"}),
        _with(action="DELETE"),
        _with(action=None),
        _with(action=["NEW"]),
        _with(action={"NEW": 1}),
        _with(author=None),
        _with(story__id=7),
        _with(comment="texte"),
        _with(comment__body=None),
        _with(comment__body=["a"]),
        _with(comment__parentID=12),
        _with(author__id=""),
        _with(author__id="a" * 201),
        _with(author__id="a\x00b"),
        _with(author__role={"x": 1}),
        _with(story__url=None),
        _with(story__url="h" * 5000),
        _with(site={"id": 1}),
        _with(tenantID=None),
        _with(tenantDomain="\u202e" * 300),
    ],
)
def test_a_malformed_request_is_refused_with_400_never_500(client, lemonde, scorer, request_body):
    response = _send(client, request_body)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "INVALID_ARGUMENT"
    assert len(scorer.calls) == 0 and _rows() == []


def test_hostile_texts_are_decided_and_stored_without_error(client, lemonde):
    for text in ("a\x00b", "\ud800 seul", "", "<" * 3000, "&#0;&#xD800;", "x" * 20000):
        # ASCII-escaped JSON: a lone surrogate arrives as « \\ud800 », as JSON allows
        response = _send(client, json.dumps(_request(text, extra={"inconnu": [1, 2]})))
        assert response.status_code in (200, 204), text[:20]
    assert len(_rows()) == 6


def test_a_body_over_the_size_limit_gets_413(client, app, lemonde, scorer):
    raw = external_request_body(_request("x" * app.config["MAX_CONTENT_LENGTH"]))
    response = _send(client, raw)
    assert response.status_code == 413
    assert response.get_json()["error"]["status"] == 413
    assert len(scorer.calls) == 0 and _rows() == []


def test_only_post_is_answered(client, lemonde):
    assert client.get(URL).status_code == 405


# --- Retention ---------------------------------------------------------------------------------


def test_texts_older_than_the_retention_are_forgotten_by_the_sweep(client, app, lemonde):
    from app.services import scoring

    _send(client, _request("Un vieil avis."))
    _send(client, _request("Un avis récent."))
    old, recent = _rows()
    days = app.config["CORAL_RETENTION_DAYS"]
    db.session.execute(
        update(CoralDecision)
        .where(CoralDecision.id == old.id)
        .values(received_at=old.received_at - timedelta(days=days, minutes=1))
    )
    db.session.commit()
    scoring.sweep()
    old, recent = _rows()
    assert (old.body, old.request_hash) == (None, None)
    assert old.outcome == "publish" and old.story_url  # the decision stays
    assert recent.body == "Un avis récent."


# --- The staff page ----------------------------------------------------------------------------


@pytest.fixture
def moderator(app: Any) -> Any:
    make_user(email="moderatrice@example.fr", display_name="Modératrice", role=Role.MODERATOR)
    staff = app.test_client()
    login(staff, "moderatrice@example.fr")
    return staff


def test_staff_see_each_decision_with_its_story_text_outcome_and_reasons(
    client, moderator, lemonde
):
    story = "https://www.example.fr/articles/raqqa-al-mayadeen"
    _send(client, _request("Quel connard.", story={"id": "s1", "url": story}))
    _send(client, _request("Un avis posé.", story={"id": "s2", "url": "javascript:alert(1)"}))
    page = moderator.get("/moderation/coral").get_data(as_text=True)
    assert f'href="{story}"' in page
    assert "Quel connard." in page and "Un avis posé." in page
    assert "Rejeté" in page and "REJECTED" in page and "insultes : score 0,92" in page
    assert 'href="javascript:' not in page
    english = moderator.get("/moderation/coral?lang=en").get_data(as_text=True)
    assert "Rejected" in english and "insults: score 0.92" in english
    assert "Abstained (204)" in english


def test_the_staff_page_filters_and_ignores_hostile_values(client, moderator, lemonde):
    _send(client, _request("Quel connard."))
    _send(client, _request("Un avis posé."))
    rejected = moderator.get("/moderation/coral?decision=reject").get_data(as_text=True)
    assert "Quel connard." in rejected and "Un avis posé." not in rejected
    for query in ("decision=%00", "client=%27%3B--", "page=-1", "page=99999999999", "decision[]=x"):
        response = moderator.get(f"/moderation/coral?{query}")
        assert response.status_code == 200, query
    everything = moderator.get("/moderation/coral?client=inconnu").get_data(as_text=True)
    assert "Quel connard." in everything and "Un avis posé." in everything


def test_the_staff_page_is_for_staff_only(client, app, lemonde):
    assert client.get("/moderation/coral").status_code in (302, 303)
    make_user(email="lecteur@example.fr")
    login(client, "lecteur@example.fr")
    assert client.get("/moderation/coral").status_code == 403


def test_the_staff_page_pages_newest_first(client, moderator, lemonde, monkeypatch):
    monkeypatch.setattr(coral, "PER_PAGE", 2)
    for i in range(3):
        _send(client, _request(f"Avis n° {i}."))
    first = moderator.get("/moderation/coral").get_data(as_text=True)
    assert first.index("Avis n° 2.") < first.index("Avis n° 1.")
    assert "Avis n° 0." not in first and "Page suivante" in first
    second = moderator.get("/moderation/coral?page=2").get_data(as_text=True)
    assert "Avis n° 0." in second and "Avis n° 1." not in second
    assert "Page précédente" in second and "Page suivante" not in second
    assert db.session.scalar(select(func.count()).select_from(CoralDecision)) == 3
