from __future__ import annotations

from flask import Response, current_app, jsonify, request

from app.api import bp
from app.extensions import csrf, db
from app.scoring import backend as scoring_backend
from app.services import scoring


@bp.get("/healthz")
@csrf.exempt
def healthz() -> tuple[Response, int]:
    """The database and the model, as JSON: {"status": "ok"|"degraded", "model": state} for
    everyone; the details (queue, backend, model name and error) only for signed-in staff and
    for probes on this machine (loopback), since they name paths and errors.

    200: the site can take and score comments. 503: the database does not answer, or the
    model failed to load (comments are then kept and held for moderators)."""
    backend = scoring_backend()
    database: dict[str, object]
    try:
        database = {"ok": True, "awaiting_score": scoring.awaiting_count()}
    except Exception as error:  # the answer itself must not fail
        db.session.rollback()
        database = {"ok": False, "error": type(error).__name__}
    status = backend.status()
    scoring_ok = status["model"]["state"] in ("ready", "loading", "not_loaded")
    ok = bool(database["ok"]) and scoring_ok
    code = 200 if ok else 503
    public = {"status": "ok" if ok else "degraded", "model": status["model"]["state"]}
    if not _staff_or_loopback():
        return jsonify(public), code
    return jsonify({**public, "database": database, "scoring": status}), code


def _staff_or_loopback() -> bool:
    from flask_login import current_user

    from app.auth.access import has_role
    from app.models import Role

    return request.remote_addr in ("127.0.0.1", "::1") or has_role(current_user, Role.MODERATOR)


def _scraper_token_ok() -> bool:
    """`Authorization: Bearer <METRICS_TOKEN>`, compared in constant time; off when unset."""
    import hmac

    expected = current_app.config.get("METRICS_TOKEN") or ""
    scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics. 200 for staff or a scraper sending `Authorization: Bearer
    <METRICS_TOKEN>`; 403 else (whatever the address it comes from)."""
    from flask import abort
    from flask_login import current_user
    from prometheus_client import CONTENT_TYPE_LATEST

    from app.auth.access import has_role
    from app.metrics import render
    from app.models import Role

    if not (_scraper_token_ok() or has_role(current_user, Role.MODERATOR)):
        abort(403, description="Les métriques sont réservées à l’équipe et à sa sonde.")
    backend = scoring_backend()
    gauges = {
        "moderation_queue_depth": (
            "Comments awaiting a score (read from the database at scrape time).",
            float(scoring.awaiting_count()),
        ),
        **backend.gauges(),
    }
    return Response(render(backend.metrics, gauges), mimetype=CONTENT_TYPE_LATEST)
