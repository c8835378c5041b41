"""What the logs may say about a person: a keyed hash, never the name, address or text."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

from flask import current_app


def pseudonym(value: str | None) -> str:
    """A short HMAC-SHA256 (keyed with SECRET_KEY) of `value`, lower-cased and trimmed: the
    same address always gives the same 12 hex digits, which nobody without the key can
    reverse or recompute."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    text = (value or "").strip().lower().encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()[:12]


# The domain of the addresses that stand for an erased one (RFC 2606 reserves `.invalid`).
ERASED_DOMAIN = "erased.invalid"


def erased_address(value: str) -> str:
    """What stands for an address that must no longer be kept where its row must stay (a
    guest's ended sanction, its audit rows): its `pseudonym` in the reserved `.invalid` domain,
    the same for the same address, never deliverable, not reversible without SECRET_KEY."""
    return f"{pseudonym(value)}@{ERASED_DOMAIN}"


# What no log line may carry, whatever raised it: an e-mail address (in an exception's text,
# say), and the DETAIL line by which PostgreSQL repeats the values of a violated key.
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DETAIL = re.compile(r"DETAIL:[^\n]*")
# An API key in a logged URL (`?key=…`, what Coral and Google's clients send): the werkzeug
# server logs the request line with its query string. (gunicorn's access log leaves the
# query string out altogether: gunicorn.conf.py.)
_URL_KEY = re.compile(r"([?&](?:key|api_key|apikey)=)[^&\s\"']*", re.IGNORECASE)


def redact(text: str) -> str:
    """The text with every e-mail address, database DETAIL line and URL key masked."""
    text = _URL_KEY.sub(r"\1[masqué]", text)
    return _ADDRESS.sub("[adresse]", _DETAIL.sub("DETAIL: [masqué]", text))


class RedactingFormatter(logging.Formatter):
    """Formats as usual, tracebacks included, then masks what `redact` masks."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def redact_logs() -> None:
    """Put every handler of the root logger (where the app's, the workers' and SQLAlchemy's
    records end) behind the redacting formatter, keeping its format."""
    for handler in logging.getLogger().handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            current = handler.formatter or logging.Formatter()
            handler.setFormatter(RedactingFormatter(current._fmt, current.datefmt))
