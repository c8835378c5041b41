"""Modération's readers' API beside Isso 0.14.0's, on the same machine, in one run.

    .venv/bin/python -m bench.api_vs_isso [--calls 200] [--rounds 10] [--limit 20]
        [--comments 5000] [--stories 100]

What it prints, for each side and as a ratio (ours / Isso), never a pass or a fail:
- a page of a 5,000-comment story: p50/p95 milliseconds over `--calls` calls, and the SQL
  statements and sqlite3 connections per call. Ours: `GET /api/v1/stories/{id}/comments?
  sort=newest&limit=20`; Isso: `GET /?uri=…&sort=newest&limit=20` (its embed's call: the 20
  newest threads, each with its replies);
- the comment counts of 100 stories in one call: ours `POST /api/v1/counts` (`{"urls": [...]}`),
  Isso `POST /count` with the JSON list of the 100 URIs; and ours as cacheable GETs
  (`GET /api/v1/counts?url=…`, as many as gunicorn's request line allows);
- a 304 revalidation of that page: `If-None-Match` with the page's `ETag` (or
  `If-Modified-Since` with its `Last-Modified`). Isso's `GET /?uri=` sends neither (in Isso
  0.14.0 only the Atom feed, `/feed`, is conditional): printed n/a;
- the embed's script and styles, each file gzipped (level 9), as each server serves them: our
  `/embed.js` (its styles inside) beside Isso's `js/embed.min.js` and the `css/isso.css` it
  links (n/a when ours has none yet).

Fair by construction:
- Isso 0.14.0 is installed from PyPI into its own virtual environment, `.bench/isso-venv`
  (ignored by git), exactly as bench/isso-requirements.lock pins it (made on first run, again
  when the lock changes); never into the project's.
- Both run under gunicorn 27.0.1 on loopback, one process, 4 gthread threads, the same access
  log, each on its own SQLite file. Ours runs `wsgi:app` with gunicorn.conf.py as production
  does (SCORING_BACKEND=celery: a web process loads no model), Isso its own `isso.run` app
  (multiprocessing mode, as its docs run it under gunicorn).
- The same data on both sides: 100 stories (URLs on one origin; Isso's thread URI is the path,
  as its embed sends `location.pathname`), story 0 with `--comments` comments (3 in 5 start a
  thread, the others answer one of them, at random with a fixed seed), the 99 others with 0 to
  22 each; the same ids, authors, French bodies and times. Ours is filled with one bulk
  SQLAlchemy insert (published, scored) into a database made by `flask db upgrade`, its site and
  stories through services/sites; Isso's through sqlite3 into the schema Isso made at start-up,
  rows shaped as Isso writes them: one comment is first posted with Isso's own `POST /new`, and
  its stored row (mode, anonymised address, voters blob) is the model for the others (then
  removed). 5,000 comments through Isso's HTTP API would take minutes (and its guard allows 2
  a minute per address).
- The same client code: one kept-alive `http.client` connection per server, calls one after the
  other, the clock around sending the request and reading the whole answer, with the embed's
  `Origin` header. `--warmup` calls first (caches warm), then `--calls` calls per measure,
  interleaved in `--rounds` rounds (ours, Isso, ours, Isso…) so that another process's load
  falls on both alike.
- The same counter of SQL: bench/sqlcount.py, loaded into both servers, traces every statement
  SQLite runs on the request's thread (`set_trace_callback` on every sqlite3 connection:
  SQLAlchemy's pool for ours; Isso opens a connection for each statement). Transaction control
  and PRAGMAs are left out of « SQL queries ».

Timings compare only within one run: the machine is shared. About 1.5 minutes (the first
run also builds Isso's environment: about 30 s more) on 2 cores.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.comments import comments as french_comments
from bench.perspective import Server, percentile
from bench.sqlcount import COUNTS_PATH
from bench.stack import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LOCK = ROOT / "bench" / "isso-requirements.lock"
ISSO_VENV = ROOT / ".bench" / "isso-venv"
ISSO_VERSION = "0.14.0"
THREADS = 4  # gunicorn gthread threads, both servers
GUNICORN_REQUEST_LINE = 4094  # gunicorn's limit_request_line, by default
ACCESS_LOG_FORMAT = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'  # gunicorn.conf.py's
COUNTED = ("query_statements", "control_statements", "connections")
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
SITE = "journal"


# The data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    id: int
    story: int  # index into Data.paths
    parent: int | None
    created: datetime
    author: str
    email: str
    body: str


@dataclass
class Data:
    """The stories and comments both sides hold: the same ids, texts and times."""

    origin: str
    paths: list[str]
    rows: list[Row] = field(default_factory=list)

    def url(self, story: int) -> str:
        return self.origin + self.paths[story]

    def count(self, story: int) -> int:
        return sum(row.story == story for row in self.rows)


def make_data(origin: str, stories: int, comments: int, seed: int = 13) -> Data:
    """Story 0 holds `comments` comments (3 in 5 start a thread, the others answer one of them);
    the others 0 to 22 top-level comments each."""
    rng = random.Random(seed)
    paths = [
        f"/societe/article/2026/12/0{1 + i % 7}/titre-de-l-article-{i:03d}_{6540000 + i}.html"
        for i in range(stories)
    ]
    data = Data(origin, paths)
    sizes = [comments] + [(i * 7) % 23 for i in range(1, stories)]
    texts = french_comments(sum(sizes), seed)
    authors = [f"Lectrice {n}" if n % 2 else f"Lecteur {n}" for n in range(200)]
    next_id = 1
    for story, size in enumerate(sizes):
        roots = size if story else size * 3 // 5
        root_rows: list[Row] = []
        for i in range(roots):
            author = rng.randrange(len(authors))
            row = Row(
                next_id, story, None, START + timedelta(seconds=40 * i + rng.randrange(30)),
                authors[author], f"lecteur{author}@example.fr", texts[next_id - 1],
            )  # fmt: skip
            root_rows.append(row)
            next_id += 1
        replies: list[Row] = []
        for _ in range(size - roots):
            parent = rng.choice(root_rows)
            author = rng.randrange(len(authors))
            replies.append(
                Row(
                    next_id,
                    story,
                    parent.id,
                    parent.created + timedelta(minutes=1 + rng.randrange(600)),
                    authors[author],
                    f"lecteur{author}@example.fr",
                    texts[next_id - 1],
                )  # fmt: skip
            )
            next_id += 1
        data.rows.extend(root_rows + replies)
    return data


# Servers -------------------------------------------------------------------------------------


class Gunicorn(Server):
    """gunicorn on a free loopback port (bench/perspective.Server's process handling), serving
    a WSGI app wrapped by bench/sqlcount.py; ready when its counter answers."""

    def __init__(
        self, folder: Path, env: dict[str, str], gunicorn: Path, app: str, cwd: Path
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        super().__init__(folder, env, THREADS)
        self.gunicorn = gunicorn
        self.app = app
        self.cwd = cwd

    def start(self) -> None:
        command = [
            str(self.gunicorn), "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
            "--worker-class", "gthread", "--threads", str(self.threads), "--timeout", "120",
            "--keep-alive", "60",
            "--access-logfile", "-", "--access-logformat", ACCESS_LOG_FORMAT,
            "--no-control-socket", self.app,
        ]  # fmt: skip
        with open(self.folder / "web.log", "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn ({self.app}) stopped:\n" + self.log())
            try:
                Client(self.port, "").call("GET", COUNTS_PATH)
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"gunicorn ({self.app}) did not answer in 2 minutes:\n" + self.log())

    def counts(self, expected: int = 0) -> list[dict[str, Any]]:
        """The requests served since the last look, each with its statements (sqlcount); waits
        (5 s at most) for `expected` of them: a request is recorded when the server closes its
        answer, which may come just after the client has read it."""
        served: list[dict[str, Any]] = []
        deadline = time.monotonic() + 5
        while True:
            status, _, body = Client(self.port, "").call("GET", COUNTS_PATH)
            assert status == 200, status
            served.extend(json.loads(body))
            if len(served) >= expected or time.monotonic() > deadline:
                return served
            time.sleep(0.01)


def isso_python() -> Path:
    """Isso's own interpreter: .bench/isso-venv, made from the lock (again when it changes)."""
    python = ISSO_VENV / "bin" / "python"
    stamp = ISSO_VENV / "lock.sha256"
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return python
    print(f"building {ISSO_VENV.relative_to(ROOT)} from {LOCK.relative_to(ROOT)}…", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(ISSO_VENV)], check=True)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
    done = subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", "-r", str(LOCK)], capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"pip could not install {LOCK.name}:\n{done.stdout}{done.stderr}")
    subprocess.run([*pip, "check"], check=True, stdout=subprocess.DEVNULL)
    stamp.write_text(digest)
    return python


def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TEST_", "COV"))}


def ours_server(folder: Path, data: Data) -> tuple[Gunicorn, dict[int, int]]:
    """Our site on its SQLite file, filled with `data`; the story ids by story index."""
    env = base_env()
    env.update(
        APP_ENV="development",
        SECRET_KEY="bench",
        DATABASE_URL=f"sqlite:///{folder / 'ours.db'}",
        SCORING_BACKEND="celery",  # a web process loads no model; nothing is posted
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",  # never reached: nothing is posted
        PYTHONUNBUFFERED="1",
    )
    server = Gunicorn(folder / "ours", env, BIN / "gunicorn", "bench.ours_wsgi:app", ROOT)
    server.flask("db", "upgrade")
    ids = fill_ours(folder, env, data)
    server.start()
    return server, ids


def fill_ours(folder: Path, env: dict[str, str], data: Data) -> dict[int, int]:
    """The site, its stories (services/sites) and one bulk insert of the comments."""
    import sqlalchemy as sa

    from app import create_app
    from app.config import load_config
    from app.extensions import db
    from app.models import Comment, CommentStatus
    from app.services import sites
    from bench.common import NoScorer

    app = create_app(load_config(str(folder / "instance"), environ=env), scorer=NoScorer())  # type: ignore[arg-type]
    with app.app_context():
        site = sites.create(SITE, [data.origin]).site
        ids = {}
        for story in range(len(data.paths)):
            article, _ = sites.ensure_story(site, data.url(story), f"Article {story}")
            ids[story] = article.id
        db.session.execute(
            sa.insert(Comment),
            [
                {
                    "id": row.id, "article_id": ids[row.story], "parent_id": row.parent,
                    "thread_id": row.parent, "depth": 1 if row.parent else 0,
                    "author_name": row.author, "author_email": row.email, "body": row.body,
                    "body_hash": hashlib.sha256(row.body.encode()).hexdigest(),
                    "status": CommentStatus.PUBLISHED, "awaiting_score": False,
                    "created_at": row.created, "decided_at": row.created,
                }
                for row in data.rows
            ],
        )  # fmt: skip
        db.session.commit()
        db.engine.dispose()
    return ids


ISSO_CONFIG = """\
[general]
dbpath = {db}
host = {origin}
notify = stdout
[moderation]
enabled = false
"""


def isso_server(folder: Path, data: Data) -> Gunicorn:
    """Isso on its SQLite file (its schema made at start-up), filled with `data`."""
    python = isso_python()
    folder = folder / "isso"
    folder.mkdir(parents=True)
    db_path = folder / "isso.db"
    (folder / "isso.cfg").write_text(ISSO_CONFIG.format(db=db_path, origin=data.origin))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "ISSO_SETTINGS": str(folder / "isso.cfg"),
        "PYTHONPATH": str(ROOT),  # bench.isso_wsgi and bench.sqlcount, nothing of app/
        "PYTHONUNBUFFERED": "1",
    }
    server = Gunicorn(
        folder, env, python.parent / "gunicorn", "bench.isso_wsgi:application", folder
    )
    server.start()
    fill_isso(server, db_path, data)
    return server


def fill_isso(server: Gunicorn, db_path: Path, data: Data) -> None:
    """One comment posted through Isso's `POST /new` shows how Isso stores a row; every row
    of `data` is written the same way through sqlite3, then that probe is removed."""
    client = Client(server.port, data.origin)
    probe = {"text": "Un essai.", "author": "Sonde", "email": "sonde@example.fr", "title": "Essai"}
    status, _, body = client.call(
        "POST", "/new?uri=" + urllib.parse.quote("/bench-probe"), json.dumps(probe).encode(),
        {"Content-Type": "application/json"},
    )  # fmt: skip
    assert status == 201, (status, body[:300])
    probe_id = json.loads(body)["id"]
    connection = sqlite3.connect(db_path)
    with connection:
        mode, remote_addr, voters = connection.execute(
            "SELECT mode, remote_addr, voters FROM comments WHERE id = ?", (probe_id,)
        ).fetchone()
        connection.execute("DELETE FROM comments WHERE id = ?", (probe_id,))  # and its thread
        connection.executemany(
            "INSERT INTO threads (id, uri, title) VALUES (?, ?, ?)",
            [(story + 1, path, f"Article {story}") for story, path in enumerate(data.paths)],
        )
        connection.executemany(
            "INSERT INTO comments (tid, id, parent, created, modified, mode, remote_addr, text,"
            " author, email, website, likes, dislikes, voters, notification)"
            " VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, NULL, 0, 0, ?, 0)",
            [
                (row.story + 1, row.id, row.parent, row.created.timestamp(), mode, remote_addr,
                 row.body, row.author, row.email, voters)
                for row in data.rows
            ],
        )  # fmt: skip
    connection.close()


# The client ----------------------------------------------------------------------------------


class Client:
    """One kept-alive http.client connection to 127.0.0.1:port, sending the embed's Origin."""

    def __init__(self, port: int, origin: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.origin = origin

    def call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        sent = {"Origin": self.origin} if self.origin else {}
        sent.update(headers or {})
        self.connection.request(method, path, body, sent)
        response = self.connection.getresponse()
        return response.status, response.headers, response.read()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Measure:
    """One side's calls of one request: milliseconds, statuses, statements per call."""

    timings: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    served: list[dict[str, Any]] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.timings)

    @property
    def p95(self) -> float:
        return percentile(self.timings, 95)

    def per_call(self, key: str) -> str:
        """The statements (or connections) per call: one number when constant, else min–max."""
        values = sorted({entry[key] for entry in self.served})
        if not values:
            return "?"
        return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


@dataclass
class Side:
    name: str
    server: Gunicorn
    client: Client


def timed(client: Client, requests: list[Request]) -> tuple[float, set[int]]:
    """Milliseconds to send `requests` one after the other and read every answer."""
    statuses = set()
    started = time.perf_counter()
    for request in requests:
        status, _, _ = client.call(request.method, request.path, request.body, request.headers)
        statuses.add(status)
    return (time.perf_counter() - started) * 1000, statuses


def compare(
    sides: list[tuple[Side, list[Request]]], calls: int, rounds: int, warmup: int
) -> list[Measure]:
    """Each side's requests `calls` times, interleaved in `rounds` rounds, after `warmup` times;
    the statements of every measured time from its server's counter (added up when a time is
    several requests)."""
    measures = [Measure() for _ in sides]
    for side, requests in sides:
        for _ in range(warmup):
            timed(side.client, requests)
        side.server.counts(warmup * len(requests))  # forget the warm-up
    per_round = [calls // rounds + (1 if r < calls % rounds else 0) for r in range(rounds)]
    for count in per_round:
        for (side, requests), measure in zip(sides, measures, strict=True):
            for _ in range(count):
                elapsed, statuses = timed(side.client, requests)
                measure.timings.append(elapsed)
                measure.statuses |= statuses
            served = side.server.counts(count * len(requests))
            for first in range(0, len(served) - len(requests) + 1, len(requests)):
                group = served[first : first + len(requests)]
                measure.served.append({key: sum(entry[key] for entry in group) for key in COUNTED})
    return measures


# Answers -------------------------------------------------------------------------------------


def comments_in(answer: Any, key: str) -> tuple[int, int]:
    """(threads, comments) in a listing: top-level entries, and all of them with replies."""
    top = answer[key]

    def count(entries: list[dict[str, Any]]) -> int:
        return sum(1 + count(entry.get("replies") or []) for entry in entries)

    return len(top), count(top)


def gzipped(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=9, mtime=0))


# Report --------------------------------------------------------------------------------------


def ratio(ours: float | None, isso: float | None) -> str:
    return f"{ours / isso:.2f}" if ours is not None and isso else "n/a"


def row(label: str, ours: str, isso: str, rate: str = "") -> None:
    print(f"  {label:<30} {ours:>26} {isso:>26} {rate:>11}", flush=True)


def report(title: str, ours: Measure | None, isso: Measure | None, expected: int = 200) -> None:
    """A measure's lines; a side without it (None) reads n/a, and no ratio is given when a
    side's answers were not all `expected` (its timings, starred, time a refusal)."""
    print(title, flush=True)
    sides = (ours, isso)
    fair = all(m is not None and m.statuses == {expected} for m in sides)

    def each(value: Callable[[Measure], str]) -> tuple[str, str]:
        return tuple(value(m) if m is not None else "n/a" for m in sides)  # type: ignore[return-value]

    def star(m: Measure) -> str:
        return "" if m.statuses == {expected} else "*"

    for label, pick in (("p50 ms", "p50"), ("p95 ms", "p95")):
        values = [getattr(m, pick) if m is not None else None for m in sides]
        row(
            label,
            *each(lambda m, p=pick: f"{star(m)}{getattr(m, p):.2f}"),
            ratio(*values) if fair else "n/a",
        )
    row("SQL queries per call", *each(lambda m: m.per_call("query_statements")))
    row("BEGIN/COMMIT/PRAGMA per call", *each(lambda m: m.per_call("control_statements")))
    row("sqlite3 connections per call", *each(lambda m: m.per_call("connections")))
    row("statuses", *each(lambda m: ",".join(map(str, sorted(m.statuses)))))
    for name, measure in (("ours", ours), ("Isso", isso)):
        if measure is None:
            continue
        if measure.statuses != {expected}:
            print(f"  * {name}: answers other than {expected}, no ratio", flush=True)
        if len(measure.served) < len(measure.timings):
            print(
                f"  {name}: {len(measure.timings) - len(measure.served)} of"
                f" {len(measure.timings)} calls never reached the app (refused by gunicorn)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="measured calls per request")
    parser.add_argument("--rounds", type=int, default=10, help="ours/Isso alternations")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--limit", type=int, default=20, help="threads on a page")
    parser.add_argument("--sort", choices=("newest", "oldest"), default="newest")
    parser.add_argument("--comments", type=int, default=5000, help="comments on the big story")
    parser.add_argument("--stories", type=int, default=100, help="stories (URLs counted)")
    args = parser.parse_args()

    origin = f"http://127.0.0.1:{free_port()}"  # the newsroom's pages: nothing listens there
    data = make_data(origin, args.stories, args.comments)
    big = [r for r in data.rows if r.story == 0]
    print(
        f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs; "
        f"story 0: {len(big)} comments ({sum(r.parent is None for r in big)} threads, "
        f"{sum(r.parent is not None for r in big)} replies); {args.stories} stories, "
        f"{len(data.rows)} comments in all",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        servers: list[Gunicorn] = []
        try:
            isso = isso_server(folder, data)
            servers.append(isso)
            ours, ids = ours_server(folder, data)
            servers.append(ours)
            run(args, data, Side("ours", ours, Client(ours.port, origin)), ids,
                Side("isso", isso, Client(isso.port, origin)))  # fmt: skip
        finally:
            for server in servers:
                server.stop()


def run(args: argparse.Namespace, data: Data, o: Side, ids: dict[int, int], i: Side) -> None:
    print(
        f"both: gunicorn -w 1 --threads {THREADS} (gthread) on 127.0.0.1, SQLite; one kept-alive"
        f" http.client connection each; {args.warmup} warm-up calls, then {args.calls} calls"
        f" in {args.rounds} interleaved rounds",
        flush=True,
    )
    row("", "Modération", f"Isso {ISSO_VERSION}", "ours / Isso")

    # A page of the big story.
    query = urllib.parse.urlencode({"sort": args.sort, "limit": args.limit})
    pages = {
        "ours": Request("GET", f"/api/v1/stories/{ids[0]}/comments?{query}"),
        "isso": Request("GET", "/?" + urllib.parse.urlencode({"uri": data.paths[0]}) + "&" + query),
    }
    ours_page, isso_page = compare(
        [(o, [pages["ours"]]), (i, [pages["isso"]])], args.calls, args.rounds, args.warmup
    )
    report(
        f"a page of story 0 ({args.limit} {args.sort} threads, their replies)", ours_page, isso_page
    )
    answers = {}
    shapes = []
    for side, key in ((o, "comments"), (i, "replies")):
        answers[side.name] = status, headers, body = side.client.call("GET", pages[side.name].path)
        threads, total = comments_in(json.loads(body), key) if status == 200 else (0, 0)
        shapes.append(f"{threads} thr., {total} com., {len(body) / 1024:.1f} KiB")
    row("answer", *shapes)
    sizes = sorted({5, args.limit, 50})
    row(
        "SQL queries, " + " / ".join(map(str, sizes)) + " threads",
        *(" / ".join(queries_at(side, pages[side.name].path, args.limit, n) for n in sizes)
          for side in (o, i)),
    )  # fmt: skip

    # Counts of the stories.
    urls = [data.url(story) for story in range(args.stories)]
    ours_counts = [
        Request(
            "POST", "/api/v1/counts", json.dumps({"urls": urls}).encode(),
            {"Content-Type": "application/json"},
        )
    ]  # fmt: skip
    isso_counts = Request(
        "POST", "/count", json.dumps(data.paths).encode(), {"Content-Type": "application/json"}
    )
    ours_measure, isso_measure = compare(
        [(o, ours_counts), (i, [isso_counts])], args.calls, args.rounds, args.warmup
    )
    report(f"comment counts of {args.stories} stories, one POST", ours_measure, isso_measure)
    # The GET a CDN can cache, in as few calls as gunicorn's request line (limit_request_line,
    # 4,094 bytes by default) allows: 100 real URLs do not fit in one.
    gets = counts_requests(urls, limit=GUNICORN_REQUEST_LINE)
    get_measure, isso_measure = compare(
        [(o, gets), (i, [isso_counts])], args.calls, args.rounds, args.warmup
    )
    report(
        f"the same counts, ours as cacheable GETs ({len(gets)} calls, request lines of at most"
        f" {GUNICORN_REQUEST_LINE} bytes), Isso in one POST",
        get_measure,
        isso_measure,
    )
    check_counts(o, ours_counts, i, isso_counts, data)

    # The floor: what any answer costs each server (an address that does not exist), to read
    # the other rows against.
    ours_floor, isso_floor = compare(
        [(o, [Request("GET", "/api/v1/nope")]), (i, [Request("GET", "/nope")])],
        args.calls, args.rounds, args.warmup,
    )  # fmt: skip
    report("an unknown address (404): any answer's cost", ours_floor, isso_floor, 404)

    # A 304 revalidation of the page, where the page's answer allows one.
    conditional: dict[str, Measure | None] = {}
    notes = []
    for side in (o, i):
        status, headers, _ = answers[side.name]
        if headers.get("ETag"):
            asked = {"If-None-Match": headers["ETag"]}
        elif headers.get("Last-Modified"):
            asked = {"If-Modified-Since": headers["Last-Modified"]}
        else:
            conditional[side.name] = None
            notes.append(
                f"{'Isso' if side is i else 'ours'}: no ETag and no Last-Modified on the page's"
                " answer, nothing to revalidate"
                + (
                    " (Isso 0.14.0 makes only its Atom feed, /feed, conditional)"
                    if side is i
                    else ""
                )
            )
            continue
        request = Request("GET", pages[side.name].path, None, asked)
        (conditional[side.name],) = compare(
            [(side, [request])], args.calls, args.rounds, args.warmup
        )
    report("304 revalidation of that page", conditional["ours"], conditional["isso"], 304)
    for note in notes:
        print(f"  {note}", flush=True)

    # The embed: its script and its styles, as each server serves them (ours: one file, the
    # styles inside; Isso: its script, which adds a <link> to its stylesheet).
    print("the embed: script and styles, each file gzip -9", flush=True)
    files = {"ours": ["/embed.js"], "isso": ["/js/embed.min.js", "/css/isso.css"]}
    sizes: dict[str, list[tuple[int, int]] | None] = {}
    for side in (o, i):
        sizes[side.name] = []
        for path in files[side.name]:
            status, _, body = side.client.call("GET", path)
            if status != 200:
                sizes[side.name] = None
                break
            sizes[side.name].append((gzipped(body), len(body)))  # type: ignore[union-attr]
    totals = {name: sum(g for g, _ in found) if found else None for name, found in sizes.items()}
    row(
        "files",
        *(" + ".join(path.rsplit("/", 1)[1] for path in files[name]) for name in ("ours", "isso")),
    )
    row(
        "KiB gzipped (raw)",
        *(
            "n/a"
            if found is None
            else " + ".join(f"{g / 1024:.1f} ({raw / 1024:.1f})" for g, raw in found)
            for found in (sizes["ours"], sizes["isso"])
        ),
    )
    row(
        "KiB gzipped, in all",
        *("n/a" if total is None else f"{total / 1024:.1f}" for total in totals.values()),
        ratio(totals["ours"], totals["isso"]),
    )
    print(f"load average {os.getloadavg()[0]:.2f} at the end", flush=True)


def queries_at(side: Side, path: str, limit: int, threads: int) -> str:
    """The SQL queries of one call for a page of `threads` threads (the same call otherwise)."""
    side.server.counts()
    status, _, _ = side.client.call("GET", path.replace(f"limit={limit}", f"limit={threads}"))
    served = side.server.counts(1)
    if status != 200 or not served:
        return f"({status})"
    return str(served[0]["query_statements"])


def request_line(request: Request) -> int:
    return len(f"{request.method} {request.path} HTTP/1.1")


def counts_requests(urls: list[str], limit: int | None) -> list[Request]:
    """`GET /api/v1/counts?url=…` for `urls`: one call, or (`limit`) as few calls as keep each
    request line within `limit` bytes."""
    calls: list[list[str]] = [[]]
    for url in urls:
        if limit is not None and calls[-1]:
            longer = counts_requests([*calls[-1], url], None)[0]
            if request_line(longer) > limit:
                calls.append([])
        calls[-1].append(url)
    return [
        Request("GET", "/api/v1/counts?" + urllib.parse.urlencode([("url", url) for url in call]))
        for call in calls
    ]


def check_counts(
    o: Side, ours_counts: list[Request], i: Side, isso_counts: Request, data: Data
) -> None:
    """Both sides count what the data holds (a wrong count would make the timing moot)."""
    expected = [data.count(story) for story in range(len(data.paths))]
    got: dict[str, int] = {}
    ours_ok = True
    for request in ours_counts:
        status, _, body = o.client.call(request.method, request.path, request.body, request.headers)
        ours_ok = ours_ok and status == 200
        got.update(json.loads(body)["counts"] if status == 200 else {})
    ours_ok = ours_ok and [got.get(data.url(s)) for s in range(len(data.paths))] == expected
    status, _, body = i.client.call(
        isso_counts.method, isso_counts.path, isso_counts.body, isso_counts.headers
    )
    isso_ok = status == 200 and json.loads(body) == expected
    row("counts as seeded", "yes" if ours_ok else "NO", "yes" if isso_ok else "NO")


if __name__ == "__main__":
    main()
