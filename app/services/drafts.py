"""Scores ready before the click: a reader's draft is scored while they pause typing, the
nudge shows before they send, and sending the same text reuses that score.

`score_draft` scores a draft (the text as the form would store it: `clean_text`) through the
comments' backend (micro-batched with everything else, bounded by API_SCORING_WAIT_SECONDS),
stores nothing of the text, and keeps its scores for DRAFT_SCORE_MINUTES under a keyed hash
of it (HMAC-SHA256 with the app's SECRET_KEY: the cache holds no text, and the key tells
nothing of it without the secret), with the name and version of the model that gave them.
It answers whether the site would nudge the author, and why, in the nudge's own words.

`decide_from_draft`, when a comment is submitted (or a nudged one rewritten), looks its text
up: found, and given by the model in service now (a promoted model, services/live_model,
changes the version: an older score is never reused), the comment is claimed and decided
right there through the one decision path (`scoring.claim` + `scoring.decide`, as the
worker does), with no model call and no wait for the queue; otherwise it goes to the worker
as always.

The cache is this process's memory with the thread backend (the process that scores and
decides), Redis (REDIS_URL) with Celery, so that every web process finds what another one
scored; both through cachelib. A cache that fails costs a model call, never a decision.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cachelib import BaseCache, RedisCache, SimpleCache
from flask import current_app

from app import labels, policy
from app.models import Site
from app.scoring import ScoreResult, backend
from app.services import quotas, scoring, settings

if TYPE_CHECKING:  # services.comments decides from drafts: no import cycle at run time
    from app.services.comments import Viewer
from app.validators import clean_text

logger = logging.getLogger(__name__)

_CACHE_KEY = "draft_scores"


@dataclass(frozen=True)
class DraftNudge:
    """What the author of a draft is told before sending: the categories it seems to cross
    (French labels) and the nudge's message; None when nothing would be said."""

    categories: list[str]
    message: str


def _cache() -> BaseCache:
    found: BaseCache | None = current_app.extensions.get(_CACHE_KEY)
    if found is None:
        config = current_app.config
        timeout = int(config["DRAFT_SCORE_MINUTES"] * 60)
        if config["SCORING_BACKEND"] == "celery":
            import redis

            client = redis.Redis.from_url(config["REDIS_URL"], socket_timeout=1,
                                          socket_connect_timeout=1)  # fmt: skip
            found = RedisCache(client, default_timeout=timeout, key_prefix="moderation:draft:")
        else:
            found = SimpleCache(threshold=10_000, default_timeout=timeout)
        current_app.extensions[_CACHE_KEY] = found
    return found


def key_of(text: str) -> str:
    """The keyed hash a text is known by in the cache (its form as stored: `clean_text`)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, clean_text(text).encode(), hashlib.sha256).hexdigest()


def _remember(text: str, result: ScoreResult, model_name: str, model_version: str) -> None:
    entry = {"scores": result.scores, "windowed": result.windowed, "model_name": model_name,
             "model_version": model_version}  # fmt: skip
    try:
        _cache().set(key_of(text), json.dumps(entry))
    except Exception as error:  # Redis down: the comment will be scored when sent
        logger.warning("draft score not kept: %s", type(error).__name__)


def _recall(text: str) -> dict[str, Any] | None:
    try:
        raw = _cache().get(key_of(text))
    except Exception as error:
        logger.warning("draft scores unreadable: %s", type(error).__name__)
        return None
    return json.loads(raw) if raw else None


UNAVAILABLE = "La vérification n’est pas disponible pour le moment."


def score_draft(
    text: str, site: Site | None, viewer: Viewer, address: str | None
) -> DraftNudge | None:
    """Score a draft (never stored) of this reader (or browser), from this network address,
    and say whether, sent as it is, it would be nudged on `site`. Counted against
    DRAFT_RATE_LIMIT first (quotas.QuotaExceeded); raises ScoringUnavailable or
    ScoringTimeout (the reader is told nothing then, and the comment is scored when sent).
    With nudges off, nothing is scored."""
    reader = f"user:{viewer.user_id}" if viewer.user_id else f"guest:{viewer.guest_token or ''}"
    quotas.take_draft(reader, address)
    thresholds = settings.nudge_thresholds(site=site)
    if thresholds is None:
        return None
    text = clean_text(text)
    known = _recall(text)
    if known is not None:
        scores = known["scores"]
    else:
        wait = current_app.config["API_SCORING_WAIT_SECONDS"]
        scored = backend().score_texts([text], timeout=wait)
        [result] = scored.results
        _remember(text, result, scored.model_name, scored.model_version)
        scores = result.scores
    reasons = policy.nudge_reasons(scores, thresholds)
    if not reasons:
        return None
    categories = [r.category for r in reasons if r.category]
    return DraftNudge(
        categories=list(dict.fromkeys(labels.french(labels.category_label(c)) for c in categories)),
        message=labels.nudge_message(categories, settings.sent_anyway_reviewed()),
    )


def decide_from_draft(comment_id: int, body: str, token: str | None = None) -> bool:
    """Decide this comment now from its draft's scores, if the model in service gave them,
    under the claim `token` taken when it was stored (else claimed here); True when it was
    decided here, False when the model must score it (no draft score, an older model's, or
    a worker claimed it first)."""
    known = _recall(body)
    if known is None or known["model_version"] != backend().model_version():
        return False
    claim = scoring.held([comment_id], token) if token else scoring.claim([comment_id])
    if not claim.comments:
        return False
    result = ScoreResult(known["scores"], known["windowed"])
    metrics = backend().metrics
    decided = scoring.decide(claim, [result], known["model_name"], known["model_version"], metrics)
    metrics.draft_reuses.inc(len(decided))
    return bool(decided)
