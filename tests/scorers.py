"""A scorer for tests that wraps the tiny real one: it records each model call's size, and is
slow or broken on demand (a model that takes too long, a model that is down)."""

from __future__ import annotations

import time
from typing import Any

from app.scoring import ScoringUnavailable


class SpyScorer:
    """The tiny model (`inner`), counting its calls (`calls`: each call's number of texts);
    `delay` seconds before each call; `broken`: it fails like a model that cannot load."""

    def __init__(self, inner: Any, delay: float = 0.0, broken: bool = False) -> None:
        self.inner, self.delay, self.broken = inner, delay, broken
        self.calls: list[int] = []
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
        return self.inner.score(texts)
