"""A newsroom's page on another origin than ours, as the README tells a newsroom to write it:
its own markup with a plain link for readers without JavaScript, our `<script src=…/embed.js
async>`, and a strict content security policy that names only our origin (`script-src`,
`connect-src`) besides the page's own stylesheet. Served by `http.server` in a thread.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The newsroom's own styles: loud, so that a leak into the comments would show.
HOST_CSS = """
html { font-size: 62.5%; }
body { font: 1.8rem/1.4 "Courier New", monospace; color: rgb(200, 0, 0); margin: 0 auto;
       max-width: 72rem; padding: 0 1.6rem; }
p, li, button, h2, label, input, textarea { color: rgb(200, 0, 0); font-family: monospace;
       text-transform: uppercase; letter-spacing: .2em; }
button { background: rgb(255, 255, 0); border: 5px dashed rgb(0, 200, 0); }
"""

# Record what the page's CSP refused (read back by the tests: Playwright's init scripts are
# not subject to the page's CSP).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def csp(our_origin: str) -> str:
    """The host page's policy: the two entries a newsroom adds for us, its own stylesheet."""
    return (
        f"default-src 'none'; script-src {our_origin}; connect-src {our_origin}; "
        "style-src 'self'; base-uri 'none'; form-action 'none'"
    )


def story_page(
    our_origin: str,
    story_url: str,
    title: str,
    *,
    sso_token: str | None = None,
    story_id: str | None = None,
    html_url: str | None = None,
) -> str:
    """An article page of the newsroom's CMS with the comments block."""
    attrs = f'data-moderation-story="{html.escape(story_url)}" data-title="{html.escape(title)}"'
    if story_id:
        attrs += f' data-story-id="{html.escape(story_id)}"'
    if sso_token:
        attrs += f' data-sso-token="{html.escape(sso_token)}"'
    link = html.escape(html_url or f"{our_origin}/")
    return f"""<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} — Le Journal de l’Ouest</title>
<link rel="stylesheet" href="/host.css">
</head>
<body>
<header><p>Le Journal de l’Ouest</p></header>
<main>
<article><h1>{html.escape(title)}</h1>
<p>Le texte de l’article, écrit par la rédaction.</p></article>
<div {attrs}>
  <p class="no-js"><a href="{link}">Lire les commentaires et réagir</a></p>
</div>
</main>
<script src="{our_origin}/embed.js" async></script>
</body>
</html>
"""


@dataclass
class HostSite:
    """The newsroom's server: `pages[path] = html`, served with `csp(our_origin)`."""

    origin: str
    our_origin: str
    pages: dict[str, str] = field(default_factory=dict)

    def add(self, path: str, title: str, **kwargs: Any) -> str:
        """A story page at `path`; its URL (also the story's canonical URL)."""
        url = self.origin + path
        self.pages[path] = story_page(self.our_origin, url, title, **kwargs)
        return url


@contextmanager
def serve_host(our_origin: str, hostname: str = "localhost") -> Iterator[HostSite]:
    """A newsroom's site on a free loopback port (`hostname` names it in URLs: another site
    than our 127.0.0.1, as a newsroom's domain is)."""
    site = HostSite(origin="", our_origin=our_origin)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path = self.path.split("?", 1)[0]
            if path == "/host.css":
                self._send(200, "text/css", HOST_CSS)
            elif path in site.pages:
                self._send(200, "text/html", site.pages[path])
            else:
                self._send(404, "text/plain", "Page introuvable.")

        def _send(self, status: int, mimetype: str, text: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", f"{mimetype}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", csp(our_origin))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # quiet tests

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.origin = f"http://{hostname}:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="e2e-host", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
