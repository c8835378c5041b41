"""`/api/v1/sso` (issue 13): a newsroom's signed token exchanged for a reader session."""

from __future__ import annotations

from app.api.v1 import bp  # noqa: F401
