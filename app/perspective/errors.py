"""Google's error shape (`{"error": {"code", "message", "status"}}`) for every error under the
Perspective prefix, those of the app's own handlers (404, 405, 500, a database outage)
included: a Perspective client may read the body, and never expects our HTML page."""

from __future__ import annotations

from typing import Any

# HTTP status -> google.rpc status name and message (Google's front end's own wording).
GOOGLE_STATUS: dict[int, tuple[str, str]] = {
    400: ("INVALID_ARGUMENT", "Request contains an invalid argument."),
    403: ("PERMISSION_DENIED", "The request is missing a valid API key."),
    404: ("NOT_FOUND", "Requested entity was not found."),
    405: ("UNIMPLEMENTED", "Method not allowed: use POST."),
    413: ("INVALID_ARGUMENT", "Request payload size exceeds the limit."),
    429: ("RESOURCE_EXHAUSTED", "Quota exceeded."),
    500: ("INTERNAL", "Internal error encountered."),
    503: ("UNAVAILABLE", "The service is currently unavailable."),
}


def google_error_body(code: int, message: str | None = None) -> dict[str, Any]:
    status, default = GOOGLE_STATUS.get(code, ("UNKNOWN", "Unknown error."))
    return {"error": {"code": code, "message": message or default, "status": status}}
