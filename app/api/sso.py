"""`/api/v1/sso` (issue 13): a newsroom's signed token exchanged for a reader session."""

from __future__ import annotations

from flask import Response, jsonify

from app.api.cors import cors, preflight, request_site
from app.api.errors import ApiError
from app.api.schemas import ErrorBody
from app.api.spec import endpoint
from app.api.sso_schemas import SsoReader, SsoSessionQuery, SsoSessionRequest, SsoSessionResponse
from app.api.v1 import bp
from app.services import sso

# The status of each refusal of services/sso.py.
STATUSES = {
    sso.INVALID_TOKEN: 401,
    sso.EXPIRED_TOKEN: 401,
    sso.REPLAYED_TOKEN: 401,
    sso.NOT_CONFIGURED: 403,
    sso.ACCOUNT_DISABLED: 403,
    sso.INVALID_NAME: 422,
    sso.NAME_TOO_LONG: 422,
    sso.INVALID_EMAIL: 422,
}


@bp.route("/sso/session", methods=["OPTIONS"])
def sso_session_preflight() -> Response:
    """A browser's preflight: 204 for an allowed origin, 403 `origin_not_allowed`."""
    return preflight("POST, OPTIONS")


@bp.route("/sso/session", methods=["POST"], provide_automatic_options=False)
@cors
@endpoint(
    query=SsoSessionQuery,
    body=SsoSessionRequest,
    responses={
        200: (SsoSessionResponse, "La session du lecteur : `reader_token` (`s.…`)."),
        400: (ErrorBody, "`invalid_json`."),
        401: (ErrorBody, "`invalid_token`, `expired_token`, `replayed_token`."),
        403: (ErrorBody, "`origin_not_allowed`, `sso_not_configured`, `account_disabled`."),
        404: (ErrorBody, "`site_not_found` (`?site=`)."),
        413: (ErrorBody, "`too_large`."),
        422: (ErrorBody, "`invalid_field`, `invalid_name`, `too_long`, `invalid_email`."),
    },
    tags=("Connexion unique",),
)
def sso_session(query: SsoSessionQuery, body: SsoSessionRequest) -> Response:
    """Exchange the token a site's CMS signed for its signed-in reader (Coral's SSO token: a
    JWT, HS256 with the site's SSO secret, claims `jti`, `iat`, `exp`, `user.id`, `user.email`,
    `user.username`) for a reader session. The site is the one allowing the request's
    `Origin`; without `Origin`, `?site=NAME`, else the default site. The reader is the site's
    `user.id`, made on first use; a later token updates their name.

    200: `{"reader_token": "s.…", "reader": {"name"}, "expires_at"}`; send `reader_token` as
    `X-Reader-Token`. 400 `invalid_json`. 401 `invalid_token` (signature, algorithm other than
    HS256, a claim missing or malformed, issued in the future, valid more than 24 hours),
    `expired_token`, `replayed_token` (this `jti` was already exchanged). 403
    `origin_not_allowed`, `sso_not_configured` (the site has no SSO secret), `account_disabled`.
    404 `site_not_found`. 413 `too_large`. 422 `invalid_field`, `invalid_name`, `too_long`
    (`user.username` beyond 80 characters), `invalid_email` (`user.email`)."""
    site = request_site(query.site)
    try:
        session = sso.open_session(site, body.token)
    except sso.SsoRefused as refused:
        status = STATUSES[refused.code]
        headers = {"WWW-Authenticate": f'Bearer error="{refused.code}"'} if status == 401 else {}
        raise ApiError(status, refused.code, refused.message, refused.field, headers) from None
    answer = SsoSessionResponse(
        reader_token=session.token,
        reader=SsoReader(name=session.user.display_name),
        expires_at=session.expires_at,
    )
    response = jsonify(answer.model_dump(mode="json"))
    response.cache_control.no_store = True  # a session token: never kept by a cache
    return response
