"""`POST /api/v1/score` as a CMS calls it: a key in `Authorization`, JSON in, per text the scores,
the site's verdict and its reasons in words; every refusal in the one error shape of /api/v1.

The tiny model's scores follow trigger words (tests/conftest.py): « connard » toxicity 0.95 and
insult 0.92 (past reject), « idiot » insult 0.7 (past hold and nudge), « merde » obscene 0.65
(past hold), anything else 0.01."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import ApiClientUsage
from app.services import clients, settings
from app.services.settings import DEFAULT_THRESHOLDS
from tests.conftest import NEUTRAL, make_config
from tests.scorers import SpyScorer

URL = "/api/v1/score"


@pytest.fixture
def config_overrides():
    return {"API_USAGE_FLUSH_SECONDS": 0}  # every call written at once: the tests read them


@pytest.fixture
def key(app):
    return clients.create("cms-ouest", quota="100 per second").key


def call(client, body, key=None, **kwargs):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(URL, data=data, headers=headers, content_type="application/json", **kwargs)


def usage_rows():
    db.session.expire_all()
    return list(db.session.scalars(select(ApiClientUsage)))


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["error"]["field"] == field
    assert body["error"]["message"]  # a sentence, in French
    return body["error"]


# --- Answers ------------------------------------------------------------------------------------


def test_one_text_gets_every_score_the_verdict_and_the_model(client, key, app):
    response = call(client, {"text": "Un avis posé sur la réforme."}, key)
    assert response.status_code == 200
    body = response.get_json()
    scorer = app.extensions["scoring_runner"].scorer
    assert body["model"] == {"name": scorer.name, "version": scorer.version}
    [result] = body["results"]
    assert set(result["scores"]) == set(scorer.categories)
    assert result["scores"]["toxicity"] == pytest.approx(NEUTRAL, abs=0.01)
    assert result["verdict"] == "publish"
    assert result["reasons"] == [] and result["words"] == []
    assert result["author_message"] is None and result["windowed"] is False


def test_many_texts_each_verdict_in_the_order_sent(client, key):
    settings.set_value("banned_words", ["crétin"])
    texts = [
        "Quel connard.",  # past reject
        "Un avis posé.",  # publish
        "Quelle merde, ce projet.",  # past hold, under reject
        "Un vrai crétin.",  # a banned word: rejected whatever the scores
    ]
    response = call(client, {"texts": texts, "nudge": False}, key)
    assert response.status_code == 200
    rude, calm, obscene, banned = response.get_json()["results"]
    assert rude["verdict"] == "reject"
    assert {r["code"] for r in rude["reasons"]} == {"category_reject"}
    toxicity = next(r for r in rude["reasons"] if r["category"] == "toxicity")
    assert toxicity["score"] == pytest.approx(0.95, abs=0.01)
    assert toxicity["threshold"] == DEFAULT_THRESHOLDS["toxicity"]["reject"] == 0.9
    assert toxicity["message"] == "propos toxiques : score 0,95 ≥ seuil de rejet 0,90"
    assert rude["author_message"].startswith("Refusé : il enfreint nos règles de publication")
    assert calm["verdict"] == "publish"
    assert obscene["verdict"] == "hold"
    assert obscene["reasons"][0]["code"] == "category_hold"
    assert obscene["reasons"][0]["message"].startswith("obscénités : score 0,65 ≥ seuil")
    assert obscene["author_message"].startswith("En attente de modération")
    assert banned["verdict"] == "reject"
    assert banned["reasons"][0] == {
        "code": "banned_word", "category": None, "score": None, "threshold": None,
        "detail": "crétin", "message": "Mot interdit : « crétin ».",
    }  # fmt: skip
    assert banned["words"] == [
        {"list": "banned", "entry": "crétin", "text": "crétin", "start": 8, "end": 14}
    ]
    assert texts[3][8:14] == "crétin"
    assert "terme interdit" in banned["author_message"]


def test_nudge_when_the_cms_can_offer_it_and_hold_when_it_cannot(client, key):
    nudged = call(client, {"text": "Quel idiot."}, key).get_json()["results"][0]
    assert nudged["verdict"] == "nudge"
    assert nudged["reasons"][0]["code"] == "nudge"
    assert nudged["reasons"][0]["category"] == "insult"
    assert nudged["reasons"][0]["message"].startswith("Invitation à reformuler : insultes")
    assert "pourrait ne pas respecter nos règles" in nudged["author_message"]
    held = call(client, {"text": "Quel idiot.", "nudge": False}, key).get_json()["results"][0]
    assert held["verdict"] == "hold"
    assert held["reasons"][0]["code"] == "category_hold"


def test_site_rules_that_read_the_text_apply(client, key):
    settings.set_value("premoderate_links", True)
    result = call(client, {"text": "Lisez www.exemple.fr"}, key).get_json()["results"][0]
    assert result["verdict"] == "hold"
    assert result["reasons"][0]["code"] == "rule_links"
    assert "lien" in result["reasons"][0]["message"]


def test_html_is_scored_as_the_text_a_reader_sees(client, key):
    html = "<p>Quel <b>c&#111;nnard</b>.</p><script>connard</script>"
    asked = {"text": html, "format": "html", "nudge": False}
    result = call(client, asked, key).get_json()["results"][0]
    assert result["verdict"] == "reject"
    hidden = {"text": "<p>Un avis.</p><script>Quel connard</script>", "format": "html"}
    assert call(client, hidden, key).get_json()["results"][0]["verdict"] == "publish"
    # As text, the markup is what is scored.
    plain = call(client, {"text": "<b>c&#111;nnard</b>"}, key).get_json()["results"][0]
    assert plain["verdict"] == "publish"


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
def test_the_body_is_read_as_json_whatever_its_content_type(client, key, content_type):
    """`curl -d` sends a form's content type: the JSON body is still what counts."""
    response = client.post(
        URL, data='{"text": "Quel connard.", "nudge": false}', content_type=content_type,
        headers={"Authorization": f"Bearer {key}"},
    )  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["results"][0]["verdict"] == "reject"


def test_a_chunked_body_past_the_limit_is_a_413_over_real_http(live_server, key, app):
    import http.client

    host, port = live_server.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    limit = app.config["API_MAX_REQUEST_BYTES"]
    chunks = (b'{"text": "' + b"a" * 65536 for _ in range(limit // 65536 + 2))
    connection.request("POST", URL, body=chunks, encode_chunked=True,
                       headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    assert response.status == 413 and body["error"]["code"] == "too_large"


def test_each_call_is_counted_for_its_client(client, key, app):
    call(client, {"text": "Un avis."}, key)
    call(client, {"texts": []}, key)
    [row] = usage_rows()
    assert (row.calls, row.errors, row.last_error, row.last_error_status) == (
        2, 1, "invalid_field", 422,
    )  # fmt: skip


# --- Keys and quota -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_key"),
        ({"Authorization": "Bearer "}, "missing_key"),
        ({"Authorization": "Basic bW9kOmtleQ=="}, "missing_key"),
        ({"Authorization": "Bearer mod_inconnue"}, "unknown_key"),
        ({"Authorization": "Bearer " + "x" * 5000}, "unknown_key"),
        ({"Authorization": "Bearer mod_abc\x00def"}, "unknown_key"),  # PostgreSQL refuses NUL
        ({"Authorization": "Bearer mod_clé'--"}, "unknown_key"),
    ],
)
def test_no_key_or_an_unknown_key_is_a_401(client, key, headers, code):
    response = client.post(URL, json={"text": "Un avis."}, headers=headers)
    assert_error(response, 401, code)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert usage_rows() == []


def test_a_key_in_the_query_string_is_not_taken(client, key):
    response = client.post(f"{URL}?key={key}", json={"text": "Un avis."})
    assert_error(response, 401, "missing_key")


def test_a_revoked_key_is_refused_at_once_in_another_process(
    client, key, app, database_url, tmp_path, scorer
):
    other = create_app(
        make_config(database_url, str(tmp_path / "other"), API_USAGE_FLUSH_SECONDS=0),
        scorer=scorer,
    )
    elsewhere = other.test_client()
    assert call(elsewhere, {"text": "Un avis."}, key).status_code == 200
    clients.revoke("cms-ouest")
    response = call(elsewhere, {"text": "Un avis."}, key)
    assert_error(response, 403, "revoked_key")
    assert "révoquée" in response.get_json()["error"]["message"]
    assert_error(call(client, {"text": "Un avis."}, key), 403, "revoked_key")
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
        other.extensions["scoring"].stop()
    row = usage_rows()[0]
    assert (row.calls, row.errors, row.last_error) == (3, 2, "revoked_key")


def test_past_the_quota_a_429_says_when_to_come_back(client, app):
    key = clients.create("cms-serre", quota="2 per minute").key
    assert call(client, {"text": "Un avis."}, key).status_code == 200
    assert call(client, {"text": "Un avis."}, key).status_code == 200
    response = call(client, {"text": "Un avis."}, key)
    error = assert_error(response, 429, "quota_exceeded")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["Retry-After"] in error["message"]
    [row] = usage_rows()
    assert (row.calls, row.errors, row.last_error, row.last_error_status) == (
        3, 1, "quota_exceeded", 429,
    )  # fmt: skip


# --- Bad requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["", "{", "texts=a", "[" * 100_000 + "]" * 100_000, b"\xff\xfe{}", "{'text': 'a'}"]
)
def test_a_body_that_is_not_json_is_a_400(client, key, raw):
    assert_error(call(client, raw, key), 400, "invalid_json")


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ([], None, "invalid_field"),  # not an object
        ('"un texte"', None, "invalid_field"),  # a JSON string
        ({}, "texts", "invalid_field"),  # neither
        ({"text": "a", "texts": ["b"]}, "texts", "invalid_field"),  # both
        ({"text": 42}, "text", "invalid_field"),
        ({"text": None, "texts": None}, "texts", "invalid_field"),
        ({"texts": "un seul"}, "texts", "invalid_field"),
        ({"texts": []}, "texts", "invalid_field"),
        ({"texts": ["a", 3]}, "texts.1", "invalid_field"),
        ({"texts": [["a"]]}, "texts.0", "invalid_field"),
        ({"text": "a", "format": "markdown"}, "format", "invalid_field"),
        ({"text": "a", "nudge": "true"}, "nudge", "invalid_field"),
        ({"text": "a", "nudge": 1}, "nudge", "invalid_field"),
        ({"text": "a", "langue": "fr"}, "langue", "invalid_field"),
        ({"text": "   \n\t "}, "text", "empty_text"),
        ({"texts": ["Un avis.", ""]}, "texts.1", "empty_text"),
        ({"text": "<p> </p><script>x</script>", "format": "html"}, "text", "empty_text"),
    ],
)
def test_a_refused_field_is_a_422_naming_it(client, key, body, field, code):
    error = assert_error(call(client, body, key), 422, code, field)
    assert "Value error" not in error["message"] and "Input should" not in error["message"]


def test_a_lone_surrogate_is_refused_not_a_500(client, key):
    response = call(client, '{"texts": ["ok", "\\ud800 seul"]}', key)
    assert_error(response, 422, "invalid_text", "texts.1")


def test_too_many_texts_and_too_long_a_text_are_refused(client, key, app):
    most = app.config["API_SCORE_MAX_TEXTS"]
    too_many = call(client, {"texts": ["Un avis."] * (most + 1)}, key)
    assert f"{most} au plus" in assert_error(too_many, 422, "too_many_texts", "texts")["message"]
    assert call(client, {"texts": ["Un avis."] * most}, key).status_code == 200
    limit = app.config["API_TEXT_MAX_BYTES"]
    exactly = "é" * (limit // 2)  # two bytes each in UTF-8
    assert call(client, {"text": exactly}, key).status_code == 200
    long = call(client, {"texts": ["Un avis.", exactly + "e"]}, key)
    assert_error(long, 422, "text_too_long", "texts.1")


def test_a_request_past_its_byte_limit_is_a_413_in_the_api_shape(client, key, app):
    limit = app.config["API_MAX_REQUEST_BYTES"]
    body = json.dumps({"text": "a" * limit})
    error = assert_error(call(client, body, key), 413, "too_large")
    assert str(limit) in error["message"]
    # Larger than the site's own MAX_REQUEST_BYTES, smaller than the API's: taken.
    texts = ["Un avis assez long. " * 50] * 80  # about 80 kB
    assert len(json.dumps({"texts": texts})) > app.config["MAX_CONTENT_LENGTH"]
    assert call(client, {"texts": texts}, key).status_code == 200
    rows = usage_rows()
    assert rows[0].last_error == "too_large"


# --- No model, no verdict -------------------------------------------------------------------------


class TestModelDown:
    @pytest.fixture
    def scorer(self, tiny_scorer):
        return SpyScorer(tiny_scorer, broken=True)

    def test_no_model_is_a_503_without_any_score(self, client, key):
        response = call(client, {"texts": ["Un avis.", "Quel connard."]}, key)
        error = assert_error(response, 503, "scoring_unavailable")
        assert "results" not in response.get_json() and "boom" not in error["message"]
        assert response.headers["Retry-After"] == "1"
        [row] = usage_rows()
        assert (row.errors, row.last_error, row.last_error_status) == (
            1, "scoring_unavailable", 503,
        )  # fmt: skip


class TestModelTooSlow:
    @pytest.fixture
    def config_overrides(self):
        return {"API_SCORING_WAIT_SECONDS": 0.05, "API_USAGE_FLUSH_SECONDS": 0}

    def test_a_model_slower_than_the_wait_is_a_503(self, client, key, app, tiny_scorer):
        gate = threading.Event()

        class Slow:
            name, version, categories = tiny_scorer.name, tiny_scorer.version, []
            state, error = "ready", None

            def load(self):
                pass

            def score(self, texts):
                gate.wait(5)
                return tiny_scorer.score(texts)

        app.extensions["scoring"].runner.scorer = Slow()
        try:
            response = call(client, {"text": "Un avis."}, key)
        finally:
            gate.set()
        assert_error(response, 503, "scoring_unavailable")


# --- The shape of every /api/v1 error -----------------------------------------------------------


def test_an_unknown_api_address_is_a_json_404(client):
    response = client.get("/api/v1/nulle-part", headers={"Accept": "text/html"})
    assert_error(response, 404, "not_found")


def test_a_wrong_method_is_a_json_405_with_allow(client, key):
    response = client.get(URL, headers={"Authorization": f"Bearer {key}"})
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_an_unexpected_error_is_a_json_500_counted_for_the_client(client, key, app, monkeypatch):
    from app.services import textverdicts

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(textverdicts, "score", broken)
    response = call(client, {"text": "Un avis."}, key)
    error = assert_error(response, 500, "internal_error")
    assert "secret detail" not in error["message"]
    [row] = usage_rows()
    assert (row.last_error, row.last_error_status) == ("internal_error", 500)


def test_pages_still_answer_html(client):
    response = client.get("/articles/nulle-part")
    assert response.status_code == 404 and response.mimetype == "text/html"
