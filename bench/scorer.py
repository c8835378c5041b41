"""Raw scoring speed: stock ``Detoxify.predict`` one comment at a time vs the project's scorer.

    python bench/scorer.py [--comments 32] [--repeat 2] [--threads 2] [--batch-sizes 1,2,4,8,16,32]

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
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `app` and `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.comments import length_sample, word_count
from bench.model import ensure_model

__all__ = [
    "BATCH_SIZES",
    "DEFAULT_COMMENTS",
    "DEFAULT_REPEAT",
    "DEFAULT_THREADS",
    "Timing",
    "load_scorer",
    "load_stock_detoxify",
    "measure",
    "raw_throughput",
]

BATCH_SIZES = (1, 2, 4, 8, 16, 32)
DEFAULT_THREADS = 2  # the production machine has 2 cores
DEFAULT_COMMENTS = 32  # with DEFAULT_REPEAT: about 3.5 minutes in all on 2 idle cores
DEFAULT_REPEAT = 2
WARMUP_COMMENTS = 4


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
    checkpoint: Path, hf_config: Path, threads: int | None = DEFAULT_THREADS, **settings: Any
) -> Any:
    """The project's scorer (runtime ``torch``) on the local files, loaded."""
    from app.scoring import ScorerSettings, get_scorer

    scorer = get_scorer(
        ScorerSettings(
            model="multilingual",
            checkpoint=str(checkpoint),
            hf_config=str(hf_config),
            threads=threads,
            **settings,
        )
    )
    scorer.load()
    return scorer


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

    After a warm-up of each, the texts are taken in rounds of ``lcm(batch_sizes)`` texts and
    every way of scoring runs on each round, in alternating order: load from other processes
    on a shared machine then slows all of them alike instead of whichever ran at that time.
    With ``repeat`` > 1 each round is scored that many times and every call keeps its fastest
    time (robust to bursts of load; ``repeat`` times longer).
    Returns ``(timing of (a) or None, timings of (b) in batch_sizes order)``.
    """
    texts = list(texts)
    warmup = texts[:WARMUP_COMMENTS]
    runners: list[tuple[Timing, Callable[[Timing, Sequence[str]], None]]] = []
    counters: list[_TokenCounter] = []
    base = None
    try:
        if detox is not None:
            for text in warmup:
                detox.predict(text)
            counters.append(_TokenCounter(detox.model))
            base = Timing("(a) Detoxify.predict", 1, len(texts))
            runners.append((base, partial(_run_stock, detox, counters[-1])))
        scorer.score(warmup)
        counters.append(_TokenCounter(_model_of(scorer)))
        rows = [Timing("(b) project scorer", batch, len(texts)) for batch in batch_sizes]
        runners += [(row, partial(_run_scorer, scorer, counters[-1])) for row in rows]
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
) -> dict[str, Any]:
    """The project scorer's best throughput over ``batch_sizes`` (model only, no app).

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
    scorer = load_scorer(Path(checkpoint), Path(hf_config), threads)
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
    args = parser.parse_args()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
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

    print("loading (a) Detoxify and (b) the project's scorer ...", file=sys.stderr)
    detox = load_stock_detoxify(checkpoint, hf_config)
    extra = {} if args.max_batch is None else {"max_batch": args.max_batch}
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
    print(f"load average now {os.getloadavg()[0]:.2f}; whole run {time.monotonic() - started:.0f}s")
    print(f"best raw batched throughput: {best.per_second:.2f} comments/s (batch {best.batch})")


if __name__ == "__main__":
    main()
