"""Does a sign-in with an unknown address answer as fast as one with a wrong password?

    .venv/bin/python -m bench.signin [--runs 30] [--database-url URL]

Builds a fresh database (a temporary SQLite file by default) with one account, then times
POST /compte/connexion through the app's test client, alternating a wrong password for that
account and an address no account has: median milliseconds of each and their ratio (about 1
when the time tells nothing; before the dummy verification, an unknown address was ~10x faster).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time

from app import create_app
from app.config import testing_config
from app.extensions import db
from app.services import accounts, articles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        config = testing_config(url, f"{tmp}/instance")
        config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)  # time the check only
        app = create_app(config)
        app.logger.setLevel(logging.ERROR)  # one « failed sign-in » line per request
        with app.app_context():
            db.drop_all()
            db.create_all()
            articles.seed()
            accounts.register("Lectrice", "connue@example.fr", "le-bon-mot-de-passe")
            engine_name = db.engine.dialect.name
        client = app.test_client()
        cases = {"wrong password": "connue@example.fr", "unknown address": "inconnue@example.fr"}
        timings: dict[str, list[float]] = {name: [] for name in cases}
        for run in range(args.runs + 2):  # two warm-up rounds
            for name, email in cases.items():
                started = time.perf_counter()
                response = client.post(
                    "/compte/connexion", data={"email": email, "password": "pas-le-bon-123"}
                )
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 422, response.status_code
                if run >= 2:
                    timings[name].append(elapsed)
        wrong = statistics.median(timings["wrong password"])
        unknown = statistics.median(timings["unknown address"])
        print(f"database                 {engine_name}")
        print(f"runs                     {args.runs}")
        print(f"wrong password, median   {wrong:.1f} ms")
        print(f"unknown address, median  {unknown:.1f} ms")
        print(f"ratio unknown / wrong    {unknown / wrong:.2f}")
        with app.app_context():
            db.drop_all()


if __name__ == "__main__":
    main()
