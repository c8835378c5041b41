"""`/api/v1/sso` (issue 13): a newsroom's signed token exchanged for a reader session."""

from __future__ import annotations

from flask import Response, jsonify

from app.api import cors
from app.api.errors import ApiError
from app.api.schemas import ErrorBody
from app.api.spec import endpoint
from app.api.sso_schemas import SsoReader, SsoSessionQuery, SsoSessionRequest, SsoSessionResponse
from app.api.v1 import bp
from app.models import Site
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


@bp.post("/sso/session")
@cors.reader_endpoint
@endpoint(
    query=SsoSessionQuery,
    body=SsoSessionRequest,
    responses={
        200: (SsoSessionResponse, "La session du lecteur : `reader_token` (`s.…`)."),
        400: (ErrorBody, "`invalid_json`."),
        401: (ErrorBody, "`invalid_token`, `expired_token`, `replayed_token`."),
        403: (ErrorBody, "`origin_not_allowed`, `sso_not_configured`, `account_disabled`."),
        413: (ErrorBody, "`too_large`."),
        422: (
            ErrorBody,
            "`invalid_field` (un `?site=` inconnu), `invalid_name`, `too_long`, `invalid_email`.",
        ),
    },
    tags=("Connexion unique",),
)
def sso_session(site: Site, query: SsoSessionQuery, body: SsoSessionRequest) -> Response:
    """Échanger le jeton que le CMS d’un site a signé pour son lecteur connecté (le jeton SSO
    de Coral : un JWT, HS256 avec le secret SSO du site, revendications `jti`, `iat`, `exp`,
    `user.id`, `user.email`, `user.username`) contre une session de lecteur.

    Le site est celui qui autorise l’`Origin` de la requête ; sans `Origin`, `?site=NOM`, sinon
    le site par défaut. Le lecteur est le `user.id` du site, créé à sa première venue ; un jeton
    suivant met son nom à jour.

    200 : `{"reader_token": "s.…", "reader": {"name"}, "expires_at"}` ; envoyer `reader_token`
    dans l’en-tête `X-Reader-Token`. 400 `invalid_json`. 401 `invalid_token` (signature,
    algorithme autre que HS256, revendication absente ou mal formée, émis dans le futur, valable
    plus de 24 heures), `expired_token`, `replayed_token` (ce `jti` a déjà été échangé). 403
    `origin_not_allowed`, `sso_not_configured` (le site n’a pas de secret SSO),
    `account_disabled`. 413 `too_large`. 422 `invalid_field` (un `?site=` inconnu),
    `invalid_name`, `too_long` (`user.username` au-delà de 80 caractères), `invalid_email`
    (`user.email`)."""
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
