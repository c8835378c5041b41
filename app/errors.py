"""One error shape: a French page for readers, JSON for API clients. Never a bare 500."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app import formatting
from app.api.errors import HTTP_ERRORS, ApiError, is_api_request
from app.extensions import db, limiter
from app.models import utcnow
from app.perspective import PREFIX as PERSPECTIVE_PREFIX
from app.perspective.errors import google_error_body

MESSAGES = {
    400: "La requête n’a pas pu être comprise.",
    403: "Vous n’avez pas accès à cette page.",
    404: "Cette page n’existe pas ou n’est plus en ligne.",
    405: "Cette adresse ne s’utilise pas ainsi.",
    500: "Une erreur inattendue s’est produite de notre côté. Réessayez dans un instant ; "
    "un commentaire déjà accepté n’est jamais perdu.",
    503: "Le service est momentanément indisponible. Rien n’a été enregistré : réessayez dans "
    "un instant ; un commentaire déjà accepté n’est jamais perdu.",
}

TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    413: "Envoi trop volumineux",
    422: "Données invalides",
    429: "Trop de commentaires",
    500: "Erreur du serveur",
    503: "Service indisponible",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _kept_text(status: int) -> str | None:
    """The reader's comment, shown back on an error page so that it is never lost."""
    if request.method != "POST" or status == 413:  # a 413 body is never read
        return None
    try:
        return request.form.get("body")
    except HTTPException:  # a body too large, or refused (a file), for any error page
        return None


def _render(
    status: int, message: str, title: str | None = None, **context: object
) -> tuple[Response | str, int]:
    if request.path.startswith(PERSPECTIVE_PREFIX + "/"):  # Google's shape, in English
        return jsonify(google_error_body(status)), status
    if _wants_json():
        return jsonify(error={"status": status, "message": message, **context}), status
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=title or TITLES.get(status, "Erreur"),
            message=message,
            kept_text=_kept_text(status),
            **context,
        ),
        status,
    )


ApiAnswer = tuple[Response, int, dict[str, str]]


def register(app: Flask) -> None:
    # Under /api/v1/ every error answers in the API's one shape (app/api/errors.py).
    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> ApiAnswer:
        return error.response()

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[Response | str, int] | ApiAnswer:
        if is_api_request(request.path):
            return ApiError.from_http(error).response()
        return _render(
            400,
            "Votre formulaire a expiré ou n’a pas été envoyé depuis cette page. "
            "Rechargez la page et renvoyez-le ; votre texte est recopié ci-dessous.",
        )

    @app.errorhandler(413)
    def too_large(error: HTTPException) -> tuple[Response | str, int] | ApiAnswer:
        if is_api_request(request.path):
            return ApiError.from_http(error).response()
        limit = app.config["MAX_CONTENT_LENGTH"] // 1024
        return _render(
            413,
            f"Votre envoi dépasse la taille maximale acceptée ({limit} Ko). "
            "Raccourcissez votre commentaire et renvoyez-le.",
        )

    @app.errorhandler(429)
    def too_many(error: HTTPException) -> tuple[Response | str, int, dict[str, str]]:
        if is_api_request(request.path):
            return ApiError.from_http(error).response()
        # A quota's own 429 (app/services/quotas.py) says how long to wait; Flask-Limiter's
        # decorators (sign-in) know their current limit. The page says the same, in words.
        current = limiter.current_limit
        own_wait = getattr(error, "retry_after", None)
        if isinstance(own_wait, int):
            wait = own_wait
        else:
            wait = max(1, int(current.reset_at - time.time())) if current else 60
        seconds = formatting.ngettext("%(num)s seconde", "%(num)s secondes", wait)
        when = formatting.clock(utcnow() + timedelta(seconds=wait), reader=True)
        own = error.description and error.description != type(error).description
        title = None
        if request.blueprint == "auth":  # sign-in, sign-up
            title = "Trop de tentatives"
            message = (
                f"Trop de tentatives en peu de temps. Vous pourrez réessayer dans {seconds} "
                f"(à partir de {when})."
            )
        elif own:
            message = f"{error.description} Réessayez dans {seconds} (à partir de {when})."
        else:
            message = (
                f"Vous avez envoyé trop de commentaires en peu de temps. Vous pourrez en "
                f"publier à nouveau dans {seconds} (à partir de {when}). "
                "Votre texte est recopié ci-dessous."
            )
        body, status = _render(429, message, title=title, retry_after=wait)
        return body, status, {"Retry-After": str(wait)}

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int] | ApiAnswer:
        if is_api_request(request.path):
            return ApiError.from_http(error).response()
        status = error.code or 500
        own = error.description and error.description != type(error).description
        message = error.description if own else MESSAGES.get(status, TITLES.get(status, "Erreur"))
        return _render(status, message or "Erreur")

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError) -> tuple[Response | str, int] | ApiAnswer:
        """The database does not answer (a restart, a network cut): say so, keep the text."""
        # Never the error's text: it carries the statement's parameters (a comment, a name,
        # an address, a guest token). Its class and an id to find this line are enough.
        error_id = secrets.token_hex(4)
        app.logger.error(
            "database unavailable on %s %s (error %s): %s from %s",
            request.method, request.path, error_id,
            type(error).__name__, type(error.orig).__name__,
        )  # fmt: skip
        try:
            db.session.rollback()
        except OperationalError:
            pass  # the connection is gone; the pool replaces it
        if is_api_request(request.path):
            code, message = HTTP_ERRORS[503]
            return ApiError(503, code, message).response()
        return _render(503, MESSAGES[503])

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response | str, int] | ApiAnswer:
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if is_api_request(request.path):
            code, message = HTTP_ERRORS[500]
            return ApiError(500, code, message).response()
        return _render(500, MESSAGES[500])
