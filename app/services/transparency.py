"""Transparency (DSA Art. 15 and 24): the statements of reasons in the EU Transparency
Database's format, and the yearly figures « Réglages › Transparence » shows.

`export` gives the body of the database's « multiple statements » endpoint
(`POST /api/v1/statements`, `{"statements": [...]}`), field by field as its API documentation
and its validation (`StatementsStoreRequest`) name them: enum keys from app/dsa.py, arrays for
`decision_visibility`, `content_type` and `territorial_scope`, dates as `YYYY-MM-DD` (UTC), the
free texts within its lengths. No personal data: no name, address or comment text (the facts
are written without them, services/statements), `puid` is our own random reference, and the
notifier's identity (`source_identity`) is never sent.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app import dsa
from app.extensions import db
from app.models import ComplaintStatus, DsaComplaint, DsaNotice, DsaStatement, as_utc

# The database's limits on its free texts (StatementsStoreRequest: max:500, max:2000, max:5000).
LIMITS = {
    "decision_visibility_other": 500,
    "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000,
    "decision_facts": 5000,
}


def _day(value: datetime) -> str:
    return as_utc(value).astimezone(UTC).date().isoformat()


def _clip(key: str, text: str) -> str:
    limit = LIMITS[key]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def record(statement: DsaStatement) -> dict[str, Any]:
    """One statement as the Transparency Database takes it (keys with no value left out)."""
    out: dict[str, Any] = {}
    if statement.decision_visibility:
        out["decision_visibility"] = [statement.decision_visibility]
        if statement.decision_visibility == dsa.DECISION_VISIBILITY_OTHER:
            out["decision_visibility_other"] = _clip(
                "decision_visibility_other", statement.decision_visibility_other or ""
            )
    if statement.decision_account:
        out["decision_account"] = statement.decision_account
        if statement.end_date is not None:
            out["end_date_account_restriction"] = _day(statement.end_date)
    if statement.decision_provision:
        out["decision_provision"] = statement.decision_provision
        if statement.end_date is not None:
            out["end_date_service_restriction"] = _day(statement.end_date)
    out["decision_ground"] = statement.decision_ground
    if statement.decision_ground == dsa.DECISION_GROUND_ILLEGAL_CONTENT:
        out["illegal_content_legal_ground"] = _clip(
            "illegal_content_legal_ground", statement.ground_text
        )
        out["illegal_content_explanation"] = _clip(
            "illegal_content_explanation", statement.ground_explanation
        )
    else:
        out["incompatible_content_ground"] = _clip(
            "incompatible_content_ground", statement.ground_text
        )
        out["incompatible_content_explanation"] = _clip(
            "incompatible_content_explanation", statement.ground_explanation
        )
        out["incompatible_content_illegal"] = dsa.NO
    out["content_type"] = [dsa.CONTENT_TYPE_TEXT]
    out["category"] = statement.category
    out["territorial_scope"] = list(dsa.TERRITORIAL_SCOPE_EEA)
    out["content_language"] = dsa.CONTENT_LANGUAGE
    out["content_date"] = _day(statement.content_date)
    out["application_date"] = _day(statement.created_at)
    out["decision_facts"] = _clip("decision_facts", statement.decision_facts)
    out["source_type"] = statement.source_type
    out["automated_detection"] = dsa.YES if statement.automated_detection else dsa.NO
    out["automated_decision"] = statement.automated_decision
    out["puid"] = statement.puid
    return out


def _between(since: date, until: date) -> tuple[datetime, datetime]:
    """[since 00:00, the day after until 00:00) in UTC: both days included."""
    start = datetime(since.year, since.month, since.day, tzinfo=UTC)
    end = datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
    return start, end


def export(since: date, until: date) -> dict[str, list[dict[str, Any]]]:
    """The statements issued from `since` to `until` (both included, UTC), oldest first, as
    the body of `POST /api/v1/statements`."""
    start, end = _between(since, until)
    rows = db.session.scalars(
        select(DsaStatement)
        .where(DsaStatement.created_at >= start, DsaStatement.created_at < end)
        .order_by(DsaStatement.id)
    )
    return {"statements": [record(s) for s in rows]}


@dataclass
class Figures:
    """One year's figures (Art. 15(1) and 24(1)), computed from the statements and complaints.
    `notices` is None until the notices of Art. 16 are recorded."""

    year: int
    decisions: int = 0
    by_ground: dict[str, int] = field(default_factory=dict)
    by_restriction: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    fully_automated: int = 0
    automated_detection: int = 0
    median_hours: float | None = None  # from the comment's date to the decision
    reversed: int = 0
    complaints: int = 0
    complaints_by_outcome: dict[str, int] = field(default_factory=dict)
    complaint_median_hours: float | None = None
    notices: dict[str, int] | None = None

    @property
    def automated_share(self) -> float:
        return self.fully_automated / self.decisions if self.decisions else 0.0


def _restriction(statement: DsaStatement) -> str:
    return (
        statement.decision_account
        or statement.decision_provision
        or statement.decision_visibility
        or dsa.DECISION_VISIBILITY_OTHER
    )


def _hours(delta: timedelta) -> float:
    return max(delta.total_seconds(), 0.0) / 3600


def figures(year: int) -> Figures:
    """The year's decisions by ground, restriction and source; the automated share; the
    median time from a comment's date to its decision; the complaints and their outcomes."""
    start, end = _between(date(year, 1, 1), date(year, 12, 31))
    result = Figures(year)
    durations: list[float] = []
    for statement in db.session.scalars(
        select(DsaStatement).where(DsaStatement.created_at >= start, DsaStatement.created_at < end)
    ):
        result.decisions += 1
        for counts, key in (
            (result.by_ground, statement.decision_ground),
            (result.by_restriction, _restriction(statement)),
            (result.by_source, statement.source_type),
        ):
            counts[key] = counts.get(key, 0) + 1
        result.fully_automated += statement.automated_decision == dsa.AUTOMATED_DECISION_FULLY
        result.automated_detection += statement.automated_detection
        result.reversed += statement.reversed_at is not None
        durations.append(_hours(as_utc(statement.created_at) - as_utc(statement.content_date)))
    result.median_hours = statistics.median(durations) if durations else None
    answered: list[float] = []
    for complaint in db.session.scalars(
        select(DsaComplaint).where(DsaComplaint.created_at >= start, DsaComplaint.created_at < end)
    ):
        result.complaints += 1
        status = ComplaintStatus(complaint.status)
        result.complaints_by_outcome[status] = result.complaints_by_outcome.get(status, 0) + 1
        if complaint.decided_at is not None:
            answered.append(_hours(as_utc(complaint.decided_at) - as_utc(complaint.created_at)))
    result.complaint_median_hours = statistics.median(answered) if answered else None
    # Notices received in the period, by category (Art. 15(1)(b) and 24(1)).
    result.notices = {
        category: int(count)
        for category, count in db.session.execute(
            select(DsaNotice.category, func.count())
            .where(DsaNotice.created_at >= start, DsaNotice.created_at < end)
            .group_by(DsaNotice.category)
        )
    }
    return result
