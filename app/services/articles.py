"""Articles: the bundled article text, parsed into blocks, and seeding it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Article

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content" / "articles"
COMMENTS_HEADING = "Votre commentaire"
CREDIT_PREFIXES = ("Traduction", "Source")
_SENTENCE_END = (".", "!", "?", "…", "»", ":", ";", ",")


@dataclass(frozen=True)
class ArticleText:
    slug: str
    title: str
    photo_credit: str | None
    body: list[dict[str, Any]]
    credits: list[str]


def parse_article(slug: str, text: str) -> ArticleText:
    """Parse the newsroom's plain-text format (see content/articles/README.md)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < 3:
        raise ValueError(f"{slug}: an article needs a title, a photo credit and a body")
    title, photo_credit, rest = lines[0], lines[1], lines[2:]
    if rest and rest[-1] == COMMENTS_HEADING:
        rest = rest[:-1]
    credits: list[str] = []
    while rest and rest[-1].startswith(CREDIT_PREFIXES):
        credits.insert(0, rest.pop())
    body = [{"type": "h2" if _is_subheading(line) else "p", "text": line} for line in rest]
    return ArticleText(slug, title, photo_credit, body, credits)


def _is_subheading(line: str) -> bool:
    """A short line that does not end a sentence is a sub-heading inside the body."""
    return len(line) <= 60 and not line.endswith(_SENTENCE_END)


def bundled_articles() -> list[ArticleText]:
    return [
        parse_article(path.name.split(".")[0], path.read_text(encoding="utf-8"))
        for path in sorted(CONTENT_DIR.glob("*.txt"))
    ]


def seed() -> tuple[int, int]:
    """Load the bundled articles; existing ones (by slug) are left as they are.

    Returns (created, already present)."""
    from app.services.sites import default_site

    site = default_site()
    created = present = 0
    for text in bundled_articles():
        if db.session.scalar(select(Article.id).where(Article.slug == text.slug)) is not None:
            present += 1
            continue
        db.session.add(
            Article(
                slug=text.slug,
                site_id=site.id,
                title=text.title,
                photo_credit=text.photo_credit,
                body=text.body,
                credits=text.credits,
            )
        )
        created += 1
    db.session.commit()
    return created, present
