"""Account use cases: sign-up and credential checks."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Role, User
from app.validators import name_problem


class AccountError(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def find_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def register(display_name: str, email: str, password: str, role: Role = Role.READER) -> User:
    problem = name_problem(display_name)
    if problem:
        raise AccountError("display_name", problem)
    if find_by_email(email) is not None:
        raise AccountError("email", "Un compte existe déjà avec cette adresse de messagerie.")
    user = User(display_name=display_name, email=email.strip().lower(), role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for every failure)."""
    user = find_by_email(email)
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.email)))


def _existing(email: str) -> User:
    user = find_by_email(email)
    if user is None:
        raise AccountError("email", f"No account for {email}.")
    return user


def set_role(email: str, role: Role) -> None:
    _existing(email).role = role
    db.session.commit()


def deactivate(email: str) -> None:
    _existing(email).active = False
    db.session.commit()
