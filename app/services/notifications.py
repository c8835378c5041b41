"""Reply notifications by mail: a reader asks to be told when someone answers their comments.

Who asks:

* a reader with an account (or single sign-on), by the setting of « Mon compte »
  (`User.reply_mails`, off by default); the mail goes to their address (a single sign-on
  reader's is their CMS's);
* a guest, by the box of the comment form (or `notify_replies` in the readers' API): the
  first time, a confirmation mail carries a signed link (`confirm_link`); only once it is
  followed is the address kept (`ReplySubscription`), and replies mailed to it.

When: only when a reply becomes published, whatever published it (the model, a moderator):
`transitions.apply` calls `queue` in the very transaction of the move, which writes one outbox
row (`ReplyMail`) per reply whose parent's author asked, unless they answered themselves.
The sweep (services/scoring.sweep, in both backends) calls `send_due`: the rows of one
recipient leave together, in one mail, once the first has waited `REPLY_MAIL_DELAY_MINUTES`
(a burst of replies is one mail). Everything is checked again then: a reply hidden, rejected
or removed meanwhile is dropped, and so is a recipient who unsubscribed.

Every mail goes to one address, in French, with `List-Unsubscribe` and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): its signed link
(`unsubscribe_link`) switches the account's setting off, or forgets the guest's address,
with a POST and no session (the mail client's one click) or from the page it opens.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload

from app.extensions import db
from app.models import (
    Comment,
    CommentStatus,
    ReplyMail,
    ReplySubscription,
    SsoIdentity,
    User,
    as_utc,
    utcnow,
)
from app.services import mail, quotas
from app.services.errors import ServiceError
from app.services.statements import deliverable

log = logging.getLogger(__name__)

_CONFIRM_SALT = "reply-mails-confirm"
_UNSUBSCRIBE_SALT = "reply-mails-unsubscribe"
# A mail that could not leave is tried again at the next sweeps, this many times in all.
MAX_ATTEMPTS = 3
EXCERPT_CHARS = 280
BAD_LINK = "Ce lien n’est pas valide : il a été mal copié ou ne vient pas de nous."
EXPIRED_LINK = (
    "Ce lien a expiré : cochez de nouveau la case en commentant pour en recevoir un autre."
)
ASKED = (
    "Pour recevoir les réponses par courriel, confirmez votre adresse : si elle ne l’est pas "
    "déjà, nous vous avons écrit."
)


class NotificationError(ServiceError):
    """A confirmation or unsubscription link refused (forged, damaged or too old)."""


def normalise(email: str | None) -> str:
    return (email or "").strip().lower()


# --- Who asked ------------------------------------------------------------------------------


def set_account(user: User, on: bool) -> None:
    """Switch the account's reply mails on or off."""
    user.reply_mails = on
    db.session.commit()


def account_address(user: User) -> str | None:
    """Where an account's mails go: a single sign-on reader's CMS address, else the account's
    (None: no address that can receive mail)."""
    sso = db.session.scalar(select(SsoIdentity.email).where(SsoIdentity.user_id == user.id))
    return deliverable(sso or user.email)


def is_confirmed(email: str) -> bool:
    email = normalise(email)
    return bool(email) and (
        db.session.scalar(select(ReplySubscription.id).where(ReplySubscription.email == email))
        is not None
    )


def ask(email: str, address: str | None) -> None:
    """A guest ticked the box with this address: mail it a confirmation link, unless it is
    confirmed already. Whatever happens (confirmed, too many asks, a mail that fails), the
    caller says the same thing (`ASKED`): nobody learns here which addresses are subscribed."""
    email = normalise(email)
    if not email or "@" not in email or is_confirmed(email) or not mail.enabled():
        return
    try:
        quotas.take_reply_confirmation(address, email)
    except quotas.QuotaExceeded:
        log.info("reply mails: confirmation not sent (too many asks)")
        return
    try:
        mail.send(email, "reply_mails_confirm", link=confirm_link(email),
                  hours=current_app.config["DATA_LINK_HOURS"])  # fmt: skip
    except (mail.MailError, RuntimeError) as error:
        log.warning("reply mails: confirmation not sent: %s", error)


def _confirm_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt=_CONFIRM_SALT)


def confirm_link(email: str) -> str:
    token = str(_confirm_serializer().dumps({"e": normalise(email)}))
    return mail.link("reader.reply_mails_confirm", token=token)


def confirming(token: str) -> str:
    """The address a confirmation link was mailed to; NotificationError when it is forged,
    damaged or older than DATA_LINK_HOURS."""
    hours = current_app.config["DATA_LINK_HOURS"]
    try:
        payload = _confirm_serializer().loads(token, max_age=hours * 3600)
    except SignatureExpired as error:
        raise NotificationError(None, EXPIRED_LINK) from error
    except BadSignature as error:
        raise NotificationError(None, BAD_LINK) from error
    email = payload.get("e") if isinstance(payload, dict) else None
    if not isinstance(email, str) or "@" not in email:
        raise NotificationError(None, BAD_LINK)
    return email


def confirm(token: str) -> str:
    """Follow a confirmation link: the address is subscribed from now on (again: nothing
    changes). Returns it; NotificationError for a bad link."""
    email = confirming(token)
    if not is_confirmed(email):
        db.session.add(ReplySubscription(email=email))
        try:
            db.session.commit()
        except IntegrityError:  # the same link followed twice at once: subscribed once
            db.session.rollback()
    return email


# --- Unsubscribing --------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Whom a mail goes to: an account (`user_id`) or a guest's confirmed address."""

    email: str
    user_id: int | None = None

    @property
    def key(self) -> str:
        return f"user:{self.user_id}" if self.user_id is not None else f"guest:{self.email}"


def _unsubscribe_serializer() -> URLSafeSerializer:
    """Unsubscription links never expire (a mail is read months later), and are signed."""
    return URLSafeSerializer(str(current_app.config["SECRET_KEY"]), salt=_UNSUBSCRIBE_SALT)


def unsubscribe_link(recipient: Recipient) -> str:
    payload: dict[str, Any] = (
        {"u": recipient.user_id} if recipient.user_id is not None else {"e": recipient.email}
    )
    token = str(_unsubscribe_serializer().dumps(payload))
    return mail.link("reader.reply_mails_unsubscribe", token=token)


def unsubscribing(token: str) -> dict[str, Any]:
    """What an unsubscription link names ({"u": account id} or {"e": address});
    NotificationError when it is forged or damaged."""
    try:
        payload = _unsubscribe_serializer().loads(token)
    except BadSignature as error:
        raise NotificationError(None, BAD_LINK) from error
    if isinstance(payload, dict):
        if isinstance(payload.get("u"), int) and not isinstance(payload["u"], bool):
            return {"u": payload["u"]}
        if isinstance(payload.get("e"), str) and "@" in payload["e"]:
            return {"e": payload["e"]}
    raise NotificationError(None, BAD_LINK)


def unsubscribe(token: str) -> None:
    """Stop every reply mail to whom the link names (an account's setting switched off, a
    guest's address forgotten), and drop what was waiting for them. Done again: nothing
    changes. NotificationError for a bad link."""
    who = unsubscribing(token)
    if "u" in who:
        db.session.execute(
            update(User).where(User.id == who["u"]).values(reply_mails=False)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
    else:
        forget([who["e"]])
    db.session.commit()


def forget(addresses: Iterable[str]) -> int:
    """Remove these guest addresses' subscriptions (unsubscribing, erasure); not committed.
    Returns how many were removed."""
    emails = [normalise(a) for a in addresses if normalise(a)]
    if not emails:
        return 0
    found = list(
        db.session.scalars(select(ReplySubscription).where(ReplySubscription.email.in_(emails)))
    )
    for subscription in found:
        db.session.delete(subscription)
    return len(found)


def subscriptions(addresses: Iterable[str]) -> list[ReplySubscription]:
    """The confirmed guest subscriptions of these addresses (a reader's data export)."""
    emails = [normalise(a) for a in addresses if normalise(a)]
    if not emails:
        return []
    return list(
        db.session.scalars(
            select(ReplySubscription)
            .where(ReplySubscription.email.in_(emails))
            .order_by(ReplySubscription.id)
        )
    )


# --- The outbox -----------------------------------------------------------------------------


def _recipient(parent: Comment | None) -> Recipient | None:
    """Who wants to be told of replies to `parent`, as things stand (None: nobody)."""
    if parent is None or parent.removed:
        return None
    if parent.user_id is not None:
        user = parent.user
        if user is None or not user.active or not user.reply_mails:
            return None
        address = account_address(user)
        return Recipient(email=address, user_id=user.id) if address else None
    email = normalise(parent.author_email)
    if not email or not is_confirmed(email):
        return None
    return Recipient(email=email)


def _own(reply: Comment, parent: Comment) -> bool:
    """A reader answering themselves."""
    if parent.user_id is not None or reply.user_id is not None:
        return parent.user_id == reply.user_id
    return normalise(parent.author_email) == normalise(reply.author_email)


def queue(comment_ids: Sequence[int]) -> int:
    """These comments were just published: one outbox row for each that answers a reader who
    asked to be told (not themselves), once per reply. In the caller's transaction. A site
    that sends no mail (no MAIL_URL) queues nothing."""
    if not mail.enabled():
        return 0
    parent = aliased(Comment)
    replies = db.session.execute(
        select(Comment, parent)
        .join(parent, Comment.parent_id == parent.id)
        .where(
            Comment.id.in_(comment_ids),
            ~select(ReplyMail.id).where(ReplyMail.reply_id == Comment.id).exists(),
        )
        .execution_options(populate_existing=True)
    ).all()
    added = 0
    for reply, answered in replies:
        if _own(reply, answered) or _recipient(answered) is None:
            continue
        db.session.add(ReplyMail(reply_id=reply.id))
        added += 1
    if added:
        db.session.flush()
    return added


def _shown(reply: Comment | None) -> bool:
    return (
        reply is not None
        and reply.status == CommentStatus.PUBLISHED
        and not reply.hidden
        and not reply.removed
    )


@dataclass(frozen=True)
class _Item:
    row_id: int
    reply: Comment


def send_due(now: datetime | None = None) -> int:
    """Send what is due (the sweep): one mail per recipient whose first waiting reply is
    REPLY_MAIL_DELAY_MINUTES old, listing each of their replies. Rows no longer to send
    (reply hidden or gone, recipient unsubscribed) are dropped. Returns the mails sent."""
    if not mail.enabled():
        return 0
    now = now or utcnow()
    delay = timedelta(minutes=current_app.config["REPLY_MAIL_DELAY_MINUTES"])
    rows = list(
        db.session.scalars(
            select(ReplyMail).where(ReplyMail.sent_at.is_(None)).order_by(ReplyMail.id)
            .limit(1000)
        )
    )  # fmt: skip
    if not rows:
        db.session.rollback()  # never leave a transaction open
        return 0
    replies = {
        c.id: c
        for c in db.session.scalars(
            select(Comment)
            .where(Comment.id.in_([r.reply_id for r in rows]))
            .options(joinedload(Comment.article))
        )
    }
    groups: dict[str, tuple[Recipient, list[_Item], datetime]] = {}
    dropped: list[int] = []
    for row in rows:
        reply = replies.get(row.reply_id)
        parent = db.session.get(Comment, reply.parent_id) if reply and reply.parent_id else None
        recipient = _recipient(parent) if _shown(reply) else None
        if reply is None or parent is None or recipient is None or _own(reply, parent):
            dropped.append(row.id)
            continue
        _, items, first = groups.setdefault(recipient.key, (recipient, [], as_utc(row.created_at)))
        items.append(_Item(row.id, reply))
        groups[recipient.key] = (recipient, items, min(first, as_utc(row.created_at)))
    if dropped:
        db.session.execute(delete(ReplyMail).where(ReplyMail.id.in_(dropped)))
    db.session.commit()
    sent = 0
    for recipient, items, first in groups.values():
        if first > now - delay:
            continue  # others may come: one mail for them all
        if _send(recipient, items, now):
            sent += 1
    return sent


def _send(recipient: Recipient, items: list[_Item], now: datetime) -> bool:
    """Claim the rows (another sweep may be at them too), then mail them; given back to a
    later sweep when the mail fails (MAX_ATTEMPTS in all)."""
    claimed = set(
        db.session.scalars(
            update(ReplyMail)
            .where(ReplyMail.id.in_([i.row_id for i in items]), ReplyMail.sent_at.is_(None))
            .values(sent_at=now, attempts=ReplyMail.attempts + 1)
            .returning(ReplyMail.id)
        )
    )
    db.session.commit()
    mine = [i for i in items if i.row_id in claimed]
    if not mine:
        return False
    try:
        link = unsubscribe_link(recipient)
        mail.send(
            recipient.email,
            "reply_mails",
            headers={
                "List-Unsubscribe": f"<{link}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            replies=[_described(i.reply) for i in mine],
            unsubscribe=link,
        )
    except (mail.MailError, RuntimeError) as error:
        log.warning("reply mails: %d replies not sent: %s", len(mine), error)
        db.session.execute(
            update(ReplyMail)
            .where(ReplyMail.id.in_([i.row_id for i in mine]),
                   ReplyMail.attempts < MAX_ATTEMPTS)
            .values(sent_at=None)
        )  # fmt: skip
        db.session.commit()
        return False
    return True


def _described(reply: Comment) -> dict[str, str]:
    text = " ".join(reply.body.split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1].rstrip() + "…"
    return {
        "author": reply.author_name,
        "title": reply.article.title,
        "link": mail.link("reader.article", slug=reply.article.slug, _anchor=f"c{reply.id}"),
        "excerpt": text,
    }
