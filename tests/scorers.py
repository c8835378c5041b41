"""A scorer for tests that wraps the tiny real one: it records each model call's size, and is
slow or broken on demand (a model that takes too long, a model that is down)."""

from __future__ import annotations

import threading
import time
from typing import Any

from app.scoring import ScoringUnavailable


class SpyScorer:
    """The tiny model (`inner`), counting its calls (`calls`: each call's number of texts);
    `delay` seconds before each call; `broken`: it fails like a model that cannot load;
    `gate`: when set to an Event, each call waits for it (a model still busy, without a clock),
    and `finished` counts the calls that returned."""

    def __init__(self, inner: Any, delay: float = 0.0, broken: bool = False) -> None:
        self.inner, self.delay, self.broken = inner, delay, broken
        self.calls: list[int] = []
        self.gate: threading.Event | None = None
        self.finished = 0
        self.name, self.version = inner.name, inner.version

    @property
    def categories(self) -> list[str]:
        return list(self.inner.categories)

    @property
    def state(self) -> str:
        return "failed" if self.broken else str(self.inner.state)

    @property
    def error(self) -> str | None:
        return "boom" if self.broken else None

    def load(self) -> None:
        if self.broken:
            raise ScoringUnavailable("the model could not be loaded: boom")

    def score(self, texts: Any) -> Any:
        if self.broken:
            raise ScoringUnavailable("the model could not score: boom")
        self.calls.append(len(texts))
        time.sleep(self.delay)
        if self.gate is not None:
            self.gate.wait(timeout=60)
        try:
            return self.inner.score(texts)
        finally:
            self.finished += 1
