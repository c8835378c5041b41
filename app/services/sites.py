"""Sites and stories (issue 13): which origins may embed the comments, and the article (« story »)
behind each page of a site's CMS, created the first time the embed loads on an allowed origin.

The server never fetches the host page: a story's URL and title are what the page says, checked
against the site's origins.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from app.converters import parse_count
from app.extensions import db
from app.models import Article, Site, User
from app.services import settings
from app.services.errors import ServiceError

DEFAULT_NAME = "default"
MAX_URL_LENGTH = 2000
MAX_TITLE_LENGTH = 300
MAX_EXTERNAL_ID_LENGTH = 200
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
MAX_ORIGINS = 50
CLI_ACTOR = "ligne de commande"


class SiteError(ServiceError):
    """A site or story refused (`field` names what: `name`, `origin`, `url`, `title`, `id`);
    `code` is the API's stable code."""

    def __init__(self, field: str | None, message: str, code: str = "invalid_field") -> None:
        super().__init__(field, message)
        self.code = code


ORIGIN_REFUSED = "Ce site n’est pas autorisé à afficher ces commentaires."


def normalize_origin(value: str) -> str:
    """`https://www.journal.fr` from an origin or any URL on it (scheme and host in lower
    case, an international host name as browsers send it (punycode), default port dropped);
    SiteError when it is not an http(s) origin."""

    def refused() -> SiteError:
        return SiteError(
            "origin",
            _("Origine invalide : « %(value)s » (attendu : https://www.exemple.fr).",
              value=value.strip()[:200]),
        )  # fmt: skip

    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise refused() from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise refused()
    if parts.username is not None or parts.password is not None:
        raise refused()
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    if ":" not in host:  # not IPv6: a host name (or IPv4 address), in its ASCII form
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise refused() from None
        if not _HOST.fullmatch(host):
            raise refused()
    default = {"http": 80, "https": 443}[scheme]
    netloc = host if port in (None, default) else f"{host}:{port}"
    if ":" in host:  # IPv6
        netloc = f"[{host}]" if port in (None, default) else f"[{host}]:{port}"
    return f"{scheme}://{netloc}"


@functools.lru_cache(maxsize=4096)
def normalize_url(value: str) -> str:
    """A story's canonical URL: an absolute http(s) URL without its fragment, scheme and host
    in lower case; SiteError (`url`) otherwise. Pure, so remembered: a list page asks for the
    counts of the same URLs again and again (a refusal is not remembered)."""
    value = (value or "").strip()
    if not value:
        raise SiteError("url", "L’adresse de l’article est obligatoire.")
    if len(value) > MAX_URL_LENGTH:
        raise SiteError("url", f"L’adresse de l’article dépasse {MAX_URL_LENGTH} caractères.")
    try:
        origin = normalize_origin(value)
    except SiteError:
        raise SiteError("url", "L’adresse de l’article doit commencer par https://.") from None
    parts = urlsplit(value)
    path = parts.path or "/"
    scheme, netloc = origin.split("://", 1)
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def new_secret() -> str:
    """A fresh SSO secret: 256 random bits, as the CMS will hold it."""
    return secrets.token_urlsafe(32)


_DEFAULT = select(Site).where(Site.is_default.is_(True)).limit(1)  # built once: every request


def default_site() -> Site:
    """The site of the bundled article (made on first use when no migration made it)."""
    site = db.session.scalar(_DEFAULT)
    if site is None:
        site = Site(name=DEFAULT_NAME, origins=[], is_default=True, overrides={})
        db.session.add(site)
        try:
            db.session.commit()
        except IntegrityError:  # made at the same moment by another request
            db.session.rollback()
            site = db.session.scalar(_DEFAULT)
            assert site is not None
    return site


def site_of(article: Article) -> Site:
    return article.site if article.site is not None else default_site()


def get(name: str) -> Site | None:
    """The site of this name; None for a name no site can have (not even looked up: a NUL
    byte, say, would be an error on PostgreSQL)."""
    if not _NAME.fullmatch(name or ""):
        return None
    return db.session.scalar(select(Site).where(Site.name == name))


def all_sites() -> list[Site]:
    return list(db.session.scalars(select(Site).order_by(Site.is_default.desc(), Site.name)))


@dataclass(frozen=True)
class CreatedSite:
    site: Site
    sso_secret: str  # shown once


def create(name: str, origins: list[str], actor: User | str = CLI_ACTOR) -> CreatedSite:
    """A new site with its allowed origins (one at least) and a fresh SSO secret, recorded in
    the settings history (SiteError on a bad or taken name, or a bad origin)."""
    name = (name or "").strip().lower()
    if not _NAME.fullmatch(name):
        raise SiteError(
            "name", _("Le nom d’un site : lettres minuscules, chiffres, - ou _ (64 au plus).")
        )
    if get(name) is not None:
        raise SiteError("name", _("Un site s’appelle déjà « %(name)s ».", name=name))
    normalized = check_origins(origins)
    if not normalized:
        raise SiteError(
            "origin", _("Indiquez au moins une origine (par exemple https://www.exemple.fr).")
        )
    secret = new_secret()
    site = Site(name=name, origins=normalized, sso_secret=secret, overrides={})
    db.session.add(site)
    settings.record_change(history_key(site), None, state(site), actor)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SiteError("name", _("Un site s’appelle déjà « %(name)s ».", name=name)) from None
    return CreatedSite(site, secret)


def check_origins(origins: list[str]) -> list[str]:
    """The origins normalised, sorted, each once (SiteError naming `origin`)."""
    normalized = sorted({normalize_origin(origin) for origin in origins if origin.strip()})
    if len(normalized) > MAX_ORIGINS:
        raise SiteError("origin", _("%(max)s origines au plus par site.", max=MAX_ORIGINS))
    return normalized


def set_origins(site: Site, origins: list[str], actor: User | str = CLI_ACTOR) -> Site:
    update(site, origins, dict(site.overrides or {}), actor)
    return site


def rotate_secret(site: Site, actor: User | str = CLI_ACTOR) -> str:
    """A new SSO secret (the old one stops working at once); returned once. The history
    records that it changed, never the secret."""
    old = state(site)
    secret = new_secret()
    site.sso_secret = secret
    settings.record_change(history_key(site), old, {**state(site), "sso_rotated": True}, actor)
    db.session.commit()
    return secret


def site_for_origin(origin: str | None) -> Site | None:
    """The site that allows this origin (the `Origin` header of a browser's request)."""
    if not origin:
        return None
    try:
        wanted = normalize_origin(origin)
    except SiteError:
        return None
    for site in all_sites():
        if wanted in (site.origins or []):
            return site
    return None


def of_site(site: Site) -> ColumnElement[bool]:
    """Whether an article is one of this site's (those without a site are the default's)."""
    if site.is_default:
        return (Article.site_id == site.id) | Article.site_id.is_(None)
    return Article.site_id == site.id


def story_ids(site: Site, urls: Iterable[str]) -> dict[str, int]:
    """The ids of a site's stories by URL, as asked (one query); a URL that is not a story's,
    or not a URL, is left out."""
    hashes: dict[str, str] = {}
    for url in urls:
        try:
            hashes[url] = url_hash(normalize_url(url))
        except SiteError:
            continue
    if not hashes:
        return {}
    rows = db.session.execute(
        select(Article.url_hash, Article.id).where(
            of_site(site), Article.url_hash.in_(set(hashes.values()))
        )
    )
    found = {digest: story_id for digest, story_id in rows}
    return {url: found[digest] for url, digest in hashes.items() if digest in found}


def find_story(
    site: Site, *, url: str | None = None, external_id: str | None = None
) -> Article | None:
    """A site's story by its CMS id (first) or canonical URL; None when unknown."""
    query = select(Article)
    site_clause = of_site(site)
    if external_id:
        found = db.session.scalar(query.where(site_clause, Article.external_id == external_id))
        if found is not None:
            return found
    if url:
        return db.session.scalar(
            query.where(site_clause, Article.url_hash == url_hash(normalize_url(url)))
        )
    return None


def ensure_story(
    site: Site,
    url: str,
    title: str | None,
    external_id: str | None = None,
    *,
    any_origin: bool = False,
    commit: bool = True,
) -> tuple[Article, bool]:
    """The story of this page, created on first sight with the title the page gives: (story,
    created). SiteError when the URL is not on one of the site's origins (unless `any_origin`:
    an import names the pages of its export, whatever the site allows today), or a value is
    bad. Without `commit`, a new story is only flushed, to be committed with what the caller
    writes next (an import's first comments); the caller must have nothing else pending, as a
    story made meanwhile elsewhere rolls the transaction back."""
    canonical = normalize_url(url)
    if not any_origin and normalize_origin(canonical) not in (site.origins or []):
        raise SiteError("url", ORIGIN_REFUSED, code="origin_not_allowed")
    external_id = (external_id or "").strip() or None
    if external_id is not None and len(external_id) > MAX_EXTERNAL_ID_LENGTH:
        raise SiteError("id", f"L’identifiant dépasse {MAX_EXTERNAL_ID_LENGTH} caractères.")
    found = find_story(site, url=canonical, external_id=external_id)
    if found is not None:
        return found, False
    title = " ".join((title or "").split())[:MAX_TITLE_LENGTH] or canonical
    digest = url_hash(canonical)
    story = Article(
        slug=f"{site.name}-{digest[:16]}",
        site_id=site.id,
        url=canonical,
        url_hash=digest,
        external_id=external_id,
        title=title,
        photo_credit=None,
        body=[],
        credits=[],
    )
    db.session.add(story)
    try:
        if commit:
            db.session.commit()
        else:
            db.session.flush()
    except IntegrityError:  # the same page loaded twice at once: one story
        db.session.rollback()
        found = find_story(site, url=canonical, external_id=external_id)
        if found is None:
            raise
        return found, False
    return story, True


# --- Per-site settings, history ---------------------------------------------------------------

# What an override form sends for a switch: nothing (« comme le site par défaut »), on or off.
INHERIT, ON, OFF = "", "on", "off"


def history_key(site: Site) -> str:
    return f"site:{site.name}"


def state(site: Site) -> dict[str, Any]:
    """What the settings history keeps of a site: its origins, whether it has an SSO secret
    (never the secret) and its own settings."""
    return {
        "origins": list(site.origins or []),
        "sso": site.sso_secret is not None,
        "overrides": dict(site.overrides or {}),
    }


def parse_overrides(raw: Mapping[str, str | None]) -> tuple[dict[str, Any], dict[str, str]]:
    """A site's own settings from a form (per key of settings.SITE_KEYS: « on », « off » or
    empty for a switch; a number or empty for the longest comment), and the errors per key.
    An empty field leaves the key to the default site."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in settings.SITE_KEYS:
        text = (raw.get(key) or "").strip()
        if text == INHERIT:
            continue
        if isinstance(settings.DEFAULT_SETTINGS[key], bool):
            if text not in (ON, OFF):
                errors[key] = _("Choisissez l’une des valeurs proposées.")
            else:
                values[key] = text == ON
        else:  # the longest comment, in characters
            low, high = settings.MAX_COMMENT_LENGTH_RANGE
            number = parse_count(text, low, high)
            if number is None:
                errors[key] = _(
                    "Indiquez un nombre entier entre %(low)s et %(high)s, ou laissez vide.",
                    low=low,
                    high=high,
                )
            else:
                values[key] = number
    return values, errors


def check_overrides(site: Site, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides kept: known keys only, each of its kind (a switch: true or false; the
    longest comment: a number of characters in MAX_COMMENT_LENGTH_RANGE); the default site has
    none (its settings are the « Règles » page's)."""
    unknown = set(overrides) - set(settings.SITE_KEYS)
    if unknown:
        raise SiteError(sorted(unknown)[0], _("Ce réglage ne se choisit pas par site."))
    for key, value in overrides.items():
        if isinstance(settings.DEFAULT_SETTINGS[key], bool):
            if not isinstance(value, bool):
                raise SiteError(key, _("Choisissez l’une des valeurs proposées."))
        else:
            low, high = settings.MAX_COMMENT_LENGTH_RANGE
            if isinstance(value, str) or parse_count(value, low, high) is None:
                raise SiteError(key, _(
                    "Indiquez un nombre entier entre %(low)s et %(high)s, ou laissez vide.",
                    low=low, high=high,
                ))  # fmt: skip
    if site.is_default and overrides:
        raise SiteError(
            sorted(overrides)[0],
            _("Les réglages du site par défaut se changent dans « Règles »."),
        )
    return {key: overrides[key] for key in settings.SITE_KEYS if key in overrides}


def update(site: Site, origins: list[str], overrides: Mapping[str, Any], actor: User | str) -> bool:
    """Set a site's origins and own settings, recorded in the settings history; False when
    nothing changed. SiteError naming `origin` or the refused setting."""
    new_origins = check_origins(origins)
    new_overrides = check_overrides(site, overrides)
    old = state(site)
    if old["origins"] == new_origins and old["overrides"] == new_overrides:
        return False
    site.origins = new_origins
    site.overrides = new_overrides
    settings.record_change(history_key(site), old, state(site), actor)
    db.session.commit()
    return True


def restore(name: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
            actor: User) -> None:  # fmt: skip
    """Put back a site's origins and own settings as they were before a change (the settings
    history's « Rétablir »). A creation or a new SSO secret cannot be undone."""
    site = get(name)
    if site is None:
        raise SiteError("change", _("Ce site n’existe plus."))
    if old is None:
        raise SiteError("change", _("Un site ne se supprime pas depuis l’historique."))
    if new is not None and new.get("sso_rotated"):
        raise SiteError(
            "change",
            _("Un secret SSO ne se rétablit pas : l’ancien a été remplacé pour de bon."),
        )
    update(site, list(old.get("origins") or []), dict(old.get("overrides") or {}), actor)


def story_counts() -> dict[int, int]:
    """Stories per site id (the articles without a site count for the default site)."""
    default_id = default_site().id
    counts: dict[int, int] = {}
    for site_id, total in db.session.execute(
        select(Article.site_id, func.count()).group_by(Article.site_id)
    ):
        key = site_id if site_id is not None else default_id
        counts[key] = counts.get(key, 0) + total
    return counts


def origins_from_text(text: str | None) -> list[str]:
    """The origins an admin typed, one per line (spaces and commas also separate them)."""
    return (text or "").replace(",", " ").split()


def create_from_form(
    name: str | None, origins_text: str | None, actor: User
) -> tuple[CreatedSite | None, dict[str, str]]:
    """« Réglages › Sites »: a new site from its form (name, origins one per line): the site
    and its secret, or the errors per form field (`name`, `origins`)."""
    try:
        return create(name or "", origins_from_text(origins_text), actor), {}
    except SiteError as error:
        return None, {_form_field(error.field): error.message}


def update_from_form(
    site: Site, origins_text: str | None, raw: Mapping[str, str | None], actor: User
) -> dict[str, str]:
    """« Réglages › Sites »: a site's origins (one per line) and its own settings from its
    form, saved when all are valid; else the errors per form field (`origins` or the key)."""
    overrides, errors = parse_overrides(raw)
    try:
        origins = check_origins(origins_from_text(origins_text))
    except SiteError as error:
        errors = {_form_field(error.field): error.message, **errors}
    if errors:
        return errors
    try:
        update(site, origins, overrides, actor)
    except SiteError as error:
        return {_form_field(error.field): error.message}
    return {}


def _form_field(field: str | None) -> str:
    return "origins" if field in (None, "origin") else field
