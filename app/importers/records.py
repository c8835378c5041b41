"""What every importer yields, whatever the format: stories, then their comments (pure).

A parser (`wordpress`, `disqus`, `isso`) reads its file twice. The first pass (`scan`) reads
all of it, refuses a file that is not what it claims (`ImportFileError`, with its line), and
keeps only the shape of the threads: each comment's id, its parent, its story and its kind
(`Shape`: memory in the number of comments, never their texts). The second pass (`read`)
yields each `Story` and then its `Record`s, texts included, one at a time.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol


class Kind(enum.StrEnum):
    """A comment's state in the system it comes from."""

    APPROVED = "approved"  # → published
    PENDING = "pending"  # → held (or, with --rescore-decide, through the policy)
    SPAM = "spam"  # → rejected, never shown
    TRASH = "trash"  # → rejected, never shown
    DELETED = "deleted"  # not imported; a placeholder where it holds a thread together
    PINGBACK = "pingback"  # kept apart: not a comment
    TRACKBACK = "trackback"  # kept apart: not a comment
    OTHER = "other"  # a type that is not a reader's comment (WooCommerce's order notes…)


NOT_COMMENTS = frozenset({Kind.PINGBACK, Kind.TRACKBACK, Kind.OTHER})


class ImportFileError(Exception):
    """The file is not what it claims, or is broken: nothing is written. `line` is where the
    reader stopped (1-based), when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Story:
    """A post (WordPress), a thread (Disqus, Isso): the page the comments were left on."""

    key: str  # its id in the file
    url: str
    title: str
    external_id: str | None = None  # the CMS's id (WordPress's post id)


@dataclass(frozen=True)
class Record:
    """One comment as the source had it. `body` is our plain text already (HTML reduced);
    `created_at` is in UTC; `parent` is the source's id of the comment it answers."""

    source_id: str
    story_key: str
    parent: str | None
    kind: Kind
    author_name: str
    author_email: str
    body: str
    created_at: datetime
    line: int | None = None  # where it starts in the file, for messages


@dataclass
class Shape:
    """What the first pass keeps: the source's name for idempotency (a blog's address, a
    Disqus forum), each comment's parent, kind and story, and the stories seen."""

    source: str
    parents: dict[str, str | None] = field(default_factory=dict)
    kinds: dict[str, Kind] = field(default_factory=dict)
    story_of: dict[str, str] = field(default_factory=dict)
    stories: set[str] = field(default_factory=set)
    # Comments left out by the file itself, by reason ("thread missing": a Disqus post whose
    # thread is not in the file).
    unplaced: dict[str, int] = field(default_factory=dict)

    def add(self, source_id: str, story: str, parent: str | None, kind: Kind) -> None:
        self.parents[source_id] = parent
        self.kinds[source_id] = kind
        self.story_of[source_id] = story


# A callback the parsers call with how many more bytes (or rows) they have read.
Progress = Callable[[int], None]


class Importer(Protocol):
    """One format's parser (see the registry in `app/importers/__init__.py`)."""

    name: str

    def size(self, path: Path) -> int:
        """What the progress bar counts to (bytes of a file, rows of a database)."""
        ...

    def scan(self, path: Path, progress: Progress) -> Shape:
        """Read everything, check it, keep the threads' shape; ImportFileError if broken."""
        ...

    def read(self, path: Path, progress: Progress) -> Iterator[Story | Record]:
        """Each story, then its comments (in the file's order), texts included."""
        ...
