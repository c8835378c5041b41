"""Isso's SQLite database (isso-comments/isso, `isso/db/threads.py` and `isso/db/comments.py`):
`threads(id, uri, title)`, where `uri` is the page's path (`/2024/03/un-article/`), and
`comments(tid, id, parent, created, modified, mode, remote_addr, text, author, email, website,
likes, dislikes, voters, notification)`, where `created` is a Unix time (a float, UTC), `mode`
1 accepted, 2 pending, 4 deleted (kept, emptied, while replies hold it), `text` is the Markdown
the reader typed, and `author` and `email` may be NULL.

The file is opened read-only. Pages become stories at `base_url` + `uri` (--base-url, else the
site's first origin); the source's name (for idempotency) is that base address.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from app.importers.records import ImportFileError, Kind, Progress, Record, Shape, Story

_MODES = {1: Kind.APPROVED, 2: Kind.PENDING, 4: Kind.DELETED}
_THREADS = {"id", "uri", "title"}
_COMMENTS = {"tid", "id", "parent", "created", "mode", "text", "author", "email"}


class Isso:
    name = "isso"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def _connect(self, path: Path) -> sqlite3.Connection:
        if not path.is_file():
            raise ImportFileError(f"{path} is not a file")
        try:
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            tables = {
                name: {row[1] for row in connection.execute(f"PRAGMA table_info({name})")}
                for name in ("threads", "comments")
            }
        except sqlite3.DatabaseError as error:
            raise ImportFileError(f"not an Isso database: {error}") from None
        for name, needed in (("threads", _THREADS), ("comments", _COMMENTS)):
            if missing := needed - tables[name]:
                connection.close()
                raise ImportFileError(
                    f"not an Isso database: table {name} lacks {', '.join(sorted(missing))}"
                )
        return connection

    def size(self, path: Path) -> int:
        connection = self._connect(path)
        try:
            return int(connection.execute("SELECT COUNT(*) FROM comments").fetchone()[0])
        finally:
            connection.close()

    def scan(self, path: Path, progress: Progress) -> Shape:
        shape = Shape(source=self.base_url.lower())
        connection = self._connect(path)
        try:
            threads = {row[0] for row in connection.execute("SELECT id FROM threads")}
            rows = connection.execute("SELECT id, tid, parent, mode FROM comments ORDER BY id")
            for source_id, tid, parent, mode in rows:
                progress(1)
                if tid not in threads:
                    shape.unplaced["thread missing"] = shape.unplaced.get("thread missing", 0) + 1
                    continue
                shape.stories.add(str(tid))
                kind = _MODES.get(mode, Kind.PENDING)
                shape.add(str(source_id), str(tid), None if parent is None else str(parent), kind)
        except sqlite3.DatabaseError as error:
            raise ImportFileError(f"the Isso database cannot be read: {error}") from None
        finally:
            connection.close()
        return shape

    def read(self, path: Path, progress: Progress) -> Iterator[Story | Record]:
        connection = self._connect(path)
        try:
            threads = {
                tid: (uri or "", title or "")
                for tid, uri, title in connection.execute("SELECT id, uri, title FROM threads")
            }
            rows = connection.execute(
                "SELECT id, tid, parent, created, mode, text, author, email FROM comments "
                "ORDER BY tid, id"
            )
            current = None
            for source_id, tid, parent, created, mode, text, author, email in rows:
                progress(1)
                if tid not in threads:
                    continue
                if tid != current:
                    current = tid
                    uri, title = threads[tid]
                    yield Story(key=str(tid), url=self._url(uri), title=title)
                yield Record(
                    source_id=str(source_id),
                    story_key=str(tid),
                    parent=None if parent is None else str(parent),
                    kind=_MODES.get(mode, Kind.PENDING),
                    author_name=(author or "").strip(),
                    author_email=(email or "").strip(),
                    body=(text or "").strip(),
                    created_at=_date(created, source_id),
                )
        finally:
            connection.close()

    def _url(self, uri: str) -> str:
        if uri.startswith(("http://", "https://")):
            return uri
        return f"{self.base_url}/{uri.lstrip('/')}"


def _date(created: object, source_id: object) -> datetime:
    try:
        return datetime.fromtimestamp(float(created), UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        raise ImportFileError(f"comment {source_id}: `created` {created!r} is not a time") from None
