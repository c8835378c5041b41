"""Every route, every parameter it reads, a table of hostile values: never a 5xx.

The walk covers each rule of `app.url_map` (a new route fails `test_every_route_is_walked`
until it is added to ROUTES), anonymous and signed in as an admin, GET and POST (with a valid
CSRF token), with each hostile value in every path variable and every query and form field.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

from app.extensions import limiter
from app.models import Role
from tests.conftest import ARTICLE_SLUG, add_comment, csrf_token, login, make_user

HOSTILE = [
    "99999999999999999999",  # over SQLite's and PostgreSQL's integers
    "²",  # passes str.isdigit, fails int()
    "9" * 5000,  # over Python's int-from-string limit (4,300 digits)
    "-1",
    "0",
    "9999-12-31",  # a date whose next day overflows
    " ",
    "\n",
    "%00",
    "x" * 10_000,
    "<script>",
]

# The parameters the views and forms read (request.args / request.form / form fields).
PARAMETERS = [
    "page", "commentaire", "repondre", "article", "depuis", "version", "select", "parent_id",
    "premoderate_first_n", "close_after_days", "a1-close_after_days", "max_comment_length",
    "reports_threshold", "comment_rate_limit", "au", "du", "next", "tri", "q", "raison",
    "categorie", "auteur", "acteur", "action", "format", "cible", "jours", "n", "lang", "email",
    "kind", "reason", "note", "days", "body", "name", "display_name", "password", "confirm",
    "remember", "form_token", "insult-hold", "insult-reject", "insult-nudge", "insult-enabled",
    "banned_words", "suspect_words", "allowed_words", "nudge_enabled", "guests_allowed",
    "quota-count", "quota-period", "coral_secret", "text", "texts",
    "banned_words", "suspect_words", "allowed_words", "nudge_enabled", "guests_allowed", "key",
    "decision", "client", "token", "site", "sort", "article_id", "category", "author",
    "account_id", "url", "title", "id", "cursor", "limit", "origins", "premoderate_all",
    "location", "explanation", "good_faith", "etat", "ground", "rule",


    "ground", "cle", "explication", "outcome", "answer", "annee", "dsa_online_platform",
    "message", "compte",
    "reply_mails", "notify_replies", "List-Unsubscribe",
]  # fmt: skip

# endpoint -> a valid value for each path variable (the walk replaces them one by one).
ROUTES: dict[str, dict[str, str]] = {
    "static": {"filename": "site.css"},
    "reader.index": {},
    "reader.article": {"slug": ARTICLE_SLUG},
    "reader.post_comment": {"slug": ARTICLE_SLUG},
    "reader.send_anyway": {"slug": ARTICLE_SLUG, "comment_id": "1"},
    "reader.revise": {"slug": ARTICLE_SLUG, "comment_id": "1"},
    "reader.comment_status": {"slug": ARTICLE_SLUG, "comment_id": "1"},
    "reader.score_draft": {"slug": ARTICLE_SLUG},
    "reader.report": {"slug": ARTICLE_SLUG, "comment_id": "1"},
    "reader.embed_script": {},
    "reader.notice": {},
    "reader.notice_received": {"reference": "DSA-AAAA-AAAA"},
    "reader.statement": {"puid": "0" * 32},
    "reader.complain": {"puid": "0" * 32},
    "reader.comment_statement": {"slug": ARTICLE_SLUG, "comment_id": "1"},
    "reader.edit_comment": {"slug": ARTICLE_SLUG, "comment_id": "1"},
    "reader.like": {"slug": ARTICLE_SLUG, "comment_id": "1"},
    "reader.delete_comment": {"slug": ARTICLE_SLUG, "comment_id": "1"},
    "reader.acknowledge_warning": {"slug": ARTICLE_SLUG, "warning_id": "1"},
    "reader.account": {},
    "reader.account_data": {},
    "reader.my_data": {},
    "reader.my_data_sent": {},
    "reader.my_data_page": {"token": "eyJlIjoieEB4LmZyIn0.AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA"},
    "reader.my_data_download": {"token": "eyJlIjoieEB4LmZyIn0.AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA"},
    "reader.reply_mails_setting": {},
    "reader.reply_mails_confirm": {"token": "eyJlIjoieEB4LmZyIn0.AAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAA"},
    "reader.reply_mails_unsubscribe": {"token": "eyJlIjoieEB4LmZyIn0.AAAAAAAAAAAAAAAAAAAAAAAAAAA"},
    "auth.register": {},
    "auth.login": {},
    "auth.logout": {},
    "api.healthz": {},
    "api.metrics": {},
    "api.v1.score": {},
    "api.v1.openapi": {},
    "api.v1.reference_page": {},
    "api.v1.sso_session": {},
    "api.v1.moderation_queues": {},
    "api.v1.moderation_queue": {"queue": "a-moderer"},
    "api.v1.moderation_comment": {"comment_id": "1"},
    "api.v1.moderation_decide": {"comment_id": "1"},
    "api.v1.stream": {},
    "api.v1.story": {},
    "api.v1.story_comments": {"story_id": "1"},
    "api.v1.post_comment": {"story_id": "1"},
    "api.v1.score_draft": {"story_id": "1"},
    "api.v1.get_comment": {"comment_id": "1"},
    "api.v1.send_anyway": {"comment_id": "1"},
    "api.v1.revise": {"comment_id": "1"},
    "api.v1.edit_comment": {"comment_id": "1"},
    "api.v1.delete_comment": {"comment_id": "1"},
    "api.v1.like": {"comment_id": "1"},
    "api.v1.unlike": {"comment_id": "1"},
    "api.v1.report": {"comment_id": "1"},
    "api.v1.notice": {"comment_id": "1"},
    "api.v1.acknowledge_warning": {"warning_id": "1"},
    "api.v1.counts": {},
    "api.v1.counts_post": {},
    "moderation.index": {},
    "moderation.queue": {"queue": "a-moderer"},
    "moderation.queue_news": {"queue": "a-moderer"},
    "moderation.comment": {"comment_id": "1"},
    "moderation.decide": {"comment_id": "1"},
    "moderation.decide_many": {},
    "moderation.reader": {},
    "moderation.feature": {"comment_id": "1"},
    "moderation.end_surge": {"article_id": "1"},
    "moderation.reader_data": {},
    "moderation.reader_erase": {},
    "moderation.restrict": {},
    "moderation.lift": {"restriction_id": "1"},
    "moderation.warn": {},
    "moderation.warn_author": {"comment_id": "1"},
    "moderation.journal": {},
    "moderation.coral_decisions": {},
    "moderation.notices_list": {},
    "moderation.notice": {"notice_id": "1"},
    "moderation.decide_notice": {"notice_id": "1"},
    "moderation.complaints": {},
    "moderation.answer_complaint": {"complaint_id": "1"},
    "coral.moderation_phase": {"client": "lemonde"},
    "admin.index": {},
    "admin.thresholds": {},
    "admin.rules": {},
    "admin.words": {},
    "admin.export_words": {"name": "banned_words"},
    "admin.articles": {},
    "admin.history": {},
    "admin.restore": {"change_id": "1"},
    "admin.calibration": {},
    "admin.api_clients": {},
    "admin.create_client": {},
    "admin.revoke_client": {"name": "cms-ouest"},
    "admin.client_coral_secret": {"name": "cms-ouest"},
    "admin.sites_page": {},
    "admin.create_site": {},
    "admin.update_site": {"name": "default"},
    "admin.rotate_site_secret": {"name": "default"},
    "admin.transparency_page": {},
    "admin.shadow_page": {},
    "admin.start_shadow": {},
    "admin.stop_shadow": {},
    "admin.promote_shadow": {},
    "admin.reset_live_model": {},
    "perspective.analyze": {},
    "perspective.suggestscore": {},
}

ADMIN_EMAIL = "admin@example.fr"


def test_every_route_is_walked(app):
    """Add a new route to ROUTES (with its path variables) and its parameters to PARAMETERS."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROUTES)
    for rule in app.url_map.iter_rules():
        assert set(rule.arguments) == set(ROUTES[rule.endpoint]), rule.rule


def _fill(rule_text: str, variables: dict[str, str]) -> str:
    path = rule_text
    for name, text in variables.items():
        path = re.sub(
            rf"<(?:\w+(?:\([^)]*\))?:)?{name}>", quote(text, safe="").replace("\\", r"\\"), path
        )
    assert "<" not in path, path
    return path


def _walk(app: Any, client: Any, signed_in: bool) -> list[tuple[str, str, str, int]]:
    failures = []

    def token() -> str:
        page = "/moderation/journal" if signed_in else "/compte/connexion"
        return csrf_token(client, page)

    csrf = token()
    for rule in app.url_map.iter_rules():
        valid = ROUTES[rule.endpoint]
        methods = sorted((rule.methods or set()) & {"GET", "POST"})
        for value in HOSTILE:
            paths = {_fill(rule.rule, valid)}
            paths |= {_fill(rule.rule, {**valid, name: value}) for name in valid}
            fields = {name: value for name in PARAMETERS}
            for path in sorted(paths):
                for method in methods:
                    if method == "GET":
                        response = client.get(path, query_string=fields)
                    else:
                        response = client.post(
                            path, query_string=fields, data={**fields, "csrf_token": csrf}
                        )
                    response.close()  # static files are streamed
                    if response.status_code >= 500:
                        failures.append((method, path[:80], value[:20], response.status_code))
                    if rule.endpoint in ("auth.logout", "auth.login") and method == "POST":
                        limiter.reset()  # the walk signs in again after each sign-in post
                        if signed_in and client.get("/moderation/journal").status_code != 200:
                            login(client, ADMIN_EMAIL)  # signed out by the walk
                        csrf = token()
    return failures


@pytest.fixture
def walked(app):
    """A published comment (id 1), an admin account and an API client (cms-ouest)."""
    from app.extensions import db
    from app.models import Article
    from app.services import clients

    article = db.session.scalar(db.select(Article))
    add_comment(article, "Un commentaire publié")
    clients.create("cms-ouest")
    make_user(ADMIN_EMAIL, display_name="Admin Alex", role=Role.ADMIN)
    return app


def test_anonymous_walk_never_gets_a_5xx(walked):
    assert _walk(walked, walked.test_client(), signed_in=False) == []


def test_admin_walk_never_gets_a_5xx(walked):
    client = walked.test_client()
    login(client, ADMIN_EMAIL)
    assert _walk(walked, client, signed_in=True) == []


# --- The cases of the issue, each with what the user sees ------------------------------------


@pytest.fixture
def admin_client(walked):
    client = walked.test_client()
    login(client, ADMIN_EMAIL)
    return client


def _post(client, url, data, page=None):
    return client.post(url, data={"csrf_token": csrf_token(client, page or url), **data})


@pytest.mark.parametrize("value", ["99999999999999999999", "²", "9" * 5000, "0", "-1"])
def test_ids_out_of_range_in_a_path_are_404(walked, admin_client, value):
    slug = f"/articles/{ARTICLE_SLUG}/commentaires"
    assert walked.test_client().get(f"{slug}/{quote(value)}/statut").status_code == 404
    assert walked.test_client().get(f"{slug}/{quote(value)}/signaler").status_code == 404
    assert admin_client.get(f"/moderation/commentaires/{quote(value)}").status_code == 404


@pytest.mark.parametrize("value", ["99999999999999999999", "²", "9" * 5000, "-1"])
def test_a_reply_to_an_impossible_comment_is_a_french_field_error(walked, reader, value):
    from tests.conftest import comments_in_db

    response = reader.post(body="Ma réponse", parent_id=value)
    assert response.status_code == 422
    assert "Le commentaire auquel vous répondez n’existe pas." in response.get_data(as_text=True)
    assert comments_in_db()[-1].body == "Un commentaire publié"  # nothing new stored


@pytest.mark.parametrize("value", ["99999999999999999999", "²", "9" * 5000])
def test_impossible_ids_in_the_query_are_ignored(walked, admin_client, value):
    reader = walked.test_client()
    article = f"/articles/{ARTICLE_SLUG}"
    for query in ("repondre", "commentaire", "page"):
        assert reader.get(article, query_string={query: value}).status_code == 200
    queue = "/moderation/file/a-moderer"
    assert (
        admin_client.get(queue, query_string={"article": value, "page": value}).status_code == 200
    )
    news = admin_client.get(f"{queue}/nouveaux", query_string={"depuis": value})
    assert news.status_code == 200 and news.json["new"] == 0
    journal = admin_client.get("/moderation/journal", query_string={"commentaire": value})
    assert journal.status_code == 200


@pytest.mark.parametrize("value", ["²", "99999999999999999999", "9" * 5000])
def test_admin_counts_get_a_field_error(admin_client, value):
    rules = _post(admin_client, "/admin/regles", {"premoderate_first_n": value})
    assert rules.status_code == 422
    assert "Indiquez un nombre entier entre 0 et 1000." in rules.get_data(as_text=True)
    articles = _post(
        admin_client, "/admin/articles", {"article": "1", "a1-close_after_days": value}
    )
    assert articles.status_code == 422
    assert "Indiquez un nombre de jours entre 1 et 3650" in articles.get_data(as_text=True)


@pytest.mark.parametrize("value", ["²", "99999999999999999999", "9" * 5000])
def test_impossible_selections_and_versions_are_refused(walked, admin_client, value):
    queue = "/moderation/file/a-moderer"
    for selected in (f"{value}:1", f"1:{value}"):
        bulk = _post(
            admin_client, "/moderation/decisions", {"select": selected, "action": "approve"}, queue
        )
        assert bulk.status_code == 303  # back to the queue, which says why
        page = admin_client.get(queue).get_data(as_text=True)
        assert "Sélectionnez au moins un commentaire." in page
    one = _post(
        admin_client, "/moderation/commentaires/1/decision",
        {"version": value, "action": "approve"}, queue,
    )  # fmt: skip
    assert one.status_code == 400
    assert "La version du commentaire manque ou n’est pas valide" in one.get_data(as_text=True)


@pytest.mark.parametrize("value", ["9999-12-31", "1999-12-31", "2024-02-30", "²²²²-01-01"])
def test_journal_dates_out_of_range_are_named(admin_client, value):
    response = admin_client.get("/moderation/journal", query_string={"au": value, "du": value})
    assert response.status_code == 200
    assert f"Date invalide : {value} (format AAAA-MM-JJ)." in response.get_data(as_text=True)


def test_a_file_where_text_is_expected_is_refused(walked, client):
    from io import BytesIO

    from tests.conftest import ARTICLE_URL, POST_URL, comments_in_db

    data = {
        "csrf_token": csrf_token(client, ARTICLE_URL),
        "name": "Camille",
        "email": "camille@example.fr",
        "body": (BytesIO(b"Mon commentaire"), "body.txt"),
    }
    response = client.post(POST_URL, data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Ce formulaire n’accepte pas de fichier" in page
    assert [c.body for c in comments_in_db()] == ["Un commentaire publié"]


def _sign_in_with_next(client, target: str):
    """The admin signs in from a page asking to go to `target` afterwards."""
    page = f"/compte/connexion?next={quote(target, safe='')}"
    return client.post(
        page,
        data={"csrf_token": csrf_token(client, page), "email": ADMIN_EMAIL,
              "password": "motdepasse-solide"},
    )  # fmt: skip


@pytest.mark.parametrize(
    "target",
    [
        "/moderation/\nSet-Cookie: x=1",
        "/\\evil.example",
        "//evil.example",
        "https://evil.example",
        "/a b",
    ],
)
def test_sign_in_with_an_unsafe_next_goes_home(walked, target):
    client = walked.test_client()
    response = _sign_in_with_next(client, target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/moderation/"  # an admin's home: the queue
    assert client.get("/moderation/journal").status_code == 200  # signed in


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/moderation/journal?du=2024-01-01", "/moderation/journal?du=2024-01-01"),
        ("/articles/café#formulaire", "/articles/caf%C3%A9#formulaire"),
    ],
)
def test_sign_in_follows_a_safe_next(walked, target, location):
    response = _sign_in_with_next(walked.test_client(), target)
    assert response.headers["Location"] == location


@pytest.fixture
def live_server(walked):
    """The app behind Werkzeug's threaded HTTP server (it dechunks bodies, as gunicorn does):
    the test client always sends a Content-Length, a browser or a script need not."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, walked, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(5)
    server.server_close()


def _chunked_post(server, size: int) -> tuple[int, str]:
    """A comment of `size` bytes in a chunked body (no Content-Length), with the page's
    session cookie and CSRF token."""
    import http.client
    from urllib.parse import urlencode

    from tests.conftest import ARTICLE_URL, CSRF_RE, FORM_TOKEN_RE, POST_URL

    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    try:
        connection.request("GET", ARTICLE_URL)
        answer = connection.getresponse()
        page = answer.read().decode()
        cookie = answer.getheader("Set-Cookie", "").split(";")[0]
        body = urlencode(
            {"csrf_token": CSRF_RE.search(page).group(1),
             "form_token": FORM_TOKEN_RE.search(page).group(1),
             "name": "Camille", "email": "camille@example.fr", "body": "x" * size}
        ).encode()  # fmt: skip
        chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
        connection.request(
            "POST", POST_URL, body=chunks, encode_chunked=True,
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        answer = connection.getresponse()
        return answer.status, answer.read().decode()
    finally:
        connection.close()


def test_a_chunked_body_over_the_limit_is_a_413(walked, live_server):
    from tests.conftest import comments_in_db

    status, page = _chunked_post(live_server, 70_000)  # MAX_REQUEST_BYTES is 64 KiB
    assert status == 413
    assert "Votre envoi dépasse la taille maximale acceptée (64 Ko)" in page
    assert [c.body for c in comments_in_db()] == ["Un commentaire publié"]


def test_a_chunked_body_under_the_limit_is_read_whole(walked, live_server):
    from tests.conftest import comments_in_db

    assert _chunked_post(live_server, 1500)[0] == 303
    assert comments_in_db()[-1].body == "x" * 1500
