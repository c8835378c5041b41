"""A comment removed at its author's request: a placeholder where others answered it, gone
otherwise; never counted, answered or reported (services/comments.remove)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from app.actions import AuditAction
from app.extensions import db
from app.models import (
    Article,
    Comment,
    CommentReport,
    CommentStatus,
    ModerationAction,
    RemovedReason,
)
from app.services import comments
from tests.conftest import ARTICLE_URL, POST_URL, add_comment, csrf_token

PLACEHOLDER = "Commentaire supprimé à la demande de son auteur."


def _remove(comment_id: int) -> str:
    comment = db.session.get(Comment, comment_id)
    assert comment is not None
    outcome = comments.remove(comment, RemovedReason.AUTHOR, "lecteur")
    db.session.commit()
    return outcome


def _thread(article: Article) -> tuple[Comment, Comment]:
    root = add_comment(article, body="Texte de Zoé à retirer", author_name="Zoé Martin")
    reply = add_comment(article, body="Réponse de Paul", author_name="Paul", parent=root)
    return root, reply


def test_an_answered_comment_becomes_a_placeholder_holding_its_replies(
    article: Article, client: FlaskClient
) -> None:
    root, reply = _thread(article)
    assert _remove(root.id) == "placeholder"

    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert PLACEHOLDER in page
    assert "Texte de Zoé à retirer" not in page and "Zoé Martin" not in page
    assert "Réponse de Paul" in page
    assert "1 commentaire" in page  # the reply only: a placeholder is never counted

    stored = db.session.get(Comment, root.id)
    assert stored is not None
    assert (stored.body, stored.author_name, stored.author_email) == ("", "", "")
    assert stored.status == CommentStatus.PUBLISHED and stored.removed == "author"
    [row] = db.session.scalars(
        select(ModerationAction).where(ModerationAction.action == AuditAction.REMOVED)
    ).all()
    assert row.comment_id == root.id and row.details == {
        "removed": "author",
        "kept_as": "placeholder",
    }


def test_the_api_shows_the_placeholder_line_and_no_author(
    article: Article, client: FlaskClient
) -> None:
    root, _ = _thread(article)
    _remove(root.id)
    answer = client.get(f"/api/v1/stories/{article.id}/comments")
    assert answer.status_code == 200, answer.get_json()
    [shown] = answer.get_json()["comments"]
    assert shown["removed"] == PLACEHOLDER
    assert (shown["author"]["name"], shown["body"], shown["reportable"]) == ("", "", False)
    assert [r["body"] for r in shown["replies"]] == ["Réponse de Paul"]
    assert answer.get_json()["comments"][0]["replies"][0]["removed"] is None


def test_a_comment_nobody_answered_is_deleted_with_its_reports(
    article: Article, client: FlaskClient
) -> None:
    lone = add_comment(article, body="Seul et sans réponse")
    db.session.add(CommentReport(comment_id=lone.id, reporter_key="session:x", reason="spam"))
    db.session.commit()
    assert _remove(lone.id) == "deleted"
    assert db.session.get(Comment, lone.id) is None
    assert db.session.scalars(select(CommentReport)).all() == []
    [row] = db.session.scalars(
        select(ModerationAction).where(ModerationAction.action == AuditAction.REMOVED)
    ).all()
    assert row.details == {"removed": "author", "kept_as": "deleted", "comment_id": lone.id}
    assert "Seul et sans réponse" not in client.get(ARTICLE_URL).get_data(as_text=True)


def test_a_placeholder_cannot_be_answered_or_reported(
    article: Article, client: FlaskClient
) -> None:
    root, _ = _thread(article)
    _remove(root.id)
    token = csrf_token(client)
    answer = client.post(
        POST_URL,
        data={
            "csrf_token": token,
            "body": "Je réponds au vide",
            "display_name": "Invité",
            "email": "invite@example.org",
            "parent_id": str(root.id),
        },
    )
    assert answer.status_code in {400, 422}
    assert "n’existe pas ou n’est pas publié" in answer.get_data(as_text=True)
    report = client.get(f"{ARTICLE_URL}/commentaires/{root.id}/signaler")
    assert report.status_code == 404


def test_a_placeholder_whose_replies_are_gone_is_not_shown(
    article: Article, client: FlaskClient
) -> None:
    root, reply = _thread(article)
    _remove(root.id)
    _remove(reply.id)  # nobody answered the reply: deleted
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert PLACEHOLDER not in page
