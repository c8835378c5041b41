"""Streaming an XML export safely: Python's expat, fed 64 KiB at a time, with every DTD
refused (no entity is ever declared, expanded or fetched: no « billion laughs », no external
entity), and only the elements asked for built, one at a time.

`events` yields ("start", tag, line) and ("end", tag, line) for the *containers* (an `item`,
a `channel`), and ("element", Element, line) for each *wanted* element found directly in a
container (a post's `title`, a `wp:comment`), built whole, then dropped by the caller: memory
stays that of one element, whatever the file's size. Everything else is skipped unbuilt.

Tags come out as `prefix:local`, through the caller's `names` (namespace URI → prefix), so
that `http://wordpress.org/export/1.2/` and `https://wordpress.org/export/1.0/` both read as
`wp:`; a URI the caller does not know keeps its `{uri}local` form.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder

from app.importers.records import ImportFileError, Progress

CHUNK = 64 * 1024
# ("start", tag, line, attributes), ("end", tag, line, {}), ("element", Element, line, {})
Event = tuple[str, Any, int, dict[str, str]]


def _refuse_dtd(*_args: object) -> None:
    raise _Refused("a DTD (<!DOCTYPE …>) is refused: exports never have one")


def _refuse_entity(*_args: object) -> None:
    raise _Refused("an entity declaration is refused")


def _refuse_external(*_args: object) -> int:
    raise _Refused("an external entity is refused")


class _Refused(Exception):
    pass


class _Handler:
    def __init__(
        self,
        parser: Any,
        names: Callable[[str], str],
        containers: frozenset[str],
        wanted: frozenset[str],
    ) -> None:
        self.parser = parser
        self.names = names
        self.containers = containers
        self.wanted = wanted
        self.events: list[Event] = []
        self.stack: list[str | None] = []  # open elements: a container's tag, or None
        self.builder: TreeBuilder | None = None
        self.depth = 0  # inside the element being built
        self.skip = 0  # inside an element skipped whole
        self.started = 0

    def tag(self, name: str) -> str:
        uri, sep, local = name.rpartition(" ")
        return self.names(uri) + local if sep else local

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.skip:
            self.skip += 1
            return
        tag = self.tag(name)
        if self.builder is not None:
            self.depth += 1
            self.builder.start(tag, {self.tag(k): v for k, v in attrs.items()})
            return
        line = self.parser.CurrentLineNumber
        in_container = not self.stack or self.stack[-1] is not None
        if in_container and tag in self.containers:
            self.stack.append(tag)
            self.events.append(("start", tag, line, {self.tag(k): v for k, v in attrs.items()}))
        elif self.stack and in_container and tag in self.wanted:
            self.builder = TreeBuilder()
            self.builder.start(tag, {self.tag(k): v for k, v in attrs.items()})
            self.depth = 1
            self.started = line
        elif not self.stack:  # the root, whatever it is: the caller judges it
            self.stack.append(tag)
            self.events.append(("start", tag, line, {}))
        else:
            self.skip = 1

    def end(self, name: str) -> None:
        if self.skip:
            self.skip -= 1
            return
        if self.builder is not None:
            self.builder.end(self.tag(name))
            self.depth -= 1
            if self.depth == 0:
                element = self.builder.close()
                self.builder = None
                self.events.append(("element", element, self.started, {}))
            return
        tag = self.stack.pop()
        self.events.append(("end", tag, self.parser.CurrentLineNumber, {}))

    def data(self, text: str) -> None:
        if self.builder is not None and not self.skip:
            self.builder.data(text)


def events(
    path: Path,
    *,
    names: Callable[[str], str],
    containers: frozenset[str],
    wanted: frozenset[str],
    progress: Progress,
) -> Iterator[Event]:
    """The file's containers and wanted elements, in order (see the module's docstring).
    ImportFileError for broken XML or a DTD, with the line."""
    parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    handler = _Handler(parser, names, containers, wanted)
    parser.buffer_text = True
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.data
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_entity
    parser.UnparsedEntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        with path.open("rb") as file:
            while chunk := file.read(CHUNK):
                _feed(parser, chunk, final=False)
                progress(len(chunk))
                yield from handler.events
                handler.events.clear()
            _feed(parser, b"", final=True)
            yield from handler.events
    except OSError as error:
        raise ImportFileError(f"cannot read {path}: {error.strerror}") from None


def _feed(parser: Any, chunk: bytes, *, final: bool) -> None:
    try:
        parser.Parse(chunk, final)
    except xml.parsers.expat.ExpatError as error:
        message = xml.parsers.expat.errors.messages.get(error.code, str(error))
        raise ImportFileError(f"broken XML: {message}", error.lineno) from None
    except _Refused as error:
        raise ImportFileError(str(error), parser.CurrentLineNumber) from None


def text(element: Element | None) -> str:
    """An element's text (its CDATA sections joined), or "" when absent."""
    return "" if element is None else "".join(element.itertext())
