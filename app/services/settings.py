"""Thresholds and site settings: read here, and only here, from the database."""

from __future__ import annotations

import functools
from typing import Any

from flask import current_app, g
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import CategoryThreshold, SettingChange, Site, SiteSetting, User
from app.policy import Threshold
from app.rules import Rules
from app.services.errors import ServiceError
from app.surge import SurgeRule
from app.wordlists import WordLists

# The defaults a new site starts with (the initial data migration stores the same values).
# Hold at or above `hold`, reject at or above `reject`, nudge the author at or above `nudge`.
DEFAULT_THRESHOLDS: dict[str, dict[str, float]] = {
    "toxicity": {"hold": 0.50, "reject": 0.90, "nudge": 0.50},
    "severe_toxicity": {"hold": 0.30, "reject": 0.60, "nudge": 0.30},
    "obscene": {"hold": 0.60, "reject": 0.95, "nudge": 0.60},
    "identity_attack": {"hold": 0.40, "reject": 0.80, "nudge": 0.40},
    "insult": {"hold": 0.50, "reject": 0.90, "nudge": 0.50},
    "threat": {"hold": 0.30, "reject": 0.80, "nudge": 0.30},
    "sexual_explicit": {"hold": 0.50, "reject": 0.90, "nudge": 0.50},
}

DEFAULT_SETTINGS: dict[str, Any] = {
    # Ask the author to reconsider before a comment that crosses a nudge threshold is sent.
    "nudge_enabled": True,
    # A comment its author sends as it is after a nudge: « moderator », held for a moderator
    # whatever its scores (what the nudge promises, as Coral does); « thresholds », rejected
    # when it crosses a reject threshold. Banned words reject it in both cases.
    "nudge_sent_anyway": "moderator",
    # Readers' reports that send a comment to « Signalés », and whether it is hidden meanwhile.
    "reports_threshold": 3,
    "reports_hide": False,
    # Site rules: hold every comment; hold comments with links; hold a reader's first N
    # comments (0: off); let guests post, or require an account.
    "premoderate_all": False,
    "premoderate_links": False,
    "premoderate_first_n": 0,
    "guests_allowed": True,
    # Trust and history (app/rules.py): a signed-in reader with this many published comments
    # and no rejection in `history_days` has borderline comments published (0: off); a reader
    # whose rejections there reach `distrust_min_rejections` and `distrust_percent` % of their
    # decided comments is pre-moderated until they fall below (0: off).
    "trust_after_published": 0,
    "history_days": 30,
    "distrust_percent": 50,
    "distrust_min_rejections": 3,
    # Surges (app/surge.py): a story pre-moderated for `surge_minutes` when its last
    # `surge_window_minutes` hold `surge_min_comments` or more comments and `surge_multiple` ×
    # its usual rate (or × the usual share held or rejected). 0: off.
    "surge_multiple": 5,
    "surge_min_comments": 50,
    "surge_window_minutes": 10,
    "surge_minutes": 60,
    # None: the server's COMMENT_MAX_LENGTH and COMMENT_RATE_LIMIT apply.
    "max_comment_length": None,
    "comment_rate_limit": None,
    # Word lists (see app/wordlists.py): banned words reject, suspect words hold, allowed
    # words are exceptions to both.
    "banned_words": [],
    "suspect_words": [],
    "allowed_words": [],
    # The site is an « online platform » under the DSA (it publishes what readers write, for
    # the public): authors may then complain against a decision (Art. 20), from its statement.
    "dsa_online_platform": False,
}


# The settings a site may decide for itself (`Site.overrides`, edited in « Réglages › Sites »):
# who may post, the nudge, and what a comment may be. The others (thresholds, word lists,
# reports, rates) are the newsroom's, the same on every site.
SITE_KEYS: tuple[str, ...] = (
    "guests_allowed",
    "nudge_enabled",
    "premoderate_all",
    "max_comment_length",
)


# The longest comment an admin may set (« Règles », or a site's own), in characters.
MAX_COMMENT_LENGTH_RANGE = (50, 20000)

# Settings that take one of a few values (the first is the default).
SENT_ANYWAY_MODERATOR = "moderator"
SENT_ANYWAY_THRESHOLDS = "thresholds"
CHOICES: dict[str, tuple[str, ...]] = {
    "nudge_sent_anyway": (SENT_ANYWAY_MODERATOR, SENT_ANYWAY_THRESHOLDS),
}


class SettingsError(ServiceError):
    """A value an admin entered is refused; `field` names the field, the message is French."""


# Built once: read by every request that posts and every decision.
_THRESHOLDS = select(CategoryThreshold)
_SETTINGS = select(SiteSetting)


def category_thresholds() -> dict[str, CategoryThreshold]:
    """Every category's row; a category missing from the database gets its default."""
    rows = {row.category: row for row in db.session.scalars(_THRESHOLDS)}
    for category, values in DEFAULT_THRESHOLDS.items():
        rows.setdefault(category, CategoryThreshold(category=category, enabled=True, **values))
    return rows


def thresholds() -> dict[str, Threshold]:
    return {c: Threshold(hold=h, reject=r, enabled=on) for c, (h, r, _, on) in _limits().items()}


def _limits() -> dict[str, tuple[float, float, float, bool]]:
    """Every category's (hold, reject, nudge, enabled), read once per request or app context
    (a decision reads them twice: thresholds, and nudge thresholds)."""
    stored = g.get("_thresholds")
    if stored is None:
        stored = {
            c: (r.hold, r.reject, r.nudge, r.enabled) for c, r in category_thresholds().items()
        }
        g._thresholds = stored
    return stored


def nudge_thresholds(
    enabled: bool | None = None, site: Site | None = None
) -> dict[str, float] | None:
    """Per enabled category, the score at which the author is nudged; None when nudges are off
    (on `site`; `enabled`: the « nudge_enabled » value being tried instead of the saved one)."""
    if not (get("nudge_enabled", site) if enabled is None else enabled):
        return None
    return {c: nudge for c, (_, _, nudge, on) in _limits().items() if on}


def get(key: str, site: Site | None = None) -> Any:
    """A site setting (its default when never set); with `site`, that site's own value when it
    overrides this key (one of SITE_KEYS). All settings are read in one query, once per request
    or app context."""
    if site is not None and key in SITE_KEYS and key in (site.overrides or {}):
        return site.overrides[key]
    stored = g.get("_site_settings")
    if stored is None:
        stored = {row.key: row.value for row in db.session.scalars(_SETTINGS)}
        g._site_settings = stored
    return stored[key] if key in stored else DEFAULT_SETTINGS[key]


def set_value(key: str, value: Any, actor: User | str = "ligne de commande") -> bool:
    """Store a site setting and its history (in one transaction). Returns False when the value
    was already that."""
    if key not in DEFAULT_SETTINGS:
        raise KeyError(key)
    if key in CHOICES and value not in CHOICES[key]:
        raise SettingsError(key, _("Choisissez l’une des valeurs proposées."))
    old = get(key)
    if old == value:
        return False
    row = db.session.get(SiteSetting, key)
    if row is None:
        db.session.add(SiteSetting(key=key, value=value))
    else:
        row.value = value
    record_change(key, old, value, actor)
    db.session.commit()
    g.pop("_site_settings", None)
    return True


def set_threshold(
    category: str,
    hold: float,
    reject: float,
    nudge: float,
    enabled: bool,
    actor: User | str,
) -> bool:
    """Validate and store one category's thresholds, with their history."""
    for name, value in (("hold", hold), ("reject", reject), ("nudge", nudge)):
        if not 0 <= value <= 1:
            raise SettingsError(name, _("Un seuil est un nombre entre 0 et 1."))
    if reject < hold:
        raise SettingsError(
            "reject", _("Le seuil de rejet doit être supérieur ou égal au seuil de modération.")
        )
    row = db.session.get(CategoryThreshold, category)
    new = {"hold": hold, "reject": reject, "nudge": nudge, "enabled": enabled}
    old = _threshold_value(row) if row is not None else None
    if old == new:
        return False
    if row is None:
        db.session.add(CategoryThreshold(category=category, **new))
    else:
        row.hold, row.reject, row.nudge, row.enabled = hold, reject, nudge, enabled
    record_change(f"threshold:{category}", old, new, actor)
    db.session.commit()
    g.pop("_thresholds", None)
    return True


def _threshold_value(row: CategoryThreshold) -> dict[str, Any]:
    return {"hold": row.hold, "reject": row.reject, "nudge": row.nudge, "enabled": row.enabled}


def record_change(key: str, old: Any, new: Any, actor: User | str) -> None:
    db.session.add(
        SettingChange(
            key=key,
            old_value=old,
            new_value=new,
            actor_id=actor.id if isinstance(actor, User) else None,
            actor=actor.display_name if isinstance(actor, User) else actor,
        )
    )


def history(limit: int = 200) -> list[SettingChange]:
    return list(
        db.session.scalars(select(SettingChange).order_by(SettingChange.id.desc()).limit(limit))
    )


def restore(change_id: int, actor: User) -> str:
    """Put back the value a setting had before change `change_id` (a new change, recorded)."""
    change = db.session.get(SettingChange, change_id)
    if change is None:
        raise SettingsError("change", _("Cette modification n’existe pas."))
    if change.key.startswith("threshold:"):
        old = change.old_value
        if old is None:
            raise SettingsError("change", _("Ce seuil n’avait pas de valeur antérieure."))
        set_threshold(change.key.split(":", 1)[1], actor=actor, **old)
    elif change.key.startswith("client:"):
        raise SettingsError(
            "change", _("Un client d’API ne se rétablit pas : créez-en un nouveau.")
        )
    elif change.key.startswith("article:"):
        _restore_article(change.key.split(":", 1)[1], change.old_value, actor)
    elif change.key.startswith("site:"):
        from app.services import sites

        try:
            sites.restore(change.key.split(":", 1)[1], change.old_value, change.new_value, actor)
        except sites.SiteError as error:
            raise SettingsError("change", error.message) from None
    else:
        set_value(change.key, change.old_value, actor)
    return change.key


def sent_anyway_reviewed(value: str | None = None) -> bool:
    """Whether a comment sent anyway after a nudge always goes to a moderator (never rejected
    by its scores); `value`: the « nudge_sent_anyway » being tried instead of the saved one."""
    return (value or get("nudge_sent_anyway")) != SENT_ANYWAY_THRESHOLDS


def max_comment_length(site: Site | None = None) -> int:
    """The longest comment accepted (on `site`, when it decides its own)."""
    return get("max_comment_length", site) or current_app.config["COMMENT_MAX_LENGTH"]


def comment_rate_limit() -> str:
    return get("comment_rate_limit") or current_app.config["COMMENT_RATE_LIMIT"]


def ensure_defaults() -> None:
    """Store the default thresholds and settings that are missing (safe to run again)."""
    present = set(db.session.scalars(select(CategoryThreshold.category)))
    for category, values in DEFAULT_THRESHOLDS.items():
        if category not in present:
            db.session.add(CategoryThreshold(category=category, enabled=True, **values))
    for key, value in DEFAULT_SETTINGS.items():
        if db.session.get(SiteSetting, key) is None:
            db.session.add(SiteSetting(key=key, value=value))
    db.session.commit()
    g.pop("_site_settings", None)
    g.pop("_thresholds", None)


def rules(overrides: dict[str, Any] | None = None, site: Site | None = None) -> Rules:
    """The site rules and word lists as the policy sees them, on `site` when given
    (`overrides`: values being tried in the admins' simulation, not saved)."""
    values = {key: get(key, site) for key in RULE_KEYS}
    values.update(overrides or {})
    return Rules(
        premoderate_all=bool(values["premoderate_all"]),
        premoderate_links=bool(values["premoderate_links"]),
        premoderate_first_n=int(values["premoderate_first_n"] or 0),
        trust_after_published=int(values["trust_after_published"] or 0),
        history_days=int(values["history_days"] or 1),
        distrust_percent=int(values["distrust_percent"] or 0),
        distrust_min_rejections=int(values["distrust_min_rejections"] or 1),
        surge=SurgeRule(
            multiple=int(values["surge_multiple"] or 0),
            min_comments=int(values["surge_min_comments"] or 1),
            window_minutes=int(values["surge_window_minutes"] or 1),
            minutes=int(values["surge_minutes"] or 1),
        ),
        words=_compiled_words(
            tuple(values["banned_words"]),
            tuple(values["suspect_words"]),
            tuple(values["allowed_words"]),
        ),
    )


RULE_KEYS = (
    "premoderate_all",
    "premoderate_links",
    "premoderate_first_n",
    "trust_after_published",
    "history_days",
    "distrust_percent",
    "distrust_min_rejections",
    "surge_multiple",
    "surge_min_comments",
    "surge_window_minutes",
    "surge_minutes",
    "banned_words",
    "suspect_words",
    "allowed_words",
)


@functools.lru_cache(maxsize=8)
def _compiled_words(
    banned: tuple[str, ...], suspect: tuple[str, ...], allowed: tuple[str, ...]
) -> WordLists | None:
    if not banned and not suspect:
        return None
    return WordLists(banned, suspect, allowed)


def _restore_article(slug: str, old: dict[str, Any] | None, actor: User) -> None:
    from app.models import Article

    article = db.session.scalar(select(Article).where(Article.slug == slug))
    if article is None or old is None:
        raise SettingsError("change", _("Cet article n’existe plus."))
    new = {k: getattr(article, k) for k in old}
    for key, value in old.items():
        setattr(article, key, value)
    record_change(f"article:{slug}", new, old, actor)
    db.session.commit()
