"""Sites and stories (issue 13): which origins may embed the comments, and the article (« story »)
behind each page of a site's CMS, created the first time the embed loads on an allowed origin.

The server never fetches the host page: a story's URL and title are what the page says, checked
against the site's origins.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from app.extensions import db
from app.models import Article, Site
from app.services.errors import ServiceError

DEFAULT_NAME = "default"
MAX_URL_LENGTH = 2000
MAX_TITLE_LENGTH = 300
MAX_EXTERNAL_ID_LENGTH = 200
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class SiteError(ServiceError):
    """A site or story refused (`field` names what: `name`, `origin`, `url`, `title`, `id`);
    `code` is the API's stable code."""

    def __init__(self, field: str | None, message: str, code: str = "invalid_field") -> None:
        super().__init__(field, message)
        self.code = code


ORIGIN_REFUSED = "Ce site n’est pas autorisé à afficher ces commentaires."


def normalize_origin(value: str) -> str:
    """`https://www.journal.fr` from an origin or any URL on it (scheme and host in lower
    case, default port dropped); SiteError when it is not an http(s) origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        raise SiteError("origin", f"Origine invalide : {value!r}.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SiteError(
            "origin", f"Origine invalide : {value!r} (attendu : https://www.exemple.fr)."
        )
    scheme, host = parts.scheme.lower(), parts.hostname.lower()
    default = {"http": 80, "https": 443}[scheme]
    netloc = host if port in (None, default) else f"{host}:{port}"
    if ":" in host:  # IPv6
        netloc = f"[{host}]" if port in (None, default) else f"[{host}]:{port}"
    return f"{scheme}://{netloc}"


def normalize_url(value: str) -> str:
    """A story's canonical URL: an absolute http(s) URL without its fragment, scheme and host
    in lower case; SiteError (`url`) otherwise."""
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


def default_site() -> Site:
    """The site of the bundled article (made on first use when no migration made it)."""
    site = db.session.scalar(select(Site).where(Site.is_default.is_(True)).limit(1))
    if site is None:
        site = Site(name=DEFAULT_NAME, origins=[], is_default=True, overrides={})
        db.session.add(site)
        try:
            db.session.commit()
        except IntegrityError:  # made at the same moment by another request
            db.session.rollback()
            site = db.session.scalar(select(Site).where(Site.is_default.is_(True)).limit(1))
            assert site is not None
    return site


def site_of(article: Article) -> Site:
    return article.site if article.site is not None else default_site()


def get(name: str) -> Site | None:
    return db.session.scalar(select(Site).where(Site.name == name))


def all_sites() -> list[Site]:
    return list(db.session.scalars(select(Site).order_by(Site.is_default.desc(), Site.name)))


@dataclass(frozen=True)
class CreatedSite:
    site: Site
    sso_secret: str  # shown once


def create(name: str, origins: list[str]) -> CreatedSite:
    """A new site with its allowed origins and a fresh SSO secret (SiteError on a bad or
    taken name, or a bad origin)."""
    name = (name or "").strip().lower()
    if not _NAME.match(name):
        raise SiteError(
            "name", "Le nom d’un site : lettres minuscules, chiffres, - ou _ (64 au plus)."
        )
    if get(name) is not None:
        raise SiteError("name", f"Un site s’appelle déjà « {name} ».")
    normalized = sorted({normalize_origin(origin) for origin in origins})
    secret = new_secret()
    site = Site(name=name, origins=normalized, sso_secret=secret, overrides={})
    db.session.add(site)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SiteError("name", f"Un site s’appelle déjà « {name} ».") from None
    return CreatedSite(site, secret)


def set_origins(site: Site, origins: list[str]) -> Site:
    site.origins = sorted({normalize_origin(origin) for origin in origins})
    db.session.commit()
    return site


def rotate_secret(site: Site) -> str:
    """A new SSO secret (the old one stops working at once); returned once."""
    secret = new_secret()
    site.sso_secret = secret
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


def _of_site(site: Site) -> ColumnElement[bool]:
    """The stories of `site` (the default site's include the articles written without one)."""
    if not site.is_default:
        return Article.site_id == site.id
    return or_(Article.site_id == site.id, Article.site_id.is_(None))


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
            _of_site(site), Article.url_hash.in_(set(hashes.values()))
        )
    )
    found = {digest: story_id for digest, story_id in rows}
    return {url: found[digest] for url, digest in hashes.items() if digest in found}


def find_story(
    site: Site, *, url: str | None = None, external_id: str | None = None
) -> Article | None:
    """A site's story by its CMS id (first) or canonical URL; None when unknown."""
    query = select(Article)
    site_clause = _of_site(site)
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
    site: Site, url: str, title: str | None, external_id: str | None = None
) -> tuple[Article, bool]:
    """The story of this page, created on first sight with the title the page gives: (story,
    created). SiteError when the URL is not on one of the site's origins, or a value is bad."""
    canonical = normalize_url(url)
    if normalize_origin(canonical) not in (site.origins or []):
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
        db.session.commit()
    except IntegrityError:  # the same page loaded twice at once: one story
        db.session.rollback()
        found = find_story(site, url=canonical, external_id=external_id)
        if found is None:
            raise
        return found, False
    return story, True
