"""The requests and answers of `/api/v1`, as pydantic models: one definition validates a
request and is the OpenAPI 3.1 document's schema (app/api/spec.py), never a hand-kept spec
beside the code. Strict: a number is not a string, "true" is not true,
an unknown field is refused (a typo never passes silently)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    code: str
    """Stable: a client may branch on it (`invalid_field`, `quota_exceeded`, …)."""
    message: str
    """For a person, in French; may change."""
    field: str | None
    """The request field refused (`texts.2`, `body`), or null."""


class ErrorBody(BaseModel):
    """Every refusal of `/api/v1`, whatever its status."""

    error: ErrorDetail


class ScoreRequest(BaseModel):
    """`POST /api/v1/score`: one text (`text`) or several (`texts`), not both."""

    model_config = ConfigDict(extra="forbid", strict=True)

    text: str | None = None
    texts: list[str] | None = Field(default=None, min_length=1)
    format: Literal["text", "html"] = "text"
    """`html`: the text a reader sees is scored (tags dropped, entities decoded)."""
    nudge: bool = True
    """Whether the caller can offer its author the nudge (« reformuler ») before publishing."""


class ModelInfo(BaseModel):
    name: str
    version: str


class ReasonOut(BaseModel):
    code: str
    category: str | None
    score: float | None
    threshold: float | None
    detail: str | None
    message: str
    """The reason in French words, as « Réglages » and the journal say it."""


class WordOut(BaseModel):
    list: Literal["banned", "suspect"]
    entry: str
    """The list's entry as the admin wrote it."""
    text: str
    """What matched in the text; `start`/`end` index the scored text in code points."""
    start: int
    end: int


class TextResult(BaseModel):
    scores: dict[str, float]
    verdict: Literal["publish", "hold", "reject", "nudge"]
    reasons: list[ReasonOut]
    words: list[WordOut]
    author_message: str | None
    """What the site would tell the author (French), None when published."""
    windowed: bool


class ScoreResponse(BaseModel):
    model: ModelInfo
    results: list[TextResult]
    """One per text, in the order sent."""
