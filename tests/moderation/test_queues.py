"""The queues: counts, sorting, filters, search, and what a card shows."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import CommentReport, CommentStatus, utcnow
from tests.conftest import add_comment
from tests.moderation.conftest import card_ids, held


def test_queues_show_their_counts(app, article, mod_client):
    held(article, "a")
    held(article, "b")
    add_comment(article, "publié")
    add_comment(article, "rejeté", status=CommentStatus.REJECTED)
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    for slug, count in (("a-moderer", 2), ("signales", 0), ("rejetes", 1), ("approuves", 1),
                        ("tous", 4)):  # fmt: skip
        assert f'data-count="{slug}">{count}</span>' in page


def test_each_queue_holds_its_comments(app, article, mod_client):
    h = held(article, "tenu")
    p = add_comment(article, "publié")
    r = add_comment(article, "rejeté", status=CommentStatus.REJECTED)
    flagged = add_comment(article, "signalé", flagged_at=utcnow(), report_count=3)
    expected = {
        "a-moderer": [h.id],
        "rejetes": [r.id],
        "approuves": sorted([p.id, flagged.id], reverse=True),
        "signales": [flagged.id],
        "tous": [flagged.id, r.id, p.id, h.id],
    }
    for queue, ids in expected.items():
        page = mod_client.get(f"/moderation/file/{queue}").get_data(as_text=True)
        assert card_ids(page) == ids, queue


def test_sorts(app, article, mod_client):
    old = held(article, "ancien", score=0.55)
    mid = held(article, "toxique", score=0.95)
    new = held(article, "récent", score=0.6)
    base = utcnow()
    for offset, comment in ((-3, old), (-2, mid), (-1, new)):
        comment.created_at = base + timedelta(hours=offset)
        comment.decided_at = base + timedelta(hours=offset)
    db.session.commit()
    url = "/moderation/file/a-moderer?tri="
    assert card_ids(mod_client.get(url + "recents").get_data(as_text=True)) == [
        new.id,
        mid.id,
        old.id,
    ]
    assert card_ids(mod_client.get(url + "anciens").get_data(as_text=True)) == [
        old.id,
        mid.id,
        new.id,
    ]
    assert card_ids(mod_client.get(url + "toxiques").get_data(as_text=True)) == [
        mid.id,
        new.id,
        old.id,
    ]
    assert card_ids(mod_client.get(url + "attente").get_data(as_text=True)) == [
        old.id,
        mid.id,
        new.id,
    ]


def test_filters_by_article_reason_category_and_text(app, article, mod_client):
    from app.models import Article

    other = Article(slug="autre", title="Autre article", photo_credit=None, body=[], credits=[])
    db.session.add(other)
    db.session.commit()
    insult = held(article, "Quel idiot")
    elsewhere = held(other, "Ailleurs")
    unscored = add_comment(
        article, "Sans score", status=CommentStatus.HELD,
        reasons=[{"code": "scoring_unavailable", "detail": "model down"}],
    )  # fmt: skip
    base = "/moderation/file/a-moderer"
    get = lambda q: card_ids(mod_client.get(base + q).get_data(as_text=True))  # noqa: E731
    assert get(f"?article={other.id}") == [elsewhere.id]
    assert get("?raison=scoring_unavailable") == [unscored.id]
    assert get("?categorie=insult") == [elsewhere.id, insult.id]
    assert get("?q=IDIOT") == [insult.id]
    assert get("?q=100%25") == []  # LIKE wildcards are searched literally


def test_card_shows_everything_a_moderator_needs(app, article, mod_client):
    parent = add_comment(article, "Le commentaire parent")
    comment = held(article, "<b>Réponse</b> idiote", parent=parent, author_name="Paul")
    add_comment(article, "Un autre de Dominique")  # the author's history: published
    add_comment(article, "Refusé de Dominique", status=CommentStatus.REJECTED)
    db.session.add(
        CommentReport(
            comment_id=comment.id,
            reporter_key="session:x",
            reason="insulte",
            note="vraiment limite",
        )  # fmt: skip
    )
    db.session.commit()
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert "&lt;b&gt;Réponse&lt;/b&gt; idiote" in page  # escaped
    assert "En réponse à <bdi>Dominique</bdi>" in page and "Le commentaire parent" in page
    assert "Paul" in page and "dominique@example.fr" in page
    assert "2 publiés, 1 rejetés" in page  # the author's history (by address)
    assert "insultes : score 0,70 ≥ seuil de modération 0,50" in page  # the reason, in words
    assert 'class="score__hold" x1="50.0"' in page and 'class="score__reject" x1="90.0"' in page
    assert 'class="score__fill" x="0" y="0" width="70.0"' in page
    assert "Insulte</strong> — vraiment limite" in page
    assert 'href="/moderation/lecteurs?email=dominique@example.fr"' in page


def test_news_endpoint_counts_new_arrivals(app, article, mod_client):
    first = held(article, "premier")
    data = mod_client.get(f"/moderation/file/a-moderer/nouveaux?depuis={first.id}").get_json()
    assert data["new"] == 0 and data["counts"]["a-moderer"] == 1
    held(article, "second")
    data = mod_client.get(f"/moderation/file/a-moderer/nouveaux?depuis={first.id}").get_json()
    assert data["new"] == 1 and data["counts"]["a-moderer"] == 2


def test_unknown_queue_is_404(mod_client):
    assert mod_client.get("/moderation/file/nimporte").status_code == 404


def test_queue_page_costs_a_fixed_number_of_queries(app, article, mod_client):
    import threading

    import sqlalchemy as sa

    def count():
        statements = []
        me = threading.get_ident()

        def record(*args):
            if threading.get_ident() == me:
                statements.append(args[2])

        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            mod_client.get("/moderation/file/a-moderer")
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        return len(statements)

    held(article, "un")
    few = count()
    for i in range(20):
        held(article, f"c{i}")
    assert count() == few
