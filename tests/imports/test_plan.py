"""The plan made from a file's shape alone: orphans, placeholders, what is left out (pure)."""

from __future__ import annotations

from app.importers import Kind, Shape
from app.services.imports import DELETED, PINGBACK, plan

A, P, D, S, PB = Kind.APPROVED, Kind.PENDING, Kind.DELETED, Kind.SPAM, Kind.PINGBACK


def shape(*rows: tuple[str, str | None, Kind, str]) -> Shape:
    made = Shape(source="blog")
    for source_id, parent, kind, story in rows:
        made.add(source_id, story, parent, kind)
    return made


def test_a_deleted_chain_is_kept_only_above_an_imported_reply():
    decided = plan(shape(
        ("1", None, D, "s"),  # deleted, holds 2 (deleted) which holds 3: both kept
        ("2", "1", D, "s"),
        ("3", "2", A, "s"),
        ("4", None, D, "s"),  # deleted, only a deleted reply under it: both dropped
        ("5", "4", D, "s"),
    ))  # fmt: skip
    assert decided.placeholders == {"1", "2"}
    assert decided.imported == {"1", "2", "3"}
    assert decided.skipped[DELETED] == 2


def test_orphans_missing_parent_other_story_pingback_parent_and_loops():
    decided = plan(shape(
        ("1", "99", A, "s"),  # parent not in the file
        ("2", "3", A, "t"),  # parent in another story
        ("3", None, A, "s"),
        ("4", "5", P, "s"),  # parent is a pingback
        ("5", None, PB, "s"),
        ("6", "7", S, "s"),  # a loop: 6 → 7 → 6
        ("7", "6", A, "s"),
    ))  # fmt: skip
    assert {"1", "2", "4"} <= decided.orphans
    assert decided.parents["1"] is None and decided.parents["4"] is None
    assert None in (decided.parents["6"], decided.parents["7"])  # the loop is cut
    assert decided.skipped[PINGBACK] == 1
    assert "5" not in decided.imported


def test_a_placeholder_whose_own_parent_is_missing_is_an_orphan_placeholder():
    decided = plan(shape(("1", "42", D, "s"), ("2", "1", A, "s")))
    assert decided.placeholders == {"1"} and decided.orphans == {"1"}
