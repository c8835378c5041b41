"""What do Flask-Babel's formatters cost a page? One date, one score, one plural, per call.

    .venv/bin/python -m bench.formatting [--calls 20000]

Times app.formatting's `when` (« 4 décembre 2026 à 20:22 »), `score` (« 0,60 ») and `ngettext`
inside a French request, against the hand-made f-string date the templates used before, and
prints microseconds per call and the ratio. An article page formats one date per comment.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import Babel

from app import formatting

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")  # fmt: skip


def _per_call(fn: object, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20000)
    calls = parser.parse_args().calls
    app = Flask(__name__)
    app.config.update(BABEL_DEFAULT_LOCALE="fr", BABEL_DEFAULT_TIMEZONE="Europe/Paris")
    Babel(app)
    value = datetime(2026, 12, 4, 19, 22, tzinfo=UTC)
    zone = ZoneInfo("Europe/Paris")

    def by_hand() -> str:
        local = value.astimezone(zone)
        return f"{local.day} {MONTHS[local.month - 1]} {local.year} à {local:%H:%M}"

    with app.test_request_context("/"):
        rows = {
            "date, by hand (before)": lambda: by_hand(),
            "date, formatting.when": lambda: formatting.when(value),
            "score, '%.2f'": lambda: f"{0.6:.2f}",
            "score, formatting.score": lambda: formatting.score(0.6),
            "plural, formatting.ngettext": lambda: formatting.ngettext("%(num)s a", "%(num)s b", 3),
        }
        results = {name: _per_call(fn, calls) for name, fn in rows.items()}
    for name, micro in results.items():
        print(f"{name:<30} {micro:8.2f} µs/call")
    before, after = results["date, by hand (before)"], results["date, formatting.when"]
    print(f"date ratio (Babel / by hand): {after / before:.1f}×; "
          f"20 comments: {20 * after / 1000:.2f} ms a page")  # fmt: skip


if __name__ == "__main__":
    main()
