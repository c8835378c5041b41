"""The one error shape of `/api/v1`: every refusal, whatever raised it, is

    {"error": {"code": "<stable code>", "message": "<French sentence>", "field": "<field>"|null}}

with its HTTP status (and `Retry-After` for a 429, `WWW-Authenticate` for a 401). `code` is
stable (a CMS may branch on it); `message` is for a person and may change; `field` names the
request field refused (`texts.2`, `format`), or null. `app.errors` sends every error under
`/api/v1/` here (a 404, a 405, a 413 read by Werkzeug, a 500), so that no HTML page ever
answers an API client. Issue 13's endpoints raise the same `ApiError`s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

PREFIX = "/api/v1/"

# status -> (code, message) for errors Werkzeug or Flask raise themselves.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "La requête n’a pas pu être comprise."),
    404: ("not_found", "Cette adresse de l’API n’existe pas."),
    405: ("method_not_allowed", "Cette adresse de l’API ne s’utilise pas avec cette méthode."),
    413: ("too_large", "La requête dépasse la taille maximale acceptée."),
    415: ("unsupported_media_type", "Le corps de la requête doit être du JSON."),
    429: ("quota_exceeded", "Trop d’appels : le quota de cette clé est atteint."),
    500: ("internal_error", "Une erreur inattendue s’est produite de notre côté. Réessayez."),
    503: ("unavailable", "Le service est momentanément indisponible. Réessayez."),
}


class ApiError(Exception):
    """An API refusal: its status, stable code, French message, and the field it concerns."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = dict(headers or {})

    @classmethod
    def from_http(cls, error: HTTPException) -> ApiError:
        """Werkzeug's own errors (404, 405, 413…), in our shape."""
        status = error.code or 500
        code, message = HTTP_ERRORS.get(status, ("error", "La requête a échoué."))
        if status == 413 and request.max_content_length:
            limit = request.max_content_length
            message = f"La requête dépasse la taille maximale acceptée ({limit} octets)."
        headers: dict[str, str] = {}
        if status == 405:
            allowed = error.get_headers().copy()
            headers = {k: v for k, v in allowed if k.lower() == "allow"}
        return cls(status, code, message, headers=headers)

    def response(self) -> tuple[Response, int, dict[str, str]]:
        body = {"error": {"code": self.code, "message": self.message, "field": self.field}}
        return jsonify(body), self.status, self.headers


def invalid_json() -> ApiError:
    return ApiError(400, "invalid_json", "Le corps de la requête n’est pas du JSON valide.")


def quota_exceeded(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "quota_exceeded",
        f"Trop d’appels : le quota de cette clé est atteint. Réessayez dans {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
    )


# Pydantic's error types, in French (the field is named beside the message).
_PYDANTIC_MESSAGES: dict[str, str] = {
    "missing": "Ce champ est obligatoire.",
    "extra_forbidden": "Ce champ n’est pas connu de l’API.",
    "string_type": "Une chaîne de caractères est attendue.",
    "bool_type": "true ou false est attendu.",
    "list_type": "Une liste est attendue.",
    "model_type": "Un objet JSON est attendu.",
    "model_attributes_type": "Un objet JSON est attendu.",
    "dict_type": "Un objet JSON est attendu.",
    "literal_error": "Valeur non reconnue : {expected}.",
    "enum": "Valeur non reconnue : {expected}.",
    "too_short": "La liste ne peut être vide.",
    "too_long": "Trop d’éléments : {max_length} au plus.",
    "string_too_long": "Trop long : {max_length} caractères au plus.",
    "int_type": "Un nombre entier est attendu.",
    "int_parsing": "Un nombre entier est attendu.",
    "int_from_float": "Un nombre entier est attendu.",
    "greater_than_equal": "Le nombre doit être au moins {ge}.",
    "less_than_equal": "Le nombre doit être au plus {le}.",
}


def from_validation(error: ValidationError) -> ApiError:
    """The first problem pydantic found, as a 422 naming its field (`texts.2`, or null for
    the whole body)."""
    first: Mapping[str, Any] = error.errors(include_url=False, include_input=False)[0]
    location = ".".join(str(part) for part in first.get("loc", ()))
    template = _PYDANTIC_MESSAGES.get(first["type"])
    if template is None:
        message = str(first.get("msg") or "Valeur invalide.")
        if first["type"] == "value_error":  # our own validators' French, as raised
            message = message.removeprefix("Value error, ")
    else:
        message = template.format(**(first.get("ctx") or {}))
    return ApiError(422, "invalid_field", message, location or None)


def is_api_request(path: str) -> bool:
    return path.startswith(PREFIX) or path == PREFIX.rstrip("/")
