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
