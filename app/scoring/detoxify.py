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
Windows, batching and the lazy thread-safe load are shared with the other runtimes
(:class:`app.scoring.base.WindowedScorer`); this module loads the model and runs its forward pass.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.scoring import ScorerSettings
from app.scoring.base import (
    Loaded,
    LoadFailure,
    WindowedScorer,
    describe,
    package_version,
    window_size,
)
from app.scoring.windows import usable_positions

if TYPE_CHECKING:
    import numpy as np
    import torch

__all__ = ["DetoxifyScorer", "TorchLoaded", "identity"]

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


@dataclass(frozen=True)
class TorchLoaded(Loaded):
    """A loaded Detoxify model: its torch module and device, besides what scoring needs."""

    model: Any
    device: torch.device
    max_positions: int | None
    """Tokens the model and its tokenizer accept (None: no limit), before DETOXIFY_WINDOW_TOKENS."""


def identity(settings: ScorerSettings) -> tuple[str, str]:
    """(name, version) of the Detoxify model these settings load, as stored with its scores."""
    detoxify_version = package_version("detoxify")
    if settings.checkpoint:
        file_name = Path(settings.checkpoint).name
        return f"detoxify-checkpoint:{file_name}", f"{file_name} (detoxify {detoxify_version})"
    return f"detoxify-{settings.model}", f"{settings.model} (detoxify {detoxify_version})"


class DetoxifyScorer(WindowedScorer):
    """A Detoxify model run by PyTorch; loading and windowed scoring: see WindowedScorer."""

    def __init__(self, settings: ScorerSettings) -> None:
        super().__init__(settings, *identity(settings))

    def loaded(self) -> TorchLoaded:
        """The loaded model: torch module, tokenizer... (loads it first); raises
        ScoringUnavailable."""
        loaded = self._ready()
        assert isinstance(loaded, TorchLoaded)
        return loaded

    # -- loading ---------------------------------------------------------------------------

    def _failure_message(self, exc: Exception) -> str:
        s = self.settings
        if isinstance(exc, LoadFailure):
            return str(exc)
        reason = describe(exc)
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

    def _load(self) -> TorchLoaded:
        import torch
        from detoxify import detoxify as dx

        s = self.settings
        try:
            device = torch.device(s.device)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise LoadFailure(f"DETOXIFY_DEVICE {s.device!r} is not a torch device") from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise LoadFailure(f"DETOXIFY_DEVICE is {s.device!r} but CUDA is not available")
        if s.threads is not None:
            torch.set_num_threads(s.threads)  # process-wide
        if s.checkpoint and s.hf_config:
            model, tokenizer, classes = _load_offline(s.checkpoint, s.hf_config, device)
        elif s.checkpoint:
            if not Path(s.checkpoint).is_file():
                raise LoadFailure(f"DETOXIFY_CHECKPOINT {s.checkpoint} is not a file")
            model, tokenizer, classes = dx.load_checkpoint(checkpoint=s.checkpoint, device=s.device)
        else:
            if s.model not in dx.MODEL_URLS:
                raise LoadFailure(
                    f"unknown DETOXIFY_MODEL {s.model!r}; Detoxify knows "
                    f"{', '.join(sorted(dx.MODEL_URLS))}"
                )
            model, tokenizer, classes = dx.load_checkpoint(model_type=s.model, device=s.device)
        model.to(device)
        model.eval()
        classes = [str(c) for c in classes]
        outputs = int(model.config.num_labels)
        if not classes or len(classes) > outputs:
            raise LoadFailure(
                f"the checkpoint names {len(classes)} classes but the model has {outputs} outputs"
            )
        limit = _model_limit(model, tokenizer)
        special = int(tokenizer.num_special_tokens_to_add(pair=False))
        return TorchLoaded(
            tokenizer=tokenizer,
            classes=classes,
            max_tokens=window_size(limit, s.window_tokens, special),
            special_tokens=special,
            model=model,
            device=device,
            max_positions=limit,
        )

    def _loaded_summary(self, loaded: Any) -> str:
        return f" on {loaded.device}"

    # -- scoring ---------------------------------------------------------------------------

    def _forward(self, loaded: Any, inputs: dict[str, np.ndarray]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            tensors = {
                key: torch.from_numpy(value).to(loaded.device) for key, value in inputs.items()
            }
            logits = loaded.model(**tensors)[0]
            return logits.float().cpu().numpy()


def _model_limit(model: Any, tokenizer: Any) -> int | None:
    """Tokens (special tokens included) the model's positions and its tokenizer accept."""
    embeddings = getattr(model.base_model, "embeddings", None)
    padding_idx = None
    if hasattr(embeddings, "create_position_ids_from_input_ids"):  # RoBERTa family
        padding_idx = getattr(embeddings, "padding_idx", None)
    limit = usable_positions(getattr(model.config, "max_position_embeddings", None), padding_idx)
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tokenizer_limit, int) and 0 < tokenizer_limit < _NO_TOKENIZER_LIMIT:
        limit = tokenizer_limit if limit is None else min(limit, tokenizer_limit)
    return limit


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
        raise LoadFailure(f"DETOXIFY_CHECKPOINT {ckpt} is not a file")
    if not (folder / "config.json").is_file():
        raise LoadFailure(
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
        raise LoadFailure(
            f"DETOXIFY_CHECKPOINT {ckpt} is not a Detoxify checkpoint (it needs the config it "
            f"was trained with and the state dict): {describe(exc)}"
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
        raise LoadFailure(
            f"the checkpoint does not match {type(model).__name__}: "
            f"{'; '.join(problems)} parameters; refusing to score with random weights"
        )
