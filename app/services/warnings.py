"""« Avertir »: the lightest step before a sanction. A moderator writes to a reader (a reason
among the rejection's, and a message); the reader sees it the next time they come to comment,
until they answer « J’ai compris », and gets it by mail when there is an address. Recorded
(ReaderWarning), in the journal (`AuditAction.READER_WARNED`) and on the reader's page, where
the count tells the next moderator before they suspend. It restricts nothing: no statement of
reasons (DSA Art. 17 covers restrictions), no effect on posting.

A warning is for a reader as a sanction is (`readers.Reader`): an account, or the guests who
type an address. Who may see and acknowledge it (`belongs_to`): the account; for a guest, the
browser (or embed token) that posted a comment under that address. So a guest sees it in the
answer to their own post, never on a plain visit where anyone could type the address."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import exists, false, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from app.actions import AuditAction
from app.extensions import db
from app.labels import REJECT_REASONS, french
from app.models import Comment, ReaderWarning, Role, User, utcnow
from app.services import audit, mail
from app.services.comments import Viewer
from app.services.errors import ServiceError
from app.services.readers import Reader
from app.services.statements import deliverable

log = logging.getLogger(__name__)

MESSAGE_MAX = 2000
FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class WarningError(ServiceError):
    """A warning refused (no reason, no message or too long, a staff account, no such reader)."""


@dataclass(frozen=True)
class Warned:
    warning: ReaderWarning
    created: bool  # False: the same form (its one-time token) was already recorded
    mailed: bool = False


def _of(reader: Reader) -> ColumnElement[bool]:
    """The warnings of this reader: the account's, or the guest address's (exactly: an erased
    address's warnings are no one's to see any more)."""
    if reader.user_id is not None:
        return ReaderWarning.user_id == reader.user_id
    return (ReaderWarning.email == reader.email) & ReaderWarning.user_id.is_(None)


def warn(
    reader: Reader,
    reason: str,
    message: str,
    by: User,
    *,
    comment_id: int | None = None,
    form_token: str | None = None,
    name: str | None = None,
) -> Warned:
    """Record the warning and its audit row, commit, then mail it (a mail that fails loses
    nothing). With the form's one-time `form_token`, the same form sent again (or twenty times
    at once) records one warning: the others get it back with `created` False."""
    if reason not in REJECT_REASONS:
        raise WarningError("reason", _("Choisissez le motif de l’avertissement."))
    message = (message or "").replace("\r\n", "\n").strip()
    if not message:
        raise WarningError("message", _("Écrivez le message de l’avertissement."))
    if len(message) > MESSAGE_MAX:
        raise WarningError(
            "message",
            _("Le message fait plus de %(max)s caractères : raccourcissez-le.", max=MESSAGE_MAX),
        )
    if "\x00" in message:
        raise WarningError("message", _("Le message contient des caractères invalides."))
    if form_token is not None and not FORM_TOKEN.fullmatch(form_token):
        form_token = None
    email = reader.email
    if reader.user_id is not None:
        account = db.session.get(User, reader.user_id)
        if account is None:
            raise WarningError(None, _("Ce compte n’existe pas."))
        if account.role != Role.READER:
            raise WarningError(None, _("Un membre de l’équipe ne reçoit pas d’avertissement."))
        email, name = account.email.lower(), account.display_name
    else:
        if not email or "@" not in email or len(email) > 254:
            raise WarningError(None, _("Indiquez l’adresse du lecteur."))
        staff = db.session.scalar(
            select(User.id).where(func.lower(User.email) == email, User.role != Role.READER)
        )
        if staff is not None:
            raise WarningError(None, _("Un membre de l’équipe ne reçoit pas d’avertissement."))
    if comment_id is not None and db.session.get(Comment, comment_id) is None:
        comment_id = None
    warning = ReaderWarning(
        email=email,
        user_id=reader.user_id,
        comment_id=comment_id,
        reason=reason,
        message=message,
        created_by_id=by.id,
        form_token=form_token,
    )
    db.session.add(warning)
    try:
        db.session.flush()
    except IntegrityError:  # this form was recorded already (another copy, at once)
        db.session.rollback()
        existing = db.session.scalar(
            select(ReaderWarning).where(ReaderWarning.form_token == form_token)
        )
        if existing is None:
            raise
        return Warned(existing, created=False)
    audit.record(
        AuditAction.READER_WARNED,
        actor=by,
        comment_id=comment_id,
        reader_email=email,
        reason_code=reason,
        reason=f"Lecteur averti : {french(REJECT_REASONS[reason])}",
        note=message,
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = db.session.scalar(
            select(ReaderWarning).where(ReaderWarning.form_token == form_token)
        )
        if existing is None:
            raise
        return Warned(existing, created=False)
    return Warned(warning, created=True, mailed=_mail(warning, name))


def _mail(warning: ReaderWarning, name: str | None) -> bool:
    """Mail the warning to its one address, when there is one; False when none or it failed."""
    address = deliverable(warning.email)
    if address is None or not mail.enabled():
        return False
    try:
        mail.send(
            address,
            "reader_warning",
            name=name,
            reason=french(REJECT_REASONS[warning.reason]),
            message=warning.message,
            link=mail.link("reader.index"),
        )
    except (mail.MailError, RuntimeError):
        log.warning("warning %s: mail not sent", warning.id)
        return False
    return True


def pending(reader: Reader) -> list[ReaderWarning]:
    """The reader's warnings not yet acknowledged, the oldest first."""
    return list(
        db.session.scalars(
            select(ReaderWarning)
            .where(_of(reader), ReaderWarning.acknowledged_at.is_(None))
            .order_by(ReaderWarning.id)
        )
    )


def history(reader: Reader) -> list[ReaderWarning]:
    """Every warning the reader received, the newest first (their page)."""
    return list(
        db.session.scalars(
            select(ReaderWarning).where(_of(reader)).order_by(ReaderWarning.id.desc())
        )
    )


def _belongs_to(viewer: Viewer) -> ColumnElement[bool]:
    """The warnings this viewer may see and acknowledge: their account's; for a guest, those
    on an address their token posted a comment with."""
    if viewer.user_id is not None:
        return ReaderWarning.user_id == viewer.user_id
    if not viewer.guest_token:
        return false()
    posted = exists().where(
        Comment.guest_token == viewer.guest_token,
        Comment.user_id.is_(None),
        Comment.author_email == ReaderWarning.email,
    )
    return ReaderWarning.user_id.is_(None) & posted


def shown(viewer: Viewer, ids: list[int]) -> list[ReaderWarning]:
    """Of these warnings (a guest's, put in the answer to their post), the ones still pending
    and this viewer's."""
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(ReaderWarning)
            .where(
                ReaderWarning.id.in_(ids[:20]),
                ReaderWarning.acknowledged_at.is_(None),
                _belongs_to(viewer),
            )
            .order_by(ReaderWarning.id)
        )
    )


def acknowledge(warning_id: int, viewer: Viewer) -> bool:
    """« J’ai compris »: the warning is not shown again. True when it is (now, or already)
    acknowledged; False when it is not this viewer's (or there is no such warning)."""
    theirs = db.session.scalar(
        select(ReaderWarning.id).where(ReaderWarning.id == warning_id, _belongs_to(viewer))
    )
    if theirs is None:
        return False
    db.session.execute(
        update(ReaderWarning)
        .where(ReaderWarning.id == warning_id, ReaderWarning.acknowledged_at.is_(None))
        .values(acknowledged_at=utcnow())
        .execution_options(synchronize_session=False)
    )  # (acknowledged twice at once: the first one's time stays)
    db.session.commit()
    return True
