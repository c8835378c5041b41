"""Account use cases: sign-up, credential checks, and the sessions an account holds."""

from __future__ import annotations

import functools
import secrets

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app.converters import parse_count, parse_id
from app.extensions import db
from app.models import Role, User
from app.services import quotas
from app.services.errors import ServiceError
from app.validators import name_problem

TAKEN = "Un compte existe déjà avec cette adresse de messagerie."


class AccountError(ServiceError):
    """An account refused (address taken, bad name or password)."""


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


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
