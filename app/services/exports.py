"""Exports: a site's stories and comments as a WordPress WXR file, or everything as JSON.

Both are streamed: stories are read by keyset pages of STORY_PAGE, each story's comments by
keyset pages of COMMENT_PAGE, as plain rows (no ORM objects accumulate in the session), and
written story by story; nothing holds the whole export in memory.

WXR 1.2, as WordPress's own exporter writes it (wordpress-develop
`src/wp-admin/includes/export.php`) and as the WordPress importer plugin reads it (its three
parsers, `src/parsers/class-wxr-parser-{simplexml,xml,regex}.php`):

* the namespace prefixes are WordPress's own (`wp:`, `dc:`, `content:`, `excerpt:`): the
  expat parser matches element names with their prefix, and the regex parser matches
  ``<wp:comment_author.*?>``, so the elements are written in WordPress's order
  (`comment_author` before `comment_author_email`, `post_date` before `post_date_gmt`);
* every text is in CDATA, ``]]>`` split as ``]]]]><![CDATA[>`` (WordPress's `wxr_cdata`,
  which the regex parser joins back), and the characters XML 1.0 forbids (C0 controls other
  than tab, line feed and carriage return; U+FFFE, U+FFFF) are dropped;
* a comment's text is plain text here but HTML in WordPress (`comment_text` is not escaped
  when shown, while `comment_author` is: wp-includes/default-filters.php), so ``&`` and ``<``
  are written as ``&amp;`` and ``&lt;``: WordPress then shows what our readers saw, and a
  ``<script>`` typed by a reader stays text. Titles likewise (`the_title` is not escaped);
* `comment_approved`: published → ``1``; held, pending (not scored yet) and nudged (its
  author not done yet) → ``0`` (awaiting moderation: a WordPress moderator decides);
  rejected → ``spam`` (not public, kept apart from the moderation queue; WordPress's own
  export leaves spam out, its importer takes it);
* a placeholder (`Comment.removed`: a comment deleted at its author's request, or upstream,
  kept to hold its thread together) is left out, its replies answering its parent instead,
  as WordPress's `wp_delete_comment` does (« Move children up a level »);
* `comment_parent` refers to an earlier comment of the same story (ours are numbered in
  order), which the importer needs (it inserts by id and maps parents already inserted);
* our story ids are the posts' `wp:post_id`, and `wp:post_date` (the site's time zone,
  SITE_TIMEZONE) with the title is what the importer matches an existing post on: a story
  that WordPress already has gets its comments added, not a second post.

JSON: see docs/export-schema.json (its fields, and which hold personal data).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import IO, Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Row, select

from app.extensions import db
from app.models import (
    Article,
    Comment,
    CommentScore,
    CommentStatus,
    ModerationAction,
    Site,
    as_utc,
    utcnow,
)
from app.services import sites

STORY_PAGE = 100
COMMENT_PAGE = 500
FORMAT = "moderation-export"
VERSION = 1
WXR_VERSION = "1.2"

# Where the JSON export keeps personal data (also marked `x-personal-data` in its schema).
PERSONAL_DATA = [
    "stories[].comments[].author.name",
    "stories[].comments[].author.email",
    "stories[].comments[].body",
    "stories[].comments[].decisions[].actor",
    "stories[].comments[].decisions[].note",
]

# What `comment_approved` says in WordPress for each of our statuses.
WP_APPROVED = {
    CommentStatus.PUBLISHED: "1",
    CommentStatus.HELD: "0",
    CommentStatus.PENDING: "0",
    CommentStatus.NUDGED: "0",
    CommentStatus.REJECTED: "spam",
}

# XML 1.0's Char production, and what it leaves out.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Counts:
    """What an export wrote: stories, comments by status, and placeholders left out (WXR)."""

    stories: int = 0
    comments: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    placeholders_left_out: int = 0

    def count(self, status: str) -> None:
        self.comments += 1
        self.by_status[status] = self.by_status.get(status, 0) + 1


def xml_text(value: str) -> str:
    """`value` without the characters XML 1.0 forbids."""
    return _NOT_XML.sub("", value)


def cdata(value: str) -> str:
    """`value` in CDATA, as WordPress's `wxr_cdata` writes it (``]]>`` split in two
    sections), without the characters XML 1.0 forbids."""
    return "<![CDATA[" + xml_text(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def as_html(text: str) -> str:
    """Plain text as the HTML WordPress keeps in `comment_content` and `post_title`."""
    return text.replace("&", "&amp;").replace("<", "&lt;")


def _is_placeholder(row: Row[Any]) -> bool:
    """A placeholder: a deleted comment kept to hold its thread together (`Comment.removed`)."""
    return row.removed is not None


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


# --- Reading, page by page --------------------------------------------------------------------


def _stories(site: Site | None) -> Iterator[Row[Any]]:
    """The stories (of `site`, or all), by id, STORY_PAGE at a time."""
    columns = [
        Article.id,
        Article.site_id,
        Article.slug,
        Article.url,
        Article.external_id,
        Article.title,
        Article.body,
        Article.comments_open,
        Article.premoderated,
        Article.close_after_days,
        Article.published_at,
    ]
    after = 0
    while True:
        query = select(*columns).where(Article.id > after).order_by(Article.id).limit(STORY_PAGE)
        if site is not None:
            query = query.where(sites.of_site(site))
        page = list(db.session.execute(query))
        db.session.commit()  # no transaction left open between pages (SQLite)
        yield from page
        if len(page) < STORY_PAGE:
            return
        after = page[-1].id


def _comment_columns() -> list[Any]:
    columns: list[Any] = [
        Comment.id,
        Comment.parent_id,
        Comment.thread_id,
        Comment.depth,
        Comment.user_id,
        Comment.author_name,
        Comment.author_email,
        Comment.body,
        Comment.status,
        Comment.status_reason,
        Comment.reasons,
        Comment.created_at,
        Comment.decided_at,
        Comment.hidden,
        Comment.report_count,
        Comment.text_erased_at,
        Comment.removed,
        CommentScore.scores,
        CommentScore.max_score,
        CommentScore.model_name,
        CommentScore.model_version,
        CommentScore.windowed,
        CommentScore.scored_at,
    ]
    return columns


def _comment_pages(story_id: int) -> Iterator[list[Row[Any]]]:
    """A story's comments with their scores, by id, COMMENT_PAGE at a time."""
    after = 0
    columns = _comment_columns()
    while True:
        page = list(
            db.session.execute(
                select(*columns)
                .outerjoin(CommentScore, CommentScore.comment_id == Comment.id)
                .where(Comment.article_id == story_id, Comment.id > after)
                .order_by(Comment.id)
                .limit(COMMENT_PAGE)
            )
        )
        db.session.commit()
        if page:
            yield page
        if len(page) < COMMENT_PAGE:
            return
        after = page[-1].id


def _decisions(comment_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The audit rows of these comments, oldest first, by comment."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in comment_ids}
    rows = db.session.execute(
        select(
            ModerationAction.id,
            ModerationAction.comment_id,
            ModerationAction.created_at,
            ModerationAction.action,
            ModerationAction.from_status,
            ModerationAction.to_status,
            ModerationAction.actor,
            ModerationAction.actor_id,
            ModerationAction.reason_code,
            ModerationAction.reason,
            ModerationAction.note,
            ModerationAction.details,
        )
        .where(ModerationAction.comment_id.in_(comment_ids))
        .order_by(ModerationAction.comment_id, ModerationAction.id)
    )
    for row in rows:
        found[row.comment_id].append(
            {
                "id": row.id,
                "at": _iso(row.created_at),
                "action": row.action,
                "from_status": row.from_status,
                "to_status": row.to_status,
                "actor": row.actor,
                "actor_account_id": row.actor_id,
                "reason_code": row.reason_code,
                "reason": row.reason,
                "note": row.note,
                "details": row.details,
            }
        )
    db.session.commit()
    return found


# --- WXR --------------------------------------------------------------------------------------


def _local(value: datetime, zone: ZoneInfo) -> str:
    return as_utc(value).astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _gmt(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S")


def _story_link(story: Row[Any], site: Site) -> str:
    """The story's canonical URL; for a bundled article, its page on the site's first origin
    (or its path, when the site has none)."""
    if story.url:
        return str(story.url)
    origin = (site.origins or [""])[0]
    return f"{origin}/articles/{story.slug}"


def _story_html(blocks: list[dict[str, Any]]) -> str:
    """A bundled article's blocks as the post's HTML (a story of a CMS has none here)."""
    parts = []
    for block in blocks or []:
        tag = "h2" if block.get("type") == "h2" else "p"
        parts.append(f"<{tag}>{as_html(str(block.get('text', '')))}</{tag}>")
    return "\n".join(parts)


def write_wxr(site: Site, out: IO[str], now: datetime | None = None) -> Counts:
    """Write `site`'s stories and their comments to `out` as a WXR 1.2 file."""
    zone = ZoneInfo(current_app.config["SITE_TIMEZONE"])
    now = now or utcnow()
    counts = Counts()
    origin = (site.origins or [""])[0]
    out.write(
        '<?xml version="1.0" encoding="UTF-8" ?>\n'
        "<!-- A WordPress eXtended RSS file written by Modération: the stories of one site and"
        " their comments. -->\n"
        "<!-- Import it with WordPress's importer: Tools > Import > WordPress. -->\n"
        '<rss version="2.0"\n'
        f'\txmlns:excerpt="http://wordpress.org/export/{WXR_VERSION}/excerpt/"\n'
        '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
        '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
        '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        f'\txmlns:wp="http://wordpress.org/export/{WXR_VERSION}/"\n'
        ">\n\n<channel>\n"
        f"\t<title>{escape(xml_text(site.name))}</title>\n"
        f"\t<link>{escape(xml_text(origin))}</link>\n"
        "\t<description></description>\n"
        f"\t<pubDate>{format_datetime(as_utc(now))}</pubDate>\n"
        "\t<language>fr-FR</language>\n"
        f"\t<wp:wxr_version>{WXR_VERSION}</wp:wxr_version>\n"
        f"\t<wp:base_site_url>{escape(xml_text(origin))}</wp:base_site_url>\n"
        f"\t<wp:base_blog_url>{escape(xml_text(origin))}</wp:base_blog_url>\n\n"
    )
    for story in _stories(site):
        counts.stories += 1
        _write_wxr_item(story, site, zone, out, counts)
    out.write("</channel>\n</rss>\n")
    return counts


def _write_wxr_item(
    story: Row[Any], site: Site, zone: ZoneInfo, out: IO[str], counts: Counts
) -> None:
    link = _story_link(story, site)
    published = story.published_at
    out.write(
        "\t<item>\n"
        f"\t\t<title>{cdata(as_html(story.title))}</title>\n"
        f"\t\t<link>{escape(xml_text(link))}</link>\n"
        f"\t\t<pubDate>{format_datetime(as_utc(published))}</pubDate>\n"
        "\t\t<dc:creator><![CDATA[]]></dc:creator>\n"
        f'\t\t<guid isPermaLink="false">{escape(xml_text(link))}</guid>\n'
        "\t\t<description></description>\n"
        f"\t\t<content:encoded>{cdata(_story_html(story.body))}</content:encoded>\n"
        "\t\t<excerpt:encoded><![CDATA[]]></excerpt:encoded>\n"
        f"\t\t<wp:post_id>{story.id}</wp:post_id>\n"
        f"\t\t<wp:post_date>{cdata(_local(published, zone))}</wp:post_date>\n"
        f"\t\t<wp:post_date_gmt>{cdata(_gmt(published))}</wp:post_date_gmt>\n"
        f"\t\t<wp:comment_status>{cdata('open' if story.comments_open else 'closed')}"
        "</wp:comment_status>\n"
        "\t\t<wp:ping_status><![CDATA[closed]]></wp:ping_status>\n"
        f"\t\t<wp:post_name>{cdata(story.slug)}</wp:post_name>\n"
        "\t\t<wp:status><![CDATA[publish]]></wp:status>\n"
        "\t\t<wp:post_parent>0</wp:post_parent>\n"
        "\t\t<wp:menu_order>0</wp:menu_order>\n"
        "\t\t<wp:post_type><![CDATA[post]]></wp:post_type>\n"
        "\t\t<wp:post_password><![CDATA[]]></wp:post_password>\n"
        "\t\t<wp:is_sticky>0</wp:is_sticky>\n"
    )
    # A placeholder's replies answer its own parent (0: the story): placeholders only, so
    # that a story of any size keeps little in memory.
    placeholder_parent: dict[int, int] = {}
    for page in _comment_pages(story.id):
        for c in page:
            parent = c.parent_id or 0
            while parent in placeholder_parent:
                parent = placeholder_parent[parent]
            if _is_placeholder(c):
                placeholder_parent[c.id] = parent
                counts.placeholders_left_out += 1
                continue
            counts.count(c.status)
            out.write(
                "\t\t<wp:comment>\n"
                f"\t\t\t<wp:comment_id>{c.id}</wp:comment_id>\n"
                f"\t\t\t<wp:comment_author>{cdata(c.author_name)}</wp:comment_author>\n"
                f"\t\t\t<wp:comment_author_email>{cdata(c.author_email)}"
                "</wp:comment_author_email>\n"
                "\t\t\t<wp:comment_author_url></wp:comment_author_url>\n"
                "\t\t\t<wp:comment_author_IP><![CDATA[]]></wp:comment_author_IP>\n"
                f"\t\t\t<wp:comment_date>{cdata(_local(c.created_at, zone))}</wp:comment_date>\n"
                f"\t\t\t<wp:comment_date_gmt>{cdata(_gmt(c.created_at))}</wp:comment_date_gmt>\n"
                f"\t\t\t<wp:comment_content>{cdata(as_html(c.body))}</wp:comment_content>\n"
                f"\t\t\t<wp:comment_approved>{cdata(WP_APPROVED[CommentStatus(c.status)])}"
                "</wp:comment_approved>\n"
                "\t\t\t<wp:comment_type><![CDATA[comment]]></wp:comment_type>\n"
                f"\t\t\t<wp:comment_parent>{parent}</wp:comment_parent>\n"
                "\t\t\t<wp:comment_user_id>0</wp:comment_user_id>\n"
                "\t\t</wp:comment>\n"
            )
    out.write("\t</item>\n")


# --- JSON -------------------------------------------------------------------------------------


def _comment_json(c: Row[Any], decisions: list[dict[str, Any]]) -> dict[str, Any]:
    score = (
        None
        if c.scores is None
        else {
            "model_name": c.model_name,
            "model_version": c.model_version,
            "scores": c.scores,
            "max_score": c.max_score,
            "windowed": c.windowed,
            "scored_at": _iso(c.scored_at),
        }
    )
    return {
        "id": c.id,
        "parent_id": c.parent_id,
        "thread_id": c.thread_id,
        "depth": c.depth,
        "created_at": _iso(c.created_at),
        "author": {
            "name": c.author_name,
            # "" once the retention erased a guest's address: null here
            "email": c.author_email or None,
            "account_id": c.user_id,
        },
        "body": c.body,
        "text_erased_at": _iso(c.text_erased_at),
        "removed": c.removed,
        "status": c.status,
        "status_reason": c.status_reason,
        "reasons": c.reasons or [],
        "decided_at": _iso(c.decided_at),
        "hidden": c.hidden,
        "report_count": c.report_count,
        "score": score,
        "decisions": decisions,
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_json(out: IO[str], site: Site | None = None, now: datetime | None = None) -> Counts:
    """Write every story (of `site`, or of every site) with its comments, their status,
    scores and decisions (the audit rows) to `out` as one JSON document
    (docs/export-schema.json), story by story."""
    counts = Counts()
    names = {s.id: s.name for s in sites.all_sites()}
    default = sites.default_site().name
    db.session.commit()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _iso(now or utcnow()),
        "site": site.name if site is not None else None,
        "personal_data": PERSONAL_DATA,
    }
    out.write(_dumps(header)[:-1] + ',"stories":[')
    for index, story in enumerate(_stories(site)):
        counts.stories += 1
        head = {
            "id": story.id,
            "site": names.get(story.site_id, default) if story.site_id else default,
            "slug": story.slug,
            "url": story.url,
            "external_id": story.external_id,
            "title": story.title,
            "published_at": _iso(story.published_at),
            "comments_open": story.comments_open,
            "premoderated": story.premoderated,
            "close_after_days": story.close_after_days,
        }
        out.write(("," if index else "") + "\n" + _dumps(head)[:-1] + ',"comments":[')
        first = True
        for page in _comment_pages(story.id):
            decisions = _decisions([c.id for c in page])
            for c in page:
                counts.count(c.status)
                out.write(("" if first else ",") + "\n" + _dumps(_comment_json(c, decisions[c.id])))
                first = False
        out.write("]}")
    totals = {"stories": counts.stories, "comments": counts.comments}
    out.write("\n]," + _dumps({"totals": totals})[1:] + "\n")
    return counts
