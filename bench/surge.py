"""A surge replayed through the production shape: how the queue grows and drains, how long
readers wait, and when the surge rule fired.

    .venv/bin/python -m bench.surge [--runtime onnx] [--surge 2000] [--clients 48] [--others 4]

Starts the processes of the README's « Production » section (bench/stack.py: gunicorn with two
web processes, one Celery worker, Celery beat, Redis, SQLite or $BENCH_DATABASE_URL) with the
full-size random-weights model of Detoxify's multilingual architecture (bench/model.py; its
int8 ONNX export with ``--runtime onnx``), on the surge rule's defaults (« Règles ›
Afflux »: 50 comments in 10 minutes and 5 × the usual rate). Before it starts, each story
gets a day of past comments (its usual rate), and nudges are off (the bench's readers would
not answer one). Then, as readers would through the article form:

1. ``--calm`` seconds of normal traffic: one comment every 4 s on each of ``--others`` stories
   and on the story about to surge;
2. the surge: ``--surge`` comments on that one story, sent by ``--clients`` readers at once as
   fast as the site takes them, the normal traffic going on;
3. normal traffic again until the queue is empty (at most ``--drain`` seconds).

Then it reads the database as an operator would: per ``--bucket`` seconds, the comments that
came (surging story / others), those decided, and the queue at the end of the bucket; the
readers' wait (submit to decision) by phase and story; how the comments ended (published,
held by the surge rule, held because no score came within SCORING_TIMEOUT_SECONDS…); and
when the surge rule fired, as the journal says. The raw scorer's throughput in the same run is
the baseline for the drain rate. Everything stays on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from bench.comments import length_sample
from bench.common import run_together
from bench.production import model_settings, raw
from bench.stack import CSRF_RE, FORM_TOKEN_RE, Stack

HOT = "raqqa-al-mayadeen"  # the bundled story: the one that surges
COMMENT_ID_RE = re.compile(r"(?:#c|commentaire=)(\d+)")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post(base: str, slug: str, body: str, reader: str) -> tuple[float, int]:
    """Load the story's page and send the form as a new guest: (seconds the POST took, status)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    url = f"{base}/articles/{slug}"
    try:
        with opener.open(url, timeout=60) as page:
            html = page.read().decode()
        form = {
            "csrf_token": CSRF_RE.search(html).group(1),  # type: ignore[union-attr]
            "form_token": FORM_TOKEN_RE.search(html).group(1),  # type: ignore[union-attr]
            "body": body,
            "name": reader,
            "email": f"{reader}@example.fr",
            "parent_id": "",
        }
        started = time.perf_counter()
        opener.open(f"{url}/commentaires", data=urllib.parse.urlencode(form).encode(), timeout=120)
    except urllib.error.HTTPError as error:
        return time.perf_counter() - started, error.code
    except OSError:
        return 0.0, 0
    return time.perf_counter() - started, 200


def add_stories(stack: Stack, others: int, per_day: int) -> list[str]:
    """`others` more stories beside the bundled one, all published two days ago, each with a
    day of past comments (`per_day`, published): their usual rate."""
    engine = sa.create_engine(stack.database_url)
    now = datetime.now(UTC)
    slugs = [f"autre-article-{n + 1}" for n in range(others)]
    texts = length_sample(50, seed=7)
    with engine.begin() as conn:
        meta = sa.MetaData()
        articles = sa.Table("articles", meta, autoload_with=conn)
        comments = sa.Table("comments", meta, autoload_with=conn)
        hot = conn.execute(sa.select(articles).where(articles.c.slug == HOT)).mappings().one()
        for slug in slugs:
            conn.execute(
                articles.insert().values(
                    {
                        **{k: v for k, v in hot.items() if k not in ("id", "slug", "title")},
                        "slug": slug,
                        "title": f"Un autre article ({slug[-1]})",
                    }
                )
            )
        conn.execute(articles.update().values(published_at=now - timedelta(days=2)))
        ids = conn.execute(sa.select(articles.c.id)).scalars().all()
        rows = []
        for article_id in ids:
            for n in range(per_day):
                at = now - timedelta(minutes=11 + (24 * 60 - 12) * n / per_day)
                body = texts[n % len(texts)]
                rows.append({
                    "article_id": article_id, "depth": 0, "author_name": "Habitué",
                    "author_email": f"habitue{n}@example.fr", "body": body,
                    "body_hash": f"{article_id}-{n}", "status": "published",
                    "awaiting_score": False, "created_at": at, "decided_at": at,
                    "version": 1, "reasons": [], "hidden": False, "score_only": False,
                    "nudge_acknowledged": False, "like_count": 0, "scoring_attempts": 0,
                    "revisions": 0, "report_count": 0, "report_weight": 0.0,
                })  # fmt: skip
        conn.execute(comments.insert(), rows)
    engine.dispose()
    return slugs


def traffic(
    base: str, slugs: list[str], stop: threading.Event, texts: list[str], every: float
) -> None:
    """One comment every `every` seconds on each story of `slugs`, until `stop`."""
    n = 0
    while not stop.is_set():
        started = time.monotonic()
        for slug in slugs:
            post(base, slug, texts[n % len(texts)], f"calme{n}")
            n += 1
        stop.wait(max(0.0, every - (time.monotonic() - started)))


def surge(base: str, count: int, clients: int, texts: list[str]) -> None:
    """`count` comments on the hot story from `clients` readers at once, as fast as taken."""
    left = iter(range(count))
    lock = threading.Lock()

    def reader() -> None:
        while True:
            with lock:
                n = next(left, None)
            if n is None:
                return
            post(base, HOT, texts[n % len(texts)], f"afflux{n}")

    run_together([threading.Thread(target=reader) for _ in range(clients)])


def awaiting(stack: Stack) -> int:
    rows = stack.query("SELECT count(*) FROM comments WHERE awaiting_score")
    return int(rows[0][0])


def as_dt(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(p * len(values)) - 1))]


def report(stack: Stack, marks: dict[str, datetime], bucket: int, raw_best: float) -> None:
    hot_id = stack.query(f"SELECT id FROM articles WHERE slug = '{HOT}'")[0][0]
    rows = stack.query(
        "SELECT article_id, created_at, decided_at, status, reasons FROM comments "
        f"WHERE created_at >= '{marks['start'].strftime('%Y-%m-%d %H:%M:%S')}'"
    )
    comments = []
    for article_id, created, decided, status, reasons in rows:
        created = as_dt(created)
        if created < marks["start"]:
            continue
        codes = [
            r.get("code")
            for r in (json.loads(reasons) if isinstance(reasons, str) else reasons or [])
        ]
        comments.append(
            SimpleNamespace(
                hot=article_id == hot_id, created=created,
                decided=as_dt(decided) if decided else None, status=status, codes=codes,
            )
        )  # fmt: skip
    fired = [
        as_dt(at)
        for (at,) in stack.query(
            "SELECT created_at FROM moderation_actions WHERE action = 'surge_started' ORDER BY id"
        )
    ]
    start, end = marks["start"], max([c.decided for c in comments if c.decided] + [marks["end"]])
    print(
        f"\n{'t (s)':>6} {'came: surge':>11} {'others':>7} {'decided':>8} {'queue':>6}  "
        "(queue: came and not yet decided at the end of the bucket)"
    )
    t = start
    while t < end:
        nxt = t + timedelta(seconds=bucket)
        came = [c for c in comments if t <= c.created < nxt]
        decided = sum(1 for c in comments if c.decided and t <= c.decided < nxt)
        queue = sum(
            1 for c in comments if c.created < nxt and (c.decided is None or c.decided >= nxt)
        )
        flag = " <- surge rule fired" if any(t <= f < nxt for f in fired) else ""
        flag += " <- surge starts" if t <= marks["surge"] < nxt else ""
        flag += " <- surge sent" if t <= marks["surge_end"] < nxt else ""
        print(
            f"{(t - start).total_seconds():>6.0f} {sum(c.hot for c in came):>11} "
            f"{sum(not c.hot for c in came):>7} {decided:>8} {queue:>6}{flag}"
        )
        t = nxt
    print("\nReaders' wait, submit to decision (s): p50 / p95 / max")
    phases = (
        ("calm", start, marks["surge"]),
        ("surge", marks["surge"], marks["surge_end"]),
        ("after", marks["surge_end"], end),
    )
    for name, since, until in phases:
        for hot in (True, False):
            waits = [
                (c.decided - c.created).total_seconds()
                for c in comments
                if c.hot is hot and since <= c.created < until and c.decided
            ]
            if waits:
                print(
                    f"  {name:>5}, {'surging story' if hot else 'other stories':<13}: "
                    f"{pct(waits, 0.5):6.1f} / {pct(waits, 0.95):6.1f} / {max(waits):6.1f}  "
                    f"({len(waits)} comments)"
                )
    print("\nHow they ended:")
    for hot in (True, False):
        group = [c for c in comments if c.hot is hot]
        by = {
            "published": sum(c.status == "published" for c in group),
            "held by the surge rule": sum("rule_surge" in c.codes for c in group),
            "held, no score in time": sum("scoring_unavailable" in c.codes for c in group),
            "held or rejected by scores": sum(
                c.status in ("held", "rejected")
                and not {"rule_surge", "scoring_unavailable"} & set(c.codes)
                for c in group
            ),
            "nudged": sum(c.status == "nudged" for c in group),
            "not decided": sum(c.decided is None for c in group),
        }
        print(f"  {'surging story' if hot else 'other stories'} ({len(group)}): " + ", ".join(
            f"{k} {v}" for k, v in by.items()
        ))  # fmt: skip
    if fired:
        first = fired[0]
        before = sum(1 for c in comments if c.hot and marks["surge"] <= c.created <= first)
        print(
            f"\nsurge rule fired {(first - marks['surge']).total_seconds():.1f} s after the surge "
            f"began, after {before} of its comments ({len(fired)} time(s) in all)"
        )
    else:
        print("\nthe surge rule did not fire")
    scored = [c for c in comments if c.decided and "scoring_unavailable" not in c.codes]
    span = (end - start).total_seconds()
    print(
        f"scored and decided: {len(scored)} in {span:.0f} s = {len(scored) / span:.2f}/s; "
        f"raw scorer in the same run: {raw_best:.2f}/s (ratio {len(scored) / span / raw_best:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", default="onnx", choices=("torch", "onnx"))
    parser.add_argument("--surge", type=int, default=2000, help="comments on the surging story")
    parser.add_argument("--clients", type=int, default=48, help="readers posting at once")
    parser.add_argument("--others", type=int, default=4, help="other stories, normal traffic")
    parser.add_argument("--per-day", type=int, default=300, help="past comments per story")
    parser.add_argument("--calm", type=float, default=60, help="seconds of normal traffic first")
    parser.add_argument("--drain", type=float, default=900, help="at most this long after")
    parser.add_argument("--bucket", type=int, default=15, help="seconds per line")
    parser.add_argument("--threads", type=int, default=2, help="model threads")
    args = parser.parse_args()

    settings = model_settings(args.runtime, args.threads)
    texts = length_sample(200, seed=3)
    baseline = raw(settings, texts[:48], args.threads)
    raw_best = max(baseline["by_batch"].values())
    print(f"raw scorer ({args.runtime}): {raw_best:.2f} comments/s at best", flush=True)
    database = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp:
        model = SimpleNamespace(
            checkpoint=settings["DETOXIFY_CHECKPOINT"], hf_config=settings["DETOXIFY_HF_CONFIG"]
        )
        stack = Stack(
            Path(tmp),
            database or f"sqlite:///{Path(tmp) / 'site.db'}",
            model,
            {
                **settings,
                # The production defaults: readers wait 3 s for a decision, a comment with no
                # score after 30 s is held for a moderator; enough web threads for the flood.
                "SCORING_WAIT_SECONDS": "3",
                "SCORING_TIMEOUT_SECONDS": "30",
                "SCORING_LEASE_SECONDS": "60",
                "SCORING_SWEEP_SECONDS": "5",
                "GUNICORN_THREADS": str(max(8, args.clients // 2 + 4)),
                "COMMENT_MAX_LENGTH": "10000",
            },
        )
        try:
            stack.run("db", "upgrade")
            stack.run("seed")
            others = add_stories(stack, args.others, args.per_day)
            # The bench's readers never answer a nudge (and the random model's scores cross
            # the nudge thresholds often): off, so that every comment is decided.
            stack.run("settings", "set", "nudge_enabled", "false")
            stack.start_redis()
            stack.start_worker("worker1")
            stack.start_beat()
            stack.start_web()
            deadline = time.monotonic() + 300
            while stack.ready_workers() < 1 and time.monotonic() < deadline:
                time.sleep(0.5)
            marks = {"start": datetime.now(UTC)}
            stop = threading.Event()
            calm = threading.Thread(
                target=traffic, args=(stack.base, [*others, HOT], stop, texts, 4.0)
            )
            calm.start()
            time.sleep(args.calm)
            marks["surge"] = datetime.now(UTC)
            print(f"surge: {args.surge} comments from {args.clients} readers …", flush=True)
            random.seed(5)
            surge(stack.base, args.surge, args.clients, texts)
            marks["surge_end"] = datetime.now(UTC)
            sent = (marks["surge_end"] - marks["surge"]).total_seconds()
            print(f"  sent in {sent:.0f} s ({args.surge / sent:.1f}/s)", flush=True)
            deadline = time.monotonic() + args.drain
            while awaiting(stack) and time.monotonic() < deadline:
                time.sleep(2)
            stop.set()
            calm.join()
            time.sleep(3)
            marks["end"] = datetime.now(UTC)
            report(stack, marks, args.bucket, raw_best)
        finally:
            # The logs read before the processes stop (their shutdown is no error of the run).
            errors = []
            for name in ("web", "worker1", "beat"):
                path = Path(tmp) / f"{name}.log"
                lines = path.read_text(errors="replace").splitlines() if path.exists() else []
                for n, line in enumerate(lines):
                    if "Traceback" in line:  # the exception's own line ends the traceback
                        end = next((t for t in lines[n + 1 :] if not t.startswith(" ")), "")
                        errors.append(f"{name}: {end}")
                    elif " ERROR" in line:
                        errors.append(f"{name}: {line}")
            stack.close()
            print(f"errors logged: {len(errors)}")
            for line in errors[:10]:
                print("  ", line)


if __name__ == "__main__":
    main()
