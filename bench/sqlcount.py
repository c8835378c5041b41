"""Count the SQL statements each HTTP request makes, inside a WSGI server: one counter for
Modération and for Isso alike (bench/api_vs_isso.py).

Standard library only: it runs in the project's interpreter (bench/ours_wsgi.py) and in
Isso's own virtual environment (bench/isso_wsgi.py). `install()` makes every new sqlite3
connection report each statement SQLite runs (`Connection.set_trace_callback`), whoever opened
it (SQLAlchemy's pool, or Isso, which opens one connection per statement). `Counted` wraps a
WSGI app: the statements run on the request's own thread, from the call until its answer is
closed, are that request's; background threads count for nothing. `GET /__bench/counts`
answers the requests served since the last such call, as JSON, and forgets them.

Transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) and PRAGMAs are counted
apart from queries: the first is how each driver runs its transactions, the second a
connection's set-up.
"""

from __future__ import annotations

import json
import sqlite3
import sqlite3.dbapi2
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

COUNTS_PATH = "/__bench/counts"
_CONTROL = ("BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA")

_local = threading.local()
_served: list[dict[str, Any]] = []
_served_lock = threading.Lock()
_real_connect = sqlite3.connect


def kind(statement: str) -> str:
    """`query`, or `control` for transaction control and PRAGMAs."""
    return "control" if statement.lstrip().upper().startswith(_CONTROL) else "query"


def _trace(statement: str) -> None:
    counts = getattr(_local, "counts", None)
    if counts is not None:
        counts[kind(statement) + "_statements"] += 1


def _connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
    connection = _real_connect(*args, **kwargs)
    connection.set_trace_callback(_trace)
    counts = getattr(_local, "counts", None)
    if counts is not None:
        counts["connections"] += 1
    return connection


def install() -> None:
    """Trace every sqlite3 connection opened from now on (`sqlite3.connect`, and
    `sqlite3.dbapi2.connect`, which SQLAlchemy calls)."""
    sqlite3.connect = _connect
    sqlite3.dbapi2.connect = _connect


def uninstall() -> None:
    """Connections opened from now on are not traced (those already open still are)."""
    sqlite3.connect = _real_connect
    sqlite3.dbapi2.connect = _real_connect


StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class Counted:
    """A WSGI app whose requests' statements are counted (see the module's docstring)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == COUNTS_PATH:
            with _served_lock:
                body = json.dumps(_served).encode()
                _served.clear()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        counts = {"query_statements": 0, "control_statements": 0, "connections": 0}
        _local.counts = counts
        record = {
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": None,
        }

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            record["status"] = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info)

        try:
            answer = self.app(environ, start)
        except BaseException:
            _local.counts = None
            raise
        return _Closing(answer, record, counts)


class _Closing:
    """The app's answer; closing it ends the request's count."""

    def __init__(
        self, answer: Iterable[bytes], record: dict[str, Any], counts: dict[str, int]
    ) -> None:
        self.answer = answer
        self.record = record
        self.counts = counts

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.answer)

    def close(self) -> None:
        try:
            close = getattr(self.answer, "close", None)
            if close is not None:
                close()
        finally:
            _local.counts = None
            with _served_lock:
                _served.append({**self.record, **self.counts})
