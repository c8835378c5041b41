"""Readers: ban, suspend, « toujours pré-modérer » — each with a reason, each reversible."""

from __future__ import annotations

from app.extensions import db
from app.models import Comment, CommentStatus, ReaderRestriction
from app.services import settings
from tests.conftest import ARTICLE_URL, add_comment, comments_in_db
from tests.moderation.conftest import token


def _sanction(client, email, kind, reason="Insultes répétées", days=None, **extra):
    data = {"csrf_token": token(client), "email": email, "kind": kind, "reason": reason, **extra}
    if days is not None:
        data["days"] = days
    return client.post("/moderation/lecteurs/sanctions", data=data)


def test_reader_page_shows_their_comments(app, article, mod_client):
    add_comment(article, "Premier avis")
    add_comment(article, "Second avis", status=CommentStatus.REJECTED)
    page = mod_client.get("/moderation/lecteurs?email=dominique@example.fr").get_data(as_text=True)
    assert "Premier avis" in page and "Second avis" in page
    assert "Aucune sanction en cours." in page


def test_banned_guest_cannot_post_and_is_told_why(app, mod_client, reader):
    assert _sanction(mod_client, "Camille@Example.fr", "ban").status_code == 303
    response = reader.post(body="Je reviens", email="camille@example.fr")
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "n’est plus autorisé à publier de commentaires" in page
    assert "Insultes répétées" in page
    assert "Je reviens" in page  # the text is kept
    assert comments_in_db() == []


def test_suspension_lasts_its_days(app, mod_client, reader):
    _sanction(mod_client, "camille@example.fr", "suspend", days=7)
    page = reader.post(body="Pendant", email="camille@example.fr").get_data(as_text=True)
    assert "votre participation est suspendue jusqu’au" in page
    restriction = db.session.query(ReaderRestriction).one()
    from datetime import timedelta

    restriction.until = restriction.until - timedelta(days=8)  # time passes
    db.session.commit()
    assert reader.post(body="Après", email="camille@example.fr").status_code == 303


def test_suspension_needs_a_duration_and_every_sanction_a_reason(app, mod_client):
    _sanction(mod_client, "x@example.fr", "suspend", days="")
    page = mod_client.get("/moderation/lecteurs?email=x@example.fr").get_data(as_text=True)
    assert "Indiquez une durée de suspension" in page
    _sanction(mod_client, "x@example.fr", "ban", reason=" ")
    page = mod_client.get("/moderation/lecteurs?email=x@example.fr").get_data(as_text=True)
    assert "Indiquez le motif de la sanction." in page
    assert db.session.query(ReaderRestriction).count() == 0


def test_premoderated_reader_comments_are_held(app, mod_client, reader):
    settings.set_value("nudge_enabled", False)
    _sanction(mod_client, "camille@example.fr", "premoderate")
    reader.post(body="Un avis tout à fait correct", email="camille@example.fr")
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.HELD
    assert [r["code"] for r in comment.reasons] == ["reader_premoderated"]


def test_sanctions_are_lifted(app, mod_client, reader):
    _sanction(mod_client, "camille@example.fr", "ban")
    restriction = db.session.query(ReaderRestriction).one()
    response = mod_client.post(
        f"/moderation/lecteurs/sanctions/{restriction.id}/lever",
        data={"csrf_token": token(mod_client), "email": "camille@example.fr"},
    )
    assert response.status_code == 303
    assert reader.post(body="De retour", email="camille@example.fr").status_code == 303
    again = mod_client.post(
        f"/moderation/lecteurs/sanctions/{restriction.id}/lever",
        data={"csrf_token": token(mod_client), "email": "camille@example.fr"},
    )
    page = mod_client.get(again.headers["Location"]).get_data(as_text=True)
    assert "Cette sanction a déjà été levée." in page


def test_a_banned_account_is_refused_too(app, mod_client, client, reader):
    from tests.conftest import login, make_user

    account = make_user(email="abonne@example.fr")
    _sanction(mod_client, "abonne@example.fr", "ban", compte=account.id)
    login(client, "abonne@example.fr")
    response = reader.post(body="Encore moi", name=None, email=None)
    assert response.status_code == 403
    assert db.session.query(Comment).count() == 0
    assert ARTICLE_URL
