"""Disqus's XML export (Admin › Community › Export; schema http://disqus.com/api/schemas/1.0/
disqus.xsd): `<category>`s, then `<thread dsq:id>`s (`link`, `title`, `id`: the identifier the
site gave, `forum`), then `<post dsq:id>`s (`message` in HTML, `createdAt` in ISO 8601 UTC,
`isDeleted`, `isSpam`, `author` with `name`, `email` (absent for many anonymous authors: Isso's
importer crashes on them) and `isAnonymous`, `<thread dsq:id>` and `<parent dsq:id>`).

Posts name their thread and parent by `dsq:id`; a post whose thread is not in the file is left
out (no page to attach it to) and counted; one whose parent is not in the file becomes a
top-level comment (an orphan, counted). Links Disqus rewrote through its redirect
(`https://disq.us/url?url=…`) are given back their address.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.etree.ElementTree import Element

from app.htmltext import html_to_text
from app.importers import xmlstream
from app.importers.records import ImportFileError, Kind, Progress, Record, Shape, Story

_NAMES = {"http://disqus.com": "", "http://disqus.com/disqus-internals": "dsq:"}
_WANTED = frozenset({"thread", "post"})
THREAD_MISSING = "thread missing"


def _names(uri: str) -> str:
    return _NAMES.get(uri, f"{{{uri}}}" if uri else "")


def _child(element: Element, path: str) -> str:
    return xmlstream.text(element.find(path)).strip()


def _ref(element: Element, tag: str) -> str | None:
    found = element.find(tag)
    if found is None:
        return None
    return (found.get("dsq:id") or "").strip() or None


def unwrap(href: str) -> str:
    """The address behind Disqus's link redirect (`…/url?url=<address>:<hash>&cuid=…`)."""
    parts = urlsplit(href)
    if parts.hostname in ("disq.us", "disqus.com") and parts.path.rstrip("/").endswith("/url"):
        target = parse_qs(parts.query).get("url", [""])[0]
        if target.startswith(("http://", "https://")):
            head, colon, tail = target.rpartition(":")
            # The redirect appends « :<hash> »; a port or a scheme's colon is kept.
            return head if colon and tail and "/" not in tail and not tail.isdigit() else target
    return href


class Disqus:
    name = "disqus"

    def size(self, path: Path) -> int:
        return path.stat().st_size

    def _elements(self, path: Path, progress: Progress) -> Iterator[tuple[Element, int]]:
        seen = False
        for event, value, line, _attrs in xmlstream.events(
            path, names=_names, containers=frozenset(), wanted=_WANTED, progress=progress
        ):
            if not seen:
                seen = True
                if event != "start" or value != "disqus":
                    raise ImportFileError(
                        f"not a Disqus export: its root element is <{value}>, not <disqus "
                        'xmlns="http://disqus.com">',
                        line,
                    )
            elif event == "element":
                yield value, line
        if not seen:
            raise ImportFileError("the file is empty", 1)

    def scan(self, path: Path, progress: Progress) -> Shape:
        shape = Shape(source="")
        threads: set[str] = set()
        for element, line in self._elements(path, progress):
            if element.tag == "thread":
                key = self._thread_key(element, line)
                threads.add(key)
                shape.source = shape.source or _child(element, "forum").lower()
            else:
                record = self._post(element, line, with_text=False)
                shape.add(record.source_id, record.story_key, record.parent, record.kind)
        for source_id, story in list(shape.story_of.items()):
            if story not in threads:
                del shape.story_of[source_id], shape.kinds[source_id], shape.parents[source_id]
                shape.unplaced[THREAD_MISSING] = shape.unplaced.get(THREAD_MISSING, 0) + 1
            else:
                shape.stories.add(story)
        shape.source = shape.source or "disqus"
        return shape

    def read(self, path: Path, progress: Progress) -> Iterator[Story | Record]:
        threads: dict[str, Story] = {}  # the stories' addresses and titles: O(threads)
        announced: set[str] = set()
        for element, line in self._elements(path, progress):
            if element.tag == "thread":
                key = self._thread_key(element, line)
                identifier = _child(element, "id")
                threads[key] = Story(
                    key=key,
                    url=_child(element, "link"),
                    title=_child(element, "title"),
                    external_id=identifier if 0 < len(identifier) <= 200 else None,
                )
                continue
            record = self._post(element, line, with_text=True)
            story = threads.get(record.story_key)
            if story is None:
                continue  # counted by scan
            if story.key not in announced:
                announced.add(story.key)
                yield story
            yield record

    def _thread_key(self, element: Element, line: int) -> str:
        key = (element.get("dsq:id") or "").strip()
        if not key:
            raise ImportFileError("a <thread> without dsq:id", line)
        return key

    def _post(self, element: Element, line: int, *, with_text: bool) -> Record:
        source_id = (element.get("dsq:id") or "").strip()
        if not source_id:
            raise ImportFileError("a <post> without dsq:id", line)
        thread = _ref(element, "thread")
        if thread is None:
            raise ImportFileError(f"post {source_id}: no <thread dsq:id>", line)
        kind = Kind.APPROVED
        if _child(element, "isDeleted").lower() == "true":
            kind = Kind.DELETED
        elif _child(element, "isSpam").lower() == "true":
            kind = Kind.SPAM
        return Record(
            source_id=source_id,
            story_key=thread,
            parent=_ref(element, "parent"),
            kind=kind,
            author_name=_child(element, "author/name") if with_text else "",
            author_email=_child(element, "author/email") if with_text else "",
            body=(
                html_to_text(xmlstream.text(element.find("message")), keep_links=True, link=unwrap)
                if with_text
                else ""
            ),
            created_at=_date(_child(element, "createdAt"), source_id, line),
            line=line,
        )


def _date(value: str, source_id: str, line: int) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ImportFileError(
            f"post {source_id}: <createdAt> {value!r} is not a date", line
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
