"""A reader edits (within EDIT_WINDOW_MINUTES) and deletes their own comment, on the article
page and through the readers' API (issue 15). An edit is scored and decided again, as new, and
moderators see the earlier text; a deletion leaves a placeholder only where others answered.

The tiny model's scores follow trigger words (tests/conftest.py): « connard » is past reject,
« merde » holds; anything else is published."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.actions import AuditAction
from app.extensions import db
from app.models import (
    Article,
    Comment,
    CommentRevision,
    CommentStatus,
    ModerationAction,
    Role,
    utcnow,
)
from app.services import settings, sites
from tests.api.test_stories_api import assert_error, call, post, stream
from tests.conftest import (
    ARTICLE_URL,
    Reader,
    add_comment,
    comments_in_db,
    login,
    make_user,
    simultaneously,
)

EDIT = ARTICLE_URL + "/commentaires/{}/modifier"
DELETE = ARTICLE_URL + "/commentaires/{}/supprimer"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _posted(reader: Reader, body: str = "Le budget est mal ficelé, à mon avis.") -> Comment:
    response = reader.post(body)
    assert response.status_code == 303, response.get_data(as_text=True)
    return comments_in_db()[-1]


def _csrf(client: FlaskClient, url: str) -> str:
    match = CSRF.search(client.get(url).get_data(as_text=True))
    assert match, url
    return match.group(1)


def _edit(client: FlaskClient, comment_id: int, body: str):
    url = EDIT.format(comment_id)
    return client.post(url, data={"csrf_token": _csrf(client, ARTICLE_URL), "body": body})


def _stored(comment_id: int) -> Comment | None:
    db.session.expire_all()  # the requests ran in their own sessions
    return db.session.get(Comment, comment_id)


def test_the_author_edits_their_comment_and_it_is_decided_again(
    client: FlaskClient, reader: Reader
) -> None:
    comment = _posted(reader)
    version = comment.version
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert f'href="{EDIT.format(comment.id)}"' in page
    assert f'href="{DELETE.format(comment.id)}"' in page
    form = client.get(EDIT.format(comment.id)).get_data(as_text=True)
    assert "Le budget est mal ficelé, à mon avis." in form
    assert "Vous pouvez le modifier jusqu’à" in form

    done = _edit(client, comment.id, "Le budget est mal ficelé, je l’ai relu.")
    assert done.status_code == 303
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "je l’ai relu" in page and "(modifié)" in page and "à mon avis" not in page
    stored = _stored(comment.id)
    assert stored is not None and stored.status == CommentStatus.PUBLISHED
    assert stored.edited_at is not None and stored.version > version
    [earlier] = db.session.scalars(sa.select(CommentRevision)).all()
    assert (earlier.body, earlier.status) == ("Le budget est mal ficelé, à mon avis.", "published")
    actions = db.session.scalars(
        sa.select(ModerationAction.action)
        .where(ModerationAction.comment_id == comment.id)
        .order_by(ModerationAction.id)
    ).all()
    assert actions[-2:] == [AuditAction.EDITED, AuditAction.SCORED]

    # As new: an edit past the reject threshold is refused, and no longer shown.
    settings.set_value("nudge_enabled", False)  # else it would be nudged first, as a new one
    refused = _edit(client, comment.id, "Quel connard, ce ministre.")
    assert refused.status_code == 303
    assert _stored(comment.id).status == CommentStatus.REJECTED  # type: ignore[union-attr]
    assert "Quel connard" not in FlaskClient(client.application).get(ARTICLE_URL).get_data(
        as_text=True
    )


def test_moderators_see_the_earlier_texts_on_the_card(
    app, client: FlaskClient, reader: Reader
) -> None:
    settings.set_value("nudge_enabled", False)  # else a comment the model holds is nudged first
    comment = _posted(reader)
    _edit(client, comment.id, "Merde, ce budget est mal ficelé.")  # held by the model
    assert _stored(comment.id).status == CommentStatus.HELD  # type: ignore[union-attr]
    make_user("modo@example.org", role=Role.MODERATOR)
    moderator = app.test_client()
    login(moderator, "modo@example.org")
    card = moderator.get(f"/moderation/commentaires/{comment.id}").get_data(as_text=True)
    assert "Modifié par son auteur le" in card and "1 version précédente" in card
    assert "Le budget est mal ficelé, à mon avis." in card
    journal = moderator.get(f"/moderation/journal?commentaire={comment.id}").get_data(as_text=True)
    assert "Modifié par son auteur" in journal


@pytest.mark.parametrize("config_overrides", [{"EDIT_WINDOW_MINUTES": 10}])
def test_past_the_window_the_comment_can_only_be_deleted(
    client: FlaskClient, reader: Reader
) -> None:
    comment = _posted(reader)
    db.session.execute(
        sa.update(Comment)
        .where(Comment.id == comment.id)
        .values(created_at=utcnow() - timedelta(minutes=11))
    )
    db.session.commit()
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert f'href="{EDIT.format(comment.id)}"' not in page
    assert f'href="{DELETE.format(comment.id)}"' in page
    form = client.get(EDIT.format(comment.id)).get_data(as_text=True)
    assert "le délai de 10 minutes après l’envoi est passé" in form
    refused = _edit(client, comment.id, "Trop tard pour corriger ?")
    assert refused.status_code == 422
    assert "le délai de 10 minutes est passé" in refused.get_data(as_text=True)
    assert _stored(comment.id).body == comment.body  # type: ignore[union-attr]


@pytest.mark.parametrize("config_overrides", [{"EDIT_WINDOW_MINUTES": 0}])
def test_a_window_of_zero_turns_editing_off(client: FlaskClient, reader: Reader) -> None:
    comment = _posted(reader)
    assert f'href="{EDIT.format(comment.id)}"' not in client.get(ARTICLE_URL).get_data(as_text=True)
    assert _edit(client, comment.id, "Une correction.").status_code == 422


def test_nobody_else_edits_or_deletes_a_comment(
    app, client: FlaskClient, reader: Reader, article: Article
) -> None:
    comment = _posted(reader)
    someone = app.test_client()
    page = someone.get(ARTICLE_URL).get_data(as_text=True)
    assert f'href="{EDIT.format(comment.id)}"' not in page
    assert someone.get(EDIT.format(comment.id)).status_code == 404
    assert someone.get(DELETE.format(comment.id)).status_code == 404
    token = _csrf(someone, ARTICLE_URL)
    assert someone.post(DELETE.format(comment.id), data={"csrf_token": token}).status_code == 404
    make_user("autre@example.fr")
    login(someone, "autre@example.fr")
    assert someone.get(EDIT.format(comment.id)).status_code == 404
    assert _stored(comment.id) is not None


def test_deleting_leaves_a_placeholder_only_where_others_answered(
    client: FlaskClient, reader: Reader, article: Article
) -> None:
    answered = _posted(reader, "Premier avis, auquel on répondra.")
    add_comment(article, "Je vous réponds.", parent=answered, author_name="Paul")
    alone = _posted(reader, "Second avis, sans réponse.")
    _edit(client, alone.id, "Second avis, corrigé, sans réponse.")

    confirm = client.get(DELETE.format(answered.id)).get_data(as_text=True)
    assert "Supprimer votre commentaire ?" in confirm and "Premier avis" in confirm
    for comment in (answered, alone):
        done = client.post(
            DELETE.format(comment.id), data={"csrf_token": _csrf(client, DELETE.format(comment.id))}
        )
        assert done.status_code == 303
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Votre commentaire est supprimé." in page
    assert "Commentaire supprimé à la demande de son auteur." in page and "Je vous réponds." in page
    assert "Premier avis" not in page and "Second avis" not in page
    assert _stored(alone.id) is None
    assert db.session.scalars(sa.select(CommentRevision)).all() == []  # earlier texts gone too
    # A placeholder is no one's comment any more: nothing to edit or delete again.
    assert client.get(DELETE.format(answered.id)).status_code == 404


def test_a_delete_without_its_csrf_token_changes_nothing(
    client: FlaskClient, reader: Reader
) -> None:
    comment = _posted(reader)
    response = client.post(DELETE.format(comment.id), data={})
    assert response.status_code in (200, 400)
    assert _stored(comment.id) is not None


# --- The readers' API ---------------------------------------------------------------------------


@pytest.fixture
def story(client, site):
    response = stream(client)
    return db.session.get(Article, response.get_json()["story"]["id"])


@pytest.fixture
def site(app):
    return sites.create("journal", ["https://www.journal.fr"]).site


def test_the_api_edits_and_deletes_the_readers_own_comment(client: FlaskClient, story) -> None:
    answer = post(client, story).get_json()
    token, comment_id = answer["reader_token"], answer["comment"]["id"]
    assert answer["comment"]["editable_until"] is not None
    assert answer["comment"]["edited_at"] is None

    edited = call(client, "PATCH", f"/api/v1/comments/{comment_id}", token=token,
                  body={"body": "Un avis corrigé sur le budget."})  # fmt: skip
    assert edited.status_code == 200, edited.get_data(as_text=True)
    out = edited.get_json()
    assert out["outcome"] == "published"
    assert out["comment"]["body"] == "Un avis corrigé sur le budget."
    assert out["comment"]["edited_at"] is not None

    assert_error(call(client, "PATCH", f"/api/v1/comments/{comment_id}", token=token,
                      body={"body": ""}), 422, "required", "body")  # fmt: skip
    other = post(client, story, body="Un autre lecteur.").get_json()["reader_token"]
    assert_error(call(client, "PATCH", f"/api/v1/comments/{comment_id}", token=other,
                      body={"body": "Pris !"}), 404, "comment_not_found", "comment_id")  # fmt: skip
    assert_error(call(client, "DELETE", f"/api/v1/comments/{comment_id}", token=other),
                 404, "comment_not_found", "comment_id")  # fmt: skip

    db.session.execute(
        sa.update(Comment).where(Comment.id == comment_id)
        .values(created_at=utcnow() - timedelta(hours=1))
    )  # fmt: skip
    db.session.commit()
    assert_error(call(client, "PATCH", f"/api/v1/comments/{comment_id}", token=token,
                      body={"body": "Trop tard."}), 409, "edit_window_over", "body")  # fmt: skip

    gone = call(client, "DELETE", f"/api/v1/comments/{comment_id}", token=token)
    assert gone.status_code == 204
    assert _stored(comment_id) is None
    assert_error(call(client, "DELETE", f"/api/v1/comments/{comment_id}", token=token),
                 404, "comment_not_found", "comment_id")  # fmt: skip


def test_the_same_delete_sent_at_once_removes_once(app, client: FlaskClient, story) -> None:
    answer = post(client, story).get_json()
    token, comment_id = answer["reader_token"], answer["comment"]["id"]

    def delete() -> int:
        return call(app.test_client(), "DELETE", f"/api/v1/comments/{comment_id}",
                    token=token).status_code  # fmt: skip

    statuses = simultaneously([delete] * 8)
    assert sorted(statuses) == [204] + [404] * 7, statuses
    db.session.expire_all()
    removed = db.session.scalars(
        sa.select(ModerationAction).where(ModerationAction.action == AuditAction.REMOVED)
    ).all()
    assert len(removed) == 1 and _stored(comment_id) is None


def test_an_edit_sent_while_the_last_is_checked_is_told_so(client: FlaskClient, story) -> None:
    answer = post(client, story).get_json()
    token, comment_id = answer["reader_token"], answer["comment"]["id"]
    db.session.execute(
        sa.update(Comment).where(Comment.id == comment_id).values(status=CommentStatus.PENDING)
    )
    db.session.commit()
    refused = call(client, "PATCH", f"/api/v1/comments/{comment_id}", token=token,
                   body={"body": "Encore une correction."})  # fmt: skip
    assert_error(refused, 409, "edit_conflict", "body", "en cours de vérification")
