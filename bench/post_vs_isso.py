"""Posting comments: Modération with a model that costs nothing, beside Isso 0.14 (no model).

    .venv/bin/python -m bench.post_vs_isso [--posts 100] [--clients 8] [--concurrent 200]
                                           [--postgres URL]

What one comment costs the app itself, outside the model: ours scores every comment with the
tests' tiny checkpoint (bench/tiny_checkpoints.py: a real Detoxify-format model through the
production loader), exported by `flask model export --runtime auto` as a site does it and run
by the runtime that export chose (ONNX Runtime: about 0.7 ms a call; torch takes 1.5 ms and
hands the interpreter's lock back and forth at every layer), Isso 0.14.0 stores without
scoring. Both run under gunicorn on loopback, one process of 4 threads: ours as `wsgi:app`
with the thread backend (the embedded defaults: the comment is stored, scored and decided
before the answer) on its SQLite file and, when PostgreSQL answers at `--postgres` (default:
the local server's `postgres` database, in a schema of its own dropped at the end; '' to
skip), on PostgreSQL too; Isso, which knows only SQLite, its `isso.run` app with its guard and
moderation off (its guard allows 2 comments a minute per address). Each post is a new guest's
comment through the JSON API a page's script calls — ours `POST /api/v1/stories/{id}/comments`
(`{"body", "name", "email"}`), Isso `POST /new?uri=…` (`{"text", "author", "email"}`) — on a
kept-alive connection, the clock around sending it and reading the answer.

It prints, for each side and as ratios (ours / Isso), never a pass or a fail:
- one post at a time (`--posts`, the sides taking turns): p50 and p95 milliseconds;
- `--clients` posters at once, `--concurrent` posts in all: comments per second.

Timings compare only within one run (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from bench.api_vs_isso import (
    ISSO_CONFIG,
    ISSO_VERSION,
    Client,
    Gunicorn,
    base_env,
    isso_python,
)
from bench.comments import comments as french_comments
from bench.common import run_together
from bench.perspective import Server, percentile
from bench.stack import Stack
from bench.tiny_checkpoints import build_word_checkpoint

ORIGIN = "https://www.journal.fr"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ISSO_URI = "/societe/article-du-jour.html"
THREADS = 4

Post = Callable[[Client, int], int]
# Ours is called as a CMS's server calls it (no Origin: the default site); Isso as its embed.
OURS_ORIGIN, ISSO_ORIGIN = "", ORIGIN


def runtime(folder: Path) -> str:
    """The runtime `model export --runtime auto` chose for our side's tiny model."""
    chosen = json.loads((folder / "tiny-model-export" / "runtime.json").read_text())
    return str(chosen["runtime"])


def ours(folder: Path, database_url: str | None = None) -> tuple[Server, Post]:
    """Our site (thread backend, the tiny model exported as a site does it, run by the runtime
    the export chose) on its SQLite file or `database_url`, seeded; a function posting n."""
    model = build_word_checkpoint(folder / "tiny-model", triggers={"connard": {"insult": 0.95}})
    env = base_env()
    env.update(
        APP_ENV="development",
        SECRET_KEY="bench",
        DATABASE_URL=database_url or f"sqlite:///{folder / 'ours.db'}",
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
    env["DETOXIFY_ONNX_DIR"] = str(folder / "tiny-model-export")
    server = Server(folder, env, THREADS)
    # As a site sets its model up (README « Modèle »): exported, and the runtime the export
    # timed fastest here (runtime.json) chosen by the default DETOXIFY_RUNTIME=auto.
    server.flask("model", "export", "--runtime", "auto")
    server.flask("db", "upgrade")
    server.flask("seed")
    server.start()
    return server, poster(env["DATABASE_URL"])


def poster(database_url: str) -> Post:
    """A function posting comment n as a new guest through our JSON API, to the first story."""
    engine = sa.create_engine(database_url)
    with engine.connect() as db:
        story = db.execute(sa.text("SELECT id FROM articles ORDER BY id LIMIT 1")).scalar_one()
    engine.dispose()
    path = f"/api/v1/stories/{story}/comments"
    texts = french_comments(2000, 5)

    def post(client: Client, n: int) -> int:
        body = {"body": f"{texts[n % len(texts)]} ({n})", "name": f"Lecteur {n}",
                "email": f"lecteur{n}@example.fr"}  # fmt: skip
        status, _, _ = client.call("POST", path, json.dumps(body).encode(),
                                   {"Content-Type": "application/json"})  # fmt: skip
        return status

    return post


class Production:
    """Our production shape (bench/stack.py, as the README's « Production » runs it: its own
    Redis, `gunicorn wsgi:app` with WEB_CONCURRENCY=2 processes of GUNICORN_THREADS=8, one
    Celery worker with one model thread, beat) with the tiny model exported as above."""

    def __init__(self, folder: Path, database_url: str) -> None:
        folder.mkdir(parents=True)
        model = build_word_checkpoint(folder / "tiny-model", triggers={"connard": {"insult": 0.95}})
        settings = {
            "DETOXIFY_ONNX_DIR": str(folder / "tiny-model-export"),
            "COMMENT_RATE_LIMIT": "1000000 per minute",
            "COMMENT_MAX_LENGTH": "10000",
            # The defaults, where bench/stack.py shortens them for the system tests' faults.
            "SCORING_SWEEP_SECONDS": "5",
            "SCORING_TIMEOUT_SECONDS": "30",
            "SCORING_LEASE_SECONDS": "120",
            "SCORING_RETRY_BASE_SECONDS": "5",
            "SCORING_RETRY_MAX_SECONDS": "300",
        }
        self.stack = Stack(folder, database_url, model, settings)
        self.stack.run("model", "export", "--runtime", "auto")
        self.stack.start()
        self.port = self.stack.web_port
        self.post = poster(database_url)

    def stop(self) -> None:
        self.stack.close()


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
    elapsed = run_together([threading.Thread(target=poster, args=(share,)) for share in shares])
    if failures:
        raise SystemExit(f"{len(failures)} posts failed: {sorted(set(failures))}")
    return total / elapsed


@contextmanager
def postgres_schema(url: str, name: str) -> Iterator[str | None]:
    """`url` with a fresh schema of its own first on the search path (dropped at the end);
    None when no PostgreSQL answers there (the run goes on without it)."""
    if not url:
        yield None
        return
    schema = f"bench_{name}_{os.getpid()}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:
        print(f"PostgreSQL at {url} does not answer ({type(error).__name__}): skipped")
        engine.dispose()
        yield None
        return
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100, help="one at a time, per side")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--concurrent", type=int, default=200, help="posts by the --clients")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--postgres", default=POSTGRES, help="also ours on PostgreSQL ('': not)")
    parser.add_argument("--production", action=argparse.BooleanOptionalAction, default=True,
                        help="also the production shape (Celery; on --postgres)")  # fmt: skip
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        postgres_schema(args.postgres, "post") as pg_url,
        postgres_schema(args.postgres, "production") as production_url,
    ):
        folder = Path(tmp)
        servers: list[tuple[str, Server | Gunicorn | Production, str, Post]] = []
        try:
            server, post = ours(folder / "ours")
            servers.append(("ours, SQLite", server, OURS_ORIGIN, post))
            if pg_url:
                server, post = ours(folder / "ours-pg", pg_url)
                servers.append(("ours, PostgreSQL", server, OURS_ORIGIN, post))
            if args.production:
                url = production_url or f"sqlite:///{folder / 'production.db'}"
                shape = Production(folder / "production", url)
                database = "PostgreSQL" if production_url else "SQLite"
                servers.append((f"ours, prod. {database}", shape, OURS_ORIGIN, shape.post))
            isso_server, isso_post = isso(folder / "isso")
            servers.append(("Isso, SQLite", isso_server, ISSO_ORIGIN, isso_post))
            sides = [(server.port, origin, post) for _, server, origin, post in servers]
            one_at_a_time(sides, args.warmup)
            timings = one_at_a_time(sides, args.posts)
            rates = [at_once(port, origin, post, args.clients, args.concurrent, 10**6)
                     for port, origin, post in sides]  # fmt: skip
        finally:
            for _, server, _, _ in servers:
                server.stop()
        chosen = runtime(folder / "ours")
    names = [name for name, *_ in servers]
    print(f"Modération (tiny model, runtime {chosen}) vs Isso {ISSO_VERSION} (no model); "
          f"gunicorn, 1 process x {THREADS} threads each (the production shape: its own, "
          "2 x 8, and a Celery worker)")  # fmt: skip
    ratios = [name.split(", ")[1] + "/Isso" for name in names[:-1]]
    print(f"{'':<34}" + "".join(f" {name:>20}" for name in names + ratios))
    rows = [
        ("one post at a time, p50 ms", [statistics.median(t) for t in timings]),
        ("one post at a time, p95 ms", [percentile(t, 95) for t in timings]),
        (f"{args.clients} posters at once, comments/s", rates),
    ]
    for label, values in rows:
        isso_value = values[-1]
        print(f"{label:<34}" + "".join(f" {v:>20.1f}" for v in values)
              + "".join(f" {v / isso_value:>20.2f}" for v in values[:-1]))  # fmt: skip


if __name__ == "__main__":
    main()
