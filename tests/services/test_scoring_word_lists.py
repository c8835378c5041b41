"""Word lists in the scoring pipeline: matched before the decision's write transaction opens."""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from app.extensions import db
from app.models import CommentStatus
from app.services import scoring, settings
from app.wordlists import WordLists
from tests.conftest import add_comment, comments_in_db


def _writer_waiting() -> bool:
    """Would another writer have to wait for this session's transaction now?"""
    if db.engine.dialect.name == "sqlite":
        other = sqlite3.connect(db.engine.url.database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
            return False
        except sqlite3.OperationalError:  # database is locked
            return True
        finally:
            other.close()
    # PostgreSQL: has this transaction written anything yet?
    return db.session.scalar(sa.text("SELECT pg_current_xact_id_if_assigned()")) is not None


def test_comments_are_matched_before_the_write_transaction_opens(app, article, scorer, monkeypatch):
    settings.set_value("nudge_enabled", False)
    settings.set_value("banned_words", ["ordure"])
    settings.set_value("suspect_words", ["guignol"])
    bodies = ["Quelle ordure", "Un guignol", "Rien à redire"]
    ids = [
        add_comment(article, body, status=CommentStatus.PENDING, awaiting_score=True).id
        for body in bodies
    ]
    seen: list[tuple[str, bool]] = []
    real_find = WordLists.find

    def find(self: WordLists, text: str) -> list:
        seen.append((text, _writer_waiting()))
        return real_find(self, text)

    monkeypatch.setattr(WordLists, "find", find)
    outcome = scoring.rescore(ids, scorer)
    assert outcome.decided == 3
    assert seen == [(body, False) for body in bodies]  # matched once each, nothing locked
    assert [(c.status, c.word_matches) for c in comments_in_db()] == [
        (CommentStatus.REJECTED, [{"kind": "banned", "entry": "ordure", "start": 7, "end": 13}]),
        (CommentStatus.HELD, [{"kind": "suspect", "entry": "guignol", "start": 3, "end": 10}]),
        (CommentStatus.PUBLISHED, []),
    ]
