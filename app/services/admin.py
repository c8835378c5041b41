"""Admins' use cases: read a settings form into values (with French errors naming the field),
simulate the values on stored decisions, save them with their history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from limits import parse_many
from sqlalchemy import func, select, true
from sqlalchemy.orm import selectinload

from app import formatting, labels
from app.actions import AuditAction
from app.converters import parse_count, rate_from_fields
from app.extensions import db
from app.labels import IMPORT_PREFIX
from app.models import (
    ApiClient,
    ApiFeedback,
    Article,
    Comment,
    CommentScore,
    CommentStatus,
    FeedbackDecision,
    ModerationAction,
    Site,
    User,
    utcnow,
)
from app.policy import verdict
from app.services import decisions, settings, sites, surges
from app.simulation import MIN_DECISIONS, Calibration, Replayed, SimulationResult, StorySurge
from app.simulation import calibrate as run_calibration
from app.simulation import simulate as run_simulation

RULE_FIELDS: dict[str, str] = {
    "nudge_enabled": "bool",
    "nudge_sent_anyway": "choice",
    "premoderate_all": "bool",
    "premoderate_links": "bool",
    "premoderate_first_n": "int",
    "trust_after_published": "int",
    "history_days": "int",
    "distrust_percent": "int",
    "distrust_min_rejections": "int",
    "surge_multiple": "int",
    "surge_min_comments": "int",
    "surge_window_minutes": "int",
    "surge_minutes": "int",
    "guests_allowed": "bool",
    "max_comment_length": "optional_int",
    "comment_rate_limit": "rate",
    "reports_threshold": "int",
    "reports_hide": "bool",
    "dsa_online_platform": "bool",
}
WORD_FIELDS = ("banned_words", "suspect_words", "allowed_words")
LIMITS = {
    "premoderate_first_n": (0, 1000),
    "trust_after_published": (0, 100_000),
    "history_days": (1, 365),
    "distrust_percent": (0, 100),
    "distrust_min_rejections": (1, 1000),
    "surge_multiple": (0, 100),
    "surge_min_comments": (1, 100_000),
    "surge_window_minutes": (1, 1440),
    "surge_minutes": (1, 10_080),
    "max_comment_length": settings.MAX_COMMENT_LENGTH_RANGE,
    "reports_threshold": (1, 1000),
}


@dataclass
class Parsed:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def _number(raw: str | None) -> float | None:
    try:
        return float((raw or "").strip().replace(",", "."))
    except ValueError:
        return None


def parse_thresholds(form: Mapping[str, str]) -> Parsed:
    """Every category's hold, reject and nudge thresholds (0 to 1, reject ≥ hold) and switch."""
    parsed = Parsed()
    for category in settings.category_thresholds():
        row: dict[str, Any] = {"enabled": form.get(f"{category}-enabled") == "on"}
        for name in ("hold", "reject", "nudge"):
            key = f"{category}-{name}"
            value = _number(form.get(key))
            if value is None or not 0 <= value <= 1:
                parsed.errors[key] = _("Indiquez un nombre entre 0 et 1 (par exemple 0,75).")
            row[name] = value
        if (
            f"{category}-hold" not in parsed.errors
            and f"{category}-reject" not in parsed.errors
            and row["reject"] < row["hold"]
        ):
            parsed.errors[f"{category}-reject"] = _(
                "Le seuil de rejet doit être supérieur ou égal au seuil de modération."
            )
        parsed.values[category] = row
    return parsed


def parse_rules(form: Mapping[str, str], fields: tuple[str, ...] | None = None) -> Parsed:
    """The « Règles » form (only `fields` of it when given: « Essai » tries a few)."""
    parsed = Parsed()
    for key, kind in RULE_FIELDS.items():
        if fields is not None and key not in fields:
            continue
        raw = (form.get(key) or "").strip()
        if kind == "bool":
            parsed.values[key] = raw == "on"
        elif kind == "choice":
            choices = settings.CHOICES[key]
            if raw and raw not in choices:
                parsed.errors[key] = _("Choisissez l’une des valeurs proposées.")
            else:
                parsed.values[key] = raw or choices[0]
        elif kind in ("int", "optional_int"):
            if key not in form:  # a form without this field (an older one) leaves it as it is
                parsed.values[key] = settings.get(key)
                continue
            if kind == "optional_int" and raw == "":
                parsed.values[key] = None
                continue
            low, high = LIMITS[key]
            number = parse_count(raw, low, high)
            if number is None:
                parsed.errors[key] = _(
                    "Indiquez un nombre entier entre %(low)s et %(high)s.", low=low, high=high
                )
            else:
                parsed.values[key] = number
        elif kind == "rate":
            parsed_rate = parse_rate(form, key)
            if isinstance(parsed_rate, RateError):
                parsed.errors[key] = parsed_rate.message
            else:
                parsed.values[key] = parsed_rate
    return parsed


RATE_PERIODS = ("minute", "hour", "day")  # Flask-Limiter's words, as the limit is stored
RATE_MAX = 10_000


@dataclass(frozen=True)
class RateError:
    message: str


def parse_rate(form: Mapping[str, str], key: str) -> str | None | RateError:
    """A rate limit from its two fields, `KEY-count` (a number) and `KEY-period` (minute, hour
    or day), as Flask-Limiter reads it (« 5 per minute »); None when the number is left empty
    (the server's default applies)."""
    raw = (form.get(f"{key}-count") or "").strip()
    period = (form.get(f"{key}-period") or "").strip()
    if raw == "":
        return None
    rate = rate_from_fields(raw, period, RATE_PERIODS, RATE_MAX)
    if rate is None:
        return RateError(
            _(
                "%(field)s : indiquez un nombre entier entre 1 et %(max)s et choisissez une "
                "période (minute, heure ou jour), ou laissez le nombre vide.",
                field=labels.SETTING_LABELS[key],
                max=formatting.count(RATE_MAX),
            )
        )
    return rate


def split_rate(value: str | None) -> tuple[int | None, str]:
    """A stored rate limit back as its number and period (the form's two fields)."""
    if value:
        try:
            item = parse_many(value)[0]
        except (ValueError, IndexError):
            return None, "minute"
        if item.GRANULARITY.name in RATE_PERIODS and item.multiples == 1:
            return item.amount, item.GRANULARITY.name
    return None, "minute"


def parse_words(form: Mapping[str, str]) -> Parsed:
    from app.wordlists import parse_list

    parsed = Parsed()
    for key in WORD_FIELDS:
        entries = parse_list(form.get(key) or "")
        if any(len(e) > 100 for e in entries):
            parsed.errors[key] = _("Une entrée ne peut dépasser 100 caractères.")
        elif len(entries) > 5000:
            parsed.errors[key] = _("Une liste ne peut dépasser 5 000 entrées.")
        parsed.values[key] = entries
    return parsed


def save_thresholds(values: Mapping[str, Mapping[str, Any]], actor: User) -> int:
    changed = 0
    for category, row in values.items():
        changed += settings.set_threshold(category, actor=actor, **row)
    return changed


def save_settings(values: Mapping[str, Any], actor: User) -> int:
    return sum(settings.set_value(key, value, actor) for key, value in values.items())


def current_thresholds() -> dict[str, dict[str, Any]]:
    return {
        c: {"hold": r.hold, "reject": r.reject, "nudge": r.nudge, "enabled": r.enabled}
        for c, r in settings.category_thresholds().items()
    }


def current_rules() -> dict[str, Any]:
    return {key: settings.get(key) for key in (*RULE_FIELDS, *WORD_FIELDS)}


ARTICLES_PER_PAGE = 50


@dataclass(frozen=True)
class ArticlesPage:
    """A page of « Articles », newest first: the bundled ones and the sites' stories."""

    articles: list[Article]
    page: int
    has_more: bool
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // ARTICLES_PER_PAGE))


def articles(site: Site | None = None, page: int = 1) -> ArticlesPage:
    """The articles of `site` (every site's when None), a page at a time, with their site."""
    condition = sites.of_site(site) if site is not None else true()
    total = db.session.scalar(select(func.count()).select_from(Article).where(condition)) or 0
    page = max(1, min(page, -(-total // ARTICLES_PER_PAGE) or 1))
    rows = list(
        db.session.scalars(
            select(Article)
            .options(selectinload(Article.site))
            .where(condition)
            .order_by(Article.published_at.desc(), Article.id.desc())
            .offset((page - 1) * ARTICLES_PER_PAGE)
            .limit(ARTICLES_PER_PAGE)
        )
    )
    return ArticlesPage(rows, page, page * ARTICLES_PER_PAGE < total, total)


def save_article(article: Article, form: Mapping[str, str], actor: User) -> Parsed:
    """Close comments, pre-moderate, close automatically N days after publication."""
    parsed = Parsed()
    raw = (form.get(f"a{article.id}-close_after_days") or "").strip()
    days: int | None = None
    if raw:
        days = parse_count(raw, 1, 3650)
        if days is None:
            parsed.errors[f"a{article.id}-close_after_days"] = _(
                "Indiquez un nombre de jours entre 1 et 3650, ou laissez vide."
            )
    if not parsed.ok:
        return parsed
    new = {
        "comments_open": form.get(f"a{article.id}-comments_open") == "on",
        "premoderated": form.get(f"a{article.id}-premoderated") == "on",
        "close_after_days": days,
    }
    old = {k: getattr(article, k) for k in new}
    if old != new:
        for key, value in new.items():
            setattr(article, key, value)
        settings.record_change(f"article:{article.slug}", old, new, actor)
        db.session.commit()
    parsed.values = new
    return parsed


# --- See before saving ------------------------------------------------------------------------


def simulate(
    thresholds: Mapping[str, Mapping[str, Any]] | None = None,
    rules: Mapping[str, Any] | None = None,
    size: int = 1000,
) -> SimulationResult:
    """What the last `size` decided comments would have become with these thresholds or rules.

    Replays stored scores through the policy, never the model, on inputs gathered by
    `services.decisions` (the rules, word lists and nudge applied again, the authors' history
    as it was when each comment came). The surge rule is replayed over the last
    `SURGE_REPLAY_DAYS` (`services.surges.replay`): the surges each side would have started,
    and the comments they would have held. « Before » is the same replay with the saved
    settings, so that only the proposed change shows."""
    rows = db.session.execute(
        select(Comment.id, Comment.body, Comment.reasons, Comment.article_id,
               Comment.author_email, Comment.created_at, Comment.user_id, CommentScore.scores)
        .outerjoin(CommentScore, CommentScore.comment_id == Comment.id)
        .where(Comment.status.in_(DECIDED))
        .order_by(Comment.id.desc())
        .limit(size)
    ).all()  # fmt: skip
    stored = [
        decisions.Stored(comment_id, body, article_id, email, reasons or [], created_at, user_id)
        for comment_id, body, reasons, article_id, email, created_at, user_id, _scores in rows
    ]
    before, after = decisions.site(), decisions.site(thresholds=thresholds, values=rules)
    until = utcnow()
    since = until - timedelta(days=SURGE_REPLAY_DAYS)
    surges_before, held_before = surges.replay(before.rules.surge, since, until)
    surges_after, held_after = (
        (surges_before, held_before)
        if after.rules.surge == before.rules.surge
        else surges.replay(after.rules.surge, since, until)
    )
    inputs = decisions.replay(stored, before, after, (held_before, held_after))
    replayed = [
        Replayed(
            comment_id,
            scores,
            verdict(inputs[comment_id][0], scores).outcome.value,
            excerpt=body[:120],
            inputs=inputs[comment_id][1],
        )
        for comment_id, body, _reasons, _article, _email, _at, _user, scores in rows
    ]
    return replace(
        run_simulation(replayed),
        surges_before=tuple(StorySurge(*found) for found in surges_before),
        surges_after=tuple(StorySurge(*found) for found in surges_after),
    )


# How far back « Simuler » replays the surge rule.
SURGE_REPLAY_DAYS = 7


DECIDED = (CommentStatus.PUBLISHED, CommentStatus.HELD, CommentStatus.REJECTED)


MODERATORS_SOURCE = "moderators"


def calibrate(target: float, size: int = 10_000) -> Calibration:
    """The moderators' last `size` decisions (approved or rejected) against the model's scores,
    and beside them the last `size` decisions that API clients' moderators sent us
    (Perspective's `comments:suggestscore`, from Coral), each with our model's scores of its
    text. `sources` counts them: « moderators », then each client by name."""
    rows = db.session.execute(
        select(ModerationAction.comment_id, ModerationAction.action, CommentScore.scores)
        .join(CommentScore, CommentScore.comment_id == ModerationAction.comment_id)
        .where(ModerationAction.action.in_((AuditAction.APPROVED, AuditAction.REJECTED)))
        .order_by(ModerationAction.id.desc())
        .limit(size)
    ).all()
    latest: dict[Any, tuple[dict[str, float] | None, str]] = {}
    sources: dict[str, int] = {}
    for comment_id, action, scores in rows:  # newest first: keep each comment's last decision
        if comment_id not in latest:
            latest[comment_id] = (scores, action)
            sources[MODERATORS_SOURCE] = sources.get(MODERATORS_SOURCE, 0) + 1
    feedback = db.session.execute(
        select(
            ApiFeedback.id,
            ApiFeedback.client_token,
            ApiFeedback.decision,
            ApiFeedback.scores,
            ApiClient.name,
        )
        .join(ApiClient, ApiClient.id == ApiFeedback.client_id)
        .order_by(ApiFeedback.id.desc())
        .limit(size)
    ).all()
    for row_id, token, decision, api_scores, client in feedback:
        # A client may send a comment's decision twice (approved, then rejected): its last one.
        key = ("api", client, token if token else row_id)
        if key in latest:
            continue
        human = (
            AuditAction.REJECTED if decision == FeedbackDecision.REJECTED else AuditAction.APPROVED
        )
        latest[key] = (api_scores, human)
        sources[client] = sources.get(client, 0) + 1
    # Imported comments, once scored in the background: the status they had upstream is the
    # other system's moderators' decision (published: approved; spam, trash: rejected).
    imported = db.session.execute(
        select(Comment.id, Comment.imported_from, Comment.status, CommentScore.scores)
        .join(CommentScore, CommentScore.comment_id == Comment.id)
        .where(
            Comment.imported_from.is_not(None),
            Comment.status.in_((CommentStatus.PUBLISHED, CommentStatus.REJECTED)),
            Comment.removed.is_(None),  # a placeholder is no decision
        )
        .order_by(Comment.id.desc())
        .limit(size)
    ).all()
    for comment_id, fmt, status, scores in imported:
        if comment_id in latest:  # decided here since: our moderators' decision counts
            continue
        human = AuditAction.APPROVED if status == CommentStatus.PUBLISHED else AuditAction.REJECTED
        latest[("import", comment_id)] = (scores, human)
        source = f"{IMPORT_PREFIX}{fmt}"
        sources[source] = sources.get(source, 0) + 1
    result = run_calibration(
        latest.values(),
        target=target,
        categories=list(settings.category_thresholds()),
        min_decisions=MIN_DECISIONS,
    )
    return replace(result, sources=sources)
