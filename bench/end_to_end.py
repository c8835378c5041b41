"""Comments posted through the HTTP app by concurrent clients, at model size.

    .venv/bin/python -m bench.end_to_end [--clients 1,8,32] [--comments 96] [--threads 2]

Starts the site as `scripts/start` does (SQLite, the in-process scoring thread, Werkzeug's
threaded server) on a free loopback port, with a full-size random-weights model of Detoxify's
multilingual architecture (bench/model.py), then for each concurrency level posts comments
from that many clients at once, each one as a reader would: load the page, send the form,
follow nothing. It prints comments per second, latency percentiles (submit to decision), the
batch sizes the worker saw, and the ratio to the raw scorer's best batched throughput measured
in the same run (bench/scorer.py). Everything stays on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from bench.comments import length_sample
from bench.common import run_together
from bench.model import ensure_model
from bench.stack import free_port

ROOT = Path(__file__).resolve().parents[1]

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
FORM_TOKEN = re.compile(r'name="form_token" type="hidden" value="([^"]+)"')


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def start_site(
    tmp: Path, checkpoint: Path, hf: Path, threads: int, batch_wait_ms: float
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
        "SECRET_KEY": "bench",
        "DETOXIFY_CHECKPOINT": str(checkpoint),
        "DETOXIFY_HF_CONFIG": str(hf),
        "DETOXIFY_THREADS": str(threads),
        "HF_HUB_OFFLINE": "1",
        "COMMENT_RATE_LIMIT": "100000 per minute",
        "DRAFT_RATE_LIMIT": "100000 per minute",
        "SCORING_BATCH_SIZE": "32",
        "SCORING_BATCH_WAIT_MS": str(batch_wait_ms),
        "SCORING_WAIT_SECONDS": "60",
        "SCORING_TIMEOUT_SECONDS": "300",
        "DUPLICATE_WINDOW_MINUTES": "0",
        # The bench's longest comments (400+ words) pass the default 2,000 characters: let
        # them through, so that long comments are scored in windows as on a lenient site.
        "COMMENT_MAX_LENGTH": "10000",
    }
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    for command in (["db", "upgrade"], ["seed"]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, capture_output=True)
    log = (tmp / "server.log").open("w")
    server = subprocess.Popen(
        flask + ["run", "--with-threads", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # wait until the model is loaded
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
                if json.load(response)["scoring"]["model"]["state"] == "ready":
                    return server, base
        except OSError:
            pass
        time.sleep(0.5)
    server.kill()
    raise SystemExit("the site did not become ready in 5 minutes")


def health(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
        return json.load(response)


def client_run(
    base: str,
    texts: list[str],
    client_id: int,
    latencies: list[float],
    failures: list[int],
    drafted: bool = False,
) -> None:
    """Post each text as a reader would; with `drafted`, the page first scores the draft (as
    it does while the reader pauses typing), untimed: the send is what is timed."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    article = f"{base}/articles/raqqa-al-mayadeen"
    for i, text in enumerate(texts):
        page = opener.open(article, timeout=60).read().decode()
        data = urllib.parse.urlencode(
            {
                "csrf_token": CSRF.search(page).group(1),
                "form_token": FORM_TOKEN.search(page).group(1),
                "body": text,
                "name": f"Lecteur {client_id}",
                "email": f"lecteur{client_id}.{i}@example.fr",
            }
        ).encode()
        if drafted:
            draft = urllib.request.Request(
                f"{article}/brouillon", data=json.dumps({"body": text}).encode(),
                headers={"Content-Type": "application/json",
                         "X-CSRFToken": CSRF.search(page).group(1)},
            )  # fmt: skip
            try:
                opener.open(draft, timeout=120).read()
            except urllib.error.HTTPError as error:  # 503: no score in time, as on the page
                failures.append(-error.code)  # the comment is still sent, and scored then
        started = time.perf_counter()
        try:
            opener.open(f"{article}/commentaires", data=data, timeout=120)
        except urllib.error.HTTPError as error:  # 303 is the expected answer
            if error.code != 303:
                failures.append(error.code)
                continue
        latencies.append(time.perf_counter() - started)


def run_level(
    base: str, texts: list[str], clients: int, settle: float = 0, drafted: bool = False
) -> dict[str, float]:
    """Post `texts` from `clients` concurrent readers. `settle`: seconds to wait before reading
    the scoring totals of /healthz (Celery workers report theirs every 5 s). `drafted`: each
    draft is scored first, as while typing (its model call is counted, not its time)."""
    shares = [texts[i::clients] for i in range(clients)]
    latencies: list[float] = []
    failures: list[int] = []
    threads = [
        threading.Thread(target=client_run, args=(base, share, n, latencies, failures, drafted))
        for n, share in enumerate(shares)
    ]
    time.sleep(settle)
    before = health(base)["scoring"]["totals"]
    elapsed = run_together(threads)
    time.sleep(settle)
    after = health(base)["scoring"]["totals"]
    batches = after["batches"] - before["batches"]
    scored = after["comments"] - before["comments"]
    model_seconds = after["model_seconds"] - before["model_seconds"]
    latencies.sort()
    return {
        "clients": clients,
        "comments": len(latencies),
        "failed": len(failures),
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": latencies[max(0, int(len(latencies) * 0.95) - 1)] * 1000,
        "mean_ms": statistics.mean(latencies) * 1000,
        "mean_batch": scored / batches if batches else 0,
        "model_ms_per_batch": model_seconds * 1000 / batches if batches else 0,
        "batches": batches,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--comments", type=int, default=48, help="comments per level")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--raw-comments", type=int, default=48)
    parser.add_argument("--batch-wait-ms", type=float, default=2.0, help="SCORING_BATCH_WAIT_MS")
    args = parser.parse_args()

    from bench.scorer import raw_throughput

    checkpoint, hf = ensure_model()
    # The same mix of short and long French comments for the raw scorer and for each level.
    raw = raw_throughput(
        checkpoint, hf, texts=length_sample(args.raw_comments, seed=1), threads=args.threads,
        repeat=1,
    )  # fmt: skip
    print(f"raw scorer best: {raw['per_second']:.2f} comments/s at batch {raw['batch']}")
    levels = [int(c) for c in args.clients.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        server, base = start_site(Path(tmp), checkpoint, hf, args.threads, args.batch_wait_ms)
        try:
            run_level(base, length_sample(4, seed=99), 2)  # warm-up
            rows = [
                run_level(base, length_sample(args.comments, seed=1), clients) for clients in levels
            ]
            # The same texts again (another seed: none scored yet), each draft scored first.
            drafted = run_level(base, length_sample(args.comments, seed=2), 1, drafted=True)
        finally:
            server.terminate()
            server.wait(30)
            errors = [
                line for line in (Path(tmp) / "server.log").read_text().splitlines()
                if "Error" in line or "Traceback" in line
            ]  # fmt: skip
            print(f"server errors logged: {len(errors)}")
            for line in errors[:20]:
                print("  ", line)
    print()
    print(
        f"{'clients':>7} {'comments':>8} {'failed':>6} {'per s':>7} {'ratio':>6} {'p50 ms':>8} "
        f"{'p95 ms':>8} {'batches':>7} {'mean batch':>10} {'model ms/batch':>14}"
    )
    for row in rows:
        print(
            f"{row['clients']:>7} {row['comments']:>8} {row['failed']:>6} "
            f"{row['per_second']:>7.2f} "
            f"{row['per_second'] / raw['per_second']:>6.2f} {row['p50_ms']:>8.0f} "
            f"{row['p95_ms']:>8.0f} {row['batches']:>7} {row['mean_batch']:>10.1f} "
            f"{row['model_ms_per_batch']:>14.0f}"
        )
    single = rows[0]
    print()
    # One client: every comment is alone in its model call, so the latency the app adds is
    # what a comment spends outside the model (HTTP, database, queue, batch wait).
    print(
        f"added latency at {single['clients']} client(s): mean {single['mean_ms']:.0f} ms end "
        f"to end - {single['model_ms_per_batch']:.0f} ms in the model per comment = "
        f"{single['mean_ms'] - single['model_ms_per_batch']:.0f} ms"
    )
    print(
        f"submit to decision when the draft was scored while typing, 1 client: p50 "
        f"{drafted['p50_ms']:.1f} ms, p95 {drafted['p95_ms']:.1f} ms (without: p50 "
        f"{single['p50_ms']:.0f} ms, {single['p50_ms'] / drafted['p50_ms']:.0f} x); "
        f"{drafted['batches']} model calls for {drafted['comments']} comments (the drafts')"
    )
    best = max(rows, key=lambda r: r["per_second"])
    print(
        f"best end-to-end: {best['per_second']:.2f} comments/s with {best['clients']} clients "
        f"= {best['per_second'] / raw['per_second']:.2f} x the raw scorer's best"
    )


if __name__ == "__main__":
    main()
