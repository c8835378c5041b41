"""The readers' endpoints of `/api/v1` (the embed, SSO): which site a request speaks for, and
CORS, in one place (docs/embed-api.md, « Sites, origines, CORS »).

- A browser's call carries `Origin`: its site is the one whose origins hold it
  (services/sites.site_for_origin). An origin that no site allows is refused, 403
  `origin_not_allowed`, before the view runs: nothing is created.
- A call without `Origin` (a server, curl) speaks for `?site=NAME`, else the default site.
- Every answer of a reader endpoint, refusals included, says `Vary: Origin, X-Reader-Token`,
  and, for an allowed origin only, `Access-Control-Allow-Origin: <that origin>`: never `*`,
  never credentials (the embed uses no cookie; the reader is known by `X-Reader-Token`). The
  one exception: the 403 `origin_not_allowed` itself is readable by the refused page (not
  its preflight), so that the embed shows the refusal rather than a network error.
- A preflight (`OPTIONS` with `Access-Control-Request-Method`) from an allowed origin is
  answered 204 with the methods and the two headers the embed sends.

A view takes part with `@reader_endpoint` (under its route decorator); its keyword argument
`site` is the request's site.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from flask.typing import ResponseReturnValue

from app.api.errors import ApiError
from app.models import Site
from app.services import sites
from app.validators import text_problem

MARK = "_reader_endpoint"
ALLOWED_HEADERS = "Content-Type, X-Reader-Token"
EXPOSED_HEADERS = "ETag, Retry-After"
PREFLIGHT_MAX_AGE = 600
VARY = ("Origin", "X-Reader-Token")

View = Callable[..., ResponseReturnValue]


def origin_refused() -> ApiError:
    g.origin_refused = True  # the answer lets that page read this refusal (add_headers)
    return ApiError(403, "origin_not_allowed", sites.ORIGIN_REFUSED, "origin")


def allowed_origin() -> str | None:
    """The request's `Origin` when a site allows it (looked up once per request)."""
    if "_cors_origin" not in g:
        origin = request.headers.get("Origin")
        g._cors_origin = origin if sites.site_for_origin(origin) is not None else None
    found: str | None = g._cors_origin
    return found


def from_browser() -> bool:
    """Whether the request came from a web page (it says its `Origin`)."""
    return "Origin" in request.headers


def request_site() -> Site:
    """The site this request speaks for (see the module's docstring); ApiError 403 for an
    origin no site allows, 422 for an unknown `?site=`."""
    if from_browser():
        origin = request.headers.get("Origin")
        site = sites.site_for_origin(origin)
        g._cors_origin = origin if site is not None else None
        if site is None:
            raise origin_refused()
        return site
    name = request.args.get("site")
    if name is None:
        return sites.default_site()
    site = sites.get(name) if len(name) <= 64 and not text_problem(name) else None
    if site is None:
        raise ApiError(422, "invalid_field", "Aucun site ne porte ce nom.", "site")
    return site


def reader_endpoint(view: View) -> View:
    """A public endpoint for readers: its site (`site=`) from the request, the origin checked
    first, CORS on every answer (`after_reader_request`)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        return view(*args, site=request_site(), **kwargs)

    setattr(wrapper, MARK, True)
    return wrapper


def _is_reader_request() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, MARK, False))


def preflight() -> ResponseReturnValue | None:
    """`before_request`: a CORS preflight to a reader endpoint, answered here (204 for an
    allowed origin, 403 `origin_not_allowed` otherwise). Anything else goes on."""
    if request.method != "OPTIONS" or not _is_reader_request():
        return None
    if "Access-Control-Request-Method" not in request.headers:
        return None  # a plain OPTIONS: Flask's own answer (Allow)
    if allowed_origin() is None:
        raise origin_refused()
    response = Response(status=204)
    adapter = current_app.create_url_adapter(request)
    allowed = set(adapter.allowed_methods()) if adapter is not None else set()
    methods = sorted(allowed - {"HEAD", "OPTIONS"})
    response.headers["Access-Control-Allow-Methods"] = ", ".join(methods)
    response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


def add_headers(response: Response) -> Response:
    """`after_request`: CORS and `Vary` on every answer of a reader endpoint, refusals too."""
    if not _is_reader_request():
        return response
    for name in VARY:
        response.vary.add(name)
    origin = allowed_origin()
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    elif g.get("origin_refused") and request.method != "OPTIONS":
        # The refusal alone, readable by the refused page: the embed says why it shows no
        # comments (a browser hides an answer without this header). It holds no data; a
        # preflight's refusal stays unreadable, so nothing is ever sent from that page.
        response.headers["Access-Control-Allow-Origin"] = request.headers["Origin"]
    if response.status_code >= 400 and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"  # a refusal is never shared by a CDN
    return response


def register(bp: Blueprint) -> None:
    bp.before_request(preflight)
    bp.after_request(add_headers)
