from __future__ import annotations

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

from app.coral import bp
from app.extensions import csrf
from app.services import coral


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    """Our JSON error (Coral reads only the status: any non-2xx and it goes on without us)."""
    return jsonify(error={"status": status, "code": code, "message": message}), status


@bp.post("/moderation/<client>")
@csrf.exempt
def moderation_phase(client: str) -> Response | tuple[Response, int]:
    """Coral's external moderation phase for the API client `client` (its Coral secret signs
    each request: X-Coral-Signature). The body is read raw: the signature covers its bytes.

    204: we abstain (no body). 200: `{"status": …, "actions": […]}` as Coral's schema reads
    it (plus `reason` in words on a rejection, which Coral strips). 400: not JSON, or not the
    shape Coral sends. 403: unknown or revoked client, no Coral secret, a missing or wrong
    signature (nothing scored). 413: a body over MAX_REQUEST_BYTES. 429: the client's quota
    is used up (Retry-After)."""
    raw = request.get_data(cache=False)
    try:
        answer = coral.handle(client, raw, request.headers.get("X-Coral-Signature"))
    except coral.PhaseError as error:
        response, status = _error(error.status, error.code, error.message)
        if error.retry_after is not None:
            response.headers["Retry-After"] = str(error.retry_after)
        return response, status
    if answer.body is None:
        return Response(status=204)  # no body at all: `{}` would read as a decision
    return jsonify(answer.body)


@bp.errorhandler(413)  # by code: the app's own 413 page would win over a class handler
@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[Response, int]:
    """Werkzeug's refusals (413 too large, 405) as our JSON error, not an HTML page."""
    status = error.code or 500
    codes = {413: "INVALID_ARGUMENT", 405: "INVALID_ARGUMENT", 404: "NOT_FOUND"}
    return _error(status, codes.get(status, "UNKNOWN"), error.name)
