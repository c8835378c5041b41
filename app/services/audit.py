"""The audit trail: one row per change of a comment's state or per sanction on a reader.

`record` adds the row to the caller's transaction (it never commits), so that a change and its
audit row are committed together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app import labels, policy
from app.actions import AuditAction
from app.extensions import db
from app.models import ModerationAction, User

SYSTEM = "système"


def model_actor(name: str) -> str:
    return f"modèle {name}"


def reasons_text(reasons: Iterable[Mapping[str, Any]]) -> str:
    return labels.reasons_sentence([labels.reason_text(policy.Reason(**r)) for r in reasons])


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
) -> None:
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
        )
    )
