"""`/embed.js`: the « Votre commentaire » section for any newsroom page (issue 13).

The script (app/static/embed/embed.js) and its styles (embed.css) are plain files, no build
step: this view puts the CSS text into the script, where a constructed stylesheet adopts it
inside the shadow root, so that the host page's CSP needs no `style-src` entry. One request,
cached by the browser and any CDN for an hour, then revalidated by its ETag (a hash of the
content: a new release changes it).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from flask import Response, request

from app.reader import bp

EMBED_DIR = Path(__file__).resolve().parent.parent / "static" / "embed"
SCRIPT = EMBED_DIR / "embed.js"
STYLES = EMBED_DIR / "embed.css"
CSS_SLOT = '/*CSS*/ ""'
MAX_AGE = 3600  # the URL newsrooms paste never changes: an hour, then a cheap 304
STALE = 86400  # a CDN may serve the old copy for a day while it asks again


@dataclass(frozen=True)
class Bundle:
    body: bytes
    etag: str


def bundle() -> Bundle:
    """embed.js with embed.css inside (rebuilt when either file changes)."""
    return _bundle(SCRIPT.stat().st_mtime_ns, STYLES.stat().st_mtime_ns)


@functools.lru_cache(maxsize=2)
def _bundle(script_mtime: int, styles_mtime: int) -> Bundle:
    script = SCRIPT.read_text(encoding="utf-8")
    if script.count(CSS_SLOT) != 1:
        raise RuntimeError(f"{SCRIPT} must hold the styles' slot {CSS_SLOT} exactly once")
    css = " ".join(STYLES.read_text(encoding="utf-8").split())  # one line; gzip does the rest
    body = script.replace(CSS_SLOT, json.dumps(css)).encode()  # ASCII: U+2028 escaped too
    return Bundle(body, hashlib.sha256(body).hexdigest()[:20])


@bp.get("/embed.js")
def embed_script() -> Response:
    """The embed's script, from our origin: 200 (or 304 to a matching If-None-Match)."""
    served = bundle()
    response = Response(served.body, mimetype="text/javascript")
    response.set_etag(served.etag)
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE
    response.cache_control.stale_while_revalidate = STALE
    response.headers["Access-Control-Allow-Origin"] = "*"  # a public script, no credentials
    response.vary.add("Accept-Encoding")
    response.make_conditional(request)
    return response
