"""Sorting, pagination and the constant number of SQL queries behind the article page."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Comment, CommentStatus, utcnow
from tests.conftest import ARTICLE_URL, add_comment, login, make_user


@pytest.fixture
def config_overrides():
    return {"COMMENTS_PER_PAGE": 5}


def _bulk(article, count, replies_each=0):
    """Insert many published comments quickly, with increasing timestamps."""
    start = utcnow() - timedelta(days=1)
    roots = [
        Comment(
            article_id=article.id, author_name=f"Auteur {i}", author_email="a@example.fr",
            body=f"Commentaire numéro {i:04d}", body_hash=str(i), status=CommentStatus.PUBLISHED,
            awaiting_score=False,
            created_at=start + timedelta(seconds=i),
        )
        for i in range(count)
    ]  # fmt: skip
    db.session.add_all(roots)
    db.session.flush()
    for root in roots:
        for j in range(replies_each):
            db.session.add(
                Comment(
                    article_id=article.id, parent_id=root.id, thread_id=root.id, depth=1,
                    author_name="R", author_email="r@example.fr", body=f"Réponse {root.id}-{j}",
                    body_hash="r", status=CommentStatus.PUBLISHED,
            awaiting_score=False,
                    created_at=root.created_at + timedelta(minutes=j + 1),
                )
            )  # fmt: skip
    db.session.commit()


def test_newest_first_by_default_and_oldest_on_request(client, article):
    _bulk(article, 3)
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert page.index("numéro 0002") < page.index("numéro 0001") < page.index("numéro 0000")
    page = client.get(ARTICLE_URL + "?tri=anciens").get_data(as_text=True)
    assert page.index("numéro 0000") < page.index("numéro 0001") < page.index("numéro 0002")


def test_long_threads_paginate_with_voir_plus(client, article):
    _bulk(article, 12)
    first = client.get(ARTICLE_URL + "?tri=anciens").get_data(as_text=True)
    assert "12 commentaires" in first
    assert first.count('class="comment comment--depth-0') == 5
    assert "Voir plus de commentaires" in first
    assert 'href="/articles/raqqa-al-mayadeen?tri=anciens&amp;page=2#commentaires"' in first
    third = client.get(ARTICLE_URL + "?tri=anciens&page=3").get_data(as_text=True)
    assert third.count('class="comment comment--depth-0') == 2
    assert "numéro 0011" in third and "Voir plus de commentaires" not in third


def _count_queries(app, client, url):
    statements: list[str] = []
    me = threading.get_ident()

    def record(conn, cursor, statement, *args):
        if threading.get_ident() == me:  # not the scoring worker's own queries
            statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return statements


@pytest.mark.parametrize("signed_in", [False, True])
def test_article_page_costs_a_constant_number_of_queries(app, client, article, signed_in):
    if signed_in:
        make_user(email="q@example.fr")
        login(client, "q@example.fr")
    add_comment(article, "seul")
    few = _count_queries(app, client, ARTICLE_URL)
    _bulk(article, 60, replies_each=3)
    many = _count_queries(app, client, ARTICLE_URL)
    assert len(many) == len(few), many
    # The story, the reader, the roots, their replies, the count, the settings, the featured
    # ones, and, for a reader who may have liked some (an account, or a guest's browser),
    # which ones; for an account, its warnings not yet acknowledged (« Avertir »).
    assert len(many) <= (9 if signed_in else 7), "\n".join(s[:90] for s in many)
