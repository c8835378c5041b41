"""The one place where a new comment's fate is decided. Pure: plain values in, a verdict out.

No Flask, no database: `services.comments` gathers the scores and the settings and calls `decide`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class Outcome(enum.StrEnum):
    PUBLISH = "publish"
    HOLD = "hold"
    REJECT = "reject"
    NUDGE = "nudge"  # ask the author to reconsider before anything else


@dataclass(frozen=True)
class Threshold:
    """Hold at or above `hold`, reject at or above `reject` (reject >= hold)."""

    hold: float
    reject: float
    enabled: bool = True

    def __post_init__(self) -> None:
        if not (0.0 <= self.hold <= 1.0 and 0.0 <= self.reject <= 1.0):
            raise ValueError("thresholds lie between 0 and 1")
        if self.reject < self.hold:
            raise ValueError("the reject threshold must be at or above the hold threshold")


class Level(enum.StrEnum):
    """Where one category's score stands against its threshold (a card's colour)."""

    OK = "ok"
    NUDGE = "nudge"
    HOLD = "hold"
    REJECT = "reject"


def level(score: float, threshold: Threshold | None, nudge: float | None = None) -> Level:
    """The one comparison of a score with a category's thresholds, as `decide` makes it: at or
    above `reject` REJECT, at or above `hold` HOLD, at or above `nudge` (when given) NUDGE; a
    category switched off or without a threshold is OK."""
    if threshold is None or not threshold.enabled:
        return Level.OK
    if score >= threshold.reject:
        return Level.REJECT
    if score >= threshold.hold:
        return Level.HOLD
    if nudge is not None and score >= nudge:
        return Level.NUDGE
    return Level.OK


@dataclass(frozen=True)
class Reason:
    """Why a verdict was reached. `code` is stable; the rest fills the human sentence."""

    code: str
    category: str | None = None
    score: float | None = None
    threshold: float | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reasons: tuple[Reason, ...] = field(default_factory=tuple)


# Reason codes
SCORING_UNAVAILABLE = "scoring_unavailable"  # no model score exists: a human decides
CATEGORY_HOLD = "category_hold"
CATEGORY_REJECT = "category_reject"
NUDGE = "nudge"  # a category crossed its nudge threshold
NUDGE_IGNORED = "nudge_ignored"  # the author was nudged and sent the comment anyway
READER_PREMODERATED = "reader_premoderated"  # a moderator put the author on pre-moderation


def decide(
    scores: Mapping[str, float] | None,
    thresholds: Mapping[str, Threshold],
    hold_reasons: Sequence[Reason] = (),
    nudge: Mapping[str, float] | None = None,
    reject_reasons: Sequence[Reason] = (),
) -> Verdict:
    """Turn a comment's scores into publish, hold, reject (or nudge), with every reason.

    `scores` is None when no score exists (the model is unavailable): the comment is then held
    for a human, never published. `hold_reasons` are holds decided elsewhere (a site rule, a
    nudge sent anyway); a rejection by score still wins over them. `nudge` (per category, the
    score at which to ask the author to reconsider) is given only while the author can still
    answer: when a category crosses it, the verdict is NUDGE, unless `reject_reasons` (a banned
    word, say) reject the comment outright.
    """
    if reject_reasons:
        return Verdict(Outcome.REJECT, tuple(reject_reasons) + tuple(hold_reasons))
    if scores is not None and nudge is not None:
        nudges = [
            Reason(NUDGE, category, score, nudge[category])
            for category, score in scores.items()
            if category in nudge and score >= nudge[category]
        ]
        if nudges:
            return Verdict(Outcome.NUDGE, tuple(nudges))
    rejects: list[Reason] = []
    holds: list[Reason] = list(hold_reasons)
    if scores is None:
        holds.insert(0, Reason(SCORING_UNAVAILABLE))
    else:
        for category, score in scores.items():
            threshold = thresholds.get(category)
            at = level(score, threshold)
            if at is Level.REJECT and threshold is not None:
                rejects.append(Reason(CATEGORY_REJECT, category, score, threshold.reject))
            elif at is Level.HOLD and threshold is not None:
                holds.append(Reason(CATEGORY_HOLD, category, score, threshold.hold))
    if rejects:
        return Verdict(Outcome.REJECT, tuple(rejects + holds))
    if holds:
        return Verdict(Outcome.HOLD, tuple(holds))
    return Verdict(Outcome.PUBLISH)
