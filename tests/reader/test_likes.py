"""« J'aime » (issue 15): once per reader or browser, never on one's own comment, a count, the
sort « les plus appréciés »; on the page and through the readers' API."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Article, Comment, CommentLike, CommentStatus
from app.services import likes, sites
from app.services.comments import Viewer
from tests.api.test_stories_api import assert_error, call, post, stream
from tests.conftest import (
    ARTICLE_URL,
    Reader,
    add_comment,
    comments_in_db,
    make_user,
    simultaneously,
)

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LIKE = ARTICLE_URL + "/commentaires/{}/aimer"


def _like(client: FlaskClient, comment_id: int, **extra: str):
    token = CSRF.search(client.get(ARTICLE_URL).get_data(as_text=True))
    assert token
    return client.post(LIKE.format(comment_id), data={"csrf_token": token.group(1), **extra})


def _count(comment_id: int) -> int:
    db.session.expire_all()
    comment = db.session.get(Comment, comment_id)
    assert comment is not None
    return comment.like_count


def _button(page: str, comment_id: int) -> str:
    match = re.search(
        rf'action="{re.escape(LIKE.format(comment_id))}".*?<button[^>]*>([^<]*)</button>',
        page,
        re.S,
    )
    assert match, page
    return match.group(0)


def test_a_guest_likes_once_takes_it_back_and_the_count_follows(
    client: FlaskClient, article: Article
) -> None:
    comment = add_comment(article, "Un avis que l’on aime.")
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert 'aria-pressed="false"' in _button(page, comment.id)

    assert _like(client, comment.id).status_code == 303
    assert _count(comment.id) == 1
    button = _button(client.get(ARTICLE_URL).get_data(as_text=True), comment.id)
    assert 'aria-pressed="true"' in button and "J’aime · 1" in button

    _like(client, comment.id)  # the same button again: taken back
    assert _count(comment.id) == 0
    _like(client, comment.id)
    other = client.application.test_client()
    _like(other, comment.id)
    assert _count(comment.id) == 2
    assert len(db.session.scalars(sa.select(CommentLike)).all()) == 2


def test_nobody_likes_their_own_comment_or_an_unpublished_one(
    client: FlaskClient, reader: Reader, article: Article
) -> None:
    reader.post("Mon propre avis, publié.")
    own = comments_in_db()[-1]
    assert f'action="{LIKE.format(own.id)}"' not in client.get(ARTICLE_URL).get_data(as_text=True)
    _like(client, own.id)
    assert _count(own.id) == 0
    assert "ne peut pas être aimé" in client.get(ARTICLE_URL).get_data(as_text=True)
    held = add_comment(article, "Retenu", status=CommentStatus.HELD)
    assert _like(client, held.id).status_code == 404


def test_two_clicks_at_once_count_once(app, article: Article) -> None:
    comment = add_comment(article, "Un avis très aimé.")
    user_id = make_user("fan@example.fr").id

    def click() -> int:
        with app.app_context():
            found = db.session.get(Comment, comment.id)
            assert found is not None
            return likes.like(found, Viewer(user_id=user_id), "127.0.0.1")

    # None refused or failed (each returns the count it read: on SQLite a click that lost the
    # race may read it before the winner's commit); one like, counted once.
    assert None not in simultaneously([click, click, click])
    assert _count(comment.id) == 1
    assert len(db.session.scalars(sa.select(CommentLike)).all()) == 1


def test_the_most_liked_come_first(client: FlaskClient, article: Article) -> None:
    quiet = add_comment(article, "Un avis discret.")
    loved = add_comment(article, "Un avis très apprécié.")
    liked_once = add_comment(article, "Un avis apprécié une fois.")
    for n in range(3):
        _like(client.application.test_client(), loved.id)
        if n == 0:
            _like(client.application.test_client(), liked_once.id)
    page = client.get(ARTICLE_URL + "?tri=apprecies").get_data(as_text=True)
    assert 'aria-current="true">les plus appréciés' in page
    order = [page.index(text) for text in ("très apprécié", "apprécié une fois", "discret")]
    assert order == sorted(order), order
    assert quiet.id


# --- The readers' API ---------------------------------------------------------------------------


@pytest.fixture
def site(app):
    return sites.create("journal", ["https://www.journal.fr"]).site


@pytest.fixture
def story(client, site):
    return db.session.get(Article, stream(client).get_json()["story"]["id"])


def test_the_api_likes_unlikes_and_sorts(client: FlaskClient, story) -> None:
    first = post(client, story, body="Premier avis.").get_json()
    second = post(client, story, body="Second avis.").get_json()
    assert first["comment"]["likes"] == 0 and first["comment"]["liked"] is False

    # A visitor with no token gets one with their first like.
    liked = call(client, "POST", f"/api/v1/comments/{first['comment']['id']}/like")
    assert liked.status_code == 200, liked.get_data(as_text=True)
    answer = liked.get_json()
    assert answer["likes"] == 1 and answer["liked"] is True and answer["reader_token"]
    token = answer["reader_token"]
    again = call(client, "POST", f"/api/v1/comments/{first['comment']['id']}/like", token=token)
    assert again.get_json() == {"likes": 1, "liked": True, "reader_token": None}

    # Their own comment: refused.
    assert_error(
        call(client, "POST", f"/api/v1/comments/{second['comment']['id']}/like",
             token=second["reader_token"]),
        409, "not_likeable",
    )  # fmt: skip

    threads = call(client, "GET", f"/api/v1/stories/{story.id}/comments?sort=liked&limit=1",
                   token=token).get_json()  # fmt: skip
    assert [c["body"] for c in threads["comments"]] == ["Premier avis."]
    assert threads["comments"][0]["liked"] is True and threads["comments"][0]["likes"] == 1
    rest = call(client, "GET", f"/api/v1/stories/{story.id}/comments?sort=liked&limit=1"
                f"&cursor={threads['next_cursor']}").get_json()  # fmt: skip
    assert [c["body"] for c in rest["comments"]] == ["Second avis."]
    assert rest["comments"][0]["liked"] is False  # public answer

    gone = call(client, "DELETE", f"/api/v1/comments/{first['comment']['id']}/like", token=token)
    assert gone.get_json()["likes"] == 0 and gone.get_json()["liked"] is False
    assert_error(call(client, "POST", "/api/v1/comments/999999/like"), 404, "comment_not_found",
                 "comment_id")  # fmt: skip


def test_likes_on_a_comment_later_hidden_stop_counting(
    client: FlaskClient, article: Article
) -> None:
    """A comment hidden by reports, then rejected: neither it nor its likes are shown, it
    leaves the sort, and it cannot be liked any more."""
    loved = add_comment(article, "Un avis très apprécié, puis signalé.")
    other = add_comment(article, "Un avis apprécié une fois.")
    for _ in range(3):
        assert _like(client.application.test_client(), loved.id).status_code == 303
    _like(client.application.test_client(), other.id)
    first = client.get(ARTICLE_URL + "?tri=apprecies").get_data(as_text=True)
    assert first.index("puis signalé") < first.index("apprécié une fois")
    for change in ({"hidden": True}, {"hidden": False, "status": CommentStatus.REJECTED}):
        db.session.execute(sa.update(Comment).where(Comment.id == loved.id).values(**change))
        db.session.commit()
        page = client.get(ARTICLE_URL + "?tri=apprecies").get_data(as_text=True)
        assert "puis signalé" not in page and "apprécié une fois" in page
        assert LIKE.format(loved.id) not in page
        stranger = client.application.test_client()
        refused = _like(stranger, loved.id)
        if change["hidden"]:  # still published: told on the page it goes back to
            assert likes.NOT_LIKEABLE in stranger.get(ARTICLE_URL).get_data(as_text=True)
        else:
            assert refused.status_code == 404
        assert _count(loved.id) == 3  # kept, should a moderator publish it again
