"""Who may see what: readers, moderators, admins (an admin can do all a moderator can)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from app.models import Role

F = TypeVar("F", bound=Callable[..., Any])

RANK = {Role.READER: 0, Role.MODERATOR: 1, Role.ADMIN: 2}


def has_role(user: Any, role: Role) -> bool:
    return bool(user.is_authenticated) and RANK.get(Role(user.role), 0) >= RANK[role]


def role_required(role: Role) -> Callable[[F], F]:
    """Anonymous visitors go to the sign-in page; signed-in users below `role` get a 403."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            from app.extensions import login_manager

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_role(current_user, role):
                abort(403, description=_("Cette page est réservée à l’équipe de modération."))
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
