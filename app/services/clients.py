"""API clients: the sites and CMSs that call our API with a key (Coral, a newsroom's CMS).

A key is shown once, when its client is created, and never stored: the database keeps its
SHA-256 and its first characters (`key_prefix`, not secret) to find the row. Every call
checks the key in the database (no cache in the process), so that a revoke holds at once in
every process. Creations and revocations go to the settings history (`client:<name>`): they
are changes of the site's configuration made by an admin, which is what that history shows
(who, when, before and after); the audit trail is about comments and readers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from limits import parse_many
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ApiClient, User, as_utc, utcnow
from app.services import quotas
from app.services.errors import ServiceError
from app.services.settings import record_change

KEY_PREFIX = "mod_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8  # what `key_prefix` keeps: « mod_ » and 8 characters
DEFAULT_QUOTA = "10 per second"
NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
# `last_used_at` is written at most this often per client (one UPDATE, not one per call).
LAST_USED_EVERY = timedelta(minutes=1)
CLI_ACTOR = "ligne de commande"


class ClientError(ServiceError):
    """A client refused: a bad or taken name, a bad quota, an unknown client."""


class KeyRefused(ServiceError):
    """A call's key is missing, unknown or revoked (the same answer for all three)."""


@dataclass(frozen=True)
class NewClient:
    """A client just created and its key, which is never shown again."""

    client: ApiClient
    key: str


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


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


def find(name: str) -> ApiClient | None:
    return db.session.scalar(select(ApiClient).where(ApiClient.name == name.strip()))


def create(
    name: str,
    quota: str = DEFAULT_QUOTA,
    coral_secret: str | None = None,
    actor: User | str = CLI_ACTOR,
) -> NewClient:
    """A new client and its key (returned here only). ClientError for a bad or taken name,
    a bad quota or an empty Coral secret."""
    name, quota = check_name(name), check_quota(quota)
    if coral_secret is not None and not coral_secret.strip():
        raise ClientError("coral_secret", _("Le secret Coral est vide."))
    if find(name) is not None:
        raise ClientError("name", _("Un client porte déjà ce nom."))
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client = ApiClient(
        name=name,
        key_prefix=key[:PREFIX_LENGTH],
        key_hash=_hash(key),
        quota=quota,
        coral_secret=coral_secret,
        created_by=actor.display_name if isinstance(actor, User) else actor,
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
    }


def all_clients() -> list[ApiClient]:
    return list(db.session.scalars(select(ApiClient).order_by(ApiClient.name)))


def revoke(name: str, actor: User | str = CLI_ACTOR) -> ApiClient:
    """Refuse the client's key from now on, in every process. ClientError when there is no
    such client, or it is already revoked."""
    client = find(name)
    if client is None:
        raise ClientError("name", _("Aucun client ne porte ce nom."))
    if client.revoked_at is not None:
        raise ClientError("name", _("Ce client est déjà révoqué."))
    old = _state(client)
    client.revoked_at = utcnow()
    record_change(f"client:{client.name}", old, _state(client), actor)
    db.session.commit()
    return client


def set_coral_secret(name: str, secret: str, actor: User | str = CLI_ACTOR) -> ApiClient:
    """Replace a client's Coral signing secret (Coral rotates it: both secrets sign its
    requests for a while, so the change never refuses a request). ClientError for an unknown
    or revoked client, or an empty secret. The settings history notes the change, never the
    secret."""
    client = find(name)
    if client is None:
        raise ClientError("name", _("Aucun client ne porte ce nom."))
    if client.revoked_at is not None:
        raise ClientError("name", _("Ce client est déjà révoqué."))
    if not secret.strip():
        raise ClientError("coral_secret", _("Le secret Coral est vide."))
    old = _state(client)
    client.coral_secret = secret.strip()
    record_change(f"client:{client.name}", old, {**_state(client), "coral_secret_changed": True},
                  actor)  # fmt: skip
    db.session.commit()
    return client


def authenticate(key: str | None) -> ApiClient:
    """The client whose key this is, read from the database on every call; KeyRefused for a
    missing, unknown or revoked key. The hashes are compared in constant time."""
    if not key:
        raise KeyRefused("key", _("Clé d’API absente."))
    client = db.session.scalar(select(ApiClient).where(ApiClient.key_prefix == key[:PREFIX_LENGTH]))
    expected = client.key_hash if client is not None else _hash("")
    if not hmac.compare_digest(_hash(key), expected) or client is None:
        raise KeyRefused("key", _("Clé d’API inconnue."))
    if client.revoked_at is not None:
        raise KeyRefused("key", _("Cette clé d’API a été révoquée."))
    _touch(client)
    return client


def _touch(client: ApiClient) -> None:
    """Note the client's last call, in one conditional UPDATE at most once a minute."""
    now = utcnow()
    if client.last_used_at is not None and as_utc(client.last_used_at) > now - LAST_USED_EVERY:
        return
    db.session.execute(
        update(ApiClient)
        .where(ApiClient.id == client.id)
        .where(
            or_(ApiClient.last_used_at.is_(None), ApiClient.last_used_at < now - LAST_USED_EVERY)
        )
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
    Never raises: counting must not break an answer."""
    # Filled in with the clients page (usage and errors); callers already call it.
