"""A comment's way through the model: claimed, scored, decided — once, whatever fails.

Every state change here is a conditional UPDATE, so that several worker threads or processes
can never score or decide the same comment twice: a worker claims comments (`claim`), and only
the holder of the claim may record their scores (`record_scores`) or their failure
(`record_failure`). Only these functions commit the scoring transitions.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnExpressionArgument, and_, func, or_, select, true, update
from sqlalchemy.sql.elements import ColumnElement

from app import labels, policy
from app.extensions import db, rowcount
from app.models import Article, Comment, CommentScore, CommentStatus, as_utc, utcnow
from app.rules import Facts, reasons_for, word_matches
from app.scoring import Scorer, ScoreResult
from app.services import audit, readers, settings
from app.services.comments import STATUS_FOR_OUTCOME
from app.wordlists import Match, stored_match

UNDECIDED = (CommentStatus.PENDING, CommentStatus.HELD)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    token: str
    comments: list[Comment]


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    return or_(Comment.claimed_until.is_(None), Comment.claimed_until < now)


def claim(comment_ids: Sequence[int], fill_up_to: int = 0) -> Claim:
    """Claim the comments that still await a score and that nobody else holds.

    With `fill_up_to`, other comments due for scoring join the batch, up to that many in all:
    a Celery worker scores in one model call what arrived while it was busy (their own tasks
    then find them decided and do nothing)."""
    token = secrets.token_hex(16)
    now = utcnow()
    lease = timedelta(seconds=current_app.config["SCORING_LEASE_SECONDS"])
    ids = list(dict.fromkeys(comment_ids))
    if fill_up_to > len(ids):
        ids += db.session.scalars(
            select(Comment.id)
            .where(
                Comment.awaiting_score,
                _unclaimed(now),
                or_(Comment.next_scoring_at.is_(None), Comment.next_scoring_at <= now),
                Comment.id.not_in(ids) if ids else true(),
            )
            .order_by(Comment.id)
            .limit(fill_up_to - len(ids))
        )
    db.session.execute(
        update(Comment)
        .where(Comment.id.in_(ids), Comment.awaiting_score, _unclaimed(now))
        .values(claim_token=token, claimed_until=now + lease)
    )
    db.session.commit()
    claimed = list(
        db.session.scalars(select(Comment).where(Comment.claim_token == token).order_by(Comment.id))
    )
    return Claim(token, claimed)


def record_scores(
    claim: Claim, results: Sequence[ScoreResult], model_name: str, model_version: str
) -> list[int]:
    """Store each comment's scores and decision together, in one transaction. Returns the ids
    decided here (a comment decided meanwhile by a human is left as it is)."""
    thresholds = settings.thresholds()
    nudge = settings.nudge_thresholds()
    watched = readers.premoderated(
        readers.Reader.of(c.author_email, c.user_id) for c in claim.comments
    )
    site_rules = settings.rules()
    facts = rule_facts(claim.comments)
    nudge_window = timedelta(minutes=current_app.config["NUDGE_EXPIRY_MINUTES"])
    now = utcnow()
    # Every verdict first, word lists included: no write transaction (no SQLite write lock)
    # is open while the comments are matched.
    verdicts: list[tuple[Comment, ScoreResult, policy.Verdict, list[Match]]] = []
    for comment, result in zip(claim.comments, results, strict=True):
        may_nudge = (
            nudge is not None
            and not comment.nudge_acknowledged
            and comment.status == CommentStatus.PENDING
            and as_utc(comment.created_at) > now - nudge_window
        )
        hold_reasons = [policy.Reason(policy.NUDGE_IGNORED)] if comment.nudge_acknowledged else []
        if readers.Reader.of(comment.author_email, comment.user_id) in watched:
            hold_reasons.append(policy.Reason(policy.READER_PREMODERATED))
        matches = word_matches(site_rules, comment.body)
        rule_holds, rule_rejects = reasons_for(site_rules, facts[comment.id], matches)
        hold_reasons.extend(rule_holds)
        verdict = policy.decide(
            result.scores,
            thresholds,
            hold_reasons,
            nudge=nudge if may_nudge else None,
            reject_reasons=rule_rejects,
        )
        verdicts.append((comment, result, verdict, matches))
    decided: list[int] = []
    for comment, result, verdict, matches in verdicts:
        before = comment.status  # the UPDATE below also refreshes the loaded object
        updated = db.session.execute(
            update(Comment)
            .where(
                Comment.id == comment.id,
                Comment.claim_token == claim.token,
                Comment.awaiting_score,
                Comment.status.in_(UNDECIDED),
            )
            .values(
                status=STATUS_FOR_OUTCOME[verdict.outcome],
                status_reason=labels.reader_message(verdict),
                reasons=[r.as_dict() for r in verdict.reasons],
                word_matches=[stored_match(m) for m in matches],
                decided_at=now,
                awaiting_score=False,
                next_scoring_at=None,
                claim_token=None,
                claimed_until=None,
                version=Comment.version + 1,
            )
        )
        changed = rowcount(updated)
        if changed != 1:
            continue
        db.session.merge(_score_row(comment.id, result, model_name, model_version, now))
        audit.record(
            "scored",
            actor=audit.model_actor(model_name),
            comment_id=comment.id,
            from_status=before,
            to_status=STATUS_FOR_OUTCOME[verdict.outcome],
            reason_code=verdict.reasons[0].code if verdict.reasons else None,
            reasons=verdict.reasons,
        )
        decided.append(comment.id)
    db.session.commit()
    return decided


def rule_facts(comments: Sequence[Comment]) -> dict[int, Facts]:
    """What the site rules look at, for a batch of comments, in two queries."""
    article_ids = {c.article_id for c in comments}
    premoderated = set(
        db.session.scalars(
            select(Article.id).where(Article.id.in_(article_ids), Article.premoderated)
        )
    )
    emails = {c.author_email for c in comments}
    published: dict[str, int] = {
        email: count
        for email, count in db.session.execute(
            select(Comment.author_email, func.count())
            .where(Comment.author_email.in_(emails), Comment.status == CommentStatus.PUBLISHED)
            .group_by(Comment.author_email)
        )
    }
    return {
        c.id: Facts(
            body=c.body,
            article_premoderated=c.article_id in premoderated,
            author_published_before=published.get(c.author_email, 0),
        )
        for c in comments
    }


def _score_row(
    comment_id: int, result: ScoreResult, model_name: str, model_version: str, now: datetime
) -> CommentScore:
    return CommentScore(
        comment_id=comment_id,
        scores=result.scores,
        max_score=max(result.scores.values(), default=0.0),
        model_name=model_name,
        model_version=model_version,
        windowed=result.windowed,
        scored_at=now,
    )


def outcomes(comment_ids: Sequence[int]) -> list[str]:
    """The statuses these comments now have (one per comment)."""
    if not comment_ids:
        return []
    return list(db.session.scalars(select(Comment.status).where(Comment.id.in_(comment_ids))))


def record_failure(claim: Claim, error: str) -> list[int]:
    """The model could not score: hold each comment for a human, and retry later with backoff."""
    now = utcnow()
    held: list[int] = []
    unavailable = _unavailable(error)
    for comment in claim.comments:
        attempts = comment.scoring_attempts + 1
        values: dict[str, object] = {
            "scoring_attempts": attempts,
            "next_scoring_at": now + backoff(attempts),
            "claim_token": None,
            "claimed_until": None,
        }
        newly_held = comment.status == CommentStatus.PENDING
        if newly_held:
            values.update(
                status=CommentStatus.HELD,
                **unavailable,
                decided_at=now,
                version=Comment.version + 1,
            )
        updated = db.session.execute(
            update(Comment)
            .where(Comment.id == comment.id, Comment.claim_token == claim.token)
            .values(**values)
        )
        changed = rowcount(updated)
        if changed == 1:
            held.append(comment.id)
            if newly_held:
                audit.record(
                    "scoring_failed",
                    actor=audit.SYSTEM,
                    comment_id=comment.id,
                    from_status=CommentStatus.PENDING,
                    to_status=CommentStatus.HELD,
                    reason_code=policy.SCORING_UNAVAILABLE,
                    reasons=unavailable["reasons"],
                )
    db.session.commit()
    return held


def hold_unqueued(comment_ids: Sequence[int], error: str) -> int:
    """The scoring queue did not take these comments (broker down): hold them for a human
    (« scoring unavailable ») and let the sweep queue them again after the first backoff."""
    now = utcnow()
    unavailable = _unavailable(error)
    held = _hold_all(
        CommentStatus.PENDING,
        [Comment.id.in_(comment_ids), Comment.awaiting_score, _unclaimed(now)],
        {
            **unavailable,
            "scoring_attempts": Comment.scoring_attempts + 1,
            "next_scoring_at": now + backoff(1),
        },
        now,
        action="scoring_failed",
        reason_code=policy.SCORING_UNAVAILABLE,
        reasons=unavailable["reasons"],
    )
    db.session.commit()
    return held


def _unavailable(detail: str) -> dict[str, Any]:
    """What a comment held for want of a score carries: the reader's message, and the reason
    « scoring unavailable » with its detail (the error, at most 300 characters)."""
    return {
        "status_reason": labels.reader_message(policy.decide(None, {})),
        "reasons": [policy.Reason(policy.SCORING_UNAVAILABLE, detail=detail[:300]).as_dict()],
    }


def awaiting_count() -> int:
    """How many comments await a score (the queue depth /healthz and /metrics report)."""
    count = db.session.scalar(
        select(func.count()).select_from(Comment).where(Comment.awaiting_score)
    )
    db.session.commit()  # never leave a transaction open (SQLite)
    return count or 0


def backoff(attempts: int) -> timedelta:
    base = current_app.config["SCORING_RETRY_BASE_SECONDS"]
    cap = current_app.config["SCORING_RETRY_MAX_SECONDS"]
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def awaiting_ids(limit: int = 10_000) -> list[int]:
    """Every comment still waiting for a score and not held by a live claim (start-up)."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(Comment.id)
            .where(Comment.awaiting_score, _unclaimed(now))
            .order_by(Comment.id)
            .limit(limit)
        )
    )


def sweep() -> list[int]:
    """Hold comments that waited too long for the model, and list those due to be retried:
    a failed attempt whose backoff is over, or a comment whose worker vanished."""
    now = utcnow()
    timeout = timedelta(seconds=current_app.config["SCORING_TIMEOUT_SECONDS"])
    unavailable = _unavailable("no score within the time limit")
    too_long = _hold_all(
        CommentStatus.PENDING,
        [Comment.awaiting_score, Comment.created_at < now - timeout],
        unavailable,
        now,
        action="scoring_timeout",
        reason_code=policy.SCORING_UNAVAILABLE,
        reasons=unavailable["reasons"],
    )
    expired_nudges = _expire_nudges(now)
    db.session.commit()  # even when nothing changed: never leave a write transaction open
    if too_long or expired_nudges:
        logger.info(
            "sweep: %d held after waiting too long, %d nudges expired", too_long, expired_nudges
        )
    due = db.session.scalars(
        select(Comment.id)
        .where(
            Comment.awaiting_score,
            _unclaimed(now),
            or_(
                Comment.next_scoring_at <= now,
                and_(Comment.next_scoring_at.is_(None), Comment.created_at < now - timeout),
            ),
        )
        .order_by(Comment.id)
        .limit(1000)
    )
    ids = list(due)
    db.session.commit()
    return ids


def _expire_nudges(now: datetime) -> int:
    """A nudged comment whose author never answered goes to the moderators."""
    expiry = timedelta(minutes=current_app.config["NUDGE_EXPIRY_MINUTES"])
    return _hold_all(
        CommentStatus.NUDGED,
        [Comment.decided_at < now - expiry],
        {"status_reason": labels.reader_message(policy.Verdict(policy.Outcome.HOLD))},
        now,
        action="nudge_expired",
        reason_code=policy.NUDGE,
        reason="L’auteur n’a pas répondu à l’invitation à reformuler.",
    )


def _hold_all(
    from_status: str,
    conditions: list[ColumnExpressionArgument[bool]],
    values: dict[str, Any],
    now: datetime,
    **why: Any,
) -> int:
    """Hold, in one UPDATE, every comment still in `from_status` that meets `conditions`, with
    one audit row each (committed by the caller, together)."""
    ids = list(
        db.session.scalars(
            update(Comment)
            .where(Comment.status == from_status, *conditions)
            .values(
                status=CommentStatus.HELD, decided_at=now, version=Comment.version + 1, **values
            )
            .returning(Comment.id)
        )
    )
    for comment_id in ids:
        audit.record(
            actor=audit.SYSTEM,
            comment_id=comment_id,
            from_status=from_status,
            to_status=CommentStatus.HELD,
            **why,
        )
    return len(ids)


@dataclass(frozen=True)
class RescoreOutcome:
    rescored: int
    decided: int


def rescore(comment_ids: Sequence[int], scorer: Scorer) -> RescoreOutcome:
    """Score these comments again (raises ScoringUnavailable). Those still awaiting a score are
    claimed and decided by the policy; the others only get their new scores."""
    comments = list(
        db.session.scalars(select(Comment).where(Comment.id.in_(comment_ids)).order_by(Comment.id))
    )
    if not comments:
        return RescoreOutcome(0, 0)
    results = dict(
        zip([c.id for c in comments], scorer.score([c.body for c in comments]), strict=True)
    )
    pending = claim([c.id for c in comments if c.awaiting_score])
    decided = record_scores(
        pending, [results[c.id] for c in pending.comments], scorer.name, scorer.version
    )
    now = utcnow()
    for comment_id, result in results.items():
        if comment_id in decided:
            continue
        db.session.merge(_score_row(comment_id, result, scorer.name, scorer.version, now))
    db.session.commit()
    return RescoreOutcome(rescored=len(results), decided=len(decided))
