"""Comment use cases: submit, decide, list. Only services commit."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from app import labels, policy, scoring
from app.actions import AuditAction
from app.extensions import db
from app.models import Article, Comment, CommentScore, CommentStatus, User, utcnow
from app.services import accounts, audit, decisions, quotas, readers, settings, transitions
from app.services.errors import ServiceError
from app.wordlists import stored_match


class CommentError(ServiceError):
    """A submission refused by a business rule; `field` names the form field it concerns."""


@dataclass(frozen=True)
class Author:
    """Who posts: a signed-in reader, or a guest known by name, e-mail and session token."""

    name: str
    email: str
    user: User | None = None
    guest_token: str | None = None

    @classmethod
    def of(
        cls,
        user: User | None,
        name: str | None = None,
        email: str | None = None,
        guest_token: str | None = None,
    ) -> Author:
        """A signed-in reader (posting under their account's name and address), or else the
        guest who typed `name` and `email` in the session holding `guest_token`."""
        if user is not None:
            return cls(name=user.display_name, email=user.email, user=user)
        return cls(name=name or "", email=email or "", guest_token=guest_token)

    @property
    def identity(self) -> str:
        return identity(self.user.id if self.user else None, self.email)


def identity(user_id: int | None, email: str) -> str:
    """Who posts, for quotas and idempotency: an account, or a guest's typed address (a
    different identity from any account's, even with the same address)."""
    if user_id is not None:
        return f"user:{user_id}"
    return f"guest:{email.strip().lower()}"


GUESTS_REFUSED = "Connectez-vous ou créez un compte pour publier un commentaire."
REPLY_REFUSED = "Le commentaire auquel vous répondez n’existe pas ou n’est pas publié."


@dataclass(frozen=True)
class Viewer:
    """Who reads: they also see their own comments that are not (or not yet) published."""

    user_id: int | None = None
    guest_token: str | None = None


@dataclass(frozen=True)
class SubmitResult:
    comment: Comment
    duplicate: bool  # True when an identical recent submission already existed


@dataclass
class Node:
    comment: Comment
    replies: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class ThreadPage:
    threads: list[Node]
    page: int
    has_more: bool
    published_count: int


STATUS_FOR_OUTCOME = {
    policy.Outcome.NUDGE: CommentStatus.NUDGED,
    policy.Outcome.PUBLISH: CommentStatus.PUBLISHED,
    policy.Outcome.HOLD: CommentStatus.HELD,
    policy.Outcome.REJECT: CommentStatus.REJECTED,
}


def body_hash(body: str) -> str:
    return hashlib.sha256(" ".join(body.split()).casefold().encode()).hexdigest()


def submit_comment(
    article: Article,
    author: Author,
    body: str,
    parent_id: int | None = None,
    form_token: str | None = None,
    address: str | None = None,
) -> SubmitResult:
    """Store a new comment (committed as pending first), queue it for scoring, and wait a
    bounded time for the decision (`SCORING_WAIT_SECONDS`); past that it stays pending and the
    author's page learns the outcome later.

    Raises CommentError for a guest where only accounts may post, comments closed, a reader
    under a sanction, a bad parent (see reply_target); quotas.QuotaExceeded past the
    posting limit (per reader and per network `address`); returns the existing comment when
    the same author sent the same text to the same article within the duplicate window, or
    the same form twice (a duplicate takes nothing from the posting limit).
    """
    from app.services import settings, sites

    if author.user is None and not settings.get("guests_allowed", sites.site_of(article)):
        raise CommentError(None, GUESTS_REFUSED)
    if not article.accepting_comments:
        raise CommentError(None, "Les commentaires sont fermés pour cet article.")
    if author.user is None and accounts.find_by_email(author.email) is not None:
        raise CommentError(
            "email", "Cette adresse appartient à un compte : connectez-vous pour publier avec elle."
        )
    refusal = readers.posting_refusal(
        readers.Reader.of(author.email, author.user.id if author.user else None)
    )
    if refusal:
        raise CommentError(None, refusal)
    parent = reply_target(article, parent_id)
    digest = body_hash(body)
    # The one-time form token is secret to the page it was served on: the same form sent twice
    # (a double click, even before the guest's first cookie) can be stored only once, and the
    # copy is shown only to whoever holds that page.
    idempotency_key = (
        hashlib.sha256(f"{form_token}|{author.identity}|{digest}".encode()).hexdigest()
        if form_token
        else None
    )
    existing = _recent_duplicate(article, author, digest)
    if existing is not None:
        return SubmitResult(existing, duplicate=True)

    comment = Comment(
        article_id=article.id,
        parent_id=parent.id if parent else None,
        thread_id=(parent.thread_id or parent.id) if parent else None,
        depth=min(parent.depth + 1, Comment.MAX_DEPTH) if parent else 0,
        user_id=author.user.id if author.user else None,
        guest_token=None if author.user else author.guest_token,
        author_name=author.name,
        author_email=author.email.lower(),
        body=body,
        body_hash=digest,
        idempotency_key=idempotency_key,
        status=CommentStatus.PENDING,
        created_at=utcnow(),
    )
    db.session.add(comment)
    hits: quotas.Hits | None = None
    try:
        db.session.flush()  # a second copy of the same form stops here, on the unique key
        hits = quotas.take_post(author.identity, address)  # checked and counted at once
        audit.record(
            AuditAction.SUBMITTED,
            actor=author.user or f"lecteur {author.name}",
            comment_id=comment.id,
            to_status=CommentStatus.PENDING,
        )
        db.session.commit()  # accepted: stored with an explicit status before anything else
    except IntegrityError:
        db.session.rollback()
        if hits is not None:
            hits.give_back()
        same = db.session.scalar(select(Comment).where(Comment.idempotency_key == idempotency_key))
        if same is None:
            raise
        return SubmitResult(same, duplicate=True)
    except BaseException:
        db.session.rollback()
        if hits is not None:
            hits.give_back()
        raise

    score_and_wait(comment)
    return SubmitResult(comment, duplicate=False)


def score_and_wait(comment: Comment) -> None:
    """Queue the comment for the scoring worker and wait, bounded, for its decision."""
    backend = scoring.backend()
    comment_id = comment.id
    # End the transaction that reading the id may have begun: a request must not hold a pooled
    # database connection while it waits for the model (32 waiting readers exhausted the pool).
    db.session.commit()
    if backend.enqueue([comment_id]):  # False: not queued, and already held for a human
        started = time.perf_counter()
        backend.wait(comment_id, current_app.config["SCORING_WAIT_SECONDS"])
        backend.metrics.wait_seconds.observe(time.perf_counter() - started)
    db.session.refresh(comment)


def send_anyway(comment: Comment) -> None:
    """The author read the nudge and sends the comment as it is: decided on its stored scores
    and the site's rules and word lists, held for a moderator (a banned word rejects it, and so
    does a reject threshold where the admin chose « refusé selon les seuils »)."""
    score = db.session.scalar(select(CommentScore).where(CommentScore.comment_id == comment.id))
    if comment.status != CommentStatus.NUDGED or score is None:
        raise CommentError(None, "Ce commentaire n’attend plus votre réponse.")
    gathered = decisions.gather([comment], sending_anyway=True)[comment.id]
    verdict = policy.verdict(gathered.inputs, score.scores)
    _leave_nudge(
        comment,
        AuditAction.SENT_ANYWAY,
        STATUS_FOR_OUTCOME[verdict.outcome],
        {
            "status_reason": labels.reader_message(verdict),
            "reasons": [r.as_dict() for r in verdict.reasons],
            "nudge_acknowledged": True,
            "word_matches": [stored_match(m) for m in gathered.matches],
        },
        reason_code=policy.NUDGE_IGNORED,
        reasons=verdict.reasons,
    )
    db.session.refresh(comment)


def revise(comment: Comment, body: str, address: str | None = None) -> None:
    """The author rewrote a nudged comment: the new text goes through the model again.

    A rewrite counts against the posting limit like a new comment (quotas.QuotaExceeded), at
    most Comment.MAX_REVISIONS times (CommentError: the comment stays nudged, to be sent as it
    is or left to expire), and keeps the comment's first date, so that the nudge expires on
    time."""
    if comment.revisions >= Comment.MAX_REVISIONS:
        raise CommentError(None, _revisions_spent())
    hits = quotas.take_post(identity(comment.user_id, comment.author_email), address)
    try:
        _leave_nudge(
            comment,
            AuditAction.REVISED,
            CommentStatus.PENDING,
            {
                "body": body,
                "body_hash": body_hash(body),
                "revisions": Comment.revisions + 1,
            },
            only_if=Comment.revisions < Comment.MAX_REVISIONS,
            reason="L’auteur a reformulé son commentaire.",
        )
    except BaseException:
        hits.give_back()
        raise
    score_and_wait(comment)


def _revisions_spent() -> str:
    return (
        f"Vous avez déjà reformulé ce commentaire {Comment.MAX_REVISIONS} fois. Envoyez-le tel "
        "quel ou écrivez-en un nouveau ; envoyé tel quel, "
        + labels.sent_anyway_text(settings.sent_anyway_reviewed())
    )


def _leave_nudge(
    comment: Comment,
    action: AuditAction,
    to_status: str,
    values: dict[str, Any],
    only_if: ColumnElement[bool] | None = None,
    **why: Any,
) -> None:
    """The author answered the nudge: change the comment if it still awaits that answer (a
    conditional update), and record it in the audit trail, together."""
    changed = transitions.apply(
        action,
        where=[Comment.id == comment.id, *([] if only_if is None else [only_if])],
        actor=comment.user or f"lecteur {comment.author_name}",
        to_status=to_status,
        values=values,
        **why,
    )
    if not changed:
        db.session.rollback()
        if only_if is not None and comment.status == CommentStatus.NUDGED:
            raise CommentError(None, _revisions_spent())
        raise CommentError(None, "Ce commentaire n’attend plus votre réponse.")
    db.session.commit()


def reply_target(article: Article, parent_id: int | None) -> Comment | None:
    """The comment a reply answers: a published comment of this article that is not hidden
    (CommentError on `parent_id` else); None for a top-level comment."""
    if parent_id is None:
        return None
    parent = db.session.get(Comment, parent_id)
    if (
        parent is None
        or parent.article_id != article.id
        or not parent.is_published
        or parent.hidden
    ):
        raise CommentError("parent_id", REPLY_REFUSED)
    return parent


def _recent_duplicate(article: Article, author: Author, digest: str) -> Comment | None:
    window = current_app.config["DUPLICATE_WINDOW_MINUTES"]
    if window <= 0:
        return None
    # A guest is the same author only within their own session: someone else typing the
    # same address must never be shown that guest's unpublished comment.
    same_author = (
        Comment.user_id == author.user.id
        if author.user
        else and_(
            Comment.user_id.is_(None),
            Comment.author_email == author.email.lower(),
            Comment.guest_token == author.guest_token,
        )
    )
    return db.session.scalar(
        select(Comment)
        .where(
            Comment.article_id == article.id,
            Comment.body_hash == digest,
            Comment.created_at >= utcnow() - timedelta(minutes=window),
            same_author,
        )
        .order_by(Comment.id)
        .limit(1)
    )


def _visible_to(viewer: Viewer) -> ColumnElement[bool]:
    own: list[ColumnElement[bool]] = []
    if viewer.user_id is not None:
        own.append(Comment.user_id == viewer.user_id)
    if viewer.guest_token:
        own.append(Comment.guest_token == viewer.guest_token)
    public = and_(Comment.status == CommentStatus.PUBLISHED, Comment.hidden.is_(False))
    return or_(public, *(own or [false()]))


def thread_page(
    article: Article, viewer: Viewer, *, newest_first: bool = True, page: int = 1
) -> ThreadPage:
    """One page of top-level comments with all their visible replies, in a fixed number of
    queries whatever the number of comments."""
    per_page = current_app.config["COMMENTS_PER_PAGE"]
    visible = _visible_to(viewer)
    order = (
        (Comment.created_at.desc(), Comment.id.desc())
        if newest_first
        else (
            Comment.created_at,
            Comment.id,
        )
    )
    roots = list(
        db.session.scalars(
            select(Comment)
            .where(Comment.article_id == article.id, Comment.parent_id.is_(None), visible)
            .order_by(*order)
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
    )
    has_more = len(roots) > per_page
    roots = roots[:per_page]
    replies: Sequence[Comment] = []
    if roots:
        replies = db.session.scalars(
            select(Comment)
            .where(Comment.thread_id.in_([r.id for r in roots]), visible)
            .order_by(Comment.id)
        ).all()
    return ThreadPage(
        threads=_build_threads(roots, replies),
        page=page,
        has_more=has_more,
        published_count=published_count(article),
    )


def published_count(article: Article) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(
                Comment.article_id == article.id,
                Comment.status == CommentStatus.PUBLISHED,
                Comment.hidden.is_(False),
            )
        )
        or 0
    )


def _build_threads(roots: Sequence[Comment], replies: Sequence[Comment]) -> list[Node]:
    """Nest replies under their parent; a reply to a last-level comment is shown beside it,
    under the same level-1 comment. A reply whose parent is not visible is not shown."""
    nodes: dict[int, Node] = {c.id: Node(c) for c in roots}
    for reply in replies:  # in id order, so a parent always comes before its replies
        parent = nodes.get(reply.parent_id) if reply.parent_id is not None else None
        if parent is None:
            continue
        node = Node(reply)
        nodes[reply.id] = node
        anchor = parent
        while anchor.comment.depth >= Comment.MAX_DEPTH and anchor.comment.parent_id:
            anchor = nodes[anchor.comment.parent_id]
        anchor.replies.append(node)
    return [nodes[r.id] for r in roots]


def find_own_comment(comment_id: int, viewer: Viewer) -> Comment | None:
    """A comment its author may see (any status), or any published comment."""
    return db.session.scalar(select(Comment).where(Comment.id == comment_id, _visible_to(viewer)))


def guest_author(guest_token: str | None) -> tuple[str | None, str | None]:
    """The name and address a guest gave with their latest comment (to prefill the form):
    kept on the server, so that the session cookie carries only the opaque token."""
    if not guest_token:
        return None, None
    row = db.session.execute(
        select(Comment.author_name, Comment.author_email)
        .where(Comment.guest_token == guest_token, Comment.user_id.is_(None))
        .order_by(Comment.id.desc())
        .limit(1)
    ).first()
    return (row.author_name, row.author_email) if row else (None, None)
