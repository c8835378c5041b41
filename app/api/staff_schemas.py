"""The requests and answers of `/api/v1/moderation` (app/api/staff.py), as pydantic models:
the same definitions validate the requests and write the OpenAPI document. The values are the
moderators' pages' own: queues `a-moderer`, `signales`, `rejetes`, `approuves`, `tous`; sorts
`recents`, `anciens`, `toxiques`, `attente`; the reject reasons of the page's list."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from app.api.schemas import ReasonOut
from app.converters import ID_MAX
from app.labels import QUEUES, REJECT_REASONS, SORTS
from app.models import CommentStatus, as_utc
from app.validators import text_problem

Action = Literal["approve", "reject", "keep"]

# ISO 8601 with its zone, `+00:00` (pydantic would write `Z`, or no zone for SQLite's dates).
When = Annotated[
    datetime, PlainSerializer(lambda value: as_utc(value).isoformat(), return_type=str)
]

PAGE_MAX = 100_000  # 2.5 million cards deep: past any queue, and far from an overflow


def _one_of(values: Mapping[str, Any], *, optional: bool = False) -> dict[str, Any]:
    """The OpenAPI `enum` of a field whose values are the keys of one of app/labels' tables
    (the one place they are spelled; the model's validator checks them there), and null for
    an `optional` one."""
    return {"enum": [*values, None] if optional else list(values)}


def _plain(value: str | None) -> str | None:
    """A text as the readers' forms take it: no control character, valid UTF-8."""
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _known(value: str | None, values: Mapping[str, Any]) -> str | None:
    if value is not None and value not in values:
        raise ValueError(f"Valeur non reconnue : {', '.join(values)}.")
    return value


class QueueCount(BaseModel):
    name: str = Field(json_schema_extra=_one_of(QUEUES))
    label: str
    """The queue's name on the moderators' pages (« À modérer »)."""
    count: int


class QueueCounts(BaseModel):
    """`GET /api/v1/moderation/queues`: every queue, in the pages' order."""

    queues: list[QueueCount]


class QueueQuery(BaseModel):
    """The filters of a queue's page (« Filtrer »), by the API's names."""

    model_config = ConfigDict(extra="forbid")

    sort: str = Field(default="recents", json_schema_extra=_one_of(SORTS))
    article_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    """Only this article's (or story's) comments."""
    reason: str | None = Field(default=None, max_length=60)
    """Only comments with this reason code (`category_hold`, `banned_word`…)."""
    category: str | None = Field(default=None, max_length=64)
    """Only comments with a reason in this model category (`insult`…)."""
    q: str | None = Field(default=None, max_length=200)
    """Words in the text or the author's name."""
    author: str | None = Field(default=None, max_length=254)
    """A guest's e-mail address (never an account's comments): staff tokens only."""
    account_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    """An account's comments."""
    page: int = Field(default=1, ge=1, le=PAGE_MAX)

    @field_validator("sort")
    @classmethod
    def _sort(cls, value: str) -> str:
        return _known(value, SORTS) or "recents"

    @field_validator("reason", "category", "q", "author")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _plain(value)


class StoryRef(BaseModel):
    id: int
    title: str
    url: str | None
    """The story's canonical URL on its site; null for an article of our own."""


class Author(BaseModel):
    name: str
    kind: Literal["account", "guest"]
    """`guest`: the address was typed, never verified."""
    account_id: int | None
    email: str | None
    """Shown as the moderators' pages show it: to staff tokens; null for a client key."""
    published: int
    """The author's comments published (an account's, or a guest address's)."""
    rejected: int


class ParentRef(BaseModel):
    id: int
    author: str
    body: str


class ModelRef(BaseModel):
    name: str
    version: str
    windowed: bool
    """A long text, scored window by window."""


class ReportOut(BaseModel):
    reason: str
    label: str
    note: str | None
    created_at: When


class Card(BaseModel):
    """A comment as a moderator's card shows it."""

    id: int
    version: int
    """Send it back with a decision: the decision applies only to this version."""
    status: CommentStatus
    status_label: str
    story: StoryRef
    parent: ParentRef | None
    depth: int
    author: Author
    body: str
    created_at: When
    decided_at: When | None
    awaiting_score: bool
    reasons: list[ReasonOut]
    author_message: str | None
    """What the author was told of a rejection."""
    scores: dict[str, float] | None
    model: ModelRef | None
    flagged: bool
    """In « Signalés »: readers' reports reached the threshold."""
    hidden: bool
    reports: list[ReportOut]
    report_burst: bool
    actions: list[Action]
    """The decisions the comment takes where it stands."""


class QueuePage(BaseModel):
    queue: str = Field(json_schema_extra=_one_of(QUEUES))
    page: int
    per_page: int
    total: int
    has_more: bool
    cards: list[Card]


class HistoryRow(BaseModel):
    id: int
    created_at: When
    actor: str
    """A staff member's name, `client:<name>` (an API client), « système », « modèle … »."""
    action: str
    action_label: str
    from_status: str | None
    to_status: str | None
    reason_code: str | None
    reason: str
    note: str | None


class CommentDetail(BaseModel):
    """`GET /api/v1/moderation/comments/{id}`: the card and the comment's history."""

    comment: Card
    history: list[HistoryRow]


class DecisionRequest(BaseModel):
    """`POST /api/v1/moderation/comments/{id}/decision`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    action: Action
    """`keep` (« Conserver »): a reported published comment stays, its reports are cleared."""
    version: int = Field(ge=1, le=ID_MAX)
    """The comment's `version` as last read: someone else's decision since is a 409."""
    reason: str | None = Field(
        default=None, json_schema_extra=_one_of(REJECT_REASONS, optional=True)
    )
    """Required to reject; shown to the author."""
    note: str | None = Field(default=None, max_length=500)
    """For the journal (staff only)."""

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        return _known(value, REJECT_REASONS)

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        return _plain(value)


class DecisionResponse(BaseModel):
    message: str
    comment: Card
