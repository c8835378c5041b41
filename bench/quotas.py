"""What does the atomic posting quota cost, and does it hold? Memory and Redis storage.

    .venv/bin/python -m bench.quotas [--hits 5000] [--threads 20] [--redis redis://127.0.0.1:6379/10]

For each storage: the median microseconds of one quota hit (two keys: the reader and the
address, each an atomic increment-and-compare) and of a hit given back, then N threads
taking the same reader's quota at once under a limit of 5: how many got through (must be 5).
Keys live under a fresh prefix and expire by themselves; nothing else in the storage is touched.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid

from app import create_app
from app.config import testing_config
from app.extensions import db
from app.services import quotas, settings
from bench.common import NoScorer, run_together


def run(storage: str, hits: int, threads: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = testing_config(f"sqlite:///{tmp}/bench.db", f"{tmp}/instance")
        config.update(RATELIMIT_STORAGE_URI=storage, RATELIMIT_KEY_PREFIX=uuid.uuid4().hex)
        app = create_app(config, scorer=NoScorer())
        with app.app_context():
            db.create_all()
            settings.ensure_defaults()
            settings.set_value("comment_rate_limit", f"{hits * 2} per hour")
            took, given = [], []
            for i in range(hits):
                started = time.perf_counter()
                taken = quotas.take_post(f"user:{i % 50}", "203.0.113.7")
                took.append(time.perf_counter() - started)
                started = time.perf_counter()
                taken.give_back()
                given.append(time.perf_counter() - started)
            settings.set_value("comment_rate_limit", "5 per minute")
            barrier = threading.Barrier(threads)
            passed: list[bool] = []

            def one() -> None:
                with app.app_context():
                    barrier.wait()
                    try:
                        quotas.take_post("user:burst", None)
                        passed.append(True)
                    except quotas.QuotaExceeded:
                        passed.append(False)

            run_together([threading.Thread(target=one) for _ in range(threads)])
            print(
                f"{storage:32} hit {statistics.median(took) * 1e6:7.1f} µs  "
                f"give back {statistics.median(given) * 1e6:7.1f} µs  "
                f"burst of {threads}: {sum(passed)} passed (limit 5)"
            )
            db.session.remove()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/10")
    args = parser.parse_args()
    for storage in ("memory://", args.redis):
        run(storage, args.hits, args.threads)


if __name__ == "__main__":
    main()
