"""Every change of a comment's state, in one place: the allowed moves, and the one UPDATE.

`RULES` says, for each action of the audit trail that changes a comment, from which statuses
it may start (some only under a condition: a published comment is approved only when readers
reported it), which statuses it may lead to, and which columns it resets. `apply` turns one
rule and the caller's own conditions (the claim of a worker, the version a moderator saw)
into one conditional UPDATE: the status must be one the rule starts from, the version is
bumped, the rule's columns are reset, and one audit row is added per comment changed, in the
caller's transaction (the caller commits, or rolls back). Bulk changes stay one UPDATE. A
move to published also writes, in that transaction, the reply notifications it owes
(services/notifications.queue: an outbox the sweep sends).

Nothing else writes `Comment.status` or `Comment.version`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnExpressionArgument, and_, update
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import ColumnElement

from app.actions import AuditAction
from app.extensions import db
from app.models import Comment, CommentStatus, User, utcnow
from app.policy import Reason
from app.services import audit, notifications, statements

S = CommentStatus

# A decision ends any scoring in progress: no claim, no retry.
SCORING_STOPPED: dict[str, Any] = {
    "awaiting_score": False,
    "next_scoring_at": None,
    "claim_token": None,
    "claimed_until": None,
}
# A human decision, or « Conserver », starts the comment's reports from zero.
REPORTS_CLEARED: dict[str, Any] = {
    "flagged_at": None,
    "hidden": False,
    "report_count": 0,
    "report_weight": 0.0,
}
# What a placeholder keeps of a comment: its place in the thread, its dates and status.
PLACEHOLDER: dict[str, Any] = {
    "body": "",
    "body_hash": hashlib.sha256(b"").hexdigest(),
    "author_name": "",
    "author_email": "",
    "user_id": None,
    "guest_token": None,
    "idempotency_key": None,
    "status_reason": None,
    "word_matches": None,
}
# A rewritten comment goes through the model again, as if new (its first date kept).
SCORING_AGAIN: dict[str, Any] = {
    "status_reason": None,
    "reasons": [],
    "decided_at": None,
    "awaiting_score": True,
    "scoring_attempts": 0,
    "next_scoring_at": None,
}


@dataclass(frozen=True)
class Rule:
    """One allowed move. `sources`: the statuses it may start from; from those also in
    `reported_only`, only for a comment readers reported (in « Signalés »). `targets`: the
    statuses it may lead to (empty: the status stays). `by`: who makes it (a moderator's
    decisions are not the site's own). `decides`: it stamps `decided_at`."""

    sources: AbstractSet[CommentStatus]
    targets: AbstractSet[CommentStatus]
    by: str
    resets: Mapping[str, Any] = field(default_factory=dict)
    decides: bool = False
    reported_only: AbstractSet[CommentStatus] = frozenset()


RULES: dict[AuditAction, Rule] = {
    AuditAction.SCORED: Rule(
        {S.PENDING, S.HELD}, {S.PUBLISHED, S.HELD, S.REJECTED, S.NUDGED}, "model",
        SCORING_STOPPED, decides=True,
    ),
    AuditAction.SCORING_FAILED: Rule(
        {S.PENDING}, {S.HELD}, "system", {"claim_token": None, "claimed_until": None},
        decides=True,
    ),
    # The claim stays: a worker that still holds it may record the score after all.
    AuditAction.SCORING_TIMEOUT: Rule({S.PENDING}, {S.HELD}, "system", decides=True),
    AuditAction.NUDGE_EXPIRED: Rule({S.NUDGED}, {S.HELD}, "system", decides=True),
    AuditAction.SENT_ANYWAY: Rule({S.NUDGED}, {S.HELD, S.REJECTED}, "author", decides=True),
    AuditAction.REVISED: Rule({S.NUDGED}, {S.PENDING}, "author", SCORING_AGAIN),
    # Its reports stay: an edit does not take a comment out of « Signalés ».
    AuditAction.EDITED: Rule({S.PUBLISHED, S.HELD}, {S.PENDING}, "author", SCORING_AGAIN),
    AuditAction.FLAGGED: Rule({S.PUBLISHED}, set(), "readers"),
    # A moderator never decides while the model or the author still has the comment (pending,
    # nudged): nothing of it is public yet, and it comes to them by itself if it must.
    AuditAction.APPROVED: Rule(
        {S.HELD, S.REJECTED, S.PUBLISHED}, {S.PUBLISHED}, "moderator",
        {**SCORING_STOPPED, **REPORTS_CLEARED}, decides=True, reported_only={S.PUBLISHED},
    ),
    AuditAction.REJECTED: Rule(
        {S.HELD, S.PUBLISHED}, {S.REJECTED}, "moderator",
        {**SCORING_STOPPED, **REPORTS_CLEARED}, decides=True,
    ),
    AuditAction.REPORTS_DISMISSED: Rule(
        {S.PUBLISHED}, set(), "moderator", REPORTS_CLEARED, reported_only={S.PUBLISHED}
    ),
    # From any status, which it keeps: the text and author go (services/comments.remove).
    AuditAction.REMOVED: Rule(
        set(S), set(), "author", {**SCORING_STOPPED, **REPORTS_CLEARED, **PLACEHOLDER}
    ),
}  # fmt: skip

# The moves that set a comment's status: a moderator's decisions, and the site's own (the
# model, the system, the author's answer to a nudge: the dashboard's outcomes).
AUTOMATIC = frozenset(a for a, rule in RULES.items() if rule.targets and rule.by != "moderator")
HUMAN_DECISIONS = frozenset(
    a for a, rule in RULES.items() if rule.targets and rule.by == "moderator"
)


def allows(action: AuditAction, comment: Comment) -> bool:
    """Whether `action` may start from where `comment` stands (as loaded)."""
    rule = RULES[action]
    if comment.status not in rule.sources:
        return False
    return comment.status not in rule.reported_only or comment.flagged_at is not None


def _source_condition(rule: Rule, source: CommentStatus) -> ColumnElement[bool]:
    condition = Comment.status == source
    if source in rule.reported_only:
        condition = and_(condition, Comment.flagged_at.is_not(None))
    return condition


def _one(allowed: AbstractSet[CommentStatus], given: str | None) -> CommentStatus | None:
    """The status given, which must be allowed; or the only one allowed; or None."""
    if given is None:
        return next(iter(allowed)) if len(allowed) == 1 else None
    if given not in allowed:
        raise ValueError(f"{given} is not one of {sorted(allowed)}")
    return CommentStatus(given)


def apply(
    action: AuditAction,
    *,
    where: Sequence[ColumnExpressionArgument[bool]],
    actor: User | str,
    from_status: CommentStatus | str | None = None,
    to_status: CommentStatus | str | None = None,
    values: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    reason_code: str | None = None,
    reason: str | None = None,
    note: str | None = None,
    reasons: Sequence[Reason | Mapping[str, Any]] | None = None,
    details: Mapping[str, Any] | None = None,
    ground: statements.Ground = statements.HOUSE_RULES,
    notice_id: int | None = None,
) -> list[int]:
    """Move every comment that meets `where` and `RULES[action]` in one UPDATE; returns their
    ids (none: nothing matched). Only comments in `from_status` move (the audit rows name it;
    a rule with one source implies it); `to_status` likewise, where the rule leads to several.
    `values` are the action's own columns, never the status, version or the rule's resets.

    A `from_status` the rule does not start from moves nothing (the caller words the refusal);
    ValueError for a call the rule cannot take (a missing status, a target it never leads to,
    a column it sets itself): a programming error.

    A move that removes a comment (statements.needed) issues a statement of reasons for each
    comment moved, in the same transaction, on `ground` (the house rules unless the moderator
    named a law) and, with `notice_id`, as the answer to that Art. 16 notice; publishing a
    rejected comment marks its statements reversed."""
    rule = RULES[action]
    if from_status is not None and from_status not in rule.sources:
        return []  # nothing in that status may make this move
    source = _one(rule.sources, from_status)
    if source is None:
        raise ValueError(f"{action} starts from {sorted(rule.sources)}: say which")
    target = _one(rule.targets, to_status)
    if target is None and rule.targets:
        raise ValueError(f"{action} leads to {sorted(rule.targets)}: say which")
    own = dict(values or {})
    if overlap := own.keys() & {*rule.resets, "status", "version", "decided_at"}:
        raise ValueError(f"{action} sets {sorted(overlap)} itself")
    changes: dict[str, Any] = {**rule.resets, **own, "version": Comment.version + 1}
    if target is not None:
        changes["status"] = target
    now = now or utcnow()
    if rule.decides:
        changes["decided_at"] = now
    ids = list(
        db.session.scalars(
            update(Comment)
            .where(_source_condition(rule, source), *where)
            .values(**changes)
            .returning(Comment.id),
            # The comments this session holds are expired below rather than evaluated in
            # Python (a third of the UPDATE's cost on the scoring path).
            execution_options={"synchronize_session": False},
        )
    )
    for comment_id in ids:  # read again from the database when next used
        held = db.session.identity_map.get(identity_key(Comment, comment_id))
        if held is not None:
            db.session.expire(held)
    for comment_id in ids:
        audit.record(
            action,
            actor=actor,
            comment_id=comment_id,
            from_status=source,
            to_status=target or source,
            reason_code=reason_code,
            reason=reason,
            note=note,
            reasons=reasons,
            details=details,
        )
    if ids and statements.needed(target):
        statements.issue(
            action=action, actor=actor, comment_ids=ids, reason_code=reason_code,
            ground=ground, notice_id=notice_id, now=now,
        )  # fmt: skip
    elif ids and source == S.REJECTED and target == S.PUBLISHED:
        statements.withdraw(comment_ids=ids, now=now)
    if ids and target == S.PUBLISHED:
        notifications.queue(ids)  # replies its parent's author asked to hear of: the outbox
    return ids
