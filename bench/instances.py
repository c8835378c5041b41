"""One model instance with every thread, or several instances sharing the cores?

    .venv/bin/python -m bench.instances [--cores 2] [--comments 48]

For `SCORING_MODEL_INSTANCES` (issue 16): on the full-size random-weights stand-in
(bench/model.py) exported to int8 ONNX (the project's runtime, `bench.scorer.ensure_onnx_model`),
it scores the same French comments, one per call as a quiet site sends them, first with one
instance given every core (`DETOXIFY_THREADS=cores`), then with N instances of cores/N threads
each, every instance in a thread of its own taking the next comment (ONNX Runtime releases the
GIL while it computes), for each N that divides the cores. It prints comments/s, the p50 of a
call and the ratio to the single instance, measured in the same run. Memory: one int8 model
(about 270 MiB) per instance.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import threading
import time

from bench.comments import length_sample
from bench.common import run_together
from bench.model import ensure_model
from bench.scorer import ensure_onnx_model, load_scorer


def run(instances: int, threads: int, texts: list[str], checkpoint, hf, folder) -> dict:
    scorers = [
        load_scorer(checkpoint, hf, threads, runtime="onnx", onnx_dir=str(folder))
        for _ in range(instances)
    ]
    for scorer in scorers:
        scorer.score(texts[:2])  # warm-up
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for text in texts:
        todo.put(text)
    calls: list[float] = []
    lock = threading.Lock()

    def work(scorer) -> None:
        while True:
            try:
                text = todo.get_nowait()
            except queue.Empty:
                return
            started = time.perf_counter()
            scorer.score([text])
            with lock:
                calls.append(time.perf_counter() - started)

    elapsed = run_together([threading.Thread(target=work, args=(s,)) for s in scorers])
    return {
        "instances": instances,
        "threads": threads,
        "per_second": len(texts) / elapsed,
        "p50_ms": statistics.median(calls) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--comments", type=int, default=48)
    args = parser.parse_args()
    checkpoint, hf = ensure_model()
    folder, _ = ensure_onnx_model(checkpoint, hf)
    texts = length_sample(args.comments, seed=3)
    rows = [
        run(n, args.cores // n, texts, checkpoint, hf, folder)
        for n in range(1, args.cores + 1)
        if args.cores % n == 0
    ]
    base = rows[0]["per_second"]
    print(f"{args.comments} comments, one per call, {args.cores} cores, onnx int8")
    print(f"{'instances':>9} {'threads each':>12} {'comments/s':>10} {'p50 ms':>8} {'ratio':>6}")
    for row in rows:
        print(
            f"{row['instances']:>9} {row['threads']:>12} {row['per_second']:>10.2f} "
            f"{row['p50_ms']:>8.1f} {row['per_second'] / base:>6.2f}"
        )


if __name__ == "__main__":
    main()
