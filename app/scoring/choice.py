"""The fastest accurate runtime of this machine, chosen by `model export --runtime auto`.

`measure` times each candidate scorer (torch on the CPU, the int8 ONNX export, torch on CUDA
where torch sees a GPU) on the French probe comments (`probe.PROBES`: short, long and windowed
ones), on the machine's own cores, after one warm-up pass, and compares each one's scores with
torch on the CPU (the reference); `best` keeps the fastest whose largest difference is within
the bound. `write` records the choice, with what was measured and the machine's CPU, as
``runtime.json`` in the export's folder (DETOXIFY_ONNX_DIR); the `auto` runtime
(DETOXIFY_RUNTIME=auto, the default) reads it when a scorer is made: a scoring machine then
runs its fastest accurate runtime without a setting. No file, a file made for another
checkpoint, or an unreadable one: torch, as configured (with a warning for the last two).
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.scoring import Scorer, ScorerSettings

logger = logging.getLogger(__name__)

CHOICE_FILE = "runtime.json"
CHOICE_FORMAT = 1


@dataclass(frozen=True)
class Measured:
    """One candidate on this machine: comments per second on the probes, the median seconds
    of one probe alone, and its largest score difference from torch on the CPU."""

    runtime: str
    device: str
    per_second: float
    p50_ms: float
    max_difference: float

    @property
    def label(self) -> str:
        return self.runtime if self.device == "cpu" else f"{self.runtime} ({self.device})"


def measure(
    name: str, device: str, scorer: Scorer, reference: list[dict[str, float]], texts: Sequence[str]
) -> Measured:
    """Time `scorer` (loaded) on `texts`, one at a time as a quiet site sends them, after a
    warm-up pass; its largest difference from `reference` (torch's scores of the same texts)."""
    scorer.score(list(texts[:2]))  # warm-up: first calls allocate
    seconds = []
    scores = []
    started = time.perf_counter()
    for text in texts:
        one = time.perf_counter()
        [result] = scorer.score([text])
        seconds.append(time.perf_counter() - one)
        scores.append(result.scores)
    total = time.perf_counter() - started
    difference = max(
        (abs(got[c] - want[c]) for got, want in zip(scores, reference, strict=True) for c in want),
        default=0.0,
    )
    seconds.sort()
    return Measured(name, device, len(texts) / total, seconds[len(seconds) // 2] * 1000, difference)


def best(measured: Sequence[Measured], bound: float) -> Measured:
    """The fastest candidate within `bound` of torch (torch on the CPU always is)."""
    accurate = [m for m in measured if m.max_difference <= bound]
    return max(accurate, key=lambda m: m.per_second)


def cpu_flags() -> list[str]:
    """The CPU features that decide int8 speed (AVX2, AVX-512 VNNI, AMX), as Linux lists them."""
    wanted = {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "amx_tile"}
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("flags"):
            return sorted(wanted & set(line.split(":", 1)[1].split()))
    return []


def write(folder: Path, chosen: Measured, measured: Sequence[Measured], version: str) -> Path:
    """Record the choice in the export's folder; the path written."""
    document = {
        "format": CHOICE_FORMAT,
        "runtime": chosen.runtime,
        "device": chosen.device,
        "model_version": version,
        "chosen_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": platform.processor() or platform.machine(), "flags": cpu_flags()},
        "measured": [m.__dict__ for m in measured],
    }
    path = folder / CHOICE_FILE
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def read(folder: str | None) -> dict[str, Any] | None:
    """The recorded choice of an export folder, or None (no folder, no file)."""
    if not folder:
        return None
    path = Path(folder) / CHOICE_FILE
    if not path.is_file():
        return None
    try:
        found: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        logger.warning("%s is unreadable (%s): scoring with torch", path, error)
        return None
    return found


def auto_scorer(settings: ScorerSettings) -> Scorer:
    """The `auto` runtime: what `model export --runtime auto` chose on this machine for this
    checkpoint, else torch as configured."""
    from app.scoring import get_scorer
    from app.scoring.detoxify import identity

    found = read(settings.onnx_dir)
    if found is None:
        return get_scorer(settings, runtime="torch")
    if found.get("model_version") != identity(settings)[1]:
        logger.warning(
            "%s was chosen for another model (%s): scoring with torch; run `model export "
            "--runtime auto` again",
            Path(settings.onnx_dir or "") / CHOICE_FILE,
            found.get("model_version"),
        )
        return get_scorer(settings, runtime="torch")
    if found.get("runtime") == "onnx":
        return get_scorer(replace(settings, device="cpu"), runtime="onnx")
    return get_scorer(replace(settings, device=str(found.get("device") or settings.device)),
                      runtime="torch")  # fmt: skip
