"""The API's scoring path (Perspective's `comments:analyze`, `/api/v1/score`) against the model.

    .venv/bin/python -m bench.perspective [--endpoint analyze|score|inprocess]
        [--clients 1,8,32] [--requests 96] [--threads 2]

In one run, on the full-size random-weights model of Detoxify's multilingual architecture
(bench/model.py) and French comments of realistic lengths (bench/comments.py
``length_sample``):

(a) the raw scorer (``app.scoring``, no app, no HTTP) on the very comments each level sends: one
    comment per call (p50/p95 latency of a call, comments/s) and batches of
    ``SCORING_BATCH_SIZE`` (16) comments (comments/s);
(b) the endpoint, served by ``gunicorn wsgi:app`` with the embedded thread backend
    (``SCORING_BACKEND=thread``: one web process, ``-w 1``, since each process of the thread
    backend loads its own model; as many gthread threads as the largest level has clients, so
    that every client's call can wait for the batcher at once), its own SQLite database and an
    API client made by ``flask clients create``, on a free loopback port. For each level (1, 8
    and 32 concurrent clients by default) every client sends one comment per call, one call
    after the other on a kept-alive connection, until ``--requests`` calls are done in all:
    calls/s, p50/p95 latency, failed calls (any status but 200) and the batches the model saw
    (/healthz totals) and the share of the time the model was busy;
(c) the ratios: endpoint p50 at 1 client minus the raw single-call p50 (the time the app adds;
    target at most 10 ms), and endpoint calls/s at the largest level over the raw batched
    comments/s (target at least 0.9).

``--endpoint analyze`` (default) posts Coral's request (``{"comment": {"text": …},
"requestedAttributes": {"TOXICITY": {}}, "doNotStore": true, "languages": ["fr"]}``) to
``/perspective/v1alpha1/comments:analyze?key=KEY``; ``score`` posts ``{"texts": [text]}`` to
``/api/v1/score`` with ``Authorization: Bearer KEY``; ``inprocess`` skips HTTP and calls
``scoring.backend().score_texts([text], timeout)`` from that many threads of this process (the
app built by ``create_app`` with the same settings): what the micro-batching costs without the
web server. API_SCORING_WAIT_SECONDS is raised to 120 s for the run so that no call at 32
clients gives up (the default 0.7 s answers 503 once the queue holds more than 0.7 s of model
time: that is the bound, not the speed); ``--api-wait 0.7`` shows that bound at work (the
failed column counts the 503s). Everything stays on 127.0.0.1 and stops by itself.
About 3 minutes on 2 idle cores with the defaults.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.comments import length_sample
from bench.end_to_end import health
from bench.model import ensure_model
from bench.stack import free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BATCH_SIZE = 16  # SCORING_BATCH_SIZE's default: the batcher's largest model call
ANALYZE_PATH = "/perspective/v1alpha1/comments:analyze"
SCORE_PATH = "/api/v1/score"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


# (a) The raw scorer -------------------------------------------------------------------------


def raw_scorer(checkpoint: Path, hf: Path, texts: list[str], threads: int) -> dict[str, float]:
    """The scorer alone on `texts`: one comment per call, and batches of BATCH_SIZE."""
    from bench.scorer import _set_threads, load_scorer, measure

    _set_threads(threads)
    scorer = load_scorer(checkpoint, hf, threads)
    _, (single, batched) = measure(texts, (1, BATCH_SIZE), scorer=scorer, repeat=1)
    del scorer
    return {
        "single_p50_ms": single.percentile_ms(50),
        "single_p95_ms": single.percentile_ms(95),
        "single_per_second": single.per_second,
        "batched_per_second": batched.per_second,
    }


# (b) The endpoint ---------------------------------------------------------------------------


class Server:
    """`gunicorn wsgi:app`, thread backend, on its own SQLite database and a free port."""

    def __init__(self, folder: Path, env: dict[str, str], threads: int) -> None:
        self.folder = folder
        self.env = env
        self.port = free_port()
        self.threads = threads
        self.process: subprocess.Popen[bytes] | None = None

    def flask(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=300, check=True,
        )  # fmt: skip
        return done.stdout

    def start(self) -> None:
        self.flask("db", "upgrade")
        with open(self.folder / "web.log", "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
                    "--threads", str(self.threads), "--timeout", "300", "wsgi:app",
                ],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # the first request starts the thread backend
            if self.process.poll() is not None:
                raise SystemExit("gunicorn stopped:\n" + self.log())
            try:
                if health(self.base)["scoring"]["model"]["state"] == "ready":
                    return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.5)
        raise SystemExit("the model was not ready after 5 minutes:\n" + self.log())

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.folder / "web.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def http_caller(base: str, endpoint: str, key: str) -> Callable[[], Callable[[str], int]]:
    """A factory of callers: each client thread gets one kept-alive connection."""
    port = int(base.rsplit(":", 1)[1])

    def make() -> Callable[[str], int]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

        def call(text: str) -> int:
            if endpoint == "analyze":
                path, headers = f"{ANALYZE_PATH}?key={key}", {}
                body: dict[str, Any] = {
                    "comment": {"text": text},
                    "requestedAttributes": {"TOXICITY": {}},
                    "doNotStore": True,
                    "languages": ["fr"],
                }
            else:
                path, headers = SCORE_PATH, {"Authorization": f"Bearer {key}"}
                body = {"texts": [text]}
            headers["Content-Type"] = "application/json"
            connection.request("POST", path, json.dumps(body).encode(), headers)
            response = connection.getresponse()
            response.read()
            return response.status

        return call

    return make


def run_level(
    make_caller: Callable[[], Callable[[str], int]], texts: list[str], clients: int
) -> dict[str, Any]:
    """`clients` threads, each calling one text at a time, until `texts` are all sent."""
    next_index = iter(range(len(texts)))
    lock = threading.Lock()
    latencies: list[float] = []
    failures: list[int] = []
    start_line = threading.Barrier(clients + 1)

    def client() -> None:
        call = make_caller()
        start_line.wait()
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                return
            started = time.perf_counter()
            try:
                status = call(texts[index])
            except OSError:
                status = 0
            elapsed = time.perf_counter() - started
            with lock:
                (latencies.append(elapsed) if status == 200 else failures.append(status))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start_line.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "calls": len(latencies),
        "failed": len(failures),
        "statuses": sorted(set(failures)),
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "p95_ms": percentile(latencies, 95) * 1000 if latencies else float("nan"),
        "mean_ms": statistics.mean(latencies) * 1000 if latencies else float("nan"),
    }


def site_env(
    folder: Path, checkpoint: Path, hf: Path, threads: int, wait: float = 120
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TEST_", "COV"))}
    env.update(
        APP_ENV="development",
        SECRET_KEY="bench",
        DATABASE_URL=f"sqlite:///{folder / 'bench.db'}",
        SCORING_BACKEND="thread",
        DETOXIFY_CHECKPOINT=str(checkpoint),
        DETOXIFY_HF_CONFIG=str(hf),
        DETOXIFY_THREADS=str(threads),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        SCORING_BATCH_SIZE=str(BATCH_SIZE),
        API_SCORING_WAIT_SECONDS=str(wait),
        COMMENT_MAX_LENGTH="10000",
        PYTHONUNBUFFERED="1",
    )
    return env


def create_client(server: Server) -> str:
    out = server.flask("clients", "create", "bench", "--quota", "100000 per second")
    return next(
        word.strip(".,«»") for word in out.split() if word.startswith("mod_") and len(word) > 20
    )


def inprocess_caller(env: dict[str, str]) -> tuple[Callable[[], Callable[[str], int]], Any]:
    """The app of this process (same settings), and callers of its backend's score_texts."""
    os.environ.update(env)
    from app import create_app
    from app.extensions import db
    from app.scoring import ScoringUnavailable, backend

    app = create_app()
    with app.app_context():
        db.create_all()
        scoring = backend()
        scoring.start()
    wait = app.config["API_SCORING_WAIT_SECONDS"]

    def make() -> Callable[[str], int]:
        def call(text: str) -> int:
            try:
                scoring.score_texts([text], wait)
            except ScoringUnavailable:
                return 503
            return 200

        return call

    return make, scoring


def busy(row: dict[str, Any]) -> float:
    """The share of the level's time the server's model was scoring (its totals)."""
    elapsed_ms = row["calls"] / row["per_second"] * 1000 if row["per_second"] else 0
    return float(row["model_ms"] / elapsed_ms) if elapsed_ms else 0.0


# Report -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", choices=("analyze", "score", "inprocess"), default="analyze")
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--requests", type=int, default=96, help="calls per level")
    parser.add_argument("--threads", type=int, default=2, help="model threads (DETOXIFY_THREADS)")
    parser.add_argument(
        "--api-wait",
        type=float,
        default=120,
        help="API_SCORING_WAIT_SECONDS (0.7 in production: past it a call gets 503)",
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the served app only (not the raw scorer), e.g. OMP_WAIT_POLICY=active",
    )
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    checkpoint, hf = ensure_model()
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs", flush=True)

    texts = length_sample(args.requests, seed=1)  # the same comments for (a) and each level
    before = raw_scorer(checkpoint, hf, texts, args.threads)
    print(
        f"(a) raw scorer before: one per call p50 {before['single_p50_ms']:.0f} ms "
        f"({before['single_per_second']:.2f}/s), batch {BATCH_SIZE}: "
        f"{before['batched_per_second']:.2f}/s",
        flush=True,
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = site_env(folder, checkpoint, hf, args.threads, args.api_wait)
        env.update(dict(item.split("=", 1) for item in args.server_env))
        server: Server | None = None
        try:
            if args.endpoint == "inprocess":
                make, scoring = inprocess_caller(env)
                totals: Callable[[], dict[str, Any]] = lambda: scoring.status()["totals"]  # noqa: E731
                served = "in process: backend().score_texts, no HTTP"
            else:
                server = Server(folder, env, threads=max(levels))
                server.start()
                key = create_client(server)
                make = http_caller(server.base, args.endpoint, key)
                base = server.base
                totals = lambda: health(base)["scoring"]["totals"]  # noqa: E731
                path = ANALYZE_PATH if args.endpoint == "analyze" else SCORE_PATH
                served = f"POST {path} on gunicorn -w 1 --threads {max(levels)}, thread backend"
            print(f"(b) {served}", flush=True)
            warm = run_level(make, length_sample(4, seed=99), 1)
            if warm["failed"]:
                raise SystemExit(f"warm-up calls failed: {warm['statuses']}")
            for clients in levels:
                start = totals()
                row = run_level(make, texts, clients)
                end = totals()
                batches = end["batches"] - start["batches"]
                row["mean_batch"] = (
                    (end["comments"] - start["comments"]) / batches if batches else 0
                )
                row["model_ms"] = (end["model_seconds"] - start["model_seconds"]) * 1000
                rows.append(row)
                print(
                    f"  {clients} clients: {row['per_second']:.2f}/s, p50 {row['p50_ms']:.0f} ms"
                    f", failed {row['failed']} (load average {os.getloadavg()[0]:.2f})",
                    flush=True,
                )
        finally:
            if server is not None:
                server.stop()
    # Other work on a shared machine comes and goes: the raw scorer again, after the levels,
    # and the mean of both as the baseline.
    raw_after = raw_scorer(checkpoint, hf, texts, args.threads)
    print(
        f"(a) raw scorer after: one per call p50 {raw_after['single_p50_ms']:.0f} ms "
        f"({raw_after['single_per_second']:.2f}/s), batch {BATCH_SIZE}: "
        f"{raw_after['batched_per_second']:.2f}/s",
        flush=True,
    )
    raw = {key: (value + raw_after[key]) / 2 for key, value in before.items()}
    print()
    print(
        f"{'clients':>7} {'calls':>6} {'failed':>6} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'mean batch':>10} {'model busy':>10} {'/ raw batched':>13}"
    )
    for row in rows:
        print(
            f"{row['clients']:>7} {row['calls']:>6} {row['failed']:>6} {row['per_second']:>7.2f} "
            f"{row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} {row['mean_batch']:>10.1f} "
            f"{busy(row):>9.0%} {row['per_second'] / raw['batched_per_second']:>13.2f}"
        )
    one = next((r for r in rows if r["clients"] == 1), None)
    most = max(rows, key=lambda r: r["clients"])
    print()
    print(
        f"raw scorer: one per call p50 {raw['single_p50_ms']:.0f} ms, p95 "
        f"{raw['single_p95_ms']:.0f} ms, {raw['single_per_second']:.2f}/s; batch {BATCH_SIZE}: "
        f"{raw['batched_per_second']:.2f}/s"
    )
    if one is not None:
        added = one["p50_ms"] - raw["single_p50_ms"]
        print(
            f"added at 1 client: endpoint p50 {one['p50_ms']:.0f} ms - model p50 "
            f"{raw['single_p50_ms']:.0f} ms = {added:.1f} ms (target <= 10 ms); mean "
            f"{one['mean_ms']:.0f} ms - the server's own model time per call "
            f"{one['model_ms'] / max(1, one['calls']):.0f} ms = "
            f"{one['mean_ms'] - one['model_ms'] / max(1, one['calls']):.1f} ms"
        )
    print(
        f"throughput at {most['clients']} clients: {most['per_second']:.2f}/s / raw batched "
        f"{raw['batched_per_second']:.2f}/s = "
        f"{most['per_second'] / raw['batched_per_second']:.2f}x (target >= 0.9x); the server's "
        f"model was busy {busy(most):.0%} of the time, at {most['model_ms'] / most['calls']:.0f} "
        f"ms a text (raw batched: {1000 / raw['batched_per_second']:.0f} ms)"
    )


if __name__ == "__main__":
    main()
