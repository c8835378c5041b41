"""Sanctions on readers: ban, suspend, pre-moderate.

A reader is an account (known by its id) or a guest (known by the address they type): two
different readers even with the same address. A sanction on one never touches the other, and a
guest cannot post with an account's address anyway (comments.submit_comment)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from app import formatting
from app.actions import AuditAction
from app.extensions import db, rowcount
from app.labels import KIND_LABELS, french
from app.models import ReaderRestriction, RestrictionKind, User, utcnow
from app.privacy import erased_address
from app.services import audit, statements
from app.services.errors import ServiceError


@dataclass(frozen=True)
class Reader:
    """Who a sanction, a history or a reader page is about: an account, or a guest address."""

    email: str
    user_id: int | None = None

    @classmethod
    def of(cls, email: str, user_id: int | None = None) -> Reader:
        return cls(email.strip().lower(), user_id)

    @property
    def key(self) -> tuple[str, str | int]:
        return ("guest", self.email) if self.user_id is None else ("user", self.user_id)

    @property
    def is_guest(self) -> bool:
        return self.user_id is None

    def restrictions(self) -> ColumnElement[bool]:
        if self.user_id is not None:
            return ReaderRestriction.user_id == self.user_id
        # A sanction on a guest address outlives the address's erasure (services/rights.py):
        # it is then kept under the address's keyed pseudonym, and still applies to it.
        return and_(
            ReaderRestriction.email.in_([self.email, erased_address(self.email)]),
            ReaderRestriction.user_id.is_(None),
        )


class RestrictionError(ServiceError):
    """A sanction refused (no kind, reason or duration)."""


def account(user_id: int) -> Reader | None:
    """The account reader `user_id`, or None if there is no such account."""
    user = db.session.get(User, user_id)
    return Reader.of(user.email, user.id) if user else None


def _active() -> tuple[ColumnElement[bool], ...]:
    now = utcnow()
    return (
        ReaderRestriction.lifted_at.is_(None),
        or_(ReaderRestriction.until.is_(None), ReaderRestriction.until > now),
    )


def active_restrictions(reader: Reader) -> list[ReaderRestriction]:
    return list(
        db.session.scalars(
            select(ReaderRestriction)
            .where(reader.restrictions(), *_active())
            .order_by(ReaderRestriction.id)
        )
    )


def posting_refusal(reader: Reader) -> str | None:
    """Why this reader may not post now (in French), or None."""
    for restriction in active_restrictions(reader):
        if restriction.kind == RestrictionKind.BAN:
            return (
                "Votre compte n’est plus autorisé à publier de commentaires sur ce site "
                f"(motif : {restriction.reason})."
            )
        if restriction.kind == RestrictionKind.SUSPEND and restriction.until is not None:
            until = formatting.when(restriction.until, reader=True)
            return (
                "Vous ne pouvez pas publier de commentaire pour le moment : votre participation "
                f"est suspendue jusqu’au {until} (motif : {restriction.reason})."
            )
    return None


def premoderated(wanted: Iterable[Reader]) -> set[Reader]:
    """Which of these readers are on « toujours pré-modérer »."""
    wanted = set(wanted)
    if not wanted:
        return set()
    rows = db.session.execute(
        select(ReaderRestriction.email, ReaderRestriction.user_id).where(
            or_(*(reader.restrictions() for reader in wanted)),
            ReaderRestriction.kind == RestrictionKind.PREMODERATE,
            *_active(),
        )
    )
    found = {Reader(email, user_id).key for email, user_id in rows}
    return {reader for reader in wanted if reader.key in found}


def restrict(
    email: str,
    kind: str,
    reason: str,
    by: User,
    days: int | None = None,
    user_id: int | None = None,
    ground: str | None = None,
    notice_id: int | None = None,
) -> ReaderRestriction:
    """Sanction the guests who type `email`, or, with `user_id`, that account only; with its
    statement of reasons (on the house rules, or the law `ground` names; `notice_id`: the
    Art. 16 notice it answers), mailed after the commit."""
    try:
        relied_on = statements.Ground.parse(ground)
    except statements.StatementError as error:
        raise RestrictionError("ground", _("Choisissez le fondement de la décision.")) from error
    if kind not in set(RestrictionKind):
        raise RestrictionError("kind", _("Choisissez une sanction."))
    kind = RestrictionKind(kind)
    if not reason.strip():
        raise RestrictionError("reason", _("Indiquez le motif de la sanction."))
    if kind == RestrictionKind.SUSPEND and (days is None or not 1 <= days <= 3650):
        raise RestrictionError("days", _("Indiquez une durée de suspension entre 1 et 3650 jours."))
    email = email.strip().lower()
    until = utcnow() + timedelta(days=days) if kind == RestrictionKind.SUSPEND and days else None
    if user_id is not None:
        account = db.session.get(User, user_id)
        if account is None:
            raise RestrictionError(None, _("Ce compte n’existe pas."))
        email = account.email.lower()
    restriction = ReaderRestriction(
        email=email,
        user_id=user_id,
        kind=kind,
        reason=reason.strip(),
        until=until,
        created_by_id=by.id,
    )
    db.session.add(restriction)
    db.session.flush()
    statements.issue(
        action=AuditAction.sanction(kind), actor=by, restriction=restriction, ground=relied_on,
        notice_id=notice_id,
    )  # fmt: skip
    detail = f" pour {days} jours" if kind == RestrictionKind.SUSPEND else ""
    audit.record(
        AuditAction.sanction(kind),
        actor=by,
        reader_email=email,
        reason=f"Lecteur {french(KIND_LABELS[kind])}{detail}",
        details={"kind": kind, "days": days if kind == RestrictionKind.SUSPEND else None},
        note=reason.strip(),
    )
    db.session.commit()
    return restriction


def lift(restriction_id: int, by: User, reason: str = "") -> None:
    restriction = db.session.get(ReaderRestriction, restriction_id)
    if restriction is None:
        raise RestrictionError(None, _("Cette sanction n’existe pas."))
    updated = db.session.execute(
        update(ReaderRestriction)
        .where(ReaderRestriction.id == restriction_id, ReaderRestriction.lifted_at.is_(None))
        .values(lifted_at=utcnow(), lifted_by_id=by.id, lift_reason=reason.strip() or None)
    )
    changed = rowcount(updated)
    if changed != 1:
        db.session.rollback()
        raise RestrictionError(None, _("Cette sanction a déjà été levée."))
    audit.record(
        AuditAction.sanction(restriction.kind, lifted=True),
        actor=by,
        reader_email=restriction.email,
        reason=f"Sanction levée ({french(KIND_LABELS[restriction.kind])})",
        details={"kind": restriction.kind},
        note=reason.strip(),
    )
    statements.withdraw(restriction_id=restriction_id, now=utcnow())
    db.session.commit()


def history(reader: Reader) -> list[ReaderRestriction]:
    return list(
        db.session.scalars(
            select(ReaderRestriction)
            .where(reader.restrictions())
            .order_by(ReaderRestriction.id.desc())
        )
    )
