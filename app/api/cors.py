"""CORS for the reader endpoints of `/api/v1` (docs/embed-api.md, « Sites, origins, CORS »):
only the sites' allowed origins, never `*`, no credentials (the embed never uses a cookie),
and the site of a request chosen by its `Origin`.

A browser reads an answer, refusals included, only when it carries
`Access-Control-Allow-Origin`: `cors` adds it to every answer of a view, its ApiErrors too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Response, g, make_response, request
from flask.typing import ResponseReturnValue

from app.api.errors import ApiError
from app.models import Site
from app.services import sites

ALLOWED_HEADERS = "Content-Type, X-Reader-Token"
PREFLIGHT_MAX_AGE = 600  # seconds a browser may keep a preflight's answer

View = Callable[..., ResponseReturnValue]


def origin_site() -> Site | None:
    """The site that allows this request's `Origin` (None without one, or for an origin no
    site allows); looked up once per request."""
    if "cors_site" not in g:
        g.cors_site = sites.site_for_origin(request.headers.get("Origin"))
    site: Site | None = g.cors_site
    return site


def origin_refused() -> ApiError:
    return ApiError(403, "origin_not_allowed", sites.ORIGIN_REFUSED, "origin")


def request_site(name: str | None) -> Site:
    """The site of a request: the one allowing its `Origin` (a browser on a newsroom page);
    without `Origin` (a server, curl), the site called `name`, else the default site.
    403 `origin_not_allowed` for an origin no site allows; 404 `site_not_found`."""
    if request.headers.get("Origin"):
        site = origin_site()
        if site is None:
            raise origin_refused()
        return site
    if name:
        named = sites.get(name)
        if named is None:
            raise ApiError(404, "site_not_found", f"Aucun site ne s’appelle « {name} ».", "site")
        return named
    return sites.default_site()


def allow_origin(response: Response) -> Response:
    """Let the request's origin read this answer, when a site allows it."""
    response.vary.add("Origin")
    origin = request.headers.get("Origin")
    if origin and origin_site() is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
    return response


def cors(view: View) -> View:
    """Wrap a reader endpoint: its answers, refusals included, readable by allowed origins."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            response = make_response(view(*args, **kwargs))
        except ApiError as error:
            response = make_response(error.response())
        return allow_origin(response)

    return wrapper


def preflight(methods: str) -> Response:
    """A browser's preflight (`OPTIONS`) for an allowed origin: 204 with what it may send;
    403 `origin_not_allowed` otherwise."""
    if origin_site() is None:
        raise origin_refused()
    response = make_response("", 204)
    response.headers["Access-Control-Allow-Methods"] = methods
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return allow_origin(response)
