"""Posting comments: Modération with a model that costs nothing, beside Isso 0.14 (no model).

    .venv/bin/python -m bench.post_vs_isso [--posts 100] [--clients 8] [--concurrent 200]

What one comment costs the app itself, outside the model: ours scores every comment with the
tests' tiny checkpoint (bench/tiny_checkpoints.py: a real Detoxify-format model through the
production loader, about a millisecond a call), Isso 0.14.0 stores without scoring. Both run
under gunicorn on loopback, one process of 4 threads, each on its own SQLite file: ours as
`wsgi:app` with the thread backend (the embedded defaults: the comment is stored, queued,
scored and decided before the answer), Isso its `isso.run` app with its guard and moderation
off (its guard allows 2 comments a minute per address). Each post is a new guest's comment
through the JSON API a page's script calls — ours `POST /api/v1/stories/{id}/comments`
(`{"body", "name", "email"}`), Isso `POST /new?uri=…` (`{"text", "author", "email"}`) — on a
kept-alive connection, the clock around sending it and reading the answer.

It prints, for each side and as ratios (ours / Isso), never a pass or a fail:
- one post at a time (`--posts`, the two sides taking turns): p50 and p95 milliseconds;
- `--clients` posters at once, `--concurrent` posts in all: comments per second.

Timings compare only within one run (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from bench.api_vs_isso import (
    ISSO_CONFIG,
    ISSO_VERSION,
    Client,
    Gunicorn,
    base_env,
    isso_python,
)
from bench.comments import comments as french_comments
from bench.perspective import Server, percentile
from bench.tiny_checkpoints import build_word_checkpoint

ORIGIN = "https://www.journal.fr"
ISSO_URI = "/societe/article-du-jour.html"
THREADS = 4

Post = Callable[[Client, int], int]
# Ours is called as a CMS's server calls it (no Origin: the default site); Isso as its embed.
OURS_ORIGIN, ISSO_ORIGIN = "", ORIGIN


def ours(folder: Path) -> tuple[Server, Post]:
    """Our site (thread backend, the tiny model), seeded; a function posting comment n."""
    model = build_word_checkpoint(folder / "tiny-model", triggers={"connard": {"insult": 0.95}})
    env = base_env()
    env.update(
        APP_ENV="development",
        SECRET_KEY="bench",
        DATABASE_URL=f"sqlite:///{folder / 'ours.db'}",
        SCORING_BACKEND="thread",
        DETOXIFY_CHECKPOINT=str(model.checkpoint),
        DETOXIFY_HF_CONFIG=str(model.hf_config),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        COMMENT_RATE_LIMIT="1000000 per minute",
        DUPLICATE_WINDOW_MINUTES="0",
        COMMENT_MAX_LENGTH="10000",  # the bench's longest comments, as Isso takes them
        PYTHONUNBUFFERED="1",
    )
    server = Server(folder, env, THREADS)
    server.flask("db", "upgrade")
    server.flask("seed")
    server.start()
    with sqlite3.connect(folder / "ours.db") as db:
        [(story,)] = db.execute("SELECT id FROM articles ORDER BY id LIMIT 1").fetchall()
    path = f"/api/v1/stories/{story}/comments"
    texts = french_comments(2000, 5)

    def post(client: Client, n: int) -> int:
        body = {"body": f"{texts[n % len(texts)]} ({n})", "name": f"Lecteur {n}",
                "email": f"lecteur{n}@example.fr"}  # fmt: skip
        status, _, _ = client.call("POST", path, json.dumps(body).encode(),
                                   {"Content-Type": "application/json"})  # fmt: skip
        return status

    return server, post


def isso(folder: Path) -> tuple[Gunicorn, Post]:
    """Isso 0.14 on its own SQLite file, guard and moderation off; a function posting n."""
    python = isso_python()
    folder.mkdir(parents=True)
    config = ISSO_CONFIG.format(db=folder / "isso.db", origin=ORIGIN) + "[guard]\nenabled = false\n"
    (folder / "isso.cfg").write_text(config)
    env = {
        "PATH": base_env().get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "ISSO_SETTINGS": str(folder / "isso.cfg"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),  # bench.isso_wsgi, sqlcount
        "PYTHONUNBUFFERED": "1",
    }
    server = Gunicorn(folder, env, python.parent / "gunicorn", "bench.isso_wsgi:application",
                      folder)  # fmt: skip
    server.start()
    path = "/new?uri=" + urllib.parse.quote(ISSO_URI)
    texts = french_comments(2000, 5)

    def post(client: Client, n: int) -> int:
        body = {"text": f"{texts[n % len(texts)]} ({n})", "author": f"Lecteur {n}",
                "email": f"lecteur{n}@example.fr", "title": "Article du jour"}  # fmt: skip
        status, _, _ = client.call("POST", path, json.dumps(body).encode(),
                                   {"Content-Type": "application/json"})  # fmt: skip
        return status

    return server, post


def one_at_a_time(sides: list[tuple[int, str, Post]], posts: int) -> list[list[float]]:
    """Milliseconds of each post, the sides taking turns; statuses checked (201)."""
    clients = [Client(port, origin) for port, origin, _ in sides]
    timings: list[list[float]] = [[] for _ in sides]
    for n in range(posts):
        for index, (_, _, post) in enumerate(sides):
            started = time.perf_counter()
            status = post(clients[index], 100_000 * (index + 1) + n)
            timings[index].append((time.perf_counter() - started) * 1000)
            if status != 201:
                raise SystemExit(f"side {index}: post {n} answered {status}")  # no silent skip
    return timings


def at_once(port: int, origin: str, post: Post, clients: int, total: int, first: int) -> float:
    """Comments per second with `clients` posters sharing `total` posts."""
    failures: list[int] = []

    def poster(share: range) -> None:
        client = Client(port, origin)
        for n in share:
            status = post(client, n)
            if status != 201:
                failures.append(status)

    shares = [range(first + i, first + total, clients) for i in range(clients)]
    threads = [threading.Thread(target=poster, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} posts failed: {sorted(set(failures))}")
    return total / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100, help="one at a time, per side")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--concurrent", type=int, default=200, help="posts by the --clients")
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        our_server, our_post = ours(folder / "ours")
        isso_server, isso_post = isso(folder / "isso")
        try:
            sides = [(our_server.port, OURS_ORIGIN, our_post),
                     (isso_server.port, ISSO_ORIGIN, isso_post)]  # fmt: skip
            one_at_a_time(sides, args.warmup)
            ours_ms, isso_ms = one_at_a_time(sides, args.posts)
            ours_rate = at_once(our_server.port, OURS_ORIGIN, our_post, args.clients,
                                args.concurrent, 10**6)  # fmt: skip
            isso_rate = at_once(isso_server.port, ISSO_ORIGIN, isso_post, args.clients,
                                args.concurrent, 10**6)  # fmt: skip
        finally:
            our_server.stop()
            isso_server.stop()
    print(f"Modération (thread backend, tiny model) vs Isso {ISSO_VERSION} (no model); gunicorn, "
          f"1 process x {THREADS} threads each, SQLite")  # fmt: skip
    print(f"{'':<34} {'ours':>9} {'Isso':>9} {'ours/Isso':>10}")
    rows = [
        ("one post at a time, p50 ms", statistics.median(ours_ms), statistics.median(isso_ms)),
        ("one post at a time, p95 ms", percentile(ours_ms, 95), percentile(isso_ms, 95)),
        (f"{args.clients} posters at once, comments/s", ours_rate, isso_rate),
    ]
    for label, mine, theirs in rows:
        print(f"{label:<34} {mine:>9.1f} {theirs:>9.1f} {mine / theirs:>10.2f}")


if __name__ == "__main__":
    main()
