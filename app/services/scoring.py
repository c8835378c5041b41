"""A comment's way through the model: claimed, scored, decided — once, whatever fails.

Every state change here is a conditional UPDATE, so that several worker threads or processes
can never score or decide the same comment twice: a worker claims comments (`claim`), or a
reader's request stores its comment already claimed (`lease`, the thread backend), and only
the holder of the claim may record their scores (`record_scores`, `decide`) or their failure
(`record_failure`). Only these functions commit the scoring transitions.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import (
    ColumnExpressionArgument,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from app import labels, policy
from app.actions import AuditAction
from app.extensions import db, rowcount
from app.metrics import Metrics
from app.models import Article, Comment, CommentScore, CommentStatus, utcnow
from app.scoring import (
    Scorer,
    ScoreResult,
    ScoringTimeout,
    ScoringUnavailable,
    TextScores,
    backend,
)
from app.services import audit, decisions, surges, transitions
from app.services.comments import STATUS_FOR_OUTCOME
from app.wordlists import Match, stored_match

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    token: str
    comments: list[Comment]


def _unclaimed(now: datetime) -> ColumnElement[bool]:
    return or_(Comment.claimed_until.is_(None), Comment.claimed_until < now)


def _live() -> ColumnElement[bool]:
    """A comment of our own readers, not one brought by an import (scored in the
    background: `claim_background`)."""
    return Comment.import_key.is_(None)


def _background() -> ColumnElement[bool]:
    """An imported comment that still has its text to score (the retention may have erased
    an old rejected one's first: services/retention)."""
    return and_(~_live(), Comment.text_erased_at.is_(None))


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(Comment.next_scoring_at.is_(None), Comment.next_scoring_at <= now)


def claim(comment_ids: Sequence[int], fill_up_to: int = 0) -> Claim:
    """Claim the comments that still await a score and that nobody else holds.

    With `fill_up_to`, other live comments due for scoring join the batch, up to that many in
    all: a Celery worker scores in one model call what arrived while it was busy (their own
    tasks then find them decided and do nothing). Imported comments never join a live batch:
    they wait for `claim_background`. Comments on a story in a surge join last: they are held
    for a moderator whatever their scores, and the readers of other stories should not wait
    behind a flood (`bench/surge.py`)."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["SCORING_LEASE_SECONDS"])
    ids = list(dict.fromkeys(comment_ids))
    if fill_up_to > len(ids):
        surging = select(Article.id).where(Article.surge_until > now)
        ids += db.session.scalars(
            select(Comment.id)
            .where(
                Comment.awaiting_score,
                _live(),
                _unclaimed(now),
                _due(now),
                Comment.id.not_in(ids) if ids else true(),
            )
            .order_by(
                case((Comment.article_id.in_(surging), 1), else_=0),
                Comment.id,
            )
            .limit(fill_up_to - len(ids))
        )
    return _claim(ids, now, lease)


def claim_background(limit: int) -> Claim:
    """Claim up to `limit` imported comments due for scoring (oldest import first): what a
    worker scores when no live comment waits (worker.ScoringWorker, tasks.score_background),
    one batch at a time, so that a live comment waits at most one batch behind them."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["SCORING_LEASE_SECONDS"])
    ids = list(
        db.session.scalars(
            select(Comment.id)
            .where(Comment.awaiting_score, _background(), _unclaimed(now), _due(now))
            .order_by(Comment.id)
            .limit(limit)
        )
    )
    if not ids:
        db.session.commit()
        return Claim("", [])
    return _claim(ids, now, lease)


def background_count() -> int:
    """How many imported comments still await their score (scored in the background)."""
    count = db.session.scalar(
        select(func.count()).select_from(Comment).where(Comment.awaiting_score, _background())
    )
    db.session.commit()
    return count or 0


def _claim(ids: list[int], now: datetime, lease: timedelta) -> Claim:
    token = secrets.token_hex(16)
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


def lease() -> dict[str, Any]:
    """The columns of a claim taken as a comment is stored (or sent again to the model), by a
    caller that scores and decides it itself (`score_claimed`): no claim UPDATE, no commit
    of its own. Should the caller die first, the sweep finds the comment once the lease has
    lapsed, as for a worker that vanished."""
    lasts = timedelta(seconds=current_app.config["SCORING_LEASE_SECONDS"])
    return {"claim_token": secrets.token_hex(16), "claimed_until": utcnow() + lasts}


def held(comment_ids: Sequence[int], token: str) -> Claim:
    """The comments of a claim taken earlier (`lease`) that still await their score."""
    claimed = db.session.scalars(_HELD, {"ids": list(comment_ids), "token": token})
    return Claim(token, list(claimed))


_HELD = (  # built once: every reader's comment is read so
    select(Comment)
    .where(
        Comment.id.in_(bindparam("ids", expanding=True)),
        Comment.claim_token == bindparam("token"),
        Comment.awaiting_score,
    )
    .order_by(Comment.id)
)


def score_claimed(comment_id: int, body: str, token: str, timeout: float) -> None:
    """Score and decide, in the caller's thread, a comment it stored with a `lease`: its text
    goes to the model through the backend's micro-batches (`score_texts`, with every other
    comment and API call arriving together), and the decision is recorded here, through
    `decide`. The thread backend's readers decide their own comments so: the worker thread
    only runs the model, and the decisions of several requests are taken side by side
    instead of one after another in one thread (bench/post_vs_isso.py).

    No score within `timeout`: the claim is given back and the comment queued for the worker
    (it stays pending meanwhile); the model unavailable: held for a human, retried later
    (`record_failure`). Holds no database connection while it waits for the model."""
    scorer = backend()
    db.session.commit()
    try:
        scored = scorer.score_texts([body], timeout)
    except ScoringTimeout:
        db.session.execute(
            update(Comment)
            .where(Comment.id == comment_id, Comment.claim_token == token)
            .values(claim_token=None, claimed_until=None)
        )
        db.session.commit()
        scorer.enqueue([comment_id])
        return
    except ScoringUnavailable as error:
        claim = held([comment_id], token)
        if claim.comments:
            record_failure(claim, str(error))
        return
    claim = held([comment_id], token)
    if claim.comments:
        decide(claim, scored.results, scored.model_name, scored.model_version, scorer.metrics)
    db.session.commit()


def record_scores(
    claim: Claim, results: Sequence[ScoreResult], model_name: str, model_version: str
) -> list[int]:
    """Store each comment's scores and decision together, in one transaction. Returns the ids
    decided here (a comment decided meanwhile by a human is left as it is); see `_record`."""
    return list(_record(claim, results, model_name, model_version))


def decide(
    claim: Claim,
    results: Sequence[ScoreResult],
    model_name: str,
    model_version: str,
    metrics: Metrics,
) -> list[int]:
    """`record_scores`, each decision counted in `metrics` by its outcome (the scoring
    worker's and a draft's decisions: services/drafts)."""
    decided = _record(claim, results, model_name, model_version)
    for status in decided.values():
        metrics.decisions.labels(outcome=str(status)).inc()
    return list(decided)


def _record(
    claim: Claim, results: Sequence[ScoreResult], model_name: str, model_version: str
) -> dict[int, str]:
    """Per comment decided here, the status it now has (see `record_scores`).

    A `score_only` comment (imported, in the status it had) gets its scores and word-list
    matches, never a decision: its status and version stay, and nothing is added to the audit
    trail (no decision was taken; the score row says which model scored it, and when)."""
    # A surge on their stories first (rare: it commits, and the admins are told), then every
    # verdict, word lists included: no write transaction (no SQLite write lock) is open while
    # the comments are matched.
    surges.check(claim.comments)
    gathered = decisions.gather(claim.comments)
    now = utcnow()
    verdicts: list[tuple[Comment, ScoreResult, policy.Verdict, Sequence[Match]]] = []
    decided: dict[int, str] = {}
    for comment, result in zip(claim.comments, results, strict=True):
        inputs = gathered[comment.id]
        if comment.score_only:
            scored = db.session.execute(
                update(Comment)
                .where(
                    Comment.id == comment.id,
                    Comment.claim_token == claim.token,
                    Comment.awaiting_score,
                )
                .values(
                    word_matches=[stored_match(m) for m in inputs.matches],
                    **{k: v for k, v in transitions.SCORING_STOPPED.items()},
                )
            )
            if rowcount(scored):
                _save_score(comment.id, result, model_name, model_version, now)
                decided[comment.id] = comment.status
            continue
        verdicts.append(
            (comment, result, policy.verdict(inputs.inputs, result.scores), inputs.matches)
        )
    for comment, result, verdict, matches in verdicts:
        changed = transitions.apply(
            AuditAction.SCORED,
            where=[
                Comment.id == comment.id,
                Comment.claim_token == claim.token,
                Comment.awaiting_score,
            ],
            actor=audit.model_actor(model_name),
            from_status=comment.status,
            to_status=STATUS_FOR_OUTCOME[verdict.outcome],
            values={
                "status_reason": labels.reader_message(verdict),
                "reasons": [r.as_dict() for r in verdict.reasons],
                "word_matches": [stored_match(m) for m in matches],
            },
            now=now,
            reason_code=verdict.reasons[0].code if verdict.reasons else None,
            reasons=verdict.reasons,
        )
        if not changed:
            continue
        _save_score(comment.id, result, model_name, model_version, now)
        decided[comment.id] = STATUS_FOR_OUTCOME[verdict.outcome]
    db.session.commit()
    return decided


def _save_score(
    comment_id: int, result: ScoreResult, model_name: str, model_version: str, now: datetime
) -> None:
    """Store a comment's scores, replacing those of an earlier text (an edit, a rescore): one
    INSERT … ON CONFLICT DO UPDATE (SQLite and PostgreSQL), no read first."""
    values = {
        "comment_id": comment_id,
        "scores": result.scores,
        "max_score": max(result.scores.values(), default=0.0),
        "model_name": model_name,
        "model_version": model_version,
        "windowed": result.windowed,
        "scored_at": now,
    }
    dialect = db.session.get_bind().dialect.name
    statement = _UPSERT_SCORE[dialect] if dialect in _UPSERT_SCORE else _upsert_score(dialect)
    db.session.execute(statement, values)


_UPSERT_SCORE: dict[str, Any] = {}


def _upsert_score(dialect: str) -> Any:
    """INSERT … ON CONFLICT (comment_id) DO UPDATE of a score row, built once per dialect (on
    the table: the ORM's bulk path costs three times as much for one row)."""
    table = cast(Table, CommentScore.__table__)
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    replaced = [c.name for c in table.columns if c.name != "comment_id"]
    _UPSERT_SCORE[dialect] = insert.on_conflict_do_update(
        index_elements=[table.c.comment_id],
        set_={name: insert.excluded[name] for name in replaced},
    )
    return _UPSERT_SCORE[dialect]


def record_failure(claim: Claim, error: str) -> list[int]:
    """The model could not score: hold each comment for a human, and retry later with backoff."""
    now = utcnow()
    held: list[int] = []
    unavailable = _unavailable(error)
    for comment in claim.comments:
        attempts = comment.scoring_attempts + 1
        retry = {"scoring_attempts": attempts, "next_scoring_at": now + backoff(attempts)}
        mine = [Comment.id == comment.id, Comment.claim_token == claim.token]
        if comment.status == CommentStatus.PENDING:
            changed = transitions.apply(
                AuditAction.SCORING_FAILED,
                where=mine,
                actor=audit.SYSTEM,
                values={**retry, **unavailable},
                now=now,
                reason_code=policy.SCORING_UNAVAILABLE,
                reasons=unavailable["reasons"],
            )
        else:  # already held: only the next attempt changes, and the claim ends
            updated = db.session.execute(
                update(Comment).where(*mine).values(**retry, claim_token=None, claimed_until=None)
            )
            changed = [comment.id] * rowcount(updated)
        held.extend(changed)
    db.session.commit()
    return held


def hold_unqueued(comment_ids: Sequence[int], error: str) -> int:
    """The scoring queue did not take these comments (broker down): hold them for a human
    (« scoring unavailable ») and let the sweep queue them again after the first backoff."""
    now = utcnow()
    unavailable = _unavailable(error)
    held = _hold_all(
        AuditAction.SCORING_FAILED,
        [Comment.id.in_(comment_ids), Comment.awaiting_score, _unclaimed(now)],
        {
            **unavailable,
            "scoring_attempts": Comment.scoring_attempts + 1,
            "next_scoring_at": now + backoff(1),
        },
        now,
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


def score_texts(texts: Sequence[str], timeout: float) -> TextScores:
    """Texts that are not comments (the API's) through the scoring backend, micro-batched with
    other calls. The caller's transaction ends first, as for a reader's comment
    (`comments.score_and_wait`): a request must not hold a pooled database connection while it
    waits for the model (32 waiting API calls held the whole pool, and the batches shrank to
    what the pool let in). Raises ScoringTimeout or ScoringUnavailable: no score, no guess."""
    db.session.commit()
    return backend().score_texts(texts, timeout)


def awaiting_count() -> int:
    """How many live comments await a score (the queue depth /healthz and /metrics report;
    imported ones wait in the background: `background_count`)."""
    count = db.session.scalar(
        select(func.count()).select_from(Comment).where(Comment.awaiting_score, _live())
    )
    db.session.commit()  # never leave a transaction open (SQLite)
    return count or 0


def backoff(attempts: int) -> timedelta:
    base = current_app.config["SCORING_RETRY_BASE_SECONDS"]
    cap = current_app.config["SCORING_RETRY_MAX_SECONDS"]
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def awaiting_ids(limit: int = 10_000) -> list[int]:
    """Every live comment still waiting for a score and not held by a claim (start-up)."""
    now = utcnow()
    return list(
        db.session.scalars(
            select(Comment.id)
            .where(Comment.awaiting_score, _live(), _unclaimed(now))
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
        AuditAction.SCORING_TIMEOUT,
        # An imported comment has no reader waiting (and its date is its old one): it waits
        # for the background, however long.
        [Comment.awaiting_score, _live(), Comment.created_at < now - timeout],
        unavailable,
        now,
        reason_code=policy.SCORING_UNAVAILABLE,
        reasons=unavailable["reasons"],
    )
    expired_nudges = _expire_nudges(now)
    surges.close_expired()
    db.session.commit()  # even when nothing changed: never leave a write transaction open
    if too_long or expired_nudges:
        logger.info(
            "sweep: %d held after waiting too long, %d nudges expired", too_long, expired_nudges
        )
    due = db.session.scalars(
        select(Comment.id)
        .where(
            Comment.awaiting_score,
            _live(),
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
    _retention()
    _reply_mails()
    return ids


# The sweep runs every few seconds; it looks whether a retention run is due at most this often
# per process.
PURGE_EVERY = timedelta(minutes=10)


def _retention() -> None:
    """Start the retention (services/retention.py: addresses, rejected texts, the API's kept
    calls and texts) when it is due, from this same sweep in both backends (a thread of the
    web process, or Celery beat's task); looked at most every PURGE_EVERY: never fatal to it."""
    from app.services import retention  # not at import time: the services import one another

    state = current_app.extensions.setdefault("retention_sweep", {"at": None})
    now = time.monotonic()
    if state["at"] is not None and now - state["at"] < PURGE_EVERY.total_seconds():
        return
    state["at"] = now
    try:
        retention.run_if_due()
    except Exception:
        db.session.rollback()
        logger.exception("the retention run failed")


def _reply_mails() -> None:
    """Send the reply notifications that are due (services/notifications.py), from this same
    sweep in both backends: never fatal to it."""
    from app.services import notifications  # not at import time, like retention

    try:
        notifications.send_due()
    except Exception:
        db.session.rollback()
        logger.exception("sending reply notifications failed")


def _expire_nudges(now: datetime) -> int:
    """A nudged comment whose author never answered goes to the moderators."""
    expiry = timedelta(minutes=current_app.config["NUDGE_EXPIRY_MINUTES"])
    return _hold_all(
        AuditAction.NUDGE_EXPIRED,
        [Comment.decided_at < now - expiry],
        {"status_reason": labels.reader_message(policy.Verdict(policy.Outcome.HOLD))},
        now,
        reason_code=policy.NUDGE,
        reason="L’auteur n’a pas répondu à l’invitation à reformuler.",
    )


def _hold_all(
    action: AuditAction,
    conditions: list[ColumnExpressionArgument[bool]],
    values: dict[str, Any],
    now: datetime,
    **why: Any,
) -> int:
    """Hold, in one UPDATE, every comment that `action` may hold and that meets `conditions`,
    with one audit row each (committed by the caller, together)."""
    return len(
        transitions.apply(
            action, where=conditions, actor=audit.SYSTEM, values=values, now=now, **why
        )
    )


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
        _save_score(comment_id, result, scorer.name, scorer.version, now)
    db.session.commit()
    return RescoreOutcome(rescored=len(results), decided=len(decided))
