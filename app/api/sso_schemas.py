"""`POST /api/v1/sso/session`'s request and answer (app/api/sso.py), as pydantic models: they
validate the request and are its schema in the OpenAPI document."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field, field_serializer, field_validator

from app.api.schemas import ApiModel

# A CMS's token is a few hundred characters; anything near this is not one.
MAX_TOKEN_CHARS = 8192
MAX_SITE_CHARS = 64


class SsoSessionQuery(ApiModel):
    """Le site dont le secret a signé le jeton, pour un appel sans `Origin` (un serveur,
    curl) ; l’appel d’un navigateur est celui du site de son `Origin`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    site: str | None = Field(default=None, json_schema_extra={"maxLength": MAX_SITE_CHARS})
    """Le nom du site (`flask sites list`) ; le site par défaut en son absence."""

    @field_validator("site")
    @classmethod
    def _site_length(cls, value: str | None) -> str | None:
        if value is not None and len(value) > MAX_SITE_CHARS:
            raise ValueError(f"Le nom d’un site a {MAX_SITE_CHARS} caractères au plus.")
        return value


class SsoSessionRequest(ApiModel):
    """`{"token": "<JWT>"}` : le jeton que le CMS du site a signé pour son lecteur connecté."""

    model_config = ConfigDict(extra="forbid", strict=True)

    token: str = Field(json_schema_extra={"minLength": 1, "maxLength": MAX_TOKEN_CHARS})
    """Un JWT, HS256 avec le secret SSO du site ; revendications `jti`, `iat`, `exp`,
    `user.id`, `user.email`, `user.username` (le SSO de Coral)."""

    @field_validator("token")
    @classmethod
    def _token_length(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Le jeton est vide.")
        if len(value) > MAX_TOKEN_CHARS:
            raise ValueError(f"Le jeton dépasse {MAX_TOKEN_CHARS} caractères.")
        return value.strip()


class SsoReader(ApiModel):
    """Le lecteur de la session."""

    name: str
    """Son nom tel que le donne le CMS du site (`user.username`), affiché sur ses
    commentaires."""


class SsoSessionResponse(ApiModel):
    """La session d’un lecteur connecté par le SSO de son site."""

    reader_token: str
    """`s.…` : à envoyer dans l’en-tête `X-Reader-Token` pour publier et lire en tant que ce
    lecteur, jusqu’à `expires_at` (ou jusqu’à la désactivation du compte)."""
    reader: SsoReader
    expires_at: datetime
    """La fin de la session (ISO 8601, avec son fuseau)."""

    @field_serializer("expires_at")
    def _iso(self, value: datetime) -> str:
        return value.isoformat()
