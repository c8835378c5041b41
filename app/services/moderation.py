"""The moderators' use cases: queues, decisions (single and bulk), reports."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NoReturn

from flask_babel import gettext as _
from sqlalchemy import Text, and_, case, cast, delete, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from app import formatting
from app.actions import AuditAction
from app.extensions import db
from app.labels import QUEUES, REJECT_REASONS, REPORT_REASONS, SORTS, STATUS_LABELS, french
from app.models import (
    Article,
    Comment,
    CommentReport,
    CommentRevision,
    CommentScore,
    CommentStatus,
    DsaStatement,
    ModerationAction,
    User,
    as_utc,
    utcnow,
)
from app.services import audit, quotas, settings, statements, transitions
from app.services.errors import ServiceError

PER_PAGE = 25


class Conflict(Exception):
    """Someone else changed the comment first; the message says who and what."""

    def __init__(self, comment_id: int, message: str) -> None:
        super().__init__(message)
        self.comment_id = comment_id
        self.message = message


class ModerationError(ServiceError):
    """A moderator's action refused (bad action or reason, comment not reported)."""


class CommentNotFound(ModerationError):
    """No comment has this id."""

    def __init__(self, comment_id: int) -> None:
        super().__init__(None, _("Le commentaire n° %(id)s n’existe pas.", id=comment_id))
        self.comment_id = comment_id


@dataclass(frozen=True)
class QueueFilter:
    queue: str = "a-moderer"
    sort: str = "recents"
    article_id: int | None = None
    reason: str | None = None
    category: str | None = None
    text: str | None = None
    author_email: str | None = None  # a guest's address (never an account's comments)
    author_user_id: int | None = None  # an account
    page: int = 1


@dataclass
class Card:
    comment: Comment
    article: Article
    score: CommentScore | None
    parent: Comment | None = None
    reports: list[CommentReport] = field(default_factory=list)
    report_burst: bool = False  # BURST_REPORTS or more within BURST_MINUTES
    author_published: int = 0
    author_rejected: int = 0
    statement: DsaStatement | None = None  # its latest statement of reasons (DSA Art. 17)
    revisions: list[CommentRevision] = field(default_factory=list)  # its earlier texts


@dataclass(frozen=True)
class QueuePage:
    cards: list[Card]
    page: int
    has_more: bool
    total: int
    newest_id: int


def _queue_condition(queue: str) -> ColumnElement[bool]:
    if queue == "a-moderer":
        return Comment.status == CommentStatus.HELD
    if queue == "signales":
        return Comment.flagged_at.is_not(None)
    if queue == "rejetes":
        return Comment.status == CommentStatus.REJECTED
    if queue == "approuves":
        return Comment.status == CommentStatus.PUBLISHED
    return Comment.id.is_not(None)


def queue_counts() -> dict[str, int]:
    """How many comments each queue holds, in one query."""
    row = db.session.execute(
        select(
            func.count(case((Comment.status == CommentStatus.HELD, 1))),
            func.count(case((Comment.flagged_at.is_not(None), 1))),
            func.count(case((Comment.status == CommentStatus.REJECTED, 1))),
            func.count(case((Comment.status == CommentStatus.PUBLISHED, 1))),
            func.count(),
        ).select_from(Comment)
    ).one()
    return dict(zip(QUEUES, row, strict=True))


def _filtered(f: QueueFilter) -> list[ColumnElement[bool]]:
    conditions = [_queue_condition(f.queue)]
    if f.article_id:
        conditions.append(Comment.article_id == f.article_id)
    # Reasons are stored as JSON; their text is searched the same way on SQLite and PostgreSQL.
    reasons_text = cast(Comment.reasons, Text)
    if f.reason:
        conditions.append(reasons_text.contains(f'"code": "{f.reason}"', autoescape=True))
    if f.category:
        conditions.append(reasons_text.contains(f'"category": "{f.category}"', autoescape=True))
    if f.text:
        text = f.text.lower()
        conditions.append(
            or_(
                func.lower(Comment.body).contains(text, autoescape=True),
                func.lower(Comment.author_name).contains(text, autoescape=True),
            )
        )
    if f.author_user_id:
        conditions.append(Comment.user_id == f.author_user_id)
    elif f.author_email:
        conditions.append(Comment.author_email == f.author_email.lower())
        conditions.append(Comment.user_id.is_(None))
    return conditions


def list_queue(f: QueueFilter) -> QueuePage:
    """One page of a queue, with everything a card shows, in a fixed number of queries."""
    conditions = _filtered(f)
    waiting_since = func.coalesce(Comment.decided_at, Comment.created_at)
    order = {
        "recents": (Comment.created_at.desc(), Comment.id.desc()),
        "anciens": (Comment.created_at, Comment.id),
        "toxiques": (func.coalesce(CommentScore.max_score, -1).desc(), Comment.id.desc()),
        "attente": (waiting_since, Comment.id),
    }[f.sort if f.sort in SORTS else "recents"]
    rows = db.session.execute(
        select(Comment, Article, CommentScore)
        .join(Article, Article.id == Comment.article_id)
        .outerjoin(CommentScore, CommentScore.comment_id == Comment.id)
        .where(*conditions)
        .order_by(*order)
        .offset((f.page - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
    ).all()
    has_more = len(rows) > PER_PAGE
    cards = [Card(comment=c, article=a, score=s) for c, a, s in rows[:PER_PAGE]]
    total = db.session.scalar(select(func.count()).select_from(Comment).where(*conditions)) or 0
    newest = db.session.scalar(select(func.max(Comment.id))) or 0
    _attach_details(cards)
    return QueuePage(cards, f.page, has_more, total, newest)


def count_newer(queue: str, since_id: int) -> int:
    """Comments that entered `queue`'s condition with an id above `since_id` (new arrivals)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .where(_queue_condition(queue), Comment.id > since_id)
        )
        or 0
    )


def _attach_details(cards: Sequence[Card]) -> None:
    """Parents, reports, each author's history, the statements of reasons of the rejected
    ones and the earlier texts of the edited ones, for a page of cards: five queries."""
    if not cards:
        return
    parent_ids = {c.comment.parent_id for c in cards if c.comment.parent_id}
    parents = (
        {p.id: p for p in db.session.scalars(select(Comment).where(Comment.id.in_(parent_ids)))}
        if parent_ids
        else {}
    )
    reports: dict[int, list[CommentReport]] = defaultdict(list)
    for report in db.session.scalars(
        select(CommentReport)
        .where(CommentReport.comment_id.in_([c.comment.id for c in cards]))
        .order_by(CommentReport.id)
    ):
        reports[report.comment_id].append(report)
    # Each author's history: an account's comments, or a guest address's guest comments only.
    user_ids = {c.comment.user_id for c in cards if c.comment.user_id}
    emails = {c.comment.author_email for c in cards if not c.comment.user_id}
    guest_email = case((Comment.user_id.is_(None), Comment.author_email), else_=literal(""))
    stats = {
        (user_id, email): (published, rejected)
        for user_id, email, published, rejected in db.session.execute(
            select(
                Comment.user_id,
                guest_email,
                func.count(case((Comment.status == CommentStatus.PUBLISHED, 1))),
                func.count(case((Comment.status == CommentStatus.REJECTED, 1))),
            )
            .where(
                or_(
                    Comment.user_id.in_(user_ids),
                    and_(Comment.user_id.is_(None), Comment.author_email.in_(emails)),
                )
            )
            .group_by(Comment.user_id, guest_email)
        )
    }
    edited = [c.comment.id for c in cards if c.comment.edited_at is not None]
    revisions: dict[int, list[CommentRevision]] = defaultdict(list)
    if edited:
        for revision in db.session.scalars(
            select(CommentRevision)
            .where(CommentRevision.comment_id.in_(edited))
            .order_by(CommentRevision.id)
        ):
            revisions[revision.comment_id].append(revision)
    issued = statements.for_comments(
        [c.comment.id for c in cards if c.comment.status == CommentStatus.REJECTED]
    )
    for card in cards:
        c = card.comment
        card.statement = issued.get(c.id)
        card.parent = parents.get(c.parent_id or 0)
        card.reports = reports.get(c.id, [])
        card.revisions = revisions.get(c.id, [])
        card.report_burst = is_burst([r.created_at for r in card.reports])
        author = (c.user_id, "") if c.user_id else (None, c.author_email)
        card.author_published, card.author_rejected = stats.get(author, (0, 0))


def card(comment_id: int) -> Card | None:
    row = db.session.execute(
        select(Comment, Article, CommentScore)
        .join(Article, Article.id == Comment.article_id)
        .outerjoin(CommentScore, CommentScore.comment_id == Comment.id)
        .where(Comment.id == comment_id)
    ).first()
    if row is None:
        return None
    result = Card(comment=row[0], article=row[1], score=row[2])
    _attach_details([result])
    return result


def history(comment_id: int) -> list[ModerationAction]:
    return list(
        db.session.scalars(
            select(ModerationAction)
            .where(ModerationAction.comment_id == comment_id)
            .order_by(ModerationAction.id)
        )
    )


class Refused(ModerationError):
    """The comment is not in a state that takes this decision (it is still being scored,
    awaits its author's answer, or already has that outcome)."""

    def __init__(self, comment_id: int, message: str) -> None:
        super().__init__(None, message)
        self.comment_id = comment_id


DECISIONS = {"approve": AuditAction.APPROVED, "reject": AuditAction.REJECTED}


def may(action: str, comment: Comment) -> bool:
    """Whether `comment`, where it stands, takes `action`: approve, reject or keep. A
    rejected comment whose text the retention erased is never published."""
    if action == "approve" and comment.text_erased_at is not None:
        return False
    return transitions.allows({**DECISIONS, "keep": AuditAction.REPORTS_DISMISSED}[action], comment)


def decide(
    comment_id: int,
    version: int,
    action: str,
    actor: User | str,
    reason: str | None = None,
    note: str | None = None,
    ground: str | None = None,
    notice_id: int | None = None,
) -> Comment:
    """Approve (publish) or reject a comment as `actor` (a staff member, or an API client named
    by `audit.client_actor`), if nobody changed it since `version`. A rejection relies on the
    house rules, or on the law `ground` names (a key of dsa.LEGAL_GROUNDS); with `notice_id` it
    answers that Art. 16 notice. Either goes into its statement of reasons.

    Raises ModerationError for a bad action or reason (CommentNotFound for no such comment),
    Refused for a comment that may not take this decision (transitions.RULES), Conflict when
    someone else was first."""
    if action not in DECISIONS:
        raise ModerationError("action", _("Action inconnue."))
    if action == "reject" and reason not in REJECT_REASONS:
        raise ModerationError("reason", _("Choisissez le motif du rejet."))
    try:
        relied_on = statements.Ground.parse(ground)
    except statements.StatementError as error:
        raise ModerationError("ground", _("Choisissez le fondement de la décision.")) from error
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise CommentNotFound(comment_id)
    label = french(REJECT_REASONS[reason]) if action == "reject" and reason is not None else None
    reader_reason = None if action == "approve" else f"Refusé par la modération : {label}."
    changed = transitions.apply(
        DECISIONS[action],
        where=[
            Comment.id == comment_id,
            Comment.version == version,
            # the retention may erase a rejected comment's text at any moment: never publish it
            *([Comment.text_erased_at.is_(None)] if action == "approve" else []),
        ],
        actor=actor,
        from_status=comment.status,
        values={"status_reason": reader_reason},
        reason_code=reason if action == "reject" else None,
        reason=("Approuvé par la modération" if action == "approve" else f"Rejeté : {label}"),
        note=(note or "").strip() or None,
        ground=relied_on,
        notice_id=notice_id,
    )
    if not changed:
        db.session.rollback()
        _refuse_or_conflict(comment_id, version, action)
    db.session.commit()
    db.session.refresh(comment)
    return comment


def _refuse_or_conflict(comment_id: int, version: int, action: str) -> NoReturn:
    """Nothing changed: the comment at `version` may not take `action` (Refused), or someone
    changed it first (Conflict)."""
    comment = db.session.get(Comment, comment_id)
    if comment is not None and comment.version == version:
        raise Refused(comment_id, _refusal(action, comment))
    raise Conflict(comment_id, _conflict_message(comment_id))


def _refusal(action: str, comment: Comment) -> str:
    """Why `comment` may not take `action` where it stands, for the moderator."""
    id_ = comment.id
    if action == "keep":
        return _("Ce commentaire n’est pas signalé et publié.")
    if action == "approve" and comment.text_erased_at is not None:
        return _(
            "Le texte du commentaire n° %(id)s a été effacé au terme de sa durée de "
            "conservation : il ne peut plus être publié.",
            id=id_,
        )
    if comment.status == CommentStatus.PENDING:
        if action == "approve":
            return _(
                "Le commentaire n° %(id)s est en cours de notation : il ne peut pas encore "
                "être approuvé.",
                id=id_,
            )
        return _(
            "Le commentaire n° %(id)s est en cours de notation : il ne peut pas encore être "
            "rejeté.",
            id=id_,
        )
    if comment.status == CommentStatus.NUDGED:
        if action == "approve":
            return _(
                "Le commentaire n° %(id)s attend la réponse de son auteur à l’invitation à "
                "reformuler : il ne peut pas encore être approuvé.",
                id=id_,
            )
        return _(
            "Le commentaire n° %(id)s attend la réponse de son auteur à l’invitation à "
            "reformuler : il ne peut pas encore être rejeté.",
            id=id_,
        )
    if action == "approve":
        return _("Le commentaire n° %(id)s est déjà publié.", id=id_)
    return _("Le commentaire n° %(id)s est déjà rejeté.", id=id_)


def _reports_dismissed(count: int) -> str:
    """Stored in the journal in French, like every reason."""
    return f"{count} signalement écarté" if count == 1 else f"{count} signalements écartés"


def dismiss_reports(
    comment_id: int, version: int, actor: User | str, note: str | None = None
) -> Comment:
    """« Conserver »: a reported, published comment stays published; its reports are cleared
    (count, weight, « Signalés », hidden), so that the next report counts from zero. Audited
    as AuditAction.REPORTS_DISMISSED with how many reports and which reasons (never who sent them).

    Raises ModerationError when the comment is not a reported published one (CommentNotFound
    when there is none), Conflict when someone else changed it since `version`."""
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise CommentNotFound(comment_id)
    reasons = db.session.scalars(
        select(CommentReport.reason).where(CommentReport.comment_id == comment_id)
    ).all()
    by_reason = ", ".join(
        f"{french(REPORT_REASONS.get(code, code))} ×{count}"
        for code, count in sorted(Counter(reasons).items())
    )
    changed = transitions.apply(
        AuditAction.REPORTS_DISMISSED,
        where=[Comment.id == comment_id, Comment.version == version],
        actor=actor,
        reason_code="reports",
        reason=f"Conservé : {_reports_dismissed(len(reasons))}"
        + (f" ({by_reason})" if by_reason else ""),
        details={"reports": dict(Counter(reasons))},
        note=(note or "").strip() or None,
    )
    if not changed:
        db.session.rollback()
        _refuse_or_conflict(comment_id, version, "keep")
    db.session.execute(delete(CommentReport).where(CommentReport.comment_id == comment_id))
    db.session.commit()
    db.session.refresh(comment)
    return comment


@dataclass(frozen=True)
class BulkResult:
    done: list[int]
    conflicts: list[Conflict | Refused]  # not applied, each with its message


def decide_many(
    targets: Sequence[tuple[int, int]],
    action: str,
    actor: User,
    reason: str | None = None,
    note: str | None = None,
    ground: str | None = None,
) -> BulkResult:
    """The same decision on a selection of (comment id, version seen); each one on its own."""
    done: list[int] = []
    conflicts: list[Conflict | Refused] = []
    for comment_id, version in targets:
        try:
            decide(comment_id, version, action, actor, reason, note, ground)
        except (Conflict, Refused) as conflict:
            conflicts.append(conflict)
        else:
            done.append(comment_id)
    return BulkResult(done, conflicts)


def _conflict_message(comment_id: int) -> str:
    comment = db.session.get(Comment, comment_id)
    last = db.session.scalar(
        select(ModerationAction)
        .where(ModerationAction.comment_id == comment_id)
        .order_by(ModerationAction.id.desc())
        .limit(1)
    )
    if comment is None:
        return _("Le commentaire n° %(id)s n’existe plus.", id=comment_id)
    status = str(STATUS_LABELS.get(comment.status, comment.status))
    if last is None:
        return _(
            "Le commentaire n° %(id)s a déjà été traité (statut actuel : %(status)s). "
            "Votre action n’a pas été appliquée.",
            id=comment_id,
            status=status,
        )
    return _(
        "Le commentaire n° %(id)s a déjà été traité par %(who)s à %(when)s "
        "(statut actuel : %(status)s). Votre action n’a pas été appliquée.",
        id=comment_id,
        who=last.actor,
        when=formatting.clock(last.created_at),
        status=status,
    )


# What a report counts for towards the site's threshold: readers with a history of published
# comments count fully; a throw-away session (a guest with nothing published) counts for little,
# so that a few cookie-less requests can neither hide a comment nor fill « Signalés ».
REPORT_WEIGHT_ACCOUNT = 1.0  # an account with at least one published comment
REPORT_WEIGHT_NEW_ACCOUNT = 0.5  # an account with none yet
REPORT_WEIGHT_KNOWN_GUEST = 0.5  # a guest session with one of its comments published
REPORT_WEIGHT_GUEST = 0.25  # a guest session with no published comment

# A burst: this many reports on one comment within this many minutes (shown on its card).
BURST_REPORTS = 3
BURST_MINUTES = 10


def report_weight(user: User | None, guest_token: str | None) -> float:
    """How much one reader's report counts (see the REPORT_WEIGHT_* rule above)."""
    if user is not None:
        owner = Comment.user_id == user.id
        known, unknown = REPORT_WEIGHT_ACCOUNT, REPORT_WEIGHT_NEW_ACCOUNT
    elif guest_token:
        owner = (Comment.guest_token == guest_token) & Comment.user_id.is_(None)
        known, unknown = REPORT_WEIGHT_KNOWN_GUEST, REPORT_WEIGHT_GUEST
    else:
        return REPORT_WEIGHT_GUEST
    published = db.session.scalar(
        select(Comment.id).where(owner, Comment.status == CommentStatus.PUBLISHED).limit(1)
    )
    return known if published is not None else unknown


def is_burst(times: Sequence[datetime]) -> bool:
    """BURST_REPORTS or more reports within any BURST_MINUTES."""
    ordered = sorted(as_utc(t) for t in times)
    window = timedelta(minutes=BURST_MINUTES)
    return any(
        ordered[i + BURST_REPORTS - 1] - ordered[i] <= window
        for i in range(len(ordered) - BURST_REPORTS + 1)
    )


NOT_REPORTABLE = "Ce commentaire n’existe pas ou n’est pas publié."


def reportable(article: Article, comment_id: int) -> Comment | None:
    """The comment of this article a reader may report (a published one), or None."""
    comment = db.session.get(Comment, comment_id)
    if (
        comment is None
        or comment.article_id != article.id
        or not comment.is_published
        or comment.removed
    ):
        return None
    return comment


def report(
    comment: Comment,
    reporter_key: str,
    reason: str,
    note: str,
    user: User | None,
    guest_token: str | None = None,
    address: str | None = None,
) -> bool:
    """A reader reports a published comment (ModerationError for another, or without a
    reason). Returns False when they had already reported it
    (that takes nothing from their quota); raises quotas.QuotaExceeded past the reporting
    limits (per reader or session, and per network `address`).

    When the reports' weights reach the site's threshold the comment goes to « Signalés » (and,
    if the site says so, is hidden until a moderator decides)."""
    if reason not in REPORT_REASONS:
        raise ModerationError("reason", "Choisissez la raison du signalement.")
    if reportable(comment.article, comment.id) is None:
        raise ModerationError(None, NOT_REPORTABLE)
    weight = report_weight(user, guest_token)
    db.session.add(
        CommentReport(
            comment_id=comment.id,
            reporter_key=reporter_key,
            reporter_user_id=user.id if user else None,
            reason=reason,
            note=note.strip() or None,
            weight=weight,
        )
    )
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    try:
        hits = quotas.take_report(reporter_key, address)
    except quotas.QuotaExceeded:
        db.session.rollback()
        raise
    try:
        _count_report(comment, weight)
    except BaseException:
        db.session.rollback()
        hits.give_back()
        raise
    return True


def _count_report(comment: Comment, weight: float) -> None:
    db.session.execute(
        update(Comment)
        .where(Comment.id == comment.id)
        .values(report_count=Comment.report_count + 1, report_weight=Comment.report_weight + weight)
    )
    threshold = int(settings.get("reports_threshold"))
    hide = bool(settings.get("reports_hide"))
    transitions.apply(
        AuditAction.FLAGGED,
        where=[
            Comment.id == comment.id,
            Comment.flagged_at.is_(None),
            Comment.report_weight >= threshold,
        ],
        values={"flagged_at": utcnow(), "hidden": hide},
        actor=audit.SYSTEM,
        reason_code="reports",
        reason=f"{threshold} "
        + ("signalement de lecteur" if threshold < 2 else "signalements de lecteurs")
        + (" : masqué en attendant la modération" if hide else ""),
        details={"reports": threshold, "hidden": hide},
    )
    db.session.commit()


def reporter_comment_ids(reporter_key: str, comment_ids: Sequence[int]) -> set[int]:
    if not comment_ids:
        return set()
    return set(
        db.session.scalars(
            select(CommentReport.comment_id).where(
                CommentReport.reporter_key == reporter_key,
                CommentReport.comment_id.in_(comment_ids),
            )
        )
    )


def journal(
    action: AuditAction | None = None,
    actor: str | None = None,
    comment_id: int | None = None,
    reader_email: str | None = None,
    since: object | None = None,
    until: object | None = None,
    limit: int | None = 200,
) -> list[ModerationAction]:
    query = select(ModerationAction).order_by(ModerationAction.id.desc())
    if action:
        query = query.where(ModerationAction.action == action)
    if actor:
        query = query.where(func.lower(ModerationAction.actor).like(f"%{actor.lower()}%"))
    if comment_id:
        query = query.where(ModerationAction.comment_id == comment_id)
    if reader_email:
        query = query.where(ModerationAction.reader_email == reader_email.lower())
    if since is not None:
        query = query.where(ModerationAction.created_at >= since)
    if until is not None:
        query = query.where(ModerationAction.created_at < until)
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def articles() -> list[Article]:
    """The queues' story filter: the stories in a surge first, then by title."""
    surging = case((Article.surge_until > utcnow(), 0), else_=1)
    return list(db.session.scalars(select(Article).order_by(surging, Article.title)))
