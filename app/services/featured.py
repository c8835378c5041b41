"""« Choix de la rédaction »: staff feature a published comment; readers find it first (the
page's block and tab, the embed's, the API's `sort=featured`) with its badge, and its author
is told by mail when they left an address. Not a move of the comment's status: an audit row
of its own, and `featured_at` (a comment hidden, rejected or removed afterwards is no longer
shown anywhere, featured or not)."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from app.actions import AuditAction
from app.extensions import db, rowcount
from app.models import Comment, CommentStatus, User, utcnow
from app.services import audit, mail
from app.services.errors import ServiceError
from app.services.statements import deliverable

log = logging.getLogger(__name__)

NOT_FEATURABLE = "Seul un commentaire publié et visible peut être choisi par la rédaction."


class FeatureError(ServiceError):
    """A comment that cannot be featured (not published, hidden, removed, or unknown)."""


def feature(comment_id: int, by: User) -> Comment:
    """Feature the comment (again: nothing changes) and tell its author. FeatureError else."""
    comment = _featurable(comment_id)
    changed = rowcount(
        db.session.execute(
            update(Comment)
            .where(
                Comment.id == comment.id,
                Comment.featured_at.is_(None),
                Comment.status == CommentStatus.PUBLISHED,
                Comment.hidden.is_(False),
                Comment.removed.is_(None),
            )
            .values(featured_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    )
    if changed:
        audit.record(AuditAction.FEATURED, actor=by, comment_id=comment.id)
    db.session.commit()
    db.session.refresh(comment)
    if changed:
        _tell_author(comment)
    return comment


def unfeature(comment_id: int, by: User) -> None:
    changed = rowcount(
        db.session.execute(
            update(Comment)
            .where(Comment.id == comment_id, Comment.featured_at.is_not(None))
            .values(featured_at=None)
            .execution_options(synchronize_session=False)
        )
    )
    if changed:
        audit.record(AuditAction.UNFEATURED, actor=by, comment_id=comment_id)
    db.session.commit()


def _featurable(comment_id: int) -> Comment:
    comment = db.session.scalar(select(Comment).where(Comment.id == comment_id))
    if (
        comment is None
        or comment.status != CommentStatus.PUBLISHED
        or comment.hidden
        or comment.removed
    ):
        raise FeatureError(None, NOT_FEATURABLE)
    return comment


def _tell_author(comment: Comment) -> None:
    address = deliverable(comment.author_email)
    if address is None or not mail.enabled():
        return
    try:
        link = mail.link("reader.article", slug=comment.article.slug, _anchor=f"c{comment.id}")
        mail.send(address, "comment_featured", comment=comment, link=link)
    except (mail.MailError, RuntimeError) as error:
        log.warning("comment %s: featured mail not sent: %s", comment.id, error)
