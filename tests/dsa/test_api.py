"""The embed's API: an author's own rejected comment links to its statement of reasons."""

from __future__ import annotations

from app.services import settings
from tests.api.test_stories_api import call, post, site, story  # noqa: F401  (fixtures)


def test_the_authors_rejected_comment_carries_its_signed_statement_link(app, client, story):  # noqa: F811
    settings.set_value("nudge_enabled", False)
    answer = post(client, story, body="Quel connard ce ministre").get_json()
    comment = answer["comment"]
    assert comment["status"] == "rejected"
    url = comment["statement_url"]
    assert url and "/motifs/" in url and "cle=" in url
    # The link opens the statement with no session at all.
    path = url[url.index("/motifs/") :]
    page = app.test_client().get(path)
    assert page.status_code == 200
    assert "Exposé des motifs" in page.get_data(as_text=True)
    # A published comment carries none.
    published = post(client, story, body="Un avis argumenté.").get_json()["comment"]
    assert published["statement_url"] is None
    # Another reader (no token) does not even see the rejected comment.
    assert call(client, "GET", f"/api/v1/comments/{comment['id']}").status_code == 404


def test_the_moderation_api_names_the_ground_of_a_rejection(app, client, article):
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import DsaStatement
    from tests.api.test_moderation_api import assert_error, cli, decide
    from tests.moderation.conftest import held

    result = cli(app, "clients", "create", "cms-moderation", "--scope", "moderation")
    key = result.output.strip().splitlines()[-1]
    comment = held(article)
    body = {"action": "reject", "version": 1, "reason": "insultes", "ground": "tout"}
    assert_error(decide(client, comment.id, body, key), 422, "invalid_field", "ground")
    assert db.session.scalars(sa.select(DsaStatement)).all() == []
    response = decide(client, comment.id, {**body, "ground": "menaces"}, key)
    assert response.status_code == 200, response.get_data(as_text=True)
    [statement] = db.session.scalars(sa.select(DsaStatement)).all()
    assert statement.legal_ground == "menaces"
    assert statement.decided_by == "client:cms-moderation" and statement.decided_by_id is None
