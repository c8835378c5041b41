"""`/api/v1/moderation` (issue 13): the moderators' queues and decisions, for a staff account's
API token or a client key with the moderation scope."""

from __future__ import annotations

from app.api.v1 import bp  # noqa: F401
