"""`/api/v1` for readers and the embed (issue 13): stories, their comments, posting, reports,
counts. Public (no key), CORS for the sites' allowed origins only."""

from __future__ import annotations

from app.api.v1 import bp  # noqa: F401
