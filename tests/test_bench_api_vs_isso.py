"""bench/api_vs_isso.py's pure parts: the SQL counter both servers load, and the data both hold
(a timing is only worth its counts and its data)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import sqlcount
from bench.api_vs_isso import comments_in, make_data


@pytest.fixture
def traced() -> Iterator[None]:
    sqlcount.install()
    try:
        yield
    finally:
        sqlcount.uninstall()


def call(app: Any, path: str) -> bytes:
    """One request through a WSGI app, its answer closed as a server closes it."""
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    answer = app(environ, lambda status, headers, exc_info=None: None)
    try:
        return b"".join(answer)
    finally:
        getattr(answer, "close", lambda: None)()


def test_a_request_counts_its_own_statements_and_connections(traced: None, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    with sqlite3.connect(db) as setup:
        setup.execute("CREATE TABLE t (x INTEGER)")

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        connection = sqlite3.connect(db)
        connection.execute("INSERT INTO t VALUES (1)")  # the driver's BEGIN first
        connection.commit()
        connection.execute("SELECT count(*) FROM t").fetchone()
        elsewhere = threading.Thread(
            target=lambda: sqlite3.connect(db).execute("SELECT 1").fetchone()
        )
        elsewhere.start()
        elsewhere.join()  # another thread's statements are not this request's
        connection.close()
        start_response("200 OK", [])
        return [b"ok"]

    counted = sqlcount.Counted(app)
    assert call(counted, "/page") == b"ok"
    assert call(counted, "/page") == b"ok"
    served = json.loads(call(counted, sqlcount.COUNTS_PATH))
    assert served == [
        {"method": "GET", "path": "/page", "status": 200, "query_statements": 2,
         "control_statements": 2, "connections": 1},
    ] * 2  # fmt: skip
    assert json.loads(call(counted, sqlcount.COUNTS_PATH)) == []  # forgotten once read


def test_uninstalled_connections_are_not_traced(tmp_path: Path) -> None:
    sqlcount.install()
    sqlcount.uninstall()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        sqlite3.connect(tmp_path / "c.db").execute("SELECT 1").fetchone()
        start_response("200 OK", [])
        return []

    counted = sqlcount.Counted(app)
    call(counted, "/")
    (entry,) = json.loads(call(counted, sqlcount.COUNTS_PATH))
    assert entry["query_statements"] == entry["connections"] == 0


def test_statement_kinds() -> None:
    assert sqlcount.kind("SELECT 1") == "query"
    assert sqlcount.kind("  begin ") == "control"
    assert sqlcount.kind("PRAGMA foreign_keys=ON") == "control"
    assert sqlcount.kind("WITH x AS (SELECT 1) SELECT * FROM x") == "query"


def test_the_data_both_sides_hold() -> None:
    data = make_data("http://127.0.0.1:9", stories=5, comments=500)
    assert data == make_data("http://127.0.0.1:9", stories=5, comments=500)  # same every run
    big = [row for row in data.rows if row.story == 0]
    assert len(big) == 500
    assert sum(row.parent is None for row in big) == 300
    by_id = {row.id: row for row in data.rows}
    assert sorted(by_id) == list(range(1, len(data.rows) + 1))
    for row in data.rows:
        if row.parent is not None:  # one level of replies, to a comment of the same story
            parent = by_id[row.parent]
            assert parent.parent is None and parent.story == row.story
            assert parent.created < row.created
    assert [data.count(story) for story in range(5)] == [500, 7, 14, 21, 5]
    assert data.url(3) == "http://127.0.0.1:9" + data.paths[3]
    assert len(set(data.paths)) == 5


def test_comments_in_counts_threads_and_replies() -> None:
    answer = {"comments": [{"replies": [{"replies": []}, {}]}, {"replies": []}]}
    assert comments_in(answer, "comments") == (2, 4)
