"""Comment use cases: submit, decide, list. Only services commit."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, case, delete, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from app import labels, policy, scoring
from app.actions import AuditAction
from app.converters import parse_id
from app.extensions import db, rowcount
from app.models import (
    Article,
    Comment,
    CommentRevision,
    CommentScore,
    CommentStatus,
    RemovedReason,
    SettingChange,
    User,
    as_utc,
    utcnow,
)
from app.services import (
    accounts,
    audit,
    decisions,
    drafts,
    quotas,
    readers,
    settings,
    sites,
    transitions,
)
from app.services import scoring as pipeline
from app.services.errors import ServiceError
from app.wordlists import stored_match


class CommentError(ServiceError):
    """A submission refused by a business rule; `field` names the form field it concerns,
    `code` is the API's stable code for it (docs/embed-api.md)."""

    def __init__(self, field: str | None, message: str, code: str) -> None:
        super().__init__(field, message)
        self.code = code


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
CLOSED = "Les commentaires sont fermés pour cet article."
NOT_AWAITING = "Ce commentaire n’attend plus votre réponse."


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


def ids_in(nodes: Sequence[Node]) -> list[int]:
    """Every comment's id in these threads, replies included."""
    found: list[int] = []
    for node in nodes:
        found.append(node.comment.id)
        found += ids_in(node.replies)
    return found


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
    if author.user is None and not settings.get("guests_allowed", sites.site_of(article)):
        raise CommentError(None, GUESTS_REFUSED, "guests_not_allowed")
    if not article.accepting_comments:
        raise CommentError(
            None, "Les commentaires sont fermés pour cet article.", "comments_closed"
        )
    if author.user is None and accounts.find_by_email(author.email) is not None:
        raise CommentError(
            "email",
            "Cette adresse appartient à un compte : connectez-vous pour publier avec elle.",
            "email_has_account",
        )
    refusal = readers.posting_refusal(
        readers.Reader.of(author.email, author.user.id if author.user else None)
    )
    if refusal:
        raise CommentError(None, refusal, "restricted")
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

    lease = _lease()
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
        **lease,
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
        comment_id = comment.id
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

    score_and_wait(comment, comment_id, body, lease.get("claim_token"))
    return SubmitResult(comment, duplicate=False)


def _lease() -> dict[str, Any]:
    """A comment's claim, taken as it is stored, where the request scores and decides it
    itself (the thread backend: services/scoring.score_claimed); none with Celery, whose
    workers claim what they score."""
    return pipeline.lease() if scoring.backend().decides_in_request else {}


def score_and_wait(comment: Comment, comment_id: int, body: str, token: str | None) -> None:
    """Decide the comment (its id and text given: it is not read again) at once from its
    draft's score (services/drafts), or else score and decide it here under the claim
    `token` taken when it was stored (the thread backend), or else queue it for the scoring
    workers (Celery) and wait, bounded, for their decision. Then `comment` is read again."""
    backend = scoring.backend()
    # A request must not hold a pooled database connection while it waits for the model (32
    # waiting readers exhausted the pool): none is open here, whatever came before.
    db.session.commit()
    if not drafts.decide_from_draft(comment_id, body, token):  # else scored while typed
        wait = current_app.config["SCORING_WAIT_SECONDS"]
        started = time.perf_counter()
        waited = True
        if token is not None:
            pipeline.score_claimed(comment_id, body, token, wait)
        elif waited := backend.enqueue([comment_id]):  # False: not queued, already held
            backend.wait(comment_id, wait)
        if waited:
            backend.metrics.wait_seconds.observe(time.perf_counter() - started)
    db.session.refresh(comment)


def send_anyway(comment: Comment) -> None:
    """The author read the nudge and sends the comment as it is: decided on its stored scores
    and the site's rules and word lists, held for a moderator (a banned word rejects it, and so
    does a reject threshold where the admin chose « refusé selon les seuils »)."""
    score = db.session.scalar(select(CommentScore).where(CommentScore.comment_id == comment.id))
    if comment.status != CommentStatus.NUDGED or score is None:
        raise CommentError(None, NOT_AWAITING, "not_nudged")
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
        raise CommentError(None, _revisions_spent(), "revisions_spent")
    hits = quotas.take_post(identity(comment.user_id, comment.author_email), address)
    comment_id, lease = comment.id, _lease()
    try:
        _leave_nudge(
            comment,
            AuditAction.REVISED,
            CommentStatus.PENDING,
            {
                "body": body,
                "body_hash": body_hash(body),
                "revisions": Comment.revisions + 1,
                **lease,
            },
            only_if=Comment.revisions < Comment.MAX_REVISIONS,
            reason="L’auteur a reformulé son commentaire.",
        )
    except BaseException:
        hits.give_back()
        raise
    score_and_wait(comment, comment_id, body, lease.get("claim_token"))


def _revisions_spent() -> str:
    return (
        f"Vous avez déjà reformulé ce commentaire {Comment.MAX_REVISIONS} fois. Envoyez-le tel "
        "quel ou écrivez-en un nouveau ; envoyé tel quel, "
        + labels.sent_anyway_text(settings.sent_anyway_reviewed())
    )


@dataclass(frozen=True)
class Nudge:
    """What a nudged author is shown: the categories their comment seems to cross (French
    labels), the kind word with what sending it anyway does, and the rewrites left."""

    categories: list[str]
    message: str
    revisions_left: int


def nudge_of(comment: Comment) -> Nudge:
    """The nudge of a nudged comment, as the article page and the API show it."""
    categories = [r["category"] for r in comment.reasons if r.get("category")]
    return Nudge(
        categories=list(dict.fromkeys(labels.french(labels.category_label(c)) for c in categories)),
        message=labels.nudge_message(categories, settings.sent_anyway_reviewed()),
        revisions_left=max(0, Comment.MAX_REVISIONS - comment.revisions),
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
            raise CommentError(None, _revisions_spent(), "revisions_spent")
        raise CommentError(None, NOT_AWAITING, "not_nudged")
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
        or parent.removed
    ):
        raise CommentError("parent_id", REPLY_REFUSED, "invalid_parent")
    return parent


# What readers see in a placeholder's place (Comment.removed).
PLACEHOLDER_TEXT = {
    RemovedReason.AUTHOR: "Commentaire supprimé à la demande de son auteur.",
    RemovedReason.UPSTREAM: "Commentaire supprimé.",
}


def placeholder_text(comment: Comment) -> str | None:
    """The French line shown instead of a removed comment; None for a comment that is not."""
    return PLACEHOLDER_TEXT[RemovedReason(comment.removed)] if comment.removed else None


# --- The author's own changes: edit within the window, delete at any time -------------------

EDITABLE = (CommentStatus.PUBLISHED, CommentStatus.HELD)
EDIT_OVER = "Ce commentaire ne peut plus être modifié."


def owned(comment_id: int, viewer: Viewer) -> Comment | None:
    """The viewer's own comment (their account's, or their browser's as a guest), not a
    placeholder; None for anyone else's."""
    own: list[ColumnElement[bool]] = []
    if viewer.user_id is not None:
        own.append(Comment.user_id == viewer.user_id)
    if viewer.guest_token:
        own.append(and_(Comment.guest_token == viewer.guest_token, Comment.user_id.is_(None)))
    if not own:
        return None
    return db.session.scalar(
        select(Comment).where(Comment.id == comment_id, or_(*own), Comment.removed.is_(None))
    )


def is_own(comment: Comment, viewer: Viewer) -> bool:
    """Whether the viewer wrote the comment (as `owned` decides, for a loaded comment)."""
    if comment.removed:
        return False
    if viewer.user_id is not None and comment.user_id == viewer.user_id:
        return True
    return bool(
        viewer.guest_token and comment.user_id is None and comment.guest_token == viewer.guest_token
    )


def edit_deadline(comment: Comment) -> datetime | None:
    """Until when its author may edit the comment (EDIT_WINDOW_MINUTES after it was first
    sent); None when they may not (the window is off, or the comment is not published or held:
    a rejected comment stays rejected, a nudged one has its own « reformuler »)."""
    minutes = current_app.config["EDIT_WINDOW_MINUTES"]
    if minutes <= 0 or comment.status not in EDITABLE or comment.removed or comment.text_erased_at:
        return None
    deadline = as_utc(comment.created_at) + timedelta(minutes=minutes)
    return deadline if utcnow() < deadline else None


def edit(comment: Comment, body: str, address: str | None = None) -> None:
    """The author edits their comment: the new text is scored and decided again, as new (it
    is pending meanwhile, seen by its author only); the earlier text is kept for moderators
    (`CommentRevision`). Counts against the posting limit like a new comment
    (quotas.QuotaExceeded). CommentError once the window is over, or when a moderator or the
    model changed the comment since it was read (its version)."""
    if comment.status == CommentStatus.PENDING and not comment.removed:
        # An edit sent while the last one is still being checked (two tabs, a double send).
        raise CommentError(
            "body", "Ce commentaire est en cours de vérification : réessayez dans un instant.",
            "edit_conflict",
        )  # fmt: skip
    if edit_deadline(comment) is None:
        minutes = current_app.config["EDIT_WINDOW_MINUTES"]
        detail = f" : le délai de {minutes} minutes est passé." if minutes > 0 else "."
        raise CommentError("body", EDIT_OVER[:-1] + detail, "edit_window_over")
    if body_hash(body) == comment.body_hash:
        return  # nothing changed: nothing to decide again
    hits = quotas.take_post(identity(comment.user_id, comment.author_email), address)
    comment_id, lease = comment.id, _lease()
    try:
        now = utcnow()
        db.session.add(
            CommentRevision(
                comment_id=comment.id,
                body=comment.body,
                status=comment.status,
                written_at=comment.edited_at or comment.created_at,
                replaced_at=now,
            )
        )
        changed = transitions.apply(
            AuditAction.EDITED,
            where=[Comment.id == comment.id, Comment.version == comment.version],
            actor=comment.user or audit.reader_actor(comment.author_name),
            from_status=comment.status,
            to_status=CommentStatus.PENDING,
            values={
                "body": body,
                "body_hash": body_hash(body),
                "edited_at": now,
                "word_matches": None,
                **lease,
            },  # fmt: skip
            reason="L’auteur a modifié son commentaire.",
        )
        if not changed:
            db.session.rollback()
            raise CommentError("body", EDIT_OVER, "edit_conflict")
        db.session.commit()
    except BaseException:
        hits.give_back()
        raise
    score_and_wait(comment, comment_id, body, lease.get("claim_token"))


def revisions(comment_id: int) -> list[CommentRevision]:
    """A comment's earlier texts, oldest first (for moderators)."""
    return list(
        db.session.scalars(
            select(CommentRevision)
            .where(CommentRevision.comment_id == comment_id)
            .order_by(CommentRevision.id)
        )
    )


def delete_own(comment: Comment) -> str:
    """The author deletes their comment, at any time: a placeholder where others answered it,
    gone otherwise (`remove`). Committed. CommentError `comment_gone` when it went meanwhile
    (the same deletion sent twice at once: one wins, one audit row)."""
    outcome = remove(comment, RemovedReason.AUTHOR, comment.user or audit.reader_actor(
        comment.author_name))  # fmt: skip
    db.session.commit()
    if outcome == "gone":
        raise CommentError(None, "Ce commentaire n’existe plus.", "comment_gone")
    return outcome


def remove(comment: Comment, reason: RemovedReason, actor: User | str) -> str:
    """Take a comment's text and author away: a comment that others answered stays as a
    placeholder holding their replies (`placeholder`), any other is deleted (`deleted`), its
    scores and reports with it. One audit row either way (which keeps the comment's id in its
    details once the comment is gone). `gone` when another removal came first: nothing done.
    The caller commits."""
    answered = db.session.scalar(
        select(func.count()).select_from(Comment).where(Comment.parent_id == comment.id)
    )
    # Its earlier texts go with it (deleted with the row by the database otherwise).
    db.session.execute(delete(CommentRevision).where(CommentRevision.comment_id == comment.id))
    if answered:
        changed = transitions.apply(
            AuditAction.REMOVED,
            where=[Comment.id == comment.id, Comment.removed.is_(None)],
            actor=actor,
            from_status=comment.status,
            values={"removed": reason.value},
            details={"removed": reason.value, "kept_as": "placeholder"},
        )
        db.session.expire(comment)
        return "placeholder" if changed else "gone"
    # A conditional DELETE: of two removals at once, one deletes, the other finds nothing.
    # The database deletes its scores, reports, likes and earlier texts with it.
    if not rowcount(db.session.execute(delete(Comment).where(Comment.id == comment.id))):
        return "gone"
    audit.record(
        AuditAction.REMOVED,
        actor=actor,
        comment_id=None,
        from_status=comment.status,
        to_status=None,
        details={"removed": reason.value, "kept_as": "deleted", "comment_id": comment.id},
    )
    return "deleted"


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
    return or_(_published(), *(own or [false()]))


def _root_order(newest_first: bool, most_liked: bool = False) -> tuple[ColumnElement[Any], ...]:
    if most_liked:  # « les plus appréciés »: the most liked first, then the newest
        return (Comment.like_count.desc(), Comment.created_at.desc(), Comment.id.desc())
    if newest_first:
        return (Comment.created_at.desc(), Comment.id.desc())
    return (Comment.created_at.asc(), Comment.id.asc())


def _roots(article: Article, visible: ColumnElement[bool]) -> Select[Comment]:
    return select(Comment).where(
        Comment.article_id == article.id, Comment.parent_id.is_(None), visible
    )


def _with_replies(roots: Sequence[Comment], visible: ColumnElement[bool]) -> list[Node]:
    """The roots with all their visible replies nested, in one query."""
    replies: Sequence[Comment] = []
    if roots:
        replies = db.session.scalars(
            select(Comment)
            .where(Comment.thread_id.in_([r.id for r in roots]), visible)
            .order_by(Comment.id)
        ).all()
    return _build_threads(roots, replies)


def thread_page(
    article: Article,
    viewer: Viewer,
    *,
    newest_first: bool = True,
    most_liked: bool = False,
    featured_only: bool = False,
    page: int = 1,
) -> ThreadPage:
    """One page of top-level comments with all their visible replies, in a fixed number of
    queries whatever the number of comments."""
    per_page = current_app.config["COMMENTS_PER_PAGE"]
    visible = _visible_to(viewer)
    query = _roots(article, visible)
    if featured_only:
        query = query.where(Comment.featured_at.is_not(None))
    roots = list(
        db.session.scalars(
            query.order_by(*_root_order(newest_first, most_liked))
            .offset((page - 1) * per_page)
            .limit(per_page + 1)
        )
    )
    has_more = len(roots) > per_page
    roots = roots[:per_page]
    return ThreadPage(
        threads=_with_replies(roots, visible),
        page=page,
        has_more=has_more,
        published_count=published_count(article),
    )


@dataclass(frozen=True)
class Cursor:
    """Where a page of threads ends: its last top-level comment's date and id. Written as an
    opaque string (`encode`) for the API's `next_cursor`."""

    created_at: datetime
    id: int
    likes: int | None = None  # set in the order « les plus appréciés »

    def encode(self) -> str:
        micros = (as_utc(self.created_at) - _EPOCH) // timedelta(microseconds=1)
        base = f"{micros:x}.{self.id:x}"
        return base if self.likes is None else f"{base}.{self.likes:x}"

    @classmethod
    def decode(cls, text: str) -> Cursor | None:
        """The cursor `encode` wrote, or None for anything else."""
        parts = text.split(".")
        if len(parts) not in (2, 3) or not all(_HEX.fullmatch(part) for part in parts):
            return None
        number = parse_id(int(parts[1], 16))
        likes = parse_id(int(parts[2], 16)) if len(parts) == 3 else None
        if len(parts) == 3 and likes is None and int(parts[2], 16) != 0:
            return None
        try:
            when = _EPOCH + timedelta(microseconds=int(parts[0], 16))
        except OverflowError:
            return None
        if number is None:
            return None
        return cls(when, number, (likes or 0) if len(parts) == 3 else None)


_HEX = re.compile(r"[0-9a-f]{1,16}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ThreadSlice:
    threads: list[Node]
    next_cursor: Cursor | None  # None: this was the last page


def thread_slice(
    article: Article,
    viewer: Viewer,
    *,
    newest_first: bool = True,
    most_liked: bool = False,
    featured_only: bool = False,
    after: Cursor | None = None,
    limit: int,
) -> ThreadSlice:
    """The `limit` top-level comments after `after` in the chosen order (keyset pagination:
    a comment published meanwhile never shifts a page), with all their visible replies: two
    queries whatever the number of comments."""
    visible = _visible_to(viewer)
    query = _roots(article, visible)
    if featured_only:
        query = query.where(Comment.featured_at.is_not(None))
    if after is not None and most_liked:
        # Keyset on (likes, date, id), all descending. Likes move while a reader pages: a
        # comment liked meanwhile may be met twice or missed, as on any ranked list.
        likes = after.likes or 0
        query = query.where(
            or_(
                Comment.like_count < likes,
                and_(Comment.like_count == likes, Comment.created_at < after.created_at),
                and_(
                    Comment.like_count == likes,
                    Comment.created_at == after.created_at,
                    Comment.id < after.id,
                ),
            )
        )
    elif after is not None:
        if newest_first:
            query = query.where(
                or_(
                    Comment.created_at < after.created_at,
                    and_(Comment.created_at == after.created_at, Comment.id < after.id),
                )
            )
        else:
            query = query.where(
                or_(
                    Comment.created_at > after.created_at,
                    and_(Comment.created_at == after.created_at, Comment.id > after.id),
                )
            )
    order = _root_order(newest_first, most_liked)
    roots = list(db.session.scalars(query.order_by(*order).limit(limit + 1)))
    more = len(roots) > limit
    roots = roots[:limit]
    last = roots[-1] if roots else None
    cursor = None
    if more and last is not None:
        cursor = Cursor(last.created_at, last.id, last.like_count if most_liked else None)
    return ThreadSlice(threads=_with_replies(roots, visible), next_cursor=cursor)


def featured(article: Article, limit: int = 5) -> list[Comment]:
    """The story's « Choix de la rédaction » that every reader sees, the latest chosen first."""
    return list(
        db.session.scalars(
            select(Comment)
            .where(Comment.article_id == article.id, Comment.featured_at.is_not(None), _counted())
            .order_by(Comment.featured_at.desc(), Comment.id.desc())
            .limit(limit)
        )
    )


def featured_count(article: Article) -> int:
    """How many « Choix de la rédaction » readers see (story_freshness counts them too)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.article_id == article.id, Comment.featured_at.is_not(None), _counted())
        )
        or 0
    )


def published_count(article: Article) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(Comment.article_id == article.id, _counted())
        )
        or 0
    )


def _published() -> ColumnElement[bool]:
    """What every reader sees: published and not hidden by reports (placeholders included,
    in their thread's place)."""
    return and_(Comment.status == CommentStatus.PUBLISHED, Comment.hidden.is_(False))


def _counted() -> ColumnElement[bool]:
    """What the counts count: the visible comments that are not placeholders."""
    return and_(_published(), Comment.removed.is_(None))


@dataclass(frozen=True)
class Freshness:
    """How a story's public view stands now: its published comments, a validator (`tag`) and
    the time of its last change, for HTTP caching (ETag, Last-Modified)."""

    published: int
    featured: int  # its « Choix de la rédaction » that readers see
    tag: str
    last_modified: datetime


def story_freshness(article: Article) -> Freshness:
    """The validator of everything a reader who is not the author sees of a story, from one
    aggregate query over its comments, without reading them:

    - how many comments, the highest id, and the sum of their versions: a comment added or
      removed changes the first two, and every change of a comment's state (published, held,
      rejected, hidden by reports, shown again, rewritten) goes through services/transitions,
      which bumps its `version`;
    - the sum of their « J'aime » and how many are featured (neither changes a version);
    - the published and visible count (what the story's counts show);
    - the story's own settings as shown (title, open, pre-moderated, closing date, whether it
      takes comments now) and the site's settings the answer shows (guests, maximum length).

    `last_modified` is the latest of the comments' creation, decision and report times, the
    latest settings change (services/settings.record_change), the story's creation and its
    automatic closing once passed. A few changes leave no time (reports dismissed by a
    moderator): the tag changes then, so a client revalidating with `If-None-Match` (browsers
    and CDNs do, and it takes precedence) always sees them."""
    row = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.max(Comment.id), 0),
            func.coalesce(func.sum(Comment.version), 0),
            func.coalesce(func.sum(Comment.like_count), 0),
            func.count(case((and_(_counted(), Comment.featured_at.is_not(None)), 1))),
            func.count(case((_counted(), 1))),
            func.max(Comment.created_at),
            func.max(Comment.decided_at),
            func.max(Comment.flagged_at),
            select(func.max(SettingChange.created_at)).scalar_subquery(),
        ).where(Comment.article_id == article.id)
    ).one()
    total, highest, versions, likes, chosen, published, *times = row
    site = sites.site_of(article)
    accepting = article.accepting_comments
    if article.close_after_days is not None and not accepting and article.comments_open:
        times.append(as_utc(article.published_at) + timedelta(days=article.close_after_days))
    seed = (
        f"{article.id}|{total}|{highest}|{versions}|{likes}|{chosen}|{published}|{article.title}|"
        f"{article.comments_open}|{article.premoderated}|{article.close_after_days}|{accepting}|"
        f"{settings.get('guests_allowed', site)}|{settings.max_comment_length(site)}"
    )
    known = [as_utc(t) for t in (*times, article.created_at) if t is not None]
    return Freshness(
        published=int(published),
        featured=int(chosen),
        tag=hashlib.sha256(seed.encode()).hexdigest()[:32],
        last_modified=max(known),
    )


@dataclass(frozen=True)
class StoryCount:
    published: int
    last_modified: datetime | None  # the latest comment created, decided or reported


def published_counts(
    article_ids: Sequence[int], *, with_times: bool = True
) -> dict[int, StoryCount]:
    """Published and visible comments of each story, in one query (a story without any is
    left out); with `with_times`, also when each last changed (for `Last-Modified`), which
    reads every comment of the stories, where the count alone reads the index
    `ix_comments_article_visible` only."""
    if not article_ids:
        return {}
    if not with_times:
        counted = db.session.execute(
            select(Comment.article_id, func.count())
            .where(Comment.article_id.in_(set(article_ids)), _counted())
            .group_by(Comment.article_id)
        )
        return {article_id: StoryCount(int(n), None) for article_id, n in counted}
    rows = db.session.execute(
        select(
            Comment.article_id,
            func.count(case((_counted(), 1))),
            func.max(Comment.created_at),
            func.max(Comment.decided_at),
            func.max(Comment.flagged_at),
        )
        .where(Comment.article_id.in_(set(article_ids)))
        .group_by(Comment.article_id)
    )
    counts = {}
    for article_id, published, *times in rows:
        known = [as_utc(t) for t in times if t is not None]
        counts[article_id] = StoryCount(int(published), max(known) if known else None)
    return counts


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
    threads = (_held(nodes[r.id]) for r in roots)
    return [node for node in threads if node is not None]


def _held(node: Node) -> Node | None:
    """The node without the placeholders that no longer hold any reply (None: nothing left)."""
    node.replies[:] = [kept for child in node.replies if (kept := _held(child)) is not None]
    if node.comment.removed and not node.replies:
        return None
    return node


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
