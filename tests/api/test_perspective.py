"""Perspective's `comments:analyze` and `comments:suggestscore`, as Coral Talk calls them.

Coral's exact requests come from tests/fixtures/perspective (body bytes, headers, path; only
the key is ours), and our answers are read by tests/compat/coral_reader.py, the port of
Coral's own reading code: what these tests assert is what Coral would do.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ApiAnalysis, ApiFeedback, Role, utcnow
from app.privacy import redact_logs
from app.services import clients
from app.services import scoring as scoring_service
from tests.compat import coral_reader
from tests.compat.coral_reader import CoralSkips
from tests.conftest import NEUTRAL, login, make_user
from tests.scorers import SpyScorer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "perspective"
ANALYZE = "/perspective/v1alpha1/comments:analyze"
SUGGEST = "/perspective/v1alpha1/comments:suggestscore"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def key(app):
    return clients.create("coral").key


def coral_send(client, recorded: dict, key: str, body_raw: str | None = None):
    """Send a request recorded from Coral (its path, headers and body bytes) with our key."""
    return client.post(
        f"{recorded['path']}?key={key}",
        data=(body_raw if body_raw is not None else recorded["body_raw"]).encode("utf-8"),
        headers=recorded["headers"],
    )


def analyze(client, key, body, **kwargs):
    return client.post(f"{ANALYZE}?key={key}", json=body, **kwargs)


def google_error(response, code: int, status: str) -> str:
    """Google's error shape, exactly those three fields; returns the message."""
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "status"}
    assert (body["error"]["code"], body["error"]["status"]) == (code, status)
    return body["error"]["message"]


def rows(model):
    db.session.expire_all()
    return list(db.session.scalars(sa.select(model).order_by(model.id)))


# --- Coral's comments:analyze -----------------------------------------------------------------


def test_coral_exact_request_gets_a_score_coral_reads(app, client, key):
    recorded = fixture("coral_analyze_request.json")
    response = coral_send(client, recorded, key)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    result = coral_reader.read_toxic_phase(200, response.get_data(as_text=True))
    assert result.score == pytest.approx(NEUTRAL, abs=0.01)
    assert not result.is_toxic and result.status is None
    answer = response.get_json()
    assert answer["attributeScores"]["TOXICITY"]["summaryScore"]["type"] == "PROBABILITY"
    assert answer["languages"] == ["fr"] and answer["detectedLanguages"][0] == "fr"
    assert rows(ApiAnalysis) == []  # Coral's doNotStore: true


def test_a_toxic_comment_is_withheld_by_coral_and_its_scores_kept_without_text(app, client, key):
    body = coral_reader.analyze_body("Quel connard, celui-là.", False, "TOXICITY", "fr-FR")
    response = coral_send(
        client, fixture("coral_analyze_request.json"), key, coral_reader.js_stringify(body)
    )
    result = coral_reader.read_toxic_phase(200, response.get_data(as_text=True))
    assert result.is_toxic and result.score == pytest.approx(0.95, abs=0.01)
    assert result.status == "SYSTEM_WITHHELD"
    assert result.comment_actions == [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}]
    [kept] = rows(ApiAnalysis)  # PERSPECTIVE_STORE=scores by default: no text
    assert (kept.language, kept.text) == ("fr", None)
    assert kept.scores["toxicity"] == pytest.approx(0.95, abs=0.01)
    assert kept.client_id == clients.find("coral").id


def test_every_attribute_and_its_experimental_alias_come_from_the_model(app, client, key):
    names = ["TOXICITY", "SEVERE_TOXICITY", "IDENTITY_ATTACK", "INSULT", "PROFANITY", "THREAT",
             "SEXUALLY_EXPLICIT", "PROFANITY_EXPERIMENTAL"]  # fmt: skip
    response = analyze(client, key, {
        "comment": {"text": "Quelle merde, cet article."},
        "requestedAttributes": {name: {} for name in names},
        "languages": ["fr-FR"], "clientToken": "jeton-42",
    })  # fmt: skip
    answer = response.get_json()
    assert response.status_code == 200 and set(answer["attributeScores"]) == set(names)
    value = {n: s["summaryScore"]["value"] for n, s in answer["attributeScores"].items()}
    assert value["PROFANITY"] == pytest.approx(0.65, abs=0.01)  # Detoxify's obscene
    assert value["PROFANITY_EXPERIMENTAL"] == value["PROFANITY"]
    assert value["TOXICITY"] == pytest.approx(NEUTRAL, abs=0.01)
    assert answer["clientToken"] == "jeton-42" and answer["languages"] == ["fr-FR"]


def test_key_in_the_x_goog_api_key_header(app, client, key):
    response = client.post(ANALYZE, headers={"X-Goog-Api-Key": key}, json={
        "comment": {"text": "Quel idiot."}, "requestedAttributes": {"INSULT": {}},
        "languages": ["fr"],
    })  # fmt: skip
    assert response.status_code == 200
    insult = response.get_json()["attributeScores"]["INSULT"]["summaryScore"]["value"]
    assert insult == pytest.approx(0.7, abs=0.01)


def test_html_is_reduced_to_its_text_before_scoring(app, client, key):
    body = {"comment": {"text": "<p>Vous êtes <b>des</b></p><p>connards.</p>", "type": "HTML"},
            "requestedAttributes": {"TOXICITY": {}}, "languages": ["fr"]}  # fmt: skip
    response = analyze(client, key, body)
    assert coral_reader.read_toxic_phase(200, response.get_data(as_text=True)).is_toxic is False
    body["comment"]["text"] = "<p>Quel <b>connard</b> !</p>"
    response = analyze(client, key, body)
    assert coral_reader.read_toxic_phase(200, response.get_data(as_text=True)).is_toxic


def test_spans_are_sentences_in_utf16_code_units(app, client, key):
    text = "😀 Hello world. Quel connard !\nBonjour."
    response = analyze(client, key, {
        "comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}},
        "spanAnnotations": True, "languages": ["fr"],
    })  # fmt: skip
    toxicity = response.get_json()["attributeScores"]["TOXICITY"]
    utf16 = text.encode("utf-16-le")
    spans = [(utf16[s["begin"] * 2 : s["end"] * 2].decode("utf-16-le"), s["score"]["value"])
             for s in toxicity["spanScores"]]  # fmt: skip  # what JavaScript's slice gives
    assert [t for t, _ in spans] == ["😀 Hello world.", "Quel connard !", "Bonjour."]
    assert toxicity["spanScores"][0] == {
        "begin": 0, "end": 15, "score": {"value": spans[0][1], "type": "PROBABILITY"},
    }  # fmt: skip
    assert [round(v, 2) for _, v in spans] == [NEUTRAL, 0.95, NEUTRAL]
    assert toxicity["summaryScore"]["value"] == pytest.approx(0.95, abs=0.01)


def test_a_text_of_many_sentences_gets_at_most_32_spans(app, client, key):
    text = " ".join(f"Phrase {i}." for i in range(100))
    response = analyze(client, key, {
        "comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}},
        "spanAnnotations": True, "languages": ["fr"],
    })  # fmt: skip
    spans = response.get_json()["attributeScores"]["TOXICITY"]["spanScores"]
    assert len(spans) <= 32 and spans[0]["begin"] == 0 and spans[-1]["end"] == len(text)


def test_score_threshold_filters_as_perspective_does(app, client, key):
    body = {"comment": {"text": "Quel idiot."}, "languages": ["fr"],
            "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.5},
                                    "INSULT": {"scoreThreshold": 0.5}}}  # fmt: skip
    answer = analyze(client, key, body).get_json()
    assert set(answer["attributeScores"]) == {"INSULT"}
    body["requestedAttributes"]["INSULT"]["scoreThreshold"] = 0.9
    answer = analyze(client, key, body).get_json()
    # Every attribute under its threshold: no attributeScores key (Perspective's observed answer).
    assert set(answer) == set(fixture("analyze_response_below_threshold.json"))
    assert answer["languages"] == ["fr"]
    with pytest.raises(CoralSkips):  # which Coral would not read: it publishes unscored
        coral_reader.read_toxic_phase(200, json.dumps(answer))


def test_language_detected_when_none_is_given(app, client, key):
    response = analyze(client, key, {
        "comment": {"text": "What kind of idiot name is foo? Sorry, I like your name."},
        "requestedAttributes": {"TOXICITY": {}},
    })  # fmt: skip
    answer = response.get_json()
    assert answer["languages"] == ["en"] and answer["detectedLanguages"][0] == "en"


# --- errors -----------------------------------------------------------------------------------


def _text_body(text):
    return {"comment": {"text": text}, "requestedAttributes": {"TOXICITY": {}},
            "languages": ["fr"]}  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"comment": {"text": "Bonjour"', "Invalid JSON payload received."),
        (b"\xff\xfe{}", "Invalid JSON payload received."),
        (b'["comment"]', "Expected an object"),
        (b"[" * 100_000 + b"]" * 100_000, None),  # too deep (or too large): still a 400
        (json.dumps(_text_body("")).encode(), "COMMENT_EMPTY"),
        (json.dumps(_text_body("   \n ")).encode(), "COMMENT_EMPTY"),
        (json.dumps({"requestedAttributes": {"TOXICITY": {}}}).encode(), "comment"),
        (json.dumps({**_text_body("Un avis."), "requestedAttributes": {}}).encode(), "at least"),
        (json.dumps({**_text_body("Un avis."), "requestedAttributes": {"UNSUBSTANTIAL": {}}})
         .encode(), "Unknown attribute: UNSUBSTANTIAL"),
        (json.dumps({**_text_body("Un avis."),
                     "requestedAttributes": {"TOXICITY": {"scoreType": "RAW"}}}).encode(),
         "only PROBABILITY"),
        (json.dumps({**_text_body("Un avis."),
                     "requestedAttributes": {"TOXICITY": {"scoreThreshold": 2}}}).encode(),
         "scoreThreshold"),
        (json.dumps({**_text_body("Un avis."), "comment": {"text": "x", "type": "PDF"}}).encode(),
         "comment.type"),
        (json.dumps({**_text_body("Un avis."), "languages": "fr"}).encode(), "languages"),
        (json.dumps({**_text_body("Un avis."), "doNotStore": "yes"}).encode(), "doNotStore"),
        (json.dumps({**_text_body("Un avis."), "clientToken": "x" * 513}).encode(),
         "clientToken"),
        (json.dumps({**_text_body("Un avis."), "languages": ["fr", "x" * 40]}).encode(),
         "languages"),
        (json.dumps({**_text_body("Un avis."), "languages": ["<b>"]}).encode(), "languages"),
        (b'{"comment": {"text": "Un avis \\ud800."}, "requestedAttributes": {"TOXICITY": {}}}',
         "not valid Unicode"),
        (b'{"comment": {"text": "Un\\u0000 avis."}, "requestedAttributes": {"TOXICITY": {}}}',
         "not valid Unicode"),
        (json.dumps({**_text_body("Un avis."), "clientToken": "a\ud800"}).encode(),
         "not valid Unicode"),
    ],
)  # fmt: skip
def test_bad_requests_get_invalid_argument_and_no_score(app, client, key, data, message):
    response = client.post(f"{ANALYZE}?key={key}", data=data,
                           headers={"Content-Type": "application/json"})  # fmt: skip
    text = google_error(response, 400, "INVALID_ARGUMENT")
    assert message is None or message in text
    assert "attributeScores" not in response.get_data(as_text=True)
    assert rows(ApiAnalysis) == []


def test_too_many_bytes_counts_utf8_bytes_not_characters(app, client, key):
    text = "é" * 10241  # 10241 characters, 20482 bytes
    message = google_error(analyze(client, key, _text_body(text)), 400, "INVALID_ARGUMENT")
    assert message == "Comment text was too many bytes. Value (20482) exceeded limit (20480)."
    assert set(fixture("error_400_text_too_long.json")["error"]) == {"code", "message", "status"}
    assert analyze(client, key, _text_body("é" * 10240)).status_code == 200  # 20480: accepted


def test_a_language_the_model_lacks_gets_perspectives_own_error(app, client, key):
    recorded = fixture("coral_analyze_request.json")
    body = coral_reader.analyze_body("Das ist ein Kommentar.", True, "TOXICITY", "de")
    response = coral_send(client, recorded, key, coral_reader.js_stringify(body))
    message = google_error(response, 400, "INVALID_ARGUMENT")
    assert message == "Attribute TOXICITY does not support request languages: de"
    with pytest.raises(CoralSkips):  # Coral publishes the comment unscored
        coral_reader.read_toxic_phase(response.status_code, response.get_data(as_text=True))


def test_an_undetectable_language_is_und(app, client, key):
    response = analyze(client, key, {"comment": {"text": "12345"},
                                     "requestedAttributes": {"INSULT": {}}})  # fmt: skip
    message = google_error(response, 400, "INVALID_ARGUMENT")
    assert message == "Attribute INSULT does not support request languages: und"


def test_german_text_is_detected_and_refused(app, client, key):
    response = analyze(client, key, {
        "comment": {"text": "Das ist ein sehr schlechter Kommentar, den niemand lesen will."},
        "requestedAttributes": {"TOXICITY": {}},
    })  # fmt: skip
    assert google_error(response, 400, "INVALID_ARGUMENT").endswith("languages: de")


def test_no_key_is_permission_denied_as_google_says_it(app, client):
    response = client.post(ANALYZE, json=_text_body("Un avis."))
    google_error(response, 403, "PERMISSION_DENIED")
    assert response.get_json() == fixture("error_403_permission_denied.json")


def test_unknown_and_revoked_keys_are_permission_denied(app, client, key):
    message = google_error(analyze(client, "mod_notakey", _text_body("Un avis.")), 403,
                           "PERMISSION_DENIED")  # fmt: skip
    assert message == "API key not valid. Please pass a valid API key."
    assert analyze(client, key, _text_body("Un avis.")).status_code == 200
    revoked = clients.revoke("coral")
    response = analyze(client, key, _text_body("Un avis."))
    google_error(response, 403, "PERMISSION_DENIED")
    # The revoked client's admin sees the refusal on « Clients de l’API ».
    seen = clients.usage()[revoked.id]
    assert (seen.calls_today, seen.errors_today) == (2, 1)
    assert (seen.last_error, seen.last_error_status) == ("PERMISSION_DENIED", 403)
    assert google_error(client.post(f"{SUGGEST}?key={key}", json={}), 403, "PERMISSION_DENIED")


def test_past_the_quota_resource_exhausted_with_retry_after(app, client):
    key = clients.create("coral-petit", quota="2 per minute").key
    assert analyze(client, key, _text_body("Un avis.")).status_code == 200
    assert analyze(client, key, _text_body("Un avis.")).status_code == 200
    response = analyze(client, key, _text_body("Un avis."))
    google_error(response, 429, "RESOURCE_EXHAUSTED")
    assert 0 < int(response.headers["Retry-After"]) <= 60
    with pytest.raises(CoralSkips):
        coral_reader.read_toxic_phase(429, response.get_data(as_text=True))


def test_errors_of_the_app_itself_keep_googles_shape(app, client, key):
    google_error(client.get(f"{ANALYZE}?key={key}"), 405, "UNIMPLEMENTED")
    google_error(client.post(f"/perspective/v1alpha1/comments:nothing?key={key}"), 404,
                 "NOT_FOUND")  # fmt: skip
    big = json.dumps(_text_body("a" * 70_000)).encode()  # over MAX_REQUEST_BYTES
    response = client.post(f"{ANALYZE}?key={key}", data=big)
    assert "exceeds the limit" in google_error(response, 400, "INVALID_ARGUMENT")


class TestModelDown:
    @pytest.fixture
    def scorer(self, tiny_scorer):
        return SpyScorer(tiny_scorer, broken=True)

    def test_unavailable_and_no_score_then_coral_fails_open(self, app, client, key):
        recorded = fixture("coral_analyze_request.json")
        response = coral_send(client, recorded, key)
        google_error(response, 503, "UNAVAILABLE")
        assert response.get_json() == fixture("error_503_unavailable.json")
        with pytest.raises(CoralSkips):
            coral_reader.read_toxic_phase(503, response.get_data(as_text=True))

    def test_feedback_is_kept_without_scores(self, app, client, key):
        response = coral_send(client, fixture("coral_suggestscore_request.json"), key)
        assert response.status_code == 200
        [kept] = rows(ApiFeedback)
        assert (kept.decision, kept.scores) == ("rejected", None)


class TestModelTooSlow:
    @pytest.fixture
    def scorer(self, tiny_scorer):
        spy = SpyScorer(tiny_scorer)
        spy.gate = threading.Event()  # the model stays busy until the test lets it go
        yield spy
        spy.gate.set()

    @pytest.fixture
    def config_overrides(self):
        return {"API_SCORING_WAIT_SECONDS": 0.1}  # inside Coral's 800 ms: Coral sees our 503

    def test_a_bounded_wait_then_unavailable(self, app, client, key, scorer):
        response = coral_send(client, fixture("coral_analyze_request.json"), key)
        assert scorer.finished == 0  # answered while the model still worked, without its score
        google_error(response, 503, "UNAVAILABLE")
        assert "summaryScore" not in response.get_data(as_text=True)


@pytest.fixture(scope="module")
def original_scorer(tmp_path_factory):
    """A tiny checkpoint of the `original` model: no sexual_explicit category."""
    from app.scoring import ScorerSettings, get_scorer
    from bench.tiny_checkpoints import ORIGINAL_CLASSES, build_word_checkpoint

    tiny = build_word_checkpoint(tmp_path_factory.mktemp("original"), classes=ORIGINAL_CLASSES,
                                 triggers={"idiot": {"insult": 0.7}})  # fmt: skip
    scorer = get_scorer(ScorerSettings(checkpoint=str(tiny.checkpoint),
                                       hf_config=str(tiny.hf_config)))  # fmt: skip
    scorer.load()
    return scorer


class TestModelWithoutSexualExplicit:
    @pytest.fixture
    def scorer(self, original_scorer):
        return original_scorer

    @pytest.fixture
    def config_overrides(self):
        return {"DETOXIFY_MODEL": "original"}

    def test_attributes_and_languages_follow_the_loaded_model(self, app, client, key):
        body = {"comment": {"text": "What an idiot."}, "languages": ["en"],
                "requestedAttributes": {"SEXUALLY_EXPLICIT": {}}}  # fmt: skip
        message = google_error(analyze(client, key, body), 400, "INVALID_ARGUMENT")
        assert "SEXUALLY_EXPLICIT" in message and "sexual_explicit" in message
        body["requestedAttributes"] = {"INSULT": {}}
        assert analyze(client, key, body).status_code == 200
        body["languages"] = ["fr"]  # the original model is English only
        message = google_error(analyze(client, key, body), 400, "INVALID_ARGUMENT")
        assert message == "Attribute INSULT does not support request languages: fr"


# --- storage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config_overrides", "kept"),
    [({"PERSPECTIVE_STORE": "nothing"}, None),
     ({"PERSPECTIVE_STORE": "scores"}, (None,)),
     ({"PERSPECTIVE_STORE": "text"}, ("Quel idiot.",))],
    indirect=["config_overrides"],
)  # fmt: skip
def test_what_is_kept_follows_perspective_store(app, client, key, kept):
    body = {"comment": {"text": "Quel idiot."}, "requestedAttributes": {"INSULT": {}},
            "languages": ["fr"]}  # fmt: skip
    assert analyze(client, key, {**body, "doNotStore": True}).status_code == 200
    assert rows(ApiAnalysis) == []  # doNotStore: nothing, whatever the setting
    assert analyze(client, key, body).status_code == 200
    found = rows(ApiAnalysis)
    if kept is None:
        assert found == []
    else:
        [row] = found
        assert (row.text,) == kept and row.language == "fr"
        assert row.scores["insult"] == pytest.approx(0.7, abs=0.01)


@pytest.fixture
def config_overrides(request):
    return getattr(request, "param", {})


def test_the_scoring_sweep_purges_what_is_past_the_retention(app, client, key):
    client_id = clients.find("coral").id
    old = utcnow() - timedelta(days=31)
    db.session.add_all([
        ApiAnalysis(client_id=client_id, created_at=old, language="fr", scores={}, model_name="m",
                    text="ancien"),
        ApiAnalysis(client_id=client_id, language="fr", scores={}, model_name="m", text="récent"),
        ApiFeedback(client_id=client_id, created_at=old, decision="rejected",
                    suggested={"TOXICITY": 1.0}, scores={"toxicity": 0.9}, text="ancien"),
    ])  # fmt: skip
    db.session.commit()
    scoring_service.sweep()  # what both backends run every few seconds
    assert [row.text for row in rows(ApiAnalysis)] == ["récent"]
    [feedback] = rows(ApiFeedback)  # the decision stays, for calibration; its text goes
    assert (feedback.decision, feedback.text, feedback.scores) == (
        "rejected", None, {"toxicity": 0.9},
    )  # fmt: skip


# --- Coral's comments:suggestscore ------------------------------------------------------------


def test_coral_feedback_is_stored_and_feeds_calibration(app, client, key):
    recorded = fixture("coral_suggestscore_request.json")
    response = coral_send(client, recorded, key)
    assert response.status_code == 200 and coral_reader.read_suggestscore(200)
    assert response.get_json() == {"clientToken": recorded["body"]["clientToken"]}
    assert set(response.get_json()) == set(fixture("suggestscore_response_docs_example.json"))
    [kept] = rows(ApiFeedback)
    assert (kept.decision, kept.client_token, kept.community_id, kept.text) == (
        "rejected", recorded["body"]["clientToken"], "Coral:https://coral.example.fr/", None,
    )  # fmt: skip
    assert kept.scores["toxicity"] == pytest.approx(NEUTRAL, abs=0.01)

    # The same comment approved after all (Coral sends its new decision), and another one.
    for text, comment_id, status in (
        ("Vous êtes tous des imbéciles, relisez l'article.", "3f1c2a9e-7b4d-4e21-9c55-0d8a6b1e2f47",
         "APPROVED"),
        ("Quel connard.", "c-2", "DELETED"),
    ):  # fmt: skip
        body = coral_reader.suggestscore_body(
            text=text, comment_id=comment_id, comment_parent_id=None, comment_status=status,
            story_url="https://www.example.fr/a", tenant_url="https://coral.example.fr/",
            model="TOXICITY", locale="fr-FR",
        )  # fmt: skip
        assert coral_send(client, recorded, key, coral_reader.js_stringify(body)).status_code == 200

    make_user(email="admin@example.fr", role=Role.ADMIN)
    admin = app.test_client()
    login(admin, "admin@example.fr")
    page = admin.get("/admin/calibration").get_data(as_text=True)
    assert "2 décisions de modérateurs analysées (0 sans score" in page
    assert "modérateurs du client d’API « coral » (Perspective, suggestscore) : 2" in page
    section = page.split('id="cal-toxicity"')[1].split("</section>")[0]
    assert "Pas encore de décision" not in section and section.count("<svg") == 2


def test_bad_feedback_is_refused(app, client, key):
    body = fixture("coral_suggestscore_request.json")["body"]
    for bad in ({**body, "attributeScores": {"TOXICITY": {"summaryScore": {"value": 3}}}},
                {**body, "attributeScores": {"FOO": {"summaryScore": {"value": 1}}}},
                {**body, "attributeScores": {}},
                {**body, "comment": {"text": ""}}):  # fmt: skip
        response = client.post(f"{SUGGEST}?key={key}", json=bad)
        google_error(response, 400, "INVALID_ARGUMENT")
    assert rows(ApiFeedback) == []


# --- the key never reaches a log ----------------------------------------------------------------


def test_the_key_is_not_in_the_request_log(app, key, live_server):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    werkzeug_logger = logging.getLogger("werkzeug")
    level = werkzeug_logger.level
    werkzeug_logger.setLevel(logging.INFO)
    try:
        redact_logs()  # what create_app does for the handlers of the root logger
        request = urllib.request.Request(
            f"{live_server}{ANALYZE}?key={key}&x=1",
            data=json.dumps(_text_body("Un avis.")).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
        try:
            urllib.request.urlopen(f"{live_server}{ANALYZE}?key={key}", timeout=30)
        except urllib.error.HTTPError as error:
            assert error.code == 405
    finally:
        root.removeHandler(handler)
        werkzeug_logger.setLevel(level)
    logged = stream.getvalue()
    assert "comments:analyze?key=[masqué]&x=1" in logged
    assert key not in logged and key[:12] not in logged


def test_gunicorn_access_log_leaves_the_query_string_out():
    conf = (Path(__file__).resolve().parents[2] / "gunicorn.conf.py").read_text()
    line = next(ln for ln in conf.splitlines() if ln.startswith("access_log_format"))
    assert "%(U)s" in line and not any(f"%({x})s" in line for x in ("r", "q", "f"))


def test_feedback_in_a_language_the_model_lacks_is_kept_unscored(app, client, key):
    body = coral_reader.suggestscore_body(
        text="Das ist ein Kommentar.", comment_id="c-9", comment_parent_id="c-1",
        comment_status="APPROVED", story_url="https://www.example.fr/a",
        tenant_url="https://coral.example.de/", model="TOXICITY", locale="de",
    )  # fmt: skip
    response = client.post(f"{SUGGEST}?key={key}", json=body)
    assert response.get_json() == {"clientToken": "comment:c-9"}
    [kept] = rows(ApiFeedback)  # scores of a language it never learnt would mislead calibration
    assert (kept.decision, kept.language, kept.scores) == ("approved", "de", None)


class TestConcurrentCalls:
    @pytest.fixture
    def scorer(self, tiny_scorer):
        return SpyScorer(tiny_scorer, delay=0.05)

    @pytest.fixture
    def config_overrides(self):
        return {"SCORING_BATCH_SIZE": 16, "SCORING_BATCH_WAIT_MS": 20,
                "API_SCORING_WAIT_SECONDS": 5}  # fmt: skip

    def test_simultaneous_calls_share_model_calls(self, app, key, scorer, live_server):
        from tests.conftest import simultaneously

        def call(i):
            def send():
                request = urllib.request.Request(
                    f"{live_server}{ANALYZE}?key={key}",
                    data=json.dumps(_text_body(f"Avis {i}, quel idiot.")).encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=30) as response:
                    return json.loads(response.read())

            return send

        answers = simultaneously([call(i) for i in range(8)])
        assert all("attributeScores" in a for a in answers)
        assert sum(scorer.calls) == 8 and len(scorer.calls) < 8  # micro-batched


class TestModelLoadedElsewhere:
    """A Celery web process never loads the model (its `categories` stay empty): an attribute
    the workers' model lacks is still refused, from the scores themselves."""

    class _Remote(SpyScorer):
        categories = property(lambda self: [])

    @pytest.fixture
    def scorer(self, original_scorer):
        return self._Remote(original_scorer)

    @pytest.fixture
    def config_overrides(self):
        return {"DETOXIFY_MODEL": "original"}

    def test_an_attribute_the_model_lacks_is_refused_after_scoring(self, app, client, key):
        body = {"comment": {"text": "What an idiot."}, "languages": ["en"],
                "requestedAttributes": {"INSULT": {}, "SEXUALLY_EXPLICIT": {}}}  # fmt: skip
        message = google_error(analyze(client, key, body), 400, "INVALID_ARGUMENT")
        assert "SEXUALLY_EXPLICIT" in message
        body["requestedAttributes"] = {"INSULT": {}}
        insult = analyze(client, key, body).get_json()["attributeScores"]["INSULT"]
        assert insult["summaryScore"]["value"] == pytest.approx(0.7, abs=0.01)
