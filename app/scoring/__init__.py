"""Toxicity scoring: a small interface, and a registry of runtimes that implement it.

Nothing here imports Flask (but :func:`backend`, when called), torch, transformers or detoxify:
importing ``app.scoring`` is cheap and has no side effects. A runtime is looked up by name (like
Redash's query runners)::

    scorer = get_scorer(ScorerSettings(model="multilingual"), runtime="torch")
    scorer.load()                       # may take a while; raises ScoringUnavailable
    [result] = scorer.score(["un commentaire"])
    result.scores["toxicity"]

Two runtimes are registered here: ``"torch"`` (the Detoxify model run by PyTorch,
:mod:`app.scoring.detoxify`) and ``"onnx"`` (the same model exported to ONNX with int8 weights
by ``flask --app wsgi model export``, run by ONNX Runtime, :mod:`app.scoring.onnx`). They score
alike (:mod:`app.scoring.base`); other runtimes call :func:`register` with a factory taking
:class:`ScorerSettings`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from app.metrics import Metrics

__all__ = [
    "DEFAULT_RUNTIME",
    "STATES",
    "ScoreResult",
    "TextScores",
    "Scorer",
    "ScoringBackend",
    "ScoringTimeout",
    "ScorerFactory",
    "ScorerSettings",
    "ScoringUnavailable",
    "available_runtimes",
    "backend",
    "get_scorer",
    "register",
]

DEFAULT_RUNTIME = "auto"  # what `model export --runtime auto` chose here, else torch
STATES = ("not_loaded", "loading", "ready", "failed")

# Flask config key -> ScorerSettings field (see ScorerSettings.from_config).
_CONFIG_KEYS = {
    "DETOXIFY_MODEL": "model",
    "DETOXIFY_CHECKPOINT": "checkpoint",
    "DETOXIFY_HF_CONFIG": "hf_config",
    "DETOXIFY_DEVICE": "device",
    "DETOXIFY_THREADS": "threads",
    "DETOXIFY_WINDOW_TOKENS": "window_tokens",
    "DETOXIFY_WINDOW_STRIDE": "window_stride",
    "DETOXIFY_MAX_BATCH": "max_batch",
    "DETOXIFY_MAX_BATCH_TOKENS": "max_batch_tokens",
    "DETOXIFY_ONNX_DIR": "onnx_dir",
    "DETOXIFY_ONNX_SPINNING": "onnx_spinning",
}
_INT_FIELDS = {"threads", "window_tokens", "window_stride", "max_batch", "max_batch_tokens"}
_BOOL_FIELDS = {"onnx_spinning"}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_OPTIONAL_FIELDS = {"checkpoint", "hf_config", "threads", "onnx_dir"}


class ScoringUnavailable(Exception):
    """The model cannot be loaded or could not score: no score exists (never a made-up one).

    ``str(error)`` is a one-line, human-readable English message (no traceback); the original
    exception, if any, is chained as ``__cause__``.
    """


class ScoringTimeout(ScoringUnavailable):
    """No score came within the time a caller was ready to wait (the model is busy, or no
    worker took the texts): still no score, never a made-up one."""


@dataclass(frozen=True)
class ScorerSettings:
    """Plain settings of a scorer; the app translates its config into this (see from_config)."""

    model: str = "multilingual"
    """DETOXIFY_MODEL: original | unbiased | multilingual | original-small | unbiased-small."""
    checkpoint: str | None = None
    """DETOXIFY_CHECKPOINT: a local Detoxify ``.ckpt`` file (instead of downloading ``model``)."""
    hf_config: str | None = None
    """DETOXIFY_HF_CONFIG: a local folder with the Hugging Face config + tokenizer files."""
    device: str = "cpu"
    """DETOXIFY_DEVICE: any torch device (``cpu``, ``cuda``, ``cuda:1``, ``mps``)."""
    threads: int | None = None
    """DETOXIFY_THREADS: ``torch.set_num_threads`` (process-wide); None keeps torch's default."""
    window_tokens: int = 512
    """DETOXIFY_WINDOW_TOKENS: tokens per window, special tokens included (clamped to the model)."""
    window_stride: int = 128
    """DETOXIFY_WINDOW_STRIDE: tokens shared by consecutive windows of a long text."""
    max_batch: int = 32
    """DETOXIFY_MAX_BATCH: at most this many windows per forward pass."""
    max_batch_tokens: int = 512
    """DETOXIFY_MAX_BATCH_TOKENS: at most this many padded positions per forward pass (windows
    of similar length go together; a longer window goes alone). On a CPU, padding costs as
    much as real tokens: bench/scorer.py measured batches padded to 32 x 512 positions 3x
    slower than one comment at a time."""
    onnx_dir: str | None = None
    """DETOXIFY_ONNX_DIR: runtime ``onnx`` only, the folder written by ``flask model export``
    (the int8 model, its tokenizer and manifest.json)."""
    onnx_spinning: bool = False
    """DETOXIFY_ONNX_SPINNING: runtime ``onnx`` only, let ONNX Runtime's threads spin-wait
    between operations and after a call (``session.intra_op.allow_spinning``). Off by default:
    on cores shared with web processes the spinning burns the CPU they need (bench/production.py
    measured 30 ms of CPU burnt in the 100 ms after each call, and the model itself slower on
    a loaded machine); on a scoring machine of its own, turning it on may save a little."""

    def __post_init__(self) -> None:
        if not self.model and not self.checkpoint:
            raise ValueError("DETOXIFY_MODEL or DETOXIFY_CHECKPOINT must be set")
        if self.hf_config and not self.checkpoint:
            raise ValueError("DETOXIFY_HF_CONFIG needs DETOXIFY_CHECKPOINT")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"DETOXIFY_THREADS must be at least 1, got {self.threads}")
        if self.window_tokens < 8:
            raise ValueError(f"DETOXIFY_WINDOW_TOKENS must be at least 8, got {self.window_tokens}")
        if self.window_stride < 0:
            raise ValueError(f"DETOXIFY_WINDOW_STRIDE must be >= 0, got {self.window_stride}")
        if self.max_batch_tokens < 1:
            raise ValueError(
                f"DETOXIFY_MAX_BATCH_TOKENS must be at least 1, got {self.max_batch_tokens}"
            )
        if self.max_batch < 1:
            raise ValueError(f"DETOXIFY_MAX_BATCH must be at least 1, got {self.max_batch}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ScorerSettings:
        """Settings from a Flask-style mapping (``DETOXIFY_*`` keys; missing keys: defaults).

        Values may be strings (from the environment): integers are parsed, and an empty string
        means "not set" for the optional settings. Raises ValueError on a bad value.
        """
        values: dict[str, Any] = {}
        for key, name in _CONFIG_KEYS.items():
            value = config.get(key)
            if value is None:
                continue
            if isinstance(value, str):
                value = value.strip()
                if value == "":
                    if name in _OPTIONAL_FIELDS:
                        values[name] = None
                    continue
            if name in _BOOL_FIELDS and not isinstance(value, bool):
                if str(value).lower() not in _TRUE + _FALSE:
                    raise ValueError(f"{key} must be 0 or 1, got {value!r}")
                value = str(value).lower() in _TRUE
            if name in _INT_FIELDS:
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise ValueError(f"{key} must be an integer, got {value!r}") from None
            values[name] = value
        return cls(**values)

    def describe(self) -> dict[str, Any]:
        """The settings as a plain dict (for logs and status pages)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ScoreResult:
    """The scores of one text."""

    scores: dict[str, float]
    """Every category the model names, in the model's order, each a probability in [0, 1]."""
    windowed: bool
    """True when the text was longer than one window (scores are the max over its windows)."""


@dataclass(frozen=True)
class TextScores:
    """The scores of texts that are not comments (the API's), with the model that gave them."""

    results: list[ScoreResult]
    """One per text, in the order given."""
    model_name: str
    model_version: str


@runtime_checkable
class Scorer(Protocol):
    """A toxicity model. Implementations are thread-safe and load lazily."""

    name: str
    """E.g. ``detoxify-multilingual`` or ``detoxify-checkpoint:<file name>``."""
    version: str
    """Identifies the weights (e.g. file name + library version): store it with the scores."""
    categories: list[str]
    """The categories :meth:`score` reports, in order; empty until loaded."""

    def load(self) -> None:
        """Load the model once (idempotent, thread-safe); raises ScoringUnavailable.

        After a failure a later call tries again.
        """
        ...

    def score(self, texts: Sequence[str]) -> list[ScoreResult]:
        """One result per text, in order; raises ScoringUnavailable (never guesses a score)."""
        ...

    @property
    def state(self) -> str:
        """``not_loaded`` | ``loading`` | ``ready`` | ``failed``."""
        ...

    @property
    def error(self) -> str | None:
        """Why the last load failed (human-readable), or None."""
        ...


class ScoringBackend(Protocol):
    """Where comments go to be scored, as the web process sees it: the thread backend
    (:class:`app.worker.ScoringWorker`) or Celery's (:class:`app.tasks.CeleryScoring`).

    One per app, built by ``create_app`` and reached through :func:`backend`."""

    metrics: Metrics
    """The app's Prometheus metrics (the readers' waits are observed here)."""

    decides_in_request: bool
    """True where the model runs in the web process (the thread backend): a request claims
    the comment it stores and decides it itself once its text is scored (micro-batched with
    the others: services/scoring.score_claimed). False with Celery: the workers claim,
    score and decide, and the request waits for them."""

    def start(self) -> None:
        """Start whatever scores in this process (idempotent); called before each request."""
        ...

    def stop(self, timeout: float = 10) -> None:
        """Stop it, waiting at most `timeout` seconds."""
        ...

    def enqueue(self, comment_ids: Iterable[int]) -> bool:
        """Ask for these comments to be scored; False when they could not be queued (they are
        then already held for a moderator)."""
        ...

    def wait(self, comment_id: int, timeout: float) -> bool:
        """Block until this comment has been dealt with, or `timeout`; True if it was."""
        ...

    def score_texts(self, texts: Sequence[str], timeout: float) -> TextScores:
        """Score texts that are not stored comments (the API's: Perspective, Coral, CMSs),
        micro-batched with whatever other calls arrive together, through the same model as
        comments. Raises ScoringTimeout when no score came within `timeout` seconds, and
        ScoringUnavailable when the model (or every worker) cannot score: never a guess."""
        ...

    def model_version(self) -> str | None:
        """The version of the model in service (None when unknown): a score given by another
        version is not reused (services/drafts)."""
        ...

    def problem(self) -> str | None:
        """Why comments cannot be scored now (shown to staff), or None."""
        ...

    def status(self) -> dict[str, Any]:
        """The backend and the model's state, for /healthz and the admin pages."""
        ...

    def gauges(self) -> dict[str, tuple[str, float]]:
        """Extra gauges for /metrics: name -> (help, value)."""
        ...


_BACKEND_KEY = "scoring"  # in app.extensions


def backend() -> ScoringBackend:
    """The current app's scoring backend (needs an app context)."""
    from flask import current_app  # not at import: importing app.scoring stays Flask-free

    found: ScoringBackend = current_app.extensions[_BACKEND_KEY]
    return found


ScorerFactory = Callable[[ScorerSettings], Scorer]

_registry: dict[str, ScorerFactory] = {}
_registry_lock = threading.Lock()


def register(name: str, factory: ScorerFactory) -> None:
    """Make ``factory(settings)`` the scorer of runtime ``name`` (replacing any previous one).

    The factory must only construct the scorer: no model loading, no heavy imports.
    """
    if not name:
        raise ValueError("a runtime needs a name")
    with _registry_lock:
        _registry[name] = factory


def available_runtimes() -> list[str]:
    """Names of the registered runtimes, sorted."""
    with _registry_lock:
        return sorted(_registry)


def get_scorer(settings: ScorerSettings, runtime: str = DEFAULT_RUNTIME) -> Scorer:
    """A new, not yet loaded scorer of ``runtime``; raises ValueError for an unknown runtime."""
    with _registry_lock:
        factory = _registry.get(runtime)
        known = sorted(_registry)
    if factory is None:
        raise ValueError(f"unknown scoring runtime {runtime!r}; available: {', '.join(known)}")
    return factory(settings)


def _torch_scorer(settings: ScorerSettings) -> Scorer:
    from app.scoring.detoxify import DetoxifyScorer  # imports no torch until load()

    return DetoxifyScorer(settings)


def _onnx_scorer(settings: ScorerSettings) -> Scorer:
    from app.scoring.onnx import OnnxScorer  # imports no onnxruntime until load()

    return OnnxScorer(settings)


def _auto_scorer(settings: ScorerSettings) -> Scorer:
    from app.scoring.choice import auto_scorer  # reads the export folder's runtime.json

    return auto_scorer(settings)


register("torch", _torch_scorer)
register("onnx", _onnx_scorer)
register("auto", _auto_scorer)
