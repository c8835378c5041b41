"""The readers' API as the embed calls it (docs/embed-api.md): a newsroom page on an allowed
origin, JSON in and out, the reader known by `X-Reader-Token`, every refusal in the one error
shape with its French message and field.

The tiny model's scores follow trigger words (tests/conftest.py): « idiot » nudges (and holds
once sent as it is), « merde » holds, « connard » is past reject; anything else is published."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from app.extensions import db
from app.models import Article, Comment, CommentReport, CommentStatus, Role, utcnow
from app.services import settings, sites
from tests.conftest import add_comment, comments_in_db, make_user

ORIGIN = "https://www.journal.fr"
STORY_URL = "https://www.journal.fr/politique/article-42"
GUEST = {"name": "Camille", "email": "camille@example.fr"}


@pytest.fixture
def config_overrides():
    return {"COMMENT_RATE_LIMIT": "1000 per minute", "REPORT_RATE_LIMIT": "1000 per minute"}


@pytest.fixture
def site(app):
    return sites.create("journal", [ORIGIN]).site


def call(client, method, path, *, origin=ORIGIN, token=None, body=None, headers=None, **kwargs):
    sent = dict(headers or {})
    if origin is not None:
        sent["Origin"] = origin
    if token is not None:
        sent["X-Reader-Token"] = token
    data = None if body is None else json.dumps(body)
    return client.open(
        path, method=method, headers=sent, data=data, content_type="application/json", **kwargs
    )


def stream(client, url=STORY_URL, title="Le budget voté de justesse", **kwargs):
    return call(
        client, "GET", "/api/v1/stream", query_string={"url": url, "title": title}, **kwargs
    )


@pytest.fixture
def story(client, site):
    response = stream(client)
    assert response.status_code == 200, response.get_data(as_text=True)
    return db.session.get(Article, response.get_json()["story"]["id"])


def post(client, story, body="Un avis argumenté sur le budget.", token=None, **fields):
    payload = {"body": body, **GUEST, **fields}
    return call(client, "POST", f"/api/v1/stories/{story.id}/comments", body=payload, token=token)


def assert_error(response, status, code, field=None, message=None):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    if message is not None:
        assert message in error["message"]
    return error


def ids(comments):
    return [c["id"] for c in comments]


# --- Stories --------------------------------------------------------------------------------


def test_the_stream_creates_the_story_once_with_the_page_title(client, site):
    first = stream(client)
    assert first.status_code == 200
    answer = first.get_json()
    story = answer["story"]
    assert story["url"] == STORY_URL and story["site"] == "journal"
    assert story["title"] == "Le budget voté de justesse"
    assert story["open"] is True and story["guests_allowed"] is True
    assert story["counts"] == {"published": 0, "featured": 0} and story["max_length"] == 2000
    assert story["html_url"].endswith(f"/articles/{db.session.get(Article, story['id']).slug}")
    assert answer["comments"] == [] and answer["next_cursor"] is None
    assert answer["viewer"] is None

    again = stream(client, title="Un autre titre")
    assert again.get_json()["story"]["id"] == story["id"]
    assert again.get_json()["story"]["title"] == "Le budget voté de justesse"
    assert (
        db.session.scalar(select(func.count()).select_from(Article).where(Article.url.is_not(None)))
        == 1
    )


def test_a_story_by_url_or_cms_id(client, site):
    made = call(
        client, "GET", "/api/v1/stream",
        query_string={"url": STORY_URL + "#commentaires", "title": "Le budget", "id": "cms-42"},
    )  # fmt: skip
    assert made.status_code == 200
    by_id = call(client, "GET", "/api/v1/stories", query_string={"id": "cms-42"})
    assert by_id.status_code == 200
    assert by_id.get_json()["external_id"] == "cms-42"
    by_url = call(client, "GET", "/api/v1/stories", query_string={"url": STORY_URL})
    assert by_url.status_code == 200 and by_url.get_json() == by_id.get_json()
    assert by_url.get_json()["url"] == STORY_URL  # canonical: no fragment
    unknown = call(client, "GET", "/api/v1/stories", query_string={"url": ORIGIN + "/autre"})
    assert_error(unknown, 404, "story_not_found", "url")
    assert_error(call(client, "GET", "/api/v1/stories"), 422, "required", "url")


def test_an_origin_no_site_allows_is_refused_and_nothing_is_created(client, site):
    refused = stream(client, origin="https://copieur.example")
    assert_error(refused, 403, "origin_not_allowed", "origin", "n’est pas autorisé")
    # The refused page may read the refusal (the embed shows it), and nothing else.
    assert refused.headers["Access-Control-Allow-Origin"] == "https://copieur.example"
    assert "Access-Control-Expose-Headers" not in refused.headers
    assert (
        db.session.scalar(select(func.count()).select_from(Article).where(Article.url.is_not(None)))
        == 0
    )


def test_a_page_outside_the_sites_origins_is_refused(client, site):
    refused = stream(client, url="https://copieur.example/article-42")
    assert_error(refused, 403, "origin_not_allowed", "url")
    assert (
        db.session.scalar(select(func.count()).select_from(Article).where(Article.url.is_not(None)))
        == 0
    )


def test_without_origin_a_server_names_its_site(client, site):
    response = call(
        client, "GET", "/api/v1/stream", origin=None,
        query_string={"url": STORY_URL, "title": "T", "site": "journal"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    unknown = call(
        client, "GET", "/api/v1/stories", origin=None,
        query_string={"url": STORY_URL, "site": "inconnu"},
    )  # fmt: skip
    assert_error(unknown, 422, "invalid_field", "site")


def test_another_sites_story_is_not_found_from_this_origin(client, site, story):
    sites.create("autre", ["https://www.autre.fr"])
    response = call(
        client, "GET", f"/api/v1/stories/{story.id}/comments", origin="https://www.autre.fr"
    )
    assert_error(response, 404, "story_not_found", "story_id")


# --- Threads --------------------------------------------------------------------------------


def test_threads_nest_replies_under_their_parent_in_both_orders(client, story):
    first = add_comment(story, "Premier")
    second = add_comment(story, "Second", created_at=utcnow() + timedelta(seconds=1))
    reply = add_comment(story, "Réponse", parent=first)
    deeper = add_comment(story, "Réponse à la réponse", parent=reply)
    add_comment(story, "Retenu", status=CommentStatus.HELD)
    add_comment(story, "Caché", hidden=True)

    newest = call(client, "GET", f"/api/v1/stories/{story.id}/comments").get_json()
    assert ids(newest["comments"]) == [second.id, first.id]
    [_, thread] = newest["comments"]
    assert ids(thread["replies"]) == [reply.id]
    assert ids(thread["replies"][0]["replies"]) == [deeper.id]
    assert thread["replies"][0]["replies"][0]["depth"] == 2
    assert thread["replies"][0]["parent_id"] == first.id
    assert thread["author"] == {"name": "Dominique"}
    assert thread["status"] == "published" and thread["own"] is False
    assert thread["message"] is None and thread["reportable"] is True

    oldest = call(
        client, "GET", f"/api/v1/stories/{story.id}/comments", query_string={"sort": "oldest"}
    ).get_json()
    assert ids(oldest["comments"]) == [first.id, second.id]
    page = stream(client).get_json()
    assert page["story"]["counts"] == {"published": 4, "featured": 0}
    assert ids(page["comments"]) == [second.id, first.id]


def test_cursor_pagination_walks_every_thread_once(client, story):
    start = utcnow()
    made = [
        add_comment(story, f"Commentaire {n}", created_at=start + timedelta(seconds=n // 2))
        for n in range(7)
    ]  # pairs share a date: the id breaks the tie
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        answer = call(
            client, "GET", f"/api/v1/stories/{story.id}/comments", query_string=query
        ).get_json()
        seen += ids(answer["comments"])
        pages += 1
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [c.id for c in sorted(made, key=lambda c: (c.created_at, c.id), reverse=True)]

    first = stream(client).get_json()
    assert len(first["comments"]) == 7 and first["next_cursor"] is None


def test_a_bad_cursor_or_limit_is_a_field_error(client, story):
    url = f"/api/v1/stories/{story.id}/comments"
    bad = call(client, "GET", url, query_string={"cursor": "pas-un-curseur"})
    assert_error(bad, 422, "invalid_field", "cursor")
    assert_error(call(client, "GET", url, query_string={"limit": 0}), 422, "invalid_field", "limit")
    assert_error(
        call(client, "GET", url, query_string={"limit": "x"}), 422, "invalid_field", "limit"
    )
    assert_error(
        call(client, "GET", url, query_string={"sort": "top"}), 422, "invalid_field", "sort"
    )
    assert_error(
        call(client, "GET", "/api/v1/stories/999/comments"), 404, "story_not_found", "story_id"
    )


# --- Posting --------------------------------------------------------------------------------


def test_a_guest_posts_gets_a_token_and_the_comment_is_published(client, story):
    response = post(client, story)
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["outcome"] == "published"
    assert answer["message"] == "Merci ! Votre commentaire est publié."
    assert answer["nudge"] is None
    token = answer["reader_token"]
    assert token and len(token) >= 20
    assert answer["comment"]["own"] is True and answer["comment"]["author"] == {"name": "Camille"}
    [stored] = comments_in_db()
    assert stored.guest_token == token and stored.status == CommentStatus.PUBLISHED
    assert response.headers["Cache-Control"] == "no-store"

    again = post(client, story, body="Et une seconde remarque.", token=token)
    assert again.status_code == 201 and again.get_json()["reader_token"] == token
    assert comments_in_db()[-1].guest_token == token


def test_a_held_comment_is_visible_only_with_its_token(client, story):
    settings.set_value("nudge_enabled", False)  # « merde » is then held
    answer = post(client, story, body="Quelle merde ce budget").get_json()
    assert answer["outcome"] == "held"
    assert "vous seul le voyez" in answer["message"]
    token, comment_id = answer["reader_token"], answer["comment"]["id"]

    public = stream(client).get_json()
    assert public["comments"] == [] and public["story"]["counts"] == {"published": 0, "featured": 0}
    mine = stream(client, token=token)
    assert mine.headers["Cache-Control"] == "private, no-cache"
    assert "ETag" not in mine.headers
    [own] = mine.get_json()["comments"]
    assert (own["id"], own["status"], own["own"]) == (comment_id, "held", True)
    assert "vous seul le voyez" in own["message"] and own["reportable"] is False
    assert mine.get_json()["viewer"] == {"name": "Camille", "signed_in": False, "warnings": []}

    assert call(client, "GET", f"/api/v1/comments/{comment_id}", token=token).status_code == 200
    assert_error(
        call(client, "GET", f"/api/v1/comments/{comment_id}"),
        404,
        "comment_not_found",
        "comment_id",
    )
    other = "x" * 32
    assert_error(
        call(client, "GET", f"/api/v1/comments/{comment_id}", token=other),
        404, "comment_not_found", "comment_id",
    )  # fmt: skip


def test_the_same_submission_sent_twice_is_stored_once(client, story):
    first = post(client, story, idempotency_key="envoi-1")
    again = post(client, story, idempotency_key="envoi-1")  # a retry, before the token came back
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["comment"]["id"] == first.get_json()["comment"]["id"]
    assert again.get_json()["reader_token"] == first.get_json()["reader_token"]
    assert again.get_json()["message"].startswith("Vous avez déjà envoyé ce commentaire")
    assert len(comments_in_db()) == 1


def test_a_reply_is_nested_and_a_reply_to_an_unpublished_comment_refused(client, story):
    parent = add_comment(story, "Le parent")
    held = add_comment(story, "Retenu", status=CommentStatus.HELD)
    reply = post(client, story, body="Je réponds.", parent_id=parent.id)
    assert reply.status_code == 201
    assert reply.get_json()["comment"]["parent_id"] == parent.id
    [thread] = stream(client).get_json()["comments"]
    assert ids(thread["replies"]) == [reply.get_json()["comment"]["id"]]
    refused = post(client, story, body="Je réponds.", parent_id=held.id)
    assert_error(refused, 422, "invalid_parent", "parent_id", "n’existe pas ou n’est pas publié")
    impossible = post(client, story, body="Je réponds.", parent_id=99999999999)
    assert_error(impossible, 422, "invalid_parent", "parent_id", "n’existe pas")
    assert len(comments_in_db()) == 3


BODY_REQUIRED = "Écrivez votre commentaire avant de l’envoyer."


@pytest.mark.parametrize(
    ("fields", "code", "field", "message"),
    [
        ({"body": ""}, "required", "body", BODY_REQUIRED),
        ({"body": "   \n\t  "}, "required", "body", BODY_REQUIRED),
        ({"name": ""}, "required", "name", "Indiquez votre nom"),
        ({"name": "   "}, "required", "name", "Indiquez votre nom"),
        ({"name": "N" * 81}, "too_long", "name", "Le nom ne peut dépasser 80 caractères."),
        ({"name": "Nom\x1b[31m"}, "invalid_text", "name", "caractères de contrôle"),
        ({"name": "Camille\u202e"}, "invalid_name", "name", "inversent le sens"),
        ({"email": ""}, "required", "email", "Indiquez votre adresse de messagerie"),
        ({"email": "pas-une-adresse"}, "invalid_email", "email", "n’est pas valide"),
        ({"email": "a@b"}, "invalid_email", "email", "n’est pas valide"),
        ({"body": "Bonjour\x00toi"}, "invalid_text", "body", "caractères de contrôle"),
        ({"body": "é" * 2001}, "too_long", "body",
         "Votre commentaire compte 2\u202f001 caractères ; le maximum est de 2\u202f000."),
        ({"body": 42}, "invalid_field", "body", "Une chaîne de caractères est attendue."),
        ({"parent_id": "12"}, "invalid_field", "parent_id", "Un nombre entier est attendu."),
        ({"couleur": "bleu"}, "invalid_field", "couleur", "n’est pas connu"),
    ],
)  # fmt: skip
def test_every_field_error_is_named_in_french_and_nothing_stored(
    client, story, fields, code, field, message
):
    payload = {"body": "Mon texte", **GUEST, **fields}
    response = call(client, "POST", f"/api/v1/stories/{story.id}/comments", body=payload)
    assert_error(response, 422, code, field, message)
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN  # the embed reads it
    assert comments_in_db() == []


def test_a_body_that_is_not_json_and_a_missing_body(client, story):
    url = f"/api/v1/stories/{story.id}/comments"
    response = client.post(url, data="body=x", headers={"Origin": ORIGIN})
    assert_error(response, 400, "invalid_json")
    assert_error(call(client, "POST", url, body={**GUEST}), 422, "invalid_field", "body")


def test_an_accounts_address_is_refused_to_a_guest(client, story):
    make_user("camille@example.fr")
    assert_error(post(client, story), 422, "email_has_account", "email", "connectez-vous")
    assert comments_in_db() == []


def test_a_closed_story_refuses_comments(client, story):
    story.comments_open = False
    db.session.commit()
    assert stream(client).get_json()["story"]["open"] is False
    assert_error(post(client, story), 403, "comments_closed", None, "fermés")
    assert comments_in_db() == []


def test_guests_are_refused_where_only_accounts_may_post(client, story):
    settings.set_value("guests_allowed", False)
    assert stream(client).get_json()["story"]["guests_allowed"] is False
    assert_error(post(client, story), 403, "guests_not_allowed", None, "Connectez-vous")
    assert comments_in_db() == []


def test_a_token_that_names_no_one_is_refused_for_posting_and_ignored_for_reading(client, story):
    assert_error(
        post(client, story, token="s.périmé"), 401, "invalid_reader_token", "X-Reader-Token"
    )
    assert_error(post(client, story, token="court"), 401, "invalid_reader_token", "X-Reader-Token")
    assert comments_in_db() == []
    reading = stream(client, token="s.périmé")
    assert reading.status_code == 200 and reading.get_json()["viewer"] is None


def test_an_sso_reader_posts_under_their_account(client, story, monkeypatch):
    from app.services import sso

    reader = make_user("lectrice@journal.fr", display_name="Alix Martin", role=Role.READER)
    user_id = reader.id
    monkeypatch.setattr(  # the SSO session (services/sso.py), as its own tests check it
        sso, "reader_from_session_token",
        lambda token: db.session.get(type(reader), user_id) if token == "s.valide" else None,
    )  # fmt: skip
    answer = post(client, story, token="s.valide", name=None, email=None)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.get_json()["comment"]["author"] == {"name": "Alix Martin"}
    assert answer.get_json()["reader_token"] is None
    [stored] = comments_in_db()
    assert stored.user_id == user_id and stored.guest_token is None
    viewer = stream(client, token="s.valide").get_json()["viewer"]
    assert viewer == {"name": "Alix Martin", "signed_in": True, "warnings": []}


@pytest.mark.parametrize("config_overrides", [{"COMMENT_RATE_LIMIT": "1 per minute"}])
def test_past_the_posting_limit_a_429_says_when(client, story, config_overrides):
    assert post(client, story).status_code == 201
    refused = post(client, story, body="Encore un autre avis.")
    error = assert_error(refused, 429, "too_many_comments")
    assert int(refused.headers["Retry-After"]) > 0 and "Réessayez dans" in error["message"]


# --- The nudge ------------------------------------------------------------------------------


def test_a_nudged_comment_and_its_two_answers(client, story):
    nudged = post(client, story, body="Quel idiot ce ministre").get_json()
    assert nudged["outcome"] == "nudged"
    assert nudged["message"] == "Avant d’envoyer votre commentaire, relisez-le."
    assert nudged["nudge"]["categories"] == ["insultes"]
    assert "il semble contenir des insultes" in nudged["nudge"]["message"]
    assert nudged["nudge"]["revisions_left"] == 3
    token, comment_id = nudged["reader_token"], nudged["comment"]["id"]
    assert stream(client).get_json()["comments"] == []

    url = f"/api/v1/comments/{comment_id}"
    assert_error(call(client, "POST", url + "/send"), 404, "comment_not_found", "comment_id")
    revised = call(
        client, "POST", url + "/revise", token=token, body={"body": "Ce ministre se trompe."}
    )
    assert revised.status_code == 200
    assert revised.get_json()["outcome"] == "published"
    assert comments_in_db()[0].body == "Ce ministre se trompe."
    again = call(client, "POST", url + "/send", token=token)
    assert_error(again, 409, "not_nudged", None, "n’attend plus votre réponse")


def test_a_nudged_comment_sent_as_it_is_goes_to_a_moderator(client, story):
    nudged = post(client, story, body="Quel idiot ce ministre").get_json()
    url = f"/api/v1/comments/{nudged['comment']['id']}"
    sent = call(client, "POST", url + "/send", token=nudged["reader_token"])
    assert sent.status_code == 200
    assert sent.get_json()["outcome"] == "held" and sent.get_json()["nudge"] is None
    assert comments_in_db()[0].nudge_acknowledged


def test_a_revision_is_checked_like_a_comment(client, story):
    nudged = post(client, story, body="Quel idiot ce ministre").get_json()
    url = f"/api/v1/comments/{nudged['comment']['id']}/revise"
    empty = call(client, "POST", url, token=nudged["reader_token"], body={"body": "  "})
    assert_error(empty, 422, "required", "body", "Écrivez votre commentaire")
    still = call(
        client, "POST", url, token=nudged["reader_token"], body={"body": "Quel idiot, vraiment"}
    )
    assert still.get_json()["outcome"] == "nudged"
    assert still.get_json()["nudge"]["revisions_left"] == 2


# --- Reports --------------------------------------------------------------------------------


def test_a_reader_reports_a_comment_once(client, story):
    comment = add_comment(story, "Un commentaire discutable")
    url = f"/api/v1/comments/{comment.id}/reports"
    first = call(client, "POST", url, body={"reason": "spam", "note": "Publicité"})
    assert first.status_code == 201
    assert "transmis" in first.get_json()["message"]
    token = first.get_json()["reader_token"]
    again = call(client, "POST", url, token=token, body={"reason": "insulte"})
    assert again.status_code == 200
    assert again.get_json()["message"] == "Vous avez déjà signalé ce commentaire."
    assert db.session.scalar(select(func.count()).select_from(CommentReport)) == 1


def test_a_report_needs_a_reason_and_a_published_comment(client, story):
    comment = add_comment(story, "Publié")
    held = add_comment(story, "Retenu", status=CommentStatus.HELD)
    url = f"/api/v1/comments/{comment.id}/reports"
    assert_error(call(client, "POST", url, body={"reason": "rien"}), 422, "invalid_field", "reason")
    assert_error(call(client, "POST", url, body={}), 422, "invalid_field", "reason")
    long_note = {"reason": "autre", "note": "x" * 1001}
    assert_error(call(client, "POST", url, body=long_note), 422, "too_long", "note")
    unpublished = call(
        client, "POST", f"/api/v1/comments/{held.id}/reports", body={"reason": "spam"}
    )
    assert_error(unpublished, 404, "comment_not_found", "comment_id")
    assert db.session.scalar(select(func.count()).select_from(CommentReport)) == 0


# --- Counts ---------------------------------------------------------------------------------


def test_counts_for_many_urls(client, story):
    other = stream(client, url=ORIGIN + "/sport/article-7").get_json()["story"]
    add_comment(story, "Un")
    add_comment(story, "Deux")
    add_comment(story, "Retenu", status=CommentStatus.HELD)
    add_comment(db.session.get(Article, other["id"]), "Trois")
    urls = [STORY_URL, ORIGIN + "/sport/article-7", ORIGIN + "/inconnu", "pas une adresse"]
    response = call(client, "GET", "/api/v1/counts", query_string={"url": urls})
    assert response.status_code == 200
    assert response.get_json() == {
        "counts": {STORY_URL: 2, ORIGIN + "/sport/article-7": 1, ORIGIN + "/inconnu": 0,
                   "pas une adresse": 0}
    }  # fmt: skip
    assert response.headers["Cache-Control"].startswith("public")
    assert "ETag" in response.headers and "Last-Modified" in response.headers


def test_counts_refuse_more_than_a_hundred_urls_and_none(client, site):
    urls = [f"{ORIGIN}/article-{n}" for n in range(101)]
    many = call(client, "GET", "/api/v1/counts", query_string={"url": urls})
    assert_error(many, 422, "invalid_field", "url", "100 au plus")
    assert_error(call(client, "GET", "/api/v1/counts"), 422, "invalid_field", "url")
    hundred = call(client, "GET", "/api/v1/counts", query_string={"url": urls[:100]})
    assert hundred.status_code == 200 and len(hundred.get_json()["counts"]) == 100


def test_counts_of_long_lists_in_a_post(client, story):
    """100 real article URLs do not fit in a query string (gunicorn refuses a request line
    over 4 KB): the same counts for a JSON body, of the comments a reader sees only."""
    add_comment(story, "Un")
    add_comment(story, "Retenu", status=CommentStatus.HELD)
    add_comment(story, "Masqué par des signalements", hidden=True)
    slug = "un-long-titre-" * 6
    urls = [STORY_URL] + [f"{ORIGIN}/politique/2026/12/07/{slug}{n}" for n in range(99)]
    response = call(client, "POST", "/api/v1/counts", body={"urls": urls})
    assert response.status_code == 200, response.get_data(as_text=True)
    counts = response.get_json()["counts"]
    assert len(counts) == 100 and counts[STORY_URL] == 1 and sum(counts.values()) == 1
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Cache-Control"] == "no-store"
    too_many = call(client, "POST", "/api/v1/counts", body={"urls": urls + [STORY_URL + "?x"]})
    assert_error(too_many, 422, "invalid_field", "urls")
    empty = call(client, "POST", "/api/v1/counts", body={"urls": []})
    assert_error(empty, 422, "invalid_field", "urls")
    misnamed = call(client, "POST", "/api/v1/counts", body={"url": urls})
    assert_error(misnamed, 422, "invalid_field", "urls")
    pirate = "https://pirate.example"
    refused = call(client, "POST", "/api/v1/counts", body={"urls": urls}, origin=pirate)
    assert_error(refused, 403, "origin_not_allowed", "origin")


# --- CORS -----------------------------------------------------------------------------------


def test_cors_headers_name_the_origin_never_a_wildcard_nor_credentials(client, story):
    response = stream(client)
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert {"Origin", "X-Reader-Token"} <= set(response.headers["Vary"].replace(" ", "").split(","))
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    assert "Set-Cookie" not in response.headers
    posted = post(client, story)
    assert posted.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Set-Cookie" not in posted.headers


def test_a_preflight_from_an_allowed_origin_and_from_another(client, story):
    url = f"/api/v1/stories/{story.id}/comments"
    asked = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-reader-token",
    }
    ok = call(client, "OPTIONS", url, headers=asked)
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert set(ok.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST"}
    assert ok.headers["Access-Control-Allow-Headers"] == "Content-Type, X-Reader-Token"
    assert "Origin" in ok.headers["Vary"]
    refused = call(client, "OPTIONS", url, headers=asked, origin="https://copieur.example")
    assert_error(refused, 403, "origin_not_allowed", "origin")
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_the_score_endpoint_has_no_cors(client, site):
    response = client.post("/api/v1/score", headers={"Origin": ORIGIN}, json={"text": "x"})
    assert "Access-Control-Allow-Origin" not in response.headers


# --- Caching --------------------------------------------------------------------------------


def test_public_reads_revalidate_and_the_validator_follows_publication(client, story):
    first = call(client, "GET", "/api/v1/stories", query_string={"url": STORY_URL})
    assert first.headers["Cache-Control"] == "public, max-age=30, stale-while-revalidate=60"
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]

    same = call(
        client,
        "GET",
        "/api/v1/stories",
        query_string={"url": STORY_URL},
        headers={"If-None-Match": etag},
    )
    assert same.status_code == 304 and same.get_data() == b""
    assert same.headers["ETag"] == etag and same.headers["Access-Control-Allow-Origin"] == ORIGIN
    since = call(
        client,
        "GET",
        "/api/v1/stories",
        query_string={"url": STORY_URL},
        headers={"If-Modified-Since": modified},
    )
    assert since.status_code == 304

    settings.set_value("nudge_enabled", False)  # « merde » is then held
    held = post(client, story, body="Quelle merde ce budget").get_json()
    assert held["outcome"] == "held"  # a new comment, not yet visible: the tag moves anyway
    listing = f"/api/v1/stories/{story.id}/comments"
    before = call(client, "GET", listing)
    assert (
        call(client, "GET", listing, headers={"If-None-Match": before.headers["ETag"]}).status_code
        == 304
    )
    assert post(client, story).get_json()["outcome"] == "published"
    after = call(client, "GET", listing, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert len(after.get_json()["comments"]) == 1
    changed = call(
        client,
        "GET",
        "/api/v1/stories",
        query_string={"url": STORY_URL},
        headers={"If-None-Match": etag},
    )
    assert changed.status_code == 200
    assert changed.get_json()["counts"] == {"published": 1, "featured": 0}


def test_the_validator_changes_when_a_comment_is_hidden_or_the_story_closed(client, story):
    comment = add_comment(story, "Publié")
    etag = stream(client).headers["ETag"]
    revalidate = {"If-None-Match": etag}
    assert stream(client, headers=revalidate).status_code == 304

    from app.actions import AuditAction
    from app.services import transitions

    transitions.apply(
        AuditAction.FLAGGED,
        where=[Comment.id == comment.id],
        actor="lecteurs",
        values={"hidden": True, "flagged_at": utcnow()},
    )
    db.session.commit()
    hidden = stream(client, headers=revalidate)
    assert hidden.status_code == 200 and hidden.get_json()["comments"] == []

    etag = hidden.headers["ETag"]
    story.comments_open = False
    db.session.commit()
    closed = stream(client, headers={"If-None-Match": etag})
    assert closed.status_code == 200 and closed.get_json()["story"]["open"] is False


def test_counts_revalidate(client, story):
    query = {"url": [STORY_URL]}
    first = call(client, "GET", "/api/v1/counts", query_string=query)
    same = call(
        client,
        "GET",
        "/api/v1/counts",
        query_string=query,
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert same.status_code == 304
    add_comment(story, "Publié")
    again = call(
        client,
        "GET",
        "/api/v1/counts",
        query_string=query,
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 200 and again.get_json()["counts"] == {STORY_URL: 1}


# --- Privacy and the document ---------------------------------------------------------------


def test_no_email_address_in_any_public_answer(client, story):
    posted = post(client, story)
    token, comment_id = posted.get_json()["reader_token"], posted.get_json()["comment"]["id"]
    post(client, story, body="Quelle merde ce budget", token=token)
    answers = [
        posted,
        stream(client),
        stream(client, token=token),
        call(client, "GET", f"/api/v1/stories/{story.id}/comments", token=token),
        call(client, "GET", f"/api/v1/comments/{comment_id}"),
        call(client, "GET", "/api/v1/stories", query_string={"url": STORY_URL}),
        call(client, "GET", "/api/v1/counts", query_string={"url": STORY_URL}),
    ]
    for response in answers:
        assert response.status_code == 200 or response.status_code == 201
        text = response.get_data(as_text=True)
        assert "camille@example.fr" not in text and "@" not in text


def test_the_openapi_document_lists_the_readers_endpoints_and_stays_valid(client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    paths = document["paths"]
    for path in (
        "/api/v1/stream", "/api/v1/stories", "/api/v1/stories/{story_id}/comments",
        "/api/v1/comments/{comment_id}", "/api/v1/comments/{comment_id}/send",
        "/api/v1/comments/{comment_id}/revise", "/api/v1/comments/{comment_id}/reports",
        "/api/v1/counts",
    ):  # fmt: skip
        assert path in paths
    posting = paths["/api/v1/stories/{story_id}/comments"]["post"]["responses"]
    assert {"200", "201", "400", "401", "403", "404", "413", "422", "429"} <= set(posting)
    assert "304" in paths["/api/v1/stream"]["get"]["responses"]


# --- Queries, dates, sanctions --------------------------------------------------------------


class Queries:
    """Counts the SQL statements the requests send (the scoring thread's own are not theirs)."""

    def __init__(self):
        self.count = 0
        self.thread = threading.get_ident()

    def __call__(self, *args):
        if threading.get_ident() == self.thread:
            self.count += 1


def _queries_for(client, story, **kwargs):
    from sqlalchemy import event

    url = f"/api/v1/stories/{story.id}/comments"  # read before counting: the test's own query
    counter = Queries()
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        assert stream(client, **kwargs).status_code == 200
        assert call(client, "GET", url, **kwargs).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    return counter.count


def test_listing_takes_the_same_queries_whatever_the_number_of_comments(client, story):
    def grow(n):
        for i in range(n):
            root = add_comment(story, f"Fil {i}")
            add_comment(story, f"Réponse {i}", parent=root)

    grow(2)
    stream(client)  # the site's settings and story cached alike for both counts
    few = _queries_for(client, story)
    grow(30)
    assert _queries_for(client, story) == few
    few_private = _queries_for(client, story, token="t" * 32)
    grow(10)
    assert _queries_for(client, story, token="t" * 32) == few_private


def test_dates_carry_their_zone_and_a_304_has_no_body(client, story):
    add_comment(story, "Publié")
    answer = stream(client)
    created = answer.get_json()["comments"][0]["created_at"]
    assert created.endswith("+00:00") or created.endswith("Z")
    again = stream(client, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    assert "Content-Type" not in again.headers


def test_a_banned_guest_is_refused(client, story):
    from app.services import readers

    admin = make_user("admin@example.fr", display_name="Admin", role=Role.ADMIN)
    readers.restrict("camille@example.fr", "ban", "Insultes répétées", by=admin)
    assert_error(post(client, story), 403, "restricted", None, "Insultes répétées")
    assert comments_in_db() == []


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/v1/stream", {"url": STORY_URL, "title": "Le\x00budget"}, "title"),
        ("/api/v1/stream", {"url": STORY_URL, "title": "T", "id": "cms\x00"}, "id"),
        ("/api/v1/stories", {"id": "cms\x00"}, "id"),
        ("/api/v1/counts", {"url": [STORY_URL, "x\x00"]}, "url.1"),
    ],
)
def test_a_control_character_in_the_query_is_a_field_error(client, story, path, query, field):
    error = assert_error(call(client, "GET", path, query_string=query), 422, "invalid_field", field)
    assert "caractères de contrôle" in error["message"]


def test_an_impossible_site_name_is_a_field_error(client, site):
    for name in ("jour\x00nal", "x" * 500):
        response = call(
            client,
            "GET",
            "/api/v1/stories",
            origin=None,
            query_string={"url": STORY_URL, "site": name},
        )
        assert_error(response, 422, "invalid_field", "site")
