"""Schemathesis reads /api/v1/openapi.json from a live server (the test app behind a real HTTP
server on loopback, its real database, the tiny model) and sends every operation requests it
generates from the document: valid ones, and invalid ones (negative mode). Each answer must
not be a server error, must have a documented status and content type, and must match the
schema the document gives for that status.

Bounded and deterministic: a fixed seed, derandomized generation, FUZZ_EXAMPLES examples per
operation and phase. The same run from a shell, against any running server, is the README's
`schemathesis run` command.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.models import CommentStatus, Role
from app.services import accounts, clients, sites
from tests.conftest import add_comment, make_user

FUZZ_EXAMPLES = 25
SEED = 13
ORIGIN = "https://www.journal.example"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    return {
        "API_USAGE_FLUSH_SECONDS": 0,
        "COMMENT_RATE_LIMIT": "100000 per minute",  # the fuzzer posts far more than a reader
    }


def schemathesis_config(base_url: str, client_key: str, staff_token: str) -> dict[str, Any]:
    """The run's settings, as `schemathesis.toml` would write them."""
    return {
        "seed": SEED,
        "base-url": base_url,
        "generation": {"mode": "all", "max-examples": FUZZ_EXAMPLES, "deterministic": True},
        "phases": {"stateful": {"enabled": False}},  # no OpenAPI links to follow
        "checks": {
            "enabled": False,
            **{name: {"enabled": True} for name in CHECKS},
        },
        "auth": {
            "openapi": {
                "client_key": {"bearer": client_key},
                "staff_token": {"bearer": staff_token},
            }
        },
        "suppress-health-check": ["too_slow", "filter_too_much"],
    }


@pytest.fixture
def api_data(app) -> dict[str, Any]:
    """What the API needs to have something to answer: a site with an allowed origin and its
    SSO secret, a story with comments, a reply and a held comment, an API client's key with
    the moderation scope, a moderator's API token."""
    created = sites.create("journal", [ORIGIN])
    story, _ = sites.ensure_story(created.site, f"{ORIGIN}/article-42", "Un article", "cms-42")
    first = add_comment(story, "Un premier avis, publié.")
    reply = add_comment(story, "Une réponse à ce premier avis.", parent=first)
    held = add_comment(story, "Un avis retenu.", status=CommentStatus.HELD)
    key = clients.create("fuzzer", quota="100000 per second", scopes=["moderation"]).key
    make_user("moderatrice@example.fr", role=Role.MODERATOR)
    staff_token = accounts.create_token("moderatrice@example.fr").secret
    return {
        "site": created.site,
        "sso_secret": created.sso_secret,
        "story": story,
        "comment": first,
        "reply": reply,
        "held": held,
        "key": key,
        "staff_token": staff_token,
    }


@pytest.fixture
def api_schema(live_server: str, api_data: dict[str, Any]) -> Any:
    settings = schemathesis_config(live_server, api_data["key"], api_data["staff_token"])
    config = schemathesis.Config.from_dict(settings)
    return schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4.32's `from_fixture` reads and renames `item._nodeid`, which pytest 9.2
    no longer has (its `nodeid` is computed): give it one to read. Harmless once fixed."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_matches_the_document(case: Any) -> None:
    case.call_and_validate()


def sso_token(secret: str, user_id: str = "cms-7", username: str = "Camille") -> str:
    """A token as a newsroom's CMS signs it (Coral's SSO claims)."""
    now = int(time.time())
    claims = {
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 300,
        "user": {"id": user_id, "email": f"{user_id}@journal.example", "username": username},
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def known_good_cases(schema: Any, data: dict[str, Any]) -> Iterator[Any]:
    """Requests random data cannot make (a valid signature, a real id), as a CMS or the embed
    sends them."""
    session = schema["/api/v1/sso/session"]["POST"]
    yield session.Case(body={"token": sso_token(data["sso_secret"])}, query={"site": "journal"})
    yield session.Case(
        body={"token": sso_token(data["sso_secret"], "cms-8", "Dominique")},
        headers={"Origin": ORIGIN},
    )
    # The moderators' API, with a staff token and with a client key (moderation scope).
    for key in (data["staff_token"], data["key"]):
        staff = {"Authorization": f"Bearer {key}"}
        yield schema["/api/v1/moderation/queues"]["GET"].Case(headers=staff)
        yield schema["/api/v1/moderation/queues/{queue}"]["GET"].Case(
            path_parameters={"queue": "a-moderer"}, query={"sort": "anciens"}, headers=staff
        )
        yield schema["/api/v1/moderation/comments/{comment_id}"]["GET"].Case(
            path_parameters={"comment_id": data["held"].id}, headers=staff
        )
    # The readers' API, as the embed calls it from the newsroom's page, and as a CMS does.
    story, url = data["story"], f"{ORIGIN}/article-42"
    browser = {"Origin": ORIGIN}
    stream = schema["/api/v1/stream"]["GET"]
    yield stream.Case(query={"url": url, "title": "Un article"}, headers=browser)
    yield stream.Case(query={"url": f"{ORIGIN}/article-43", "title": "Nouveau"}, headers=browser)
    yield schema["/api/v1/stories"]["GET"].Case(query={"url": url, "site": "journal"})
    threads = schema["/api/v1/stories/{story_id}/comments"]
    yield threads["GET"].Case(
        path_parameters={"story_id": story.id}, query={"sort": "oldest", "limit": 1}
    )
    guest = {"body": "Un avis posé.", "name": "Camille", "email": "camille@journal.example"}
    yield threads["POST"].Case(path_parameters={"story_id": story.id}, body=guest, headers=browser)
    yield threads["POST"].Case(
        path_parameters={"story_id": story.id},
        body={**guest, "body": "Une réponse posée.", "parent_id": data["comment"].id},
        headers=browser,
    )
    one = {"comment_id": data["comment"].id}
    yield schema["/api/v1/comments/{comment_id}"]["GET"].Case(path_parameters=one)
    yield schema["/api/v1/comments/{comment_id}/reports"]["POST"].Case(
        path_parameters=one, body={"reason": "spam"}, headers=browser
    )
    urls = [url, f"{ORIGIN}/inconnu"]
    yield schema["/api/v1/counts"]["GET"].Case(query={"url": urls}, headers=browser)
    yield schema["/api/v1/counts"]["POST"].Case(body={"urls": urls}, headers=browser)
    decision = schema["/api/v1/moderation/comments/{comment_id}/decision"]["POST"]
    yield decision.Case(
        path_parameters={"comment_id": data["held"].id},
        body={"action": "approve", "version": data["held"].version, "note": "Relu."},
        headers={"Authorization": f"Bearer {data['staff_token']}"},
    )


def test_known_good_requests_succeed_as_documented(api_schema: Any, api_data: dict[str, Any]):
    """The answers the fuzzer's random data cannot reach: each a success, each as documented."""
    for case in known_good_cases(api_schema, api_data):
        response = case.call_and_validate()
        assert 200 <= response.status_code < 300, f"{case.method} {case.path}: {response.text}"


def test_the_nudge_and_its_answers_match_the_document(api_schema: Any, api_data: dict[str, Any]):
    """A guest nudged (the tiny model finds « idiot » insulting), then each of the nudge's two
    answers, with the guest's own token: every answer as documented."""
    story, browser = api_data["story"], {"Origin": ORIGIN}
    post = api_schema["/api/v1/stories/{story_id}/comments"]["POST"]
    answers = []
    for text in ("Quel idiot, ce ministre.", "Quel idiot, ce député."):
        case = post.Case(
            path_parameters={"story_id": story.id},
            body={"body": text, "name": "Camille", "email": "camille@journal.example"},
            headers=browser,
        )
        answer = case.call_and_validate().json()
        assert answer["outcome"] == "nudged" and answer["nudge"] is not None
        answers.append(answer)
    first, second = answers
    token = {**browser, "X-Reader-Token": first["reader_token"]}
    own = {"comment_id": first["comment"]["id"]}
    seen = api_schema["/api/v1/comments/{comment_id}"]["GET"].Case(
        path_parameters=own, headers=token
    )
    assert seen.call_and_validate().json()["comment"]["own"] is True
    sent = api_schema["/api/v1/comments/{comment_id}/send"]["POST"].Case(
        path_parameters=own, headers=token
    )
    assert 200 <= sent.call_and_validate().status_code < 300
    revised = api_schema["/api/v1/comments/{comment_id}/revise"]["POST"].Case(
        path_parameters={"comment_id": second["comment"]["id"]},
        body={"body": "Ce député se trompe, à mon avis."},
        headers={**browser, "X-Reader-Token": second["reader_token"]},
    )
    assert 200 <= revised.call_and_validate().status_code < 300


@pytest.mark.parametrize("bad_id", ["0", "2147483648", "99999999999"])
def test_an_id_out_of_range_is_a_404_whatever_the_method(client, bad_id: str) -> None:
    """Found by the fuzzer: `POST /api/v1/stories/0/comments` answered 405, undocumented
    (Werkzeug picks the rule by path and method before it converts the id, and the path's GET
    rule had matched). The id's range is now in the converter's regular expression."""
    for path in (f"/api/v1/stories/{bad_id}/comments", f"/api/v1/comments/{bad_id}/reports"):
        for send in (client.get, client.post):
            response = send(path, json={"body": "Un avis.", "reason": "spam"})
            assert response.status_code == 404, (send, path)
            assert response.get_json()["error"]["code"] == "not_found"
