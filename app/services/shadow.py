"""« Essai » (shadow mode): a candidate model, thresholds or rules run beside the live ones.

An admin starts a candidate (« Réglages › Essai »): another Detoxify checkpoint or ONNX
export on the server, and/or other thresholds (« Seuils ») and rules (« Règles »). Live
comments are decided by the live settings only, on the readers' path as always; nothing
here runs there. In the background (the scoring worker when no live comment waits,
Celery's sweep, or `flask shadow run`), `run_batch` takes the comments scored and decided
since the candidate started, scores them with the candidate's model (or reuses their live
scores when it changes only thresholds or rules), decides them with the candidate's settings
through the one decision path (`decisions.replay` + `policy.verdict`, as « Simuler » does),
and stores the outcome beside the live settings' outcome of the same comment
(`ShadowResult`). `report` turns them into the moves « Simuler » shows, and into agreement
with what moderators later decided. `promote` saves the candidate's thresholds and rules
through `services.settings` (each change recorded), makes its model the one every scoring
process switches to between two batches (services/live_model), and writes an audit row.

A model that does not load is never guessed at: the candidate is refused at start with the
loader's error, and a load failing later (another process) stops its scoring and shows why.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.actions import AuditAction
from app.extensions import db, rowcount
from app.models import (
    Comment,
    CommentScore,
    CommentStatus,
    ModerationAction,
    ShadowCandidate,
    ShadowResult,
    User,
    utcnow,
)
from app.policy import Outcome, Reason, verdict
from app.scoring import Scorer, ScoringUnavailable
from app.services import admin, audit, decisions, live_model, transitions
from app.services.errors import ServiceError
from app.simulation import Example, SimulationResult, tally

logger = logging.getLogger(__name__)

# The « Règles » a candidate may change: those a decision reads (services/decisions.site).
RULE_FIELDS: tuple[str, ...] = (
    "nudge_enabled",
    "nudge_sent_anyway",
    "premoderate_all",
    "premoderate_links",
    "premoderate_first_n",
)
MAX_PATH = 1000
EXCERPT = 120
DECIDED = (CommentStatus.PUBLISHED, CommentStatus.HELD, CommentStatus.REJECTED)
_SCORERS_KEY = "shadow_scorer"  # in app.extensions: (model_path, hf_config, scorer)
_scorer_lock = threading.Lock()


class ShadowError(ServiceError):
    """The candidate is refused: `field` names the form field, the message is shown."""


@dataclass(frozen=True)
class Proposal:
    """A candidate as the form gives it; None: the live value."""

    model_path: str | None = None
    hf_config: str | None = None
    thresholds: dict[str, dict[str, Any]] | None = None
    rules: dict[str, Any] | None = None


def _path(form: Mapping[str, str], key: str, errors: dict[str, str]) -> str | None:
    """A path on the server, named in field `key`: None when empty; an error when it is too
    long, not printable, or names nothing there."""
    raw = (form.get(key) or "").strip()
    if not raw:
        return None
    if len(raw) > MAX_PATH or not raw.isprintable():
        errors[key] = _("Indiquez un chemin de %(max)s caractères au plus.", max=MAX_PATH)
        return None
    try:
        found = Path(raw).exists()
    except (OSError, ValueError):
        found = False
    if not found:
        errors[key] = _("Aucun fichier ni dossier à ce chemin sur le serveur.")
        return None
    return raw


def parse(form: Mapping[str, str]) -> tuple[Proposal, dict[str, str]]:
    """The « Essai » form: a model path (a checkpoint, with its optional Hugging Face folder,
    or an ONNX export folder), thresholds when « try_thresholds » is ticked, rules when
    « try_rules » is; errors name their field (French)."""
    errors: dict[str, str] = {}
    model_path = _path(form, "model_path", errors)
    hf_config = _path(form, "hf_config", errors)
    if hf_config and not model_path and "model_path" not in errors:
        errors["hf_config"] = _("Ce dossier accompagne un fichier de modèle : indiquez-le aussi.")
    thresholds = rules = None
    if form.get("try_thresholds") == "on":
        parsed = admin.parse_thresholds(form)
        errors.update(parsed.errors)
        thresholds = parsed.values
    if form.get("try_rules") == "on":
        parsed = admin.parse_rules(form, RULE_FIELDS)
        errors.update(parsed.errors)
        rules = parsed.values
    if not errors and model_path is None and thresholds is None and rules is None:
        errors["model_path"] = _(
            "Indiquez un modèle à essayer, ou cochez « Essayer d’autres seuils » ou "
            "« Essayer d’autres règles »."
        )
    return Proposal(model_path, hf_config, thresholds, rules), errors


def active() -> ShadowCandidate | None:
    """The candidate running now, if any."""
    return db.session.scalar(select(ShadowCandidate).where(ShadowCandidate.active == 1))


def last() -> ShadowCandidate | None:
    """The newest candidate, running or not."""
    return db.session.scalar(select(ShadowCandidate).order_by(ShadowCandidate.id.desc()).limit(1))


def _scorer(model_path: str, hf_config: str | None) -> Scorer:
    """The candidate's model, loaded once per process and kept while it is the candidate's;
    raises ScoringUnavailable (never a made-up score)."""
    key = (model_path, hf_config)
    with _scorer_lock:
        held = current_app.extensions.get(_SCORERS_KEY)
        if held is None or held[0] != key:
            held = (key, live_model.build_scorer(model_path, hf_config))
            current_app.extensions[_SCORERS_KEY] = held
        scorer: Scorer = held[1]
    scorer.load()
    return scorer


def _forget_scorer() -> None:
    with _scorer_lock:
        current_app.extensions.pop(_SCORERS_KEY, None)


def take_scorer(key: tuple[str, str | None]) -> Scorer | None:
    """This process's loaded candidate model, if it is `key`'s, handed over (once) to the
    scoring runner that switches to it after a promotion: no second load."""
    with _scorer_lock:
        held = current_app.extensions.get(_SCORERS_KEY)
        if held is None or held[0] != key:
            return None
        del current_app.extensions[_SCORERS_KEY]
    scorer: Scorer = held[1]
    return scorer


def start(proposal: Proposal, actor: User) -> ShadowCandidate:
    """Start `proposal` as the candidate (one at a time), after loading its model, if any,
    through the production code: a model that does not load is refused with the loader's
    error. Audited."""
    if active() is not None:
        db.session.rollback()
        raise ShadowError("candidate", _already())
    name = version = None
    if proposal.model_path is not None:
        try:
            scorer = _scorer(proposal.model_path, proposal.hf_config)
        except (ScoringUnavailable, ValueError) as error:
            _forget_scorer()
            raise ShadowError(
                "model_path", _("Ce modèle ne se charge pas : %(error)s", error=str(error))
            ) from error
        name, version = scorer.name, scorer.version
    candidate = ShadowCandidate(
        active=1,
        model_path=proposal.model_path,
        hf_config=proposal.hf_config if proposal.model_path else None,
        model_name=name,
        model_version=version,
        thresholds=proposal.thresholds,
        rules=proposal.rules,
        started_at=utcnow(),
        started_by_id=actor.id,
        started_by=actor.display_name,
    )
    db.session.add(candidate)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ShadowError("candidate", _already()) from None
    audit.record(AuditAction.SHADOW_STARTED, actor=actor, details=_described(candidate))
    db.session.commit()
    if not _scores_here():
        _forget_scorer()  # loaded to be checked; Celery's workers (or the CLI) score with it
    return candidate


def _scores_here() -> bool:
    """Whether this process's scoring worker runs the candidate (the thread backend, with
    SHADOW_BACKGROUND on): else the web process does not keep a second model in memory."""
    config = current_app.config
    return bool(config["SHADOW_BACKGROUND"]) and config["SCORING_BACKEND"] == "thread"


def _already() -> str:
    return _("Un essai est déjà en cours : arrêtez-le ou promouvez-le d’abord.")


def _described(candidate: ShadowCandidate) -> dict[str, Any]:
    return {
        "candidate": candidate.id,
        "model_path": candidate.model_path,
        "hf_config": candidate.hf_config,
        "thresholds": candidate.thresholds,
        "rules": candidate.rules,
    }


def _end(candidate_id: int, promoted: bool) -> bool:
    """End the running candidate `candidate_id` (one conditional UPDATE: of two admins
    clicking at once, one ends it)."""
    now = utcnow()
    values: dict[str, Any] = {"active": None, "ended_at": now}
    if promoted:
        values["promoted_at"] = now
    ended = db.session.execute(
        update(ShadowCandidate)
        .where(ShadowCandidate.id == candidate_id, ShadowCandidate.active == 1)
        .values(**values)
    )
    return bool(rowcount(ended))


def stop(actor: User) -> ShadowCandidate:
    """Stop the running candidate (its results stay readable). Audited."""
    candidate = active()
    if candidate is None or not _end(candidate.id, promoted=False):
        db.session.rollback()
        raise ShadowError("candidate", _("Aucun essai en cours."))
    audit.record(AuditAction.SHADOW_STOPPED, actor=actor, details={"candidate": candidate.id})
    db.session.commit()
    _forget_scorer()
    db.session.refresh(candidate)
    return candidate


def promote(actor: User) -> ShadowCandidate:
    """Make the running candidate the live settings, and end it; one audit row. Its
    thresholds and rules go through the settings service (each change in « Historique »);
    its model becomes the one every scoring process loads and switches to between two
    batches (services/live_model), without a restart."""
    candidate = active()
    if candidate is None:
        raise ShadowError("candidate", _("Aucun essai en cours."))
    if candidate.error:
        raise ShadowError(
            "candidate", _("Ce modèle n’a pas pu être chargé : il ne peut être promu.")
        )
    if not _end(candidate.id, promoted=True):
        db.session.rollback()
        raise ShadowError("candidate", _("Cet essai vient d’être arrêté ou promu."))
    if candidate.model_path is not None:
        live_model.promote(candidate, actor)
    audit.record(AuditAction.SHADOW_PROMOTED, actor=actor, details=_described(candidate))
    db.session.commit()
    if candidate.thresholds:
        admin.save_thresholds(candidate.thresholds, actor)
    if candidate.rules:
        admin.save_settings(candidate.rules, actor)
    if candidate.model_path is None:
        _forget_scorer()
    # else this process's loaded candidate (if any) is handed to its runner (take_scorer)
    db.session.refresh(candidate)
    return candidate


@dataclass(frozen=True)
class Differences:
    """What the candidate changes: per category (live, candidate) thresholds, and per rule
    (live, candidate) values; only those that differ."""

    thresholds: dict[str, tuple[dict[str, Any], dict[str, Any]]]
    rules: dict[str, tuple[Any, Any]]


def differences(candidate: ShadowCandidate) -> Differences:
    live_thresholds = admin.current_thresholds()
    live_rules = admin.current_rules()
    return Differences(
        thresholds={
            category: (live_thresholds.get(category, {}), row)
            for category, row in (candidate.thresholds or {}).items()
            if live_thresholds.get(category) != row
        },
        rules={
            key: (live_rules.get(key), value)
            for key, value in (candidate.rules or {}).items()
            if live_rules.get(key) != value
        },
    )


# --- Background ---------------------------------------------------------------------------


def _eligible(candidate: ShadowCandidate) -> list[ColumnElement[bool]]:
    """Our readers' comments scored and decided since the candidate started (an import's
    have no live decision to compare), whose text is still there."""
    return [
        Comment.status.in_(DECIDED),
        Comment.import_key.is_(None),
        Comment.removed.is_(None),
        Comment.text_erased_at.is_(None),
        CommentScore.scored_at >= candidate.started_at,
    ]


def _insert() -> Any:
    return postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert


def run_batch(limit: int) -> int:
    """Score and decide, with the candidate, up to `limit` comments it has not seen yet;
    returns how many (0: nothing to do, no candidate, or its model unavailable). Reads the
    live scores, never writes a comment: the live decisions stay as they are."""
    candidate = active()
    if candidate is None or candidate.error:
        db.session.commit()
        return 0
    seen = exists().where(
        ShadowResult.candidate_id == candidate.id, ShadowResult.comment_id == Comment.id
    )
    rows = db.session.execute(
        select(Comment.id, Comment.body, Comment.reasons, Comment.article_id,
               Comment.author_email, Comment.created_at, Comment.user_id, CommentScore.scores)
        .join(CommentScore, CommentScore.comment_id == Comment.id)
        .where(*_eligible(candidate), ~seen)
        .order_by(Comment.id)
        .limit(limit)
    ).all()  # fmt: skip
    db.session.commit()  # no transaction open while the model runs
    if not rows:
        return 0
    candidate_scores: dict[int, dict[str, float]] = {r.id: r.scores for r in rows}
    if candidate.model_path is not None:
        try:
            scorer = _scorer(candidate.model_path, candidate.hf_config)
        except (ScoringUnavailable, ValueError) as error:
            _failed(candidate.id, str(error))
            return 0
        try:
            results = scorer.score([r.body for r in rows])
        except ScoringUnavailable as error:  # the next batch tries again
            logger.warning("shadow candidate %d could not score: %s", candidate.id, error)
            return 0
        candidate_scores = {r.id: res.scores for r, res in zip(rows, results, strict=True)}
    stored = [
        decisions.Stored(
            r.id, r.body, r.article_id, r.author_email, r.reasons or [], r.created_at, r.user_id
        )
        for r in rows
    ]
    inputs = decisions.replay(
        stored,
        decisions.site(),
        decisions.site(thresholds=candidate.thresholds, values=candidate.rules),
    )
    now = utcnow()
    values = []
    for row in rows:
        live, tried = inputs[row.id]
        new = verdict(tried, candidate_scores[row.id])
        values.append(
            {
                "candidate_id": candidate.id,
                "comment_id": row.id,
                "live_outcome": verdict(live, row.scores).outcome.value,
                "outcome": new.outcome.value,
                "scores": candidate_scores[row.id],
                "reasons": [reason.as_dict() for reason in new.reasons],
                "scored_at": now,
            }
        )
    # Two runners at once (the worker and `flask shadow run`) store each comment once.
    db.session.execute(_insert()(ShadowResult).values(values).on_conflict_do_nothing())
    db.session.commit()
    return len(rows)


def _failed(candidate_id: int, error: str) -> None:
    """The candidate's model does not load here: say why, and score nothing more."""
    logger.warning("shadow candidate %d: the model does not load: %s", candidate_id, error)
    db.session.execute(
        update(ShadowCandidate)
        .where(ShadowCandidate.id == candidate_id, ShadowCandidate.error.is_(None))
        .values(error=error[:1000])
    )
    db.session.commit()


def run(batch: int = 64, limit: int | None = None) -> int:
    """Work through the candidate's backlog (`flask shadow run`); returns how many comments
    were scored and decided (at most `limit`)."""
    done = 0
    while limit is None or done < limit:
        size = batch if limit is None else min(batch, limit - done)
        count = run_batch(size)
        if not count:
            break
        done += count
    return done


# --- What the page shows ------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """Over the `decided` compared comments a moderator later approved or rejected: how often
    each side's outcome matched (approved: published; rejected: held or rejected, as the
    calibration counts it), and how many each would have published although rejected."""

    decided: int = 0
    live_agreed: int = 0
    candidate_agreed: int = 0
    live_false_publish: int = 0
    candidate_false_publish: int = 0

    @staticmethod
    def share(part: int, whole: int) -> float:
        return part / whole if whole else 0.0


@dataclass(frozen=True)
class Report:
    candidate: ShadowCandidate
    scored: int
    eligible: int
    moves: SimulationResult
    agreement: Agreement


def _agrees(outcome: str, human: str) -> bool:
    if human == AuditAction.APPROVED:
        return outcome == Outcome.PUBLISH
    return outcome != Outcome.PUBLISH


def report(candidate: ShadowCandidate, examples: int = 3) -> Report:
    """Progress (compared of eligible), the moves live → candidate with the newest examples,
    and agreement with the moderators' last decision on each compared comment."""
    eligible = db.session.scalar(
        select(func.count())
        .select_from(Comment)
        .join(CommentScore, CommentScore.comment_id == Comment.id)
        .where(*_eligible(candidate))
    )
    rows = db.session.execute(
        select(ShadowResult.comment_id, ShadowResult.live_outcome, ShadowResult.outcome,
               ShadowResult.reasons, Comment.body)
        .join(Comment, Comment.id == ShadowResult.comment_id)
        .where(ShadowResult.candidate_id == candidate.id)
        .order_by(ShadowResult.comment_id.desc())
    ).all()  # fmt: skip
    moves = tally(
        (
            Example(
                r.comment_id,
                r.body[:EXCERPT],
                Outcome(r.live_outcome),
                Outcome(r.outcome),
                tuple(Reason(**reason) for reason in r.reasons or []),
            )
            for r in rows
        ),
        examples=examples,
    )
    humans: dict[int, str] = {}
    compared = select(ShadowResult.comment_id).where(ShadowResult.candidate_id == candidate.id)
    for comment_id, action in db.session.execute(
        select(ModerationAction.comment_id, ModerationAction.action)
        .where(
            ModerationAction.comment_id.in_(compared),
            ModerationAction.action.in_(transitions.HUMAN_DECISIONS),
        )
        .order_by(ModerationAction.id)
    ):
        if comment_id is not None:
            humans[comment_id] = action  # the last one wins
    agreement = Agreement()
    for r in rows:
        human = humans.get(r.comment_id)
        if human is None:
            continue
        rejected = human == AuditAction.REJECTED
        agreement = Agreement(
            decided=agreement.decided + 1,
            live_agreed=agreement.live_agreed + _agrees(r.live_outcome, human),
            candidate_agreed=agreement.candidate_agreed + _agrees(r.outcome, human),
            live_false_publish=agreement.live_false_publish
            + (rejected and r.live_outcome == Outcome.PUBLISH),
            candidate_false_publish=agreement.candidate_false_publish
            + (rejected and r.outcome == Outcome.PUBLISH),
        )
    db.session.commit()
    return Report(candidate, len(rows), eligible or 0, moves, agreement)


def results(candidate_id: int) -> Sequence[ShadowResult]:
    """Every stored comparison of a candidate (tests, exports)."""
    return list(
        db.session.scalars(
            select(ShadowResult)
            .where(ShadowResult.candidate_id == candidate_id)
            .order_by(ShadowResult.comment_id)
        )
    )
