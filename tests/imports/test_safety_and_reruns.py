"""Files that are not what they claim, or hostile, are refused with their line and nothing
written; a dry run writes nothing; running an import again changes nothing, and a later export
adds only what is new upstream."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Comment, CommentStatus
from tests.imports.conftest import FIXTURES, by_author, imported, row_counts, run_import, story


@pytest.mark.parametrize(
    ("fmt", "name", "message"),
    [
        ("wordpress", "billion-laughs.xml",
         "line 2: a DTD (<!DOCTYPE …>) is refused: exports never have one"),
        ("wordpress", "xxe.xml", "line 2: a DTD (<!DOCTYPE …>) is refused"),
        ("wordpress", "truncated.xml", "line 171: broken XML: unclosed token"),
        ("wordpress", "rss-feed.xml",
         "line 7: not a WordPress export (WXR): no <wp:wxr_version> before the first <item>"),
        ("wordpress", "disqus.xml", "line 2: not a WordPress export (WXR): its root element is"),
        ("disqus", "wxr-1.2.xml", "not a Disqus export: its root element is <rss>"),
        ("isso", "wxr-1.2.xml", "not an Isso database"),
    ],
)  # fmt: skip
def test_refused_with_its_line_and_nothing_written(app, site, fmt, name, message):
    before = row_counts()
    result = run_import(app, fmt, FIXTURES / name, "--site", "journal")
    assert result.exit_code == 1
    assert message in result.output
    assert "(nothing was imported)" in result.output
    assert row_counts() == before


def test_truncated_file_writes_nothing_even_what_came_before_the_break(app, site):
    # The first post and five of its comments are whole before the break: still nothing.
    result = run_import(app, "wordpress", FIXTURES / "truncated.xml", "--site", "journal")
    assert result.exit_code == 1
    assert imported() == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0


def test_entities_are_never_expanded(app, site):
    result = run_import(app, "wordpress", FIXTURES / "xxe.xml", "--site", "journal")
    assert "root:" not in result.output  # /etc/passwd was never read


def test_dry_run_reports_and_writes_nothing(app, site):
    before = row_counts()
    result = run_import(app, "wordpress", FIXTURES / "wxr-1.2.xml", "--site", "journal",
                        "--dry-run")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(dry run: nothing written)" in result.output
    assert "Comments would be imported: 11, 1 held, 8 published, 2 rejected" in result.output
    assert "Stories: 2 new, 0 existing" in result.output
    assert row_counts() == before


def test_second_run_changes_nothing(app, site):
    first = run_import(app, "wordpress", FIXTURES / "wxr-1.2.xml", "--site", "journal")
    assert first.exit_code == 0, first.output
    snapshot = [(c.id, c.status, c.version, c.parent_id, c.body) for c in imported()]
    counts = row_counts()
    again = run_import(app, "wordpress", FIXTURES / "wxr-1.2.xml", "--site", "journal")
    assert again.exit_code == 0, again.output
    assert "Stories: 0 new, 2 existing" in again.output
    assert "Comments imported: 0," in again.output
    assert "Already imported (left as they are): 11" in again.output
    assert [(c.id, c.status, c.version, c.parent_id, c.body) for c in imported()] == snapshot
    assert row_counts() == counts


def test_a_later_export_adds_only_the_new_comments(app, site, tmp_path):
    run_import(app, "wordpress", FIXTURES / "wxr-1.2.xml", "--site", "journal")
    noe = by_author("Noé")
    later = (
        (FIXTURES / "wxr-1.2.xml")
        .read_text()
        .replace(
            "\t</item>\n\t<item>\n\t\t<title><![CDATA[logo-journal]]>",
            """\t\t<wp:comment>
\t\t\t<wp:comment_id>13</wp:comment_id>
\t\t\t<wp:comment_author><![CDATA[Jade]]></wp:comment_author>
\t\t\t<wp:comment_author_email><![CDATA[jade@example.fr]]></wp:comment_author_email>
\t\t\t<wp:comment_date><![CDATA[2024-03-29 10:00:00]]></wp:comment_date>
\t\t\t<wp:comment_date_gmt><![CDATA[2024-03-29 09:00:00]]></wp:comment_date_gmt>
\t\t\t<wp:comment_content><![CDATA[Arrivé après le premier import.]]></wp:comment_content>
\t\t\t<wp:comment_approved><![CDATA[1]]></wp:comment_approved>
\t\t\t<wp:comment_type><![CDATA[comment]]></wp:comment_type>
\t\t\t<wp:comment_parent>12</wp:comment_parent>
\t\t</wp:comment>
\t</item>
\t<item>
\t\t<title><![CDATA[logo-journal]]>""",
        )
    )
    assert "Arrivé après" in later
    path = tmp_path / "later.xml"
    path.write_text(later)
    result = run_import(app, "wordpress", path, "--site", "journal")
    assert result.exit_code == 0, result.output
    assert "Comments imported: 1, 1 published" in result.output
    assert "Already imported (left as they are): 11" in result.output
    jade = by_author("Jade")
    assert jade.parent_id == noe.id and jade.thread_id == noe.id and jade.depth == 1


def test_a_rerun_leaves_a_moderators_decision_alone(app, site):
    run_import(app, "wordpress", FIXTURES / "wxr-1.2.xml", "--site", "journal")
    lou = by_author("Lou")
    db.session.execute(
        sa.update(Comment).where(Comment.id == lou.id).values(status=CommentStatus.PUBLISHED)
    )  # as if a moderator approved it here (the test writes the row directly)
    db.session.commit()
    run_import(app, "wordpress", FIXTURES / "wxr-1.2.xml", "--site", "journal")
    assert by_author("Lou").status == CommentStatus.PUBLISHED


def test_two_blogs_with_the_same_ids_into_one_site(app, site):
    # Both files have post 7 and comments 31 and 32: different blogs, different comments.
    for name in ("wxr-1.0.xml", "wxr-1.1.xml"):
        result = run_import(app, "wordpress", FIXTURES / name, "--site", "journal")
        assert result.exit_code == 0, result.output
        assert "Comments imported: 2, 2 published" in result.output
    assert len(imported()) == 4
    first = story("http://archives.journal.fr/2009/09/tramway/")
    second = story("http://archives2012.journal.fr/2009/09/tramway/")
    assert first.external_id == "7"
    assert second.external_id is None  # the CMS id is the other blog's story's already


def test_the_same_export_into_two_sites_is_two_copies(app, site):
    from app.services import sites

    sites.create("autre", ["https://www.autre.fr"])
    for name in ("journal", "autre"):
        result = run_import(app, "wordpress", FIXTURES / "wxr-1.0.xml", "--site", name)
        assert "Comments imported: 2, 2 published" in result.output
    assert len(imported()) == 4


def test_unknown_site_and_time_zone(app):
    result = run_import(app, "wordpress", FIXTURES / "wxr-1.0.xml", "--site", "nulle-part")
    assert result.exit_code == 2 and "No site is called 'nulle-part'" in result.output
    result = run_import(app, "wordpress", FIXTURES / "wxr-1.0.xml", "--timezone", "Mars/Olympus")
    assert result.exit_code == 2 and "unknown time zone" in result.output
    assert imported() == []


def _wxr(comments: str) -> str:
    """A small WXR 1.2 file: one post with these <wp:comment> elements."""
    return f"""<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/">
<channel>
	<link>https://www.journal.fr</link>
	<wp:wxr_version>1.2</wp:wxr_version>
	<wp:base_site_url>https://www.journal.fr</wp:base_site_url>
	<item>
		<title>Un billet</title>
		<link>https://www.journal.fr/un-billet/</link>
		<wp:post_id>5</wp:post_id>
{comments}
	</item>
</channel>
</rss>
"""


def _comment(cid: int, parent: int, text: str, kind: str = "comment") -> str:
    return f"""		<wp:comment>
			<wp:comment_id>{cid}</wp:comment_id>
			<wp:comment_author>Auteur {cid}</wp:comment_author>
			<wp:comment_date_gmt>2024-05-0{cid} 10:00:00</wp:comment_date_gmt>
			<wp:comment_content><![CDATA[{text}]]></wp:comment_content>
			<wp:comment_approved>1</wp:comment_approved>
			<wp:comment_type>{kind}</wp:comment_type>
			<wp:comment_parent>{parent}</wp:comment_parent>
		</wp:comment>"""


def test_a_post_with_only_pingbacks_leaves_no_story(app, site, tmp_path):
    path = tmp_path / "pingbacks.xml"
    path.write_text(_wxr(_comment(1, 0, "[…] cité par un blog […]", "pingback")))
    result = run_import(app, "wordpress", path, "--site", "journal")
    assert result.exit_code == 0, result.output
    assert "Stories: 0 new, 0 existing" in result.output and "  1 pingbacks" in result.output
    assert row_counts()["articles"] == 1  # the bundled article only


def test_a_reply_before_its_parent_in_the_file_still_finds_it(app, site, tmp_path):
    path = tmp_path / "order.xml"
    path.write_text(
        _wxr(
            _comment(2, 3, "La réponse, écrite avant dans le fichier.")
            + _comment(3, 0, "Le début.")
        )
    )
    result = run_import(app, "wordpress", path, "--site", "journal")
    assert result.exit_code == 0, result.output
    assert "Comments imported: 2, 2 published" in result.output
    assert by_author("Auteur 2").parent_id == by_author("Auteur 3").id


def test_a_comment_with_nothing_left_once_reduced_is_skipped(app, site, tmp_path):
    path = tmp_path / "empty.xml"
    path.write_text(_wxr(_comment(1, 0, '<img src="chat.gif">') + _comment(2, 0, "Du texte.")))
    result = run_import(app, "wordpress", path, "--site", "journal")
    assert "Comments imported: 1, 1 published" in result.output
    assert "  1 no text once its HTML is reduced" in result.output
