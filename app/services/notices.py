"""Notice and action (Art. 16 of the Digital Services Act, issue 14): anyone reports a comment
as illegal, is sent a receipt, moderators decide, the notifier is told the decision.

What a notice must hold is Art. 16(2): (a) why the content is held illegal, (b) its exact
electronic location (here, the comment's link: our article page's `#c<id>`, or the embedding
page's URL with the same anchor), (c) the notifier's name and e-mail address, except for the
offences of Articles 3 to 7 of Directive 2011/93/EU (child sexual abuse), and (d) a statement
of good faith. The receipt (Art. 16(4)) and the decision (Art. 16(5)-(6), with the use of
automated means and the ways of redress) go by mail, each after the database has kept what it
concerns: a mail that fails is logged and said to the person, never a lost notice. The shape
(a reference of its own, the notice kept apart from the ordinary reports, a decision recorded
on it with its legal ground and explanation) follows Coral's DSA reports
(coralproject/talk `server/src/core/server/models/dsaReport/report.ts`).

Comment changes go through services/moderation (`decide`: transitions, audit, versions); a
notice never touches the readers' report counts nor « Signalés ». No notifier's name or address
reaches a log; the comment's author is never shown who sent a notice.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import joinedload

from app import dsa, formatting, labels
from app.dsa import NoticeDecision, notice_category
from app.extensions import db, rowcount
from app.labels import REJECT_REASONS, french
from app.models import (
    Article,
    Comment,
    CommentScore,
    CommentStatus,
    DsaNotice,
    User,
    utcnow,
)
from app.services import mail, moderation, quotas, sites, statements
from app.services.errors import ServiceError
from app.validators import (
    GOOD_FAITH_REQUIRED,
    NOTICE_CATEGORY_REQUIRED,
    Problem,
    clean_text,
    notice_explanation_problem,
    notice_location_problem,
    notifier_email_problem,
    notifier_name_problem,
)

log = logging.getLogger(__name__)

PER_PAGE = 25
LOCATION_NOT_FOUND = (
    "Ce lien ne mène à aucun commentaire publié : copiez le lien du commentaire lui-même (il se "
    "termine par #c suivi d’un numéro), ou utilisez le lien « Signaler un contenu illicite » "
    "affiché sous le commentaire."
)
LOCATION_ELSEWHERE = "Ce lien mène à un autre commentaire que celui que vous signalez."
_ANCHOR = re.compile(r"c([1-9][0-9]{0,17})")
_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud, typed


# --- Sending a notice ------------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """What the notifier sent, as typed (the form's fields, or the API's body)."""

    location: str | None = None
    explanation: str | None = None
    category: str | None = None
    name: str | None = None
    email: str | None = None
    good_faith: bool = False


class NoticeInvalid(ServiceError):
    """Fields refused: `problems` maps each field to its code and French sentence."""

    def __init__(self, problems: dict[str, Problem]) -> None:
        field, problem = next(iter(problems.items()))
        super().__init__(field, problem.message)
        self.problems = problems


@dataclass(frozen=True)
class Received:
    """A notice kept; `mail_error` says why its receipt could not be sent (None: sent, or no
    address to send it to)."""

    notice: DsaNotice
    mail_error: str | None = None


def comment_link(comment: Comment) -> str:
    """The comment's exact location on our own page (absolute)."""
    return mail.link("reader.article", slug=comment.article.slug, _anchor=f"c{comment.id}")


def find_comment(location: str) -> Comment | None:
    """The published comment a link leads to: `…/articles/<slug>#c<id>` on our site, or the
    story's own page (its canonical URL, where the embed shows it) with the same anchor."""
    try:
        parts = urlsplit(location.strip())
    except ValueError:
        return None
    anchor = _ANCHOR.fullmatch(parts.fragment or "")
    if anchor is None:
        return None
    comment = reportable(int(anchor.group(1)))
    if comment is None:
        return None
    article = comment.article
    if parts.path.rstrip("/") == url_for("reader.article", slug=article.slug):
        return comment
    if article.url and parts.scheme in ("http", "https"):
        try:
            given = sites.normalize_url(location.split("#", 1)[0])
            story = sites.normalize_url(article.url)
        except sites.SiteError:
            return None
        if given.rstrip("/") == story.rstrip("/"):
            return comment
    return None


def reportable(comment_id: int) -> Comment | None:
    """A comment a notice may name: one a reader may report (moderation.reportable: a
    published one)."""
    comment = db.session.get(Comment, comment_id)
    return moderation.reportable(comment.article, comment.id) if comment is not None else None


def check(sent: Sent, comment_id: int | None = None) -> tuple[dict[str, Problem], Comment | None]:
    """Every field's problem (none: a valid notice) and the comment its link leads to (which
    must be `comment_id`, when the notice names one: the API's path)."""
    problems: dict[str, Problem] = {}
    location = (sent.location or "").strip()
    comment = None
    if problem := notice_location_problem(location):
        problems["location"] = problem
    else:
        comment = find_comment(location)
        if comment is not None and comment_id is not None and comment.id != comment_id:
            problems["location"] = Problem("invalid_field", LOCATION_ELSEWHERE)
        elif comment is None:
            problems["location"] = Problem("comment_not_found", LOCATION_NOT_FOUND)
    if problem := notice_explanation_problem(clean_text(sent.explanation)):
        problems["explanation"] = problem
    chosen = notice_category(sent.category or "")
    if chosen is None:
        problems["category"] = Problem("invalid_field", NOTICE_CATEGORY_REQUIRED)
    # Art. 16(2)(c): no name nor address needed for the child sexual abuse offences.
    required = chosen is None or not chosen[1]
    if problem := notifier_name_problem((sent.name or "").strip(), required=required):
        problems["name"] = problem
    if problem := notifier_email_problem((sent.email or "").strip(), required=required):
        problems["email"] = problem
    if not sent.good_faith:
        problems["good_faith"] = Problem("required", GOOD_FAITH_REQUIRED)
    return problems, comment


def new_reference() -> str:
    """A public reference, as the notifier quotes it: `DSA-7K3M-Q9XZ` (31^8 possibilities)."""
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"DSA-{chars[:4]}-{chars[4:]}"


def submit(sent: Sent, *, address: str | None, comment_id: int | None = None) -> Received:
    """Keep a notice, then send its receipt (Art. 16(4)) when the notifier gave an address.

    Raises NoticeInvalid (every refused field at once), quotas.QuotaExceeded past
    NOTICE_RATE_LIMIT from this network address."""
    problems, comment = check(sent, comment_id)
    if problems:
        raise NoticeInvalid(problems)
    assert comment is not None
    chosen = notice_category(sent.category or "")
    assert chosen is not None
    category, child_sexual_abuse = chosen
    hits = quotas.take_notice(address)
    notice = DsaNotice(
        reference=new_reference(),
        comment_id=comment.id,
        location=(sent.location or "").strip(),
        explanation=clean_text(sent.explanation),
        category=category,
        child_sexual_abuse=child_sexual_abuse,
        notifier_name=(sent.name or "").strip() or None,
        notifier_email=(sent.email or "").strip() or None,
        good_faith=True,
    )
    db.session.add(notice)
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        hits.give_back()
        raise
    log.info("dsa notice %s received on comment %s", notice.reference, comment.id)
    return Received(notice, _send_receipt(notice))


def _send_receipt(notice: DsaNotice) -> str | None:
    if not notice.notifier_email:
        return None
    try:
        mail.send(
            notice.notifier_email,
            "dsa_notice_receipt",
            notice=notice,
            category=_category(notice),
            received=formatting.when(notice.created_at, reader=True),
        )
    except mail.MailError as error:
        log.warning("dsa notice %s: receipt not sent", notice.reference)
        return error.message
    notice.receipt_sent_at = utcnow()
    db.session.commit()
    return None


def _category(notice: DsaNotice) -> str:
    """The notice's category as the notifier's mails say it (French)."""
    return labels.notice_category_label(notice.category, notice.child_sexual_abuse, reader=True)


def by_reference(reference: str) -> DsaNotice | None:
    return db.session.scalar(select(DsaNotice).where(DsaNotice.reference == reference[:20]))


# --- The moderators' list and decisions ------------------------------------------------------


@dataclass(frozen=True)
class NoticePage:
    rows: list[DsaNotice]
    page: int
    has_more: bool
    total: int


def counts() -> dict[str, int]:
    """How many notices await a decision, have one, and in all: one query."""
    open_, decided, total = db.session.execute(
        select(
            func.count(case((DsaNotice.decision.is_(None), 1))),
            func.count(case((DsaNotice.decision.is_not(None), 1))),
            func.count(),
        ).select_from(DsaNotice)
    ).one()
    return {"a-traiter": open_, "traites": decided, "tous": total}


def open_count() -> int:
    return counts()["a-traiter"]


def list_notices(which: str = "a-traiter", page: int = 1) -> NoticePage:
    """One page of notices: those awaiting a decision oldest first (the longest wait on top);
    decided ones newest decision first."""
    query = select(DsaNotice).options(joinedload(DsaNotice.comment).joinedload(Comment.article))
    order: tuple[Any, ...]
    if which == "a-traiter":
        where = [DsaNotice.decision.is_(None)]
        order = (DsaNotice.created_at, DsaNotice.id)
    elif which == "traites":
        where = [DsaNotice.decision.is_not(None)]
        order = (DsaNotice.decided_at.desc(), DsaNotice.id.desc())
    else:
        where = []
        order = (DsaNotice.created_at.desc(), DsaNotice.id.desc())
    rows = list(
        db.session.scalars(
            query.where(*where).order_by(*order).offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)
        )
    )
    total = db.session.scalar(select(func.count()).select_from(DsaNotice).where(*where)) or 0
    return NoticePage(rows[:PER_PAGE], page, len(rows) > PER_PAGE, total)


@dataclass(frozen=True)
class NoticeView:
    """A notice with what the moderator decides on: the comment, its article and the model's
    scores (shown: they are the automated means used in processing the notice)."""

    notice: DsaNotice
    comment: Comment | None
    article: Article | None
    score: CommentScore | None


def view(notice_id: int) -> NoticeView | None:
    notice = db.session.get(DsaNotice, notice_id)
    if notice is None:
        return None
    comment = notice.comment
    score = (
        db.session.scalar(select(CommentScore).where(CommentScore.comment_id == comment.id))
        if comment is not None
        else None
    )
    return NoticeView(notice, comment, comment.article if comment else None, score)


class NoticeError(ServiceError):
    """A moderator's decision refused (a missing ground, explanation or rule, a notice already
    decided, a comment that cannot be removed); `message` in the moderator's language."""


def _scored(comment: Comment) -> bool:
    """Whether the model scored the comment: its scores are then on the moderator's page."""
    found = select(CommentScore.comment_id).where(CommentScore.comment_id == comment.id)
    return db.session.scalar(found) is not None


HOUSE_RULES = {code: label for code, label in REJECT_REASONS.items() if code != "illicite"}


@dataclass(frozen=True)
class Decided:
    notice: DsaNotice
    mail_error: str | None = None  # the notifier could not be told (the decision stands)


def decide(
    notice_id: int,
    decision: str,
    actor: User,
    *,
    ground: str | None = None,
    explanation: str | None = None,
    rule: str | None = None,
    version: int | None = None,
) -> Decided:
    """Decide a notice as `actor`: remove the comment as illegal (`ground`: the legal ground,
    `explanation`), remove it as contrary to the house rules (`rule`: a reject reason,
    `explanation`), or take no action (`explanation`: why). A removal goes through
    moderation.decide with the comment's `version` as the moderator saw it; the notice's
    decision is committed in the same transaction. Then the notifier is told (Art. 16(5)).

    Raises NoticeError, or moderation.Conflict / moderation.Refused from the removal."""
    try:
        chosen = NoticeDecision(decision)
    except ValueError:
        raise NoticeError("decision", _("Choisissez une décision.")) from None
    ground = clean_text(ground)
    explanation = clean_text(explanation)
    legal_ground: str | None = None  # the key of dsa.LEGAL_GROUNDS, for the statement
    if chosen == NoticeDecision.REMOVED_ILLEGAL:
        if ground not in dsa.LEGAL_GROUNDS:
            raise NoticeError(
                "ground", _("Choisissez le fondement juridique (la loi ou l’article enfreint).")
            )
        legal_ground, ground = ground, dsa.LEGAL_GROUNDS[ground]
    else:
        ground = None
    if chosen == NoticeDecision.REMOVED_TERMS:
        if rule not in HOUSE_RULES:
            raise NoticeError("rule", _("Choisissez la règle de publication enfreinte."))
        ground = french(HOUSE_RULES[rule])
    if not explanation:
        raise NoticeError(
            "explanation",
            _("Expliquez la décision : le notifiant la reçoit telle que vous l’écrivez."),
        )
    notice = db.session.get(DsaNotice, notice_id)
    if notice is None:
        raise NoticeError(None, _("Cette notification n’existe pas."))
    comment = notice.comment
    removal = chosen != NoticeDecision.NO_ACTION
    if removal and comment is None:
        raise NoticeError(
            "decision",
            _("Le commentaire n’existe plus : choisissez « Aucune mesure » et dites pourquoi."),
        )
    if removal and comment is not None and version is None:
        raise NoticeError(
            "version",
            _("La version du commentaire manque ou n’est pas valide : rechargez la page."),
        )
    scored = comment is not None and _scored(comment)
    claimed = rowcount(
        db.session.execute(
            update(DsaNotice)
            .where(DsaNotice.id == notice_id, DsaNotice.decision.is_(None))
            .values(
                decision=chosen,
                decision_ground=ground or None,
                decision_explanation=explanation,
                decided_at=utcnow(),
                decided_by_id=actor.id,
                decided_by=actor.display_name,
                automated_processing=scored,
                automated_decision=False,
            )
        )
    )
    if not claimed:
        db.session.rollback()
        db.session.refresh(notice)
        raise NoticeError(
            None,
            _(
                "Cette notification a déjà été traitée par %(who)s à %(when)s.",
                who=notice.decided_by or "?",
                when=formatting.clock(notice.decided_at) if notice.decided_at else "?",
            ),
        )
    if removal and comment is not None and comment.status != CommentStatus.REJECTED:
        try:
            # Commits the notice's decision with the comment's change, or rolls both back;
            # the Art. 17 statement is issued in the same transaction, as answering this
            # notice (source SOURCE_ARTICLE_16, the notice's category).
            moderation.decide(
                comment.id,
                version if version is not None else comment.version,
                "reject",
                actor,
                reason="illicite" if chosen == NoticeDecision.REMOVED_ILLEGAL else rule,
                note=f"Notification DSA {notice.reference} : {explanation}",
                ground=legal_ground or dsa.HOUSE_RULES,
                notice_id=notice.id,
            )
        except (moderation.ModerationError, moderation.Conflict):
            db.session.rollback()
            raise
    else:  # kept, or already removed by someone else: the comment stays as it is
        db.session.commit()
    db.session.refresh(notice)
    log.info("dsa notice %s decided: %s", notice.reference, chosen.value)
    return Decided(notice, notify(notice))


def notify(notice: DsaNotice) -> str | None:
    """Tell the notifier the decision, whether automated means were used, and the ways of
    redress (Art. 16(5)-(6)); None when sent (or nobody to tell), else why it failed."""
    if not notice.notifier_email or notice.decision is None:
        return None
    statement = (
        statements.latest_for_comment(notice.comment_id)
        if notice.comment_id is not None and notice.decision != NoticeDecision.NO_ACTION
        else None
    )
    try:
        mail.send(
            notice.notifier_email,
            "dsa_notice_decision",
            notice=notice,
            decision=NoticeDecision(notice.decision),
            decision_label=french(labels.NOTICE_DECISIONS[notice.decision]),
            category=_category(notice),
            received=formatting.when(notice.created_at, reader=True),
            decided=formatting.when(notice.decided_at, reader=True) if notice.decided_at else "",
            statement_link=(
                statements.link(statement.puid)
                if statement is not None and statement.notice_id == notice.id
                else None
            ),
        )
    except mail.MailError as error:
        log.warning("dsa notice %s: decision mail not sent", notice.reference)
        return error.message
    notice.notified_at = utcnow()
    db.session.commit()
    return None
