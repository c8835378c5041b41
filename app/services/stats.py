"""The admins' dashboard: comments per day and what became of them, how long held comments
wait for a human, and the busiest articles. Read from the audit trail: each comment received
is counted on the day it was sent, in the outcome of the site's last move of it."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.actions import AuditAction
from app.extensions import db
from app.models import Article, Comment, CommentStatus, ModerationAction, as_utc, utcnow
from app.services import transitions

# Where the site itself left each received comment, the last time it moved it (a moderator's
# decision is counted apart): every comment is in exactly one of these.
OUTCOMES: dict[str, CommentStatus] = {
    "published": CommentStatus.PUBLISHED,
    "held": CommentStatus.HELD,
    "rejected": CommentStatus.REJECTED,
    "nudged": CommentStatus.NUDGED,  # awaiting its author's answer
    "pending": CommentStatus.PENDING,  # being scored
}


@dataclass(frozen=True)
class Dashboard:
    days: list[str]
    received: list[int]  # sent that day; each in one outcome below
    published: list[int]  # published automatically (by the model, with no rule holding it)
    held: list[int]  # held automatically (a rule, the model, no score, a nudge sent anyway…)
    rejected: list[int]  # rejected automatically
    nudged: list[int]  # its author was asked to reconsider and has not answered yet
    pending: list[int]  # not decided yet (being scored, or again after a rewrite)
    median_wait_minutes: float | None  # held -> human decision
    human_decisions: int
    busiest: list[tuple[str, str, int]]  # (title, slug, comments)

    @property
    def totals(self) -> dict[str, int]:
        return {key: sum(getattr(self, key)) for key in ("received", *OUTCOMES)}


def _day(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def dashboard(days: int = 30) -> Dashboard:
    since = utcnow() - timedelta(days=days)
    received = (
        select(ModerationAction.comment_id, ModerationAction.created_at)
        .where(
            ModerationAction.action == AuditAction.SUBMITTED,
            ModerationAction.created_at >= since,
            ModerationAction.comment_id.is_not(None),
        )
        .subquery()
    )
    # Each received comment's last automatic move (none yet: pending).
    last = (
        select(ModerationAction.comment_id, func.max(ModerationAction.id).label("id"))
        .where(
            ModerationAction.action.in_(transitions.AUTOMATIC),
            ModerationAction.comment_id.in_(select(received.c.comment_id)),
        )
        .group_by(ModerationAction.comment_id)
        .subquery()
    )
    moved = aliased(ModerationAction)
    day = func.date(received.c.created_at)
    rows = db.session.execute(
        select(day, moved.to_status, func.count())
        .select_from(received)
        .outerjoin(last, last.c.comment_id == received.c.comment_id)
        .outerjoin(moved, moved.id == last.c.id)
        .group_by(day, moved.to_status)
    ).all()
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for when, to_status, count in rows:
        per_day[_day(when)]["received"] += count
        per_day[_day(when)][to_status or CommentStatus.PENDING] += count
    start = since.date()
    labels = [(start + timedelta(days=i)).isoformat() for i in range(days + 1)]
    series = {
        key: [per_day[d].get(status, 0) for d in labels]
        for key, status in (("received", "received"), *OUTCOMES.items())
    }
    waits = _waits(since)
    busiest = db.session.execute(
        select(Article.title, Article.slug, func.count(Comment.id))
        .join(Comment, Comment.article_id == Article.id)
        .where(Comment.created_at >= since)
        .group_by(Article.id, Article.title, Article.slug)
        .order_by(func.count(Comment.id).desc())
        .limit(5)
    ).all()
    return Dashboard(
        days=labels,
        **series,
        median_wait_minutes=round(statistics.median(waits), 1) if waits else None,
        human_decisions=len(waits),
        busiest=[(t, s, n) for t, s, n in busiest],
    )


def _waits(since: datetime) -> list[float]:
    """Minutes between a comment entering « held » and a human deciding it."""
    rows = db.session.execute(
        select(
            ModerationAction.comment_id,
            ModerationAction.action,
            ModerationAction.to_status,
            ModerationAction.from_status,
            ModerationAction.created_at,
        )
        .where(ModerationAction.created_at >= since, ModerationAction.comment_id.is_not(None))
        .order_by(ModerationAction.comment_id, ModerationAction.id)
    ).all()
    held_since: dict[int | None, datetime] = {}
    waits: list[float] = []
    for comment_id, action, to_status, from_status, when in rows:
        if to_status == CommentStatus.HELD and action not in transitions.HUMAN_DECISIONS:
            held_since.setdefault(comment_id, as_utc(when))
        elif action in transitions.HUMAN_DECISIONS and from_status == CommentStatus.HELD:
            start = held_since.pop(comment_id, None)
            if start is not None:
                waits.append((as_utc(when) - start).total_seconds() / 60)
    return waits
