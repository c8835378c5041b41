"""Retention: personal data and texts erased once their period is over.

One run (`run`) goes through every kind below, each in batches of BATCH rows, one transaction
per batch: a large backlog never holds a long transaction, and a run cut short leaves
whatever it did done. Each kind selects only what is still there to erase, so a second run
changes nothing (idempotent). The periods are settings, in days (0 keeps forever where that
makes sense):

* ``guest_addresses`` — a guest's address on their comments (`Comment.author_email` of a
  comment without an account), GUEST_EMAIL_RETENTION_DAYS after the comment: emptied. The
  comment, its author's name (shown publicly anyway) and its history stay. An account's
  comments carry the account's own address, kept while the account exists.
* ``rejected_texts`` — a rejected comment's text, REJECTED_TEXT_RETENTION_DAYS after the
  decision: `body` emptied, `text_erased_at` set, the word-list highlights (offsets into the
  text) dropped, its earlier texts (`comment_revisions`, edited by its author) deleted. The
  row, its status, reasons, scores and audit rows stay; it can no longer
  be published (services/moderation refuses « Approuver »).
* ``restriction_addresses`` — a guest's address on their sanctions, once every sanction on
  that address ended (lifted, or its suspension over) RESTRICTION_EMAIL_RETENTION_DAYS ago:
  replaced, on the sanctions and on their audit rows, by `privacy.erased_address` (a keyed
  pseudonym: the history still shows the sanctions of one reader, without their address).
  A sanction in force keeps its address, which enforces it; an address that is an account's
  is left to that account's erasure.
* ``warning_addresses`` — a guest's address on the warnings moderators sent them (« Avertir »),
  once the last of them is RESTRICTION_EMAIL_RETENTION_DAYS old and no sanction on that
  address is in force: replaced by the same pseudonym, on the warnings and their audit rows.
* ``perspective_analyses``, ``perspective_feedback_texts`` — the Perspective-compatible API's
  kept calls (deleted) and its clients' moderator decisions' texts (cleared; the decision and
  scores stay for calibration), PERSPECTIVE_RETENTION_DAYS after the call.
* ``coral_texts`` — the text and request hash of Coral's moderation phase, CORAL_RETENTION_DAYS
  after the request (the decision, reasons and scores stay).

The audit trail (`ModerationAction`) is append-only and never loses a row. Its rows about
comments hold no address and no comment text (an action, statuses, the actor, the reasons,
which may name a word-list entry, and a moderator's note); the rows of sanctions hold the
reader's address, which `audit.pseudonymise_reader` replaces as above.

IP addresses: none is stored in the database. The quotas' counters (services/quotas) are keyed
by a keyed hash of the address, and Flask-Limiter's own counters (sign-in, sign-up) by the
address; both live in the rate-limit storage (memory or Redis) and expire with their window.

Runs: `flask --app wsgi retention run [--dry-run]` (services only: the CLI calls `run`), and
the scoring sweep of both backends (a thread of each web process, or Celery beat), which calls
`run_if_due` at most every `scoring.PURGE_EVERY` per process: a run starts when the last one
finished RETENTION_INTERVAL_HOURS ago. At most one run at a time across every process: a run
holds the `maintenance_runs` row's lease (a conditional UPDATE), which lapses by itself after
LEASE if its holder died.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db, rowcount
from app.models import (
    ApiAnalysis,
    ApiFeedback,
    Comment,
    CommentRevision,
    CommentStatus,
    CoralDecision,
    MaintenanceRun,
    ReaderRestriction,
    ReaderWarning,
    User,
    utcnow,
)
from app.privacy import ERASED_DOMAIN, erased_address
from app.services import audit
from app.services.comments import body_hash

logger = logging.getLogger(__name__)

BATCH = 500
JOB = "retention"
# A run's hold on the job: another may start once it lapsed (its holder died, say).
LEASE = timedelta(hours=1)
EMPTY_BODY_HASH = body_hash("")


@dataclass
class Summary:
    """What a run changed (or, with `dry_run`, would change), by kind, in KINDS's order.
    `ran` is False when another run held the job (nothing was done)."""

    counts: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False
    ran: bool = True

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _days(key: str) -> int:
    return int(current_app.config[key])


def _cutoff(now: datetime, key: str) -> datetime | None:
    """`now` less the period of setting `key`; None when the period is 0 (kept forever)."""
    days = _days(key)
    return None if days == 0 else now - timedelta(days=days)


def _batched(
    key: Any,
    conditions: Sequence[ColumnElement[bool]],
    change: Callable[[list[Any]], Any],
    dry_run: bool,
) -> int:
    """Apply `change` to the rows meeting `conditions`, BATCH keys (`key`, a primary-key
    column) at a time, one commit each; with `dry_run`, count them only."""
    if dry_run:
        count = db.session.scalar(select(func.count(key)).where(*conditions)) or 0
        db.session.commit()
        return count
    total = 0
    while True:
        keys = list(db.session.scalars(select(key).where(*conditions).order_by(key).limit(BATCH)))
        if not keys:
            break
        total += rowcount(change(keys))
        db.session.commit()
        if len(keys) < BATCH:
            break
    return total


def _guest_addresses(now: datetime, dry_run: bool) -> int:
    cutoff = _cutoff(now, "GUEST_EMAIL_RETENTION_DAYS")
    if cutoff is None:
        return 0
    conditions = [
        Comment.user_id.is_(None),
        Comment.author_email != "",
        Comment.created_at < cutoff,
    ]
    return _batched(
        Comment.id,
        conditions,
        lambda ids: db.session.execute(
            update(Comment)
            .where(Comment.id.in_(ids), *conditions)
            .values(author_email="")
            .execution_options(synchronize_session=False)
        ),
        dry_run,
    )


def _rejected_texts(now: datetime, dry_run: bool) -> int:
    cutoff = _cutoff(now, "REJECTED_TEXT_RETENTION_DAYS")
    if cutoff is None:
        return 0
    conditions = [
        Comment.status == CommentStatus.REJECTED,
        Comment.text_erased_at.is_(None),
        Comment.removed.is_(None),  # a placeholder has no text left
        func.coalesce(Comment.decided_at, Comment.created_at) < cutoff,
    ]
    return _batched(
        Comment.id,
        conditions,
        lambda ids: _erase_texts(ids, conditions, now),
        dry_run,
    )


def _erase_texts(ids: Sequence[int], conditions: list[ColumnElement[bool]], now: datetime) -> Any:
    """The texts of these rejected comments, and their earlier texts (edited by their author)."""
    result = db.session.execute(
        update(Comment)
        .where(Comment.id.in_(ids), *conditions)
        .values(body="", body_hash=EMPTY_BODY_HASH, word_matches=None, text_erased_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(delete(CommentRevision).where(CommentRevision.comment_id.in_(ids)))
    return result


def _ended_guest_addresses(cutoff: datetime) -> list[str]:
    """Guests' addresses all of whose sanctions ended before `cutoff` (none in force), not
    yet erased, and not an account's."""
    ended = func.coalesce(ReaderRestriction.lifted_at, ReaderRestriction.until)
    query = (
        select(ReaderRestriction.email)
        .where(
            ReaderRestriction.user_id.is_(None),
            ~ReaderRestriction.email.endswith(f"@{ERASED_DOMAIN}"),
            ReaderRestriction.email.not_in(select(func.lower(User.email))),
        )
        .group_by(ReaderRestriction.email)
        # every sanction has ended (a ban or pre-moderation in force has no end: NULL) …
        .having(func.count() == func.count(ended))
        # … and the last to end did so before the cutoff
        .having(func.max(ended) < cutoff)
        .order_by(ReaderRestriction.email)
    )
    addresses = list(db.session.scalars(query))
    db.session.commit()
    return addresses


def _pseudonymise(
    model: type[ReaderRestriction] | type[ReaderWarning], addresses: list[str]
) -> int:
    """Replace these guests' addresses on `model`'s rows and on their journal rows by the
    keyed pseudonym, BATCH addresses per transaction."""
    for start in range(0, len(addresses), BATCH):
        for address in addresses[start : start + BATCH]:
            db.session.execute(
                update(model)
                .where(model.user_id.is_(None), model.email == address)
                .values(email=erased_address(address))
                .execution_options(synchronize_session=False)
            )
            audit.pseudonymise_reader(address)
        db.session.commit()
    return len(addresses)


def _restriction_addresses(now: datetime, dry_run: bool) -> int:
    cutoff = _cutoff(now, "RESTRICTION_EMAIL_RETENTION_DAYS")
    if cutoff is None:
        return 0
    addresses = _ended_guest_addresses(cutoff)
    if dry_run:
        return len(addresses)
    return _pseudonymise(ReaderRestriction, addresses)


def _warning_addresses(now: datetime, dry_run: bool) -> int:
    cutoff = _cutoff(now, "RESTRICTION_EMAIL_RETENTION_DAYS")
    if cutoff is None:
        return 0
    ended = func.coalesce(ReaderRestriction.lifted_at, ReaderRestriction.until)
    in_force = select(ReaderRestriction.email).where(
        ReaderRestriction.user_id.is_(None), or_(ended.is_(None), ended >= cutoff)
    )
    addresses = list(
        db.session.scalars(
            select(ReaderWarning.email)
            .where(
                ReaderWarning.user_id.is_(None),
                ~ReaderWarning.email.endswith(f"@{ERASED_DOMAIN}"),
                ReaderWarning.email.not_in(select(func.lower(User.email))),
                ReaderWarning.email.not_in(in_force),
            )
            .group_by(ReaderWarning.email)
            .having(func.max(ReaderWarning.created_at) < cutoff)
            .order_by(ReaderWarning.email)
        )
    )
    db.session.commit()
    if dry_run:
        return len(addresses)
    return _pseudonymise(ReaderWarning, addresses)


def _perspective_analyses(now: datetime, dry_run: bool) -> int:
    cutoff = now - timedelta(days=_days("PERSPECTIVE_RETENTION_DAYS"))
    conditions = [ApiAnalysis.created_at < cutoff]
    return _batched(
        ApiAnalysis.id,
        conditions,
        lambda ids: db.session.execute(
            delete(ApiAnalysis)
            .where(ApiAnalysis.id.in_(ids))
            .execution_options(synchronize_session=False)
        ),
        dry_run,
    )


def _perspective_feedback_texts(now: datetime, dry_run: bool) -> int:
    cutoff = now - timedelta(days=_days("PERSPECTIVE_RETENTION_DAYS"))
    conditions = [ApiFeedback.created_at < cutoff, ApiFeedback.text.is_not(None)]
    return _batched(
        ApiFeedback.id,
        conditions,
        lambda ids: db.session.execute(
            update(ApiFeedback)
            .where(ApiFeedback.id.in_(ids), *conditions)
            .values(text=None)
            .execution_options(synchronize_session=False)
        ),
        dry_run,
    )


def _coral_texts(now: datetime, dry_run: bool) -> int:
    cutoff = now - timedelta(days=_days("CORAL_RETENTION_DAYS"))
    conditions = [
        CoralDecision.received_at < cutoff,
        or_(CoralDecision.body.is_not(None), CoralDecision.request_hash.is_not(None)),
    ]
    return _batched(
        CoralDecision.id,
        conditions,
        lambda ids: db.session.execute(
            update(CoralDecision)
            .where(CoralDecision.id.in_(ids), *conditions)
            .values(body=None, request_hash=None)
            .execution_options(synchronize_session=False)
        ),
        dry_run,
    )


# Every kind, in the order a run goes through them (and the CLI prints them).
KINDS: dict[str, Callable[[datetime, bool], int]] = {
    "guest_addresses": _guest_addresses,
    "rejected_texts": _rejected_texts,
    "restriction_addresses": _restriction_addresses,
    "warning_addresses": _warning_addresses,
    "perspective_analyses": _perspective_analyses,
    "perspective_feedback_texts": _perspective_feedback_texts,
    "coral_texts": _coral_texts,
}

# The setting that gives each kind its period (in days).
PERIODS = {
    "guest_addresses": "GUEST_EMAIL_RETENTION_DAYS",
    "rejected_texts": "REJECTED_TEXT_RETENTION_DAYS",
    "restriction_addresses": "RESTRICTION_EMAIL_RETENTION_DAYS",
    "warning_addresses": "RESTRICTION_EMAIL_RETENTION_DAYS",
    "perspective_analyses": "PERSPECTIVE_RETENTION_DAYS",
    "perspective_feedback_texts": "PERSPECTIVE_RETENTION_DAYS",
    "coral_texts": "CORAL_RETENTION_DAYS",
}


def _take(now: datetime, due_before: datetime | None) -> str | None:
    """Hold the job (a token), or None when another run holds it, or when `due_before` is
    given and the last run finished after it."""
    try:
        db.session.add(MaintenanceRun(name=JOB))
        db.session.commit()
    except IntegrityError:  # there already (the usual case)
        db.session.rollback()
    token = secrets.token_hex(16)
    conditions: list[ColumnElement[bool]] = [
        MaintenanceRun.name == JOB,
        or_(MaintenanceRun.held_until.is_(None), MaintenanceRun.held_until < now),
    ]
    if due_before is not None:
        conditions.append(
            or_(
                MaintenanceRun.last_finished_at.is_(None),
                MaintenanceRun.last_finished_at < due_before,
            )
        )
    taken = db.session.execute(
        update(MaintenanceRun)
        .where(and_(*conditions))
        .values(holder=token, held_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return token if rowcount(taken) == 1 else None


def _release(token: str, result: dict[str, int] | None) -> None:
    """Let go of the job; with `result`, record the run as finished now."""
    db.session.rollback()  # whatever a failed batch left open
    finished: dict[str, Any] = (
        {"last_finished_at": utcnow(), "last_result": result} if result is not None else {}
    )
    db.session.execute(
        update(MaintenanceRun)
        .where(MaintenanceRun.name == JOB, MaintenanceRun.holder == token)
        .values(holder=None, held_until=None, **finished)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _purge(now: datetime, dry_run: bool) -> dict[str, int]:
    return {kind: purge(now, dry_run) for kind, purge in KINDS.items()}


def run(now: datetime | None = None, *, dry_run: bool = False) -> Summary:
    """Erase whatever is past its period, kind by kind (see the module's docstring); with
    `dry_run`, only count it. A run while another holds the job does nothing (`ran` False)."""
    now = now or utcnow()
    if dry_run:
        return Summary(_purge(now, True), dry_run=True)
    token = _take(now, None)
    if token is None:
        return Summary(ran=False)
    return Summary(_held_run(token, now))


def _held_run(token: str, now: datetime) -> dict[str, int]:
    try:
        counts = _purge(now, False)
    except Exception:
        _release(token, None)
        raise
    _release(token, counts)
    if any(counts.values()):
        logger.info("retention: %s", ", ".join(f"{kind} {count}" for kind, count in counts.items()))
    return counts


def run_if_due(now: datetime | None = None) -> Summary | None:
    """A run, when the last one finished RETENTION_INTERVAL_HOURS ago (or never) and no other
    holds the job; else None. What the scoring sweep calls."""
    now = now or utcnow()
    interval = timedelta(hours=float(current_app.config["RETENTION_INTERVAL_HOURS"]))
    token = _take(now, now - interval)
    if token is None:
        return None
    return Summary(_held_run(token, now))
