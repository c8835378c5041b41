"""What the logs may say about a person: a keyed hash, never the name, address or text."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app


def pseudonym(value: str | None) -> str:
    """A short HMAC-SHA256 (keyed with SECRET_KEY) of `value`, lower-cased and trimmed: the
    same address always gives the same 12 hex digits, which nobody without the key can
    reverse or recompute."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    text = (value or "").strip().lower().encode()
    return hmac.new(key, text, hashlib.sha256).hexdigest()[:12]
