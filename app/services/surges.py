"""Surges: a story pre-moderated by the surge rule (app/surge.py) while its comments pour in.

* `check` runs on the scoring path, before a batch of live comments is decided: for each of
  their stories not already in a surge (nor pre-moderated by hand), one COUNT of its window;
  only past the rule's floor (`min_comments`) does it read the story's last day and the site's
  usual share, and ask `surge.fires`. A surge starts with a conditional UPDATE, so that two
  workers seeing the same flood start it once: one journal row, one mail to the admins.
* while it runs, `decisions.rule_facts` reads the story as surging: every comment on it is held
  (RULE_SURGE), moderators see a banner and the story first in their filters (`running`);
* it ends by itself (`close_expired`, from the sweep: the journal says so) or by a moderator's
  hand (`end`); comments it held stay for a moderator;
* `replay` finds the surges the rule would have started over past days (« Simuler »).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, select, update

from app import surge
from app.actions import AuditAction
from app.extensions import db, rowcount
from app.models import Article, Comment, CommentStatus, Role, User, as_utc, utcnow
from app.services import audit, mail, settings

log = logging.getLogger(__name__)

FLAGGED = (CommentStatus.HELD, CommentStatus.REJECTED)
DECIDED = (CommentStatus.PUBLISHED, *FLAGGED)
USUAL_SHARE_DAYS = 7


def rule() -> surge.SurgeRule:
    return settings.rules().surge


def usual_share(until: datetime, days: int = USUAL_SHARE_DAYS) -> float:
    """The site's share of held or rejected comments among those decided in the `days` before
    `until` (0 when none were decided)."""
    flagged, decided = db.session.execute(
        select(
            func.count().filter(Comment.status.in_(FLAGGED)),
            func.count(),
        ).where(
            Comment.status.in_(DECIDED),
            Comment.created_at >= until - timedelta(days=days),
            Comment.created_at < until,
        )
    ).one()
    return flagged / decided if decided else 0.0


# Built once: they run for every comment scored (building one costs twice what running it does).
_CALM_STORIES = select(Article.id, Article.published_at, Article.surge_until).where(
    Article.id.in_(bindparam("ids", expanding=True)),
    Article.premoderated.is_(False),
    or_(Article.surge_until.is_(None), Article.surge_until <= bindparam("now")),
)
_IN_WINDOW = select(func.count()).where(
    Comment.article_id == bindparam("article"), Comment.created_at >= bindparam("start")
)


def check(comments: Sequence[Comment]) -> list[int]:
    """Start a surge on the stories of these live comments where the rule fires now; returns
    the ids of the stories where one started (committed, the admins told)."""
    now_rule = rule()
    article_ids = {c.article_id for c in comments if not c.score_only}
    if not now_rule.on or not article_ids:
        return []
    now = utcnow()
    stories = db.session.execute(_CALM_STORIES, {"ids": list(article_ids), "now": now}).all()
    started: list[int] = []
    for article_id, published_at, surge_until in stories:
        last_end = as_utc(surge_until) if surge_until is not None else None
        start = surge.window_start(now_rule, now, last_end)
        in_window = db.session.scalar(_IN_WINDOW, {"article": article_id, "start": start})
        if (in_window or 0) < now_rule.min_comments:
            continue  # the usual case: one COUNT, nothing more
        since = max(filter(None, (as_utc(published_at), last_end)), default=None)
        base_from = surge.baseline_start(start, since)
        before, decided, flagged = db.session.execute(
            select(
                func.count().filter(Comment.created_at < start),
                func.count().filter(Comment.created_at >= start, Comment.status.in_(DECIDED)),
                func.count().filter(Comment.created_at >= start, Comment.status.in_(FLAGGED)),
            ).where(Comment.article_id == article_id, Comment.created_at >= base_from)
        ).one()
        trigger = surge.fires(
            now_rule,
            comments=in_window or 0,
            before=before,
            baseline_minutes=(start - base_from).total_seconds() / 60,
            decided=decided,
            flagged=flagged,
            usual_share=usual_share(now),
        )
        if trigger is not None and _start(article_id, now, now_rule, trigger):
            started.append(article_id)
    if started:
        db.session.commit()
        _tell_admins(started)
    return started


def _start(
    article_id: int, now: datetime, now_rule: surge.SurgeRule, trigger: surge.Trigger
) -> bool:
    """Start the surge unless another process just did (one winner: the conditional UPDATE);
    the end of a surge that ran out unnoticed goes to the journal first."""
    close_expired([article_id])
    until = now + now_rule.duration
    changed = db.session.execute(
        update(Article)
        .where(
            Article.id == article_id,
            or_(Article.surge_until.is_(None), Article.surge_until <= now),
        )
        .values(surge_until=until, surge_started_at=now, surge_trigger=trigger.as_dict())
        .execution_options(synchronize_session=False)
    )
    if not rowcount(changed):
        return False
    title = db.session.scalar(select(Article.title).where(Article.id == article_id))
    audit.record(
        AuditAction.SURGE_STARTED,
        actor=audit.SYSTEM,
        reason=_started_text(trigger, now_rule),
        details={
            "article_id": article_id,
            "title": title,
            "until": until.isoformat(),
            "minutes": now_rule.minutes,
            "trigger": trigger.as_dict(),
        },
    )
    log.info("surge started on story %s (%s)", article_id, trigger.kind)
    return True


def _started_text(trigger: surge.Trigger, now_rule: surge.SurgeRule) -> str:
    """The journal's French words (the journal renders `details` in the viewer's language)."""
    if trigger.kind == surge.RATE:
        why = (
            f"{trigger.comments} commentaires en {now_rule.window_minutes} min, "
            f"{trigger.usual:.1f} d’habitude"
        )
    else:
        why = (
            f"{round(trigger.share * 100)} % retenus ou rejetés, "
            f"{round(trigger.usual_share * 100)} % d’habitude"
        )
    return f"Afflux : article pré-modéré pour {now_rule.minutes} min ({why})"


def end(article_id: int, actor: User) -> bool:
    """A moderator ends the story's running surge now; False when none was running."""
    now = utcnow()
    changed = db.session.execute(
        update(Article)
        .where(Article.id == article_id, Article.surge_until > now)
        .values(surge_until=now, surge_started_at=None)
        .execution_options(synchronize_session=False)
    )
    if not rowcount(changed):
        db.session.rollback()
        return False
    _record_end(article_id, actor, by_hand=True)
    db.session.commit()
    return True


def close_expired(article_ids: Sequence[int] | None = None) -> int:
    """Write the end of every surge that ran out by itself to the journal (the sweep calls it;
    each end once, whichever process gets there first). Adds to the caller's transaction."""
    now = utcnow()
    query = select(Article.id, Article.surge_started_at).where(
        Article.surge_started_at.is_not(None), Article.surge_until <= now
    )
    if article_ids is not None:
        query = query.where(Article.id.in_(article_ids))
    ended = 0
    for article_id, started_at in db.session.execute(query).all():
        changed = db.session.execute(
            update(Article)
            .where(Article.id == article_id, Article.surge_started_at == started_at)
            .values(surge_started_at=None)
            .execution_options(synchronize_session=False)
        )
        if rowcount(changed):
            _record_end(article_id, audit.SYSTEM, by_hand=False)
            ended += 1
    return ended


def _record_end(article_id: int, actor: User | str, *, by_hand: bool) -> None:
    title = db.session.scalar(select(Article.title).where(Article.id == article_id))
    audit.record(
        AuditAction.SURGE_ENDED,
        actor=actor,
        reason="Fin de l’afflux : fin de la pré-modération"
        + (" (à la main)" if by_hand else " (d’elle-même)"),
        details={"article_id": article_id, "title": title, "by_hand": by_hand},
    )


def running() -> list[Article]:
    """The stories in a surge now, the newest first."""
    return list(
        db.session.scalars(
            select(Article)
            .where(Article.surge_until > utcnow())
            .order_by(Article.surge_started_at.desc(), Article.id)
        )
    )


def _tell_admins(article_ids: Sequence[int]) -> None:
    """One mail per admin with an address, per story (never fatal: the surge has started)."""
    if not mail.enabled():
        return
    admins = list(
        db.session.scalars(select(User.email).where(User.role == Role.ADMIN, User.email != ""))
    )
    for article in db.session.scalars(select(Article).where(Article.id.in_(article_ids))):
        try:
            link = mail.link("moderation.queue", queue="a-moderer", article=article.id)
        except RuntimeError:
            link = ""
        for address in admins:
            try:
                mail.send(
                    address,
                    "surge_started",
                    article=article,
                    until=as_utc(article.surge_until or utcnow()),
                    trigger=article.surge_trigger or {},
                    link=link,
                )
            except mail.MailError:
                log.warning("surge mail to an admin not sent")


# --- « Simuler »: the surges over past days ----------------------------------------------------


def replay(
    now_rule: surge.SurgeRule, since: datetime, until: datetime
) -> tuple[list[tuple[int, str, surge.Period]], set[int]]:
    """The surges `now_rule` would have started on comments that came between `since` and
    `until` (each story read from a day before, for its usual rate), and the ids of the
    comments they would have held: ([(article id, title, period)], {comment id})."""
    if not now_rule.on:
        return [], set()
    rows = db.session.execute(
        select(Comment.id, Comment.article_id, Comment.created_at, Comment.status)
        .where(
            Comment.created_at >= since - timedelta(hours=surge.BASELINE_HOURS),
            Comment.created_at <= until,
            Comment.status != CommentStatus.NUDGED,
        )
        .order_by(Comment.article_id, Comment.created_at, Comment.id)
    ).all()
    by_story: dict[int, list[tuple[int, surge.Seen]]] = defaultdict(list)
    for comment_id, article_id, created_at, status in rows:
        flagged = None if status == CommentStatus.PENDING else status in FLAGGED
        by_story[article_id].append((comment_id, surge.Seen(as_utc(created_at), flagged)))
    # The usual share as it stood when the replayed days began.
    share = usual_share(since)
    stories = dict(
        db.session.execute(
            select(Article.id, Article.published_at).where(Article.id.in_(by_story))
        ).all()
    )
    titles = dict(
        db.session.execute(select(Article.id, Article.title).where(Article.id.in_(by_story))).all()
    )
    found: list[tuple[int, str, surge.Period]] = []
    held: set[int] = set()
    for article_id, seen in by_story.items():
        periods = surge.replay(
            now_rule,
            [s for _, s in seen],
            published_at=as_utc(stories[article_id]) if stories.get(article_id) else None,
            usual_share=share,
        )
        periods = [p for p in periods if p.start >= since]
        found.extend((article_id, titles.get(article_id, ""), p) for p in periods)
        held.update(cid for cid, s in seen if surge.during(periods, s.at))
    found.sort(key=lambda item: item[2].start)
    return found, held
