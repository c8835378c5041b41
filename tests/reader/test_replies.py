"""Replies: threaded under their parent, three levels shown, deeper ones at the third."""

from __future__ import annotations

import re

from app.models import CommentStatus
from tests.conftest import ARTICLE_URL, add_comment, comments_in_db


def _depth_of(page: str, comment_id: int) -> int:
    match = re.search(
        rf'class="comment comment--depth-(\d)[^"]*">\s*<article id="c{comment_id}"', page
    )
    assert match, f"comment {comment_id} not on the page"
    return int(match.group(1))


def test_every_published_comment_offers_reply(client, article):
    root = add_comment(article, "Racine")
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert (
        f'href="/articles/raqqa-al-mayadeen?repondre={root.id}&amp;tri=recents#formulaire"' in page
    )
    form = client.get(f"{ARTICLE_URL}?repondre={root.id}").get_data(as_text=True)
    assert f'name="parent_id" type="hidden" value="{root.id}"' in form
    assert "En réponse à" in form


def test_reply_is_threaded_under_its_parent(client, reader, article):
    root = add_comment(article, "Racine")
    response = reader.post(body="Ma réponse", parent_id=root.id)
    assert response.status_code == 303
    reply = comments_in_db()[-1]
    assert (reply.parent_id, reply.thread_id, reply.depth) == (root.id, root.id, 1)
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert _depth_of(page, reply.id) == 1
    assert page.index(f'id="c{root.id}"') < page.index(f'id="c{reply.id}"')


def test_three_levels_shown_deeper_replies_attach_to_the_third(client, reader, article):
    level0 = add_comment(article, "Niveau 0")
    level1 = add_comment(article, "Niveau 1", parent=level0)
    level2 = add_comment(article, "Niveau 2", parent=level1)
    reader.post(body="Niveau 3 demandé", parent_id=level2.id)
    deeper = comments_in_db()[-1]
    assert deeper.parent_id == level2.id  # the true target is kept
    assert deeper.depth == 2 and deeper.thread_id == level0.id
    deeper.status = CommentStatus.PUBLISHED
    from app.extensions import db

    db.session.commit()
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert [_depth_of(page, c.id) for c in (level0, level1, level2, deeper)] == [0, 1, 2, 2]


def test_reply_to_missing_or_unpublished_comment_is_refused(client, reader, article):
    held = add_comment(article, "En attente", status=CommentStatus.HELD)
    for parent in (99999, held.id, "abc"):
        response = reader.post(body="Réponse orpheline", parent_id=parent)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert "Le commentaire auquel vous répondez n’existe pas" in page
        assert "Réponse orpheline" in page  # the reader's text is kept
    assert len(comments_in_db()) == 1


def test_reply_to_a_hidden_comment_is_refused_as_the_page_shows_it(client, reader, article):
    hidden = add_comment(article, "Signalé et masqué", hidden=True)
    page = client.get(f"{ARTICLE_URL}?repondre={hidden.id}").get_data(as_text=True)
    assert "Le commentaire auquel vous répondez n’existe pas ou n’est pas publié." in page
    response = reader.post(body="Réponse au masqué", parent_id=hidden.id)
    assert response.status_code == 422
    assert "Le commentaire auquel vous répondez n’existe pas" in response.get_data(as_text=True)
    assert [c.body for c in comments_in_db()] == ["Signalé et masqué"]


def test_reply_to_a_comment_of_another_article_is_refused(app, reader, article):
    from app.extensions import db
    from app.models import Article

    other = Article(slug="autre", title="Autre", photo_credit=None, body=[], credits=[])
    db.session.add(other)
    db.session.commit()
    foreign = add_comment(other, "Ailleurs")
    response = reader.post(body="Réponse", parent_id=foreign.id)
    assert response.status_code == 422
    assert len(comments_in_db()) == 1
