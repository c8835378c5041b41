"""Each site rule's effect on new comments, through the reader's form."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import CommentStatus, utcnow
from app.services import settings
from tests.conftest import ARTICLE_URL, comments_in_db, login, make_user


@pytest.fixture(autouse=True)
def _no_nudge(app):
    settings.set_value("nudge_enabled", False)


def _codes(comment):
    return [r["code"] for r in comment.reasons]


def test_premoderate_all(app, reader):
    settings.set_value("premoderate_all", True)
    reader.post(body="Un avis très correct")
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.HELD
    assert _codes(comment) == ["rule_premoderate_all"]


def test_premoderate_links(app, reader):
    settings.set_value("premoderate_links", True)
    reader.post(body="Sans lien, tout va bien")
    reader.post(body="Voir https://exemple.fr/article pour plus", email="b@example.fr")
    reader.post(body="Ou www.exemple.com aussi", email="c@example.fr")
    statuses = [(c.status, _codes(c)) for c in comments_in_db()]
    assert statuses == [
        (CommentStatus.PUBLISHED, []),
        (CommentStatus.HELD, ["rule_links"]),
        (CommentStatus.HELD, ["rule_links"]),
    ]


def test_premoderate_first_comments_of_a_new_reader(app, reader):
    settings.set_value("premoderate_first_n", 1)
    reader.post(body="Mon tout premier commentaire")
    first = comments_in_db()[0]
    assert first.status == CommentStatus.HELD and _codes(first) == ["rule_new_reader"]
    first.status = CommentStatus.PUBLISHED  # a moderator approved it
    db.session.commit()
    reader.post(body="Mon deuxième commentaire")
    assert comments_in_db()[1].status == CommentStatus.PUBLISHED


def test_guests_may_be_required_to_sign_in(app, client, reader):
    settings.set_value("guests_allowed", False)
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Pour publier un commentaire," in page and 'name="email"' not in page
    response = reader.post(body="Invité")
    assert response.status_code == 403
    assert "Connectez-vous ou créez un compte pour publier un commentaire." in (
        response.get_data(as_text=True)
    )
    assert comments_in_db() == []  # nothing stored, not even as pending
    with client.session_transaction() as cookie:
        assert "guest_token" not in cookie  # a refused guest is given no guest identity
    make_user(email="abonne@example.fr")
    login(client, "abonne@example.fr")
    assert reader.post(body="Abonné", name=None, email=None).status_code == 303


def test_maximum_length_set_by_the_admin(app, reader):
    settings.set_value("max_comment_length", 100)
    response = reader.post(body="x" * 101)
    assert response.status_code == 422
    assert "le maximum est de 100" in response.get_data(as_text=True)
    assert reader.post(body="x" * 100).status_code == 303


def test_rate_limit_set_by_the_admin(app, reader):
    settings.set_value("comment_rate_limit", "2 per minute")
    assert [reader.post(body=f"c{i}", email=f"r{i}@example.fr").status_code
            for i in range(3)] == [303, 303, 429]  # fmt: skip


def test_article_settings(app, reader, article):
    article.premoderated = True
    db.session.commit()
    reader.post(body="Sur un article sensible")
    assert _codes(comments_in_db()[0]) == ["rule_article_premoderated"]
    article.premoderated = False
    article.close_after_days = 3
    article.published_at = utcnow() - timedelta(days=4)
    db.session.commit()
    response = reader.post(body="Trop tard", email="late@example.fr")
    assert response.status_code == 403
    assert "Les commentaires sont fermés pour cet article." in response.get_data(as_text=True)
