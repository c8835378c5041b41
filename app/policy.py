"""The one place where a new comment's fate is decided. Pure: plain values in, a verdict out.

No Flask, no database: `services.decisions` gathers the settings and facts (`Inputs`), and
`verdict` turns them and the scores into a decision through `decide`.
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
# A trusted reader's borderline score (between hold and reject), published: one per category.
TRUSTED_READER = "trusted_reader"


def nudge_reasons(
    scores: Mapping[str, float] | None, nudge: Mapping[str, float] | None
) -> list[Reason]:
    """The categories whose score crosses its nudge threshold (none without scores or nudges)."""
    if scores is None or nudge is None:
        return []
    return [
        Reason(NUDGE, category, score, nudge[category])
        for category, score in scores.items()
        if category in nudge and score >= nudge[category]
    ]


def decide(
    scores: Mapping[str, float] | None,
    thresholds: Mapping[str, Threshold],
    hold_reasons: Sequence[Reason] = (),
    nudge: Mapping[str, float] | None = None,
    reject_reasons: Sequence[Reason] = (),
    *,
    score_rejects: bool = True,
    trusted: Reason | None = None,
) -> Verdict:
    """Turn a comment's scores into publish, hold, reject (or nudge), with every reason.

    `scores` is None when no score exists (the model is unavailable): the comment is then held
    for a human, never published. `hold_reasons` are holds decided elsewhere (a site rule, a
    nudge sent anyway); a rejection by score still wins over them. `nudge` (per category, the
    score at which to ask the author to reconsider) is given only while the author can still
    answer: when a category crosses it, the verdict is NUDGE, unless `reject_reasons` (a banned
    word, say) reject the comment outright. `trusted` (the author is a trusted reader, as
    `rules.trust` says) publishes a comment held only by category scores between hold and
    reject; any other hold (a rule, a suspect word, a reader on pre-moderation) still holds it.
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
                reason = Reason(CATEGORY_REJECT, category, score, threshold.reject)
                (rejects if score_rejects else holds).append(reason)
            elif at is Level.HOLD and threshold is not None:
                holds.append(Reason(CATEGORY_HOLD, category, score, threshold.hold))
    if rejects:
        return Verdict(Outcome.REJECT, tuple(rejects + holds))
    if holds and trusted is not None and all(r.code == CATEGORY_HOLD for r in holds):
        return Verdict(
            Outcome.PUBLISH,
            tuple(
                Reason(TRUSTED_READER, r.category, r.score, r.threshold, trusted.detail)
                for r in holds
            ),
        )
    if holds:
        return Verdict(Outcome.HOLD, tuple(holds))
    return Verdict(Outcome.PUBLISH)


@dataclass(frozen=True)
class Inputs:
    """Everything a comment's decision depends on but its scores: `decide`'s arguments, as
    `app.services.decisions` gathers them for the live site and for the admins' replays.

    * `nudge` — the nudge thresholds in force (None: nudges are off);
    * `may_nudge` — the author can still answer a nudge (a new comment, or a rewrite);
    * `sent_anyway` — the author was nudged and sent the comment as it is: held for a
      moderator (NUDGE_IGNORED). In a `replayed` decision this holds only when the scores
      still cross a threshold of `nudge`: under higher nudge thresholds, or with nudges off,
      the author would never have been nudged, and the comment is decided like any other;
    * `anyway_reviewed` — what sending anyway does past a reject threshold: True, the comment
      is held for a moderator (what the nudge promises); False, the reject thresholds apply.
      Banned words (`reject_reasons`) reject in both cases;
    * `trusted` — the author is a trusted reader (`rules.trust`): their borderline comments
      are published (see `decide`). Never for a comment sent anyway after a nudge.
    """

    thresholds: Mapping[str, Threshold]
    hold_reasons: tuple[Reason, ...] = ()
    reject_reasons: tuple[Reason, ...] = ()
    nudge: Mapping[str, float] | None = None
    may_nudge: bool = False
    sent_anyway: bool = False
    replayed: bool = False
    anyway_reviewed: bool = True
    trusted: Reason | None = None


def verdict(inputs: Inputs, scores: Mapping[str, float] | None) -> Verdict:
    """The one way from gathered inputs and scores to a verdict (live site and replays)."""
    if inputs.sent_anyway and (
        not inputs.replayed or scores is None or nudge_reasons(scores, inputs.nudge)
    ):
        return decide(
            scores,
            inputs.thresholds,
            (Reason(NUDGE_IGNORED), *inputs.hold_reasons),
            reject_reasons=inputs.reject_reasons,
            score_rejects=not inputs.anyway_reviewed,
        )
    return decide(
        scores,
        inputs.thresholds,
        inputs.hold_reasons,
        nudge=inputs.nudge if inputs.may_nudge else None,
        reject_reasons=inputs.reject_reasons,
        trusted=inputs.trusted,
    )
