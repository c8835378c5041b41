"""What several benchmarks share."""

from __future__ import annotations


class NoScorer:
    """The benchmark never scores: the app only needs a scorer object to start."""

    name = version = "none"
    categories: list[str] = []
    state = "not_loaded"
    error = None

    def load(self) -> None: ...

    def score(self, texts: list[str]) -> list[object]:
        raise RuntimeError("not used")
