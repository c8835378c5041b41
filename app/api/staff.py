"""`/api/v1/moderation` (issue 13): the moderators' queues and decisions, for a staff account's
API token or a client key with the moderation scope.

The views are thin: the queues, cards, history and decisions are the moderators' pages' own
services (services/moderation: `QueueFilter`, `list_queue`, `card`, `decide`,
`dismiss_reports`), so the same rules, optimistic locking and audit hold. Who calls:

- a **staff token** (`mst_…`, `flask users token EMAIL`) acts as its account, checked on every
  call (active, moderator or admin); it sees what that account's pages show, readers' e-mail
  addresses included;
- an **API client's key** (`mod_…`) with the `moderation` scope acts as `client:<name>` in the
  journal (a client is not an account: no actor_id); its quota and calls count as on
  `/api/v1/score`; no page shows a client readers' addresses, so the API does not either.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, jsonify, make_response
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app import labels, policy
from app.api.errors import ApiError
from app.api.schemas import ErrorBody, ReasonOut
from app.api.spec import endpoint
from app.api.staff_schemas import (
    Action,
    Author,
    Card,
    CommentDetail,
    DecisionRequest,
    DecisionResponse,
    HistoryRow,
    ModelRef,
    ParentRef,
    QueueCount,
    QueueCounts,
    QueuePage,
    QueueQuery,
    ReportOut,
    StoryRef,
)
from app.api.v1 import bearer_key, bp, client_call
from app.models import ApiClient, ApiScope, CommentStatus, ModerationAction, Role, User
from app.services import accounts, audit, clients, moderation

SECURITY: list[dict[str, list[str]]] = [
    {"staff_token": []},
    {"client_key": [ApiScope.MODERATION.value]},
]
TAGS = ("Modération",)
AUTH_ERRORS: dict[int, tuple[type[ErrorBody], str]] = {
    401: (ErrorBody, "`missing_key`, `unknown_key`."),
    403: (
        ErrorBody,
        "`revoked_key` ; `forbidden` : compte désactivé ou qui n’est plus modérateur, clé sans "
        "la portée `moderation`, filtre `author` demandé par une clé de client.",
    ),
    429: (ErrorBody, "`quota_exceeded` (clé d’un client, avec Retry-After)."),
}
ACTIONS: tuple[Action, ...] = ("approve", "reject", "keep")


@dataclass(frozen=True)
class Moderator:
    """Who calls the moderation API, and what their pages would show them."""

    actor: User | str
    """Named in the journal: the account, or `client:<name>`."""
    sees_addresses: bool
    """Readers' e-mail addresses, as the moderators' cards show them."""
    technical: bool
    """A model's error text in the reasons, as admins' pages show it."""


StaffView = Callable[..., ResponseReturnValue]


def _as_staff(key: str) -> Moderator:
    try:
        user = accounts.staff_for_token(key)
    except clients.KeyRefused as refused:
        status = 401 if refused.code == "unknown_key" else 403
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        raise ApiError(status, refused.code, refused.message, headers=headers) from None
    return Moderator(user, sees_addresses=True, technical=user.role == Role.ADMIN)


def _as_client(client: ApiClient) -> Moderator:
    if not clients.has_scope(client, ApiScope.MODERATION):
        raise ApiError(
            403,
            "forbidden",
            "Cette clé d’API n’a pas la portée « moderation » : elle ne peut pas modérer.",
        )
    return Moderator(audit.client_actor(client.name), sees_addresses=False, technical=False)


def moderation_call(view: StaffView) -> StaffView:
    """Wrap an endpoint taking the calling Moderator: a staff token, or a client key (through
    `client_call`: its quota, its calls counted) with the moderation scope."""

    @client_call()
    def as_client(client: ApiClient, **kwargs: Any) -> ResponseReturnValue:
        return view(_as_client(client), **kwargs)

    @functools.wraps(view)
    def wrapper(**kwargs: Any) -> Response:
        key = bearer_key()
        if key is not None and accounts.is_staff_token(key):
            return make_response(view(_as_staff(key), **kwargs))
        return make_response(as_client(**kwargs))

    return wrapper


# --- Endpoints ---------------------------------------------------------------------------------


@bp.get("/moderation/queues", endpoint="moderation_queues")
@moderation_call
@endpoint(
    responses={200: (QueueCounts, "Le nombre de commentaires de chaque file."), **AUTH_ERRORS},
    tags=TAGS,
    security=SECURITY,
)
def queues(who: Moderator) -> Response:
    """Le nombre de commentaires de chaque file (« À modérer », « Signalés », « Rejetés »,
    « Approuvés », « Tous »), comme les montre le menu des modérateurs.

    200. 401 `missing_key`, `unknown_key`. 403 `revoked_key`, `forbidden`. 429
    `quota_exceeded`."""
    counts = moderation.queue_counts()
    answer = QueueCounts(
        queues=[
            QueueCount(name=name, label=labels.french(label), count=counts[name])
            for name, label in labels.QUEUES.items()
        ]
    )
    return jsonify(answer.model_dump(mode="json"))


@bp.get(
    f"/moderation/queues/<any({', '.join(map(repr, labels.QUEUES))}):queue>",
    endpoint="moderation_queue",
)
@moderation_call
@endpoint(
    query=QueueQuery,
    responses={
        200: (QueuePage, "Une page de la file, 25 cartes au plus."),
        **AUTH_ERRORS,
        404: (ErrorBody, "`not_found` : une file inconnue."),
        422: (ErrorBody, "`invalid_field` (avec `field`)."),
    },
    tags=TAGS,
    security=SECURITY,
)
def queue(who: Moderator, queue: str, query: QueueQuery) -> Response:
    """Une page d’une file, avec les filtres de la page des modérateurs : `sort` (`recents`,
    `anciens`, `toxiques`, `attente`), `article_id`, `reason` (un code de raison), `category`,
    `q` (des mots du texte ou du nom de l’auteur), `author` (l’adresse d’un invité : jetons de
    l’équipe seulement), `account_id`, `page` (25 fiches par page ; `has_more` dit si une autre
    suit).

    200. 401 `missing_key`, `unknown_key`. 403 `revoked_key`, `forbidden`. 404 `not_found`
    (une file inconnue). 422 `invalid_field`. 429 `quota_exceeded`."""
    author = _given(query.author)
    if author is not None and not who.sees_addresses:
        raise ApiError(
            403,
            "forbidden",
            "Le filtre par adresse est réservé aux jetons de l’équipe de modération.",
            "author",
        )
    page = moderation.list_queue(
        moderation.QueueFilter(
            queue=queue,
            sort=query.sort,
            article_id=query.article_id,
            reason=_given(query.reason),
            category=_given(query.category),
            text=_given(query.q),
            author_email=author.lower() if author else None,
            author_user_id=query.account_id,
            page=query.page,
        )
    )
    answer = QueuePage(
        queue=queue,
        page=page.page,
        per_page=moderation.PER_PAGE,
        total=page.total,
        has_more=page.has_more,
        cards=[_card(card, who) for card in page.cards],
    )
    return jsonify(answer.model_dump(mode="json"))


@bp.get("/moderation/comments/<id:comment_id>", endpoint="moderation_comment")
@moderation_call
@endpoint(
    responses={
        200: (CommentDetail, "La carte du commentaire et son historique."),
        **AUTH_ERRORS,
        404: (ErrorBody, "`comment_not_found`."),
    },
    tags=TAGS,
    security=SECURITY,
)
def comment(who: Moderator, comment_id: int) -> Response:
    """Un commentaire comme le montre sa page de modération : sa fiche (scores, raisons,
    signalements, décisions possibles) et son historique, du plus ancien au plus récent.

    200. 401 `missing_key`, `unknown_key`. 403 `revoked_key`, `forbidden`. 404
    `comment_not_found`. 429 `quota_exceeded`."""
    card = moderation.card(comment_id)
    if card is None:
        raise _not_found(comment_id)
    answer = CommentDetail(
        comment=_card(card, who),
        history=[_history(row, who) for row in moderation.history(comment_id)],
    )
    return jsonify(answer.model_dump(mode="json"))


@bp.post("/moderation/comments/<id:comment_id>/decision", endpoint="moderation_decide")
@moderation_call
@endpoint(
    body=DecisionRequest,
    responses={
        200: (DecisionResponse, "La décision est appliquée et inscrite au journal."),
        400: (ErrorBody, "`invalid_json`."),
        **AUTH_ERRORS,
        404: (ErrorBody, "`comment_not_found`."),
        409: (ErrorBody, "`conflict` : quelqu’un a décidé avant vous (la version a changé)."),
        422: (
            ErrorBody,
            "`invalid_field`, `required` (`reason` pour rejeter), `not_allowed` (le commentaire "
            "ne prend pas cette décision là où il en est).",
        ),
    },
    tags=TAGS,
    security=SECURITY,
)
def decide(who: Moderator, comment_id: int, body: DecisionRequest) -> Response:
    """Approuver (publier), rejeter (avec une raison `reason` de la liste de la page, montrée
    à l’auteur) ou conserver (`keep` : un commentaire publié et signalé reste, ses signalements
    sont écartés) un commentaire, comme la page des modérateurs : mêmes règles, même ligne au
    journal (au nom du compte, ou `client:<nom>`). `version` est celle du commentaire lu en
    dernier.

    200 avec la nouvelle fiche du commentaire. 400 `invalid_json`. 401 `missing_key`,
    `unknown_key`. 403 `revoked_key`, `forbidden`. 404 `comment_not_found`. 409 `conflict` :
    quelqu’un a décidé avant. 422 `invalid_field`, `required`, `not_allowed`. 429
    `quota_exceeded`."""
    try:
        if body.action == "keep":
            moderation.dismiss_reports(comment_id, body.version, who.actor, note=body.note)
            message = _("Commentaire n° %(id)s conservé : signalements écartés.", id=comment_id)
        else:
            decided = moderation.decide(
                comment_id,
                body.version,
                body.action,
                who.actor,
                body.reason,
                body.note,
                ground=body.ground,
            )
            message = (
                _("Commentaire n° %(id)s approuvé et publié.", id=comment_id)
                if decided.is_published
                else _("Commentaire n° %(id)s rejeté.", id=comment_id)
            )
    except moderation.CommentNotFound:
        raise _not_found(comment_id) from None
    except moderation.Conflict as conflict:
        raise ApiError(409, "conflict", conflict.message, "version") from None
    except moderation.Refused as refused:
        raise ApiError(422, "not_allowed", refused.message, "action") from None
    except moderation.ModerationError as error:
        code = "required" if error.field == "reason" and body.reason is None else "invalid_field"
        raise ApiError(422, code, error.message, error.field) from None
    card = moderation.card(comment_id)
    if card is None:  # deleted in between: nothing left to show
        raise _not_found(comment_id)
    answer = DecisionResponse(message=message, comment=_card(card, who))
    return jsonify(answer.model_dump(mode="json"))


# --- Answers ----------------------------------------------------------------------------------


def _given(value: str | None) -> str | None:
    """A filter as the page reads it: blank is absent."""
    return (value or "").strip() or None


def _not_found(comment_id: int) -> ApiError:
    return ApiError(
        404, "comment_not_found", f"Le commentaire n° {comment_id} n’existe pas.", "comment_id"
    )


def _reason(stored: dict[str, Any], who: Moderator) -> ReasonOut:
    reason = policy.Reason(**stored)
    return ReasonOut(
        code=reason.code,
        category=reason.category,
        score=reason.score,
        threshold=reason.threshold,
        detail=reason.detail,
        message=labels.reason_text(reason, technical=who.technical),
    )


def _card(card: moderation.Card, who: Moderator) -> Card:
    """A moderator's card as JSON: what the page's card shows that caller."""
    c, score = card.comment, card.score
    return Card(
        id=c.id,
        version=c.version,
        status=CommentStatus(c.status),
        status_label=labels.french(labels.STATUS_LABELS[c.status]),
        story=StoryRef(id=card.article.id, title=card.article.title, url=card.article.url),
        parent=(
            ParentRef(id=card.parent.id, author=card.parent.author_name, body=card.parent.body)
            if card.parent is not None
            else None
        ),
        depth=c.depth,
        author=Author(
            name=c.author_name,
            kind="account" if c.user_id else "guest",
            account_id=c.user_id,
            email=c.author_email if who.sees_addresses else None,
            published=card.author_published,
            rejected=card.author_rejected,
        ),
        body=c.body,
        created_at=c.created_at,
        decided_at=c.decided_at,
        awaiting_score=c.awaiting_score,
        reasons=[_reason(r, who) for r in c.reasons or []],
        author_message=c.status_reason,
        scores=score.scores if score is not None else None,
        model=(
            ModelRef(name=score.model_name, version=score.model_version, windowed=score.windowed)
            if score is not None
            else None
        ),
        flagged=c.flagged_at is not None,
        hidden=c.hidden,
        reports=[
            ReportOut(
                reason=r.reason,
                label=labels.french(labels.REPORT_REASONS.get(r.reason, r.reason)),
                note=r.note,
                created_at=r.created_at,
            )
            for r in card.reports
        ],
        report_burst=card.report_burst,
        actions=[action for action in ACTIONS if moderation.may(action, c)],
    )


def _history(row: ModerationAction, who: Moderator) -> HistoryRow:
    return HistoryRow(
        id=row.id,
        created_at=row.created_at,
        actor=row.actor,
        action=row.action,
        action_label=labels.french(
            next((v for k, v in labels.JOURNAL_ACTIONS.items() if k == row.action), row.action)
        ),
        from_status=row.from_status,
        to_status=row.to_status,
        reason_code=row.reason_code,
        reason=labels.action_reason(
            row.action, row.reason, row.reason_code, row.details, technical=who.technical
        ),
        note=row.note,
    )
