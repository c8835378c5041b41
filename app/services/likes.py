"""Readers' « J'aime »: one per reader (an account) or browser (a guest's token) per
published comment, never on one's own; counted on the comment (`Comment.like_count`) for the
sort « les plus appréciés ». A like that is taken back stops counting; a comment hidden by
reports, rejected or removed is no longer shown, nor its likes, nor in the sort.

The unique constraint (`one_like_per_reader`) makes two simultaneous likes from one reader one;
the count moves in the same transaction as the row, by an atomic UPDATE."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db, rowcount
from app.models import Comment, CommentLike
from app.services import quotas
from app.services.comments import Viewer, is_own
from app.services.errors import ServiceError

NOT_LIKEABLE = "Ce commentaire ne peut pas être aimé : il n’est pas publié, ou il est le vôtre."


class LikeError(ServiceError):
    """A like refused: a comment not published (or one's own), or nobody to count it for."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(None, message)
        self.code = code


def key_of(viewer: Viewer) -> str | None:
    """Whose like: an account, else a guest's browser; None when neither is known."""
    if viewer.user_id is not None:
        return f"user:{viewer.user_id}"
    return f"guest:{viewer.guest_token}" if viewer.guest_token else None


def likeable(comment: Comment, viewer: Viewer) -> bool:
    return (
        comment.is_published
        and not comment.hidden
        and not comment.removed
        and not is_own(comment, viewer)
    )


def like(comment: Comment, viewer: Viewer, address: str | None) -> int:
    """Like the comment (a second like by the same reader changes nothing); returns its count.
    LikeError when it may not be liked; quotas.QuotaExceeded past LIKE_RATE_LIMIT."""
    key = _key_or_refuse(viewer)
    if not likeable(comment, viewer):
        raise LikeError(NOT_LIKEABLE, "not_likeable")
    hits = quotas.take_like(key, address)
    try:
        with db.session.begin_nested():
            db.session.add(
                CommentLike(comment_id=comment.id, liker_key=key, user_id=viewer.user_id)
            )
        _move(comment.id, +1)
        db.session.commit()
    except IntegrityError:  # already liked (perhaps by a click a moment ago)
        db.session.rollback()
        hits.give_back()
    return count(comment.id)


def unlike(comment: Comment, viewer: Viewer) -> int:
    """Take one's like back (none: nothing happens); returns the comment's count."""
    key = _key_or_refuse(viewer)
    removed = rowcount(
        db.session.execute(
            delete(CommentLike).where(
                CommentLike.comment_id == comment.id, CommentLike.liker_key == key
            )
        )
    )
    if removed:
        _move(comment.id, -removed)
    db.session.commit()
    return count(comment.id)


def liked(viewer: Viewer, comment_ids: Iterable[int]) -> set[int]:
    """Which of these comments the viewer likes."""
    key = key_of(viewer)
    ids = list(comment_ids)
    if key is None or not ids:
        return set()
    return set(
        db.session.scalars(
            select(CommentLike.comment_id).where(
                CommentLike.liker_key == key, CommentLike.comment_id.in_(ids)
            )
        )
    )


def count(comment_id: int) -> int:
    return db.session.scalar(select(Comment.like_count).where(Comment.id == comment_id)) or 0


def _move(comment_id: int, by: int) -> None:
    db.session.execute(
        update(Comment)
        .where(Comment.id == comment_id)
        .values(like_count=Comment.like_count + by)
        .execution_options(synchronize_session=False)
    )


def _key_or_refuse(viewer: Viewer) -> str:
    key = key_of(viewer)
    if key is None:
        raise LikeError("Nous ne savons pas qui aime ce commentaire.", "no_reader")
    return key
