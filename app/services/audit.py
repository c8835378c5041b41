"""The audit trail: one row per change of a comment's state or per sanction on a reader.

`record` adds the row to the caller's transaction (it never commits), so that a change and its
audit row are committed together or not at all. The row keeps its reason twice: in French words
(`reason`, what the CSV export gives) and, where there is one, as structure (`details`), from
which the journal says it in the viewer's language (`labels.action_reason`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask_babel import force_locale
from sqlalchemy import insert, update

from app import labels, policy
from app.actions import AuditAction
from app.extensions import db, rowcount
from app.models import ModerationAction, User
from app.privacy import erased_address

SYSTEM = labels.SYSTEM


def model_actor(name: str) -> str:
    return f"{labels.MODEL_PREFIX}{name}"


def reader_actor(name: str) -> str:
    return f"{labels.READER_PREFIX}{name}"


def client_actor(name: str) -> str:
    """An API client deciding through the moderation API (it is not an account: no actor_id)."""
    return f"{labels.CLIENT_PREFIX}{name}"


def _as_dict(reason: policy.Reason | Mapping[str, Any]) -> dict[str, Any]:
    return reason.as_dict() if isinstance(reason, policy.Reason) else dict(reason)


def reasons_text(reasons: Iterable[policy.Reason | Mapping[str, Any]]) -> str:
    """Decision reasons in French words, as the journal stores them."""
    with force_locale("fr"):
        return labels.reasons_text([_as_dict(r) for r in reasons])


def record(
    action: AuditAction,
    *,
    actor: User | str,
    comment_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    reason_code: str | None = None,
    reason: str | None = None,
    note: str | None = None,
    reader_email: str | None = None,
    reasons: Iterable[policy.Reason | Mapping[str, Any]] | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Add one audit row. `reasons` (policy reasons) are kept as structure in `details`, and
    give the French `reason` when none is given; `details` adds other structure (e.g. the
    days of a suspension)."""
    stored: dict[str, Any] = dict(details or {})
    if reasons is not None:
        stored["reasons"] = [_as_dict(r) for r in reasons]
        if reason is None:
            reason = reasons_text(stored["reasons"]) or (
                "Sous les seuils" if action == AuditAction.SCORED else None
            )
    db.session.add(
        ModerationAction(
            action=action,
            actor_id=actor.id if isinstance(actor, User) else None,
            actor=actor.display_name if isinstance(actor, User) else actor,
            comment_id=comment_id,
            from_status=from_status,
            to_status=to_status,
            reason_code=reason_code,
            reason=reason,
            note=note or None,
            reader_email=reader_email,
            details=stored or None,
        )
    )


def record_many(action: AuditAction, *, actor: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add one audit row per mapping of `rows` (`comment_id`, `to_status`, `reason`,
    `details`…) in one INSERT, to the caller's transaction: an import writes thousands."""
    if rows:
        db.session.execute(
            insert(ModerationAction),
            [{"action": action, "actor": actor, "actor_id": None, **row} for row in rows],
        )


def pseudonymise_reader(email: str) -> int:
    """Replace a reader's address on the audit rows that name it (`reader_email`: sanctions)
    with its `privacy.erased_address`, in the caller's transaction; returns the rows changed.

    The one change the append-only audit trail ever takes (a bulk UPDATE, which the ORM
    listener refusing updates does not see): what happened, when, by whom and why stays; the
    address goes, as it goes from the sanction itself (services/retention.py, and a reader's
    erasure)."""
    result = db.session.execute(
        update(ModerationAction)
        .where(ModerationAction.reader_email == email)
        .values(reader_email=erased_address(email))
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
