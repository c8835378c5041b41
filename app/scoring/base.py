"""What every runtime of a Detoxify model shares: loading once, and scoring in windows.

A runtime (:mod:`app.scoring.detoxify` for PyTorch, :mod:`app.scoring.onnx` for ONNX Runtime)
subclasses :class:`WindowedScorer` and only says how to load its model (``_load``), how to
explain a failed load (``_failure_message``) and how to run one forward pass (``_forward``:
padded token ids in, logits out). Everything that decides a score lives here, once:

* the thread-safe lazy load and its ``state`` / ``error`` (a failure is shared by the callers
  that waited for it, and ``score()`` does not retry it on every call);
* the overlapping windows of a long text (:mod:`app.scoring.windows`), whose scores are the
  maximum over the windows, category by category;
* batching: windows sorted by length, at most ``max_batch`` windows and ``max_batch_tokens``
  padded positions per forward pass;
* the sigmoid of the logits of the named classes only (as ``Detoxify.predict``), and no score
  at all when the model returns something that is not a number.

numpy is imported when scoring, never when this module is imported.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.scoring import ScoreResult, ScorerSettings, ScoringUnavailable
from app.scoring.windows import clamp_overlap, window_spans

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "LoadFailure",
    "Loaded",
    "WindowedScorer",
    "describe",
    "package_version",
    "sigmoid",
    "window_size",
]

logger = logging.getLogger(__name__)

Window = tuple[int, dict[str, list[int]]]
"""(index of the text, model inputs of one window without padding)."""


class LoadFailure(Exception):
    """A load failure whose message is already human-readable."""


@dataclass(frozen=True)
class Loaded:
    """What scoring needs from a loaded model, whatever runs it (runtimes add their model)."""

    tokenizer: Any
    classes: list[str]
    """The categories reported, in the model's order (its first outputs)."""
    max_tokens: int
    """Tokens per window, special tokens included."""
    special_tokens: int
    """Special tokens the tokenizer adds to one sequence ([CLS] + [SEP], <s> + </s>)."""


def package_version(name: str) -> str:
    """The installed version of a distribution (for the version stored with the scores)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def describe(exc: BaseException) -> str:
    """One line, no traceback: ``TypeName: message`` (messages can be multi-line)."""
    text = " ".join(str(exc).split())
    if len(text) > 400:
        text = text[:397] + "..."
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def window_size(limit: int | None, window_tokens: int, special_tokens: int) -> int:
    """Tokens per window: DETOXIFY_WINDOW_TOKENS, at most ``limit`` (what the model and its
    tokenizer accept, None: no limit); raises LoadFailure when no text would fit."""
    max_tokens = window_tokens if limit is None else min(window_tokens, limit)
    if max_tokens - special_tokens < 1:
        raise LoadFailure(
            f"windows of {max_tokens} tokens leave no room for text after {special_tokens} "
            "special tokens"
        )
    return max_tokens


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Probabilities of logits, in float64, without overflow warnings for large logits."""
    import numpy as np

    return np.exp(-np.logaddexp(0.0, -np.asarray(logits, dtype=np.float64)))


class WindowedScorer:
    """A model that loads once (thread-safe) and scores batches with overlapping windows.

    ``load()`` is idempotent; concurrent calls load once (and share a failure: callers that were
    waiting for a failing attempt get its error rather than each trying again). ``score()`` loads
    on first use; after a failed load it raises :class:`ScoringUnavailable` at once (it does not
    retry on every call): call ``load()`` to try again. One lock covers tokenization and the
    forward pass, so callers in several threads never share the tokenizer (or the model) mid-call.
    """

    inference_label = "Detoxify"
    """Names the runtime in « <label> inference failed: … »."""

    def __init__(self, settings: ScorerSettings, name: str, version: str) -> None:
        self.settings = settings
        self.name = name
        self.version = version
        self.categories: list[str] = []
        self._state = "not_loaded"
        self._error: str | None = None
        self._loaded: Loaded | None = None
        self._finished_attempts = 0
        self._last_exception: Exception | None = None
        self._load_lock = threading.Lock()
        self._inference_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self._state}>"

    @property
    def state(self) -> str:
        return self._state

    @property
    def error(self) -> str | None:
        return self._error

    @property
    def max_tokens(self) -> int | None:
        """Tokens per window (special tokens included) once loaded."""
        return self._loaded.max_tokens if self._loaded is not None else None

    # -- what a runtime provides -------------------------------------------------------------

    def _load(self) -> Loaded:
        """Load the model; raise LoadFailure (or any exception, see _failure_message)."""
        raise NotImplementedError

    def _failure_message(self, exc: Exception) -> str:
        """One human-readable line for a failed load."""
        return str(exc) if isinstance(exc, LoadFailure) else describe(exc)

    def _forward(self, loaded: Any, inputs: dict[str, np.ndarray]) -> np.ndarray:
        """Logits (batch x outputs) of one batch of padded windows (int64 arrays by name)."""
        raise NotImplementedError

    def _loaded_summary(self, loaded: Any) -> str:
        """Where the model runs, for the « loaded » log line."""
        return ""

    # -- loading -----------------------------------------------------------------------------

    def load(self) -> None:
        if self._loaded is not None:
            return
        finished_seen = self._finished_attempts
        with self._load_lock:
            if self._loaded is not None:
                return
            if self._finished_attempts != finished_seen and self._state == "failed":
                # Another thread's attempt failed while this one waited for the lock: share its
                # outcome instead of queueing one more (possibly slow) attempt per caller.
                raise ScoringUnavailable(self._error) from self._last_exception
            self._state = "loading"
            started = time.monotonic()
            try:
                loaded = self._load()
            except Exception as exc:
                message = self._failure_message(exc)
                self._finished_attempts += 1
                self._error = message
                self._last_exception = exc
                self._state = "failed"
                logger.warning("scorer %s failed to load: %s", self.name, message)
                raise ScoringUnavailable(message) from exc
            self._finished_attempts += 1
            self.categories = list(loaded.classes)
            self._loaded = loaded
            self._error = None
            self._last_exception = None
            self._state = "ready"
            logger.info(
                "scorer %s loaded in %.1fs%s (%s; windows of %d tokens)",
                self.name,
                time.monotonic() - started,
                self._loaded_summary(loaded),
                ", ".join(loaded.classes),
                loaded.max_tokens,
            )

    def loaded(self) -> Loaded:
        """The loaded model (loads it first); raises ScoringUnavailable."""
        return self._ready()

    def _ready(self) -> Any:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        if self._state == "failed":
            raise ScoringUnavailable(f"the {self.name} model is not available: {self._error}")
        self.load()
        assert self._loaded is not None
        return self._loaded

    # -- scoring -----------------------------------------------------------------------------

    def score(self, texts: Sequence[str]) -> list[ScoreResult]:
        if isinstance(texts, str):
            raise TypeError("score() takes a sequence of texts, not one string")
        batch = list(texts)
        for text in batch:
            if not isinstance(text, str):
                raise TypeError(f"texts must be strings, got {type(text).__name__}")
        if not batch:
            return []
        loaded = self._ready()
        with self._inference_lock:
            try:
                return self._score(loaded, batch)
            except Exception as exc:
                raise ScoringUnavailable(
                    f"{self.inference_label} inference failed: {describe(exc)}"
                ) from exc

    def _score(self, loaded: Loaded, texts: list[str]) -> list[ScoreResult]:
        import numpy as np

        windows = self._windows(loaded, texts)
        # Shortest first: every chunk is padded only to its own longest window.
        order = sorted(range(len(windows)), key=lambda i: len(windows[i][1]["input_ids"]))
        n_classes = len(loaded.classes)
        counts = [0] * len(texts)
        best = np.full((len(texts), n_classes), -1.0, dtype=np.float64)
        for indices in self._chunks(order, windows):
            chunk = [windows[i] for i in indices]
            features = {key: [w[key] for _, w in chunk] for key in chunk[0][1]}
            encoded = loaded.tokenizer.pad(features, padding=True, return_tensors="np")
            inputs = {key: np.asarray(value, dtype=np.int64) for key, value in encoded.items()}
            logits = np.asarray(self._forward(loaded, inputs))
            if logits.ndim != 2 or logits.shape[0] != len(chunk) or logits.shape[1] < n_classes:
                raise ValueError(
                    f"the model returned logits of shape {logits.shape} for {len(chunk)} windows "
                    f"and {n_classes} classes"
                )
            # Outputs past the named classes (e.g. the identity heads of "unbiased") are not
            # reported, as in Detoxify.predict. np.maximum keeps a NaN, which fails below.
            probs = sigmoid(logits[:, :n_classes])
            for (text_index, _), row in zip(chunk, probs, strict=True):
                best[text_index] = np.maximum(best[text_index], row)
                counts[text_index] += 1
        if not bool(np.isfinite(best).all()) or bool((best < 0).any()):
            raise ValueError("the model returned no finite score for some text")
        return [
            ScoreResult(
                scores={name: float(v) for name, v in zip(loaded.classes, row, strict=True)},
                windowed=counts[i] > 1,
            )
            for i, row in enumerate(best.tolist())
        ]

    def _chunks(self, order: list[int], windows: list[Window]) -> list[list[int]]:
        """Group windows (shortest first) into forward passes of at most `max_batch` windows
        and `max_batch_tokens` padded positions; a window longer than that goes alone."""
        chunks: list[list[int]] = []
        current: list[int] = []
        for i in order:
            length = len(windows[i][1]["input_ids"])  # the longest so far: order is ascending
            if current and (
                len(current) >= self.settings.max_batch
                or (len(current) + 1) * length > self.settings.max_batch_tokens
            ):
                chunks.append(current)
                current = []
            current.append(i)
        if current:
            chunks.append(current)
        return chunks

    def _windows(self, loaded: Loaded, texts: list[str]) -> list[Window]:
        """(text index, model inputs without padding) for every window of every text."""
        tokenizer = loaded.tokenizer
        body = loaded.max_tokens - loaded.special_tokens
        overlap = clamp_overlap(body, self.settings.window_stride)
        if getattr(tokenizer, "is_fast", False):
            # The tokenizer's own sliding window: whole-text tokenization, windows of `body`
            # tokens sharing `overlap` tokens, special tokens added to each window by the
            # tokenizer's post-processor. max_length is explicit, so a tokenizer config without
            # model_max_length cannot produce over-long inputs.
            encoded = tokenizer(
                texts,
                add_special_tokens=True,
                truncation=True,
                max_length=loaded.max_tokens,
                stride=overlap,
                return_overflowing_tokens=True,
                return_attention_mask=True,
            )
            mapping = encoded["overflow_to_sample_mapping"]
            keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in encoded]
            return [
                (int(text_index), {key: list(encoded[key][i]) for key in keys})
                for i, text_index in enumerate(mapping)
            ]
        # Python ("slow") tokenizers: tokenize without truncation or special tokens, cut the
        # same windows, let the tokenizer add its special tokens.
        all_ids = tokenizer(texts, add_special_tokens=False, return_attention_mask=False)
        windows: list[Window] = []
        for text_index, ids in enumerate(all_ids["input_ids"]):
            for start, end in window_spans(len(ids), body, overlap):
                input_ids = list(tokenizer.build_inputs_with_special_tokens(ids[start:end]))
                windows.append(
                    (text_index, {"input_ids": input_ids, "attention_mask": [1] * len(input_ids)})
                )
        return windows
