"""API clients: the sites and CMSs that call our API with a key (Coral, a newsroom's CMS).

A key is shown once, when its client is created, and never stored: the database keeps its
SHA-256 and its first characters (`key_prefix`, not secret) to find the row. Every call
checks the key in the database (no cache in the process), so that a revoke holds at once in
every process. Creations and revocations go to the settings history (`client:<name>`): they
are changes of the site's configuration made by an admin, which is what that history shows
(who, when, before and after); the audit trail is about comments and readers.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
import weakref
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import gettext as _
from limits import parse_many
from sqlalchemy import case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app import formatting
from app.converters import rate_from_fields
from app.extensions import db
from app.models import ApiClient, ApiClientUsage, ApiScope, StaffToken, User, as_utc, utcnow
from app.services import quotas
from app.services.errors import ServiceError
from app.services.settings import record_change

KEY_PREFIX = "mod_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8  # what `key_prefix` keeps: « mod_ » and 8 characters
DEFAULT_QUOTA = "10 per second"
NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,200}")  # what a key can be: `mod_` and base64url
# `last_used_at` is written at most this often per client (one UPDATE, not one per call).
LAST_USED_EVERY = timedelta(minutes=1)
CLI_ACTOR = "ligne de commande"

# A row found by a secret key kept hashed: an API client's, or a staff account's token.
Keyed = TypeVar("Keyed", ApiClient, StaffToken)


class ClientError(ServiceError):
    """A client refused: a bad or taken name, a bad quota, an unknown client."""


class KeyRefused(ServiceError):
    """A call's key is missing, unknown or revoked. `code` says which (« missing_key »,
    « unknown_key », « revoked_key »); `client` is the revoked key's client (only a caller
    holding the whole key learns that it was revoked), else None."""

    def __init__(
        self,
        field: str | None,
        message: str,
        code: str = "unknown_key",
        client: ApiClient | None = None,
    ) -> None:
        super().__init__(field, message)
        self.code = code
        self.client = client


@dataclass(frozen=True)
class NewClient:
    """A client just created and its key, which is never shown again."""

    client: ApiClient
    key: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(prefix: str) -> tuple[str, str, str]:
    """A new secret key starting with `prefix` (4 characters, e.g. « mod_ »), what is stored
    of it: (key, its `key_prefix`, its `key_hash`). The key is shown once, never stored."""
    key = prefix + secrets.token_urlsafe(32)
    return key, key[:PREFIX_LENGTH], _hash(key)


def find_by_key(model: type[Keyed], key: str) -> Keyed | None:
    """The row of `model` whose secret `key` this is, or None. A key that is not one of ours
    is never looked up (a NUL byte, 1 MB…); the hashes are compared in constant time, and an
    unknown prefix costs a comparison too."""
    if not KEY_RE.fullmatch(key):
        return None
    row = db.session.scalar(select(model).where(model.key_prefix == key[:PREFIX_LENGTH]))
    expected = row.key_hash if row is not None else _hash("")
    if not hmac.compare_digest(_hash(key), expected) or row is None:
        return None
    return row


def check_quota(quota: str) -> str:
    """The quota cleaned, or ClientError when Flask-Limiter cannot read it."""
    quota = quota.strip()
    try:
        if not quota or not parse_many(quota):
            raise ValueError(quota)
    except ValueError:
        raise ClientError(
            "quota", _("Quota illisible : écrivez par exemple « 10 per second »."),
        ) from None  # fmt: skip
    return quota


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_RE.fullmatch(name):
        raise ClientError(
            "name",
            _("Nom invalide : minuscules, chiffres et tirets, 64 caractères au plus."),
        )
    return name


# The periods the clients page offers for a quota (Flask-Limiter's words, as stored).
QUOTA_PERIODS = ("second", "minute", "hour", "day")
QUOTA_MAX = 100_000
CORAL_SECRET_MAX = 500


def quota_from_fields(count: str | None, period: str | None) -> str:
    """A quota from the page's two fields, a number (1 to QUOTA_MAX) and a period: « 10 per
    second ». ClientError naming `quota` otherwise."""
    quota = rate_from_fields(count, period, QUOTA_PERIODS, QUOTA_MAX)
    if quota is None:
        raise ClientError(
            "quota",
            _(
                "Quota : indiquez un nombre entier entre 1 et %(max)s et choisissez une période.",
                max=formatting.count(QUOTA_MAX),
            ),
        )
    return quota


def check_coral_secret(secret: str) -> str:
    """Coral's signing secret, trimmed (spaces around it come from a copy, not from Coral), or
    ClientError: empty, too long, or holding control characters."""
    secret = secret.strip()
    if not secret:
        raise ClientError("coral_secret", _("Le secret Coral est vide."))
    if len(secret) > CORAL_SECRET_MAX or any(ord(c) < 32 or ord(c) == 127 for c in secret):
        raise ClientError(
            "coral_secret",
            _(
                "Secret Coral invalide : %(max)s caractères au plus, sans caractère de contrôle.",
                max=CORAL_SECRET_MAX,
            ),
        )
    return secret


def find(name: str) -> ApiClient | None:
    """The client of this name; None for a name no client can have (not even looked up: a NUL
    byte, say, would be an error on PostgreSQL)."""
    name = name.strip()
    if not NAME_RE.fullmatch(name):
        return None
    return db.session.scalar(select(ApiClient).where(ApiClient.name == name))


def check_scopes(scopes: list[str]) -> list[str]:
    """The scopes, each an ApiScope, sorted and once each; ClientError naming `scope`."""
    unknown = sorted(set(scopes) - set(ApiScope))
    if unknown:
        raise ClientError(
            "scope",
            _("Portée inconnue : %(scope)s (connue : %(known)s).", scope=unknown[0],
              known=", ".join(ApiScope)),
        )  # fmt: skip
    return sorted(set(scopes))


def has_scope(client: ApiClient, scope: ApiScope) -> bool:
    return scope in (client.scopes or [])


def create(
    name: str,
    quota: str = DEFAULT_QUOTA,
    coral_secret: str | None = None,
    actor: User | str = CLI_ACTOR,
    scopes: list[str] | None = None,
) -> NewClient:
    """A new client and its key (returned here only), with `scopes` (ApiScope values; none:
    it scores texts). ClientError for a bad or taken name, a bad quota or scope or an empty
    Coral secret."""
    name, quota = check_name(name), check_quota(quota)
    granted = check_scopes(scopes or [])
    if coral_secret is not None:
        coral_secret = check_coral_secret(coral_secret)
    if find(name) is not None:
        raise ClientError("name", _("Un client porte déjà ce nom."))
    key, key_prefix, key_hash = new_key(KEY_PREFIX)
    client = ApiClient(
        name=name,
        key_prefix=key_prefix,
        key_hash=key_hash,
        quota=quota,
        coral_secret=coral_secret,
        created_by=actor.display_name if isinstance(actor, User) else actor,
        scopes=granted,
    )
    db.session.add(client)
    record_change(f"client:{name}", None, _state(client), actor)
    try:
        db.session.commit()
    except IntegrityError:  # the same name created a moment earlier (or, once in 2^48, a prefix)
        db.session.rollback()
        raise ClientError("name", _("Un client porte déjà ce nom.")) from None
    return NewClient(client, key)


def _state(client: ApiClient) -> dict[str, Any]:
    """What the settings history keeps of a client: never its key nor its secret."""
    return {
        "quota": client.quota,
        "coral": client.coral_secret is not None,
        "revoked": client.revoked_at is not None,
        **({"scopes": list(client.scopes)} if client.scopes else {}),
    }


def all_clients() -> list[ApiClient]:
    return list(db.session.scalars(select(ApiClient).order_by(ApiClient.name)))


def _active(name: str) -> ApiClient:
    """The client of this name, not revoked; ClientError otherwise."""
    client = find(name)
    if client is None:
        raise ClientError("name", _("Aucun client ne porte ce nom."))
    if client.revoked_at is not None:
        raise ClientError("name", _("Ce client est déjà révoqué."))
    return client


def revoke(name: str, actor: User | str = CLI_ACTOR) -> ApiClient:
    """Refuse the client's key from now on, in every process. ClientError when there is no
    such client, or it is already revoked."""
    client = _active(name)
    old = _state(client)
    client.revoked_at = utcnow()
    record_change(f"client:{client.name}", old, _state(client), actor)
    db.session.commit()
    return client


def set_coral_secret(name: str, secret: str, actor: User | str = CLI_ACTOR) -> ApiClient:
    """Set or replace a client's Coral signing secret (Coral rotates it: both secrets sign its
    requests for a while, so the change never refuses a request). ClientError for an unknown
    or revoked client, or a bad secret (`check_coral_secret`). The settings history notes the
    change, never the secret."""
    client = _active(name)
    secret = check_coral_secret(secret)
    old = _state(client)
    client.coral_secret = secret
    record_change(
        f"client:{client.name}", old, {**_state(client), "coral_secret_changed": True}, actor
    )
    db.session.commit()
    return client


def authenticate(key: str | None) -> ApiClient:
    """The client whose key this is, read from the database on every call; KeyRefused for a
    missing, unknown or revoked key. The hashes are compared in constant time."""
    if not key:
        raise KeyRefused("key", _("Clé d’API absente."), "missing_key")
    client = find_by_key(ApiClient, key)
    if client is None:
        raise KeyRefused("key", _("Clé d’API inconnue."), "unknown_key")
    if client.revoked_at is not None:
        raise KeyRefused("key", _("Cette clé d’API a été révoquée."), "revoked_key", client)
    touch(client)
    return client


def touch(row: Keyed) -> None:
    """Note a key's last use, in one conditional UPDATE at most once a minute."""
    now = utcnow()
    if row.last_used_at is not None and as_utc(row.last_used_at) > now - LAST_USED_EVERY:
        return
    model = type(row)
    db.session.execute(
        update(model)
        .where(model.id == row.id)
        .where(or_(model.last_used_at.is_(None), model.last_used_at < now - LAST_USED_EVERY))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def take_call(client: ApiClient) -> quotas.Hits:
    """Count one call on the client's quota; quotas.QuotaExceeded (with `retry_after`) when
    the client has used it up."""
    return quotas.take_client_call(client.id, client.quota)


def record_call(client: ApiClient, status: int, error: str | None = None) -> None:
    """Count one call of this client for « Réglages » (its usage and its errors): the HTTP
    status answered and, for an error, its stable code (« PERMISSION_DENIED », « quota »…).
    A status of 400 or more counts as an error (with `error`, or the status, as its code).

    Cheap: the call is added to this process's counts in memory, and at most every
    `API_USAGE_FLUSH_SECONDS` one upsert per client and day adds them to the database (the
    counts of every process add up there). Never raises: counting must not break an answer."""
    try:
        _usage().add(client.id, status, error)
    except Exception:  # never into the answer; nothing personal to log (ids and codes only)
        logging.getLogger(__name__).warning("API usage not counted", exc_info=True)


def flush_usage() -> None:
    """Write this process's pending counts now (the clients page does, before it reads)."""
    try:
        _usage().flush(force=True)
    except Exception:
        logging.getLogger(__name__).warning("API usage not written", exc_info=True)


@dataclass
class _Pending:
    calls: int = 0
    errors: int = 0
    last_error: str | None = None
    last_error_status: int | None = None
    last_error_at: datetime | None = None

    def merge(self, newer: _Pending) -> None:
        """Add `newer` (counted after these) to these counts."""
        self.calls += newer.calls
        self.errors += newer.errors
        if newer.last_error_at is not None:
            self.last_error = newer.last_error
            self.last_error_status = newer.last_error_status
            self.last_error_at = newer.last_error_at


class _Usage:
    """One app's counts in this process, per (client id, day), until they are written."""

    def __init__(self, app: Flask) -> None:
        self._app = weakref.ref(app)
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, date], _Pending] = {}
        self._written_at = time.monotonic()
        self._timer: threading.Timer | None = None
        self.every = float(app.config.get("API_USAGE_FLUSH_SECONDS", 1.0))
        self.zone = ZoneInfo(app.config.get("SITE_TIMEZONE", "Europe/Paris"))
        atexit.register(_flush_at_exit, weakref.ref(self))

    def add(self, client_id: int, status: int, error: str | None) -> None:
        now = utcnow()
        key = (client_id, now.astimezone(self.zone).date())
        with self._lock:
            counts = self._pending.setdefault(key, _Pending())
            counts.calls += 1
            if status >= 400:
                counts.errors += 1
                counts.last_error = (error or str(status))[:64]
                counts.last_error_status = status
                counts.last_error_at = now
        self.flush()
        self._schedule()

    def _schedule(self) -> None:
        """Counts still pending (no call came since) are written `every` seconds later by a
        timer, so that the page shows them even when this process gets no other call."""
        if self.every <= 0:
            return
        with self._lock:
            if self._timer is not None or not self._pending:
                return
            self._timer = threading.Timer(self.every, self._on_timer)
            self._timer.daemon = True
            timer = self._timer
        timer.start()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
        try:
            self.flush_outside()
        except Exception:  # kept for the next write; nothing personal to log
            logging.getLogger(__name__).warning("API usage not written", exc_info=True)
        self._schedule()

    def flush(self, *, force: bool = False) -> None:
        """Write the pending counts when the last write is `every` seconds old (or `force`):
        one thread takes them all and writes them, one upsert per client and day; on a
        failure they go back, to be added to the next write."""
        with self._lock:
            if not self._pending or (
                not force and time.monotonic() - self._written_at < self.every
            ):
                return
            taken, self._pending = self._pending, {}
            self._written_at = time.monotonic()
        try:
            _write(taken)
        except Exception:
            with self._lock:
                for key, counts in taken.items():
                    later = self._pending.get(key)
                    if later is not None:
                        counts.merge(later)
                    self._pending[key] = counts
            raise

    def flush_outside(self) -> None:
        app = self._app()
        if app is not None and self._pending:
            with app.app_context():
                self.flush(force=True)


def _flush_at_exit(usage: weakref.ref[_Usage]) -> None:
    found = usage()
    if found is not None:
        with contextlib.suppress(Exception):  # the database may be gone at exit
            found.flush_outside()


_usage_lock = threading.Lock()


def _usage() -> _Usage:
    """The current app's counts (one per app: tests build several apps in one process)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("api_usage")
    if found is None:
        with _usage_lock:
            found = app.extensions.get("api_usage")
            if found is None:
                found = app.extensions["api_usage"] = _Usage(app)
    return cast(_Usage, found)


def _write(taken: dict[tuple[int, date], _Pending]) -> None:
    """Add the counts to `api_client_usage`, one INSERT … ON CONFLICT DO UPDATE per client and
    day (SQLite and PostgreSQL), in a transaction of its own: the request's session (and
    whatever it has not committed) is left alone."""
    row = ApiClientUsage
    dialect = db.engine.dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    with db.engine.begin() as connection:
        for (client_id, day), counts in sorted(taken.items()):
            statement = insert(row).values(
                client_id=client_id, day=day, calls=counts.calls, errors=counts.errors,
                last_error=counts.last_error, last_error_status=counts.last_error_status,
                last_error_at=counts.last_error_at,
            )  # fmt: skip
            new = statement.excluded
            newer = new.last_error_at.is_not(None)
            statement = statement.on_conflict_do_update(
                index_elements=["client_id", "day"],
                set_={
                    "calls": row.calls + new.calls,
                    "errors": row.errors + new.errors,
                    "last_error": case((newer, new.last_error), else_=row.last_error),
                    "last_error_status": case(
                        (newer, new.last_error_status), else_=row.last_error_status
                    ),
                    "last_error_at": case((newer, new.last_error_at), else_=row.last_error_at),
                },
            )
            connection.execute(statement)


def usage_day(when: datetime | None = None) -> date:
    """The day a call counts on: its date in the site's time zone (SITE_TIMEZONE)."""
    zone = ZoneInfo(current_app.config.get("SITE_TIMEZONE", "Europe/Paris"))
    return (when or utcnow()).astimezone(zone).date()


@dataclass
class Usage:
    """A client's calls and errors, today and over the last 7 days (today included), and its
    last error (whenever it was)."""

    calls_today: int = 0
    errors_today: int = 0
    calls_week: int = 0
    errors_week: int = 0
    last_error: str | None = None
    last_error_status: int | None = None
    last_error_at: datetime | None = None


def usage(days: int = 7) -> dict[int, Usage]:
    """Every client's usage, by client id (this process's pending counts written first; other
    processes' are at most `API_USAGE_FLUSH_SECONDS` behind). Two queries."""
    flush_usage()
    today = usage_day()
    since = today - timedelta(days=days - 1)
    found: dict[int, Usage] = {}
    for row in db.session.scalars(select(ApiClientUsage).where(ApiClientUsage.day >= since)):
        counts = found.setdefault(row.client_id, Usage())
        counts.calls_week += row.calls
        counts.errors_week += row.errors
        if row.day == today:
            counts.calls_today += row.calls
            counts.errors_today += row.errors
    latest = (
        select(ApiClientUsage.client_id, func.max(ApiClientUsage.day).label("day"))
        .where(ApiClientUsage.last_error_at.is_not(None))
        .group_by(ApiClientUsage.client_id)
        .subquery()
    )
    for row in db.session.scalars(
        select(ApiClientUsage).join(
            latest,
            (ApiClientUsage.client_id == latest.c.client_id) & (ApiClientUsage.day == latest.c.day),
        )
    ):
        counts = found.setdefault(row.client_id, Usage())
        counts.last_error, counts.last_error_status = row.last_error, row.last_error_status
        counts.last_error_at = as_utc(row.last_error_at) if row.last_error_at else None
    return found
