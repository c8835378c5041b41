"""Perspective-compatible endpoints (`/perspective/v1alpha1/comments:analyze` and
`…:suggestscore`): a site that scored comments with Google's Perspective (Coral Talk) points
its « custom endpoint » here and keeps everything else. A machine API: CSRF-exempt, a key per
client (`?key=`, as Coral and Google's clients send it, or the `X-Goog-Api-Key` header),
Google's error shape. The logic lives in app/services/perspective.py."""

from flask import Blueprint

PREFIX = "/perspective/v1alpha1"

bp = Blueprint("perspective", __name__, url_prefix=PREFIX)

from app.perspective import routes  # noqa: E402,F401
