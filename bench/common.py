"""What several benchmarks share."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence


def run_together(threads: Sequence[threading.Thread]) -> float:
    """Start these threads, wait for them all; the seconds from the first start to the end."""
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


class NoScorer:
    """The benchmark never scores: the app only needs a scorer object to start."""

    name = version = "none"
    categories: list[str] = []
    state = "not_loaded"
    error = None

    def load(self) -> None: ...

    def score(self, texts: list[str]) -> list[object]:
        raise RuntimeError("not used")
