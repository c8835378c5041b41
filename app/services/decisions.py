"""The inputs of a decision, gathered in one place for a batch of comments.

The scoring pipeline (`scoring.record_scores`), the author's « Envoyer tel quel »
(`comments.send_anyway`) and the admins' « Simuler » (`admin.simulate`) all decide through
`policy.verdict`, on what this module gathers: thresholds, nudge thresholds, site rules,
word-list matches, the rules' facts (one query), pre-moderated readers, whether a nudge may
still be offered, whether the author sent the comment anyway, and what that does. Reads only:
the word lists are matched here, before any write transaction opens (no SQLite write lock is
held while a comment is matched).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, or_, select

from app import models
from app.extensions import db
from app.models import Article, Comment, CommentStatus, as_utc, utcnow
from app.policy import NUDGE_IGNORED, READER_PREMODERATED, Inputs, Reason, Threshold
from app.rules import Facts, Rules, reasons_for, trust, word_matches
from app.services import readers, settings
from app.surge import SurgeRule
from app.wordlists import Match


@dataclass(frozen=True)
class Site:
    """The settings a decision reads: the saved ones, or those an admin is trying."""

    thresholds: Mapping[str, Threshold]
    nudge: Mapping[str, float] | None  # None: nudges are off
    rules: Rules
    anyway_reviewed: bool  # sent anyway after a nudge: held for a moderator, never rejected


def site(
    thresholds: Mapping[str, Mapping[str, Any]] | None = None,
    values: Mapping[str, Any] | None = None,
    of: models.Site | None = None,
) -> Site:
    """The saved settings, those of site `of` when given (its overrides), with `thresholds`
    (per category: hold, reject, nudge, enabled) or site setting `values` (the rules and
    word-list forms) tried in their place."""
    given = dict(values or {})
    nudge = settings.nudge_thresholds(given.get("nudge_enabled"), of)
    if thresholds:
        per_category = {
            c: Threshold(v["hold"], v["reject"], v["enabled"]) for c, v in thresholds.items()
        }
        if nudge is not None:
            nudge = {c: v["nudge"] for c, v in thresholds.items() if v["enabled"]}
    else:
        per_category = settings.thresholds()
    return Site(
        thresholds=per_category,
        nudge=nudge,
        rules=settings.rules({k: given[k] for k in settings.RULE_KEYS if k in given}, of),
        anyway_reviewed=settings.sent_anyway_reviewed(given.get("nudge_sent_anyway")),
    )


_SITES_OF = (
    select(Article.id, models.Site)
    .outerjoin(models.Site, models.Site.id == Article.site_id)
    .where(Article.id.in_(bindparam("ids", expanding=True)))
)


def sites_of(comments: Sequence[Comment]) -> dict[int, Site]:
    """Per article id of these comments, the settings of the article's site (its overrides of
    the saved settings): one query, whatever the number of articles."""
    article_ids = {c.article_id for c in comments}
    rows = db.session.execute(_SITES_OF, {"ids": list(article_ids)}).all()
    saved = site()
    by_site: dict[int, Site] = {}
    found = dict.fromkeys(article_ids, saved)  # an article not found: the saved settings
    for article_id, row in rows:
        if row is None or not set(row.overrides or {}) & set(settings.SITE_KEYS):
            continue
        if row.id not in by_site:
            by_site[row.id] = site(of=row)
        found[article_id] = by_site[row.id]
    return found


@dataclass(frozen=True)
class Gathered:
    """One comment's decision inputs, and the word lists' matches among them (stored with
    the decision: the moderator's card highlights them)."""

    inputs: Inputs
    matches: tuple[Match, ...] = ()


def gather(comments: Sequence[Comment], *, sending_anyway: bool = False) -> dict[int, Gathered]:
    """What deciding these comments needs, as each comment's site (its article's) stands now,
    per comment id. With `sending_anyway`, their authors answer the nudge by sending them as
    they are."""
    of_article = sites_of(comments)
    watched = readers.premoderated(readers.Reader.of(c.author_email, c.user_id) for c in comments)
    reading = [s.rules for s in of_article.values() if s.rules.reads_history]
    facts = rule_facts(
        comments,
        history_days=max((r.history_days for r in reading), default=None),
        as_of_each=False,
    )
    window = timedelta(minutes=current_app.config["NUDGE_EXPIRY_MINUTES"])
    now = utcnow()
    gathered: dict[int, Gathered] = {}
    for comment in comments:
        now_site = of_article[comment.article_id]
        matches = word_matches(now_site.rules, comment.body)
        holds, rejects = reasons_for(now_site.rules, facts[comment.id], matches)
        trusted = trust(now_site.rules, facts[comment.id])
        if readers.Reader.of(comment.author_email, comment.user_id) in watched:
            holds.insert(0, Reason(READER_PREMODERATED))
        may_nudge = (
            not sending_anyway
            and not comment.nudge_acknowledged
            and comment.status == CommentStatus.PENDING
            and as_utc(comment.created_at) > now - window
        )
        inputs = Inputs(
            thresholds=now_site.thresholds,
            hold_reasons=tuple(holds),
            reject_reasons=tuple(rejects),
            nudge=now_site.nudge,
            may_nudge=may_nudge,
            sent_anyway=sending_anyway or comment.nudge_acknowledged,
            anyway_reviewed=now_site.anyway_reviewed,
            trusted=trusted,
        )
        gathered[comment.id] = Gathered(inputs, tuple(matches))
    return gathered


def for_texts(bodies: Sequence[str], *, may_nudge: bool) -> list[Gathered]:
    """The inputs of a decision on texts that are not our comments (the API's: a CMS or Coral
    asks what the site would do): the saved thresholds and nudge thresholds, the word lists
    and the site rules that read the text (« tout prémodérer », links). The rules about an
    article or an author's past comments do not apply: the caller's system holds those facts.
    `may_nudge`: whether the caller can offer its author the nudge."""
    now_site = site()
    rules = replace(
        now_site.rules,
        premoderate_first_n=0,
        trust_after_published=0,
        distrust_percent=0,
        surge=SurgeRule(multiple=0),
    )
    gathered = []
    for body in bodies:
        matches = word_matches(rules, body)
        holds, rejects = reasons_for(rules, Facts(body=body), matches)
        inputs = Inputs(
            thresholds=now_site.thresholds,
            hold_reasons=tuple(holds),
            reject_reasons=tuple(rejects),
            nudge=now_site.nudge,
            may_nudge=may_nudge,
            anyway_reviewed=now_site.anyway_reviewed,
        )
        gathered.append(Gathered(inputs, tuple(matches)))
    return gathered


@dataclass(frozen=True)
class Stored:
    """A decided comment as a replay reads it; `reasons` are those stored with its decision."""

    id: int
    body: str
    article_id: int
    author_email: str
    reasons: Sequence[Mapping[str, Any]] = ()
    created_at: datetime = datetime.min.replace(tzinfo=UTC)
    user_id: int | None = None


def replay(
    comments: Sequence[Stored],
    before: Site,
    after: Site,
    surged: tuple[set[int], set[int]] = (set(), set()),
) -> dict[int, tuple[Inputs, Inputs]]:
    """Per comment id, the inputs of its decision under the `before` and `after` settings.

    The rules and word lists are applied again (to the text, and to the facts as they were
    when the comment came: the author's published and rejected comments before it; `surged`:
    per side, the comments that came while their story was in a surge, as
    `services.surges.replay` finds them). What the settings do not change is kept from the
    stored reasons: a reader put on pre-moderation, and a nudge the author answered by sending
    anyway, which `policy.verdict` replays with each side's nudge thresholds (no nudge there,
    no « envoyé tel quel » hold)."""
    facts_of: list[dict[int, Facts]] = []
    for side in (before, after):
        days = side.rules.history_days if side.rules.reads_history else None
        if facts_of and days == (before.rules.history_days if before.rules.reads_history else None):
            facts_of.append(facts_of[0])
        else:
            facts_of.append(rule_facts(comments, history_days=days, as_of_each=True))
    replayed: dict[int, tuple[Inputs, Inputs]] = {}
    for comment in comments:
        codes = {raw.get("code") for raw in comment.reasons}
        kept = (Reason(READER_PREMODERATED),) if READER_PREMODERATED in codes else ()
        sent_anyway = NUDGE_IGNORED in codes
        matches = word_matches(before.rules, comment.body)
        sides: list[Inputs] = []
        for number, side in enumerate((before, after)):
            if side is after and after.rules != before.rules:
                matches = word_matches(after.rules, comment.body)
            facts = replace(
                facts_of[number][comment.id], article_surge=comment.id in surged[number]
            )
            holds, rejects = reasons_for(side.rules, facts, matches)
            sides.append(
                Inputs(
                    thresholds=side.thresholds,
                    hold_reasons=(*kept, *holds),
                    reject_reasons=tuple(rejects),
                    nudge=side.nudge,
                    sent_anyway=sent_anyway,
                    replayed=True,
                    anyway_reviewed=side.anyway_reviewed,
                    trusted=trust(side.rules, facts),
                )
            )
        replayed[comment.id] = (sides[0], sides[1])
    return replayed


# The live decision's statements, built once (building one costs twice what running it does).
_PREMODERATED_OR_SURGING = select(Article.id, Article.premoderated).where(
    Article.id.in_(bindparam("ids", expanding=True)),
    or_(Article.premoderated, Article.surge_until > bindparam("now")),
)
_SINCE = Comment.created_at >= bindparam("since")
_PUBLISHED = Comment.status == CommentStatus.PUBLISHED
_AUTHOR_COUNTS = (
    select(
        Comment.author_email,
        func.count().filter(_PUBLISHED),
        func.count().filter(_PUBLISHED, _SINCE),
        func.count().filter(Comment.status == CommentStatus.REJECTED, _SINCE),
    )
    .where(
        Comment.author_email.in_(bindparam("emails", expanding=True)),
        Comment.status.in_((CommentStatus.PUBLISHED, CommentStatus.REJECTED)),
    )
    .group_by(Comment.author_email)
)


def rule_facts(
    comments: Sequence[Comment] | Sequence[Stored],
    *,
    history_days: int | None,
    as_of_each: bool,
) -> dict[int, Facts]:
    """What the site rules look at, per comment id, in two queries at most: whether its
    article is pre-moderated (by hand, or by a surge running now), and (only with
    `history_days`: a rule reads the authors' past) its author's published comments and, in
    the `history_days` before, their published and rejected ones: as they stand now for a
    live decision, as they stood when each comment came when `as_of_each` (a replay)."""
    now = utcnow()
    article_ids = {c.article_id for c in comments}
    premoderated: set[int] = set()
    surging: set[int] = set()
    for article_id, by_hand in db.session.execute(
        _PREMODERATED_OR_SURGING, {"ids": list(article_ids), "now": now}
    ):
        (premoderated if by_hand else surging).add(article_id)
    authors = {c.author_email for c in comments}
    decided = (CommentStatus.PUBLISHED, CommentStatus.REJECTED)
    # A live decision needs each author's counts only (a few rows per author, on the scoring
    # path); a replay needs their dates, to count those before each comment.
    totals: dict[str, int] = {}
    recent: dict[tuple[str, str], int] = {}
    published: dict[str, list[int]] = defaultdict(list)
    dates: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    if history_days and as_of_each:
        for email, comment_id, status, created_at in db.session.execute(
            select(Comment.author_email, Comment.id, Comment.status, Comment.created_at)
            .where(Comment.author_email.in_(authors), Comment.status.in_(decided))
            .order_by(Comment.id)
        ):
            if status == CommentStatus.PUBLISHED:
                published[email].append(comment_id)
            dates[email, status].append(as_utc(created_at))
        for listed in dates.values():
            listed.sort()
    elif history_days:
        for email, total, published_recently, rejected_recently in db.session.execute(
            _AUTHOR_COUNTS,
            {"emails": list(authors), "since": now - timedelta(days=history_days)},
        ):  # one statement: every count of every author
            totals[email] = total
            recent[email, CommentStatus.PUBLISHED] = published_recently
            recent[email, CommentStatus.REJECTED] = rejected_recently

    def within(email: str, status: str, at: datetime) -> int:
        listed = dates[email, status]
        assert history_days is not None
        since = at - timedelta(days=history_days)
        return bisect.bisect_left(listed, at) - bisect.bisect_left(listed, since)

    facts: dict[int, Facts] = {}
    for c in comments:
        email = c.author_email
        if as_of_each:
            at = as_utc(c.created_at)
            counts = (
                bisect.bisect_left(published[email], c.id),
                within(email, CommentStatus.PUBLISHED, at) if history_days else 0,
                within(email, CommentStatus.REJECTED, at) if history_days else 0,
            )
        else:
            counts = (
                totals.get(email, 0),
                recent.get((email, CommentStatus.PUBLISHED), 0),
                recent.get((email, CommentStatus.REJECTED), 0),
            )
        facts[c.id] = Facts(
            body=c.body,
            article_premoderated=c.article_id in premoderated,
            author_published_before=counts[0],
            author_recent_published=counts[1],
            author_recent_rejected=counts[2],
            author_signed_in=c.user_id is not None,
            article_surge=c.article_id in surging and not as_of_each,
        )
    return facts
