"""Raw scoring speed: stock ``Detoxify.predict`` one comment at a time vs the project's scorer.

    .venv/bin/python -m bench.scorer [--comments 32] [--repeat 2] [--threads 2]
        [--batch-sizes 1,2,4,8,16,32] [--runtime-batches 1,16] [--runtimes-only]

On a full-size random-weights model of Detoxify's ``multilingual`` architecture
(:mod:`bench.model`, built on first use) and French comments of mixed length
(:mod:`bench.comments`), the model alone (no Flask, no database), it times:

(a) what a naive integration does: ``Detoxify.predict(text)`` for one comment after the other
    (Detoxify's own loading code, pointed at the local files, and its own ``predict``);
(b) the project's scorer (``app.scoring``, runtime ``torch``, offline path
    ``DETOXIFY_CHECKPOINT`` + ``DETOXIFY_HF_CONFIG``) called with 1, 2, 4 ... 32 comments at a
    time, on the same comments.

It prints comments per second, milliseconds per comment and the p50/p95 latency of one call,
each also as a ratio to (a), the tokens the model saw and computed (padding included), then
``best raw batched throughput: X comments/s (batch B)``. The ways of scoring take turns on
rounds of 32 comments (see :func:`measure`), so that other work on a shared machine slows them
alike, and every round is scored twice, keeping each call's faster time (``--repeat``); the
load average is printed as it goes. The 32 comments by default are spread over the lengths of
256 (:func:`bench.comments.length_sample`). About 3.5 minutes on 2 idle cores.
``raw_throughput()`` measures that best figure for other benchmarks (bench/end_to_end.py).

(b) does a bit more work than (a) on long comments: Detoxify truncates a text at 512 tokens, the
scorer scores every window of it (the header says how many comments are that long). With
random weights the scores mean nothing, but (a) and (b) must agree on the comments that fit
into one window; the largest difference is printed as a check.

Then it compares the two runtimes of the project's scorer on the same comments, taking turns
the same way: ``torch fp32`` (b) and ``onnx int8``, the model exported by
:func:`app.scoring.export.export_onnx` (what ``flask model export`` runs; made once into
``bench/.cache/multilingual-random-onnx-int8``, about a minute), at batch 1 and 16 (the
worker's ``SCORING_BATCH_SIZE``; ``--runtime-batches``), with the ratio of their comments per
second and the largest score difference. ``--runtimes-only`` skips (a) and the batch sizes of
(b): about 1.5 minutes once the export is made.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bench.comments import length_sample, word_count
from bench.model import CACHE_DIR, ensure_model

__all__ = [
    "BATCH_SIZES",
    "DEFAULT_COMMENTS",
    "DEFAULT_REPEAT",
    "DEFAULT_THREADS",
    "ONNX_DIR",
    "RUNTIME_BATCHES",
    "Timing",
    "ensure_onnx_model",
    "load_scorer",
    "load_stock_detoxify",
    "measure",
    "measure_scorers",
    "raw_throughput",
]

BATCH_SIZES = (1, 2, 4, 8, 16, 32)
DEFAULT_THREADS = 2  # the production machine has 2 cores
DEFAULT_COMMENTS = 32  # with DEFAULT_REPEAT: about 3.5 minutes in all on 2 idle cores
DEFAULT_REPEAT = 2
WARMUP_COMMENTS = 4
ONNX_DIR = CACHE_DIR.parent / f"{CACHE_DIR.name}-onnx-int8"
RUNTIME_BATCHES = (1, 16)  # one comment per call, and SCORING_BATCH_SIZE's default


@dataclass
class Timing:
    """Wall-clock seconds of every call of one way of scoring the same comments."""

    label: str
    batch: int
    comments: int
    calls: list[float] = field(default_factory=list)
    scores: list[dict[str, float]] = field(default_factory=list, repr=False)
    windowed: list[bool] = field(default_factory=list, repr=False)
    """(b) only: whether each text was scored as several windows."""
    tokens: int = 0
    """Tokens the model saw (special tokens included, padding not)."""
    padded: int = 0
    """Token positions the model computed: batch size x padded length, summed over calls."""

    @property
    def seconds(self) -> float:
        return sum(self.calls)

    @property
    def per_second(self) -> float:
        return self.comments / self.seconds

    @property
    def ms_per_comment(self) -> float:
        return 1000 * self.seconds / self.comments

    def percentile_ms(self, q: float) -> float:
        """Nearest-rank percentile of the call latencies, in milliseconds."""
        ordered = sorted(self.calls)
        rank = max(1, math.ceil(q / 100 * len(ordered)))
        return 1000 * ordered[rank - 1]


class _TokenCounter:
    """Counts the real and the padded tokens of every forward pass of a model (a hook)."""

    def __init__(self, model: Any) -> None:
        self.tokens = self.padded = 0
        self._handle = None
        if model is not None and hasattr(model, "register_forward_pre_hook"):
            self._handle = model.register_forward_pre_hook(self._count, with_kwargs=True)

    def _count(self, _module: Any, args: tuple, kwargs: dict) -> None:
        input_ids = kwargs.get("input_ids", args[0] if args else None)
        mask = kwargs.get("attention_mask")
        if input_ids is None:
            return
        self.padded += int(input_ids.numel())
        self.tokens += int(mask.sum()) if mask is not None else int(input_ids.numel())

    def reset(self) -> tuple[int, int]:
        counts = (self.tokens, self.padded)
        self.tokens = self.padded = 0
        return counts

    def close(self) -> None:
        if self._handle is not None:
            self._handle.remove()


def _model_of(scorer: Any) -> Any:
    """The torch model inside the project's scorer, for counting tokens (None if hidden)."""
    loaded = getattr(scorer, "_loaded", None)
    return getattr(loaded, "model", None)


def _set_threads(threads: int | None) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)


def load_stock_detoxify(checkpoint: Path, hf_config: Path, device: str = "cpu") -> Any:
    """A ``detoxify.Detoxify`` built by Detoxify's own code from the local files.

    ``Detoxify(checkpoint=..., huggingface_config_path=...)`` itself cannot work offline: its
    ``get_model_and_tokenizer`` first asks the hub for the config of the checkpoint's
    ``model_type`` (``xlm-roberta-base``). So this does what its ``__init__`` does, with
    ``model_type`` pointed at the local folder (as the project's offline loader does): read
    the checkpoint as ``load_checkpoint`` does, build model and tokenizer with detoxify's
    ``get_model_and_tokenizer``, move the model to the device. ``predict`` is Detoxify's.
    """
    import torch
    from detoxify import detoxify as dx

    loaded = torch.load(str(checkpoint), map_location=device, weights_only=False)
    args = dict(loaded["config"]["arch"]["args"])
    args["model_type"] = str(hf_config)
    model, tokenizer = dx.get_model_and_tokenizer(
        **args, state_dict=loaded["state_dict"], huggingface_config_path=str(hf_config)
    )
    renames = {"toxic": "toxicity", "identity_hate": "identity_attack"}
    renames["severe_toxic"] = "severe_toxicity"
    detox = dx.Detoxify.__new__(dx.Detoxify)
    detox.model = model
    detox.tokenizer = tokenizer
    detox.class_names = [renames.get(c, c) for c in loaded["config"]["dataset"]["args"]["classes"]]
    detox.device = device
    detox.model.to(device)
    return detox


def load_scorer(
    checkpoint: Path,
    hf_config: Path,
    threads: int | None = DEFAULT_THREADS,
    runtime: str = "torch",
    **settings: Any,
) -> Any:
    """The project's scorer (runtime ``torch``, or ``onnx`` with ``onnx_dir=``) on the local
    files, loaded."""
    from app.scoring import ScorerSettings, get_scorer

    scorer = get_scorer(
        ScorerSettings(
            model="multilingual",
            checkpoint=str(checkpoint),
            hf_config=str(hf_config),
            threads=threads,
            **settings,
        ),
        runtime=runtime,
    )
    scorer.load()
    return scorer


def ensure_onnx_model(
    checkpoint: Path,
    hf_config: Path,
    onnx_dir: Path = ONNX_DIR,
    threads: int | None = DEFAULT_THREADS,
) -> tuple[Path, dict[str, Any]]:
    """``(folder, manifest)`` of the int8 ONNX export of the bench model, made once.

    Made by :func:`app.scoring.export.export_onnx`, what ``flask model export`` runs, and
    remade when the checkpoint is newer. With random weights the int8 scores drift further from
    torch's than a trained model's would, so the bound is 1 (never refused); the measured
    differences are in the manifest, for printing. About a minute and 5 GB of memory.
    """
    from app.scoring.export import export_onnx
    from app.scoring.onnx import MANIFEST_FILE, MODEL_FILE

    manifest_path = onnx_dir / MANIFEST_FILE
    if manifest_path.is_file() and (onnx_dir / MODEL_FILE).is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        fresh = manifest_path.stat().st_mtime >= Path(checkpoint).stat().st_mtime
        if fresh and manifest["source"]["checkpoint"] == str(checkpoint):
            return onnx_dir, manifest
    print(f"exporting the bench model to ONNX int8 into {onnx_dir} ...", file=sys.stderr)
    torch_scorer = load_scorer(checkpoint, hf_config, threads)
    report = export_onnx(torch_scorer, onnx_dir, max_diff=1.0)
    print(f"  exported in {report.seconds:.0f}s", file=sys.stderr)
    return onnx_dir, json.loads(manifest_path.read_text(encoding="utf-8"))


def _run_stock(detox: Any, counter: _TokenCounter, timing: Timing, texts: Sequence[str]) -> None:
    for text in texts:
        started = time.perf_counter()
        result = detox.predict(text)
        timing.calls.append(time.perf_counter() - started)
        timing.scores.append({name: float(value) for name, value in result.items()})
    tokens, padded = counter.reset()
    timing.tokens += tokens
    timing.padded += padded


def _run_scorer(scorer: Any, counter: _TokenCounter, timing: Timing, texts: Sequence[str]) -> None:
    for start in range(0, len(texts), timing.batch):
        chunk = list(texts[start : start + timing.batch])
        started = time.perf_counter()
        results = scorer.score(chunk)
        timing.calls.append(time.perf_counter() - started)
        timing.scores.extend(result.scores for result in results)
        timing.windowed.extend(result.windowed for result in results)
    tokens, padded = counter.reset()
    timing.tokens += tokens
    timing.padded += padded


def measure(
    texts: Sequence[str],
    batch_sizes: Sequence[int] = BATCH_SIZES,
    *,
    scorer: Any,
    detox: Any | None = None,
    repeat: int = 1,
    verbose: bool = False,
) -> tuple[Timing | None, list[Timing]]:
    """Time (a) (if ``detox`` is given) and (b) at each batch size on the same ``texts``.

    See :func:`measure_scorers`. Returns ``(timing of (a) or None, timings of (b) in
    batch_sizes order)``.
    """
    label = "(b) project scorer"
    base, rows = measure_scorers(
        texts, batch_sizes, {label: scorer}, detox=detox, repeat=repeat, verbose=verbose
    )
    return base, rows[label]


def measure_scorers(
    texts: Sequence[str],
    batch_sizes: Sequence[int],
    scorers: Mapping[str, Any],
    *,
    detox: Any | None = None,
    repeat: int = 1,
    verbose: bool = False,
) -> tuple[Timing | None, dict[str, list[Timing]]]:
    """Time (a) (if ``detox`` is given) and each scorer at each batch size on the same ``texts``.

    After a warm-up of each, the texts are taken in rounds of ``lcm(batch_sizes)`` texts and
    every way of scoring runs on each round, in alternating order: load from other processes
    on a shared machine then slows all of them alike instead of whichever ran at that time.
    With ``repeat`` > 1 each round is scored that many times and every call keeps its fastest
    time (robust to bursts of load; ``repeat`` times longer).
    Returns ``(timing of (a) or None, {label: timings in batch_sizes order})``.
    """
    texts = list(texts)
    warmup = texts[:WARMUP_COMMENTS]
    runners: list[tuple[Timing, Callable[[Timing, Sequence[str]], None]]] = []
    counters: list[_TokenCounter] = []
    base = None
    rows: dict[str, list[Timing]] = {}
    try:
        if detox is not None:
            for text in warmup:
                detox.predict(text)
            counters.append(_TokenCounter(detox.model))
            base = Timing("(a) Detoxify.predict", 1, len(texts))
            runners.append((base, partial(_run_stock, detox, counters[-1])))
        for label, scorer in scorers.items():
            scorer.score(warmup)
            counters.append(_TokenCounter(_model_of(scorer)))
            rows[label] = [Timing(label, batch, len(texts)) for batch in batch_sizes]
            runners += [(row, partial(_run_scorer, scorer, counters[-1])) for row in rows[label]]
        size = math.lcm(*batch_sizes)
        rounds = [texts[i : i + size] for i in range(0, len(texts), size)]
        for index, round_texts in enumerate(rounds):
            for again in range(repeat):
                order = runners if (index + again) % 2 == 0 else runners[::-1]
                for timing, run in order:
                    if again == 0:
                        run(timing, round_texts)
                    else:  # keep each call's fastest time
                        extra = Timing(timing.label, timing.batch, len(round_texts))
                        run(extra, round_texts)
                        first = len(timing.calls) - len(extra.calls)
                        for i, seconds in enumerate(extra.calls):
                            timing.calls[first + i] = min(timing.calls[first + i], seconds)
            if verbose:
                print(
                    f"  round {index + 1}/{len(rounds)} done "
                    f"(load average {os.getloadavg()[0]:.2f})",
                    file=sys.stderr,
                )
    finally:
        for counter in counters:
            counter.close()
    return base, rows


def raw_throughput(
    checkpoint: Path | str | None = None,
    hf_config: Path | str | None = None,
    *,
    n_comments: int = DEFAULT_COMMENTS,
    threads: int | None = DEFAULT_THREADS,
    batch_sizes: Sequence[int] = BATCH_SIZES,
    seed: int = 0,
    texts: Sequence[str] | None = None,
    repeat: int = DEFAULT_REPEAT,
    runtime: str = "torch",
    onnx_dir: Path | str | None = None,
    onnx_spinning: bool = False,
) -> dict[str, Any]:
    """The project scorer's best throughput over ``batch_sizes`` (model only, no app), for
    ``runtime`` (``onnx``: the export in ``onnx_dir``).

    Builds/reuses the bench model when no paths are given; scores ``texts`` (default:
    ``length_sample(n_comments, seed)``) at each batch size after a warm-up, as
    :func:`measure` does (``repeat`` times, fastest kept). Returns ``{"per_second", "batch",
    "ms_per_comment", "by_batch": {batch: comments/s}, "comments", "threads"}``. On 2 idle
    cores the six default batch sizes take about 2.8 s per comment and repetition (32 comments,
    2 repetitions: 3 minutes; 128 comments: 12 minutes); ``batch_sizes=(1, 2, 4, 8)`` about
    half of that.
    """
    if checkpoint is None or hf_config is None:
        checkpoint, hf_config = ensure_model()
    _set_threads(threads)
    texts = list(texts) if texts is not None else length_sample(n_comments, seed)
    extra: dict[str, Any] = {"onnx_dir": str(onnx_dir)} if onnx_dir else {}
    if onnx_spinning:
        extra["onnx_spinning"] = True
    scorer = load_scorer(Path(checkpoint), Path(hf_config), threads, runtime, **extra)
    _, timings = measure(texts, batch_sizes, scorer=scorer, repeat=repeat)
    best = max(timings, key=lambda t: t.per_second)
    return {
        "per_second": best.per_second,
        "batch": best.batch,
        "ms_per_comment": best.ms_per_comment,
        "by_batch": {t.batch: t.per_second for t in timings},
        "comments": len(texts),
        "threads": threads,
    }


def _token_counts(hf_config: Path, texts: Sequence[str]) -> list[int]:
    import transformers

    tokenizer = transformers.XLMRobertaTokenizer.from_pretrained(
        str(hf_config), local_files_only=True
    )
    return [len(ids) for ids in tokenizer(list(texts), verbose=False)["input_ids"]]


def _max_difference(a: Timing, b: Timing, single_window: Sequence[bool]) -> float:
    diffs = [
        abs(sa[name] - sb[name])
        for sa, sb, fits in zip(a.scores, b.scores, single_window, strict=True)
        if fits
        for name in sa
    ]
    return max(diffs, default=0.0)


def _print_table(base: Timing, rows: list[Timing]) -> None:
    header = (
        f"{'':22} {'batch':>5} {'calls':>5} {'comments/s':>10} {'x(a)':>6} "
        f"{'ms/comment':>10} {'x(a)':>6} {'p50 ms/call':>11} {'x(a)':>6} "
        f"{'p95 ms/call':>11} {'x(a)':>6} {'tokens':>7} {'padded':>7} {'us/token':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in [base, *rows]:
        p50, p95 = row.percentile_ms(50), row.percentile_ms(95)
        print(
            f"{row.label:22} {row.batch:>5} {len(row.calls):>5} {row.per_second:>10.2f} "
            f"{row.per_second / base.per_second:>6.2f} {row.ms_per_comment:>10.0f} "
            f"{row.ms_per_comment / base.ms_per_comment:>6.2f} {p50:>11.0f} "
            f"{p50 / base.percentile_ms(50):>6.2f} {p95:>11.0f} "
            f"{p95 / base.percentile_ms(95):>6.2f} {row.tokens or '?':>7} {row.padded or '?':>7} "
            f"{1e6 * row.seconds / row.padded if row.padded else float('nan'):>8.0f}"
        )
    print(
        "tokens: what the model saw (special tokens included); padded: positions it computed "
        "(batch x longest); us/token: microseconds per computed position"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=DEFAULT_COMMENTS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch threads")
    parser.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    parser.add_argument("--seed", type=int, default=0, help="which bench comments")
    parser.add_argument("--max-batch", type=int, default=None, help="DETOXIFY_MAX_BATCH")
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        help="score every round N times, keep each call's fastest time",
    )
    parser.add_argument(
        "--runtime-batches",
        default=",".join(map(str, RUNTIME_BATCHES)),
        help="batch sizes of the torch fp32 vs onnx int8 comparison",
    )
    parser.add_argument(
        "--runtimes-only",
        action="store_true",
        help="only compare torch fp32 and onnx int8 (skip (a) and the batch sizes of (b))",
    )
    args = parser.parse_args()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    runtime_batches = [int(b) for b in args.runtime_batches.split(",")]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local; never ask the hub

    started = time.monotonic()
    checkpoint, hf_config = ensure_model()
    import torch

    _set_threads(args.threads)
    texts = length_sample(args.comments, args.seed)
    tokens = _token_counts(hf_config, texts)
    words = [word_count(t) for t in texts]
    long_ones = sum(n > 512 for n in tokens)
    print(
        f"{len(texts)} French comments (seed {args.seed}, spread over the lengths of 256), "
        f"each scored {args.repeat}x (fastest kept): words per comment median "
        f"{statistics.median(words):.0f}, max {max(words)}; tokens median "
        f"{statistics.median(tokens):.0f}, mean {statistics.fmean(tokens):.0f}, max {max(tokens)}; "
        f"{long_ones} over 512 tokens"
    )
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}; model {checkpoint.name} (random weights)"
    )

    extra = {} if args.max_batch is None else {"max_batch": args.max_batch}
    if args.runtimes_only:
        _compare_runtimes(texts, checkpoint, hf_config, args.threads, runtime_batches, args, extra)
        _print_load(started)
        return
    print("loading (a) Detoxify and (b) the project's scorer ...", file=sys.stderr)
    detox = load_stock_detoxify(checkpoint, hf_config)
    scorer = load_scorer(checkpoint, hf_config, args.threads, **extra)
    base, rows = measure(
        texts, batch_sizes, scorer=scorer, detox=detox, repeat=args.repeat, verbose=True
    )
    assert base is not None
    windowed = rows[0].windowed
    max_batch = args.max_batch or getattr(getattr(scorer, "settings", None), "max_batch", "?")
    print(
        f"scorer: windows of {getattr(scorer, 'max_tokens', '?')} tokens, max_batch {max_batch}; "
        f"{sum(windowed)} comment(s) scored as several windows (Detoxify.predict truncates them)"
    )
    print()
    _print_table(base, rows)
    print()
    fits = [not w for w in windowed]
    diff = max(_max_difference(base, row, fits) for row in rows)
    print(f"check: largest |score (a) - score (b)| on one-window comments: {diff:.1e}")
    best = max(rows, key=lambda t: t.per_second)
    print(f"best raw batched throughput: {best.per_second:.2f} comments/s (batch {best.batch})")
    print()
    del detox
    _compare_runtimes(texts, checkpoint, hf_config, args.threads, runtime_batches, args, extra)
    _print_load(started)


def _print_load(started: float) -> None:
    elapsed = time.monotonic() - started
    print(f"load average now {os.getloadavg()[0]:.2f}; whole run {elapsed:.0f}s")


def _compare_runtimes(
    texts: Sequence[str],
    checkpoint: Path,
    hf_config: Path,
    threads: int | None,
    batch_sizes: Sequence[int],
    args: argparse.Namespace,
    extra: dict[str, Any],
) -> None:
    """torch fp32 vs onnx int8: the same scorer code, the same comments, taking turns."""
    onnx_dir, manifest = ensure_onnx_model(checkpoint, hf_config, threads=threads)
    probe = manifest["probe"]
    print(
        f"onnx int8: {onnx_dir} ({(onnx_dir / 'model.onnx').stat().st_size / 2**20:.0f} MiB, "
        f"opset {manifest['opset']}, {manifest['exporter']}); its export measured on "
        f"{probe['comments']} French probe comments ({probe['windowed']} windowed), "
        "largest |torch - onnx| per category (random weights: larger than a trained model's):"
    )
    print(
        "  " + ", ".join(f"{name} {row['max']:.4f}" for name, row in probe["differences"].items())
    )
    print("loading torch fp32 and onnx int8 scorers ...", file=sys.stderr)
    torch_scorer = load_scorer(checkpoint, hf_config, threads, **extra)
    onnx_scorer = load_scorer(
        checkpoint, hf_config, threads, runtime="onnx", onnx_dir=str(onnx_dir), **extra
    )
    labels = {"torch fp32": torch_scorer, "onnx int8": onnx_scorer}
    _, rows = measure_scorers(texts, batch_sizes, labels, repeat=args.repeat, verbose=True)
    print()
    header = (
        f"{'runtime':12} {'batch':>5} {'calls':>5} {'comments/s':>10} {'ms/comment':>10} "
        f"{'p50 ms/call':>11} {'p95 ms/call':>11}"
    )
    print(header)
    print("-" * len(header))
    for label in labels:
        for row in rows[label]:
            print(
                f"{label:12} {row.batch:>5} {len(row.calls):>5} {row.per_second:>10.2f} "
                f"{row.ms_per_comment:>10.0f} {row.percentile_ms(50):>11.0f} "
                f"{row.percentile_ms(95):>11.0f}"
            )
    for fp32, int8 in zip(rows["torch fp32"], rows["onnx int8"], strict=True):
        print(
            f"onnx int8 / torch fp32 at batch {fp32.batch}: "
            f"{int8.per_second / fp32.per_second:.2f}x the comments/s "
            f"({int8.per_second:.2f} vs {fp32.per_second:.2f}); p50 latency "
            f"{int8.percentile_ms(50):.0f} vs {fp32.percentile_ms(50):.0f} ms"
        )
    diffs = [
        abs(a[name] - b[name])
        for a, b in zip(rows["torch fp32"][0].scores, rows["onnx int8"][0].scores, strict=True)
        for name in a
    ]
    print(f"check: largest |torch - onnx| score on these {len(texts)} comments: {max(diffs):.4f}")


if __name__ == "__main__":
    main()
