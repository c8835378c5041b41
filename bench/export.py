"""How long does the ONNX export of the full-size model take, step by step?

    .venv/bin/python -m bench.export [--keep DIR]

Exports the bench model (:mod:`bench.model`, built once under ``bench/.cache/``) with
:func:`app.scoring.export.export_onnx`, what ``flask model export`` runs, into a temporary
folder (or ``--keep DIR``), and prints the seconds of the whole export and of its steps that
touch the saved graph: the shape check (``_infer_shapes_again``: drop the stored shapes, infer
them again strictly) and the int8 quantization, with their share of the whole. About a
minute and 5 GB of memory on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.model import ensure_model
from bench.scorer import load_scorer


def _timed(seconds: dict[str, float], name: str, function: Callable[..., Any]) -> Callable:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[name] = time.monotonic() - started

    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="export into DIR and keep it")
    args = parser.parse_args()

    import onnxruntime.quantization

    import app.scoring.export as export

    checkpoint, hf_config = ensure_model()
    seconds: dict[str, float] = {}
    steps = {
        "shape check": (export, "_infer_shapes_again"),
        "int8 quantization": (onnxruntime.quantization, "quantize_dynamic"),
    }
    for name, (module, attribute) in steps.items():
        setattr(module, attribute, _timed(seconds, name, getattr(module, attribute)))
    scorer = load_scorer(checkpoint, hf_config)
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        output = args.keep or Path(folder) / "onnx"
        report = export.export_onnx(scorer, output, max_diff=1.0)
    print(f"{'export':<18} {report.seconds:6.1f} s  ({report.model_bytes / 2**20:.0f} MiB int8)")
    for name in steps:
        share = seconds[name] / report.seconds
        print(f"{name:<18} {seconds[name]:6.1f} s  {share:5.1%} of the export")
    print(f"largest score difference from torch: {report.largest.difference:.4f}")


if __name__ == "__main__":
    main()
