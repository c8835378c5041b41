"""Modération: the application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import sqlite
from app.config import load_config
from app.converters import IdConverter
from app.extensions import babel, csrf, db, limiter, login_manager, mail, migrate, talisman
from app.privacy import redact_logs
from app.scoring import Scorer, ScorerSettings, ScoringBackend, get_scorer
from app.scoring.download import local_model
from app.tasks import CeleryScoring, celery_init_app
from app.validators import Request
from app.worker import BatchScorer, ScoringWorker

CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "style-src": "'self'",
    "script-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def create_app(config: dict[str, Any] | None = None, scorer: Scorer | None = None) -> Flask:
    """Build the app; `config` (tests) replaces the settings read from the environment, and
    `scorer` (tests, benchmarks) an already loaded model to share between apps."""
    app = Flask(__name__, instance_relative_config=True)
    app.request_class = Request
    app.url_map.converters["id"] = IdConverter  # every id in a path: `<id:...>`
    app.config.update(config if config is not None else load_config(app.instance_path))
    logging.basicConfig(level=logging.INFO)
    redact_logs()  # no address in any log line, tracebacks included
    # Flask-Talisman believes X-Forwarded-Proto as it comes: the app never sees it, only the
    # scheme ProxyFix derived from it (when there are trusted proxies).
    app.wsgi_app = _without_forwarded_proto(app.wsgi_app)  # type: ignore[method-assign]
    if app.config.get("TRUSTED_PROXIES", 0) > 0:
        # Behind N proxies: the reader's address and scheme are the ones the nearest N
        # appended to X-Forwarded-For/-Proto; with 0 these headers are ignored (spoofable).
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir())
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Connectez-vous pour accéder à cette page."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        strict_transport_security=app.config["FORCE_HTTPS"],
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
    )
    # One time zone for every date and time a person reads: the site's.
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config.get("SITE_TIMEZONE", "Europe/Paris")
    babel.init_app(app, locale_selector=select_locale)
    with app.app_context():
        sqlite.configure(db.engine)

    from app import cli, errors, templating
    from app.admin import bp as admin_bp
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.coral import bp as coral_bp
    from app.models import User
    from app.moderation import bp as moderation_bp
    from app.perspective import bp as perspective_bp
    from app.reader import bp as reader_bp

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        """The account of a session or remember-me cookie, while that session is current."""
        from app.services.accounts import user_for_session

        return user_for_session(session_id)

    backend = _scoring_backend(app, scorer)
    app.extensions["scoring"] = backend  # reached through app.scoring.backend()
    app.before_request(backend.start)  # the one place it starts (never for CLI commands)

    app.register_blueprint(reader_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(coral_bp)  # Coral's moderation phase: signed, CSRF-exempt
    app.register_blueprint(moderation_bp)
    app.register_blueprint(admin_bp)
    csrf.exempt(perspective_bp)  # a machine API: a key, no session, no form
    app.register_blueprint(perspective_bp)
    errors.register(app)
    templating.register(app)
    cli.register(app)
    return app


def _scoring_backend(app: Flask, scorer: Scorer | None) -> ScoringBackend:
    """The model (loaded on first use) and the scoring backend: a thread of this process, or
    Celery workers (SCORING_BACKEND)."""
    given = scorer

    def configured() -> Scorer:
        """The server's own model (DETOXIFY_*), or the one given (tests); not loaded."""
        if given is not None:
            return given
        return get_scorer(scorer_settings(app.config), runtime=app.config["DETOXIFY_RUNTIME"])

    # claim -> one model call -> decisions, either backend; it follows a model promoted in
    # « Essai » between two batches (services/live_model)
    runner = BatchScorer(app, configured(), configured)
    app.extensions["scoring_runner"] = runner
    celery_app = celery_init_app(app, runner)  # `celery --app wsgi:celery_app worker`
    if app.config["SCORING_BACKEND"] == "celery":
        return CeleryScoring(app, celery_app, runner)
    # SCORING_MODEL_INSTANCES: more instances, each its own model (DETOXIFY_THREADS divided)
    others = [
        BatchScorer(app, configured(), configured, metrics=runner.metrics)
        for _ in range(app.config["SCORING_MODEL_INSTANCES"] - 1)
    ]
    return ScoringWorker(app, runner, others)


STAFF_PREFIXES = ("/moderation", "/admin")
LANGUAGES = ("fr", "en")


def select_locale() -> str:
    """Readers' pages (and work outside a request: the worker, the CLI) speak French. Staff
    pages: French first, English on request (`?lang=en`, remembered in the session) or when the
    browser prefers it."""
    from flask import has_request_context, request, session

    if not has_request_context() or not request.path.startswith(STAFF_PREFIXES):
        return "fr"
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["staff_lang"] = asked
        return asked
    return session.get("staff_lang") or request.accept_languages.best_match(LANGUAGES) or "fr"


def scorer_settings(config: Mapping[str, Any]) -> ScorerSettings:
    """The model to load: DETOXIFY_CHECKPOINT (+ DETOXIFY_HF_CONFIG) when set, else a complete
    `model download` in MODEL_DIR, else the model type (downloaded by Detoxify itself)."""
    settings = ScorerSettings.from_config(config)
    if settings.checkpoint is None:
        local = local_model(config["MODEL_DIR"], settings.model)
        if local is not None:
            settings = replace(
                settings, checkpoint=str(local.checkpoint), hf_config=str(local.hf_config)
            )
    return settings


def _without_forwarded_proto(wsgi_app: Any) -> Any:
    """Drop the X-Forwarded-Proto header once ProxyFix (outside) has read what it trusts."""

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        environ.pop("HTTP_X_FORWARDED_PROTO", None)
        return wsgi_app(environ, start_response)

    return middleware


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")
