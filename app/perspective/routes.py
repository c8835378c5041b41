"""The two Perspective methods Coral calls. Each view only reads the key and the JSON, calls
the service and turns its answer or its error into Google's shapes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from app.models import ApiClient
from app.perspective import bp
from app.services import clients, perspective, quotas
from app.services.perspective import PerspectiveError

MISSING_KEY = "The request is missing a valid API key."
BAD_KEY = "API key not valid. Please pass a valid API key."
QUOTA_MESSAGE = (
    "Quota exceeded for quota metric 'Analysis requests (AnalyzeComment)' of this API key."
)

Operation = Callable[[ApiClient, Mapping[str, Any]], dict[str, Any]]


@bp.post("/comments:analyze")
def analyze() -> tuple[Response, int] | tuple[Response, int, dict[str, str]]:
    """Perspective's AnalyzeComment, scored by our model.

    200: `attributeScores` (unless all are under their `scoreThreshold`), `languages`,
    `detectedLanguages`, `clientToken`. 400 INVALID_ARGUMENT: bad JSON, empty or over-long
    text, an unknown attribute or one the model lacks, a language it does not score.
    403 PERMISSION_DENIED: a missing, unknown or revoked key. 429 RESOURCE_EXHAUSTED (with
    Retry-After): the key's quota is used up. 503 UNAVAILABLE: the model did not score within
    API_SCORING_WAIT_SECONDS (never a made-up score)."""
    return _call(perspective.analyze)


@bp.post("/comments:suggestscore")
def suggestscore() -> tuple[Response, int] | tuple[Response, int, dict[str, str]]:
    """Perspective's SuggestCommentScore: the client's moderator decision, kept for
    « Calibration ».

    200: `{"clientToken": …}`. 400 INVALID_ARGUMENT: a bad request. 403 PERMISSION_DENIED,
    429 RESOURCE_EXHAUSTED: as for comments:analyze."""
    return _call(perspective.suggest_score)


def _key() -> str | None:
    """The API key: `?key=` (Coral, Google's clients) or the `X-Goog-Api-Key` header."""
    return request.args.get("key") or request.headers.get("X-Goog-Api-Key") or None


def _call(operation: Operation) -> tuple[Response, int] | tuple[Response, int, dict[str, str]]:
    key = _key()
    try:
        client = clients.authenticate(key)
    except clients.KeyRefused as refused:
        error = PerspectiveError(403, "PERMISSION_DENIED", BAD_KEY if key else MISSING_KEY)
        if refused.client is not None:  # revoked: its client sees the refusal in « Réglages »
            clients.record_call(refused.client, error.code, error.status)
        return jsonify(error.body()), error.code
    try:
        try:
            clients.take_call(client)
        except quotas.QuotaExceeded as exceeded:
            raise PerspectiveError(
                429, "RESOURCE_EXHAUSTED", QUOTA_MESSAGE, retry_after=exceeded.retry_after
            ) from None
        answer = operation(client, perspective.parse_json(_body()))
    except PerspectiveError as error:
        clients.record_call(client, error.code, error.status)
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else {}
        return jsonify(error.body()), error.code, headers
    clients.record_call(client, 200)
    return jsonify(answer), 200


def _body() -> bytes:
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        raise perspective.invalid(
            f"Request payload size exceeds the limit: {limit} bytes."
        ) from None
