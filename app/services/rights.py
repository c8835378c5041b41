"""Readers' data rights (GDPR Art. 15, 17 and 20): what we hold about a person, and its erasure.

A person (`Person`) is who a request is about:

* a signed-in reader (`of_account`): their account, and what they did with it;
* a guest who proved they read an address (`of_guest`, by the link `link_for` mails them):
  what was written or sent under that address without an account;
* anyone by their address, for staff (`of_address`: the CLI, the reader's page): both, the
  accounts whose address it is (a single sign-on account's address is its CMS's, kept in
  `sso_identities`) and the guest's data.

`export` gives everything as one JSON document (its schema: README « Données personnelles »).
`erase` takes the person away, in one transaction:

* their comments: removed (`comments.remove`: a placeholder « Commentaire supprimé à la
  demande de son auteur » where others answered, deleted otherwise), or, when the site's
  policy says so (`ERASED_COMMENTS=anonymise`), their published comments kept under
  « Anonyme », without address; their unpublished ones are removed either way;
* their reports (no longer linked to them, their notes erased), their notices of illegal
  content (name and address erased), the statements of reasons addressed to them (address
  erased) and their complaints' texts;
* their sanctions, their warnings (« Avertir »: their message erased too) and the audit rows
  that named them: the address replaced by its keyed pseudonym (`privacy.erased_address`),
  the audit rows they acted in by « Anonyme ». The
  audit trail keeps what happened, when, by whom and why, and loses no row; a sanction on a
  guest address still applies to whoever types that address again (`readers.Reader`);
* their confirmed address for reply notifications (services/notifications.py);
* their single sign-on identities and their account (which ends every session: the
  session cookie names an account that is gone).

One audit row records the erasure, with the pseudonym and the counts, never the address.
Staff accounts are not erased here (`users deactivate` first, then an admin changes them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import ColumnElement, and_, false, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from app import labels
from app.actions import AuditAction
from app.extensions import db, rowcount
from app.formatting import as_utc
from app.labels import french
from app.models import (
    Comment,
    CommentLike,
    CommentReport,
    CommentRevision,
    CommentStatus,
    DsaComplaint,
    DsaNotice,
    DsaStatement,
    ModerationAction,
    ReaderRestriction,
    ReaderWarning,
    RemovedReason,
    Role,
    SsoIdentity,
    User,
)
from app.privacy import erased_address, pseudonym
from app.services import audit, comments, mail, notifications
from app.services.errors import ServiceError

log = logging.getLogger(__name__)

FORMAT = "moderation-reader-export"
VERSION = 1
# What stands for an erased person's name, and for an erased text that must keep its row.
ERASED_NAME = "Anonyme"
ERASED_TEXT = "(effacé à la demande de son auteur)"
ERASED_WARNING = "(effacé à la demande du lecteur)"
# ERASED_COMMENTS: what erasure does with a person's published comments.
ANONYMISE = "anonymise"
_LINK_SALT = "reader-data-request"


class RightsError(ServiceError):
    """A request refused (a staff account, a bad or expired link)."""


@dataclass(frozen=True)
class Person:
    """Who a request is about: accounts (`users`) and, with `guest`, a guest address."""

    email: str
    users: tuple[User, ...] = ()
    guest: bool = False

    @property
    def user_ids(self) -> list[int]:
        return [user.id for user in self.users]

    @property
    def addresses(self) -> list[str]:
        """Every address the person is known by: the one asked about, their accounts', and the
        addresses their single sign-on identities carry."""
        found = {self.email} if self.email else set()
        found.update(user.email.lower() for user in self.users)
        if self.users:
            found.update(
                email.lower()
                for email in db.session.scalars(
                    select(SsoIdentity.email).where(SsoIdentity.user_id.in_(self.user_ids))
                )
            )
        return sorted(found)

    @property
    def empty(self) -> bool:
        return not self.users and not self.guest


def self_actor() -> str:
    """Who the audit says erased the person when they asked themselves: never their name."""
    return audit.reader_actor(ERASED_NAME)


def keeps_published() -> bool:
    """The site's policy (ERASED_COMMENTS): an erased reader's published comments stay,
    under « Anonyme »."""
    return current_app.config["ERASED_COMMENTS"] == ANONYMISE


def normalise(email: str) -> str:
    return (email or "").strip().lower()


def of_account(user: User) -> Person:
    return Person(email=user.email.lower(), users=(user,))


def of_guest(email: str) -> Person:
    return Person(email=normalise(email), guest=True)


def of_address(email: str) -> Person:
    """For staff: the accounts whose address (or single sign-on address) it is, and the guest."""
    email = normalise(email)
    ids = set(db.session.scalars(select(User.id).where(User.email == email)))
    ids.update(db.session.scalars(select(SsoIdentity.user_id).where(SsoIdentity.email == email)))
    users = tuple(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)))
    return Person(email=email, users=users, guest=True)


# --- What belongs to a person ---------------------------------------------------------------


def _belonging(person: Person, user_id: Any, email: Any) -> ColumnElement[bool]:
    """The rows of a table that are the person's: their accounts' (`user_id`), and, for the
    guest, those under the address without an account (`email`)."""
    clauses: list[ColumnElement[bool]] = []
    if person.users:
        clauses.append(user_id.in_(person.user_ids))
    if person.guest and person.email:
        clauses.append(and_(user_id.is_(None), email == person.email))
    return or_(*clauses) if clauses else false()


def _comments(person: Person) -> ColumnElement[bool]:
    return _belonging(person, Comment.user_id, Comment.author_email)


def _restrictions(person: Person) -> ColumnElement[bool]:
    return _belonging(person, ReaderRestriction.user_id, ReaderRestriction.email)


def _warnings(person: Person) -> ColumnElement[bool]:
    return _belonging(person, ReaderWarning.user_id, ReaderWarning.email)


def _statements(person: Person) -> ColumnElement[bool]:
    return _belonging(person, DsaStatement.user_id, DsaStatement.email)


def _notices(person: Person) -> ColumnElement[bool]:
    """Notices are sent without an account: the person's are those sent from their addresses."""
    addresses = person.addresses if (person.users or person.guest) else []
    return DsaNotice.notifier_email.in_(addresses) if addresses else false()


def _when(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def holds_anything(person: Person) -> bool:
    if person.users:
        return True
    for query in (
        select(Comment.id).where(_comments(person)),
        select(ReaderRestriction.id).where(_restrictions(person)),
        select(ReaderWarning.id).where(_warnings(person)),
        select(DsaStatement.id).where(_statements(person)),
        select(DsaNotice.id).where(_notices(person)),
    ):
        if db.session.scalar(query.limit(1)) is not None:
            return True
    return notifications.is_confirmed(person.email)


# --- Export (Art. 15 and 20) ----------------------------------------------------------------


def export(person: Person) -> dict[str, Any]:
    """Everything we hold about the person, as one JSON-ready document."""
    statements = list(
        db.session.scalars(
            select(DsaStatement).where(_statements(person)).order_by(DsaStatement.id)
        )
    )
    by_comment = {s.comment_id: s for s in statements if s.comment_id is not None}
    complaints = {
        c.statement_id: c
        for c in db.session.scalars(
            select(DsaComplaint).where(DsaComplaint.statement_id.in_([s.id for s in statements]))
        )
    }
    owned = list(
        db.session.scalars(
            select(Comment)
            .where(_comments(person))
            .order_by(Comment.created_at, Comment.id)
            .options(joinedload(Comment.article), selectinload(Comment.score))
        )
    )
    earlier: dict[int, list[str]] = {}
    for revision in db.session.scalars(
        select(CommentRevision)
        .where(CommentRevision.comment_id.in_([c.id for c in owned]))
        .order_by(CommentRevision.id)
    ):
        earlier.setdefault(revision.comment_id, []).append(revision.body)
    return {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": _when(datetime.now()),
        "address": person.email,
        "accounts": [_account(user) for user in person.users],
        "comments": [_comment(c, by_comment.get(c.id), earlier.get(c.id, [])) for c in owned],
        "reports": [
            {
                "comment_id": r.comment_id,
                "reason": r.reason,
                "note": r.note,
                "created_at": _when(r.created_at),
            }
            for r in db.session.scalars(
                select(CommentReport)
                .where(CommentReport.reporter_user_id.in_(person.user_ids))
                .order_by(CommentReport.id)
            )
        ]
        if person.users
        else [],
        "likes": [
            {"comment_id": like.comment_id, "created_at": _when(like.created_at)}
            for like in db.session.scalars(
                select(CommentLike)
                .where(CommentLike.user_id.in_(person.user_ids))
                .order_by(CommentLike.id)
            )
        ]
        if person.users
        else [],
        "sanctions": [
            {
                "kind": r.kind,
                "kind_label": french(labels.KIND_LABELS[r.kind]),
                "reason": r.reason,
                "created_at": _when(r.created_at),
                "until": _when(r.until),
                "lifted_at": _when(r.lifted_at),
                "lift_reason": r.lift_reason,
            }
            for r in db.session.scalars(
                select(ReaderRestriction)
                .where(_restrictions(person))
                .order_by(ReaderRestriction.id)
            )
        ],
        "warnings": [
            {
                "reason": w.reason,
                "reason_label": french(labels.REJECT_REASONS.get(w.reason, w.reason)),
                "message": w.message,
                "comment_id": w.comment_id,
                "created_at": _when(w.created_at),
                "acknowledged_at": _when(w.acknowledged_at),
            }
            for w in db.session.scalars(
                select(ReaderWarning).where(_warnings(person)).order_by(ReaderWarning.id)
            )
        ],
        "notices": [
            {
                "reference": n.reference,
                "created_at": _when(n.created_at),
                "location": n.location,
                "category": n.category,
                "explanation": n.explanation,
                "name": n.notifier_name,
                "email": n.notifier_email,
                "decision": n.decision,
                "decided_at": _when(n.decided_at),
            }
            for n in db.session.scalars(
                select(DsaNotice).where(_notices(person)).order_by(DsaNotice.id)
            )
        ],
        "statements": [_statement(s, complaints.get(s.id)) for s in statements],
        "reply_notifications": [
            {"email": sub.email, "confirmed_at": _when(sub.confirmed_at)}
            for sub in notifications.subscriptions(person.addresses)
        ],
    }


def _account(user: User) -> dict[str, Any]:
    sso = db.session.scalars(select(SsoIdentity).where(SsoIdentity.user_id == user.id)).all()
    return {
        "id": user.id,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "active": user.active,
        "created_at": _when(user.created_at),
        "reply_mails": user.reply_mails,
        "single_sign_on": [
            {"site_id": s.site_id, "external_id": s.external_id, "email": s.email} for s in sso
        ],
    }


def _comment(
    comment: Comment, statement: DsaStatement | None, earlier: list[str]
) -> dict[str, Any]:
    article = comment.article
    score = comment.score
    return {
        "id": comment.id,
        "story": {"title": article.title, "url": article.url or _story_link(article)},
        "parent_id": comment.parent_id,
        "created_at": _when(comment.created_at),
        "name": comment.author_name,
        "email": comment.author_email or None,
        "text": comment.body,
        "text_erased_at": _when(comment.text_erased_at),
        "edited_at": _when(comment.edited_at),
        "earlier_texts": earlier,
        "status": comment.status,
        "status_label": french(labels.STATUS_LABELS[comment.status]),
        "status_reason": comment.status_reason,
        "reasons": audit.reasons_text(comment.reasons or []) or None,
        "decided_at": _when(comment.decided_at),
        "removed": comment.removed,
        "imported_from": comment.imported_from,
        "scores": dict(score.scores) if score is not None else None,
        "statement": statement.puid if statement is not None else None,
    }


def _story_link(article: Any) -> str | None:
    try:
        return mail.link("reader.article", slug=article.slug)
    except Exception:  # noqa: BLE001 — a story without a page of ours (embed only)
        return None


def _statement(statement: DsaStatement, complaint: DsaComplaint | None) -> dict[str, Any]:
    return {
        "puid": statement.puid,
        "created_at": _when(statement.created_at),
        "comment_id": statement.comment_id,
        "category": statement.category,
        "ground": statement.ground_text,
        "explanation": statement.ground_explanation,
        "facts": statement.decision_facts,
        "automated_detection": statement.automated_detection,
        "automated_decision": statement.automated_decision,
        "end_date": _when(statement.end_date),
        "reversed_at": _when(statement.reversed_at),
        "complaint": None
        if complaint is None
        else {
            "created_at": _when(complaint.created_at),
            "text": complaint.explanation,
            "status": complaint.status,
            "answer": complaint.answer,
            "decided_at": _when(complaint.decided_at),
        },
    }


# --- Erasure (Art. 17) ----------------------------------------------------------------------


@dataclass
class Erased:
    """What an erasure did, by kind (no personal data: it is shown and logged)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + count

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def erase(person: Person, actor: User | str) -> Erased:
    """Erase the person (see the module's docstring) and commit. RightsError for a staff
    account: staff are changed by an admin, not erased as readers."""
    if any(user.role in (Role.MODERATOR, Role.ADMIN) for user in person.users):
        raise RightsError(None, "Ce compte appartient à l’équipe : il ne s’efface pas ainsi.")
    done = Erased()
    addresses = person.addresses
    keep_published = keeps_published()

    owned = list(
        db.session.scalars(
            select(Comment)
            .where(_comments(person))
            .order_by(Comment.depth.desc(), Comment.id.desc())
        )
    )
    names = {c.author_name for c in owned if c.author_name}
    names.update(user.display_name for user in person.users)
    # The audit rows the person acted in (« lecteur <nom> »: sent anyway, revised, removed).
    ids = [c.id for c in owned]
    for name in names:
        for chunk in _chunks(ids):
            done.add("audit_rows", _update_audit(
                and_(ModerationAction.comment_id.in_(chunk),
                     ModerationAction.actor == audit.reader_actor(name)),
                actor=audit.reader_actor(ERASED_NAME),
            ))  # fmt: skip
    if person.users:
        done.add("audit_rows", _update_audit(
            ModerationAction.actor_id.in_(person.user_ids), actor=ERASED_NAME, actor_id=None
        ))  # fmt: skip
    for comment in owned:
        if keep_published and comment.status == CommentStatus.PUBLISHED:
            comment.author_name = ERASED_NAME
            comment.author_email = ""
            comment.user_id = None
            comment.guest_token = None
            done.add("comments_anonymised", 1)
        else:  # (a placeholder is never the person's: it has no author left)
            kept = comments.remove(comment, RemovedReason.AUTHOR, actor)
            db.session.flush()
            if kept != "gone":  # (removed meanwhile by its author: nothing left to count)
                done.add("comments_kept_as_placeholders" if kept == "placeholder" else
                         "comments_deleted", 1)  # fmt: skip

    if person.users:
        for report in db.session.scalars(
            select(CommentReport).where(CommentReport.reporter_user_id.in_(person.user_ids))
        ):
            report.reporter_user_id = None
            report.reporter_key = f"erased:{pseudonym(report.reporter_key)}"
            report.note = None
            done.add("reports", 1)

    if person.users:
        for liked in db.session.scalars(
            select(CommentLike).where(CommentLike.user_id.in_(person.user_ids))
        ):
            liked.user_id = None  # the like still counts, for no one
            liked.liker_key = f"erased:{pseudonym(liked.liker_key)}"
            done.add("likes", 1)

    for restriction in db.session.scalars(select(ReaderRestriction).where(_restrictions(person))):
        restriction.email = erased_address(restriction.email)
        restriction.user_id = None
        done.add("sanctions", 1)

    # Warnings, as sanctions: kept under the address's pseudonym (the moderators' history
    # still counts them, with their reason), their message gone, and no longer anyone's to be
    # shown (services/warnings matches the address exactly).
    for warning in db.session.scalars(select(ReaderWarning).where(_warnings(person))):
        warning.email = erased_address(warning.email)
        warning.user_id = None
        warning.form_token = None
        warning.message = ERASED_WARNING  # a message to them may name them: its reason stays
        done.add("warnings", 1)
    if addresses:  # …and so may the journal's copy of it (the row's note)
        done.add("audit_rows", _update_audit(
            and_(ModerationAction.action == AuditAction.READER_WARNED,
                 ModerationAction.reader_email.in_(addresses)),
            note=ERASED_WARNING,
        ))  # fmt: skip

    statements = list(db.session.scalars(select(DsaStatement).where(_statements(person))))
    for statement in statements:
        statement.email = None
        statement.user_id = None
        done.add("statements", 1)
    if statements:
        for complaint in db.session.scalars(
            select(DsaComplaint).where(DsaComplaint.statement_id.in_([s.id for s in statements]))
        ):
            complaint.explanation = ERASED_TEXT
            done.add("complaints", 1)

    for notice in db.session.scalars(select(DsaNotice).where(_notices(person))):
        notice.notifier_name = None
        notice.notifier_email = None
        done.add("notices", 1)

    for address in addresses:
        done.add("audit_rows", audit.pseudonymise_reader(address))
    if forgotten := notifications.forget(addresses):
        done.add("reply_subscriptions", forgotten)

    db.session.flush()  # the sanctions let go of the accounts before these go
    for user in person.users:
        for identity in db.session.scalars(
            select(SsoIdentity).where(SsoIdentity.user_id == user.id)
        ):
            db.session.delete(identity)
        db.session.delete(user)
        done.add("accounts", 1)

    audit.record(
        AuditAction.ERASED,
        actor=actor,
        reader_email=erased_address(person.email) if person.email else None,
        details={"erased": dict(done.counts)},
    )
    db.session.commit()
    log.info("reader erased: %s", ", ".join(f"{k}={v}" for k, v in sorted(done.counts.items())))
    return done


def _update_audit(where: ColumnElement[bool], **values: Any) -> int:
    """The one other change the append-only trail takes (see audit.pseudonymise_reader)."""
    result = db.session.execute(
        update(ModerationAction)
        .where(where)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


# --- A guest's link -------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt=_LINK_SALT)


def token_for(email: str) -> str:
    """The signed, dated token of a guest's data page (itsdangerous, keyed with SECRET_KEY)."""
    return str(_serializer().dumps({"e": normalise(email)}))


def link_for(email: str) -> str:
    """The signed link to a guest's data page: opening it proves they read that address."""
    return mail.link("reader.my_data_page", token=token_for(email))


def guest_from(token: str) -> Person:
    """The guest a link was mailed to; RightsError when it is forged or too old."""
    hours = current_app.config["DATA_LINK_HOURS"]
    try:
        payload = _serializer().loads(token, max_age=hours * 3600)
    except SignatureExpired as error:
        raise RightsError(None, "Ce lien a expiré : demandez-en un nouveau.") from error
    except BadSignature as error:
        raise RightsError(None, "Ce lien n’est pas valide : demandez-en un nouveau.") from error
    email = payload.get("e") if isinstance(payload, dict) else None
    if not isinstance(email, str) or "@" not in email:
        raise RightsError(None, "Ce lien n’est pas valide : demandez-en un nouveau.")
    return of_guest(email)


def send_link(email: str) -> None:
    """Mail the data page's link to an address (whatever we hold: the answer never says)."""
    mail.send(normalise(email), "reader_data_link", link=link_for(email),
              hours=current_app.config["DATA_LINK_HOURS"])  # fmt: skip
