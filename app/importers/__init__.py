"""Importers of other comment systems' exports (`flask import …`), one small registry like the
scoring runtimes': each format's parser yields stories and comments as plain records
(`records.py`); `services/imports.py` writes them."""

from __future__ import annotations

from app.importers.disqus import Disqus
from app.importers.isso import Isso
from app.importers.records import (
    NOT_COMMENTS,
    Importer,
    ImportFileError,
    Kind,
    Record,
    Shape,
    Story,
)
from app.importers.wordpress import WordPress

FORMATS = ("wordpress", "disqus", "isso")


def get_importer(name: str, *, timezone: str = "Europe/Paris", base_url: str = "") -> Importer:
    """The parser of this format (KeyError for another name)."""
    if name == "wordpress":
        return WordPress(timezone)
    if name == "disqus":
        return Disqus()
    if name == "isso":
        return Isso(base_url)
    raise KeyError(name)


__all__ = [
    "FORMATS", "NOT_COMMENTS", "ImportFileError", "Importer", "Kind", "Record", "Shape",
    "Story", "get_importer",
]  # fmt: skip
