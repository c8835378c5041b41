"""The « reformuler » loop is bounded: rewrites count against the posting limit, are capped per
comment, and keep the comment's first date (so that the nudge expires on time)."""

from __future__ import annotations

from app.models import Comment, CommentStatus, as_utc
from app.services import settings
from tests.conftest import ARTICLE_URL, CSRF_RE, comments_in_db


def _nudged(client, reader):
    response = reader.post(body="Quel idiot ce ministre")
    assert response.status_code == 303
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.NUDGED
    return comment


def _revise(client, comment, body):
    page = client.get(f"{ARTICLE_URL}?commentaire={comment.id}").get_data(as_text=True)
    url = f"{ARTICLE_URL}/commentaires/{comment.id}/reviser"
    return client.post(url, data={"csrf_token": CSRF_RE.search(page).group(1), "body": body})


def test_rewrites_are_capped_and_the_comment_stays_nudged(client, reader):
    comment = _nudged(client, reader)
    for i in range(Comment.MAX_REVISIONS):
        assert _revise(client, comment, f"Quel idiot, version {i}").status_code == 303
        assert comments_in_db()[0].status == CommentStatus.NUDGED

    response = _revise(client, comment, "Quel idiot, une fois de plus")

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Vous avez déjà reformulé ce commentaire 3 fois." in page
    assert "Envoyer tel quel" in page  # still possible: a moderator will read it
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.NUDGED
    assert comment.body == "Quel idiot, version 2"
    assert comment.revisions == Comment.MAX_REVISIONS


def test_a_rewrite_keeps_the_first_date(client, reader):
    comment = _nudged(client, reader)
    first = as_utc(comment.created_at)
    _revise(client, comment, "Quel idiot, autrement dit")
    assert as_utc(comments_in_db()[0].created_at) == first


def test_rewrites_count_against_the_posting_limit(app, client, reader):
    settings.set_value("comment_rate_limit", "3 per minute")
    comment = _nudged(client, reader)  # 1
    assert _revise(client, comment, "Quel idiot, bis").status_code == 303  # 2
    assert _revise(client, comment, "Quel idiot, ter").status_code == 303  # 3

    response = _revise(client, comment, "Quel idiot, quater")

    assert response.status_code == 429
    assert "Vous avez envoyé trop de commentaires" in response.get_data(as_text=True)
    assert "Quel idiot, quater" in response.get_data(as_text=True)  # the text is given back
    assert comments_in_db()[0].body == "Quel idiot, ter"
