"""JSON endpoints for machines: /healthz, /metrics, and the clients' API under /api/v1."""

from flask import Blueprint

bp = Blueprint("api", __name__)

# Each module adds its routes to v1's blueprint: stories (readers, the embed), staff
# (moderation), sso (single sign-on), docs (the reference page).
from app.api import docs, routes, sso, staff, stories  # noqa: E402,F401
from app.api.v1 import bp as v1_bp  # noqa: E402

bp.register_blueprint(v1_bp)
