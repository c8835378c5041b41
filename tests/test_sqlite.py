"""SQLite's set-up (app/sqlite.py): one writer at a time within a process.

With SQLite's busy timeout at 0, any thread that finds the write lock taken fails at once
(« database is locked »): the threads of one process must never meet there, because they
queue on the process's own lock first. The same writers without it do meet there (the
control), so the first test can fail.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app import sqlite

THREADS, TRANSACTIONS = 6, 25


def _engine(path: Path, configured: bool) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}")
    if configured:
        sqlite.configure(engine)

    @event.listens_for(engine, "connect")
    def _no_waiting(dbapi_connection, _record):  # after configure's pragmas: no busy wait
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=0")

    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE notes (id INTEGER PRIMARY KEY, who TEXT)"))
    return engine


def _writers(engine: sa.Engine) -> tuple[int, list[str]]:
    """THREADS threads, each writing TRANSACTIONS transactions of two inserts (a pause
    between them, as a request's work between its statements); every third one rolled back.
    Returns the rows kept and the errors seen."""
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def write(who: int) -> None:
        start.wait()
        for n in range(TRANSACTIONS):
            try:
                with engine.connect() as conn:
                    conn.execute(sa.text("INSERT INTO notes (who) VALUES (:w)"), {"w": f"{who}"})
                    time.sleep(0.001)
                    conn.execute(sa.text("INSERT INTO notes (who) VALUES (:w)"), {"w": f"{who}"})
                    if n % 3 == 2:
                        conn.rollback()
                    else:
                        conn.commit()
            except sa.exc.OperationalError as error:
                errors.append(str(error.orig))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT count(*) FROM notes")).scalar_one()
    engine.dispose()
    return kept, errors


def test_writers_of_one_process_queue_on_its_lock_never_on_sqlites(tmp_path):
    kept, errors = _writers(_engine(tmp_path / "site.db", configured=True))
    assert errors == []
    committed = sum(1 for n in range(TRANSACTIONS) if n % 3 != 2)
    assert kept == THREADS * committed * 2  # every committed write, none of the rolled back


def test_without_it_the_same_writers_meet_on_sqlites_lock(tmp_path):
    _, errors = _writers(_engine(tmp_path / "site.db", configured=False))
    assert errors and all("locked" in e for e in errors)


def test_a_failed_write_gives_the_lock_back(tmp_path):
    engine = _engine(tmp_path / "site.db", configured=True)
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE UNIQUE INDEX one_who ON notes (who)"))
        conn.commit()
    with engine.connect() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(sa.text("INSERT INTO notes (who) VALUES ('a'), ('a')"))
    done = threading.Event()

    def other() -> None:  # another thread writes at once: nothing was left holding the lock
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO notes (who) VALUES ('b')"))
        done.set()

    threading.Thread(target=other).start()
    assert done.wait(2)
    engine.dispose()


def test_other_databases_are_left_alone():
    engine = sa.create_engine("postgresql+psycopg://u@127.0.0.1:1/none")
    sqlite.configure(engine)  # no connection is made
    assert "do_commit" not in vars(engine.dialect) and "do_rollback" not in vars(engine.dialect)


def test_the_app_runs_on_it(app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    with app.app_context():
        from app.extensions import db

        with db.engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()
            keys = conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one()
            wait = conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()
        assert "do_commit" in vars(db.engine.dialect)  # the lock goes back after each commit
    assert (mode, keys, wait) == ("wal", 1, sqlite.BUSY_TIMEOUT_MS)
