"""Single sign-on (issue 13): a site's CMS signs a short-lived JWT for its signed-in reader; we
check it and map it to one reader account. (Being built: see issue 13.)"""

from __future__ import annotations

from app.models import User


def reader_from_session_token(token: str) -> User | None:
    """The reader of a session token given by `POST /api/v1/sso/session` (`s.…`), while valid;
    None otherwise."""
    return None
