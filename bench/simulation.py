"""How fast is « see before saving »? The admins' simulation and calibration on 10,000 comments.

    .venv/bin/python -m bench.simulation [--comments 10000] [--runs 5] [--database-url URL]

1. The pure computations alone (:mod:`app.simulation`: no Flask, no database): `simulate`
   replaying N comments' stored scores under changed thresholds, and `calibrate` on N moderator
   decisions. Prints the best milliseconds of each.
2. Through the app's HTTP interface, as an admin would: fills a fresh database (a temporary
   SQLite file by default) with N scored, decided comments and N moderator decisions, then
   times POST /admin/seuils (« Simuler » with changed thresholds, replaying all N comments)
   and GET /admin/calibration. Prints the median and best milliseconds of each.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from collections.abc import Mapping

from app import create_app
from app.config import testing_config
from app.extensions import db
from app.models import Article, Comment, CommentScore, ModerationAction, Role, utcnow
from app.policy import Threshold, decide
from app.services import accounts, articles, settings
from app.simulation import APPROVED, REJECTED, Replayed, calibrate, simulate
from bench.common import NoScorer

CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


def fill(n: int) -> None:
    article = db.session.scalar(db.select(Article))
    now = utcnow()
    statuses = ["published", "held", "rejected"]
    db.session.execute(
        Comment.__table__.insert(),
        [dict(article_id=article.id, author_name="a", author_email=f"a{i % 500}@example.fr",
              body=f"Commentaire {i} sur la situation à Raqqa", body_hash="h",
              status=statuses[i % 3], reasons=[], depth=0, created_at=now,
              awaiting_score=False, scoring_attempts=0, nudge_acknowledged=False, version=1,
              report_count=0, hidden=False) for i in range(n)],
    )  # fmt: skip
    ids = db.session.scalars(db.select(Comment.id)).all()
    categories = list(settings.DEFAULT_THRESHOLDS)
    db.session.execute(
        CommentScore.__table__.insert(),
        [dict(comment_id=cid, scores={c: ((cid * (k + 7)) % 100) / 100
                                      for k, c in enumerate(categories)},
              max_score=0.5, model_name="m", model_version="v", windowed=False, scored_at=now)
         for cid in ids],
    )  # fmt: skip
    db.session.execute(
        ModerationAction.__table__.insert(),
        [dict(comment_id=cid, actor="Modo", action="approved" if cid % 3 else "rejected",
              created_at=now) for cid in ids],
    )  # fmt: skip
    db.session.commit()


def timed(call, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return statistics.median(times), min(times)


def bench_pure(n: int, runs: int) -> None:
    """`simulate` and `calibrate` on N made-up comments and decisions, best of `runs`."""
    categories = tuple(settings.DEFAULT_THRESHOLDS)
    rng = random.Random(42)
    old = {c: Threshold(0.5, 0.9) for c in categories}
    new = {c: Threshold(0.4, 0.8) for c in categories}
    comments: list[Replayed] = []
    decisions: list[tuple[Mapping[str, float] | None, str]] = []
    for i in range(n):
        scores = None if i % 200 == 0 else {c: rng.random() ** 4 for c in categories}
        outcome = decide(scores, old).outcome.value
        comments.append(Replayed(i, scores, outcome, (), f"Commentaire {i}"))
        human = REJECTED if outcome != "publish" and rng.random() < 0.7 else APPROVED
        decisions.append((scores, human))
    for name, run in (
        ("simulate", lambda: simulate(comments, new)),
        ("calibrate", lambda: calibrate(decisions)),
    ):
        best = float("inf")
        for _ in range(runs):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        print(f"{name + ' alone (ms)':<25}best {best * 1000:.1f}")


def bench_pages(n: int, runs: int, database_url: str | None) -> None:
    """The two admin pages, through the HTTP interface, on N stored comments."""
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        app = create_app(testing_config(url, f"{tmp}/instance"), scorer=NoScorer())
        with app.app_context():
            db.drop_all()
            db.create_all()
            articles.seed()
            settings.ensure_defaults()
            accounts.register("Admin", "admin@example.fr", "motdepasse-solide", Role.ADMIN)
            fill(n)
        client = app.test_client()
        page = client.get("/compte/connexion").get_data(as_text=True)
        client.post("/compte/connexion", data={"csrf_token": CSRF.search(page).group(1),
                    "email": "admin@example.fr", "password": "motdepasse-solide"})  # fmt: skip
        token = CSRF.search(client.get("/admin/seuils").get_data(as_text=True)).group(1)
        form = {"csrf_token": token, "action": "simuler", "n": str(n)}
        for category, values in settings.DEFAULT_THRESHOLDS.items():
            form[f"{category}-enabled"] = "on"
            for name, value in values.items():
                form[f"{category}-{name}"] = str(min(1.0, value + 0.1))
        sim = timed(lambda: client.post("/admin/seuils", data=form), runs)
        cal = timed(lambda: client.get("/admin/calibration"), runs)
        print(f"simulation page (ms)     median {sim[0]:.0f}   best {sim[1]:.0f}")
        print(f"calibration page (ms)    median {cal[0]:.0f}   best {cal[1]:.0f}")
        with app.app_context():
            db.drop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    print(f"comments replayed        {args.comments}")
    bench_pure(args.comments, args.runs)
    bench_pages(args.comments, args.runs, args.database_url)


if __name__ == "__main__":
    main()
