"""SQLite, the embedded default: its pragmas, and one writer at a time within a process.

SQLite lets one connection write at a time. A connection that finds the write lock taken
waits in SQLite's busy handler, which *sleeps* between its tries (1, 2, 5, 10… ms) rather
than being woken when the lock is free: with a few request threads and the scoring worker
writing at once, most of a comment's time went into those sleeps. So the threads of one
process take a Python lock before their transaction's first write (INSERT, UPDATE, DELETE)
and give it back when the transaction ends (commit, rollback, or the connection's return to
the pool): they queue and are woken at once, in order. SQLite's own lock still stands
between processes (gunicorn workers, the CLI), with `busy_timeout`.

Reads take no lock: in WAL mode a reader never waits for the writer.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 5000
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_HOLDS = "moderation_writer"  # in the pool record's info: this connection holds the lock


def configure(engine: Engine) -> None:
    """WAL (readers never wait for the writer), enforced foreign keys, a busy timeout between
    processes, and the in-process writer lock; nothing for another database."""
    if engine.dialect.name != "sqlite":
        return
    writer = threading.Lock()
    timeout = BUSY_TIMEOUT_MS / 1000

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "before_cursor_execute")
    def _take(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        info = conn.info
        if info.get(_HOLDS) or not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        if not writer.acquire(timeout=timeout):  # as SQLite says it after its busy timeout
            raise sqlite3.OperationalError("database is locked")
        info[_HOLDS] = True

    def _give_back(info: dict[str, Any] | None) -> None:
        if info is not None and info.pop(_HOLDS, False):
            writer.release()

    # The lock goes back once the transaction has ended (SQLAlchemy's « commit » event comes
    # before the COMMIT itself): after the dialect's commit or rollback, the pool's rollback of
    # a returned connection included.
    dialect = engine.dialect
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            _give_back(_info(dbapi_connection))

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            _give_back(_info(dbapi_connection))

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    @event.listens_for(engine, "close")
    def _closed(_dbapi_connection: Any, record: Any) -> None:  # a connection lost
        _give_back(record.info)


def _info(connection: Any) -> dict[str, Any] | None:
    """The pool record's info of a connection the dialect commits or rolls back; None for
    the ad hoc one SQLAlchemy uses on first connecting (it never writes)."""
    try:
        info: dict[str, Any] = connection.info
    except (AttributeError, NotImplementedError):
        return None
    return info
