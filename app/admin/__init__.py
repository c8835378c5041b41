"""The admins' pages, under /admin/: thresholds, rules, word lists, articles, history,
simulation before saving, calibration and the dashboard."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.admin import routes  # noqa: E402,F401
