"""Exports: `flask export wxr` gives WordPress what its importer reads; `flask export json`
gives everything, valid against docs/export-schema.json."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft202012Validator

from app.actions import AuditAction
from app.extensions import db
from app.models import Comment, CommentScore, CommentStatus, RemovedReason
from app.services import audit, comments, sites
from tests.conftest import add_comment

ROOT = Path(__file__).resolve().parents[1]
NS = {
    "wp": "http://wordpress.org/export/1.2/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
# What breaks XML or HTML: the CDATA end, characters XML 1.0 forbids, an emoji, & and <.
HOSTILE = "Fin ]]> suite & <script>alert(1)</script> 😀\x01\x0b\ufffe ok\nligne 2"
CLEAN = "Fin ]]> suite & <script>alert(1)</script> 😀 ok\nligne 2"
TITLE = "Budget & « dette » ]]> <b>2027</b>"
WHEN = datetime(2026, 7, 14, 21, 30, tzinfo=UTC)  # 23:30 in Paris (summer time)


def _score(comment: Comment, value: float) -> None:
    db.session.add(
        CommentScore(
            comment_id=comment.id,
            scores={"toxicity": value, "insult": value / 2},
            max_score=value,
            model_name="detoxify-test",
            model_version="t1",
            scored_at=WHEN,
        )  # fmt: skip
    )
    db.session.commit()


@pytest.fixture
def site_with_comments(app):
    """A site, its story, and comments of every status: a nested thread, scores, decisions,
    and texts that break XML."""
    site = sites.create("journal", ["https://www.journal.fr"]).site
    story, _ = sites.ensure_story(site, "https://www.journal.fr/2026/budget?x=1&y=2", TITLE)
    other, _ = sites.ensure_story(site, "https://www.journal.fr/vide", "Sans commentaire")
    top = add_comment(story, HOSTILE, author_name="Zoé ]]> & <Cie>",
                      author_email="zoe@example.fr", created_at=WHEN,
                      decided_at=WHEN)  # fmt: skip
    _score(top, 0.12)
    audit.record(AuditAction.SUBMITTED, actor=audit.reader_actor("Zoé"), comment_id=top.id,
                 to_status="pending")  # fmt: skip
    audit.record(AuditAction.SCORED, actor=audit.model_actor("detoxify-test"),
                 comment_id=top.id, from_status="pending", to_status="published",
                 reason="Sous les seuils")  # fmt: skip
    db.session.commit()
    reply = add_comment(story, "Réponse", parent=top, author_email="rep@example.fr",
                        created_at=WHEN + timedelta(minutes=1))  # fmt: skip
    deep = add_comment(story, "Réponse à la réponse", parent=reply,
                       created_at=WHEN + timedelta(minutes=2))  # fmt: skip
    held = add_comment(story, "Retenu", status=CommentStatus.HELD, parent=top,
                       created_at=WHEN + timedelta(minutes=3))  # fmt: skip
    rejected = add_comment(story, "Insulte", status=CommentStatus.REJECTED,
                           created_at=WHEN + timedelta(minutes=4),
                           reasons=[{"code": "category_reject", "category": "insult"}])  # fmt: skip
    _score(rejected, 0.97)
    audit.record(AuditAction.REJECTED, actor="Modo Marie", comment_id=rejected.id,
                 from_status="held", to_status="rejected", reason="Rejeté : insultes",
                 note="Récidiviste")  # fmt: skip
    db.session.commit()
    pending = add_comment(story, "Pas encore noté", status=CommentStatus.PENDING,
                          awaiting_score=True, created_at=WHEN + timedelta(minutes=5))  # fmt: skip
    nudged = add_comment(story, "Invité à reformuler", status=CommentStatus.NUDGED,
                         created_at=WHEN + timedelta(minutes=6))  # fmt: skip
    erased = add_comment(story, "Ancien", author_email="", created_at=WHEN)
    return {
        "site": site, "story": story, "other": other, "top": top, "reply": reply,
        "deep": deep, "held": held, "rejected": rejected, "pending": pending,
        "nudged": nudged, "erased": erased,
    }  # fmt: skip


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["export", *args])


def _wxr(app, tmp_path) -> tuple[str, ET.Element]:
    target = tmp_path / "export.xml"
    result = _cli(app, "wxr", "--site", "journal", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert "Exported 2 stories, 8 comments" in result.output
    text = target.read_text(encoding="utf-8")
    return text, ET.fromstring(text.encode())


def _regex_get_tag(string: str, tag: str) -> str:
    """WordPress importer's fallback parser (class-wxr-parser-regex.php, `get_tag`), in
    Python: the first ``<tag.*?>(.*?)</tag>``, its CDATA sections joined."""
    found = re.search(rf"<{tag}.*?>(.*?)</{tag}>", string, re.S | re.I)
    if not found:
        return ""
    value = found.group(1)
    if value.startswith("<![CDATA["):
        if "]]]]><![CDATA[>" in value:
            return "".join(re.findall(r"<!\[CDATA\[(.*?)\]\]>", value, re.S))
        return re.sub(r"^<!\[CDATA\[(.*)\]\]>$", r"\1", value, flags=re.S)
    return value


def test_wxr_export_is_what_wordpress_reads(app, tmp_path, site_with_comments):
    rows = site_with_comments
    text, rss = _wxr(app, tmp_path)
    channel = rss.find("channel")
    assert channel.findtext("wp:wxr_version", namespaces=NS) == "1.2"
    assert channel.findtext("wp:base_site_url", namespaces=NS) == "https://www.journal.fr"
    items = channel.findall("item")
    assert [int(i.findtext("wp:post_id", namespaces=NS)) for i in items] == [
        rows["story"].id, rows["other"].id
    ]  # fmt: skip
    item = items[0]
    assert html.unescape(item.findtext("title")) == TITLE
    assert item.findtext("link") == "https://www.journal.fr/2026/budget?x=1&y=2"
    assert item.findtext("wp:post_type", namespaces=NS) == "post"
    assert item.findtext("wp:status", namespaces=NS) == "publish"
    assert item.findtext("wp:post_name", namespaces=NS) == rows["story"].slug
    published = rows["story"].published_at.replace(tzinfo=UTC)
    assert item.findtext("wp:post_date_gmt", namespaces=NS) == published.strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    assert item.findtext("wp:post_date", namespaces=NS) == published.astimezone(
        ZoneInfo("Europe/Paris")
    ).strftime("%Y-%m-%d %H:%M:%S")

    comments = {
        int(c.findtext("wp:comment_id", namespaces=NS)): c for c in item.findall("wp:comment", NS)
    }
    expected = {
        "top": ("1", 0), "reply": ("1", "top"), "deep": ("1", "reply"), "held": ("0", "top"),
        "rejected": ("spam", 0), "pending": ("0", 0), "nudged": ("0", 0), "erased": ("1", 0),
    }  # fmt: skip
    assert set(comments) == {rows[name].id for name in expected}
    for name, (approved, parent) in expected.items():
        c = comments[rows[name].id]
        field = lambda tag: c.findtext(f"wp:{tag}", namespaces=NS)  # noqa: B023, E731
        assert field("comment_approved") == approved, name
        assert int(field("comment_parent")) == (0 if parent == 0 else rows[parent].id), name
        assert field("comment_type") == "comment"
        assert field("comment_author") == rows[name].author_name
        assert field("comment_author_email") == rows[name].author_email
        assert field("comment_user_id") == "0"
    top = comments[rows["top"].id]
    # Every field as WordPress needs it: HTML text, dates in the site's zone and in UTC.
    assert top.findtext("wp:comment_content", namespaces=NS) == CLEAN.replace("&", "&amp;").replace(
        "<", "&lt;"
    )
    assert html.unescape(top.findtext("wp:comment_content", namespaces=NS)) == CLEAN
    assert top.findtext("wp:comment_author", namespaces=NS) == "Zoé ]]> & <Cie>"
    assert top.findtext("wp:comment_date_gmt", namespaces=NS) == "2026-07-14 21:30:00"
    assert top.findtext("wp:comment_date", namespaces=NS) == "2026-07-14 23:30:00"
    assert items[1].findall("wp:comment", NS) == []

    # The raw file, as the importer's regex parser reads it: `]]>` split the way it joins.
    assert "]]]]><![CDATA[>" in text and "\x01" not in text and "\ufffe" not in text
    raw_items = re.findall(r"<item>(.*?)</item>", text, re.S)
    raw_comment = re.findall(r"<wp:comment>(.+?)</wp:comment>", raw_items[0], re.S)[0]
    assert _regex_get_tag(raw_comment, "wp:comment_author") == "Zoé ]]> & <Cie>"
    assert _regex_get_tag(raw_comment, "wp:comment_author_email") == "zoe@example.fr"
    assert html.unescape(_regex_get_tag(raw_comment, "wp:comment_content")) == CLEAN
    assert _regex_get_tag(raw_items[0], "wp:post_date") == item.findtext(
        "wp:post_date", namespaces=NS
    )


def test_a_placeholder_is_left_out_of_wxr_its_replies_moved_up(app, tmp_path, article):
    site = sites.default_site()
    top = add_comment(article, "Premier")
    gone = add_comment(article, "Retiré par son auteur", parent=top)
    nested = add_comment(article, "Retiré lui aussi", parent=gone)
    orphan = add_comment(article, "Réponse au supprimé", parent=nested)
    for comment in (gone, nested):
        assert comments.remove(comment, RemovedReason.AUTHOR, "auteur") == "placeholder"
    db.session.commit()
    target = tmp_path / "export.xml"
    result = _cli(app, "wxr", "--site", site.name, "--output", str(target))
    assert result.exit_code == 0, result.output
    assert "2 placeholders left out (their replies moved up)" in result.output
    text = target.read_text(encoding="utf-8")
    assert "Retiré" not in text
    rss = ET.fromstring(text.encode())
    parents = {
        int(c.findtext("wp:comment_id", namespaces=NS)): int(
            c.findtext("wp:comment_parent", namespaces=NS)
        )
        for c in rss.iter(f"{{{NS['wp']}}}comment")
    }
    assert parents == {top.id: 0, orphan.id: top.id}  # two levels up, to a comment kept
    # The JSON export keeps the placeholder as it is, marked.
    document = json.loads(_cli(app, "json", "--site", site.name).stdout)
    [story] = [s for s in document["stories"] if s["id"] == article.id]
    by_id = {c["id"]: c for c in story["comments"]}
    assert by_id[gone.id]["removed"] == "author" and by_id[gone.id]["body"] == ""
    assert by_id[orphan.id]["parent_id"] == nested.id and by_id[top.id]["removed"] is None


def test_json_export_validates_against_its_schema_and_keeps_every_value(app, site_with_comments):
    rows = site_with_comments
    result = _cli(app, "json", "--site", "journal")  # to standard output
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    schema = json.loads((ROOT / "docs" / "export-schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert list(validator.iter_errors(document)) == []
    assert (document["format"], document["version"], document["site"]) == (
        "moderation-export", 1, "journal",
    )  # fmt: skip
    assert "stories[].comments[].author.email" in document["personal_data"]
    assert document["totals"] == {"stories": 2, "comments": 8}
    story = document["stories"][0]
    assert (story["id"], story["title"], story["url"], story["site"]) == (
        rows["story"].id, TITLE, rows["story"].url, "journal",
    )  # fmt: skip
    by_id = {c["id"]: c for c in story["comments"]}
    top = by_id[rows["top"].id]
    assert top["body"] == HOSTILE  # JSON keeps every character
    assert top["author"] == {"name": "Zoé ]]> & <Cie>", "email": "zoe@example.fr",
                             "account_id": None}  # fmt: skip
    assert top["status"] == "published" and top["created_at"] == "2026-07-14T21:30:00+00:00"
    assert top["score"]["scores"] == {"toxicity": 0.12, "insult": 0.06}
    assert top["score"]["model_name"] == "detoxify-test"
    assert [d["action"] for d in top["decisions"]] == ["submitted", "scored"]
    assert top["decisions"][1]["reason"] == "Sous les seuils"
    assert by_id[rows["deep"].id]["parent_id"] == rows["reply"].id
    assert by_id[rows["deep"].id]["thread_id"] == rows["top"].id
    rejected = by_id[rows["rejected"].id]
    assert rejected["status"] == "rejected" and rejected["score"]["max_score"] == 0.97
    assert rejected["reasons"] == [{"code": "category_reject", "category": "insult"}]
    [decision] = rejected["decisions"]
    assert (decision["action"], decision["actor"], decision["note"]) == (
        "rejected", "Modo Marie", "Récidiviste",
    )  # fmt: skip
    assert by_id[rows["pending"].id]["score"] is None
    assert {c["status"] for c in story["comments"]} == set(CommentStatus)
    assert by_id[rows["erased"].id]["author"]["email"] is None
    assert document["stories"][1]["comments"] == []


def test_json_export_of_every_site(app, tmp_path, site_with_comments, article):
    add_comment(article, "Sur l’article du site par défaut")
    target = tmp_path / "all.json"
    result = _cli(app, "json", "--output", str(target))
    assert result.exit_code == 0, result.output
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["site"] is None
    assert {s["site"] for s in document["stories"]} == {"journal", sites.default_site().name}
    assert document["totals"]["comments"] == 9
    assert not list(tmp_path.glob(".*.partial"))


@pytest.mark.parametrize("kind", ["wxr", "json"])
def test_an_unknown_site_is_a_clear_error(app, tmp_path, kind):
    target = tmp_path / "out"
    result = _cli(app, kind, "--site", "inconnu", "--output", str(target))
    assert result.exit_code == 2
    assert "No site is called 'inconnu'" in result.output
    assert not target.exists()
