"""WordPress's export (WXR, « WordPress eXtended RSS ») 1.0, 1.1 and 1.2, as written by
WordPress's `wp-admin/includes/export.php` and by WordPress.com (whose files name the
`https://wordpress.org/export/1.2/` namespace, which Isso's importer does not know).

What we read, per `<item>` (a post, a page, any post type): `link`, `title`, `wp:post_id`,
and each `<wp:comment>`: `wp:comment_id`, `wp:comment_parent` (0: top level),
`wp:comment_author`, `wp:comment_author_email`, `wp:comment_date_gmt` (UTC; WordPress writes
`0000-00-00 00:00:00` for some drafts and old imports, when `wp:comment_date`, in the blog's
time zone, is read with --timezone), `wp:comment_content` (HTML), `wp:comment_approved` (`1`,
`0`, `spam`, `trash`, `post-trashed`) and `wp:comment_type` (empty or `comment` for a reader's
comment; `pingback` and `trackback` are kept apart; any other type, such as WooCommerce's
order notes, is not a reader's comment). `wp:commentmeta` is never read: its values are PHP
`serialize()` output (Akismet's history…), which we neither need nor unserialize.

The source's name (for idempotency) is `wp:base_blog_url`, else `wp:base_site_url`, else the
channel's `link`: on WordPress.com every blog's `base_site_url` is the network's.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

from app.htmltext import html_to_text
from app.importers import xmlstream
from app.importers.records import ImportFileError, Kind, Progress, Record, Shape, Story

_WP = re.compile(r"^https?://wordpress\.org/export/1\.[012]/$")
_EXCERPT = re.compile(r"^https?://wordpress\.org/export/1\.[012]/excerpt/$")
_NAMES = {
    "http://purl.org/rss/1.0/modules/content/": "content:",
    "http://purl.org/dc/elements/1.1/": "dc:",
    "http://wellformedweb.org/CommentAPI/": "wfw:",
}
VERSIONS = ("1.0", "1.1", "1.2")
_CONTAINERS = frozenset({"channel", "item"})
_WANTED = frozenset(
    {
        "wp:wxr_version", "wp:base_site_url", "wp:base_blog_url", "link", "title",
        "wp:post_id", "wp:comment",
    }
)  # fmt: skip
_APPROVED = {"1": Kind.APPROVED, "0": Kind.PENDING, "spam": Kind.SPAM, "trash": Kind.TRASH,
             "post-trashed": Kind.TRASH}  # fmt: skip
_NO_DATE = "0000-00-00 00:00:00"


def _names(uri: str) -> str:
    if _WP.match(uri):
        return "wp:"
    if _EXCERPT.match(uri):
        return "excerpt:"
    return _NAMES.get(uri, f"{{{uri}}}" if uri else "")


def _child(element: Element, tag: str) -> str:
    return xmlstream.text(element.find(tag)).strip()


class WordPress:
    name = "wordpress"

    def __init__(self, timezone: str = "Europe/Paris") -> None:
        self.zone = ZoneInfo(timezone)

    def size(self, path: Path) -> int:
        return path.stat().st_size

    def _events(self, path: Path, progress: Progress) -> Iterator[xmlstream.Event]:
        return xmlstream.events(
            path, names=_names, containers=_CONTAINERS, wanted=_WANTED, progress=progress
        )

    def scan(self, path: Path, progress: Progress) -> Shape:
        shape = Shape(source="")
        for story, record in self._walk(path, progress, shape):
            if record is not None:
                shape.stories.add(story.key)
                shape.add(record.source_id, story.key, record.parent, record.kind)
        return shape

    def read(self, path: Path, progress: Progress) -> Iterator[Story | Record]:
        current: str | None = None
        for story, record in self._walk(path, progress, Shape(source="")):
            if record is None:
                continue
            if story.key != current:
                current = story.key
                yield story
            yield record

    def _walk(
        self, path: Path, progress: Progress, shape: Shape
    ) -> Iterator[tuple[Story, Record | None]]:
        """(story, comment) for each comment, in the file's order, after checking the file
        is a WXR export; sets `shape.source`."""
        version: str | None = None
        channel_link = base_site = base_blog = ""
        fields: dict[str, str] = {}
        item_line = 0
        story: Story | None = None
        seen = False
        for event, value, line, _attrs in self._events(path, progress):
            if not seen:
                seen = True
                if event != "start" or value != "rss":
                    raise ImportFileError(
                        f"not a WordPress export (WXR): its root element is <{value}>, not <rss>",
                        line,
                    )
                continue
            if event == "start" and value == "item":
                if version is None:
                    raise ImportFileError(
                        "not a WordPress export (WXR): no <wp:wxr_version> before the first "
                        "<item> (an RSS feed, or a WXR version other than 1.0, 1.1, 1.2?)",
                        line,
                    )
                shape.source = _source(base_blog or base_site or channel_link)
                fields, item_line, story = {}, line, None
            elif event == "end" and value == "item":
                fields, story = {}, None
            elif event == "element":
                tag = value.tag
                if tag == "wp:wxr_version":
                    version = xmlstream.text(value).strip()
                    if version not in VERSIONS:
                        raise ImportFileError(
                            f"WXR version {version!r} is not one we read ({', '.join(VERSIONS)})",
                            line,
                        )
                elif tag == "wp:base_site_url":
                    base_site = xmlstream.text(value).strip()
                elif tag == "wp:base_blog_url":
                    base_blog = xmlstream.text(value).strip()
                elif tag == "link" and not item_line:
                    channel_link = xmlstream.text(value).strip()
                elif tag == "wp:comment":
                    if not item_line:
                        raise ImportFileError("a <wp:comment> outside any <item>", line)
                    if story is None:
                        story = self._story(fields, item_line)
                    yield story, self._comment(value, story.key, line)
                elif item_line:
                    fields[tag] = xmlstream.text(value).strip()
        if not seen:
            raise ImportFileError("the file is empty", 1)
        if version is None:
            raise ImportFileError("not a WordPress export (WXR): no <wp:wxr_version>")
        shape.source = shape.source or _source(base_blog or base_site or channel_link)

    def _story(self, fields: dict[str, str], line: int) -> Story:
        post_id = fields.get("wp:post_id", "")
        if not post_id.isdigit():
            raise ImportFileError("an <item> with comments has no numeric <wp:post_id>", line)
        return Story(
            key=post_id,
            url=fields.get("link", ""),
            title=fields.get("title", ""),
            external_id=post_id,
        )

    def _comment(self, element: Element, story_key: str, line: int) -> Record:
        source_id = _child(element, "wp:comment_id")
        if not source_id.isdigit():
            raise ImportFileError("a <wp:comment> without a numeric <wp:comment_id>", line)
        parent = _child(element, "wp:comment_parent")
        if parent and not parent.isdigit():
            raise ImportFileError(f"comment {source_id}: <wp:comment_parent> is not a number", line)
        kind = _APPROVED.get(_child(element, "wp:comment_approved"), Kind.PENDING)
        comment_type = _child(element, "wp:comment_type")
        if comment_type in ("pingback", "trackback"):
            kind = Kind(comment_type)
        elif comment_type not in ("", "comment"):
            kind = Kind.OTHER
        return Record(
            source_id=source_id,
            story_key=story_key,
            parent=parent if parent and parent != "0" else None,
            kind=kind,
            # WordPress keeps some names HTML-escaped (« Dupont &amp; fils »).
            author_name=html.unescape(_child(element, "wp:comment_author")),
            author_email=_child(element, "wp:comment_author_email"),
            body=html_to_text(xmlstream.text(element.find("wp:comment_content")), keep_links=True),
            created_at=self._date(element, source_id, line),
            line=line,
        )

    def _date(self, element: Element, source_id: str, line: int) -> datetime:
        gmt = _child(element, "wp:comment_date_gmt")
        local = _child(element, "wp:comment_date")
        try:
            if gmt and gmt != _NO_DATE:
                return datetime.strptime(gmt, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            if local and local != _NO_DATE:
                when = datetime.strptime(local, "%Y-%m-%d %H:%M:%S").replace(tzinfo=self.zone)
                return when.astimezone(UTC)
        except ValueError:
            pass
        raise ImportFileError(
            f"comment {source_id}: no valid date (<wp:comment_date_gmt> {gmt!r}, "
            f"<wp:comment_date> {local!r})",
            line,
        )


def _source(url: str) -> str:
    return url.strip().lower().rstrip("/")
