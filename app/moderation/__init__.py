"""The moderators' workspace, under /moderation/."""

from flask import Blueprint

bp = Blueprint("moderation", __name__, url_prefix="/moderation")

from app.moderation import routes  # noqa: E402,F401
