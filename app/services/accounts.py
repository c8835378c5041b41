"""Account use cases: sign-up, credential checks, the sessions an account holds, and a staff
account's API tokens."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app.auth.access import has_role
from app.converters import parse_count, parse_id
from app.extensions import db
from app.models import Role, StaffToken, User, utcnow
from app.services import clients, quotas
from app.services.errors import ServiceError
from app.validators import name_problem

TAKEN = "Un compte existe déjà avec cette adresse de messagerie."


class AccountError(ServiceError):
    """An account refused (address taken, bad name or password)."""


_BY_EMAIL = select(User).where(func.lower(User.email) == bindparam("email"))  # built once


def find_by_email(email: str) -> User | None:
    return db.session.scalar(_BY_EMAIL, {"email": email.strip().lower()})


def register(display_name: str, email: str, password: str, role: Role = Role.READER) -> User:
    """A new account; AccountError on the e-mail field when the address is taken, even by a
    sign-up that committed a moment earlier (the database's unique index decides)."""
    problem = name_problem(display_name)
    if problem:
        raise AccountError("display_name", problem)
    if find_by_email(email) is not None:
        raise AccountError("email", TAKEN)
    user = User(display_name=display_name, email=email.strip().lower(), role=role)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if find_by_email(email) is None:
            raise  # another constraint: a real error
        raise AccountError("email", TAKEN) from None
    return user


@functools.cache
def _dummy_hash() -> str:
    """A hash made like every password's (same method and parameters), of nothing anyone knows."""
    return generate_password_hash(secrets.token_hex(16))


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for every failure).

    Raises quotas.QuotaExceeded once this account had `SIGNIN_RATE_LIMIT` failed attempts
    (checked and counted in one step, so simultaneous guesses cannot pass together; a right
    password gives its attempt back). An unknown or deactivated address costs one password
    verification too, so that the time taken does not tell which addresses have an account."""
    attempt = quotas.take_sign_in(email)
    user = find_by_email(email)
    valid = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if user is None or not user.active or not valid:
        return None
    attempt.give_back()
    return user


def user_for_session(session_id: str) -> User | None:
    """The active account of a session id ("<user id>:<session version>"), or None when the
    account has since ended its sessions (signed out, deactivated, new password or role)."""
    user_id, _, version = session_id.partition(":")
    account, session_version = parse_id(user_id), parse_count(version)
    if account is None or session_version is None:
        return None
    user = db.session.get(User, account)
    if user is None or not user.active or user.session_version != session_version:
        return None
    return user


def _end_sessions(user: User) -> None:
    """Invalidate every session and remember-me cookie of this account (not committed)."""
    user.session_version = User.session_version + 1  # type: ignore[assignment]  # in SQL


def sign_out(user: User) -> None:
    """Signing out ends every session of the account, on every device."""
    _end_sessions(user)
    db.session.commit()


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.email)))


def _existing(email: str) -> User:
    user = find_by_email(email)
    if user is None:
        raise AccountError("email", f"No account for {email}.")
    return user


def set_role(email: str, role: Role) -> None:
    user = _existing(email)
    user.role = role
    _end_sessions(user)
    db.session.commit()


def set_password(email: str, password: str) -> None:
    user = _existing(email)
    user.set_password(password)
    _end_sessions(user)
    db.session.commit()


def deactivate(email: str) -> None:
    user = _existing(email)
    user.active = False
    _end_sessions(user)
    db.session.commit()


# --- A staff account's API tokens (the moderation API, /api/v1/moderation) -------------------

TOKEN_PREFIX = "mst_"  # a staff token; an API client's key starts with clients.KEY_PREFIX
DEFAULT_TOKEN_NAME = "api"


@dataclass(frozen=True)
class NewToken:
    """A token just created and its secret, which is never shown again."""

    token: StaffToken
    secret: str


def is_staff_token(key: str) -> bool:
    return key.startswith(TOKEN_PREFIX)


def _staff(email: str) -> User:
    user = _existing(email)
    if not user.active:
        raise AccountError("email", "Ce compte est désactivé.")
    if not has_role(user, Role.MODERATOR):
        raise AccountError(
            "email", "Seuls les modérateurs et les administrateurs ont un jeton d’API."
        )
    return user


def active_tokens(user: User) -> list[StaffToken]:
    return list(
        db.session.scalars(
            select(StaffToken)
            .where(StaffToken.user_id == user.id, StaffToken.revoked_at.is_(None))
            .order_by(StaffToken.id)
        )
    )


def create_token(email: str, name: str = DEFAULT_TOKEN_NAME) -> NewToken:
    """A new API token of a moderator's or admin's account, named `name` (lowercase, digits,
    hyphens; one active token per name and account). AccountError otherwise."""
    user = _staff(email)
    try:
        name = clients.check_name(name)
    except clients.ClientError as error:
        raise AccountError("name", error.message) from None
    if any(token.name == name for token in active_tokens(user)):
        raise AccountError("name", "Ce compte a déjà un jeton actif de ce nom.")
    secret, key_prefix, key_hash = clients.new_key(TOKEN_PREFIX)
    token = StaffToken(user_id=user.id, name=name, key_prefix=key_prefix, key_hash=key_hash)
    db.session.add(token)
    db.session.commit()
    return NewToken(token, secret)


def revoke_tokens(email: str, name: str | None = None) -> list[StaffToken]:
    """Refuse the account's token `name` (every active token without one) from now on, in
    every process. AccountError when there is none to revoke."""
    user = _existing(email)
    found = [t for t in active_tokens(user) if name is None or t.name == name]
    if not found:
        raise AccountError("name", "Aucun jeton actif à révoquer pour ce compte.")
    now = utcnow()
    for token in found:
        token.revoked_at = now
    db.session.commit()
    return found


def tokens(email: str | None = None) -> list[StaffToken]:
    """Every token (of one account with `email`), revoked ones included."""
    query = select(StaffToken).join(User).order_by(User.email, StaffToken.id)
    if email is not None:
        query = query.where(StaffToken.user_id == _existing(email).id)
    return list(db.session.scalars(query))


def staff_for_token(key: str) -> User:
    """The account a staff token acts as, checked on every call in the database: the token
    known and not revoked, the account active and still a moderator or an admin.
    clients.KeyRefused otherwise (`unknown_key`, `revoked_key`, `forbidden`)."""
    token = clients.find_by_key(StaffToken, key)
    if token is None:
        raise clients.KeyRefused("key", "Jeton d’API inconnu.", "unknown_key")
    if token.revoked_at is not None:
        raise clients.KeyRefused("key", "Ce jeton d’API a été révoqué.", "revoked_key")
    user = token.user
    if not user.active:
        raise clients.KeyRefused("key", "Le compte de ce jeton est désactivé.", "forbidden")
    if not has_role(user, Role.MODERATOR):
        raise clients.KeyRefused(
            "key", "Le compte de ce jeton n’a plus accès à la modération.", "forbidden"
        )
    clients.touch(token)
    return user
