"""The one exception a service raises when a business rule refuses what someone asked.

It lives with the services, not in app/errors.py: that module is the HTTP layer (error pages,
JSON bodies) and imports Flask's request machinery; services must not depend on it. A view
catches a ServiceError (or one of its subclasses) and shows `message` beside `field`.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Refused by a business rule: `field` names the form field it concerns (None: the whole
    form), `message` says why, in the words shown to the person who asked."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
