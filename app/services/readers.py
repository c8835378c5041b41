"""Sanctions on readers (known by e-mail address, guests too): ban, suspend, pre-moderate."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import or_, select, update

from app.extensions import db
from app.models import ReaderRestriction, User, utcnow
from app.services import audit

KIND_LABELS = {
    "ban": "banni",
    "suspend": "suspendu",
    "premoderate": "toujours pré-modéré",
}


class RestrictionError(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _active() -> object:
    now = utcnow()
    return (
        ReaderRestriction.lifted_at.is_(None),
        or_(ReaderRestriction.until.is_(None), ReaderRestriction.until > now),
    )


def active_restrictions(email: str) -> list[ReaderRestriction]:
    return list(
        db.session.scalars(
            select(ReaderRestriction)
            .where(ReaderRestriction.email == email.strip().lower(), *_active())
            .order_by(ReaderRestriction.id)
        )
    )


def posting_refusal(email: str) -> str | None:
    """Why this reader may not post now (in French), or None."""
    for restriction in active_restrictions(email):
        if restriction.kind == "ban":
            return (
                "Votre compte n’est plus autorisé à publier de commentaires sur ce site "
                f"(motif : {restriction.reason})."
            )
        if restriction.kind == "suspend" and restriction.until is not None:
            until = f"{restriction.until:%d/%m/%Y à %H:%M} UTC"
            return (
                "Vous ne pouvez pas publier de commentaire pour le moment : votre participation "
                f"est suspendue jusqu’au {until} (motif : {restriction.reason})."
            )
    return None


def premoderated(emails: Iterable[str]) -> set[str]:
    """Which of these addresses are on « toujours pré-modérer »."""
    wanted = {e.lower() for e in emails}
    if not wanted:
        return set()
    return set(
        db.session.scalars(
            select(ReaderRestriction.email).where(
                ReaderRestriction.email.in_(wanted),
                ReaderRestriction.kind == "premoderate",
                *_active(),
            )
        )
    )


def restrict(
    email: str, kind: str, reason: str, by: User, days: int | None = None
) -> ReaderRestriction:
    if kind not in ReaderRestriction.KINDS:
        raise RestrictionError("kind", "Choisissez une sanction.")
    if not reason.strip():
        raise RestrictionError("reason", "Indiquez le motif de la sanction.")
    if kind == "suspend" and (days is None or not 1 <= days <= 3650):
        raise RestrictionError("days", "Indiquez une durée de suspension entre 1 et 3650 jours.")
    email = email.strip().lower()
    until = utcnow() + timedelta(days=days) if kind == "suspend" and days else None
    restriction = ReaderRestriction(
        email=email, kind=kind, reason=reason.strip(), until=until, created_by_id=by.id
    )
    db.session.add(restriction)
    detail = f" pour {days} jours" if kind == "suspend" else ""
    audit.record(
        f"reader_{kind}",
        actor=by,
        reader_email=email,
        reason=f"Lecteur {KIND_LABELS[kind]}{detail}",
        note=reason.strip(),
    )
    db.session.commit()
    return restriction


def lift(restriction_id: int, by: User, reason: str = "") -> None:
    restriction = db.session.get(ReaderRestriction, restriction_id)
    if restriction is None:
        raise RestrictionError(None, "Cette sanction n’existe pas.")
    changed = db.session.execute(
        update(ReaderRestriction)
        .where(ReaderRestriction.id == restriction_id, ReaderRestriction.lifted_at.is_(None))
        .values(lifted_at=utcnow(), lifted_by_id=by.id, lift_reason=reason.strip() or None)
    ).rowcount
    if changed != 1:
        db.session.rollback()
        raise RestrictionError(None, "Cette sanction a déjà été levée.")
    audit.record(
        f"reader_{restriction.kind}_lifted",
        actor=by,
        reader_email=restriction.email,
        reason=f"Sanction levée ({KIND_LABELS[restriction.kind]})",
        note=reason.strip(),
    )
    db.session.commit()


def history(email: str) -> list[ReaderRestriction]:
    return list(
        db.session.scalars(
            select(ReaderRestriction)
            .where(ReaderRestriction.email == email.strip().lower())
            .order_by(ReaderRestriction.id.desc())
        )
    )
