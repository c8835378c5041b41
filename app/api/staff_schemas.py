"""The requests and answers of `/api/v1/moderation` (app/api/staff.py), as pydantic models:
the same definitions validate the requests and write the OpenAPI document. The values are the
moderators' pages' own: queues `a-moderer`, `signales`, `rejetes`, `approuves`, `tous`; sorts
`recents`, `anciens`, `toxiques`, `attente`; the reject reasons of the page's list."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, PlainSerializer, field_validator

from app.api.schemas import ApiModel, ReasonOut
from app.converters import ID_MAX
from app.labels import GROUND_LABELS, QUEUES, REJECT_REASONS, SORTS
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


class QueueCount(ApiModel):
    """Une file et son nombre de commentaires."""

    name: str = Field(json_schema_extra=_one_of(QUEUES))
    """Le nom de la file dans l’adresse (`a-moderer`)."""
    label: str
    """Son nom sur les pages des modérateurs (« À modérer »)."""
    count: int
    """Le nombre de commentaires qu’elle contient."""


class QueueCounts(ApiModel):
    """`GET /api/v1/moderation/queues` : toutes les files, dans l’ordre des pages."""

    queues: list[QueueCount]


class QueueQuery(ApiModel):
    """Les filtres de la page d’une file (« Filtrer »), sous les noms de l’API."""

    model_config = ConfigDict(extra="forbid")

    sort: str = Field(default="recents", json_schema_extra=_one_of(SORTS))
    """L’ordre des fiches."""
    article_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    """Seulement les commentaires de cet article."""
    reason: str | None = Field(default=None, max_length=60)
    """Seulement les commentaires qui ont ce code de raison (`category_hold`,
    `banned_word`…)."""
    category: str | None = Field(default=None, max_length=64)
    """Seulement les commentaires qui ont une raison dans cette catégorie du modèle
    (`insult`…)."""
    q: str | None = Field(default=None, max_length=200)
    """Des mots du texte ou du nom de l’auteur."""
    author: str | None = Field(default=None, max_length=254)
    """L’adresse e-mail d’un invité (jamais les commentaires d’un compte) : jetons de l’équipe
    seulement."""
    account_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    """Les commentaires d’un compte."""
    page: int = Field(default=1, ge=1, le=PAGE_MAX)
    """La page (25 fiches par page)."""

    @field_validator("sort")
    @classmethod
    def _sort(cls, value: str) -> str:
        return _known(value, SORTS) or "recents"

    @field_validator("reason", "category", "q", "author")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        return _plain(value)


class StoryRef(ApiModel):
    """L’article d’un commentaire."""

    id: int
    title: str
    url: str | None
    """L’URL canonique de l’article sur son site ; null pour un article du site lui-même."""


class Author(ApiModel):
    """L’auteur d’un commentaire, comme le montre la fiche."""

    name: str
    kind: Literal["account", "guest"]
    """`guest` : l’adresse a été tapée, jamais vérifiée."""
    account_id: int | None
    """Le compte de l’auteur, ou null pour un invité."""
    email: str | None
    """Montrée comme sur les pages des modérateurs : aux jetons de l’équipe ; null pour une
    clé de client."""
    published: int
    """Les commentaires publiés de l’auteur (d’un compte, ou d’une adresse d’invité)."""
    rejected: int
    """Ses commentaires rejetés."""


class ParentRef(ApiModel):
    """Le commentaire auquel celui-ci répond."""

    id: int
    author: str
    body: str


class ModelRef(ApiModel):
    """Le modèle qui a noté le commentaire."""

    name: str
    version: str
    windowed: bool
    """Un texte long, noté fenêtre par fenêtre."""


class ReportOut(ApiModel):
    """Un signalement d’un lecteur."""

    reason: str
    """Le code de la raison."""
    label: str
    """La raison en mots."""
    note: str | None
    """La précision du lecteur, s’il en a donné une."""
    created_at: When


class Card(ApiModel):
    """Un commentaire comme le montre la fiche d’un modérateur."""

    id: int
    version: int
    """À renvoyer avec une décision : elle ne s’applique qu’à cette version."""
    status: CommentStatus
    status_label: str
    """Le statut en mots."""
    story: StoryRef
    parent: ParentRef | None
    depth: int
    """La profondeur de la réponse (0 : un commentaire de premier niveau)."""
    author: Author
    body: str
    created_at: When
    decided_at: When | None
    """La dernière décision, ou null."""
    awaiting_score: bool
    """Pas encore noté par le modèle."""
    reasons: list[ReasonOut]
    author_message: str | None
    """Ce qui a été dit à l’auteur d’un rejet."""
    scores: dict[str, float] | None
    """Le score de chaque catégorie du modèle, ou null avant la notation."""
    model: ModelRef | None
    flagged: bool
    """Dans « Signalés » : les signalements des lecteurs ont atteint le seuil."""
    hidden: bool
    """Masqué aux lecteurs en attendant la décision."""
    reports: list[ReportOut]
    report_burst: bool
    """Beaucoup de signalements en peu de temps."""
    actions: list[Action]
    """Les décisions possibles dans l’état où il est."""


class QueuePage(ApiModel):
    """Une page d’une file."""

    queue: str = Field(json_schema_extra=_one_of(QUEUES))
    page: int
    per_page: int
    total: int
    """Le nombre de fiches de la file avec ces filtres."""
    has_more: bool
    """Si une page suit."""
    cards: list[Card]


class HistoryRow(ApiModel):
    """Une ligne du journal d’un commentaire."""

    id: int
    created_at: When
    actor: str
    """Le nom d’un membre de l’équipe, `client:<nom>` (un client de l’API), « système »,
    « modèle … »."""
    action: str
    action_label: str
    """L’action en mots."""
    from_status: str | None
    to_status: str | None
    reason_code: str | None
    reason: str
    """La raison en mots."""
    note: str | None
    """La note de l’équipe."""


class CommentDetail(ApiModel):
    """`GET /api/v1/moderation/comments/{id}` : la fiche et l’historique du commentaire."""

    comment: Card
    history: list[HistoryRow]


class DecisionRequest(ApiModel):
    """`POST /api/v1/moderation/comments/{id}/decision`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    action: Action
    """`keep` (« Conserver ») : un commentaire publié et signalé reste, ses signalements sont
    écartés."""
    version: int = Field(ge=1, le=ID_MAX)
    """La `version` du commentaire lu en dernier : une décision prise depuis par quelqu’un
    d’autre donne un 409."""
    reason: str | None = Field(
        default=None, json_schema_extra=_one_of(REJECT_REASONS, optional=True)
    )
    """Obligatoire pour rejeter ; montrée à l’auteur."""
    note: str | None = Field(default=None, max_length=500)
    """Pour le journal (l’équipe seulement)."""
    ground: str | None = Field(
        default=None, json_schema_extra=_one_of(GROUND_LABELS, optional=True)
    )
    """Le fondement d’un rejet, pour son exposé des motifs (DSA) : `regles` (les règles du
    site, par défaut) ou la disposition légale enfreinte (`injure`, `diffamation`…)."""

    @field_validator("ground")
    @classmethod
    def _ground(cls, value: str | None) -> str | None:
        return _known(value, GROUND_LABELS)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str | None) -> str | None:
        return _known(value, REJECT_REASONS)

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        return _plain(value)


class DecisionResponse(ApiModel):
    """La réponse à une décision."""

    message: str
    """Ce que dit la page des modérateurs (« Commentaire n° 12 approuvé et publié. »)."""
    comment: Card
    """La nouvelle fiche du commentaire."""
