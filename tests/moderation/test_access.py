"""Access rules: every staff page and action, for every role (a table, every cell tested)."""

from __future__ import annotations

import pytest

from app.models import Role
from tests.conftest import add_comment, csrf_token, login, make_user

# (method, url, staff-only?) -- {id} is a comment's id
PAGES = [
    ("GET", "/moderation/", "moderation"),
    ("GET", "/moderation/file/a-moderer", "moderation"),
    ("GET", "/moderation/file/signales", "moderation"),
    ("GET", "/moderation/file/rejetes", "moderation"),
    ("GET", "/moderation/file/approuves", "moderation"),
    ("GET", "/moderation/file/tous", "moderation"),
    ("GET", "/moderation/file/a-moderer/nouveaux", "moderation"),
    ("GET", "/moderation/commentaires/{id}", "moderation"),
    ("GET", "/moderation/lecteurs?email=x@example.fr", "moderation"),
    ("GET", "/moderation/journal", "moderation"),
    ("GET", "/moderation/journal?format=csv", "moderation"),
    ("GET", "/moderation/coral", "moderation"),
    ("GET", "/moderation/dsa", "moderation"),
    ("GET", "/moderation/dsa/{notice}", "moderation"),
    ("POST", "/moderation/dsa/{notice}/decision", "moderation"),
    ("GET", "/moderation/reclamations", "moderation"),
    ("POST", "/moderation/commentaires/{id}/decision", "moderation"),
    ("POST", "/moderation/decisions", "moderation"),
    ("POST", "/moderation/lecteurs/sanctions", "moderation"),
    ("POST", "/moderation/lecteurs/sanctions/1/lever", "moderation"),
    ("POST", "/moderation/lecteurs/avertissements", "moderation"),
    ("POST", "/moderation/commentaires/{id}/avertir", "moderation"),
    ("POST", "/moderation/reclamations/1", "moderation"),
    ("GET", "/moderation/lecteurs/donnees?email=x@example.fr", "moderation"),
    ("POST", "/moderation/lecteurs/effacer", "admin"),
    ("POST", "/moderation/commentaires/{id}/selection", "moderation"),
    ("POST", "/moderation/articles/{article}/afflux/fin", "moderation"),
    ("GET", "/admin/essai", "admin"),
    ("POST", "/admin/essai", "admin"),
    ("POST", "/admin/essai/arreter", "admin"),
    ("POST", "/admin/essai/promouvoir", "admin"),
    ("POST", "/admin/essai/modele-serveur", "admin"),
]

ROLES = ["anonymous", Role.READER, Role.MODERATOR, Role.ADMIN]


def _client_as(app, role):
    client = app.test_client()
    if role != "anonymous":
        make_user(email=f"{role}@example.fr", role=role)
        login(client, f"{role}@example.fr")
    return client


def _notice(comment):
    """A notice of illegal content on `comment` (« Signalements (DSA) »)."""
    from app.extensions import db
    from app.models import DsaNotice

    notice = DsaNotice(
        reference="DSA-TEST-0001", comment_id=comment.id, location=f"/articles/x#c{comment.id}",
        explanation="Un propos illicite.", category="STATEMENT_CATEGORY_VIOLENCE",
        notifier_name="Claude", notifier_email="claude@example.org", good_faith=True,
    )  # fmt: skip
    db.session.add(notice)
    db.session.commit()
    return notice


@pytest.mark.parametrize(("method", "url", "area"), PAGES, ids=[f"{m} {u}" for m, u, _ in PAGES])
@pytest.mark.parametrize("role", ROLES, ids=str)
def test_access_table(app, article, method, url, area, role):
    comment = add_comment(article, "Un commentaire")
    notice = _notice(comment)
    client = _client_as(app, role)
    target = url.format(id=comment.id, notice=notice.id, article=article.id)
    if method == "GET":
        response = client.get(target)
    else:
        data = {"csrf_token": csrf_token(client), "version": "1"}
        response = client.post(target, data=data)
    if role == "anonymous":
        assert response.status_code == 302
        assert "/compte/connexion" in response.headers["Location"]
    elif role == Role.READER:
        assert response.status_code == 403
        assert "réservée à l’équipe de modération" in response.get_data(as_text=True)
    elif area == "admin" and role == Role.MODERATOR:
        assert response.status_code == 403
    else:  # moderators and admins get through (a page, or a redirect after an action)
        assert response.status_code in (200, 302, 303, 422), response.get_data(as_text=True)[:500]
        assert "/compte/connexion" not in response.headers.get("Location", "")


def test_every_moderation_route_is_in_the_table(app):
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/moderation")}
    covered = {
        url.split("?")[0].replace("{id}", "<id:comment_id>").replace("/1/", "/<id:restriction_id>/")
        for _, url, _ in PAGES
    }
    covered = {c.replace("/file/a-moderer", "/file/<queue>") for c in covered}
    covered = {c.replace("{notice}", "<id:notice_id>") for c in covered}
    covered = {c.replace("{article}", "<id:article_id>") for c in covered}
    covered |= {"/moderation/file/<queue>/nouveaux"}
    covered = {c.replace("/reclamations/1", "/reclamations/<id:complaint_id>") for c in covered}
    assert routes <= covered, routes - covered


def test_actions_refuse_a_missing_csrf_token(app, article):
    comment = add_comment(article, "x")
    make_user(email="m@example.fr", role=Role.MODERATOR)
    client = app.test_client()
    login(client, "m@example.fr")
    response = client.post(
        f"/moderation/commentaires/{comment.id}/decision", data={"action": "approve", "version": 1}
    )
    assert response.status_code == 400


def test_failed_sign_ins_are_slowed_down_and_logged(app, caplog):
    make_user(email="m@example.fr", role=Role.MODERATOR)
    client = app.test_client()
    statuses = [
        login(client, "m@example.fr", "mauvais-mot-de-passe").status_code for _ in range(11)
    ]
    assert statuses[:10] == [422] * 10
    assert statuses[10] == 429
    # The address typed is personal data: the log names it by a keyed hash only.
    from app.privacy import pseudonym

    assert "m@example.fr" not in caplog.text
    assert f"failed sign-in for address {pseudonym('M@example.fr ')} from" in caplog.text
