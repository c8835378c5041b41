"""The admins' dashboard: comments per day and what became of them, how long held comments
wait for a human, and the busiest articles. Read from the audit trail."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import Article, Comment, CommentStatus, ModerationAction, as_utc, utcnow


@dataclass(frozen=True)
class Dashboard:
    days: list[str]
    submitted: list[int]
    published: list[int]  # published automatically (by the model, with no rule holding it)
    held: list[int]  # held automatically
    rejected: list[int]  # rejected automatically
    median_wait_minutes: float | None  # held -> human decision
    human_decisions: int
    busiest: list[tuple[str, str, int]]  # (title, slug, comments)

    @property
    def totals(self) -> dict[str, int]:
        return {
            "submitted": sum(self.submitted),
            "published": sum(self.published),
            "held": sum(self.held),
            "rejected": sum(self.rejected),
        }


def _day(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def dashboard(days: int = 30) -> Dashboard:
    since = utcnow() - timedelta(days=days)
    day = func.date(ModerationAction.created_at)
    rows = db.session.execute(
        select(day, ModerationAction.action, ModerationAction.to_status, func.count())
        .where(
            ModerationAction.created_at >= since,
            ModerationAction.action.in_(("submitted", "scored")),
        )
        .group_by(day, ModerationAction.action, ModerationAction.to_status)
    ).all()
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for when, action, to_status, count in rows:
        key = "submitted" if action == "submitted" else str(to_status)
        per_day[_day(when)][key] += count
    start = since.date()
    labels = [(start + timedelta(days=i)).isoformat() for i in range(days + 1)]
    series = {
        key: [per_day[d].get(status, 0) for d in labels]
        for key, status in (
            ("submitted", "submitted"),
            ("published", CommentStatus.PUBLISHED),
            ("held", CommentStatus.HELD),
            ("rejected", CommentStatus.REJECTED),
        )
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
        submitted=series["submitted"],
        published=series["published"],
        held=series["held"],
        rejected=series["rejected"],
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
        if to_status == CommentStatus.HELD and action not in ("approved", "rejected"):
            held_since.setdefault(comment_id, as_utc(when))
        elif action in ("approved", "rejected") and from_status == CommentStatus.HELD:
            start = held_since.pop(comment_id, None)
            if start is not None:
                waits.append((as_utc(when) - start).total_seconds() / 60)
    return waits
