"""The production shape under load: gunicorn + Celery + Redis, for each model runtime.

    .venv/bin/python -m bench.production [--runtimes torch,onnx] [--clients 1,8] [--comments 48]

For each runtime (``DETOXIFY_RUNTIME``), starts the processes the README's « Production »
section gives (bench/stack.py: its own Redis on a free loopback port, `gunicorn
wsgi:app` with two web processes, one `celery worker`, `celery beat`, SQLite or
$BENCH_DATABASE_URL) with the full-size random-weights model of Detoxify's multilingual
architecture (bench/model.py; its int8 ONNX export for ``onnx``), then posts comments from
concurrent readers as end_to_end.py does. Before that, in the same run, it scores the same
comments with the raw scorer of that runtime (no app: the model alone, one comment per call and
in batches) and prints end-to-end comments/s as a ratio to it, with p50/p95 latency (submit to
decision). Web, worker and bench share the machine's cores: on 2 cores the web processes'
time is taken from the model's.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.comments import length_sample
from bench.end_to_end import run_level
from bench.model import ensure_model
from bench.stack import ARTICLE, children

ROOT = Path(__file__).resolve().parents[1]
# gunicorn's access log (gunicorn.conf.py): '… "METHOD PATH" STATUS BYTES 12ms'
ACCESS_RE = re.compile(r'"(GET|POST) ([^"]+)" (\d{3}) \S+ (\d+)ms')
# Celery's worker log: "Task moderation.score_comments[…] succeeded in 0.0723s: 1"
TASK_RE = re.compile(r"Task (moderation\.\w+)\[[^]]+\] succeeded in ([0-9.]+)s")


def log_sizes(folder: Path) -> dict[str, int]:
    """Where each process's log ends now (the next level's lines start there)."""
    return {p.name: p.stat().st_size for p in folder.glob("*.log")}


def cpu_seconds(stack: Any) -> dict[str, float]:
    """CPU seconds (user + system) used so far by each process of the stack, its children
    included (gunicorn's web processes), and by this benchmark's own process (the readers)."""
    tick = os.sysconf("SC_CLK_TCK")

    def tree(pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        own = (int(fields[11]) + int(fields[12])) / tick
        return own + sum(tree(child) for child in children(pid))

    used = {name: tree(process.pid) for name, process in stack.processes.items()}
    own = os.times()
    used["readers (bench)"] = own.user + own.system
    return used


def stages(folder: Path, since: dict[str, int]) -> dict[str, float]:
    """Mean milliseconds of each stage of the lines logged since `since`: the article page and
    the form's POST as gunicorn timed them, the scoring task as Celery timed it."""
    times: dict[str, list[float]] = {"page": [], "post": [], "task": []}
    for path in folder.glob("*.log"):
        with path.open("rb") as log:
            log.seek(since.get(path.name, 0))
            text = log.read().decode(errors="replace")
        for method, target, _status, ms in ACCESS_RE.findall(text):
            if method == "GET" and target == ARTICLE:
                times["page"].append(float(ms))
            elif method == "POST" and target == ARTICLE + "/commentaires":
                times["post"].append(float(ms))
        for name, seconds in TASK_RE.findall(text):
            if name == "moderation.score_comments":
                times["task"].append(float(seconds) * 1000)
    return {k: statistics.mean(v) if v else 0.0 for k, v in times.items()}


def model_settings(runtime: str, threads: int, spinning: bool = False) -> dict[str, str]:
    """Where the bench model is, for this runtime (the ONNX export is made once, cached)."""
    checkpoint, hf = ensure_model()
    settings = {
        "DETOXIFY_CHECKPOINT": str(checkpoint),
        "DETOXIFY_HF_CONFIG": str(hf),
        "DETOXIFY_RUNTIME": runtime,
        "DETOXIFY_THREADS": str(threads),
        "DETOXIFY_ONNX_SPINNING": "1" if spinning else "0",
    }
    if runtime == "onnx":
        from bench.scorer import ensure_onnx_model

        onnx_dir, _manifest = ensure_onnx_model(checkpoint, hf)
        settings["DETOXIFY_ONNX_DIR"] = str(onnx_dir)
    return settings


def raw(settings: dict[str, str], texts: list[str], threads: int) -> dict[str, Any]:
    """The runtime's scorer alone (bench/scorer.py), one comment per call and in batches."""
    from bench.scorer import raw_throughput

    return raw_throughput(
        settings["DETOXIFY_CHECKPOINT"],
        settings["DETOXIFY_HF_CONFIG"],
        texts=texts,
        threads=threads,
        batch_sizes=(1, 16),
        repeat=1,
        runtime=settings["DETOXIFY_RUNTIME"],
        onnx_dir=settings.get("DETOXIFY_ONNX_DIR"),
        onnx_spinning=settings.get("DETOXIFY_ONNX_SPINNING") == "1",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", default="torch,onnx")
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--comments", type=int, default=48, help="comments per level")
    parser.add_argument("--threads", type=int, default=2, help="model threads (worker, raw)")
    parser.add_argument(
        "--onnx-spinning", action="store_true", help="DETOXIFY_ONNX_SPINNING=1 (worker, raw)"
    )
    args = parser.parse_args()
    from bench.stack import Stack

    texts = length_sample(args.comments, seed=1)
    levels = [int(c) for c in args.clients.split(",")]
    database = os.environ.get("BENCH_DATABASE_URL")
    results = []
    for runtime in args.runtimes.split(","):
        settings = model_settings(runtime, args.threads, args.onnx_spinning)
        before = raw(settings, texts, args.threads)
        print(
            f"{runtime}: raw scorer before "
            + ", ".join(f"batch {b}: {v:.2f}/s" for b, v in before["by_batch"].items()),
            flush=True,
        )
        rows: list[dict[str, Any]] = []
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
                    "SCORING_WAIT_SECONDS": "120",
                    "SCORING_TIMEOUT_SECONDS": "600",
                    "SCORING_LEASE_SECONDS": "600",
                    "SCORING_SWEEP_SECONDS": "5",
                    "SCORING_BATCH_SIZE": "16",
                    "COMMENT_MAX_LENGTH": "10000",
                },
            )
            try:
                stack.start(workers=1)
                run_level(stack.base, length_sample(4, seed=99), 2)  # warm-up
                for clients in levels:
                    # The workers' heartbeats (every 5 s) carry their totals.
                    since, cpu_before = log_sizes(Path(tmp)), cpu_seconds(stack)
                    row: dict[str, Any] = run_level(stack.base, texts, clients, settle=6)
                    cpu_after = cpu_seconds(stack)
                    row["cpu_ms"] = {
                        name: (cpu_after[name] - cpu_before.get(name, 0)) * 1000 / row["comments"]
                        for name in cpu_after
                    }
                    row.update(runtime=runtime, stages=stages(Path(tmp), since))
                    rows.append(row)
                    print(
                        f"  {clients} clients: {row['per_second']:.2f}/s, "
                        f"p50 {row['p50_ms']:.0f} ms",
                        flush=True,
                    )
            finally:
                stack.close()
        # Other work on a shared machine comes and goes: the raw scorer again, after the
        # levels, and their mean as the baseline.
        after = raw(settings, texts, args.threads)
        print(
            f"{runtime}: raw scorer after "
            + ", ".join(f"batch {b}: {v:.2f}/s" for b, v in after["by_batch"].items()),
            flush=True,
        )
        by_batch = {b: (v + after["by_batch"][b]) / 2 for b, v in before["by_batch"].items()}
        for row in rows:
            row.update(raw=max(by_batch.values()), raw_single=by_batch[1])
        results += rows
    print()
    print(
        f"{'runtime':>7} {'clients':>7} {'comments':>8} {'failed':>6} {'per s':>7} "
        f"{'raw /s':>7} {'ratio':>6} {'p50 ms':>8} {'p95 ms':>8} {'mean batch':>10}"
    )
    for row in results:
        print(
            f"{row['runtime']:>7} {row['clients']:>7} {row['comments']:>8} {row['failed']:>6} "
            f"{row['per_second']:>7.2f} {row['raw']:>7.2f} "
            f"{row['per_second'] / row['raw']:>6.2f} {row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f} "
            f"{row['mean_batch']:>10.1f}"
        )
    print()
    print("Where one client's time goes (mean ms per comment; server times from the logs):")
    for row in results:
        if row["clients"] != 1:
            continue
        st, model = row["stages"], row["model_ms_per_batch"]
        cycle = 1000 / row["per_second"]
        raw_ms = 1000 / row["raw_single"]
        print(
            f"  {row['runtime']}: cycle {cycle:.0f} (raw model alone {raw_ms:.0f}) = "
            f"page {st['page']:.0f} + post {st['post']:.0f} + client and HTTP "
            f"{cycle - st['page'] - st['post']:.0f}; post = task {st['task']:.0f} (model "
            f"{model:.0f}, the rest {st['task'] - model:.0f}: batch wait, claim, decisions, "
            f"notify) + {st['post'] - st['task']:.0f} form, commit, publish, delivery, "
            f"wake-up, redirect"
        )
        print(
            f"    the model is {100 * model / cycle:.0f} % of the cycle; in the same run the "
            f"worker's model took {model / raw_ms:.2f}x the raw scorer's time per comment"
        )
    print("CPU ms per comment, by process (the settle pauses included):")
    for row in results:
        used = ", ".join(f"{name} {ms:.0f}" for name, ms in row["cpu_ms"].items())
        print(f"  {row['runtime']} at {row['clients']} clients: {used}")
    by_runtime = {r["runtime"]: r for r in results if r["clients"] == max(levels)}
    if {"torch", "onnx"} <= set(by_runtime):
        onnx, torch = by_runtime["onnx"], by_runtime["torch"]
        print(
            f"\nonnx int8 / torch fp32 at {max(levels)} clients: "
            f"{onnx['per_second'] / torch['per_second']:.2f}x comments/s end to end, "
            f"{onnx['raw'] / torch['raw']:.2f}x raw"
        )


if __name__ == "__main__":
    main()
