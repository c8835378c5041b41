"""Thresholds and site settings: read here, and only here, from the database."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import CategoryThreshold, SiteSetting
from app.policy import Threshold

# The defaults a new site starts with (the initial data migration stores the same values).
# Hold at or above `hold`, reject at or above `reject`, nudge the author at or above `nudge`.
DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    "toxicity": {"hold": 0.50, "reject": 0.90, "nudge": 0.50},
    "severe_toxicity": {"hold": 0.30, "reject": 0.60, "nudge": 0.30},
    "obscene": {"hold": 0.60, "reject": 0.95, "nudge": 0.60},
    "identity_attack": {"hold": 0.40, "reject": 0.80, "nudge": 0.40},
    "insult": {"hold": 0.50, "reject": 0.90, "nudge": 0.50},
    "threat": {"hold": 0.30, "reject": 0.80, "nudge": 0.30},
    "sexual_explicit": {"hold": 0.50, "reject": 0.90, "nudge": 0.50},
}

DEFAULT_SETTINGS: dict[str, Any] = {
    # Ask the author to reconsider before a comment that crosses a nudge threshold is sent.
    "nudge_enabled": True,
    # Readers' reports that send a comment to « Signalés », and whether it is hidden meanwhile.
    "reports_threshold": 3,
    "reports_hide": False,
}


def category_thresholds() -> dict[str, CategoryThreshold]:
    """Every category's row; a category missing from the database gets its default."""
    rows = {row.category: row for row in db.session.scalars(select(CategoryThreshold))}
    for category, values in DEFAULT_THRESHOLDS.items():
        rows.setdefault(category, CategoryThreshold(category=category, enabled=True, **values))
    return rows


def thresholds() -> dict[str, Threshold]:
    return {
        c: Threshold(hold=r.hold, reject=r.reject, enabled=r.enabled)
        for c, r in category_thresholds().items()
    }


def nudge_thresholds() -> dict[str, float] | None:
    """Per enabled category, the score at which the author is nudged; None when nudges are off."""
    if not get("nudge_enabled"):
        return None
    return {c: r.nudge for c, r in category_thresholds().items() if r.enabled}


def get(key: str) -> Any:
    row = db.session.get(SiteSetting, key)
    return row.value if row is not None else DEFAULT_SETTINGS[key]


def set_value(key: str, value: Any) -> None:
    if key not in DEFAULT_SETTINGS:
        raise KeyError(key)
    row = db.session.get(SiteSetting, key)
    if row is None:
        db.session.add(SiteSetting(key=key, value=value))
    else:
        row.value = value
    db.session.commit()


def ensure_defaults() -> None:
    """Store the default thresholds and settings that are missing (safe to run again)."""
    present = set(db.session.scalars(select(CategoryThreshold.category)))
    for category, values in DEFAULT_THRESHOLDS.items():
        if category not in present:
            db.session.add(CategoryThreshold(category=category, enabled=True, **values))
    for key, value in DEFAULT_SETTINGS.items():
        if db.session.get(SiteSetting, key) is None:
            db.session.add(SiteSetting(key=key, value=value))
    db.session.commit()
