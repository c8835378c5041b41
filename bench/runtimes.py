"""Other CPU runtimes for the Detoxify model vs ONNX Runtime int8 dynamic (the project's).

    .venv/bin/python -m bench.runtimes [--threads 2] [--comments 48] [--repeat 1]
        [--batches 1,4,8,16] [--only ort-static,openvino-dynamic,...] [--max-diff 0.05]

On the full-size random-weights stand-in of Detoxify's ``multilingual`` model (:mod:`bench.model`,
built on first use) and the French comments of :mod:`bench.scorer` (``length_sample``, spread
over the lengths of 256), it times, in one run and taking turns (:func:`bench.scorer.
measure_scorers`: rounds of 16 comments, every runtime on each round, in alternating order):

* ``torch fp32``: the project's torch runtime (its forward pass), the accuracy reference;
* ``ORT int8 dynamic``: the project's export (:func:`bench.scorer.ensure_onnx_model`, i.e.
  :func:`app.scoring.export.export_onnx`), run by the project's ONNX scorer: the baseline;
* ``ORT int8 static``: ``onnxruntime.quantization.quantize_static`` (QDQ, MinMax calibration on
  50 other bench comments, uint8 activations, int8 7-bit weights as the project's export,
  MatMul/Gemm only) of the fp32 graph that the project's exporter makes before it quantizes
  (the export keeps none: it is made by the same ``_write_model`` with its quantization step
  replaced by keeping the graph), run by the project's ONNX scorer (same session options);
* ``OpenVINO`` (``INFERENCE_PRECISION_HINT`` f32 for what is not int8, the precision of the
  others; OpenVINO's default on CPUs with bf16 would be bf16), four ways to int8: reading the
  ORT int8 dynamic graph, reading the ORT static QDQ graph, the fp32 graph with int8 weights
  (``nncf.compress_weights``, INT8_ASYM), the fp32 graph quantized by ``nncf.quantize``
  (static, ``ModelType.TRANSFORMER``, the same 50 calibration comments);
* ``CTranslate2 int8``: ``TransformersConverter`` of the model saved with ``save_pretrained``
  (its encoder; CTranslate2 drops the classification head), ``Encoder.forward_batch`` on the
  token ids, then XLM-R's head (``<s>`` → dense → tanh → out_proj) in numpy. The converter
  needs two fixes, each tried only after its error (kept in ``conversion.txt``): transformers
  5's XLMRobertaConfig has no ``position_embedding_type`` (written into config.json), and the
  stand-in's tokenizer has fewer ids than embeddings (the unused rows are cut).

Every runtime gets the same input: the project's tokenizer, texts truncated to 512 tokens (the
scorer's windows of long texts are left out of this comparison: each runtime would repeat the
same windows), padded to the longest of the call; tokenization is part of the timed call. It
prints comments/s at batch 1 and at the best of ``--batches``, the p50 latency of a call at
batch 1, the largest |score - torch's| (sigmoid of all 16 outputs, over every batch size,
against torch at batch 1), each throughput as a ratio to ORT int8 dynamic, then a verdict per
runtime: ``keep`` if it beats ORT int8 dynamic by 15 % or more at batch 1 or at its best batch
and stays within ``ONNX_MAX_SCORE_DIFF`` (0.05) of torch, else ``drop`` and why. With random
weights the differences are those of the quantization on an untrained model (larger than a
trained model's, see :func:`bench.scorer.ensure_onnx_model`); the timings are what counts.

Conversions are made once into ``bench/.cache/multilingual-random-*`` (about 4 minutes on 2
cores the first time, besides :mod:`bench.model`'s build); a step that fails is reported with
its error and the runtime dropped. Needs ``openvino``, ``nncf`` and ``ctranslate2``
(``.venv/bin/pip install openvino nncf ctranslate2``; not project dependencies): a runtime
whose package is missing is reported as failed. The timing holds the eight models in memory
(about 11 GB) and takes about 4.5 minutes for 48 comments on 2 idle cores.

Batches here are the comments of the call in their order, padded to the longest: unlike the
project's scorer, which sorts a call's windows by length and caps the padded positions per
forward pass (``DETOXIFY_MAX_BATCH_TOKENS``), so batch > 1 costs more padding here than there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.comments import length_sample
from bench.model import CACHE_DIR, ensure_model
from bench.scorer import (
    DEFAULT_THREADS,
    ONNX_DIR,
    Timing,
    _max_difference,
    _set_threads,
    ensure_onnx_model,
    load_scorer,
    measure_scorers,
)

__all__ = ["BATCHES", "RUNTIMES", "Runtime", "main", "prepare_runtimes"]

BATCHES = (1, 4, 8, 16)
DEFAULT_COMMENTS = 48
DEFAULT_REPEAT = 1
MAX_TOKENS = 512
CALIBRATION_COMMENTS = 50
CALIBRATION_SEED = 1  # other comments than the timed ones (seed 0)
MAX_SCORE_DIFF = 0.05  # ONNX_MAX_SCORE_DIFF's default (app/config.py)
KEEP_GAIN = 0.15
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8")
PACKAGES = ("torch", "transformers", "onnx", "onnxruntime", "openvino", "nncf", "ctranslate2")

TORCH = "torch fp32"
BASELINE = "ORT int8 dynamic"
RUNTIMES = {
    "ort-static": "ORT int8 static QDQ",
    "openvino-dynamic": "OpenVINO <- ORT int8 dyn",
    "openvino-qdq": "OpenVINO <- ORT QDQ",
    "openvino-weights": "OpenVINO int8 weights",
    "openvino-nncf": "OpenVINO nncf.quantize",
    "ctranslate2": "CTranslate2 int8",
}
"""The candidates (``--only``), besides the reference and the baseline, always run."""

FP32_DIR = CACHE_DIR.parent / f"{CACHE_DIR.name}-onnx-fp32"
STATIC_DIR = CACHE_DIR.parent / f"{CACHE_DIR.name}-onnx-int8-static"
OPENVINO_DIR = CACHE_DIR.parent / f"{CACHE_DIR.name}-openvino"
CT2_DIR = CACHE_DIR.parent / f"{CACHE_DIR.name}-ct2-int8"
CT2_NOTE = "conversion.txt"


@dataclass
class Runtime:
    """One way of running the model, with :func:`bench.scorer.measure_scorers`'s ``score``."""

    label: str
    forward: Callable[[Any, Any], Any]
    """(input_ids, attention_mask), int64 arrays batch x longest, to logits batch x outputs."""
    tokenizer: Any
    detail: str = ""
    size: int = 0
    """Bytes of the model files."""

    def score(self, texts: Sequence[str]) -> list[Any]:
        import numpy as np

        from app.scoring import ScoreResult
        from app.scoring.base import sigmoid

        encoded = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=MAX_TOKENS,
            padding=True,
            return_tensors="np",
            verbose=False,
        )
        ids = np.asarray(encoded["input_ids"], dtype=np.int64)
        mask = np.asarray(encoded["attention_mask"], dtype=np.int64)
        probs = sigmoid(np.asarray(self.forward(ids, mask)))
        if probs.shape[0] != len(texts) or not bool(np.isfinite(probs).all()):
            raise ValueError(f"{self.label}: no finite scores of shape {probs.shape}")
        return [
            ScoreResult(scores={f"output {i}": float(p) for i, p in enumerate(row)}, windowed=False)
            for row in probs.tolist()
        ]


# -- the models -------------------------------------------------------------------------------


def _fresh(path: Path, source: Path) -> bool:
    return path.exists() and path.stat().st_mtime >= source.stat().st_mtime


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@contextmanager
def _building(target: Path) -> Iterator[Path]:
    """A temporary folder beside ``target``, renamed to it if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    work.chmod(0o755)
    try:
        yield work
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _onnx_folder(work: Path, like: Path, quantization: str) -> None:
    """Make ``work`` (holding a model.onnx) loadable by the project's ONNX scorer: the tokenizer,
    config and manifest of the folder ``like``, the manifest saying ``quantization``."""
    from app.scoring.onnx import MANIFEST_FILE, MODEL_FILE

    for path in like.iterdir():
        if path.is_file() and path.name not in (MODEL_FILE, MANIFEST_FILE):
            shutil.copy2(path, work / path.name)
    manifest = json.loads((like / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["quantization"] = quantization
    (work / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _keep_fp32(model_input: Any, model_output: Any, **_options: Any) -> None:
    """Stands for ``quantize_dynamic`` in the project's exporter: the fp32 graph is the output."""
    os.replace(model_input, model_output)


def ensure_fp32_onnx(torch_scorer: Any, int8_dir: Path, checkpoint: Path, target: Path) -> Path:
    """The fp32 ONNX graph of the project's export (which does not keep it), made once.

    :func:`app.scoring.export._write_model` itself (eager attention, dynamo exporter, opset
    18, the shape check), with ``onnxruntime.quantization.quantize_dynamic`` (imported by it
    when it runs) replaced by keeping the graph it was given.
    """
    from unittest import mock

    import onnxruntime.quantization

    from app.scoring import export

    if _fresh(target / "model.onnx", checkpoint):
        return target
    print(f"exporting the fp32 ONNX graph into {target} ...", file=sys.stderr)
    started = time.monotonic()
    with _building(target) as work:
        with mock.patch.object(onnxruntime.quantization, "quantize_dynamic", _keep_fp32):
            export._write_model(torch_scorer.loaded(), work)
        _onnx_folder(work, int8_dir, "none (the fp32 graph of the project's export)")
    print(f"  exported in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return target


def calibration_feeds(tokenizer: Any) -> list[dict[str, Any]]:
    """One model input per calibration comment (no padding), int64 as the graphs take."""
    import numpy as np

    feeds = []
    for text in length_sample(CALIBRATION_COMMENTS, CALIBRATION_SEED):
        encoded = tokenizer(text, truncation=True, max_length=MAX_TOKENS, return_tensors="np")
        feeds.append(
            {
                key: np.asarray(encoded[key], dtype=np.int64)
                for key in ("input_ids", "attention_mask")
            }
        )
    return feeds


def ensure_static_onnx(fp32_dir: Path, feeds: list[dict[str, Any]], target: Path) -> Path:
    """``quantize_static`` (QDQ) of the fp32 graph into ``target``, made once."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from app.scoring.export import _quiet_exporter

    if _fresh(target / "model.onnx", fp32_dir / "model.onnx"):
        return target

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter(feeds)

        def get_next(self) -> dict[str, Any] | None:
            return next(self._feeds, None)

    print(f"quantizing the fp32 graph (static, QDQ) into {target} ...", file=sys.stderr)
    started = time.monotonic()
    with _building(target) as work, _quiet_exporter():
        quantize_static(
            fp32_dir / "model.onnx",
            work / "model.onnx",
            Feeds(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul", "Gemm"],
            per_channel=False,
            reduce_range=True,  # 7-bit weights, as the project's export (see there)
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            # Bounded memory: ranges merged every 16 comments. Not a divisor of the number of
            # comments: onnxruntime 1.32 then empties its list after the last comment and
            # raises "No data is collected." (MinMaxCalibrater.collect_data).
            extra_options={"CalibMaxIntermediateOutputs": 16 + (len(feeds) % 16 == 0)},
        )
        _onnx_folder(work, fp32_dir, f"int8 static (quantize_static QDQ, {len(feeds)} comments)")
    print(f"  quantized in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return target


def ensure_openvino_weights(fp32_onnx: Path, target: Path) -> Path:
    """The fp32 graph in OpenVINO, its weights compressed to int8 by NNCF, made once."""
    import nncf
    import openvino as ov

    if _fresh(target, fp32_onnx):
        return target
    print(f"compressing the weights with nncf into {target} ...", file=sys.stderr)
    started = time.monotonic()
    model = nncf.compress_weights(ov.convert_model(str(fp32_onnx)))
    target.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(target), compress_to_fp16=False)
    print(f"  compressed in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return target


def ensure_openvino_quantized(fp32_onnx: Path, feeds: list[dict[str, Any]], target: Path) -> Path:
    """The fp32 graph in OpenVINO quantized by ``nncf.quantize`` (static int8), made once."""
    import nncf
    import openvino as ov

    if _fresh(target, fp32_onnx):
        return target
    print(f"quantizing with nncf.quantize into {target} ...", file=sys.stderr)
    started = time.monotonic()
    model = nncf.quantize(
        ov.convert_model(str(fp32_onnx)),
        nncf.Dataset(feeds),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(feeds),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(model, str(target), compress_to_fp16=False)
    print(f"  quantized in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return target


_CT2_FIXES = {
    # CTranslate2's XLMRobertaLoader asserts `config.position_embedding_type == "absolute"`,
    # an attribute transformers 5 no longer gives XLMRobertaConfig: XLM-R's value, written.
    "position_embedding_type": '"position_embedding_type": "absolute" added to config.json',
    # The converter wants as many vocabulary entries as embeddings: the stand-in's tokenizer
    # has 32,002 ids for 250,002 embeddings (xlm-roberta-base's has all 250,002); the rows
    # past the tokenizer's ids are never used, so they are cut (same computation).
    "Vocabulary has size": "embeddings cut to the tokenizer's ids (resize_token_embeddings)",
}


def _save_for_ct2(model: Any, tokenizer: Any, source: Path, fixes: Sequence[str]) -> None:
    import copy

    if source.exists():
        shutil.rmtree(source)
    if "Vocabulary has size" in fixes:
        model = copy.deepcopy(model)  # not the torch runtime's model
        model.resize_token_embeddings(len(tokenizer))
    model.save_pretrained(str(source))
    tokenizer.save_pretrained(str(source))
    if "position_embedding_type" in fixes:
        config_path = source / "config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["position_embedding_type"] = "absolute"
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")


def ensure_ct2(torch_scorer: Any, checkpoint: Path, target: Path) -> Path:
    """The model saved with ``save_pretrained`` and converted to CTranslate2 int8, made once.

    Tried as is first; each known converter error (:data:`_CT2_FIXES`) is reported, fixed in
    the saved folder, and the conversion tried again. ``conversion.txt`` keeps what happened.
    """
    from ctranslate2.converters import TransformersConverter

    if _fresh(target / "model.bin", checkpoint):
        return target
    print(f"converting to CTranslate2 int8 into {target} ...", file=sys.stderr)
    started = time.monotonic()
    loaded = torch_scorer.loaded()
    fixes: list[str] = []
    notes: list[str] = []
    with _building(target) as work:
        source, output = work / "hf", work / "ct2"
        while True:
            _save_for_ct2(loaded.model, loaded.tokenizer, source, fixes)
            try:
                TransformersConverter(str(source)).convert(
                    str(output), quantization="int8", force=True
                )
                break
            except (AttributeError, ValueError) as exc:
                error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
                fix = next((f for f in _CT2_FIXES if f in error and f not in fixes), None)
                if fix is None:
                    raise
                fixes.append(fix)
                notes.append(f"conversion failed: {error}; tried again with {_CT2_FIXES[fix]}")
                print(f"  {notes[-1]}", file=sys.stderr)
        note = "; ".join(notes) or "converted as is"
        (output / CT2_NOTE).write_text(note + "\n", encoding="utf-8")
        shutil.rmtree(source)
        for path in output.iterdir():
            path.rename(work / path.name)
        output.rmdir()
    print(f"  converted in {time.monotonic() - started:.0f}s", file=sys.stderr)
    return target


# -- the runtimes -----------------------------------------------------------------------------


def scorer_runtime(label: str, scorer: Any, tokenizer: Any, size: int, detail: str) -> Runtime:
    """The forward pass of one of the project's scorers (torch or ONNX Runtime, its options)."""
    loaded = scorer.loaded()

    def forward(ids: Any, mask: Any) -> Any:
        return scorer._forward(loaded, {"input_ids": ids, "attention_mask": mask})

    return Runtime(label, forward, tokenizer, detail, size)


def openvino_runtime(label: str, model: Path, tokenizer: Any, threads: int | None) -> Runtime:
    import openvino as ov

    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = ov.Core().compile_model(str(model), "CPU", config)
    request = compiled.create_infer_request()

    def forward(ids: Any, mask: Any) -> Any:
        request.infer({"input_ids": ids, "attention_mask": mask})
        return request.get_output_tensor(0).data.copy()

    size = _size(model) + (_size(model.with_suffix(".bin")) if model.suffix == ".xml" else 0)
    precision = compiled.get_property("INFERENCE_PRECISION_HINT")
    precision = getattr(precision, "get_type_name", lambda: precision)()
    detail = f"{model.name}, precision hint {precision}"
    return Runtime(label, forward, tokenizer, detail, size)


def ct2_runtime(
    label: str, folder: Path, model: Any, tokenizer: Any, threads: int | None
) -> Runtime:
    """CTranslate2's encoder, then XLM-R's ``RobertaClassificationHead`` in numpy (fp32)."""
    import ctranslate2
    import numpy as np

    encoder = ctranslate2.Encoder(
        str(folder), device="cpu", compute_type="int8", intra_threads=threads or 0
    )
    head = model.classifier

    def weights(linear: Any) -> tuple[Any, Any]:
        return (
            linear.weight.detach().float().numpy().T.copy(),
            linear.bias.detach().float().numpy().copy(),
        )

    (w1, b1), (w2, b2) = weights(head.dense), weights(head.out_proj)

    def forward(ids: Any, mask: Any) -> Any:
        output = encoder.forward_batch(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(ids, dtype=np.int32)),
            ctranslate2.StorageView.from_array(mask.sum(axis=1).astype(np.int32)),
        )
        first = np.asarray(output.last_hidden_state)[:, 0, :]  # <s>
        return np.tanh(first @ w1 + b1) @ w2 + b2

    note = (folder / CT2_NOTE).read_text(encoding="utf-8").strip()
    detail = f"compute type {encoder.compute_type}; numpy fp32 head; {note}"
    return Runtime(label, forward, tokenizer, detail, _size(folder))


def prepare_runtimes(
    checkpoint: Path,
    hf_config: Path,
    threads: int | None,
    only: Sequence[str],
) -> tuple[list[Runtime], dict[str, str]]:
    """``(runtimes, {label: error})``: the reference, the baseline and the ``only`` candidates
    that could be made and loaded; a failure is reported, not raised (bar the first two)."""
    import transformers

    failures: dict[str, str] = {}
    print("loading torch fp32 and the ORT int8 dynamic export ...", file=sys.stderr)
    torch_scorer = load_scorer(checkpoint, hf_config, threads)
    int8_dir, _ = ensure_onnx_model(checkpoint, hf_config, ONNX_DIR, threads)
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(hf_config), local_files_only=True)
    onnx_scorer = load_scorer(checkpoint, hf_config, threads, "onnx", onnx_dir=str(int8_dir))
    runtimes = [
        scorer_runtime(
            TORCH, torch_scorer, tokenizer, checkpoint.stat().st_size, "the project's runtime"
        ),
        scorer_runtime(
            BASELINE,
            onnx_scorer,
            tokenizer,
            _size(int8_dir / "model.onnx"),
            "the project's export and scorer",
        ),
    ]
    state: dict[str, Any] = {}

    def fp32() -> Path:
        if "fp32" not in state:
            state["fp32"] = ensure_fp32_onnx(torch_scorer, int8_dir, checkpoint, FP32_DIR)
        return state["fp32"]

    def feeds() -> list[dict[str, Any]]:
        if "feeds" not in state:
            state["feeds"] = calibration_feeds(tokenizer)
        return state["feeds"]

    def static() -> Path:
        if "static" not in state:
            state["static"] = ensure_static_onnx(fp32(), feeds(), STATIC_DIR)
        return state["static"]

    def ort_static() -> Runtime:
        folder = static()
        scorer = load_scorer(checkpoint, hf_config, threads, "onnx", onnx_dir=str(folder))
        detail = "quantize_static QDQ, MinMax, U8 activations, S8 7-bit weights"
        return scorer_runtime(
            RUNTIMES["ort-static"], scorer, tokenizer, _size(folder / "model.onnx"), detail
        )

    def openvino(key: str, model: Callable[[], Path]) -> Callable[[], Runtime]:
        return lambda: openvino_runtime(RUNTIMES[key], model(), tokenizer, threads)

    makers: dict[str, Callable[[], Runtime]] = {
        "ort-static": ort_static,
        "openvino-dynamic": openvino("openvino-dynamic", lambda: int8_dir / "model.onnx"),
        "openvino-qdq": openvino("openvino-qdq", lambda: static() / "model.onnx"),
        "openvino-weights": openvino(
            "openvino-weights",
            lambda: ensure_openvino_weights(
                fp32() / "model.onnx", OPENVINO_DIR / "int8-weights.xml"
            ),
        ),
        "openvino-nncf": openvino(
            "openvino-nncf",
            lambda: ensure_openvino_quantized(
                fp32() / "model.onnx", feeds(), OPENVINO_DIR / "nncf-quantize.xml"
            ),
        ),
        "ctranslate2": lambda: ct2_runtime(
            RUNTIMES["ctranslate2"],
            ensure_ct2(torch_scorer, checkpoint, CT2_DIR),
            torch_scorer.loaded().model,
            tokenizer,
            threads,
        ),
    }
    for key in only:
        label = RUNTIMES[key]
        started = time.monotonic()
        try:
            runtime = makers[key]()
            runtime.score(["Merci pour cet article.", "Une phrase un peu plus longue, ici."])
        except Exception as exc:  # any step of any library: reported, the runtime dropped
            failures[label] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:1500]}"
            print(f"  {label}: FAILED: {failures[label]}", file=sys.stderr)
            continue
        runtimes.append(runtime)
        print(f"  {label}: ready ({time.monotonic() - started:.0f}s)", file=sys.stderr)
    return runtimes, failures


# -- the report -------------------------------------------------------------------------------


def cpu_flags() -> str:
    flags: set[str] = set()
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            elif line.startswith("model name") and model == "?":
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    marks = ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in CPU_FLAGS)
    return f"{model}: {marks}"


def versions() -> str:
    from app.scoring.base import package_version

    return ", ".join(f"{name} {package_version(name)}" for name in PACKAGES)


@dataclass
class Row:
    label: str
    timings: list[Timing]
    difference: float
    size: int
    detail: str

    @property
    def first(self) -> Timing:
        return self.timings[0]

    @property
    def best(self) -> Timing:
        return max(self.timings, key=lambda t: t.per_second)


def verdict(row: Row, baseline: Row, max_diff: float) -> str:
    if row.label == TORCH:
        return "reference (accuracy)"
    if row.label == BASELINE:
        return "baseline (the project's runtime)"
    gain_first = row.first.per_second / baseline.first.per_second - 1
    gain_best = row.best.per_second / baseline.best.per_second - 1
    faster = max(gain_first, gain_best) >= KEEP_GAIN
    accurate = row.difference <= max_diff
    if faster and accurate:
        return f"keep: {gain_first:+.0%} at batch 1, {gain_best:+.0%} at best batch"
    reasons = []
    if not faster:
        reasons.append(
            f"not {KEEP_GAIN:.0%} faster than {BASELINE} ({gain_first:+.0%} at batch 1, "
            f"{gain_best:+.0%} at best batch)"
        )
    if not accurate:
        reasons.append(f"max |diff| from torch {row.difference:.4f} > {max_diff}")
    return "drop: " + "; ".join(reasons)


def print_report(rows: list[Row], failures: dict[str, str], max_diff: float) -> None:
    baseline = next(row for row in rows if row.label == BASELINE)
    header = (
        f"{'runtime':26} {'c/s b1':>7} {'c/s best':>8} {'(b)':>4} {'p50 ms b1':>9} "
        f"{'max|diff|':>9} {'x ORT b1':>8} {'x ORT best':>10} {'MiB':>5}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.label:26} {row.first.per_second:>7.2f} {row.best.per_second:>8.2f} "
            f"{row.best.batch:>4} {row.first.percentile_ms(50):>9.0f} {row.difference:>9.4f} "
            f"{row.first.per_second / baseline.first.per_second:>8.2f} "
            f"{row.best.per_second / baseline.best.per_second:>10.2f} {row.size / 2**20:>5.0f}"
        )
    for label in failures:
        print(f"{label:26} failed (see below)")
    print(
        "c/s: comments per second; b1: batch 1; best: the best batch size (b); p50 ms b1: median "
        "latency of a call at batch 1; max|diff|: largest |score - torch fp32 at batch 1| over "
        "the 16 sigmoid outputs of every comment at every batch size; x ORT: ratio to "
        f"{BASELINE}'s comments/s (batch 1, best batch); MiB: model files"
    )
    print()
    print("comments/s by batch size (p50 ms per call):")
    for row in rows:
        cells = "  ".join(
            f"b{t.batch} {t.per_second:6.2f} ({t.percentile_ms(50):5.0f})" for t in row.timings
        )
        print(f"  {row.label:26} {cells}")
    print()
    print("details:")
    for row in rows:
        print(f"  {row.label}: {row.detail}")
    print()
    print("verdicts:")
    for row in rows:
        print(f"  {row.label:26} {verdict(row, baseline, max_diff)}")
    for label, error in failures.items():
        print(f"  {label:26} drop: failed: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=DEFAULT_COMMENTS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="every runtime's")
    parser.add_argument("--seed", type=int, default=0, help="which bench comments")
    parser.add_argument("--batches", default=",".join(map(str, BATCHES)))
    parser.add_argument(
        "--repeat", type=int, default=DEFAULT_REPEAT, help="score every round N times, fastest kept"
    )
    parser.add_argument(
        "--only",
        default=",".join(RUNTIMES),
        help=f"candidates besides {TORCH} and {BASELINE} (default: all: {','.join(RUNTIMES)})",
    )
    parser.add_argument("--max-diff", type=float, default=MAX_SCORE_DIFF, help="for the verdicts")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    only = [key for key in args.only.split(",") if key]
    unknown = sorted(set(only) - set(RUNTIMES))
    if unknown:
        parser.error(f"unknown runtime(s) {', '.join(unknown)}; known: {', '.join(RUNTIMES)}")
    if batches[0] != 1:
        parser.error("--batches must start with 1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local; never ask the hub

    started = time.monotonic()
    checkpoint, hf_config = ensure_model()
    _set_threads(args.threads)
    runtimes, failures = prepare_runtimes(checkpoint, hf_config, args.threads, only)
    prepared = time.monotonic()

    texts = length_sample(args.comments, args.seed)
    tokens = [len(ids) for ids in runtimes[0].tokenizer(texts, verbose=False)["input_ids"]]
    print()
    print(f"CPU {cpu_flags()}; {os.cpu_count()} CPUs, {args.threads} threads per runtime")
    print(f"versions: {versions()}")
    print(
        f"{len(texts)} French comments (seed {args.seed}, spread over the lengths of 256), each "
        f"scored {args.repeat}x per batch size (fastest kept): tokens median "
        f"{statistics.median(tokens):.0f}, mean {statistics.fmean(tokens):.0f}, max "
        f"{max(tokens)}; {sum(n > MAX_TOKENS for n in tokens)} over {MAX_TOKENS}, truncated; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print("timing ...", file=sys.stderr)
    _, timings = measure_scorers(
        texts, batches, {r.label: r for r in runtimes}, repeat=args.repeat, verbose=True
    )
    reference = timings[TORCH][0]
    fits = [True] * len(texts)
    rows = [
        Row(
            runtime.label,
            timings[runtime.label],
            max(_max_difference(reference, t, fits) for t in timings[runtime.label]),
            runtime.size,
            runtime.detail,
        )
        for runtime in runtimes
    ]
    print()
    print_report(rows, failures, args.max_diff)
    print()
    print(
        f"load average now {os.getloadavg()[0]:.2f}; preparing {prepared - started:.0f}s, "
        f"timing {time.monotonic() - prepared:.0f}s"
    )


if __name__ == "__main__":
    main()
