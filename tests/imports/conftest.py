"""Imports (issue 14): export files made as WordPress, Disqus and Isso make them
(tests/fixtures/imports/), imported through the command line, then looked at as a reader (the
readers' API) and as a moderator (the queues, the journal) would."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Article, Comment, ModerationAction
from app.services import sites

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
ORIGIN = "https://www.journal.fr"


@pytest.fixture
def site(app):
    return sites.create("journal", [ORIGIN]).site


def run_import(app, fmt: str, path: Path | str, *args: str) -> Any:
    """`flask import FMT PATH ARGS`, in-process; the result (exit_code, output)."""
    result = app.test_cli_runner().invoke(args=["import", fmt, str(path), *args])
    db.session.expire_all()  # the command wrote in its own session
    return result


def imported() -> list[Comment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Comment).where(Comment.import_key.is_not(None)).order_by(Comment.id)
        )
    )


def by_author(name: str) -> Comment:
    [comment] = [c for c in imported() if c.author_name == name]
    return comment


def story(url: str) -> Article:
    found = db.session.scalar(sa.select(Article).where(Article.url == url))
    assert found is not None, url
    return found


def row_counts() -> dict[str, int]:
    """How many rows each table that an import writes holds."""
    return {
        table.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
        for table in (Article, Comment, ModerationAction)
    }


def reader_threads(client, story_id: int, origin: str = ORIGIN) -> list[dict[str, Any]]:
    """What the comment block shows (the readers' API), oldest first."""
    response = client.get(
        f"/api/v1/stories/{story_id}/comments",
        query_string={"sort": "oldest", "limit": 50},
        headers={"Origin": origin},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return json.loads(response.get_data(as_text=True))["comments"]


def flatten(threads: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """(depth, author, body) of every comment shown, in the page's order; a placeholder's
    body is the line readers see in its place."""
    shown = []
    for node in threads:
        shown.append((node["depth"], node["author"]["name"], node["removed"] or node["body"]))
        shown += flatten(node["replies"])
    return shown


def isso_database(tmp_path: Path, extra_sql: str = "") -> Path:
    """An Isso database made from tests/fixtures/imports/isso.sql (Isso's own CREATE TABLE
    statements), with `extra_sql` run after."""
    path = tmp_path / "comments.db"
    connection = sqlite3.connect(path)
    connection.executescript((FIXTURES / "isso.sql").read_text() + extra_sql)
    connection.commit()
    connection.close()
    return path
