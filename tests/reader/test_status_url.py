"""The status answer polled by the article page links to where the comment is shown."""

from __future__ import annotations

from app.models import CommentStatus
from tests.conftest import ARTICLE_URL, comments_in_db


def _status(client, comment):
    return client.get(f"{ARTICLE_URL}/commentaires/{comment.id}/statut").get_json()


def test_a_published_comment_links_to_itself(client, reader):
    reader.post(body="Un avis mesuré")
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.PUBLISHED
    assert _status(client, comment)["url"] == f"{ARTICLE_URL}#c{comment.id}"


def test_a_nudged_comment_links_to_its_form_with_no_empty_parameter(client, reader):
    reader.post(body="Quel idiot ce ministre")
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.NUDGED
    answer = _status(client, comment)
    assert answer["url"] == f"{ARTICLE_URL}?commentaire={comment.id}#formulaire"
