"""Single sign-on (issue 13): a site's CMS signs a short-lived JWT for its signed-in reader; we
check it and map it to one reader account, then hand the embed a session token of our own.

The token is Coral's SSO token, so that a newsroom's existing Coral code works unchanged (read
in coralproject/talk: `docs/source/version-5-sso.md`, « Single Sign On », and
`server/src/core/server/app/middleware/passport/strategies/verifiers/sso.ts`,
`SSOTokenSchema`): HS256 with the site's secret, claims

    {"jti": "151c19fc-…", "iat": 1562172094, "exp": 1572172094,
     "user": {"id": "628bdc61-…", "email": "bob@example.com", "username": "bob"}}

`user.id` is a string there (we take an integer too, as a CMS's numbering); Coral's other
`user` claims (`badges`, `role`, `url`, `avatar`) are ignored. Stricter than Coral: `jti`,
`iat` and `exp` are required (Coral makes them optional), `exp - iat` is at most a day, and a
`jti` is taken once. As Coral (`lastIssuedAt`), the name and address of an account are updated
by a token issued after the one that last updated them, never by an older one.

An SSO reader is a `User` with the reader role, keyed on (site, `user.id`) in `SsoIdentity`,
never on the address: the same person on two sites is two readers, and an SSO address that an
account of ours already has is still another reader. Its own `users.email` is in the reserved
`.invalid` domain (`users.email` is unique, and a guest must stay free to type the CMS's
address) and it has no usable password: it signs in only through its site's CMS.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jwt.exceptions import InvalidJTIError  # not re-exported by `jwt`
from sqlalchemy import String, delete, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Role, Site, SsoIdentity, SsoTokenUse, User, as_utc, utcnow
from app.services import accounts
from app.services.errors import ServiceError
from app.validators import name_problem, text_problem

ALGORITHM = "HS256"  # the only one: never `none`, never another HMAC, never a public key
LEEWAY_SECONDS = 60  # clock skew allowed between the CMS and us, on `exp` and `iat`
MAX_LIFETIME = timedelta(days=1)  # `exp - iat`: a token is for a page view, not a season


def _length(column: Any) -> int:
    """The length of a String column: the models are where the limits are written."""
    kind = column.type
    assert isinstance(kind, String) and kind.length is not None
    return kind.length


MAX_EXTERNAL_ID = _length(SsoIdentity.__table__.c.external_id)
MAX_EMAIL = _length(SsoIdentity.__table__.c.email)
MAX_NAME = _length(User.__table__.c.display_name)  # the reader's form says 80 too

SESSION_PREFIX = "s."
SESSION_SALT = "moderation.sso-session"
ACCOUNT_DOMAIN = "sso.invalid"  # RFC 2606: never delivered, never anyone's
NO_PASSWORD = "sso"  # not a Werkzeug hash (no `$`): check_password_hash is always False

# Refusal codes (app/api/sso.py gives each its status).
INVALID_TOKEN = "invalid_token"
EXPIRED_TOKEN = "expired_token"
REPLAYED_TOKEN = "replayed_token"
NOT_CONFIGURED = "sso_not_configured"
ACCOUNT_DISABLED = "account_disabled"
INVALID_NAME = "invalid_name"
NAME_TOO_LONG = "too_long"
INVALID_EMAIL = "invalid_email"


class SsoRefused(ServiceError):
    """A token refused: `code` is the API's stable code, `message` says why in French."""

    def __init__(self, code: str, message: str, field: str | None = "token") -> None:
        super().__init__(field, message)
        self.code = code


@dataclass(frozen=True)
class Claims:
    """What a verified token says."""

    jti: str
    issued_at: datetime
    expires_at: datetime
    external_id: str
    email: str
    name: str

    @property
    def jti_hash(self) -> str:
        return hashlib.sha256(self.jti.encode()).hexdigest()


@dataclass(frozen=True)
class ReaderSession:
    """A reader signed in through their site: the account, and our session token for it."""

    user: User
    token: str
    expires_at: datetime


def _invalid(message: str) -> SsoRefused:
    return SsoRefused(INVALID_TOKEN, message)


def verify(site: Site, token: str) -> Claims:
    """The claims of a token signed by this site's CMS; SsoRefused when the site has no SSO
    secret, or the token is not HS256 with it, has expired, was issued in the future or for
    more than a day, or lacks a claim."""
    if not site.sso_secret:
        raise SsoRefused(
            NOT_CONFIGURED, "La connexion unique n’est pas activée pour ce site.", None
        )
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise _invalid("Le jeton n’est pas un JWT lisible.") from None
    if header.get("alg") != ALGORITHM:
        raise _invalid("Le jeton doit être signé en HS256 avec le secret SSO du site.")
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            site.sso_secret,
            algorithms=[ALGORITHM],
            leeway=LEEWAY_SECONDS,
            # Coral reads no audience: a token that names one is not refused for it.
            options={"require": ["jti", "iat", "exp"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError:
        raise SsoRefused(
            EXPIRED_TOKEN, "Le jeton a expiré (exp) : le site doit en signer un nouveau."
        ) from None
    except jwt.ImmatureSignatureError:
        raise _invalid(
            "Le jeton est daté du futur (iat ou nbf) : vérifiez l’horloge du serveur du site."
        ) from None
    except jwt.MissingRequiredClaimError as missing:
        raise _invalid(f"Le jeton n’a pas la revendication « {missing.claim} ».") from None
    except jwt.InvalidSignatureError:
        raise _invalid("La signature du jeton n’est pas celle du secret SSO de ce site.") from None
    except InvalidJTIError:
        raise _invalid("La revendication « jti » doit être une chaîne.") from None
    except jwt.InvalidIssuedAtError:
        raise _invalid("La revendication « iat » doit être un nombre entier de secondes.") from None
    except jwt.DecodeError:
        raise _invalid(
            "Le jeton est mal formé, ou « exp » n’est pas un nombre entier de secondes."
        ) from None
    except jwt.InvalidTokenError:
        raise _invalid("Le jeton n’est pas valide.") from None
    return _claims(payload)


def _claims(payload: dict[str, Any]) -> Claims:
    """The token's claims checked one by one (PyJWT checked the signature, `exp` and `iat`)."""
    iat, exp = int(payload["iat"]), int(payload["exp"])
    if exp <= iat:
        raise _invalid("Le jeton expire (exp) avant d’avoir été émis (iat).")
    if exp - iat > MAX_LIFETIME.total_seconds():
        raise _invalid("Le jeton vit plus de 24 heures (exp − iat) : signez-en de plus courts.")
    # Both within a day of now (PyJWT checked exp and iat against the clock): real dates.
    issued_at, expires_at = datetime.fromtimestamp(iat, UTC), datetime.fromtimestamp(exp, UTC)
    jti = payload["jti"]
    if not isinstance(jti, str) or not jti.strip():
        raise _invalid("La revendication « jti » doit être une chaîne non vide.")
    user = payload.get("user")
    if not isinstance(user, dict):
        raise _invalid("Le jeton n’a pas la revendication « user » (id, email, username).")
    return Claims(
        jti=jti,
        issued_at=issued_at,
        expires_at=expires_at,
        external_id=_external_id(user.get("id")),
        email=_email(user.get("email")),
        name=_name(user.get("username")),
    )


def _external_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise _invalid("La revendication « user.id » doit être une chaîne non vide.")
    if len(value) > MAX_EXTERNAL_ID or text_problem(value):
        raise _invalid(
            f"La revendication « user.id » a au plus {MAX_EXTERNAL_ID} caractères, "
            "sans caractère de contrôle."
        )
    return value


def _email(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid("La revendication « user.email » doit être une chaîne non vide.")
    email = value.strip().lower()
    local, at, domain = email.partition("@")
    if (
        len(email) > MAX_EMAIL
        or not (local and at and domain)
        or any(char.isspace() for char in email)
        or text_problem(email)
    ):
        raise SsoRefused(
            INVALID_EMAIL, "L’adresse du jeton (user.email) n’est pas une adresse valide."
        )
    return email


def _name(value: Any) -> str:
    """The display name of `user.username`, held to our readers' rules."""
    if not isinstance(value, str):
        raise _invalid("La revendication « user.username » doit être une chaîne.")
    problem = text_problem(value)
    name = " ".join(value.split())
    if not name:
        raise _invalid("La revendication « user.username » est vide.")
    if len(name) > MAX_NAME:
        raise SsoRefused(
            NAME_TOO_LONG, f"Le nom du jeton (user.username) dépasse {MAX_NAME} caractères."
        )
    problem = problem or name_problem(name)
    if problem:
        raise SsoRefused(INVALID_NAME, f"Le nom du jeton (user.username) : {problem}")
    return name


def open_session(site: Site, token: str) -> ReaderSession:
    """Exchange a CMS's token for a reader session: the token checked (`verify`), its `jti`
    taken once (a second use, even at the same moment, is `replayed_token`), the reader of
    (site, `user.id`) created on first use or its name and address updated."""
    claims = verify(site, token)
    user: User | None = None
    for attempt in (1, 2):
        try:
            user = _take(site, claims)
            break
        except IntegrityError:
            db.session.rollback()
            if _taken(site, claims):
                raise SsoRefused(
                    REPLAYED_TOKEN, "Ce jeton a déjà servi : le site doit en signer un nouveau."
                ) from None
            if attempt == 2:
                raise
            # The same reader's first two tokens at once: the other request made the
            # account, which the second try finds.
    assert user is not None
    token, expires_at = _session_token(user)
    return ReaderSession(user, token, expires_at)


def _taken(site: Site, claims: Claims) -> bool:
    return db.session.get(SsoTokenUse, (site.id, claims.jti_hash)) is not None


def _take(site: Site, claims: Claims) -> User:
    """Mark the `jti` used and find or make the reader, in one transaction."""
    now = utcnow()
    leeway = timedelta(seconds=LEEWAY_SECONDS)
    # Expired uses can never match again (their tokens are refused as expired): one indexed
    # range delete per exchange keeps the table to the tokens of the last day at most.
    db.session.execute(delete(SsoTokenUse).where(SsoTokenUse.expires_at < now - leeway))
    kept_until = claims.expires_at + leeway  # the last moment verify() would accept it
    db.session.add(SsoTokenUse(site_id=site.id, jti_hash=claims.jti_hash, expires_at=kept_until))
    db.session.flush()  # the primary key decides between two uses of one jti
    identity = db.session.scalar(
        select(SsoIdentity).where(
            SsoIdentity.site_id == site.id, SsoIdentity.external_id == claims.external_id
        )
    )
    if identity is None:
        user = User(
            display_name=claims.name,
            email=_account_address(site, claims.external_id),
            password_hash=NO_PASSWORD,
            role=Role.READER,
        )
        db.session.add(user)
        db.session.flush()
        db.session.add(
            SsoIdentity(
                site_id=site.id,
                external_id=claims.external_id,
                user_id=user.id,
                email=claims.email,
                issued_at=claims.issued_at,
            )
        )
        db.session.flush()  # the unique (site, user.id) decides between two first tokens
    else:
        user = identity.user
        if not user.active:
            db.session.rollback()
            raise SsoRefused(
                ACCOUNT_DISABLED, "Ce compte de lecteur a été désactivé sur ce site.", None
            )
        if claims.issued_at >= as_utc(identity.issued_at):
            user.display_name = claims.name
            identity.email = claims.email
            identity.issued_at = claims.issued_at
    db.session.commit()
    return user


def _account_address(site: Site, external_id: str) -> str:
    """The account's own address: unique per (site, user.id), never delivered."""
    digest = hashlib.sha256(f"{site.id}\n{external_id}".encode()).hexdigest()[:32]
    return f"sso-{site.id}-{digest}@{ACCOUNT_DOMAIN}"


def session_lifetime() -> timedelta:
    return timedelta(hours=current_app.config["SSO_SESSION_HOURS"])


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SESSION_SALT)


def _session_token(user: User) -> tuple[str, datetime]:
    """`s.<signed>`: the account and its session version, signed with SECRET_KEY, dated."""
    signed_at = utcnow().replace(microsecond=0)
    signed = _serializer().dumps({"u": user.id, "v": user.session_version})
    return SESSION_PREFIX + signed, signed_at + session_lifetime()


def reader_from_session_token(token: str) -> User | None:
    """The reader of a session token given by `POST /api/v1/sso/session` (`s.…`), while valid;
    None otherwise (tampered, too old, or the account deactivated or its sessions ended)."""
    if not token or not token.startswith(SESSION_PREFIX):
        return None
    max_age = int(session_lifetime().total_seconds())
    try:
        data = _serializer().loads(token[len(SESSION_PREFIX) :], max_age=max_age)
    except BadSignature:  # SignatureExpired too
        return None
    if not isinstance(data, dict):
        return None
    user_id, version = data.get("u"), data.get("v")
    if type(user_id) is not int or type(version) is not int:
        return None
    # The same rule as a session cookie's: an active account whose sessions were not ended.
    return accounts.user_for_session(f"{user_id}:{version}")
