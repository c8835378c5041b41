"""The Detoxify model exported to ONNX with int8 weights, run by ONNX Runtime (runtime ``"onnx"``).

``flask --app wsgi model export`` (:mod:`app.scoring.export`) writes the folder this runtime
reads, ``DETOXIFY_ONNX_DIR``:

* ``model.onnx``: the configured Detoxify model with int8 weights (dynamic quantization); inputs
  ``input_ids`` and ``attention_mask`` (batch x sequence, int64), output ``logits``;
* the tokenizer files (``tokenizer.save_pretrained``) and the model's ``config.json``;
* ``manifest.json``: the classes, the model's token limit, the checkpoint it came from, and the
  largest score differences from the torch model measured on the probe comments.

Scores are computed exactly as with the torch runtime (same windows, batches, sigmoid and
classes: :class:`app.scoring.base.WindowedScorer`); only the forward pass differs. onnxruntime
and transformers are imported when the model loads, never when this module is imported.
"""

from __future__ import annotations

import json
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
from app.scoring.detoxify import identity as torch_identity

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "EXPORT_COMMAND",
    "MANIFEST_FILE",
    "MANIFEST_FORMAT",
    "MODEL_FILE",
    "MODEL_INPUTS",
    "OnnxLoaded",
    "OnnxScorer",
    "identity",
    "read_manifest",
]

MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
MODEL_INPUTS = ("input_ids", "attention_mask")
"""What the exported model takes. A single sequence's token_type_ids are all zero, which is
what BERT and RoBERTa models use when they get none."""
EXPORT_COMMAND = "flask --app wsgi model export"
RUNTIME_TAG = "onnx-int8"


def identity(settings: ScorerSettings) -> tuple[str, str]:
    """(name, version) stored with the scores: the torch model's, tagged onnx-int8."""
    name, version = torch_identity(settings)
    return (
        f"{RUNTIME_TAG}:{name}",
        f"{version}, {RUNTIME_TAG} (onnxruntime {package_version('onnxruntime')})",
    )


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of an exported folder; raises LoadFailure (one readable line)."""
    path = folder / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if manifest["format"] != MANIFEST_FORMAT:
            raise ValueError(f"format {manifest['format']!r}, expected {MANIFEST_FORMAT}")
        classes = [str(c) for c in manifest["classes"]]
        if not classes:
            raise ValueError("no classes")
        limit = manifest["max_positions"]
        if limit is not None and not isinstance(limit, int):
            raise ValueError(f"max_positions {limit!r}")
        str(manifest["source"]["name"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LoadFailure(
            f"{path} is not the manifest of a `{EXPORT_COMMAND}`: {describe(exc)}; "
            "run the export again"
        ) from exc
    return dict(manifest)


@dataclass(frozen=True)
class OnnxLoaded(Loaded):
    """A loaded ONNX model: its ONNX Runtime session and manifest, besides what scoring needs."""

    session: Any
    input_names: list[str]
    output_name: str
    manifest: dict[str, Any]


class OnnxScorer(WindowedScorer):
    """The int8 ONNX export of the configured Detoxify model (DETOXIFY_ONNX_DIR), on the CPU.

    Loading fails closed, with a one-line reason, when the folder is missing or incomplete, or
    holds the export of another checkpoint than the configured one (its scores would not be
    that model's). Loading and windowed scoring: see WindowedScorer.
    """

    inference_label = "ONNX Runtime"

    def __init__(self, settings: ScorerSettings) -> None:
        super().__init__(settings, *identity(settings))
        self.source_name = torch_identity(settings)[0]

    @property
    def folder(self) -> Path | None:
        return Path(self.settings.onnx_dir) if self.settings.onnx_dir else None

    def _loaded_summary(self, loaded: Any) -> str:
        return f" from {self.folder} (onnxruntime, CPU)"

    def _failure_message(self, exc: Exception) -> str:
        if isinstance(exc, LoadFailure):
            return str(exc)
        return f"could not load the ONNX model in DETOXIFY_ONNX_DIR {self.folder}: {describe(exc)}"

    def _load(self) -> OnnxLoaded:
        s = self.settings
        folder = self.folder
        if folder is None:
            raise LoadFailure(
                f"DETOXIFY_RUNTIME=onnx needs DETOXIFY_ONNX_DIR, the folder `{EXPORT_COMMAND}` "
                "writes"
            )
        if not (folder / MODEL_FILE).is_file() or not (folder / MANIFEST_FILE).is_file():
            raise LoadFailure(
                f"no exported ONNX model in DETOXIFY_ONNX_DIR {folder}: "
                f"run `{EXPORT_COMMAND}` first"
            )
        if s.device != "cpu":
            raise LoadFailure(
                f"DETOXIFY_RUNTIME=onnx runs on the CPU; DETOXIFY_DEVICE is {s.device!r}"
            )
        manifest = read_manifest(folder)
        source = str(manifest["source"]["name"])
        if source != self.source_name:
            raise LoadFailure(
                f"DETOXIFY_ONNX_DIR {folder} holds an export of {source}, not of the configured "
                f"model {self.source_name}: run `{EXPORT_COMMAND}` again"
            )

        import onnxruntime as ort
        import transformers

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: no notes about the graph on stderr
        if s.threads is not None:
            options.intra_op_num_threads = s.threads
        spinning = "1" if s.onnx_spinning else "0"
        options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
        options.add_session_config_entry("session.inter_op.allow_spinning", spinning)
        session = ort.InferenceSession(
            str(folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )
        input_names = [i.name for i in session.get_inputs()]
        unknown = sorted(set(input_names) - set(MODEL_INPUTS))
        if unknown:
            raise LoadFailure(
                f"{folder / MODEL_FILE} takes inputs {', '.join(unknown)}; "
                f"expected {', '.join(MODEL_INPUTS)}"
            )
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        special = int(tokenizer.num_special_tokens_to_add(pair=False))
        return OnnxLoaded(
            tokenizer=tokenizer,
            classes=[str(c) for c in manifest["classes"]],
            max_tokens=window_size(manifest["max_positions"], s.window_tokens, special),
            special_tokens=special,
            session=session,
            input_names=input_names,
            output_name=session.get_outputs()[0].name,
            manifest=manifest,
        )

    def _forward(self, loaded: Any, inputs: dict[str, np.ndarray]) -> np.ndarray:
        feed = {name: inputs[name] for name in loaded.input_names}
        return loaded.session.run([loaded.output_name], feed)[0]
