"""`POST /api/v1/sso/session`'s request and answer (app/api/sso.py), as pydantic models: they
validate the request and are its schema in the OpenAPI document."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

# A CMS's token is a few hundred characters; anything near this is not one.
MAX_TOKEN_CHARS = 8192
MAX_SITE_CHARS = 64


class SsoSessionQuery(BaseModel):
    """Which site's secret signed the token, for a call without `Origin` (a server, curl);
    a browser's call is the site of its `Origin`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    site: str | None = Field(default=None, json_schema_extra={"maxLength": MAX_SITE_CHARS})
    """The site's name (`flask sites list`); the default site when absent."""

    @field_validator("site")
    @classmethod
    def _site_length(cls, value: str | None) -> str | None:
        if value is not None and len(value) > MAX_SITE_CHARS:
            raise ValueError(f"Le nom d’un site a {MAX_SITE_CHARS} caractères au plus.")
        return value


class SsoSessionRequest(BaseModel):
    """`{"token": "<JWT>"}`: the token the site's CMS signed for its signed-in reader."""

    model_config = ConfigDict(extra="forbid", strict=True)

    token: str = Field(json_schema_extra={"minLength": 1, "maxLength": MAX_TOKEN_CHARS})
    """A JWT, HS256 with the site's SSO secret; claims `jti`, `iat`, `exp`, `user.id`,
    `user.email`, `user.username` (Coral's SSO)."""

    @field_validator("token")
    @classmethod
    def _token_length(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Le jeton est vide.")
        if len(value) > MAX_TOKEN_CHARS:
            raise ValueError(f"Le jeton dépasse {MAX_TOKEN_CHARS} caractères.")
        return value.strip()


class SsoReader(BaseModel):
    name: str
    """The reader's name as the site's CMS gives it (`user.username`), shown on comments."""


class SsoSessionResponse(BaseModel):
    reader_token: str
    """`s.…`: send it as `X-Reader-Token` to post and read as this reader, until
    `expires_at` (or until the account is deactivated)."""
    reader: SsoReader
    expires_at: datetime

    @field_serializer("expires_at")
    def _iso(self, value: datetime) -> str:
        return value.isoformat()
