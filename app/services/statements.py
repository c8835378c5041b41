"""Statements of reasons (DSA Art. 17): one per decision that removes a comment or restricts a
reader, issued in the decision's own transaction, mailed to its author after the commit.

Which moves take one. Art. 17(1) asks for a statement for « any of the following restrictions
imposed on the ground that the information provided by the recipient of the service is illegal
content or incompatible with their terms and conditions »: restrictions of visibility (removal,
disabling access, demotion), of the service, of the account. So:

* a comment moved to « rejected » (transitions: SCORED and SENT_ANYWAY by the model or the
  word lists, REJECTED by a moderator or an API client): a removal;
* a sanction on a reader (readers.restrict): a ban, a suspension (with its end date), or
  « toujours pré-modérer » (every new comment waits for a moderator: a restriction of the
  visibility of what they write, « other »);
* not a comment held for review (pending, nudged, held; hidden by readers' reports until a
  moderator decides): nothing is yet found illegal or against the rules, the move only asks a
  human to look, and the comment's fate is still open. The moderator's decision that follows,
  if it removes the comment, takes its statement.

A decision undone (a rejected comment approved, a sanction lifted, a complaint that reverses
it) keeps its statement, marked `reversed_at`.

Who decided, as the Transparency Database asks (`automated_detection`, `automated_decision`):
the model's or the word lists' rejection is detected and decided by automated means; a
moderator's rejection of a comment the model held (its reasons name a threshold, a nudge or a
word list) was detected by automated means but decided by a human; a comment reported by
readers, or named in a notice, then removed by a moderator, is neither.

Mail: `issue` queues the mail on the session; it leaves after the commit (`after_commit`),
never before, so that a mail never announces a decision that was rolled back; a failure is
logged (without the address) and loses nothing.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from flask_babel import force_locale
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app import dsa, formatting, labels
from app.actions import AuditAction
from app.extensions import db
from app.labels import KIND_LABELS, REJECT_REASONS, french
from app.models import (
    Article,
    Comment,
    CommentReport,
    CommentStatus,
    DsaComplaint,
    DsaNotice,
    DsaStatement,
    ReaderRestriction,
    RestrictionKind,
    User,
    utcnow,
)
from app.policy import CATEGORY_HOLD, CATEGORY_REJECT, NUDGE, NUDGE_IGNORED
from app.rules import BANNED_WORD, SUSPECT_WORD
from app.services import mail, settings
from app.services.errors import ServiceError
from app.services.sso import ACCOUNT_DOMAIN

log = logging.getLogger(__name__)

# Reasons a comment carries when the model or the word lists singled it out.
AUTOMATED_CODES = frozenset({CATEGORY_HOLD, CATEGORY_REJECT, NUDGE, NUDGE_IGNORED,
                             BANNED_WORD, SUSPECT_WORD})  # fmt: skip
# The account an SSO reader is known by has an address that is never delivered.
UNDELIVERABLE_DOMAIN = "@" + ACCOUNT_DOMAIN
_SALT = "dsa-statement"
_PENDING_MAIL = "dsa_statement_mail"


class StatementError(ServiceError):
    """A ground the moderator chose is unknown."""


@dataclass(frozen=True)
class Ground:
    """What a decision relies on: the house rules (the default), or a provision of the law
    (`legal`, a key of dsa.LEGAL_GROUNDS) when the content is illegal."""

    legal: str | None = None

    @classmethod
    def parse(cls, value: str | None) -> Ground:
        """The moderators' form's choice: empty or « regles » for the house rules."""
        if not value or value == dsa.HOUSE_RULES:
            return HOUSE_RULES
        if value not in dsa.LEGAL_GROUNDS:
            raise StatementError("ground", "Choisissez le fondement de la décision.")
        return cls(value)


HOUSE_RULES = Ground()


def needed(target: str | None) -> bool:
    """Whether a comment's move to `target` takes a statement (see the module's docstring)."""
    return target == CommentStatus.REJECTED


def _actor(actor: User | str) -> tuple[int | None, str]:
    if isinstance(actor, User):
        return actor.id, actor.display_name
    return None, actor


def deliverable(address: str | None) -> str | None:
    """The address a statement may be mailed to, or None (empty, or an SSO placeholder)."""
    address = (address or "").strip()
    if not address or address.lower().endswith(UNDELIVERABLE_DOMAIN):
        return None
    return address


def _grounds(ground: Ground, rule: str) -> tuple[str, str | None, str, str]:
    """(decision_ground, legal key, the rule or law relied on, why on that ground)."""
    if ground.legal is not None:
        law = dsa.LEGAL_GROUNDS[ground.legal]
        return (
            dsa.DECISION_GROUND_ILLEGAL_CONTENT,
            ground.legal,
            law,
            f"Le contenu a été jugé manifestement illicite au regard de : {law}.",
        )
    return (
        dsa.DECISION_GROUND_INCOMPATIBLE_CONTENT,
        None,
        f"Charte de participation des lecteurs : {rule}",
        f"Le contenu contrevient à la charte de participation ({rule}).",
    )


def issue(
    *,
    action: AuditAction,
    actor: User | str,
    comment_ids: Sequence[int] = (),
    restriction: ReaderRestriction | None = None,
    reason_code: str | None = None,
    ground: Ground = HOUSE_RULES,
    notice_id: int | None = None,
    now: datetime | None = None,
) -> list[DsaStatement]:
    """Issue the statements of one decision, in the caller's transaction: one per comment of
    `comment_ids` (the rows the decision actually changed), or one for `restriction`.
    `notice_id`: the Art. 16 notice the decision answers (source SOURCE_ARTICLE_16). Their
    mails leave after the commit."""
    now = now or utcnow()
    issued = (
        _for_restriction(restriction, actor, ground, notice_id, now)
        if restriction is not None
        else _for_comments(action, comment_ids, actor, reason_code, ground, notice_id, now)
    )
    for statement in issued:
        db.session.add(statement)
        if (address := deliverable(statement.email)) is not None:
            pending = db.session.info.setdefault(_PENDING_MAIL, [])
            pending.append((address, statement.puid, summary(statement)))
    return issued


def _new(**fields: Any) -> DsaStatement:
    return DsaStatement(puid=secrets.token_hex(16), **fields)


def _for_comments(
    action: AuditAction,
    comment_ids: Sequence[int],
    actor: User | str,
    reason_code: str | None,
    ground: Ground,
    notice_id: int | None,
    now: datetime,
) -> list[DsaStatement]:
    if not comment_ids:
        return []
    rows = db.session.execute(
        select(Comment, Article.title)
        .join(Article, Article.id == Comment.article_id)
        .where(Comment.id.in_(comment_ids))
        .order_by(Comment.id)
    ).all()
    reported = set(
        db.session.scalars(
            select(CommentReport.comment_id).where(CommentReport.comment_id.in_(comment_ids))
        )
    )
    decided_by_id, decided_by = _actor(actor)
    notice = db.session.get(DsaNotice, notice_id) if notice_id is not None else None
    by_human = action == AuditAction.REJECTED  # SCORED, SENT_ANYWAY: the model, the lists
    issued = []
    for comment, title in rows:
        reasons = list(comment.reasons or [])
        flagged_by_machine = any(r.get("code") in AUTOMATED_CODES for r in reasons)
        with_reasons = _french_reasons(reasons)
        written = f"Le commentaire n° {comment.id}, envoyé le {_day(comment.created_at)} sous " \
                  f"l’article « {title} »,"  # fmt: skip
        if by_human:
            rule = french(REJECT_REASONS[reason_code]) if reason_code in REJECT_REASONS else \
                "motif indiqué par la modération"  # fmt: skip
            category = dsa.CATEGORY_OF_REJECT_REASON.get(reason_code or "", dsa.DEFAULT_CATEGORY)
            if notice is not None:  # what the notifier reported, as the moderators upheld it
                category = notice.category
            facts = [f"{written} a été retiré par la modération (motif : {rule})."]
            if notice_id is not None:
                facts.append("La décision fait suite à une notification (article 16 du DSA).")
            elif comment.id in reported:
                facts.append("Il avait été signalé par des lecteurs.")
            elif flagged_by_machine:
                facts.append(
                    "Le filtrage automatique l’avait retenu pour relecture humaine "
                    f"({with_reasons})."
                )
            detection = flagged_by_machine and comment.id not in reported and notice_id is None
            automated = dsa.AUTOMATED_DECISION_NOT_AUTOMATED
        else:
            rule = with_reasons or "seuils du filtrage automatique"
            category = _model_category(reasons)
            facts = [
                f"{written} a été refusé automatiquement avant publication, sans "
                f"intervention humaine : {rule}."
            ]
            if action == AuditAction.SENT_ANYWAY:  # the author's move; the lists decided
                facts.append("Son auteur l’avait envoyé tel quel après une invitation à le "
                             "reformuler.")  # fmt: skip
                decided_by_id, decided_by = None, labels.SYSTEM
            detection = True
            automated = dsa.AUTOMATED_DECISION_FULLY
        decision_ground, legal, ground_text, explanation = _grounds(ground, rule)
        issued.append(
            _new(
                created_at=now,
                comment_id=comment.id,
                user_id=comment.user_id,
                email=comment.author_email,
                notice_id=notice_id,
                source_type=dsa.SOURCE_VOLUNTARY if notice_id is None else dsa.SOURCE_ARTICLE_16,
                decision_visibility=dsa.DECISION_VISIBILITY_CONTENT_REMOVED,
                decision_ground=decision_ground,
                legal_ground=legal,
                ground_text=ground_text,
                ground_explanation=explanation,
                category=category,
                decision_facts=" ".join(facts),
                automated_detection=detection,
                automated_decision=automated,
                content_date=comment.created_at,
                decided_by_id=decided_by_id,
                decided_by=decided_by,
            )
        )
    return issued


def _french_reasons(reasons: list[dict[str, Any]]) -> str:
    with force_locale("fr"):
        return labels.reasons_text(reasons)


def _model_category(reasons: list[dict[str, Any]]) -> str:
    for reason in reasons:
        if reason.get("code") == CATEGORY_REJECT and reason.get("category"):
            return dsa.CATEGORY_OF_MODEL_CATEGORY.get(reason["category"], dsa.DEFAULT_CATEGORY)
    return dsa.DEFAULT_CATEGORY


def _day(value: datetime) -> str:
    return formatting.when(value, reader=True)


def _for_restriction(
    restriction: ReaderRestriction,
    actor: User | str,
    ground: Ground,
    notice_id: int | None,
    now: datetime,
) -> list[DsaStatement]:
    account = restriction.user_id is not None
    fields: dict[str, Any] = {}
    kind = RestrictionKind(restriction.kind)
    if kind == RestrictionKind.BAN:
        what = "n’est plus autorisé à publier de commentaires"
        if account:
            fields["decision_account"] = dsa.DECISION_ACCOUNT_TERMINATED
        else:
            fields["decision_provision"] = dsa.DECISION_PROVISION_PARTIAL_TERMINATION
    elif kind == RestrictionKind.SUSPEND:
        until = restriction.until or now
        what = f"ne peut plus publier de commentaires jusqu’au {_day(until)}"
        fields["end_date"] = until
        if account:
            fields["decision_account"] = dsa.DECISION_ACCOUNT_SUSPENDED
        else:
            fields["decision_provision"] = dsa.DECISION_PROVISION_PARTIAL_SUSPENSION
    else:
        what = "voit chacun de ses nouveaux commentaires relu par un modérateur avant publication"
        fields["decision_visibility"] = dsa.DECISION_VISIBILITY_OTHER
        fields["decision_visibility_other"] = (
            "Pre-moderation: every new comment of the recipient waits for a human moderator"
        )
    who = "Le compte" if account else "Le lecteur commentant sous cette adresse"
    label = french(KIND_LABELS[kind])
    facts = f"{who} {what} : décision d’un modérateur ({label})."
    if notice_id is not None:
        facts += " La décision fait suite à une notification (article 16 du DSA)."
    owner = (
        Comment.user_id == restriction.user_id
        if account
        else (Comment.author_email == restriction.email) & Comment.user_id.is_(None)
    )
    last = db.session.scalar(select(Comment.created_at).where(owner).order_by(Comment.id.desc()))
    decision_ground, legal, ground_text, explanation = _grounds(
        ground, f"sanction d’un lecteur ({label})"
    )
    decided_by_id, decided_by = _actor(actor)
    return [
        _new(
            created_at=now,
            restriction_id=restriction.id,
            user_id=restriction.user_id,
            email=restriction.email,
            notice_id=notice_id,
            source_type=dsa.SOURCE_VOLUNTARY if notice_id is None else dsa.SOURCE_ARTICLE_16,
            decision_ground=decision_ground,
            legal_ground=legal,
            ground_text=ground_text,
            ground_explanation=explanation,
            category=dsa.DEFAULT_CATEGORY,
            decision_facts=facts,
            automated_detection=False,
            automated_decision=dsa.AUTOMATED_DECISION_NOT_AUTOMATED,
            content_date=last or now,
            decided_by_id=decided_by_id,
            decided_by=decided_by,
            **fields,
        )
    ]


def withdraw(
    *, comment_ids: Sequence[int] = (), restriction_id: int | None = None, now: datetime
) -> None:
    """The decision was undone (a rejected comment published, a sanction lifted): its
    statements are marked reversed, in the caller's transaction."""
    condition: ColumnElement[bool]
    if comment_ids:
        condition = DsaStatement.comment_id.in_(comment_ids)
    elif restriction_id is not None:
        condition = DsaStatement.restriction_id == restriction_id
    else:
        return
    db.session.execute(
        update(DsaStatement)
        .where(condition, DsaStatement.reversed_at.is_(None))
        .values(reversed_at=now)
    )


# --- What the author reads (the page, the mail) ---------------------------------------------


@dataclass(frozen=True)
class Summary:
    """A statement in French sentences, as its page and its mail say it."""

    decision: str
    facts: str
    ground: str
    explanation: str
    illegal: bool
    automation: str
    source: str
    complaints: bool  # the site is an online platform: the author may complain (Art. 20)


OUT_OF_COURT = (
    "Vous pouvez aussi soumettre le litige à un organisme de règlement extrajudiciaire des "
    "litiges certifié (article 21 du règlement (UE) 2022/2065, dit « DSA ») : la Commission "
    "européenne publie la liste de ces organismes, et l’Arcom celle des organismes certifiés "
    "en France. Le recours est gratuit ou presque pour vous."
)
JUDICIAL = (
    "Vous pouvez enfin saisir le juge (le tribunal judiciaire), à tout moment, que vous ayez "
    "ou non utilisé les voies précédentes."
)


def _decision_text(statement: DsaStatement) -> str:
    if statement.comment_id is not None or statement.decision_visibility == (
        dsa.DECISION_VISIBILITY_CONTENT_REMOVED
    ):
        return "Votre commentaire a été retiré : il n’est pas publié sur le site."
    if statement.decision_visibility == dsa.DECISION_VISIBILITY_OTHER:
        return (
            "Vos commentaires sont pré-modérés : chacun sera relu par un modérateur avant sa "
            "publication."
        )
    if statement.end_date is not None:
        return (
            "Vous ne pouvez plus publier de commentaires jusqu’au "
            f"{_day(statement.end_date)} (suspension)."
        )
    return "Vous ne pouvez plus publier de commentaires sur ce site."


def _automation_text(statement: DsaStatement) -> str:
    if statement.automated_decision == dsa.AUTOMATED_DECISION_FULLY:
        return (
            "Cette décision a été prise par des moyens automatisés (un modèle qui détecte les "
            "propos toxiques, et les listes de mots du site), sans intervention humaine."
        )
    if statement.automated_detection:
        return (
            "Le commentaire a été repéré par des moyens automatisés ; la décision a été prise "
            "par un modérateur."
        )
    return "Cette décision a été prise par un modérateur, sans moyen automatisé."


def summary(statement: DsaStatement) -> Summary:
    return Summary(
        decision=_decision_text(statement),
        facts=statement.decision_facts,
        ground=statement.ground_text,
        explanation=statement.ground_explanation,
        illegal=statement.decision_ground == dsa.DECISION_GROUND_ILLEGAL_CONTENT,
        automation=_automation_text(statement),
        source=(
            "La décision fait suite à une notification d’un tiers (article 16 du DSA)."
            if statement.notice_id is not None
            else "La décision a été prise à notre initiative."
        ),
        complaints=bool(settings.get("dsa_online_platform")),
    )


# --- Who may read a statement ---------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def key(puid: str) -> str:
    """The signature of a statement's link in its mail: it opens the page without a session."""
    return str(_serializer().dumps(puid))


def valid_key(puid: str, given: str | None) -> bool:
    if not given:
        return False
    try:
        return bool(_serializer().loads(given) == puid)
    except BadSignature:
        return False


def link(puid: str) -> str:
    """The statement's absolute signed link (mails, the API)."""
    return mail.link("reader.statement", puid=puid, cle=key(puid))


def find(puid: str) -> DsaStatement | None:
    return db.session.scalar(select(DsaStatement).where(DsaStatement.puid == puid))


def readable(
    statement: DsaStatement,
    *,
    user: User | None,
    guest_token: str | None,
    given_key: str | None,
) -> bool:
    """The statement's author may read it: signed in as its account, in the guest session
    that wrote the comment, or with its mail's signed link; and staff."""
    if valid_key(statement.puid, given_key):
        return True
    if user is not None and (user.role in ("moderator", "admin") or user.id == statement.user_id):
        return True
    if guest_token and statement.comment_id is not None and statement.user_id is None:
        comment = db.session.get(Comment, statement.comment_id)
        return comment is not None and comment.guest_token == guest_token
    return False


def latest_for_comment(comment_id: int) -> DsaStatement | None:
    return db.session.scalar(
        select(DsaStatement)
        .where(DsaStatement.comment_id == comment_id)
        .order_by(DsaStatement.id.desc())
        .limit(1)
    )


def for_comments(comment_ids: Sequence[int]) -> dict[int, DsaStatement]:
    """Each comment's latest statement (the moderators' cards)."""
    if not comment_ids:
        return {}
    found: dict[int, DsaStatement] = {}
    for statement in db.session.scalars(
        select(DsaStatement)
        .where(DsaStatement.comment_id.in_(comment_ids))
        .order_by(DsaStatement.id)
    ):
        found[statement.comment_id or 0] = statement
    return found


def for_restrictions(restriction_ids: Sequence[int]) -> dict[int, DsaStatement]:
    if not restriction_ids:
        return {}
    return {
        s.restriction_id or 0: s
        for s in db.session.scalars(
            select(DsaStatement).where(DsaStatement.restriction_id.in_(restriction_ids))
        )
    }


def complaint_of(statement: DsaStatement) -> DsaComplaint | None:
    return db.session.scalar(select(DsaComplaint).where(DsaComplaint.statement_id == statement.id))


# --- Mail, after the commit -----------------------------------------------------------------


def send_mail(address: str, puid: str, text: Summary) -> bool:
    """Mail one statement to its author; False (logged) when it could not leave."""
    try:
        mail.send(
            address, "dsa_statement", puid=puid, url=link(puid), s=text,
            out_of_court=OUT_OF_COURT, judicial=JUDICIAL,
        )  # fmt: skip
    except (mail.MailError, RuntimeError) as error:
        log.warning("statement %s not mailed: %s", puid, error)
        return False
    return True


@event.listens_for(Session, "after_commit")
def _mail_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING_MAIL, None)
    if not pending or not has_app_context() or not mail.enabled():
        return
    for address, puid, text in pending:
        send_mail(address, puid, text)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_MAIL, None)
