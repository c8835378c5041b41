"""The surge rule: when a story's comments come in far faster than usual, or far angrier, the
story is pre-moderated for a while. Pure: times and counts in, a trigger out.

The rule, as « Règles › Afflux » sets it (`SurgeRule`), for one story at time `now`:

* the **window** is the last `window_minutes` (10), starting no earlier than the end of the
  story's last surge (a story that leaves a surge is read afresh);
* the **usual rate** is the story's comments in the `BASELINE_HOURS` (24) before the window,
  per window (a story younger than that: since it was published, or since its last surge);
* it **fires** when the window holds at least `min_comments` comments (50) and either
  - **rate**: that many is at least `multiple` (5) × the usual rate, or
  - **share**: of the window's comments already decided, the share held or rejected is at
    least `multiple` × the site's usual share (its last 7 days; never read below
    `MIN_USUAL_SHARE`), with at least `MIN_DECIDED` decided;
* the story is then pre-moderated for `minutes` (60): every new comment on it is held for a
  moderator. It ends by itself, or by a moderator's hand; if the surge goes on, it fires again.

The live site (`services/surges.check`, on the scoring path) and the admins' « Simuler »
(`replay`, over past days) both decide through `fires`, so the rule means the same in both.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

BASELINE_HOURS = 24
MIN_USUAL_SHARE = 0.05
MIN_DECIDED = 10
RATE = "rate"
SHARE = "share"


@dataclass(frozen=True)
class SurgeRule:
    multiple: int = 5  # 0: the rule is off
    min_comments: int = 50
    window_minutes: int = 10
    minutes: int = 60  # how long a story stays pre-moderated

    @property
    def on(self) -> bool:
        return self.multiple > 0

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class Seen:
    """One comment as the rule reads it: when it came, and whether it was held or rejected
    (None: not decided yet)."""

    at: datetime
    flagged: bool | None = None


@dataclass(frozen=True)
class Trigger:
    """Why the rule fired: `kind` (RATE or SHARE) and the numbers it compared."""

    kind: str
    comments: int  # in the window
    usual: float  # the story's usual comments per window
    share: float  # held or rejected, of those decided in the window
    usual_share: float

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "comments": self.comments,
            "usual": round(self.usual, 2),
            "share": round(self.share, 3),
            "usual_share": round(self.usual_share, 3),
        }


def window_start(rule: SurgeRule, now: datetime, last_end: datetime | None) -> datetime:
    start = now - rule.window
    return max(start, last_end) if last_end is not None else start


def baseline_start(window_from: datetime, since: datetime | None) -> datetime:
    """Where the usual rate is read from: `BASELINE_HOURS` before the window, or later when
    the story is younger or left a surge since (`since`)."""
    start = window_from - timedelta(hours=BASELINE_HOURS)
    return max(start, since) if since is not None else start


def fires(
    rule: SurgeRule,
    *,
    comments: int,
    before: int,
    baseline_minutes: float,
    decided: int,
    flagged: int,
    usual_share: float,
) -> Trigger | None:
    """Whether a story in this state is in a surge: `comments` in the window, `before` in the
    `baseline_minutes` before it, `decided` of the window's comments decided and `flagged` of
    those held or rejected; `usual_share`: the site's usual share held or rejected."""
    if not rule.on or comments < rule.min_comments:
        return None
    usual = before * rule.window_minutes / baseline_minutes if baseline_minutes > 0 else 0.0
    share = flagged / decided if decided else 0.0
    usual_share = max(usual_share, MIN_USUAL_SHARE)
    if comments >= rule.multiple * usual:
        return Trigger(RATE, comments, usual, share, usual_share)
    if decided >= MIN_DECIDED and share >= rule.multiple * usual_share:
        return Trigger(SHARE, comments, usual, share, usual_share)
    return None


@dataclass(frozen=True)
class Period:
    """A surge a replay found: from `start` to `end`, and why."""

    start: datetime
    end: datetime
    trigger: Trigger


def replay(
    rule: SurgeRule,
    seen: Sequence[Seen],
    *,
    published_at: datetime | None,
    usual_share: float,
) -> list[Period]:
    """The surges one story would have had under `rule`, its comments `seen` in the order they
    came: the rule is looked at as each comment arrives, as the live site does. The comments
    that came during a surge are those it would have held."""
    times = [s.at for s in seen]
    decided_before = [0]
    flagged_before = [0]
    for s in seen:
        decided_before.append(decided_before[-1] + (s.flagged is not None))
        flagged_before.append(flagged_before[-1] + bool(s.flagged))
    periods: list[Period] = []
    last_end: datetime | None = None
    for index, comment in enumerate(seen):
        if periods and comment.at < periods[-1].end:
            continue  # held by the surge running
        now = comment.at
        start = window_start(rule, now, last_end)
        first = bisect.bisect_left(times, start)
        since = max(filter(None, (published_at, last_end)), default=None)
        base_from = baseline_start(start, since)
        base_first = bisect.bisect_left(times, base_from)
        trigger = fires(
            rule,
            comments=index + 1 - first,
            before=first - base_first,
            baseline_minutes=(start - base_from).total_seconds() / 60,
            decided=decided_before[index] - decided_before[first],
            flagged=flagged_before[index] - flagged_before[first],
            usual_share=usual_share,
        )
        if trigger is not None:
            periods.append(Period(now, now + rule.duration, trigger))
            last_end = now + rule.duration
    return periods


def during(periods: Sequence[Period], at: datetime) -> bool:
    """Whether `at` falls in one of these surges (its start included: the comment that set it
    off is held too, as on the live site)."""
    return any(p.start <= at < p.end for p in periods)
