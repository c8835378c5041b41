"""Mail to readers and notifiers: one setting (`MAIL_URL`), Flask-Mailman over SMTP, French
plain-text templates in `templates/mail/`.

A template's first line is the subject (`Subject: …`), then a blank line, then the body; both
are rendered with the caller's values (autoescaping off: it is plain text). `send` raises
`MailError` when the server refuses or does not answer within `MAIL_TIMEOUT_SECONDS`: callers
have already committed what the reader sent (nothing accepted is lost) and decide what to tell
them. With no `MAIL_URL`, `enabled()` is false and `send` raises `MailError` at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from flask import current_app, has_request_context, url_for
from flask_mailman import EmailMessage

from app.services.errors import ServiceError

log = logging.getLogger(__name__)

NOT_CONFIGURED = "Ce site n’envoie pas encore de courriel ; écrivez à la rédaction."
FAILED = "Le courriel n’a pas pu partir ; réessayez dans quelques minutes."


class MailError(ServiceError):
    """A mail that could not be sent; `message` is what a reader may be told."""


def enabled() -> bool:
    return bool(current_app.config.get("MAIL_ENABLED"))


def render(template: str, **context: Any) -> tuple[str, str]:
    """The subject and body of `mail/<template>.txt` with these values."""
    env = current_app.jinja_env.overlay(autoescape=False)
    source = env.get_template(f"mail/{template}.txt").render(**context)
    head, _, body = source.partition("\n\n")
    if not head.startswith("Subject: "):
        raise ValueError(f"mail/{template}.txt must start with a 'Subject: ' line")
    return " ".join(head.removeprefix("Subject: ").split()), body.strip() + "\n"


def send(
    to: str,
    template: str,
    *,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> None:
    """Render `mail/<template>.txt` and send it to one address (never a list: no reader sees
    another's address). Raises MailError."""
    if not enabled():
        raise MailError(None, NOT_CONFIGURED)
    subject, body = render(template, **context)
    message = EmailMessage(subject=subject, body=body, to=[to], headers=dict(headers or {}))
    try:
        message.send()
    except Exception as error:  # smtplib's errors, OSError, timeouts: all a refused mail
        # The error's text may repeat the address: the log formatter masks it.
        log.warning("mail %s not sent: %s", template, error)
        raise MailError(None, FAILED) from error


def link(endpoint: str, **values: Any) -> str:
    """An absolute link for a mail: PUBLIC_URL when set, else the current request's host."""
    base = current_app.config.get("PUBLIC_URL") or ""
    if base:
        with current_app.test_request_context(base_url=base + "/"):
            path = url_for(endpoint, **values)
        return urljoin(base + "/", path.lstrip("/"))
    if not has_request_context():
        raise RuntimeError("PUBLIC_URL must be set to link to the site from outside a request")
    return url_for(endpoint, _external=True, **values)
