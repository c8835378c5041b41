"""Importing another system's comments (`flask import wordpress|disqus|isso`): what a parser of
`app/importers` yields becomes stories and guests' comments of a site, in their past status.

Two passes over the file. The first reads all of it (the parser refuses a broken file with its
line) and keeps only the threads' shape; `plan` then decides, from that shape alone, what each
comment becomes: its parent (a parent missing from the file, or not a comment, makes it a
top-level « orphan » of its story), whether a deleted comment is kept as a placeholder (it is
when a reply that is imported hangs under it), and what is left out and why. Nothing is
written before the whole file has been read. The second pass writes: each story found or
created (by its address first, then the CMS's id) with its first comments, then the comments
in batches of at most `BATCH` (of one story or of several: Disqus's posts come in the order
they were written, not by thread), each batch in one transaction with one audit row per
comment (« Importé », by `import:<format>`). Each comment keeps its key in the source
(`Comment.import_key`): a comment already imported is never written again, so an interrupted
import is simply run again, and a later export adds only what is new upstream.

Imported comments are guests' comments (no account, no session token). Their status is the
one they had (approved → published, pending → held, spam and trash → rejected); their scores
are computed in the background (`Comment.score_only`: services/scoring records them without a
decision, after every live comment). With `rescore_decide`, pending ones come in pending and
the policy decides them when the model has scored them.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from app.actions import AuditAction
from app.extensions import db
from app.importers import NOT_COMMENTS, Importer, Kind, Record, Shape, Story
from app.labels import IMPORT_FORMATS, IMPORT_PREFIX
from app.models import Comment, CommentStatus, RemovedReason, Site, utcnow
from app.services import audit, sites
from app.services.comments import body_hash

BATCH = 500  # comments per transaction at most
ANONYMOUS = "Anonyme"
MAX_NAME = 80
MAX_EMAIL = 254
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Why a comment of the file is not imported (the summary's « skipped »).
PINGBACK = "pingbacks"
TRACKBACK = "trackbacks"
NOT_A_COMMENT = "not a reader's comment (another comment type)"
DELETED = "deleted upstream, no reply under it"
EMPTY = "no text once its HTML is reduced"
BAD_STORY = "its story's address is not a web address"

STATUS_OF = {
    Kind.APPROVED: CommentStatus.PUBLISHED,
    Kind.PENDING: CommentStatus.HELD,
    Kind.SPAM: CommentStatus.REJECTED,
    Kind.TRASH: CommentStatus.REJECTED,
}
_SKIPPED_KIND = {Kind.PINGBACK: PINGBACK, Kind.TRACKBACK: TRACKBACK, Kind.OTHER: NOT_A_COMMENT}

Progress = Callable[[int], None]
ProgressBar = Callable[[str, int], AbstractContextManager[Progress]]


@contextmanager
def no_progress(_label: str, _length: int) -> Iterator[Progress]:
    yield lambda _n: None


@dataclass
class Plan:
    """What each comment of the file becomes, decided from its shape alone (pure)."""

    parents: dict[str, str | None]  # the parent each imported comment is written under
    imported: set[str]  # written: comments, and the deleted ones kept as placeholders
    placeholders: set[str]
    orphans: set[str]  # their parent is missing: top level of their story
    skipped: Counter[str]


def plan(shape: Shape) -> Plan:
    """Orphans, placeholders and what is left out, from the threads' shape (O(comments))."""
    kinds, story_of = shape.kinds, shape.story_of
    skipped: Counter[str] = Counter(shape.unplaced)
    parents: dict[str, str | None] = {}
    orphans: set[str] = set()
    for source_id, parent in shape.parents.items():
        if kinds[source_id] in NOT_COMMENTS:
            skipped[_SKIPPED_KIND[kinds[source_id]]] += 1
            continue
        usable = (
            parent is not None
            and parent in kinds
            and kinds[parent] not in NOT_COMMENTS
            and story_of[parent] == story_of[source_id]
            and parent != source_id
        )
        parents[source_id] = parent if usable else None
        if parent is not None and not usable:
            orphans.add(source_id)
    # A loop of parents (a file that contradicts itself) is cut where it closes.
    for source_id in parents:
        seen = {source_id}
        current = parents[source_id]
        while current is not None:
            if current in seen:
                parents[source_id] = None
                orphans.add(source_id)
                break
            seen.add(current)
            current = parents.get(current)
    # A deleted comment stays, as a placeholder, when an imported reply hangs under it.
    placeholders: set[str] = set()
    for source_id, parent in parents.items():
        if kinds[source_id] == Kind.DELETED:
            continue
        while parent is not None and kinds[parent] == Kind.DELETED and parent not in placeholders:
            placeholders.add(parent)
            parent = parents[parent]
    imported = {s for s in parents if kinds[s] != Kind.DELETED} | placeholders
    skipped[DELETED] += sum(1 for s in parents if kinds[s] == Kind.DELETED) - len(placeholders)
    orphans &= imported
    return Plan(parents, imported, placeholders, orphans, +skipped)


@dataclass
class Summary:
    """What an import did (or, dry, would do)."""

    format: str
    source: str
    dry_run: bool
    stories_new: int = 0
    stories_existing: int = 0
    # Stories whose address is not on one of the site's origins: the embed will not load
    # there until `flask sites` allows it (their comments are imported all the same).
    stories_elsewhere: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    placeholders: int = 0
    orphans: int = 0
    already: int = 0  # imported by an earlier run: left as they are
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def written(self) -> int:
        return sum(self.statuses.values()) + self.placeholders


def import_key(site: Site, fmt: str, source: str, source_id: str) -> str:
    """A comment's key in its source: the site, the format, the blog or forum, its own id."""
    return hashlib.sha256(f"{site.id}\x1f{fmt}\x1f{source}\x1f{source_id}".encode()).hexdigest()


def run(
    importer: Importer,
    path: Path,
    site: Site,
    *,
    dry_run: bool = False,
    rescore_decide: bool = False,
    progress: ProgressBar = no_progress,
) -> Summary:
    """Import `path` with `importer` into `site` (see the module's docstring). Raises
    ImportFileError, before writing anything, when the file is broken or not of its format."""
    length = importer.size(path)
    with progress("Reading", length) as step:
        shape = importer.scan(path, step)
    decided = plan(shape)
    writer = _Writer(importer.name, shape.source, site, decided, dry_run, rescore_decide)
    writer.summary.skipped.update(decided.skipped)
    with progress("Checking" if dry_run else "Importing", length) as step:
        for item in importer.read(path, step):
            if isinstance(item, Story):
                writer.story(item)
            else:
                writer.add(item)
        writer.finish()
    return writer.summary


@dataclass
class _Written:
    id: int
    depth: int
    thread_id: int | None


class _Writer:
    def __init__(
        self,
        fmt: str,
        source: str,
        site: Site,
        decided: Plan,
        dry_run: bool,
        rescore_decide: bool,
    ) -> None:
        self.fmt, self.source, self.site, self.plan = fmt, source, site, decided
        self.dry_run, self.rescore_decide = dry_run, rescore_decide
        self.summary = Summary(fmt, source, dry_run)
        self.actor = f"{IMPORT_PREFIX}{fmt}"
        self.stories: dict[str, int | None] = {}  # story key → article id (None: left out)
        self.unresolved: dict[str, Story] = {}  # announced, no comment of theirs written yet
        self.batch: list[Record] = []
        # Comments whose parent comes later in the file, by that parent (rare).
        self.waiting: dict[str, list[Record]] = {}
        self.origins = set(site.origins or [])

    # Stories ---------------------------------------------------------------------------------

    def story(self, story: Story) -> None:
        """A story of the file: made (or found) with its first comment to import, so that a
        post with only pingbacks or deleted comments leaves nothing behind."""
        if story.key not in self.stories:
            self.unresolved[story.key] = story

    def _resolve(self, story: Story) -> None:
        # What is pending is committed first: a story made meanwhile by the comment block
        # (the same page, at the same moment) rolls back only this story's own flush.
        self.flush()
        try:
            url = sites.normalize_url(story.url)
        except sites.SiteError:
            self.stories[story.key] = None
            return
        if sites.normalize_origin(url) not in self.origins:
            self.summary.stories_elsewhere += 1
        found = sites.find_story(self.site, url=url)
        if found is not None:
            self.summary.stories_existing += 1
            self.stories[story.key] = found.id
            return
        self.summary.stories_new += 1
        if self.dry_run:
            self.stories[story.key] = 0  # would be created: none of its comments exist yet
            return
        external_id = (story.external_id or "").strip() or None
        if external_id and (
            len(external_id) > sites.MAX_EXTERNAL_ID_LENGTH
            or sites.find_story(self.site, external_id=external_id) is not None
        ):
            external_id = None  # another story has it (another blog's post of that id)
        # Committed with its first comments (the last batch was committed by `flush`).
        article, _created = sites.ensure_story(
            self.site, url, story.title, external_id, any_origin=True, commit=False
        )
        self.stories[story.key] = article.id

    # Comments --------------------------------------------------------------------------------

    def add(self, record: Record) -> None:
        if record.source_id not in self.plan.imported:
            return  # counted by the plan
        if (story := self.unresolved.pop(record.story_key, None)) is not None:
            self._resolve(story)
        if self.stories.get(record.story_key) is None:
            self.summary.skipped[BAD_STORY] += 1
            return
        if len(self.batch) >= BATCH:
            self.flush()
        self.batch.append(record)

    def finish(self) -> None:
        self.flush()
        if not self.dry_run:
            db.session.commit()  # a story whose every comment was already there, say
        # Replies whose parent never came (it cannot happen with a plan made from the same
        # file): written at the top of their story rather than lost.
        left = [r for records in self.waiting.values() for r in records]
        self.waiting.clear()
        for record in left:
            self.plan.parents[record.source_id] = None
            self.summary.orphans += 1
            self.batch.append(record)
            self.flush()

    def key(self, source_id: str) -> str:
        return import_key(self.site, self.fmt, self.source, source_id)

    def flush(self) -> None:
        """Write the batch (at most BATCH comments, of one story or several) and its audit
        rows in one transaction."""
        batch, self.batch = self.batch, []
        if not batch:
            return
        stories: dict[str, list[Record]] = {}
        for record in batch:
            stories.setdefault(record.story_key, []).append(record)
        written: list[tuple[int, Record, str]] = []
        for story_key, records in stories.items():
            written += self._write_story(self.stories[story_key] or 0, records)
        if self.dry_run:
            db.session.rollback()
        else:
            audit.record_many(
                AuditAction.IMPORTED,
                actor=self.actor,
                rows=[self._audit_row(i, r, s) for i, r, s in written],
            )
            db.session.commit()
        # Replies that waited for a comment of this batch can be written now.
        freed = [r for _i, r, _s in written for r in self.waiting.pop(r.source_id, [])]
        if freed:
            self.batch = freed
            self.flush()

    def _write_story(self, article_id: int, records: list[Record]) -> list[tuple[int, Record, str]]:
        """Insert one story's comments of the batch, parents first (a few INSERTs, one per
        level of replies), leaving out those already imported."""
        keys = {r.source_id: self.key(r.source_id) for r in records}
        parent_keys = {
            p: self.key(p)
            for r in records
            if (p := self.plan.parents[r.source_id]) is not None and p not in keys
        }
        known: dict[str, _Written] = {}
        wanted = {**{k: s for s, k in keys.items()}, **{k: s for s, k in parent_keys.items()}}
        if article_id:  # 0: a story the dry run would create, where nothing exists yet
            rows = db.session.execute(
                select(Comment.import_key, Comment.id, Comment.depth, Comment.thread_id).where(
                    Comment.import_key.in_(list(wanted))
                )
            )
            known = {wanted[k]: _Written(i, d, t) for k, i, d, t in rows if k is not None}
        todo: list[Record] = []
        for record in records:
            if record.source_id in known:
                self.summary.already += 1
            else:
                todo.append(record)
        written: list[tuple[int, Record, str]] = []
        while todo:
            ready = [r for r in todo if self._parent_ready(r, known)]
            if not ready:
                break
            taken = {r.source_id for r in ready}
            todo = [r for r in todo if r.source_id not in taken]
            written += self._insert(article_id, ready, keys, known)
        for record in todo:  # its parent comes later in the file
            parent = self.plan.parents[record.source_id]
            assert parent is not None
            self.waiting.setdefault(parent, []).append(record)
        return written

    def _parent_ready(self, record: Record, known: dict[str, _Written]) -> bool:
        parent = self.plan.parents[record.source_id]
        return parent is None or parent in known

    def _insert(
        self,
        article_id: int,
        records: list[Record],
        keys: dict[str, str],
        known: dict[str, _Written],
    ) -> list[tuple[int, Record, str]]:
        """Insert these comments (their parents written already) in one statement."""
        now = utcnow()
        values = []
        accepted: list[tuple[Record, str]] = []
        for record in records:
            row = self._row(article_id, record, keys[record.source_id], known, now)
            if row is None:
                continue
            values.append(row)
            accepted.append((record, row["status"]))
        if not values:
            return []
        if self.dry_run:
            ids = [-(len(known) + n + 1) for n in range(len(values))]  # stand-ins, never stored
        else:
            ids = list(
                db.session.scalars(
                    insert(Comment).returning(Comment.id, sort_by_parameter_order=True), values
                )
            )
        written = []
        for comment_id, (record, status), row in zip(ids, accepted, values, strict=True):
            known[record.source_id] = _Written(comment_id, row["depth"], row["thread_id"])
            written.append((comment_id, record, status))
            if record.source_id in self.plan.placeholders:
                self.summary.placeholders += 1
            else:
                self.summary.statuses[status] += 1
            if record.source_id in self.plan.orphans:
                self.summary.orphans += 1
        return written

    def _row(
        self,
        article_id: int,
        record: Record,
        key: str,
        known: dict[str, _Written],
        now: datetime,
    ) -> dict[str, Any] | None:
        """The comment's columns; None (counted) when it has nothing to show."""
        placeholder = record.source_id in self.plan.placeholders
        body = "" if placeholder else _CONTROL.sub("", record.body).strip()
        if not body and not placeholder:
            self.summary.skipped[EMPTY] += 1
            return None
        parent_key = self.plan.parents[record.source_id]
        parent = known[parent_key] if parent_key is not None else None
        if placeholder:
            status = CommentStatus.PUBLISHED  # shown while it holds replies (Comment.removed)
        elif record.kind == Kind.PENDING and self.rescore_decide:
            status = CommentStatus.PENDING
        else:
            status = STATUS_OF[record.kind]
        scored = not placeholder
        return {
            "article_id": article_id,
            "parent_id": parent.id if parent else None,
            "thread_id": (parent.thread_id or parent.id) if parent else None,
            "depth": min(parent.depth + 1, Comment.MAX_DEPTH) if parent else 0,
            "user_id": None,
            "guest_token": None,
            "author_name": "" if placeholder else _name(record.author_name),
            "author_email": "" if placeholder else _email(record.author_email),
            "body": body,
            "body_hash": body_hash(body),
            "status": status,
            "created_at": record.created_at,
            "decided_at": None if status in (CommentStatus.HELD, CommentStatus.PENDING)
            else record.created_at,
            "awaiting_score": scored,
            "score_only": scored and status != CommentStatus.PENDING,
            "next_scoring_at": now if scored else None,
            # « Commentaire supprimé. » in the thread, holding its replies (never counted).
            "removed": RemovedReason.UPSTREAM if placeholder else None,
            "imported_from": self.fmt,
            "import_key": key,
        }  # fmt: skip

    def _audit_row(self, comment_id: int, record: Record, status: str) -> dict[str, Any]:
        placeholder = record.source_id in self.plan.placeholders
        details: dict[str, Any] = {
            "format": self.fmt,
            "source": self.source,
            "source_id": record.source_id,
            "source_status": record.kind.value,
        }
        if placeholder:
            details["placeholder"] = True
        if record.source_id in self.plan.orphans:
            details["orphan"] = True
        system = IMPORT_FORMATS.get(self.fmt, self.fmt)
        return {
            "comment_id": comment_id,
            "from_status": None,
            "to_status": status,
            "reason_code": None,
            "reason": f"Importé de {system} ({self.source}, commentaire {record.source_id})",
            "details": details,
        }


def _name(value: str) -> str:
    name = " ".join(_CONTROL.sub("", value).split())
    return name[:MAX_NAME] or ANONYMOUS


def _email(value: str) -> str:
    """The address as given, lower-cased; "" when there is none or it cannot be one."""
    email = value.strip().lower()
    if len(email) > MAX_EMAIL or "@" not in email or _CONTROL.search(email) or " " in email:
        return ""
    return email
