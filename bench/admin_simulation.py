"""How fast is « see before saving »? The admins' simulation and calibration on 10,000 comments.

    python bench/admin_simulation.py [--comments 10000] [--runs 5]

Fills a fresh database (a temporary SQLite file by default) with N scored, decided comments
and N moderator decisions, then times, through the app's HTTP interface as an admin would,
POST /admin/seuils (« Simuler » with changed thresholds, replaying all N comments) and
GET /admin/calibration. Prints the median and best milliseconds of each.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app  # noqa: E402
from app.config import testing_config  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Article, Comment, CommentScore, ModerationAction, Role, utcnow  # noqa: E402
from app.services import accounts, articles, settings  # noqa: E402
from bench.common import NoScorer  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        app = create_app(testing_config(url, f"{tmp}/instance"), scorer=NoScorer())
        with app.app_context():
            db.drop_all()
            db.create_all()
            articles.seed()
            settings.ensure_defaults()
            accounts.register("Admin", "admin@example.fr", "motdepasse-solide", Role.ADMIN)
            fill(args.comments)
        client = app.test_client()
        page = client.get("/compte/connexion").get_data(as_text=True)
        client.post("/compte/connexion", data={"csrf_token": CSRF.search(page).group(1),
                    "email": "admin@example.fr", "password": "motdepasse-solide"})  # fmt: skip
        token = CSRF.search(client.get("/admin/seuils").get_data(as_text=True)).group(1)
        form = {"csrf_token": token, "action": "simuler", "n": str(args.comments)}
        for category, values in settings.DEFAULT_THRESHOLDS.items():
            form[f"{category}-enabled"] = "on"
            for name, value in values.items():
                form[f"{category}-{name}"] = str(min(1.0, value + 0.1))
        sim = timed(lambda: client.post("/admin/seuils", data=form), args.runs)
        cal = timed(lambda: client.get("/admin/calibration"), args.runs)
        print(f"comments replayed        {args.comments}")
        print(f"simulation page (ms)     median {sim[0]:.0f}   best {sim[1]:.0f}")
        print(f"calibration page (ms)    median {cal[0]:.0f}   best {cal[1]:.0f}")
        with app.app_context():
            db.drop_all()


if __name__ == "__main__":
    main()
