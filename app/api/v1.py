"""`/api/v1`: JSON endpoints for API clients (a CMS, Coral), with a key of their own.

Each endpoint is a thin view wrapped in `client_call`: the key (`Authorization: Bearer KEY`),
the client's quota, the call counted for « Réglages » (`clients.record_call`), and every refusal
in the one error shape of `app/api/errors.py`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, make_response, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from app import labels
from app.api.errors import ApiError, quota_exceeded
from app.api.schemas import (
    ErrorBody,
    ModelInfo,
    ReasonOut,
    ScoreRequest,
    ScoreResponse,
    TextResult,
    WordOut,
)
from app.api.spec import document, endpoint
from app.extensions import csrf
from app.models import ApiClient
from app.scoring import ScoringTimeout, ScoringUnavailable
from app.services import clients, quotas, textverdicts

bp = Blueprint("v1", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # a key in a header, never a cookie: nothing for a forged request to ride on

ClientView = Callable[..., ResponseReturnValue]


def bearer_key() -> str | None:
    """The key of `Authorization: Bearer KEY` (never read from the query string: URLs end up
    in access logs)."""
    scheme, _, key = (request.headers.get("Authorization") or "").partition(" ")
    return (key.strip() or None) if scheme.lower() == "bearer" else None


def _authenticate() -> ApiClient:
    try:
        return clients.authenticate(bearer_key())
    except clients.KeyRefused as refused:
        if refused.client is not None:  # revoked: its client sees the refusal in « Réglages »
            clients.record_call(refused.client, 403, refused.code)
            raise ApiError(403, refused.code, refused.message) from None
        raise ApiError(
            401, refused.code, refused.message, headers={"WWW-Authenticate": "Bearer"}
        ) from None


def client_call(max_bytes_setting: str | None = None) -> Callable[[ClientView], ClientView]:
    """Wrap an endpoint taking the calling client: key, quota, counting, errors. With
    `max_bytes_setting`, the request body may be as large as that setting says (instead of
    MAX_REQUEST_BYTES)."""

    def wrap(view: ClientView) -> ClientView:
        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Response:
            if max_bytes_setting:
                request.max_content_length = current_app.config[max_bytes_setting]
            client = _authenticate()
            try:
                try:
                    clients.take_call(client)
                except quotas.QuotaExceeded as exceeded:
                    raise quota_exceeded(exceeded.retry_after) from None
                response = make_response(view(client, **kwargs))
            except ApiError as error:
                clients.record_call(client, error.status, error.code)
                raise
            except HTTPException as error:  # a body too large, as Werkzeug reads it
                refused = ApiError.from_http(error)
                clients.record_call(client, refused.status, refused.code)
                raise refused from None
            except Exception:
                clients.record_call(client, 500, "internal_error")
                raise
            clients.record_call(client, response.status_code)
            return response

        return wrapper

    return wrap


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document of this API (public, cacheable)."""
    response = jsonify(document())
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


@bp.post("/score")
@client_call("API_MAX_REQUEST_BYTES")
@endpoint(
    body=ScoreRequest,
    responses={
        200: (ScoreResponse, "Un résultat par texte, dans l’ordre."),
        400: (ErrorBody, "`invalid_json`."),
        401: (ErrorBody, "`missing_key`, `unknown_key`."),
        403: (ErrorBody, "`revoked_key`."),
        413: (ErrorBody, "`too_large`."),
        422: (
            ErrorBody,
            "`invalid_field`, `empty_text`, `text_too_long`, `too_many_texts`, `invalid_text`.",
        ),
        429: (ErrorBody, "`quota_exceeded` (avec Retry-After)."),
        503: (ErrorBody, "`scoring_unavailable` : aucun score, aucun verdict."),
    },
    tags=("Notation",),
    security={"client_key": []},
)
def score(client: ApiClient, body: ScoreRequest) -> Response:
    """Noter des textes comme le site déciderait d’un nouveau commentaire : le score de
    chaque catégorie, le verdict (publier, retenir, refuser, inviter à reformuler), ses raisons
    en mots, les mots des listes trouvés.

    Corps : `{"texts": ["…", …]}` ou `{"text": "…"}`, et au choix `"format": "text"|"html"`,
    `"nudge": true|false`. Rien n’est conservé.

    200 : un résultat par texte, dans l’ordre. 400 `invalid_json`. 401 `missing_key`,
    `unknown_key`. 403 `revoked_key`. 413 `too_large` (API_MAX_REQUEST_BYTES). 422
    `invalid_field`, `empty_text`, `text_too_long`, `too_many_texts`, `invalid_text` (avec
    `field`). 429 `quota_exceeded` (avec Retry-After). 503 `scoring_unavailable` : aucun score,
    aucun verdict."""
    asked = body
    if (asked.text is None) == (asked.texts is None):
        raise ApiError(
            422, "invalid_field", "Envoyez soit « text », soit « texts » (l’un des deux).",
            "texts",
        )  # fmt: skip
    field = "text" if asked.texts is None else "texts"
    given = [asked.text] if asked.text is not None else asked.texts or []
    try:
        texts = textverdicts.check_texts(given, html=asked.format == "html", field=field)
        verdicts = textverdicts.score(texts, may_nudge=asked.nudge)
    except textverdicts.TextRefused as refused:
        raise ApiError(422, refused.code, refused.message, refused.field) from None
    except ScoringTimeout:
        raise _no_score("Le modèle n’a pas noté ces textes à temps. Réessayez.") from None
    except ScoringUnavailable:
        raise _no_score("Le modèle est indisponible : aucun score, aucun verdict.") from None
    answer = ScoreResponse(
        model=ModelInfo(name=verdicts.model_name, version=verdicts.model_version),
        results=[_result(result) for result in verdicts.results],
    )
    return jsonify(answer.model_dump(mode="json"))


def _no_score(message: str) -> ApiError:
    return ApiError(503, "scoring_unavailable", message, headers={"Retry-After": "1"})


def _result(result: textverdicts.TextVerdict) -> TextResult:
    return TextResult(
        scores=result.scores,
        verdict=result.verdict.outcome.value,
        reasons=[
            ReasonOut(
                code=r.code,
                category=r.category,
                score=r.score,
                threshold=r.threshold,
                detail=r.detail,
                message=labels.reason_text(r, technical=False),
            )
            for r in result.verdict.reasons
        ],  # fmt: skip
        words=[
            WordOut(list=m.kind, entry=m.entry, text=m.text, start=m.start, end=m.end)
            for m in result.matches
        ],
        author_message=result.author_message,
        windowed=result.windowed,
    )
