"""Typed SQLAlchemy 2.0 models."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.dsa import AutomatedDecision, DecisionGround, NoticeDecision, SourceType, StatementCategory
from app.extensions import Model
from app.policy import Outcome


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Timestamps are stored in UTC; SQLite gives them back without their zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class Role(enum.StrEnum):
    READER = "reader"
    MODERATOR = "moderator"
    ADMIN = "admin"


class CommentStatus(enum.StrEnum):
    """Every comment has exactly one of these, from the moment it is stored."""

    PENDING = "pending"  # stored, not yet decided
    NUDGED = "nudged"  # the author was asked to reconsider; not public until they answer
    PUBLISHED = "published"
    HELD = "held"  # waiting for a moderator
    REJECTED = "rejected"


class RemovedReason(enum.StrEnum):
    """Why a comment is only a placeholder (Comment.removed): its text and author are gone,
    and it stays only to hold its thread together. Readers' wording: services/comments."""

    AUTHOR = "author"  # deleted, or erased, at its author's request
    UPSTREAM = "upstream"  # deleted in the system it was imported from


class RestrictionKind(enum.StrEnum):
    """A sanction on a reader (ReaderRestriction.kind)."""

    BAN = "ban"
    SUSPEND = "suspend"  # until a date
    PREMODERATE = "premoderate"  # « toujours pré-modérer »


class ReportReason(enum.StrEnum):
    """Why a reader reports a comment (CommentReport.reason); labels in services/moderation."""

    INSULTE = "insulte"
    HAINE = "haine"
    MENACE = "menace"
    SPAM = "spam"
    HORS_SUJET = "hors_sujet"
    AUTRE = "autre"


def _check_in(column: str, values: type[enum.StrEnum]) -> CheckConstraint:
    """The CHECK constraint that keeps `column` to the members of `values`, named after it."""
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.READER)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Part of every session and remember-me cookie: raising it ends them all (sign-out,
    # deactivation, a new password or role).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # « Me prévenir par courriel des réponses à mes commentaires » (services/notifications.py).
    reply_mails: Mapped[bool] = mapped_column(default=False, server_default=false())

    __table_args__ = (_check_in("role", Role),)

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and the remember-me cookie."""
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        # Werkzeug's default is scrypt with a random 16-byte salt per password.
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active


class Site(Model):
    """A newsroom property whose pages embed the comments (issue 13): its allowed origins
    (`https://www.journal.fr`), the secret its CMS signs single sign-on tokens with, and its
    overrides of the moderation settings. The bundled article belongs to the default site
    (`is_default`), made by the migration or on first use (services/sites.default_site)."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # Exact origins, normalised by services/sites.normalize_origin: scheme://host[:port].
    origins: Mapped[list[str]] = mapped_column(JSON, default=list)
    # HS256 key of the CMS's SSO tokens, as given (we compute HMACs with it). NULL: no SSO.
    sso_secret: Mapped[str | None] = mapped_column(Text)
    # SiteSetting keys this site decides for itself ({"guests_allowed": false}).
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SsoIdentity(Model):
    """The reader account behind a site's single sign-on user (services/sso.py): keyed on the
    site and the CMS's own user id (`user.id` of its tokens), never on an address. The account
    itself (`users`) has an address of its own in the reserved `.invalid` domain and no usable
    password; the CMS's address (`user.email`) is kept here, for staff, as its last token gave
    it."""

    __tablename__ = "sso_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    # `iat` of the token that last updated the name and address: an older token never
    # overwrites a newer one (as Coral's `lastIssuedAt`).
    issued_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("site_id", "external_id", name="one_reader_per_sso_user"),)


class SsoTokenUse(Model):
    """A single sign-on token already exchanged (its `jti`, hashed), kept until it expires:
    the primary key refuses a second use, even one sent at the same moment."""

    __tablename__ = "sso_token_uses"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    jti_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of `jti`
    expires_at: Mapped[datetime] = mapped_column()

    __table_args__ = (Index("ix_sso_token_uses_expires", "expires_at"),)


class Article(Model):
    """An article, bundled or a « story »: a page of a site's CMS known by its canonical URL
    (and the CMS's own id), created when the embed first loads on it."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    # NULL only for rows written without a site (tests' own articles): the default site's.
    # Read through services/sites.site_of.
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    # The story's canonical URL on its site (NULL for a bundled article) and the CMS's id.
    url: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of `url`: the unique index (an index on a long text is refused by some databases).
    url_hash: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    photo_credit: Mapped[str | None] = mapped_column(Text)
    # Ordered blocks: [{"type": "p" | "h2", "text": "..."}]
    body: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    credits: Mapped[list[str]] = mapped_column(JSON, default=list)
    comments_open: Mapped[bool] = mapped_column(default=True)
    # Every comment on this article waits for a moderator, whatever its score.
    premoderated: Mapped[bool] = mapped_column(default=False)
    # A surge (services/surges, app/surge.py): every new comment waits for a moderator until
    # `surge_until`; past it, the end of the last surge (the rule reads the story afresh
    # from there). `surge_started_at`: set while a surge runs and its end is not yet in the
    # journal; `surge_trigger`: why it fired (app/surge.Trigger.as_dict).
    surge_until: Mapped[datetime | None] = mapped_column()
    surge_started_at: Mapped[datetime | None] = mapped_column()
    surge_trigger: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Comments close by themselves this many days after publication (None: never).
    close_after_days: Mapped[int | None] = mapped_column()
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site | None] = relationship()

    __table_args__ = (
        UniqueConstraint("site_id", "url_hash", name="one_story_per_url"),
        UniqueConstraint("site_id", "external_id", name="one_story_per_cms_id"),
    )

    @property
    def accepting_comments(self) -> bool:
        """Open, and not past its automatic closing date."""
        if not self.comments_open:
            return False
        if self.close_after_days is None:
            return True
        return utcnow() < as_utc(self.published_at) + timedelta(days=self.close_after_days)


class Comment(Model):
    __tablename__ = "comments"

    MAX_DEPTH = 2  # three levels shown: 0, 1, 2; deeper replies are shown at level 2
    MAX_REVISIONS = 3  # rewrites after a nudge; past them the author may only send it as it is

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    # The comment this one answers (its true target, kept even when shown at the last level).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    # The top-level comment of the thread; NULL for a top-level comment itself.
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    depth: Mapped[int] = mapped_column(default=0)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Guests own their comments through a random token kept in their session.
    guest_token: Mapped[str | None] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(80))
    author_email: Mapped[str] = mapped_column(String(254))  # never shown publicly
    body: Mapped[str] = mapped_column(Text)
    body_hash: Mapped[str] = mapped_column(String(64))
    # One key per submitted form and text: a double click or a resubmitted form stores once.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=CommentStatus.PENDING)
    # Why the comment is in its status, in plain French, as shown to its author.
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Every reason of the last decision, for moderators: [{"code": ..., "detail": ...}]
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The word lists' matches when the model's decision was recorded, highlighted on the
    # moderators' card: [{"kind": "banned"|"suspect", "entry": ..., "start": ..., "end": ...}]
    # (offsets into `body`). NULL: never matched (stored before this column, or not scored).
    word_matches: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()

    # Scoring state. `awaiting_score` is true from submission until the model's scores are
    # recorded (or a human decides first); a worker claims the comment with a conditional
    # update (`claim_token`, valid until `claimed_until`), and a failed attempt is retried at
    # `next_scoring_at`.
    awaiting_score: Mapped[bool] = mapped_column(default=True)
    scoring_attempts: Mapped[int] = mapped_column(default=0)
    next_scoring_at: Mapped[datetime | None] = mapped_column()
    claim_token: Mapped[str | None] = mapped_column(String(32))
    claimed_until: Mapped[datetime | None] = mapped_column()
    # The author saw the nudge and chose to send the comment anyway.
    nudge_acknowledged: Mapped[bool] = mapped_column(default=False)
    # How many times the author rewrote the comment after a nudge (capped: MAX_REVISIONS).
    revisions: Mapped[int] = mapped_column(default=0)
    # Optimistic lock: every change of state bumps it; a moderator's action names the version
    # they saw, so that two moderators acting at once cannot both win silently.
    version: Mapped[int] = mapped_column(default=1)
    # Readers' reports: how many since the last human decision, when the comment reached the
    # threshold (it is then in « Signalés »), and whether it is hidden meanwhile.
    report_count: Mapped[int] = mapped_column(default=0)
    # The same reports weighed by who sent them (CommentReport.weight): the threshold's measure.
    report_weight: Mapped[float] = mapped_column(default=0.0)
    flagged_at: Mapped[datetime | None] = mapped_column()
    hidden: Mapped[bool] = mapped_column(default=False)
    # Set: a placeholder (RemovedReason) in its thread's place, body and author emptied; it
    # keeps its status and is shown while it holds replies, but is never counted.
    removed: Mapped[str | None] = mapped_column(String(16))
    # Brought by `flask import` (services/imports.py): the format it came from ("wordpress",
    # "disqus", "isso"; NULL for our own comments) and its key there (SHA-256 of the site,
    # the format, the source blog or forum and the source's own comment id), unique: the
    # same import run twice stores each comment once.
    imported_from: Mapped[str | None] = mapped_column(String(16))
    import_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The model's scores are recorded without a decision (an imported comment keeps its past
    # status); scored in the background, after every live comment (services/scoring.claim).
    score_only: Mapped[bool] = mapped_column(default=False)
    # When the retention erased the text of this rejected comment (services/retention.py):
    # `body` is then empty, the scores, reasons and audit rows stay; it can no longer be
    # published.
    text_erased_at: Mapped[datetime | None] = mapped_column()
    # When its author last edited it (services/comments.edit): shown as « modifié »; its
    # earlier texts are in `comment_revisions`, for moderators.
    edited_at: Mapped[datetime | None] = mapped_column()
    # Readers' « J'aime » (comment_likes), counted here for the sort « les plus appréciés ».
    like_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # « Choix de la rédaction »: when staff featured it (services/featured.py); NULL: not.
    featured_at: Mapped[datetime | None] = mapped_column()

    article: Mapped[Article] = relationship()
    user: Mapped[User | None] = relationship()
    # Deleted with the comment (by the database's ON DELETE CASCADE when not loaded).
    score: Mapped[CommentScore | None] = relationship(
        back_populates="comment",
        uselist=False,
        lazy="raise_on_sql",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (
        _check_in("status", CommentStatus),
        _check_in("removed", RemovedReason),
        CheckConstraint("depth >= 0 AND depth <= 2", name="depth"),
        Index("ix_comments_article_status_created", "article_id", "status", "created_at"),
        # Counting a story's visible comments from the index alone (the page, /api/v1/counts).
        Index("ix_comments_article_visible", "article_id", "status", "hidden", "removed"),
        Index("ix_comments_thread", "thread_id"),
        Index("ix_comments_parent", "parent_id"),
        Index("ix_comments_user", "user_id"),
        Index("ix_comments_guest_token", "guest_token"),
        Index("ix_comments_dedup", "article_id", "body_hash", "created_at"),
        Index("ix_comments_awaiting_score", "awaiting_score", "next_scoring_at"),
        Index("ix_comments_status_created", "status", "created_at"),
        Index("ix_comments_author_email", "author_email"),
        Index("ix_comments_flagged", "flagged_at"),
    )

    @property
    def is_published(self) -> bool:
        return self.status == CommentStatus.PUBLISHED


class CommentRevision(Model):
    """A text a comment had before its author edited it (services/comments.edit): kept for
    moderators (the card's history), deleted with the comment or its placeholder."""

    __tablename__ = "comment_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    # The status it had with that text, when that text was written, and when it was replaced.
    status: Mapped[str] = mapped_column(String(16))
    written_at: Mapped[datetime] = mapped_column()
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_comment_revisions_comment", "comment_id", "id"),)


class CommentLike(Model):
    """A reader's « J'aime » on a published comment: one per reader (account) or browser
    (guest token) per comment, never on one's own (services/likes.py)."""

    __tablename__ = "comment_likes"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    liker_key: Mapped[str] = mapped_column(String(100))  # user:<id> or guest:<token>
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("comment_id", "liker_key", name="one_like_per_reader"),
        Index("ix_comment_likes_user", "user_id"),
    )


class ReplySubscription(Model):
    """A guest address that confirmed (by the signed link mailed to it) that it wants to be told
    of replies to its comments; deleted when it unsubscribes or is erased
    (services/notifications.py)."""

    __tablename__ = "reply_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # lowercase
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReplyMail(Model):
    """The outbox of reply notifications: one row per published reply whose parent's author
    asked to be told, written in the transaction that published it; the sweep sends the rows
    of one recipient together, in one mail, once the first has waited
    REPLY_MAIL_DELAY_MINUTES (services/notifications.py)."""

    __tablename__ = "reply_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    reply_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Claimed by a sweep (set before the mail leaves; cleared again when it failed).
    sent_at: Mapped[datetime | None] = mapped_column()
    attempts: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_reply_mails_pending", "sent_at", "created_at"),)


class CommentScore(Model):
    """The model's scores for a comment: every category the checkpoint names."""

    __tablename__ = "comment_scores"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    scores: Mapped[dict[str, float]] = mapped_column(JSON)
    model_name: Mapped[str] = mapped_column(String(120))
    model_version: Mapped[str] = mapped_column(String(200))
    windowed: Mapped[bool] = mapped_column(default=False)
    # The highest category score, for sorting queues by « most toxic ».
    max_score: Mapped[float] = mapped_column(default=0.0)
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)

    comment: Mapped[Comment] = relationship(back_populates="score")


class CategoryThreshold(Model):
    """Per category: hold at or above `hold`, reject at or above `reject`, nudge the author at
    or above `nudge`; a category can be switched off. Edited by admins."""

    __tablename__ = "category_thresholds"

    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    hold: Mapped[float]
    reject: Mapped[float]
    nudge: Mapped[float]
    enabled: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        CheckConstraint("hold >= 0 AND hold <= 1", name="hold_range"),
        CheckConstraint("reject >= hold AND reject <= 1", name="reject_range"),
        CheckConstraint("nudge >= 0 AND nudge <= 1", name="nudge_range"),
    )


class SiteSetting(Model):
    """A site-wide setting edited by admins (JSON value), e.g. whether nudges are on."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class ModerationAction(Model):
    """The audit trail: every change of a comment's state, automatic or human, and every
    sanction on a reader. Append-only: rows are never updated or deleted."""

    __tablename__ = "moderation_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    reader_email: Mapped[str | None] = mapped_column(String(254))
    # Who: a staff member, or else the model, a rule or the system, named in `actor`.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(60))
    reason: Mapped[str | None] = mapped_column(Text)  # in plain words (French)
    note: Mapped[str | None] = mapped_column(Text)
    # What the reason is made of (e.g. {"reasons": [Reason.as_dict(), …]}), so that the journal
    # says it in the viewer's language; rows stored before it have only `reason`.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    actor_user: Mapped[User | None] = relationship()

    __table_args__ = (
        Index("ix_moderation_actions_comment", "comment_id", "id"),
        Index("ix_moderation_actions_created", "created_at"),
        Index("ix_moderation_actions_reader", "reader_email"),
    )


class CommentReport(Model):
    """A reader's « Signaler » on a published comment: one per reader or session per comment."""

    __tablename__ = "comment_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    reporter_key: Mapped[str] = mapped_column(String(100))  # user:<id> or session:<token>
    reporter_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    # What this report counts for towards the threshold (services/moderation.report_weight).
    weight: Mapped[float] = mapped_column(default=1.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("comment_id", "reporter_key", name="one_per_reader"),
        _check_in("reason", ReportReason),
        Index("ix_comment_reports_comment", "comment_id"),
    )


class ReaderRestriction(Model):
    """A sanction on a reader: ban, suspension until a date, or « toujours pré-modérer ».
    Lifted, never deleted. On an account (`user_id`), or on the guests who type an address
    (`user_id` NULL): the two are different readers, even with the same address."""

    __tablename__ = "reader_restrictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    lifted_at: Mapped[datetime | None] = mapped_column()
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    lift_reason: Mapped[str | None] = mapped_column(Text)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (
        _check_in("kind", RestrictionKind),
        Index("ix_reader_restrictions_email", "email", "lifted_at"),
        Index("ix_reader_restrictions_user", "user_id", "lifted_at"),
    )


class ReaderWarning(Model):
    """« Avertir »: the lightest step before a sanction. A moderator's message to a reader,
    shown to them the next time they come to comment until they acknowledge it (« J’ai
    compris »), and mailed when there is an address. On an account (`user_id`), or on the
    guests who type an address (`user_id` NULL), like ReaderRestriction. `form_token`: the
    moderator's form's one-time token, so that the same form sent twice records one warning."""

    __tablename__ = "reader_warnings"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(32))  # a code of labels.REJECT_REASONS
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    form_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (
        Index("ix_reader_warnings_email", "email", "acknowledged_at"),
        Index("ix_reader_warnings_user", "user_id", "acknowledged_at"),
    )


@event.listens_for(ModerationAction, "before_update")
@event.listens_for(ModerationAction, "before_delete")
def _append_only(*_args: object) -> None:
    raise RuntimeError("the audit trail is append-only")


class SettingChange(Model):
    """Every change an admin makes to a setting, threshold or word list: who, when, the old
    and the new value. Restoring an old value is a new change."""

    __tablename__ = "setting_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    key: Mapped[str] = mapped_column(String(120))  # e.g. "threshold:insult", "nudge_enabled"
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_setting_changes_key", "key", "id"),)


class ApiScope(enum.StrEnum):
    """What an API client's key may do beyond scoring texts (ApiClient.scopes)."""

    MODERATION = "moderation"  # the moderators' queues and decisions (/api/v1/moderation)


class ApiClient(Model):
    """A site or CMS that calls our API with a key (Coral, a newsroom's own CMS). The key is
    never stored: only its SHA-256 (`key_hash`) and its first characters (`key_prefix`, not
    secret, to find the row). Revoked, never deleted."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    quota: Mapped[str] = mapped_column(String(200))  # Flask-Limiter notation
    # Coral's external-moderation signing secret, as given: we compute HMACs with it.
    coral_secret: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    # ApiScope values granted to the key ([]: it scores texts, nothing more).
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")


class StaffToken(Model):
    """A staff account's API token (`flask users token EMAIL`): the moderation API acts as
    that account, while it is active and a moderator or admin. Stored like an ApiClient's
    key: its SHA-256 (`key_hash`) and its first characters (`key_prefix`). Revoked, never
    deleted."""

    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()

    __table_args__ = (Index("ix_staff_tokens_user", "user_id"),)


class ApiClientUsage(Model):
    """One API client's calls on one day (the site's time zone): how many, how many answered
    an error, and the last error (its stable code and status). Written by
    `services.clients.record_call` in one upsert per client at most every second or so."""

    __tablename__ = "api_client_usage"

    client_id: Mapped[int] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    calls: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(64))  # a stable code: "quota_exceeded"
    last_error_status: Mapped[int | None] = mapped_column()
    last_error_at: Mapped[datetime | None] = mapped_column()


class FeedbackDecision(enum.StrEnum):
    """A client's moderator decision, as sent to `comments:suggestscore` (0 or 1)."""

    APPROVED = "approved"
    REJECTED = "rejected"


class ApiAnalysis(Model):
    """One `comments:analyze` call kept, as PERSPECTIVE_STORE says: its language and the
    model's scores (`scores` only), and its text (`text`); never with `doNotStore`. Deleted
    after PERSPECTIVE_RETENTION_DAYS by the scoring sweep."""

    __tablename__ = "api_analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    language: Mapped[str] = mapped_column(String(16))
    scores: Mapped[dict[str, float]] = mapped_column(JSON)  # every category of the model
    model_name: Mapped[str] = mapped_column(String(120))
    text: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_api_analyses_created", "created_at"),)


class ApiFeedback(Model):
    """A moderator decision of a client's site (`comments:suggestscore`: Coral sends one when
    a moderator approves or rejects a comment), with our model's scores of its text when the
    model gave them: pairs for « Calibration » beside our own moderators' decisions. The text
    itself is kept only with PERSPECTIVE_STORE=text, and cleared after the retention."""

    __tablename__ = "api_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str] = mapped_column(String(16))  # a FeedbackDecision
    # The attributes and values the client sent ({"TOXICITY": 1}).
    suggested: Mapped[dict[str, float]] = mapped_column(JSON)
    client_token: Mapped[str | None] = mapped_column(String(512))
    community_id: Mapped[str | None] = mapped_column(String(512))
    language: Mapped[str | None] = mapped_column(String(16))
    # None when the model did not score the text (down, too slow, a language it lacks).
    scores: Mapped[dict[str, float] | None] = mapped_column(JSON)
    model_name: Mapped[str | None] = mapped_column(String(120))
    text: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        _check_in("decision", FeedbackDecision),
        Index("ix_api_feedback_created", "created_at"),
    )


class CoralStatus(enum.StrEnum):
    """The statuses we answer Coral's external moderation phase (services/coral.py); no
    status at all (a 204) is an abstention."""

    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    PREMOD = "PREMOD"
    SYSTEM_WITHHELD = "SYSTEM_WITHHELD"


class CoralAction(enum.StrEnum):
    """Why Coral asks: a new comment, or a comment its author edited."""

    NEW = "NEW"
    EDIT = "EDIT"


class CoralDecision(Model):
    """One request of Coral's external moderation phase that we decided (services/coral.py):
    what Coral sent (its story, author and text: Coral sends no comment id), our verdict and
    its reasons, the scores, and what we answered. Requests we refused (a bad signature, a bad
    body, a quota) leave no row. The text and the request's hash are forgotten after
    CORAL_RETENTION_DAYS (the scoring sweep); the rest stays."""

    __tablename__ = "coral_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(8))
    tenant_id: Mapped[str] = mapped_column(String(200))
    tenant_domain: Mapped[str] = mapped_column(String(255))
    site_id: Mapped[str] = mapped_column(String(200))
    story_id: Mapped[str] = mapped_column(String(200))
    story_url: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(String(200))
    author_role: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[str | None] = mapped_column(String(200))
    # The text as scored (Coral's HTML reduced to what a reader sees); NULL once forgotten.
    body: Mapped[str | None] = mapped_column(Text)
    # SHA-256 of the raw request: the same request again within a few minutes gets the same
    # answer without a second model call. NULL once forgotten.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # policy.Outcome
    # Every reason of the verdict: [Reason.as_dict(), …] (as Comment.reasons).
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The model's scores; NULL when no score exists (the model was down or too slow).
    scores: Mapped[dict[str, float] | None] = mapped_column(JSON)
    model_name: Mapped[str | None] = mapped_column(String(120))
    model_version: Mapped[str | None] = mapped_column(String(200))
    http_status: Mapped[int] = mapped_column()  # 200, or 204 (we abstained)
    coral_status: Mapped[str | None] = mapped_column(String(20))  # NULL: we abstained
    flagged: Mapped[bool] = mapped_column(default=False)  # FLAG COMMENT_DETECTED_TOXIC sent

    client: Mapped[ApiClient] = relationship()

    __table_args__ = (
        _check_in("action", CoralAction),
        _check_in("outcome", Outcome),
        _check_in("coral_status", CoralStatus),
        Index("ix_coral_decisions_received", "received_at"),
        Index("ix_coral_decisions_client", "client_id", "id"),
        Index("ix_coral_decisions_outcome", "outcome", "id"),
        Index("ix_coral_decisions_request", "client_id", "request_hash"),
    )


class MaintenanceRun(Model):
    """A periodic job that must run at most once at a time across every process (the
    retention, `services/retention.py`): who holds it and until when (a lease, taken by a
    conditional UPDATE and lapsing by itself if its holder dies), and how the last run ended."""

    __tablename__ = "maintenance_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(32))
    held_until: Mapped[datetime | None] = mapped_column()
    last_finished_at: Mapped[datetime | None] = mapped_column()
    # What the last run changed, by kind ({"guest_addresses": 12, …}).
    last_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DsaNotice(Model):
    """A notice of illegal content under Art. 16 of the Digital Services Act (issue 14): anyone,
    signed in or not, says why a comment is illegal, where it is (its link, kept as given even
    once the comment is gone), under which category (app/dsa.py), with their name and address
    (not required for the child sexual abuse offences, Art. 16(2)(c)) and a statement of good
    faith. Moderators decide it (services/notices.py); the notifier is told, with whether
    automated means were used. The notifier's identity is never shown to the comment's author,
    and never logged. Like Coral's DSAReport, it has a public reference of its own."""

    __tablename__ = "dsa_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    location: Mapped[str] = mapped_column(Text)  # the comment's link, as the notifier gave it
    explanation: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(80))  # a StatementCategory
    # The notifier named an offence of Art. 3-7 of Directive 2011/93/EU (child sexual abuse):
    # name and address were then optional.
    child_sexual_abuse: Mapped[bool] = mapped_column(default=False)
    notifier_name: Mapped[str | None] = mapped_column(String(200))
    notifier_email: Mapped[str | None] = mapped_column(String(254))
    good_faith: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    receipt_sent_at: Mapped[datetime | None] = mapped_column()  # Art. 16(4)
    # The decision: NULL while the notice awaits one.
    decision: Mapped[str | None] = mapped_column(String(20))  # a NoticeDecision
    # The legal ground (removed as illegal) or the house rule (removed as contrary to it).
    decision_ground: Mapped[str | None] = mapped_column(Text)
    decision_explanation: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by: Mapped[str | None] = mapped_column(String(200))  # the moderator's name then
    # Automated means in processing the notice: the model's scores of the comment were shown
    # to the moderator who decided (Art. 16(6)). The decision itself is always a person's.
    automated_processing: Mapped[bool] = mapped_column(default=False)
    automated_decision: Mapped[bool] = mapped_column(default=False)
    notified_at: Mapped[datetime | None] = mapped_column()  # the decision mail, Art. 16(5)

    comment: Mapped[Comment | None] = relationship()

    __table_args__ = (
        _check_in("category", StatementCategory),
        _check_in("decision", NoticeDecision),
        CheckConstraint("NOT automated_decision", name="human_decision"),
        Index("ix_dsa_notices_open", "decided_at", "created_at"),
        Index("ix_dsa_notices_comment", "comment_id"),
    )

    @property
    def is_open(self) -> bool:
        return self.decision is None


class ComplaintStatus(enum.StrEnum):
    """Where a complaint against a decision stands (DsaComplaint.status)."""

    OPEN = "open"
    UPHELD = "upheld"  # the decision stands
    REVERSED = "reversed"  # the comment is published again, or the sanction lifted


class DsaStatement(Model):
    """A statement of reasons (DSA Art. 17): one per decision that removes a comment or
    restricts a reader, issued in the decision's own transaction (services/statements.py).
    Its fields are the EU Transparency Database's (app/dsa.py); `puid` is its public
    reference. The author's address (`email`) is kept to mail it, never exported."""

    __tablename__ = "dsa_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    puid: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # the application date
    # What the decision is about: a comment, or a sanction on a reader.
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    restriction_id: Mapped[int | None] = mapped_column(
        ForeignKey("reader_restrictions.id", ondelete="SET NULL")
    )
    # Its author: the account (who may read it signed in) and the address it is mailed to.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str | None] = mapped_column(String(254))
    # The Art. 16 notice the decision answers (NULL: our own initiative).
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("dsa_notices.id", ondelete="SET NULL"))
    source_type: Mapped[str] = mapped_column(String(40))
    decision_visibility: Mapped[str | None] = mapped_column(String(60))
    decision_visibility_other: Mapped[str | None] = mapped_column(String(500))
    decision_account: Mapped[str | None] = mapped_column(String(60))
    decision_provision: Mapped[str | None] = mapped_column(String(60))
    end_date: Mapped[datetime | None] = mapped_column()  # of a suspension
    decision_ground: Mapped[str] = mapped_column(String(60))
    legal_ground: Mapped[str | None] = mapped_column(String(40))  # a key of dsa.LEGAL_GROUNDS
    ground_text: Mapped[str] = mapped_column(Text)  # the rule or the law relied on (French)
    ground_explanation: Mapped[str] = mapped_column(Text)  # why on that ground (French)
    category: Mapped[str] = mapped_column(String(80))
    decision_facts: Mapped[str] = mapped_column(Text)  # French, no personal data
    automated_detection: Mapped[bool] = mapped_column()
    automated_decision: Mapped[str] = mapped_column(String(40))
    content_date: Mapped[datetime] = mapped_column()
    # Who decided: a staff member (the complaint must go to another), or the model.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by: Mapped[str] = mapped_column(String(200))
    # The decision was undone (approved after all, the sanction lifted, a complaint upheld).
    reversed_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        _check_in("source_type", SourceType),
        _check_in("decision_ground", DecisionGround),
        _check_in("automated_decision", AutomatedDecision),
        Index("ix_dsa_statements_created", "created_at"),
        Index("ix_dsa_statements_comment", "comment_id"),
        Index("ix_dsa_statements_restriction", "restriction_id"),
    )


class DsaComplaint(Model):
    """A complaint against a decision (DSA Art. 20), from the statement's page: one per
    statement, answered by a human other than the one who decided (services/complaints.py)."""

    __tablename__ = "dsa_complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(
        ForeignKey("dsa_statements.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    explanation: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ComplaintStatus.OPEN)
    answer: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by: Mapped[str | None] = mapped_column(String(200))

    statement: Mapped[DsaStatement] = relationship()

    __table_args__ = (
        _check_in("status", ComplaintStatus),
        Index("ix_dsa_complaints_status", "status", "created_at"),
    )


class ShadowCandidate(Model):
    """« Essai » (shadow mode): other model, thresholds or rules run beside the live ones on
    the comments decided since `started_at`, in the background (services/shadow.py). Live
    comments are decided by the live settings only. One at a time: `active` is 1 while it runs
    (a unique column), NULL once stopped or promoted."""

    __tablename__ = "shadow_candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    active: Mapped[int | None] = mapped_column(unique=True)
    # A Detoxify checkpoint (with its Hugging Face config folder) or an ONNX export folder on
    # the server; NULL: the live model's scores are reused.
    model_path: Mapped[str | None] = mapped_column(String(1000))
    hf_config: Mapped[str | None] = mapped_column(String(1000))
    # What the model said when loaded (name, version), or why it could not load.
    model_name: Mapped[str | None] = mapped_column(String(120))
    model_version: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    # Per category {hold, reject, nudge, enabled} (« Seuils »), and site rules (« Règles »):
    # NULL, the live ones.
    thresholds: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rules: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_by: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[datetime | None] = mapped_column()
    promoted_at: Mapped[datetime | None] = mapped_column()


class ShadowResult(Model):
    """A comment as the candidate decided it, beside the live settings' decision of it."""

    __tablename__ = "shadow_results"

    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("shadow_candidates.id", ondelete="CASCADE"), primary_key=True
    )
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    # "publish" | "hold" | "reject": the live settings' and the candidate's outcomes.
    live_outcome: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    scores: Mapped[dict[str, float]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)
