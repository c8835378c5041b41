"""The Detoxify model run by PyTorch (scoring runtime ``"torch"``).

torch, transformers and detoxify are imported inside :meth:`DetoxifyScorer.load`, never when this
module is imported, so that the app starts fast and a broken model install cannot break imports.

Loading follows Detoxify's own code (``detoxify.detoxify``) as closely as possible, so that the
scores are Detoxify's:

* ``DETOXIFY_MODEL`` only: ``detoxify.detoxify.load_checkpoint(model_type=...)``, exactly what
  ``Detoxify(model_type)`` does: the checkpoint is downloaded from GitHub by ``torch.hub`` (cached
  under ``$TORCH_HOME/hub/checkpoints``) and the config/tokenizer come from the Hugging Face hub
  (cached under ``$HF_HOME``).
* ``DETOXIFY_CHECKPOINT`` only: ``load_checkpoint(checkpoint=...)``, Detoxify's normal path (the
  base model's config and tokenizer still come from the hub or its cache).
* ``DETOXIFY_CHECKPOINT`` + ``DETOXIFY_HF_CONFIG``: fully offline, see :func:`_load_offline` for
  why Detoxify's own ``huggingface_config_path`` is not enough.

Scoring differs from ``Detoxify.predict`` on purpose in one way: long texts are split into
overlapping windows instead of being truncated at 512 tokens (see :mod:`app.scoring.windows`).
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import time
import urllib.error
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.scoring import ScoreResult, ScorerSettings, ScoringUnavailable
from app.scoring.windows import clamp_overlap, usable_positions, window_spans

if TYPE_CHECKING:
    import torch

__all__ = ["DetoxifyScorer"]

logger = logging.getLogger(__name__)

# Detoxify renames the original (Jigsaw 2018) class names when it loads a checkpoint; the mapping
# is a local variable of detoxify.detoxify.load_checkpoint, so it is repeated here for the
# offline path (which cannot use load_checkpoint, see _load_offline).
_STANDARD_NAMES = {
    "toxic": "toxicity",
    "identity_hate": "identity_attack",
    "severe_toxic": "severe_toxicity",
}

_OFFLINE_HINT = (
    "run `flask --app wsgi model download` or set DETOXIFY_CHECKPOINT and DETOXIFY_HF_CONFIG "
    "to local files"
)
# Tokenizers without a length limit report a huge model_max_length (transformers'
# VERY_LARGE_INTEGER); anything above this is treated as "no limit".
_NO_TOKENIZER_LIMIT = 1_000_000


class _LoadFailure(Exception):
    """A load failure whose message is already human-readable."""


@dataclass(frozen=True)
class _Loaded:
    model: Any
    tokenizer: Any
    classes: list[str]
    device: torch.device
    max_tokens: int
    """Tokens per window, special tokens included."""
    special_tokens: int
    """Special tokens the tokenizer adds to one sequence ([CLS] + [SEP], <s> + </s>)."""


def _package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _describe(exc: BaseException) -> str:
    """One line, no traceback: ``TypeName: message`` (messages can be multi-line)."""
    text = " ".join(str(exc).split())
    if len(text) > 400:
        text = text[:397] + "..."
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


class DetoxifyScorer:
    """A Detoxify model: loads once (thread-safe), scores batches with overlapping windows.

    ``load()`` is idempotent; concurrent calls load once (and share a failure: callers that were
    waiting for a failing attempt get its error rather than each trying again). ``score()`` loads
    on first use; after a failed load it raises :class:`ScoringUnavailable` at once (it does not
    retry on every call): call ``load()`` to try again. One lock covers tokenization and the
    forward pass, so callers in several threads never share the tokenizer (or the model) mid-call.
    """

    def __init__(self, settings: ScorerSettings) -> None:
        self.settings = settings
        detoxify_version = _package_version("detoxify")
        if settings.checkpoint:
            file_name = Path(settings.checkpoint).name
            self.name = f"detoxify-checkpoint:{file_name}"
            self.version = f"{file_name} (detoxify {detoxify_version})"
        else:
            self.name = f"detoxify-{settings.model}"
            self.version = f"{settings.model} (detoxify {detoxify_version})"
        self.categories: list[str] = []
        self._state = "not_loaded"
        self._error: str | None = None
        self._loaded: _Loaded | None = None
        self._finished_attempts = 0
        self._last_exception: Exception | None = None
        self._load_lock = threading.Lock()
        self._inference_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<DetoxifyScorer {self.name} {self._state}>"

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

    # -- loading ---------------------------------------------------------------------------

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
                "scorer %s loaded in %.1fs on %s (%s; windows of %d tokens)",
                self.name,
                time.monotonic() - started,
                loaded.device,
                ", ".join(loaded.classes),
                loaded.max_tokens,
            )

    def _failure_message(self, exc: Exception) -> str:
        s = self.settings
        if isinstance(exc, _LoadFailure):
            return str(exc)
        reason = _describe(exc)
        if s.checkpoint and s.hf_config:
            return f"could not load DETOXIFY_CHECKPOINT {s.checkpoint}: {reason}"
        if s.checkpoint:
            if isinstance(exc, OSError):
                return (
                    f"could not load DETOXIFY_CHECKPOINT {s.checkpoint}: {reason}; its base "
                    "model's config and tokenizer come from the Hugging Face hub unless "
                    "DETOXIFY_HF_CONFIG points to a local copy"
                )
            return f"could not load DETOXIFY_CHECKPOINT {s.checkpoint}: {reason}"
        if isinstance(exc, urllib.error.URLError):
            return (
                f"could not download the Detoxify {s.model!r} checkpoint: {reason}; {_OFFLINE_HINT}"
            )
        if isinstance(exc, OSError):
            return (
                f"could not load the Hugging Face config/tokenizer of the Detoxify {s.model!r} "
                f"model: {reason}; {_OFFLINE_HINT}"
            )
        return f"could not load the Detoxify {s.model!r} model: {reason}"

    def _load(self) -> _Loaded:
        import torch
        from detoxify import detoxify as dx

        s = self.settings
        try:
            device = torch.device(s.device)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise _LoadFailure(f"DETOXIFY_DEVICE {s.device!r} is not a torch device") from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise _LoadFailure(f"DETOXIFY_DEVICE is {s.device!r} but CUDA is not available")
        if s.threads is not None:
            torch.set_num_threads(s.threads)  # process-wide
        if s.checkpoint and s.hf_config:
            model, tokenizer, classes = _load_offline(s.checkpoint, s.hf_config, device)
        elif s.checkpoint:
            if not Path(s.checkpoint).is_file():
                raise _LoadFailure(f"DETOXIFY_CHECKPOINT {s.checkpoint} is not a file")
            model, tokenizer, classes = dx.load_checkpoint(checkpoint=s.checkpoint, device=s.device)
        else:
            if s.model not in dx.MODEL_URLS:
                raise _LoadFailure(
                    f"unknown DETOXIFY_MODEL {s.model!r}; Detoxify knows "
                    f"{', '.join(sorted(dx.MODEL_URLS))}"
                )
            model, tokenizer, classes = dx.load_checkpoint(model_type=s.model, device=s.device)
        model.to(device)
        model.eval()
        classes = [str(c) for c in classes]
        outputs = int(model.config.num_labels)
        if not classes or len(classes) > outputs:
            raise _LoadFailure(
                f"the checkpoint names {len(classes)} classes but the model has {outputs} outputs"
            )
        max_tokens, special = _window_size(model, tokenizer, s.window_tokens)
        return _Loaded(model, tokenizer, classes, device, max_tokens, special)

    # -- scoring ---------------------------------------------------------------------------

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
                raise ScoringUnavailable(f"Detoxify inference failed: {_describe(exc)}") from exc

    def _ready(self) -> _Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        if self._state == "failed":
            raise ScoringUnavailable(f"the {self.name} model is not available: {self._error}")
        self.load()
        assert self._loaded is not None
        return self._loaded

    def _score(self, loaded: _Loaded, texts: list[str]) -> list[ScoreResult]:
        import torch

        windows = self._windows(loaded, texts)
        # Shortest first: every chunk is padded only to its own longest window.
        order = sorted(range(len(windows)), key=lambda i: len(windows[i][1]["input_ids"]))
        n_classes = len(loaded.classes)
        counts = [0] * len(texts)
        with torch.inference_mode():
            best = torch.full((len(texts), n_classes), -1.0, dtype=torch.float32)
            for indices in self._chunks(order, windows):
                chunk = [windows[i] for i in indices]
                features = {key: [w[key] for _, w in chunk] for key in chunk[0][1]}
                encoded = loaded.tokenizer.pad(features, padding=True, return_tensors="pt")
                inputs = {key: value.to(loaded.device) for key, value in encoded.items()}
                logits = loaded.model(**inputs)[0]
                # Outputs past the named classes (e.g. the identity heads of "unbiased") are
                # not reported, as in Detoxify.predict.
                probs = torch.sigmoid(logits[:, :n_classes].float()).cpu()
                for (text_index, _), row in zip(chunk, probs, strict=True):
                    best[text_index] = torch.maximum(best[text_index], row)
                    counts[text_index] += 1
        if not bool(torch.isfinite(best).all()) or bool((best < 0).any()):
            raise ValueError("the model returned no finite score for some text")
        values = best.tolist()
        return [
            ScoreResult(
                scores={name: float(v) for name, v in zip(loaded.classes, row, strict=True)},
                windowed=counts[i] > 1,
            )
            for i, row in enumerate(values)
        ]

    def _chunks(
        self, order: list[int], windows: list[tuple[int, dict[str, list[int]]]]
    ) -> list[list[int]]:
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

    def _windows(self, loaded: _Loaded, texts: list[str]) -> list[tuple[int, dict[str, list[int]]]]:
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
        windows: list[tuple[int, dict[str, list[int]]]] = []
        for text_index, ids in enumerate(all_ids["input_ids"]):
            for start, end in window_spans(len(ids), body, overlap):
                input_ids = list(tokenizer.build_inputs_with_special_tokens(ids[start:end]))
                windows.append(
                    (text_index, {"input_ids": input_ids, "attention_mask": [1] * len(input_ids)})
                )
        return windows


def _window_size(model: Any, tokenizer: Any, window_tokens: int) -> tuple[int, int]:
    """(tokens per window, special tokens per window) for this model and tokenizer."""
    embeddings = getattr(model.base_model, "embeddings", None)
    padding_idx = None
    if hasattr(embeddings, "create_position_ids_from_input_ids"):  # RoBERTa family
        padding_idx = getattr(embeddings, "padding_idx", None)
    limit = usable_positions(getattr(model.config, "max_position_embeddings", None), padding_idx)
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < _NO_TOKENIZER_LIMIT:
        limit = tokenizer_limit if limit is None else min(limit, tokenizer_limit)
    max_tokens = window_tokens if limit is None else min(window_tokens, limit)
    special = int(tokenizer.num_special_tokens_to_add(pair=False))
    if max_tokens - special < 1:
        raise _LoadFailure(
            f"windows of {max_tokens} tokens leave no room for text after {special} special tokens"
        )
    return max_tokens, special


def _load_offline(
    checkpoint: str, hf_config: str, device: torch.device
) -> tuple[Any, Any, list[str]]:
    """Load a Detoxify checkpoint with only local files (no network, no hub cache needed).

    ``Detoxify(checkpoint=..., huggingface_config_path=...)`` is meant for offline use but is
    not: its ``get_model_and_tokenizer`` first runs
    ``config_class.from_pretrained(model_type, num_labels=...)`` with the *hub* name stored in
    the checkpoint (``bert-base-uncased``, ``xlm-roberta-base``...), before it looks at
    ``huggingface_config_path``. Offline with an empty cache that raises (an open upstream
    pull request, unitaryai/detoxify#126, fixes it the same way as here).

    Rather than copying Detoxify, this runs its own steps with one argument changed: the
    checkpoint is read as ``load_checkpoint`` reads it (``torch.load``, ``weights_only=False``;
    a Detoxify checkpoint holds its training config), the class names are renamed as
    ``load_checkpoint`` renames them, and Detoxify's ``get_model_and_tokenizer`` builds the
    model and tokenizer with ``model_type`` pointed at the local folder. When the folder's
    ``config.json`` has as many labels as the checkpoint has outputs, Detoxify's
    ``huggingface_config_path`` is passed too (everything ``local_files_only``); otherwise (a
    plain base-model config, e.g. 2 labels for a 16-output head) it is not, so that Detoxify
    builds the config itself with ``num_labels`` from the checkpoint, from the same local
    folder.

    Finally every model parameter is compared with the checkpoint: transformers only warns
    about weights it could not load and initialises them at random, which would produce
    made-up scores.
    """
    import torch
    import transformers
    from detoxify import detoxify as dx

    ckpt = Path(checkpoint)
    folder = Path(hf_config)
    if not ckpt.is_file():
        raise _LoadFailure(f"DETOXIFY_CHECKPOINT {ckpt} is not a file")
    if not (folder / "config.json").is_file():
        raise _LoadFailure(
            f"DETOXIFY_HF_CONFIG {folder} is not a folder with a config.json "
            "(and the tokenizer files) of the checkpoint's base model"
        )
    loaded = torch.load(str(ckpt), map_location=device, weights_only=False)
    try:
        arch = dict(loaded["config"]["arch"]["args"])
        raw_classes = list(loaded["config"]["dataset"]["args"]["classes"])
        state_dict = loaded["state_dict"]
        model_class = getattr(transformers, arch["model_name"])
        num_classes = int(arch["num_classes"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise _LoadFailure(
            f"DETOXIFY_CHECKPOINT {ckpt} is not a Detoxify checkpoint (it needs the config it "
            f"was trained with and the state dict): {_describe(exc)}"
        ) from exc
    classes = [_STANDARD_NAMES.get(c, c) for c in raw_classes]
    folder_config = model_class.config_class.from_pretrained(str(folder), local_files_only=True)
    same_head = folder_config.num_labels == num_classes
    arch["model_type"] = str(folder)
    model, tokenizer = dx.get_model_and_tokenizer(
        **arch,
        state_dict=state_dict,
        huggingface_config_path=str(folder) if same_head else None,
    )
    _check_weights(model, state_dict)
    return model, tokenizer, classes


def _check_weights(model: Any, state_dict: Mapping[str, Any]) -> None:
    """Raise unless every parameter of ``model`` equals the checkpoint's tensor of that name."""
    import torch

    missing: list[str] = []
    different: list[str] = []
    for name, param in model.named_parameters():
        source = state_dict.get(name)
        if source is None and "LayerNorm." in name:  # pre-2019 names, renamed on load
            legacy = name.replace("LayerNorm.weight", "LayerNorm.gamma")
            source = state_dict.get(legacy.replace("LayerNorm.bias", "LayerNorm.beta"))
        if source is None:
            missing.append(name)
        elif tuple(source.shape) != tuple(param.shape) or not torch.equal(
            source.to(device=param.device, dtype=param.dtype), param.detach()
        ):
            different.append(name)
    if missing or different:
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing from the checkpoint (e.g. {missing[0]})")
        if different:
            problems.append(f"{len(different)} not loaded as saved (e.g. {different[0]})")
        raise _LoadFailure(
            f"the checkpoint does not match {type(model).__name__}: "
            f"{'; '.join(problems)} parameters; refusing to score with random weights"
        )
