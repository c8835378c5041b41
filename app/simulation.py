"""What the admin sees before saving: replays and calibrations. Pure: plain values in and out.

No Flask, no database, no model. Two computations back the admin pages:

* `simulate` — « what would the last N decided comments have become under these thresholds? »
  It replays each comment's *stored* scores through `app.policy.decide` (never through a
  model) and counts, per outcome, before and after, with a 3×3 transition matrix and a few
  example comments for each cell that changed.
* `calibrate` — « which threshold would have agreed with our moderators? » From comments a
  moderator approved or rejected, per category: score histograms of both groups, an
  agreement / workload / false-publish curve over a grid of thresholds, and a suggested
  threshold for a target agreement.

Run ``python -m app.simulation`` for a timing of both on 10,000 synthetic comments.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from app.actions import AuditAction
from app.policy import Inputs, Outcome, Reason, Threshold, verdict
from app.surge import Period

# The three outcomes a decided comment can have, in display order (rows and columns).
OUTCOMES: tuple[Outcome, ...] = (Outcome.PUBLISH, Outcome.HOLD, Outcome.REJECT)
_BY_VALUE: dict[str, Outcome] = {o.value: o for o in OUTCOMES}

# --------------------------------------------------------------------------------------------
# 1. Simulation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replayed:
    """One stored comment, as the database gives it.

    `scores` is None when the comment was never scored. `outcome` is what the comment
    automatically became then ("publish", "hold" or "reject"; an `Outcome` is accepted too).
    `hold_reasons` are holds independent of thresholds (site rules, pre-moderated author...)
    that still apply; `excerpt` is the start of the text, shown in examples. `inputs`, when
    given, are the whole inputs of its new decision (`app.services.decisions.replay` gathers
    them: thresholds, nudge, rules, « envoyé tel quel »); they then replace `hold_reasons` and
    the thresholds passed to `simulate`.
    """

    id: int
    scores: Mapping[str, float] | None
    outcome: str
    hold_reasons: tuple[Reason, ...] = ()
    excerpt: str = ""
    inputs: Inputs | None = None


@dataclass(frozen=True)
class Example:
    """A comment whose outcome would change, with the reasons of its *new* verdict.

    `reasons` are `app.policy.Reason` values (turn them into French with
    `app.labels.reason_text`); `as_dict` gives a JSON-ready form.
    """

    id: int
    excerpt: str
    before: Outcome
    after: Outcome
    reasons: tuple[Reason, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "excerpt": self.excerpt,
            "before": self.before.value,
            "after": self.after.value,
            "reasons": [reason.as_dict() for reason in self.reasons],
        }


@dataclass(frozen=True)
class Transition:
    """One changed cell of the matrix: `count` comments would go from `before` to `after`."""

    before: Outcome
    after: Outcome
    count: int
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True)
class StorySurge:
    """A surge the surge rule would have started on a story (`app.surge.replay`)."""

    article_id: int
    title: str
    period: Period


@dataclass(frozen=True)
class SimulationResult:
    """The effect of a set of thresholds on stored comments.

    * `total` — comments replayed;
    * `before[o]` / `after[o]` — how many were / would be `o`, for o in `OUTCOMES`
      (both sum to `total`);
    * `matrix[b][a]` — how many went `b` then and would go `a` now (all nine cells present);
    * `examples[(b, a)]` — up to `examples` comments for each *changed* cell (b ≠ a) that is
      not empty, in input order (pass the most recent first to show the most recent);
    * `unscored` — comments without scores. They are replayed too: `decide` holds them
      (`scoring_unavailable`) whatever the thresholds, exactly as the live site does, so a
      comment held for that reason stays « hold → hold »;
    * `surges_before` / `surges_after` — the surges the surge rule would have started over
      the replayed days with the saved / proposed settings (filled in by the caller).
    """

    total: int
    before: dict[Outcome, int]
    after: dict[Outcome, int]
    matrix: dict[Outcome, dict[Outcome, int]]
    examples: dict[tuple[Outcome, Outcome], tuple[Example, ...]] = field(default_factory=dict)
    unscored: int = 0
    surges_before: tuple[StorySurge, ...] = ()
    surges_after: tuple[StorySurge, ...] = ()

    @property
    def unchanged(self) -> int:
        """Comments whose outcome would stay the same (the diagonal of the matrix)."""
        return sum(self.matrix[o][o] for o in OUTCOMES)

    @property
    def changed(self) -> int:
        return self.total - self.unchanged

    @property
    def transitions(self) -> list[Transition]:
        """The changed cells that are not empty, largest first (ties in `OUTCOMES` order)."""
        cells = [
            Transition(b, a, self.matrix[b][a], self.examples.get((b, a), ()))
            for b in OUTCOMES
            for a in OUTCOMES
            if b != a and self.matrix[b][a]
        ]
        return sorted(cells, key=lambda t: -t.count)

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form (outcome names as strings)."""
        return {
            "total": self.total,
            "unchanged": self.unchanged,
            "changed": self.changed,
            "unscored": self.unscored,
            "before": {o.value: self.before[o] for o in OUTCOMES},
            "after": {o.value: self.after[o] for o in OUTCOMES},
            "matrix": {b.value: {a.value: self.matrix[b][a] for a in OUTCOMES} for b in OUTCOMES},
            "transitions": [
                {
                    "before": t.before.value,
                    "after": t.after.value,
                    "count": t.count,
                    "examples": [e.as_dict() for e in t.examples],
                }
                for t in self.transitions
            ],
            "surges": {
                side: [
                    {
                        "article_id": s.article_id,
                        "title": s.title,
                        "start": s.period.start.isoformat(),
                        "end": s.period.end.isoformat(),
                        "trigger": s.period.trigger.as_dict(),
                    }
                    for s in surges
                ]
                for side, surges in (("before", self.surges_before), ("after", self.surges_after))
            },
        }


def simulate(
    comments: Sequence[Replayed],
    thresholds: Mapping[str, Threshold] | None = None,
    *,
    examples: int = 3,
    extra_hold: Callable[[Replayed], Sequence[Reason]] | None = None,
    extra_reject: Callable[[Replayed], Sequence[Reason]] | None = None,
) -> SimulationResult:
    """Replay stored comments through `app.policy.verdict`, on each comment's `inputs`, or
    else on `thresholds` and its `hold_reasons`.

    Each comment is decided again from its stored scores, plus `extra_hold(comment)` when
    given (e.g. a site rule the admin is about to add), and with `extra_reject(comment)` as
    reject reasons when given (e.g. a banned word: a non-empty list rejects whatever the
    scores). No nudge is offered (the author cannot answer any more), but one the author
    answered by sending the comment anyway is replayed with the inputs' nudge thresholds (see
    `policy.Inputs`); never a model call. Unscored comments are held, as on the live site
    (see `SimulationResult`). Raises ValueError for an unknown stored outcome, a negative
    `examples`, or a comment with neither `inputs` nor `thresholds`.
    """
    if examples < 0:
        raise ValueError("examples must be zero or more")
    decided: list[Example] = []
    unscored = 0
    for comment in comments:
        before = _BY_VALUE.get(comment.outcome)
        if before is None:
            raise ValueError(f"comment {comment.id}: unknown outcome {comment.outcome!r}")
        inputs = comment.inputs
        if inputs is None:
            if thresholds is None:
                raise ValueError(f"comment {comment.id}: no inputs and no thresholds")
            inputs = Inputs(thresholds, comment.hold_reasons, replayed=True)
        if extra_hold is not None or extra_reject is not None:
            inputs = replace(
                inputs,
                hold_reasons=(*inputs.hold_reasons, *(extra_hold(comment) if extra_hold else ())),
                reject_reasons=(
                    *inputs.reject_reasons,
                    *(extra_reject(comment) if extra_reject else ()),
                ),
            )
        if comment.scores is None:
            unscored += 1
        new = verdict(inputs, comment.scores)
        decided.append(Example(comment.id, comment.excerpt, before, new.outcome, new.reasons))
    return tally(decided, examples=examples, unscored=unscored)


def tally(decided: Iterable[Example], *, examples: int = 3, unscored: int = 0) -> SimulationResult:
    """Count comments decided twice (`before`, then `after`) into the matrix, with up to
    `examples` comments for each changed cell, in the order given: what « Simuler » replays,
    and what « Essai » (services/shadow) recorded in the background. Raises ValueError for an
    outcome that is not one of `OUTCOMES` (a nudge)."""
    matrix: dict[Outcome, dict[Outcome, int]] = {b: dict.fromkeys(OUTCOMES, 0) for b in OUTCOMES}
    found: dict[tuple[Outcome, Outcome], list[Example]] = {}
    for example in decided:
        before, after = example.before, example.after
        if before not in matrix or after not in matrix:
            raise ValueError(f"comment {example.id}: outcomes {before!r} -> {after!r}")
        matrix[before][after] += 1
        if after != before and examples:
            cell = found.setdefault((before, after), [])
            if len(cell) < examples:
                cell.append(example)
    return SimulationResult(
        total=sum(sum(row.values()) for row in matrix.values()),
        before={b: sum(matrix[b].values()) for b in OUTCOMES},
        after={a: sum(matrix[b][a] for b in OUTCOMES) for a in OUTCOMES},
        matrix=matrix,
        examples={cell: tuple(items) for cell, items in found.items()},
        unscored=unscored,
    )


# --------------------------------------------------------------------------------------------
# 2. Calibration from the moderators' own decisions
# --------------------------------------------------------------------------------------------

# A moderator's decisions, as the audit trail names them.
APPROVED = AuditAction.APPROVED
REJECTED = AuditAction.REJECTED
DEFAULT_TARGET = 0.98
DEFAULT_BINS = 20
DEFAULT_STEPS = 100  # thresholds 0.00, 0.01, ..., 1.00
_EPSILON = 1e-9  # agreement shares are ratios of integers: forgive the last float bit


class CurvePoint(NamedTuple):
    """The machine's would-be record at one candidate threshold `t`, for one category.

    Over the N decided comments that have a score in this category, the machine says
    « not OK » (hold or reject: a moderator sees it) when score ≥ t and « OK » (publish) when
    score < t:

    * `agreement` — share of the N where the machine matches the moderator: rejected with
      score ≥ t, or approved with score < t;
    * `workload` — share of the N still reaching a moderator: score ≥ t
      (`workload_count` of them);
    * `false_publish` — share of the N the machine would publish although a moderator
      rejected them: rejected with score < t (`false_publish_count` of them). What an admin
      fears most; note it is a share of *all* N, not of the rejected ones.
    """

    threshold: float
    agreement: float
    workload: float
    false_publish: float
    workload_count: int
    false_publish_count: int


# Below this many human decisions in a category, calibration suggests no threshold: a few
# decisions sort themselves perfectly at almost any threshold (4 decisions gave « 1.00 »).
MIN_DECISIONS = 30


@dataclass(frozen=True)
class CategoryCalibration:
    """Calibration of one category from the moderators' decisions.

    * `approved` / `rejected` — how many decided comments of each kind have a score here;
    * `histogram_approved` / `histogram_rejected` — their scores in `bins` equal bins over
      [0, 1]: bin i holds i/bins ≤ score < (i+1)/bins, and the last one also holds 1.0;
    * `curve` — one `CurvePoint` per threshold of the grid (0.00, 0.01, …, 1.00 by default);
      empty when there is no decided comment at all;
    * `suggested` — the threshold of the grid with the LOWEST workload among those whose
      agreement ≥ `target` (`reached` is True). When none reaches the target: the threshold
      with the HIGHEST agreement (`reached` is False). Ties go to the lower workload, then to
      the HIGHER threshold: thresholds that sort the decided comments alike differ only on
      comments not seen yet, and the higher one sends fewer of them to a moderator (e.g.
      approved up to 0.4, rejected from 0.6: 0.60, where every rejected one is still caught).
      Look at `false_publish` on the curve for the risk. None with no data. With only
      approved (or only rejected) comments a suggestion exists but rests on one side only
      (only approved: 1.00, flag nothing; only rejected: flag them all): see `one_sided`.
      None as well with fewer than `min_decisions` decisions (`too_few`).
    """

    category: str
    approved: int
    rejected: int
    histogram_approved: list[int]
    histogram_rejected: list[int]
    curve: list[CurvePoint]
    target: float
    suggested: float | None
    reached: bool
    min_decisions: int = 0

    @property
    def total(self) -> int:
        return self.approved + self.rejected

    @property
    def too_few(self) -> bool:
        """Some decisions, but fewer than `min_decisions`: no threshold is suggested."""
        return 0 < self.total < self.min_decisions

    @property
    def one_sided(self) -> bool:
        """True when moderators never approved, or never rejected, anything scored here."""
        return self.approved == 0 or self.rejected == 0

    @property
    def suggested_point(self) -> CurvePoint | None:
        """The curve at the suggested threshold (agreement, workload, false publishes)."""
        return None if self.suggested is None else self.point(self.suggested)

    def point(self, threshold: float) -> CurvePoint | None:
        """The curve point nearest to `threshold` (None without data)."""
        if not self.curve:
            return None
        return min(self.curve, key=lambda p: abs(p.threshold - threshold))


@dataclass(frozen=True)
class Calibration:
    """Calibration of every category. `unscored` decisions (no scores) were left out."""

    total: int
    unscored: int
    target: float
    bins: int
    categories: dict[str, CategoryCalibration]
    sources: dict[str, int] = field(default_factory=dict)
    """Decisions by where they came from (our moderators, each API client), when told."""


def histogram(scores: Iterable[float], bins: int = DEFAULT_BINS) -> list[int]:
    """Counts of `scores` in `bins` equal bins over [0, 1].

    Bin i holds i/bins ≤ score < (i+1)/bins; 1.0 goes into the last bin. A score exactly on an
    edge goes to the bin it opens (0.05 with 20 bins: bin 1). Raises ValueError for a score
    outside [0, 1] (or NaN) and for fewer than one bin.
    """
    if bins < 1:
        raise ValueError("at least one bin")
    edges = [i / bins for i in range(bins + 1)]  # i/bins is exactly the decimal's float
    counts = [0] * bins
    for score in scores:
        _check_score(score)
        counts[min(bisect.bisect_right(edges, score) - 1, bins - 1)] += 1
    return counts


def calibrate_category(
    category: str,
    approved: Sequence[float],
    rejected: Sequence[float],
    *,
    target: float = DEFAULT_TARGET,
    bins: int = DEFAULT_BINS,
    steps: int = DEFAULT_STEPS,
    min_decisions: int = 0,
) -> CategoryCalibration:
    """Calibrate one category from the scores of approved and rejected comments.

    The grid holds the thresholds i/steps for i in 0..steps. See `CurvePoint` for the
    definitions and `CategoryCalibration` for the suggestion rule (none below `min_decisions`
    decisions; the moderators' screen uses MIN_DECISIONS).
    """
    _check_target(target)
    if steps < 1:
        raise ValueError("at least one step")
    hist_approved = histogram(approved, bins)
    hist_rejected = histogram(rejected, bins)
    ok_sorted = sorted(approved)
    bad_sorted = sorted(rejected)
    n = len(ok_sorted) + len(bad_sorted)
    curve: list[CurvePoint] = []
    if n:
        for i in range(steps + 1):
            t = i / steps
            ok_below = bisect.bisect_left(ok_sorted, t)  # approved, score < t: published
            bad_below = bisect.bisect_left(bad_sorted, t)  # rejected, score < t: false publish
            flagged = n - ok_below - bad_below
            agreed = ok_below + (len(bad_sorted) - bad_below)
            curve.append(CurvePoint(t, agreed / n, flagged / n, bad_below / n, flagged, bad_below))
    suggested, reached = _suggest(curve, target) if n >= min_decisions else (None, False)
    return CategoryCalibration(
        category=category,
        approved=len(ok_sorted),
        rejected=len(bad_sorted),
        histogram_approved=hist_approved,
        histogram_rejected=hist_rejected,
        curve=curve,
        target=target,
        suggested=suggested,
        reached=reached,
        min_decisions=min_decisions,
    )


def calibrate(
    decisions: Iterable[tuple[Mapping[str, float] | None, str]],
    *,
    target: float = DEFAULT_TARGET,
    categories: Iterable[str] | None = None,
    bins: int = DEFAULT_BINS,
    steps: int = DEFAULT_STEPS,
    min_decisions: int = 0,
) -> Calibration:
    """Calibrate every category from `(scores, APPROVED | REJECTED)` moderator decisions.

    A decision counts in a category only when its scores have that category; decisions without
    scores (None) are counted in `unscored` and left out. `categories` fixes which categories
    are reported and in which order (one with no data gets empty histograms and no
    suggestion); by default, every category seen, in order of first appearance. A category
    with fewer than `min_decisions` decisions gets no suggestion. Raises
    ValueError for another human outcome, a score outside [0, 1] or a target outside [0, 1].
    """
    _check_target(target)
    wanted = list(categories) if categories is not None else None
    per_category: dict[str, tuple[list[float], list[float]]] = {c: ([], []) for c in (wanted or [])}
    total = unscored = 0
    for scores, human in decisions:
        total += 1
        if human == APPROVED:
            side = 0
        elif human == REJECTED:
            side = 1
        else:
            raise ValueError(f"unknown human outcome {human!r} (approved or rejected)")
        if scores is None:
            unscored += 1
            continue
        for category, score in scores.items():
            lists = per_category.get(category)
            if lists is None:
                if wanted is not None:
                    continue
                lists = per_category[category] = ([], [])
            lists[side].append(score)
    return Calibration(
        total=total,
        unscored=unscored,
        target=target,
        bins=bins,
        categories={
            category: calibrate_category(
                category,
                ok,
                bad,
                target=target,
                bins=bins,
                steps=steps,
                min_decisions=min_decisions,
            )
            for category, (ok, bad) in per_category.items()
        },
    )


def _suggest(curve: Sequence[CurvePoint], target: float) -> tuple[float | None, bool]:
    """The suggestion rule of `CategoryCalibration`: (threshold, whether target was reached)."""
    if not curve:
        return None, False
    reaching = [p for p in curve if p.agreement >= target - _EPSILON]
    if reaching:
        best = min(reaching, key=lambda p: (p.workload_count, -p.threshold))
        return best.threshold, True
    best = min(curve, key=lambda p: (-p.agreement, p.workload_count, -p.threshold))
    return best.threshold, False


def _check_score(score: float) -> None:
    if not 0.0 <= score <= 1.0:  # NaN fails too
        raise ValueError(f"score {score!r} lies outside [0, 1]")


def _check_target(target: float) -> None:
    if not 0.0 <= target <= 1.0:
        raise ValueError("the target agreement lies between 0 and 1")


# --------------------------------------------------------------------------------------------
# Benchmark: python -m app.simulation
# --------------------------------------------------------------------------------------------
