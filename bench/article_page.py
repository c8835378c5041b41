"""How fast is the article page with 5,000 comments on it?

    .venv/bin/python -m bench.article_page [--comments 5000] [--runs 50] [--database-url URL]

Builds a fresh database (a temporary SQLite file by default), loads the article and N
published comments (a third of them replies), then times GET /articles/<slug> through the
app's test client: median and p95 milliseconds, and the SQL queries per page.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta

import sqlalchemy as sa

from app import create_app
from app.config import testing_config
from app.extensions import db
from app.models import Article, Comment, CommentStatus, utcnow
from app.services import articles


def fill(article: Article, count: int) -> None:
    start = utcnow() - timedelta(days=2)
    roots = count * 2 // 3
    rows = [
        Comment(
            article_id=article.id, author_name=f"Lecteur {i}", author_email="l@example.fr",
            body=f"Commentaire {i} : " + "un avis argumenté sur l’article. " * 6,
            body_hash=str(i), status=CommentStatus.PUBLISHED,
            awaiting_score=False,
            created_at=start + timedelta(seconds=i),
        )
        for i in range(roots)
    ]  # fmt: skip
    db.session.add_all(rows)
    db.session.flush()
    for i in range(count - roots):
        parent = rows[i % roots]
        db.session.add(
            Comment(
                article_id=article.id, parent_id=parent.id, thread_id=parent.id, depth=1,
                author_name="Réponse", author_email="r@example.fr", body="Je ne suis pas d’accord.",
                body_hash="r", status=CommentStatus.PUBLISHED,
            awaiting_score=False,
                created_at=parent.created_at + timedelta(minutes=1 + i),
            )
        )  # fmt: skip
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        app = create_app(testing_config(url, f"{tmp}/instance"))
        with app.app_context():
            db.drop_all()
            db.create_all()
            articles.seed()
            article = db.session.scalar(sa.select(Article))
            fill(article, args.comments)
            slug = article.slug
            engine = db.engine
        client = app.test_client()
        queries: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", lambda *a: queries.append(a[2]))
        client.get(f"/articles/{slug}")  # warm up templates and connections
        queries.clear()
        client.get(f"/articles/{slug}")
        per_page = len(queries)
        timings = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(f"/articles/{slug}")
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        timings.sort()
        p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
        print(f"database            {engine.dialect.name}")
        print(f"comments            {args.comments}")
        print(f"queries per page    {per_page}")
        print(f"median ms           {statistics.median(timings):.1f}")
        print(f"p95 ms              {p95:.1f}")
        print(f"pages per second    {1000 / statistics.mean(timings):.0f}")
        with app.app_context():
            db.drop_all()


if __name__ == "__main__":
    main()
