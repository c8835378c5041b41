"""Export the configured Detoxify model to ONNX with int8 weights, checked against torch.

:func:`export_onnx` (behind ``flask --app wsgi model export``):

1. takes the torch model as the ``torch`` runtime loaded it (:class:`DetoxifyScorer`, the
   production loading path);
2. exports it, with eager attention (see :func:`_write_model`), with
   ``torch.onnx.export(dynamo=True)``, opset 18: the ``torch.export``-based
   exporter, the default of torch 2.9+ (the TorchScript one is deprecated and bakes Python
   branches of transformers' attention masks into the graph, as its TracerWarnings say).
   Opset 18 is what torch's ONNX function library is written for, so no version conversion
   runs, and ONNX Runtime's quantizer and CPU kernels support it. Inputs ``input_ids`` and
   ``attention_mask`` have dynamic batch and sequence axes; the output is ``logits``;
3. drops the shapes the exporter stored for intermediate values (``value_info``: hints, which
   ONNX Runtime and its quantizer infer again) and infers them again with ONNX's strict shape
   inference (:func:`_infer_shapes_again`): a weight stored with a stale shape made the
   quantizer fail on some machines (issue #10), a real contradiction fails here, named;
4. quantizes every MatMul/Gemm weight and the embedding tables to int8
   (``onnxruntime.quantization.quantize_dynamic``, ``QuantType.QInt8`` with ``reduce_range``:
   7-bit weights, which do not saturate on CPUs without AVX-512 VNNI; activations are
   quantized on the fly). ONNX Runtime's optional pre-processing is not run: its symbolic shape
   inference fails on these graphs, and the exporter has already folded constants;
5. saves the tokenizer and the model's config beside it, and ``manifest.json``;
6. scores the probe comments (:data:`app.scoring.probe.PROBES`, some longer than one window)
   with both runtimes, through the same windowing code, and measures the largest difference
   per category. Beyond ``max_diff`` in any category nothing is saved.

Everything is written into a temporary folder beside the target and renamed at the end, so an
interrupted or refused export leaves neither a half-written folder nor a changed one behind.
A failed step is named in the error, with the versions of the packages that ran it
(:data:`EXPORT_PACKAGES`): what a report of an exporter break needs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.scoring import ScoreResult, ScoringUnavailable
from app.scoring.base import describe, package_version
from app.scoring.detoxify import DetoxifyScorer, TorchLoaded
from app.scoring.onnx import (
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    MODEL_FILE,
    MODEL_INPUTS,
    OnnxScorer,
)
from app.scoring.probe import PROBES

__all__ = ["OPSET", "CategoryDifference", "ExportError", "ExportReport", "export_onnx"]

OPSET = 18
EXPORTER = "torch.onnx.export(dynamo=True)"
QUANTIZATION = "int8 dynamic (onnxruntime quantize_dynamic, QInt8 weights, reduce_range)"
_SAMPLE = ("Merci pour cet article.", "Espèce de connard, retourne écrire pour ton torchon !")
_SHAPE_ONLY_ELEMENTS = 1024
"""Weights above this many values are given to the shape check by their shape alone."""
SHAPE_CHECK = "the shape check of the exported graph (onnx strict shape inference)"
EXPORT_PACKAGES = ("torch", "transformers", "onnx", "onnxscript", "onnx-ir", "onnxruntime")
"""The packages the export runs on, named with their versions when a step fails."""


class ExportError(Exception):
    """The export could not be made; ``str(error)`` is one readable line."""


@dataclass(frozen=True)
class CategoryDifference:
    """The largest |torch score - ONNX score| of one category over the probe comments."""

    category: str
    difference: float
    probe: int
    """Index in the probe comments of the comment where it was measured."""


@dataclass(frozen=True)
class ExportReport:
    output: Path
    source_name: str
    source_version: str
    differences: list[CategoryDifference]
    """One per category, in the model's order."""
    max_diff: float
    probes: Sequence[str]
    windowed_probes: int
    """Probe comments scored as several windows."""
    model_bytes: int
    seconds: float
    saved: bool

    @property
    def largest(self) -> CategoryDifference:
        return max(self.differences, key=lambda d: (math.isnan(d.difference), d.difference))

    @property
    def over_bound(self) -> list[CategoryDifference]:
        """The categories whose difference exceeds ``max_diff`` (a NaN always does)."""
        return [d for d in self.differences if not d.difference <= self.max_diff]


def export_onnx(
    torch_scorer: DetoxifyScorer,
    output: Path | str,
    *,
    max_diff: float,
    probes: Sequence[str] = PROBES,
) -> ExportReport:
    """Export, quantize and check ``torch_scorer``'s model into ``output`` (see module doc).

    Raises ScoringUnavailable when the torch model does not load, ExportError when the export
    fails. A difference beyond ``max_diff`` is no error: the report says ``saved=False``.
    """
    started = time.monotonic()
    loaded = torch_scorer.loaded()
    output = Path(output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{output.name}-export-", dir=output.parent))
        work.chmod(0o755)  # mkdtemp's 0700 would stay with the renamed folder
    except OSError as exc:
        raise ExportError(f"cannot write beside {output}: {describe(exc)}") from exc
    try:
        _write_model(loaded, work)
        manifest = _manifest(torch_scorer, loaded)
        _write_manifest(work, manifest)
        onnx_scorer = OnnxScorer(replace(torch_scorer.settings, onnx_dir=str(work)))
        try:
            onnx_scorer.load()
        except ScoringUnavailable as exc:
            raise ExportError(f"the exported model does not load: {exc}") from exc
        _check_tokenizer(loaded.tokenizer, onnx_scorer, probes)
        torch_results = torch_scorer.score(probes)
        onnx_results = onnx_scorer.score(probes)
        differences = _differences(loaded.classes, torch_results, onnx_results)
        report = ExportReport(
            output=output,
            source_name=torch_scorer.name,
            source_version=torch_scorer.version,
            differences=differences,
            max_diff=max_diff,
            probes=probes,
            windowed_probes=sum(r.windowed for r in torch_results),
            model_bytes=(work / MODEL_FILE).stat().st_size,
            seconds=time.monotonic() - started,
            saved=False,
        )
        if report.over_bound:
            return report
        manifest["probe"] = {
            "comments": len(probes),
            "windowed": report.windowed_probes,
            "max_score_diff": max_diff,
            "differences": {
                d.category: {"max": d.difference, "probe": d.probe} for d in differences
            },
        }
        _write_manifest(work, manifest)
        _replace(work, output)
        return replace(report, saved=True, seconds=time.monotonic() - started)
    except ExportError:
        raise
    except _StepFailed as failed:
        raise ExportError(
            f"could not export {torch_scorer.name}: {failed.step} failed: "
            f"{describe(failed.cause)} ({_versions()})"
        ) from failed.cause
    except ScoringUnavailable as exc:
        raise ExportError(f"scoring the probe comments failed: {exc}") from exc
    except Exception as exc:
        raise ExportError(f"could not export {torch_scorer.name}: {describe(exc)}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_model(loaded: TorchLoaded, folder: Path) -> None:
    """model.onnx (int8), the tokenizer files and config.json into ``folder``."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sample = loaded.tokenizer(list(_SAMPLE), padding=True, return_tensors="pt")
    inputs = {name: sample[name] for name in MODEL_INPUTS}
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence")
    fp32 = folder / "fp32"
    fp32.mkdir()
    # Eager attention: the graph of transformers' default (sdpa) attention carries a NaN guard
    # in every layer, about 12 % of ONNX Runtime's time; eager attention computes the same
    # scores, and its export runs ~15 % faster (bench/scorer.py --runtimes-only). The torch
    # runtime keeps its own attention: it is switched back after the export.
    attention = loaded.model.config._attn_implementation
    loaded.model.set_attn_implementation("eager")
    with _quiet_exporter(), _restored_attention(loaded.model, attention):
        with _step(EXPORTER):
            program = torch.onnx.export(
                loaded.model,
                (),
                kwargs=inputs,
                input_names=list(MODEL_INPUTS),
                output_names=["logits"],
                opset_version=OPSET,
                dynamo=True,
                dynamic_shapes={name: {0: batch, 1: sequence} for name in MODEL_INPUTS},
                external_data=False,
                verbose=False,
                report=False,
            )
        if program is None:  # only the TorchScript exporter returns nothing
            raise ExportError("torch.onnx.export returned no program")
        with _step("saving the ONNX graph"):
            program.save(str(fp32 / MODEL_FILE))
        with _step(SHAPE_CHECK):
            _infer_shapes_again(fp32 / MODEL_FILE)
        with _step("int8 quantization (onnxruntime quantize_dynamic)"):
            # 7-bit weights (`reduce_range`): without AVX-512 VNNI (AVX2 only) ONNX Runtime's
            # u8×s8 products saturate with full 8-bit weights and the scores drift (the tiny
            # test model moved by more than 0.05 on such a CPU); a model exported on one
            # machine runs on others, so always.
            quantize_dynamic(
                fp32 / MODEL_FILE,
                folder / MODEL_FILE,
                weight_type=QuantType.QInt8,
                reduce_range=True,
            )
    shutil.rmtree(fp32)
    loaded.tokenizer.save_pretrained(str(folder))
    loaded.model.config.save_pretrained(str(folder))


def _infer_shapes_again(path: Path) -> None:
    """Replace the graph's stored intermediate shapes by ONNX's own strict inference of them.

    The ``value_info`` the exporter stores are hints, which ONNX Runtime and its quantizer infer
    again; but ONNX's shape inference (the quantizer's too, even when not strict) refuses a
    weight whose tensor has another shape than the one stored for it: issue #10's « Inferred
    shape and existing shape differ in dimension 0: (32) vs (7) » is a transposed classifier
    weight stored with its untransposed shape. So they are dropped, and inferred again from the
    weights and the declared inputs and outputs, strictly: a real contradiction (an output
    declared with another shape than its node computes) fails this step, named, before the
    quantizer runs.

    Inference needs a weight's shape, not its data: it runs on a copy of the graph in which
    every weight of more than :data:`_SHAPE_ONLY_ELEMENTS` values is an input of its shape (the
    small ones, such as the shapes the graph reshapes to, keep their values): 0.7 s instead of
    13 s on the full-size model, with the same result.
    """
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    del graph.value_info[:]
    weights = [w for w in graph.initializer if math.prod(w.dims) > _SHAPE_ONLY_ELEMENTS]
    large = {w.name for w in weights}
    skeleton = onnx.ModelProto(ir_version=model.ir_version)
    skeleton.opset_import.extend(model.opset_import)
    skeleton.functions.extend(model.functions)
    skeleton.graph.node.extend(graph.node)
    skeleton.graph.input.extend(graph.input)
    skeleton.graph.input.extend(
        onnx.helper.make_tensor_value_info(w.name, w.data_type, list(w.dims)) for w in weights
    )
    skeleton.graph.output.extend(graph.output)
    skeleton.graph.initializer.extend(w for w in graph.initializer if w.name not in large)
    inferred = onnx.shape_inference.infer_shapes(
        skeleton, check_type=True, strict_mode=True, data_prop=True
    )
    graph.value_info.extend(inferred.graph.value_info)
    onnx.save(model, str(path))


class _StepFailed(Exception):
    def __init__(self, step: str, cause: Exception) -> None:
        super().__init__(step)
        self.step = step
        self.cause = cause


@contextlib.contextmanager
def _step(step: str) -> Iterator[None]:
    """An exception in the block is reported as a failure of ``step``."""
    try:
        yield
    except Exception as exc:
        raise _StepFailed(step, exc) from exc


def _versions() -> str:
    return ", ".join(f"{name} {package_version(name)}" for name in EXPORT_PACKAGES)


@contextlib.contextmanager
def _restored_attention(model: Any, attention: str) -> Iterator[None]:
    try:
        yield
    finally:
        model.set_attn_implementation(attention)


class _QuantizerChatter(logging.Filter):
    """Drops what onnxruntime's quantizer logs on the root logger, bar real warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "root":
            return True
        # It suggests its pre-processing, not run on purpose (see the module's doc).
        return record.levelno >= logging.WARNING and not str(record.msg).startswith(
            "Please consider to run pre-processing before quantization"
        )


# Loggers of the exporter that report every step at INFO, or note missing optional packages
# ("torchvision is not installed. Skipping ...").
_CHATTY_LOGGERS = ("onnxscript", "onnx_ir", "torch.onnx")


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's and the quantizer's known, harmless chatter (and only that)."""
    root = logging.getLogger()
    chatter = _QuantizerChatter()
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    with warnings.catch_warnings():
        # Every input shares the batch and sequence axes: the exporter notes it keeps one name.
        warnings.filterwarnings(
            "ignore", message=r"# The axis name: .* will not be used", category=UserWarning
        )
        # torch.export's own use of a deprecated pytree API (torch 2.13).
        warnings.filterwarnings(
            "ignore",
            message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
            category=FutureWarning,
        )
        root.addFilter(chatter)
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)
            root.removeFilter(chatter)


def _manifest(torch_scorer: DetoxifyScorer, loaded: TorchLoaded) -> dict[str, Any]:
    import onnxruntime
    import torch

    settings = torch_scorer.settings
    return {
        "format": MANIFEST_FORMAT,
        "model_file": MODEL_FILE,
        "inputs": list(MODEL_INPUTS),
        "output": "logits",
        "classes": list(loaded.classes),
        "outputs": int(loaded.model.config.num_labels),
        "max_positions": loaded.max_positions,
        "special_tokens": loaded.special_tokens,
        "window_tokens": loaded.max_tokens,
        "source": {
            "name": torch_scorer.name,
            "version": torch_scorer.version,
            "model": settings.model,
            "checkpoint": settings.checkpoint,
        },
        "exporter": f"{EXPORTER}, torch {torch.__version__}",
        "opset": OPSET,
        "quantization": QUANTIZATION,
        "onnxruntime": onnxruntime.__version__,
        "probe": None,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (folder / MANIFEST_FILE).write_text(text, encoding="utf-8")


def _check_tokenizer(tokenizer: Any, onnx_scorer: OnnxScorer, probes: Sequence[str]) -> None:
    """The saved tokenizer must cut the probe comments into the very same tokens."""
    saved = onnx_scorer.loaded().tokenizer
    for index, text in enumerate(probes):
        if tokenizer(text, verbose=False)["input_ids"] != saved(text, verbose=False)["input_ids"]:
            raise ExportError(
                f"the saved tokenizer does not tokenize probe comment #{index} as the model's does"
            )


def _differences(
    classes: Sequence[str], torch_results: list[ScoreResult], onnx_results: list[ScoreResult]
) -> list[CategoryDifference]:
    differences = []
    for category in classes:
        diffs = [
            abs(t.scores[category] - o.scores[category])
            for t, o in zip(torch_results, onnx_results, strict=True)
        ]
        worst = max(range(len(diffs)), key=lambda i: (math.isnan(diffs[i]), diffs[i]))
        differences.append(CategoryDifference(category, diffs[worst], worst))
    return differences


def _replace(work: Path, output: Path) -> None:
    """Put ``work`` in the place of ``output`` (an earlier export there is replaced)."""
    if output.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{output.name}-old-", dir=output.parent))
        output.rename(old / output.name)
        work.rename(output)
        shutil.rmtree(old, ignore_errors=True)
    else:
        work.rename(output)
