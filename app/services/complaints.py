"""Complaints against a decision (DSA Art. 20), when the site is an « online platform » (the
setting « dsa_online_platform »).

Art. 20(1): the author may complain « for a period of at least six months following the
decision », electronically and free of charge; (4) the complaint is handled « in a timely,
non-discriminatory, diligent and non-arbitrary manner », and a decision found wrong is
reversed « without undue delay »; (5) the author is told the reasoned answer and the
out-of-court settlement of Art. 21; (6) the answer is taken « under the supervision of
appropriately qualified staff, and not solely on the basis of automated means ». Here: a
moderator other than the one who took the decision answers (any moderator for the model's own
decisions); reversing republishes the comment (moderation.decide) or lifts the sanction
(readers.lift), both audited, and the answer is mailed and shown on the statement's page.
"""

from __future__ import annotations

import calendar
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.actions import AuditAction
from app.dsa import COMPLAINT_MONTHS
from app.extensions import db, rowcount
from app.models import (
    Comment,
    CommentStatus,
    ComplaintStatus,
    DsaComplaint,
    DsaStatement,
    ReaderRestriction,
    User,
    as_utc,
    utcnow,
)
from app.services import audit, mail, moderation, readers, settings, statements
from app.services.errors import ServiceError

log = logging.getLogger(__name__)

EXPLANATION_LENGTH = (10, 5000)
ANSWER_LENGTH = (10, 5000)
OUTCOMES = (ComplaintStatus.UPHELD, ComplaintStatus.REVERSED)


class ComplaintError(ServiceError):
    """A complaint or an answer refused; the message says why (French)."""


def _add_months(value: datetime, months: int) -> datetime:
    month = value.month - 1 + months
    year, month = value.year + month // 12, month % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def deadline(statement: DsaStatement) -> datetime:
    """The last moment to complain: six months after the decision."""
    return _add_months(as_utc(statement.created_at), COMPLAINT_MONTHS)


def enabled() -> bool:
    return bool(settings.get("dsa_online_platform"))


def may_complain(statement: DsaStatement, now: datetime | None = None) -> bool:
    """Whether the author may still complain: the site takes complaints, the decision stands,
    it is less than six months old, and no complaint was lodged yet."""
    return (
        enabled()
        and statement.reversed_at is None
        and (now or utcnow()) <= deadline(statement)
        and statements.complaint_of(statement) is None
    )


def lodge(statement: DsaStatement, explanation: str) -> DsaComplaint:
    """The author contests the decision (ComplaintError when they may not, or say nothing)."""
    text = (explanation or "").strip()
    low, high = EXPLANATION_LENGTH
    if not low <= len(text) <= high:
        raise ComplaintError(
            "explication",
            f"Expliquez en quelques mots pourquoi vous contestez la décision "
            f"(entre {low} et {high} caractères).",
        )
    if not may_complain(statement):
        raise ComplaintError(None, "Cette décision ne peut plus être contestée ici.")
    complaint = DsaComplaint(statement_id=statement.id, explanation=text)
    db.session.add(complaint)
    try:
        db.session.commit()
    except IntegrityError:  # lodged twice at once: the unique statement_id refuses the second
        db.session.rollback()
        raise ComplaintError(
            None, "Une réclamation a déjà été envoyée pour cette décision."
        ) from None
    return complaint


@dataclass(frozen=True)
class Pending:
    complaint: DsaComplaint
    statement: DsaStatement
    comment: Comment | None
    restriction: ReaderRestriction | None


def open_complaints() -> list[Pending]:
    """The complaints waiting for an answer, oldest first (the moderators' « Réclamations »)."""
    rows = db.session.execute(
        select(DsaComplaint, DsaStatement)
        .join(DsaStatement, DsaStatement.id == DsaComplaint.statement_id)
        .where(DsaComplaint.status == ComplaintStatus.OPEN)
        .order_by(DsaComplaint.created_at, DsaComplaint.id)
    ).all()
    return [
        Pending(
            complaint,
            statement,
            db.session.get(Comment, statement.comment_id) if statement.comment_id else None,
            db.session.get(ReaderRestriction, statement.restriction_id)
            if statement.restriction_id
            else None,
        )
        for complaint, statement in rows
    ]


def open_count() -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(DsaComplaint)
            .where(DsaComplaint.status == ComplaintStatus.OPEN)
        )
        or 0
    )


def answer(complaint_id: int, outcome: str, text: str, by: User) -> tuple[DsaComplaint, bool]:
    """Answer a complaint as `by`: « upheld » (the decision stands) or « reversed » (the
    comment is published again, or the sanction lifted). Returns the complaint and whether
    the answer was mailed to the author.

    ComplaintError: an unknown outcome, no reasons given, an answer already given, or `by`
    took the decision contested (another human must answer)."""
    complaint = db.session.get(DsaComplaint, complaint_id)
    if complaint is None:
        raise ComplaintError(None, "Cette réclamation n’existe pas.")
    if outcome not in OUTCOMES:
        raise ComplaintError("outcome", "Choisissez : décision maintenue ou annulée.")
    reasons = (text or "").strip()
    low, high = ANSWER_LENGTH
    if not low <= len(reasons) <= high:
        raise ComplaintError(
            "answer",
            f"Motivez votre réponse pour l’auteur (entre {low} et {high} caractères).",
        )
    statement = complaint.statement
    if statement.decided_by_id is not None and statement.decided_by_id == by.id:
        raise ComplaintError(
            None,
            "Vous avez pris la décision contestée : un autre modérateur doit examiner cette "
            "réclamation (article 20 du DSA).",
        )
    now = utcnow()
    answered = db.session.execute(
        update(DsaComplaint)
        .where(DsaComplaint.id == complaint_id, DsaComplaint.status == ComplaintStatus.OPEN)
        .values(
            status=outcome,
            answer=reasons,
            decided_at=now,
            decided_by_id=by.id,
            decided_by=by.display_name,
        )  # fmt: skip
    )
    if rowcount(answered) != 1:
        db.session.rollback()
        raise ComplaintError(None, "Cette réclamation a déjà reçu une réponse.")
    action = (
        AuditAction.COMPLAINT_REVERSED
        if outcome == ComplaintStatus.REVERSED
        else AuditAction.COMPLAINT_UPHELD
    )
    restriction = (
        db.session.get(ReaderRestriction, statement.restriction_id)
        if statement.restriction_id
        else None
    )
    audit.record(
        action,
        actor=by,
        comment_id=statement.comment_id,
        reader_email=restriction.email if restriction else None,
        reason=(
            f"Réclamation n° {complaint.id} : "
            + ("décision annulée" if outcome == ComplaintStatus.REVERSED else "décision maintenue")
        ),
        details={"complaint": complaint.id, "statement": statement.puid},
        note=reasons,
    )
    if outcome == ComplaintStatus.REVERSED:
        _reverse(complaint, statement, restriction, by, now)  # commits
    else:
        db.session.commit()
    db.session.refresh(complaint)
    return complaint, _mail_answer(complaint, statement)


def _reverse(
    complaint: DsaComplaint,
    statement: DsaStatement,
    restriction: ReaderRestriction | None,
    by: User,
    now: datetime,
) -> None:
    """Undo the decision through the services that own it (they commit, with the answer)."""
    note = f"Réclamation n° {complaint.id} : décision annulée"
    comment = db.session.get(Comment, statement.comment_id) if statement.comment_id else None
    try:
        if comment is not None and comment.status == CommentStatus.REJECTED:
            moderation.decide(comment.id, comment.version, "approve", by, note=note)
            return
        if restriction is not None and restriction.lifted_at is None:
            readers.lift(restriction.id, by, note)
            return
    except (moderation.ModerationError, moderation.Conflict, readers.RestrictionError) as error:
        message = getattr(error, "message", str(error))
        raise ComplaintError(None, f"La décision n’a pas pu être annulée : {message}") from None
    # Already undone by other means: the answer stands, the statement says it is reversed.
    statements.withdraw(
        comment_ids=[statement.comment_id] if statement.comment_id else [],
        restriction_id=statement.restriction_id,
        now=now,
    )
    db.session.commit()


def _mail_answer(complaint: DsaComplaint, statement: DsaStatement) -> bool:
    """Mail the answer (after the commit); False, logged, when it could not leave."""
    address = statements.deliverable(statement.email)
    if address is None or not mail.enabled():
        return False
    try:
        mail.send(
            address,
            "dsa_complaint_answer",
            reversed=complaint.status == ComplaintStatus.REVERSED,
            answer=complaint.answer,
            puid=statement.puid,
            url=statements.link(statement.puid),
            out_of_court=statements.OUT_OF_COURT,
            judicial=statements.JUDICIAL,
        )
    except (mail.MailError, RuntimeError) as error:
        log.warning("complaint %s answer not mailed: %s", complaint.id, error)
        return False
    return True
