"""Quotas on readers' actions (posting, revising, reporting): the check and the count are one
atomic step in the rate-limit storage (memory or Redis, `RATELIMIT_STORAGE_URI`), so that a
burst of simultaneous requests cannot pass together; an action refused afterwards (a
duplicate, a database error) gives its hits back."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from app.extensions import limiter
from app.privacy import pseudonym
from app.services import settings


class QuotaExceeded(Exception):
    """Too many actions in the window; `retry_after` is how many seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Hits:
    """The hits one action took, to give back if the action does not happen after all."""

    taken: list[tuple[Storage, RateLimitItem, str]] = field(default_factory=list)

    def give_back(self) -> None:
        for storage, item, key in self.taken:
            try:
                storage.incr(item.key_for(*_identifiers(key)), item.get_expiry(), amount=-1)
            except storage.base_exceptions:
                _log_storage_down()  # the hit stays counted: the safe side
        self.taken.clear()


# Counters of this process, while the shared storage (Redis) does not answer: the limits then
# hold per process instead of failing every post with an error page.
_fallback = MemoryStorage()


def reset_fallback() -> None:
    """Forget this process's stand-in counters (tests start each app at zero)."""
    _fallback.reset()


def _log_storage_down() -> None:
    current_app.logger.warning(
        "rate-limit storage unavailable: quotas counted in this process until it answers"
    )


def _identifiers(key: str) -> tuple[str, ...]:
    """The storage key of a quota: its kind, and a keyed hash of whom it counts (an address
    typed by a reader never reaches the rate-limit storage, Redis included)."""
    kind, _, who = key.partition(":")
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    ids = ("quota", kind, pseudonym(who))
    return (prefix, *ids) if prefix else ids


def _take(rule: str, keys: Sequence[str]) -> Hits:
    """One hit on every key for every limit of the rule ("5 per minute; 50 per day"), each an
    atomic increment-and-compare; all are kept, or none. With the shared storage down, the
    counters of this process stand in for it. With rate limiting switched off
    (`RATELIMIT_ENABLED=false`, Flask-Limiter's own switch), nothing is counted."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return Hits()
    storage = limiter.storage
    try:
        return _take_from(storage, rule, keys)
    except storage.base_exceptions:
        _log_storage_down()
        return _take_from(_fallback, rule, keys)


def _take_from(storage: Storage, rule: str, keys: Sequence[str]) -> Hits:
    strategy = FixedWindowRateLimiter(storage)  # a hit can be given back exactly
    hits = Hits()
    for item in parse_many(rule):
        for key in keys:
            hits.taken.append((storage, item, key))
            if not strategy.hit(item, *_identifiers(key)):
                reset_at = strategy.get_window_stats(item, *_identifiers(key)).reset_time
                hits.give_back()
                raise QuotaExceeded(max(1, int(reset_at - time.time())))
    return hits


def take_post(identity: str, address: str | None) -> Hits:
    """A comment (or a revision of one) by this reader (`user:<id>` or `guest:<address>`),
    from this network address: `COMMENT_RATE_LIMIT` (or the site's own rule) on each."""
    keys = [f"post:{identity}"] + ([f"post-address:{address}"] if address else [])
    return _take(settings.comment_rate_limit(), keys)


def take_report(reporter_key: str, address: str | None) -> Hits:
    """A report by this reader or session: `REPORT_RATE_LIMIT` per reader,
    `REPORT_ADDRESS_RATE_LIMIT` per network address."""
    config = current_app.config
    hits = _take(config["REPORT_RATE_LIMIT"], [f"report:{reporter_key}"])
    if address:
        try:
            more = _take(config["REPORT_ADDRESS_RATE_LIMIT"], [f"report-address:{address}"])
        except QuotaExceeded:
            hits.give_back()
            raise
        hits.taken += more.taken
    return hits


def take_notice(address: str | None) -> Hits:
    """A notice of illegal content (Art. 16 DSA) from this network address:
    `NOTICE_RATE_LIMIT`. Anyone may send one, signed in or not: the address is what counts."""
    if not address:
        return Hits()
    return _take(current_app.config["NOTICE_RATE_LIMIT"], [f"notice-address:{address}"])


def take_like(liker_key: str, address: str | None) -> Hits:
    """A « J'aime » (or its taking back) by this reader or browser, and from this network
    address: `LIKE_RATE_LIMIT` on each."""
    keys = [f"like:{liker_key}"] + ([f"like-address:{address}"] if address else [])
    return _take(current_app.config["LIKE_RATE_LIMIT"], keys)


def take_draft(reader_key: str, address: str | None) -> Hits:
    """A draft scored while its reader types (services/drafts): `DRAFT_RATE_LIMIT` per
    reader (or browser) and per network address."""
    keys = [f"draft:{reader_key}"] + ([f"draft-address:{address}"] if address else [])
    return _take(current_app.config["DRAFT_RATE_LIMIT"], keys)


def take_data_request(address: str | None, email: str) -> Hits:
    """A guest asking for their data's link (services/rights.py): `DATA_REQUEST_RATE_LIMIT`
    per network address and per address asked about (nobody floods a mailbox with links)."""
    keys = [f"data-request:{email.strip().lower()}"]
    if address:
        keys.append(f"data-request-address:{address}")
    return _take(current_app.config["DATA_REQUEST_RATE_LIMIT"], keys)


def take_reply_confirmation(address: str | None, email: str) -> Hits:
    """A confirmation mail of reply notifications to a guest address
    (services/notifications.py): `REPLY_CONFIRM_RATE_LIMIT` per address mailed and per
    network address asking (nobody floods a mailbox with confirmations)."""
    keys = [f"reply-confirm:{email.strip().lower()}"]
    if address:
        keys.append(f"reply-confirm-address:{address}")
    return _take(current_app.config["REPLY_CONFIRM_RATE_LIMIT"], keys)


def take_sign_in(email: str) -> Hits:
    """A sign-in attempt on the account this address names (known or not): `SIGNIN_RATE_LIMIT`
    per account, whatever the network address. The caller gives the hit back when the
    password was right, so that only failures count."""
    return _take(current_app.config["SIGNIN_RATE_LIMIT"], [f"sign-in:{email.strip().lower()}"])


def take_client_call(client_id: int, rule: str) -> Hits:
    """A call by an API client (services/clients.py): its own quota (`rule`), counted in the
    same storage as the readers' quotas."""
    return _take(rule, [f"client:{client_id}"])
