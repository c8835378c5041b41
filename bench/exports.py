"""How fast are the exports, and does their memory stay flat as the site grows?

    .venv/bin/python -m bench.exports [--sizes 5000 50000] [--per-story 1000] [--database URL]

For each size: a fresh database (SQLite in a temporary folder, or an empty database URL you
give) gets that many comments, `--per-story` on each story, each with a score row and two
audit rows; then `export json` and `export wxr` write to a sink that only counts characters.
Printed per export: comments per second (a timed pass), megabytes written, and the peak of
Python's allocations during a second pass (tracemalloc, which slows it), with the ratio of the
largest size's peak to the smallest's: a streamed export keeps it near 1 while the file grows
tenfold (what it holds at once is one page of COMMENT_PAGE comments).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from app import create_app
from app.config import testing_config
from app.extensions import db
from app.models import Article, Comment, CommentScore, ModerationAction, utcnow
from app.services import exports, sites
from app.services.comments import body_hash
from bench.common import NoScorer

BODY = "Un avis argumenté sur le budget, avec des chiffres & des « guillemets ». " * 3


class Sink:
    """A text file that keeps nothing: counts the characters written."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def fill(comments: int, stories: int) -> None:
    site = sites.create("bench", ["https://www.journal.fr"]).site
    now = utcnow()
    for s in range(stories):
        sites.ensure_story(site, f"https://www.journal.fr/article-{s}", f"Article {s}")
    story_ids = list(db.session.scalars(select(Article.id).where(Article.site_id == site.id)))
    rows, scores, actions = [], [], []
    for i in range(comments):
        created = now - timedelta(minutes=comments - i)
        rows.append(
            {"id": i + 1, "article_id": story_ids[i % stories], "author_name": f"Lecteur {i}",
             "author_email": f"lecteur{i}@example.fr", "body": BODY, "body_hash": body_hash(BODY),
             "status": "published", "created_at": created, "decided_at": created,
             "awaiting_score": False, "reasons": []}
        )  # fmt: skip
        scores.append(
            {"comment_id": i + 1, "scores": {"toxicity": 0.1, "insult": 0.05}, "max_score": 0.1,
             "model_name": "detoxify", "model_version": "bench", "scored_at": created}
        )  # fmt: skip
        for action in ("submitted", "scored"):
            actions.append(
                {"comment_id": i + 1, "actor": "modèle", "action": action,
                 "from_status": "pending", "to_status": "published", "created_at": created}
            )  # fmt: skip
    for table, values in ((Comment, rows), (CommentScore, scores), (ModerationAction, actions)):
        for start in range(0, len(values), 5000):
            db.session.execute(insert(table), values[start : start + 5000])
    db.session.commit()


def measure(write: Callable[[Any], exports.Counts]) -> tuple[float, int, int, int]:
    """Seconds, comments written, characters written (a timed pass); peak bytes allocated
    (a second pass under tracemalloc)."""
    sink = Sink()
    started = time.perf_counter()
    counts = write(sink)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    write(Sink())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, counts.comments, sink.size, peak


def run(size: int, per_story: int, database: str | None) -> dict[str, tuple[float, int, int, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database or f"sqlite:///{tmp}/bench.db"
        app = create_app(testing_config(url, f"{tmp}/instance"), scorer=NoScorer())  # type: ignore[arg-type]
        with app.app_context():
            db.drop_all()
            db.create_all()
            fill(size, max(1, size // per_story))
            site = sites.get("bench")
            assert site is not None
            results = {
                "json": measure(lambda out: exports.write_json(out, site)),
                "wxr": measure(lambda out: exports.write_wxr(site, out)),
            }
            db.session.remove()
            db.drop_all()
            db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--per-story", type=int, default=1000)
    parser.add_argument("--database", help="an empty database URL (default: SQLite, temporary)")
    args = parser.parse_args()
    peaks: dict[str, list[int]] = {"json": [], "wxr": []}
    print(
        f"{'export':<6} {'comments':>9} {'seconds':>8} {'comments/s':>11} {'MB out':>7} "
        f"{'peak MB':>8}"
    )
    for size in args.sizes:
        results = run(size, args.per_story, args.database)
        for kind, (seconds, written, chars, peak) in results.items():
            peaks[kind].append(peak)
            print(
                f"{kind:<6} {written:>9} {seconds:>8.2f} {written / seconds:>11.0f} "
                f"{chars / 1e6:>7.1f} {peak / 1e6:>8.2f}"
            )
    for kind, values in peaks.items():
        ratio = values[-1] / values[0]
        print(f"{kind}: peak at {args.sizes[-1]} / peak at {args.sizes[0]} = {ratio:.2f}")


if __name__ == "__main__":
    main()
