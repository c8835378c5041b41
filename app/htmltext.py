"""HTML reduced to the text a reader sees (Perspective's `comment.type: HTML`, Coral's
« HTML » format, imported comments): tags dropped, entities decoded, blocks and line breaks as
new lines, nothing of <script>, <style> or <template> kept; links' addresses kept as text on
demand (`keep_links`: « le rapport (https://…) »). Python's own HTML parser: it never fails
on broken markup, and reads the text in one pass (linear in its length)."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 "
    "h6 header hr li main nav ol p pre section table td th tr ul".split()
)
_HIDDEN = frozenset({"script", "style", "template", "noscript"})
_SPACES = re.compile(r"[ \t\r\f\v]+")
_LINES = re.compile(r"\s*\n\s*")


_LINKED = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)


class _Text(HTMLParser):
    def __init__(self, links: Callable[[str], str] | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.links = links
        # The open <a>'s address and where its text starts in `parts`.
        self.anchor: tuple[str, int] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self.links is not None and not self.hidden:
            href = (dict(attrs).get("href") or "").strip()
            if _LINKED.match(href):
                self.anchor = (self.links(href), len(self.parts))

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self.anchor is not None:
            href, start = self.anchor
            self.anchor = None
            shown = " ".join("".join(self.parts[start:]).split())
            bare = href.removeprefix("mailto:")
            if not shown:
                self.parts.append(bare)
            elif shown.rstrip("/") != bare.rstrip("/") and bare not in shown:
                self.parts.append(f" ({bare})")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def _as_is(href: str) -> str:
    return href


def html_to_text(
    html: str, *, keep_links: bool = False, link: Callable[[str], str] | None = None
) -> str:
    """The visible text of an HTML fragment, spaces collapsed, one new line between blocks.

    With `keep_links`, an http(s) or mailto link's address follows its text in brackets (alone
    when the text is the address itself); `link` may rewrite each address first (a tracking
    redirect unwrapped, say)."""
    parser = _Text((link or _as_is) if keep_links else None)
    parser.feed(html)
    parser.close()
    text = _SPACES.sub(" ", "".join(parser.parts))
    return _LINES.sub("\n", text).strip()
