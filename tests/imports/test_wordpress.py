"""WordPress exports (WXR 1.0, 1.1, 1.2; WordPress.com's https namespace) imported, then seen
by a reader and by a moderator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CommentStatus, ModerationAction, Role, as_utc
from tests.conftest import login, make_user
from tests.imports.conftest import (
    FIXTURES,
    by_author,
    flatten,
    imported,
    reader_threads,
    run_import,
    story,
)

POST = "https://www.journal.fr/2024/03/municipales-participation/"


@pytest.fixture
def wxr(app, site):
    result = run_import(app, "wordpress", FIXTURES / "wxr-1.2.xml", "--site", "journal")
    assert result.exit_code == 0, result.output
    return result


def test_summary_counts_stories_statuses_pingbacks_and_orphans(wxr):
    out = wxr.output
    assert "wordpress https://www.journal.fr → site journal" in out
    assert "Stories: 2 new, 0 existing" in out  # the post and the page; not the attachment
    assert "Comments imported: 11, 1 held, 8 published, 2 rejected, 0 placeholders" in out
    assert "Orphans (parent missing) attached at the top of their story: 1" in out
    assert "  1 pingbacks" in out and "  1 trackbacks" in out


def test_stories_keep_the_posts_address_title_and_id(wxr):
    post = story(POST)
    assert post.title == "Municipales : la participation en hausse"
    assert post.external_id == "101"
    page = story("https://www.journal.fr/contact/")
    assert page.title == "Nous contacter" and page.external_id == "103"


def test_reader_sees_published_threads_with_html_reduced_and_links_kept(client, wxr):
    shown = flatten(reader_threads(client, story(POST).id))
    assert shown == [
        (0, "Camille Martin",
         "Bonne nouvelle pour la démocratie locale.\nLes chiffres complets sont dans le rapport "
         "du ministère (https://www.interieur.gouv.fr/resultats).\nMerci pour ce suivi !"),
        (1, "Dominique", "Sauf que la participation reste basse chez les 18-25 ans."),
        (2, "Camille Martin", "C'est vrai, mais elle progresse aussi chez eux."),
        # Depth 3 and 4 upstream: shown at our last level, under the same thread.
        (2, "Dominique", "Source ? Je n’ai rien trouvé de tel."),
        (2, "Camille Martin", "L’étude de l’Insee, page 4."),
        (0, "Alix", "Je réponds à un commentaire supprimé depuis longtemps."),  # the orphan
        (0, "Noé", "Le code du rapport contient ]]> et même <![CDATA[ : tout va bien."),
    ]  # fmt: skip
    page = " ".join(body for _, _, body in shown)
    for hidden in ("bureau", "1000 €", "corbeille", "revue de presse", "Participation en hausse"):
        assert hidden not in page  # pending, spam, trash, pingback, trackback


def test_deep_replies_point_at_their_true_parent_with_depth_capped(wxr):
    starts = ("Bonne", "Sauf", "C'est", "Source", "L’étude")
    first, second, third, fourth, fifth = sorted(
        (c for c in imported() if c.body.startswith(starts)),
        key=lambda c: [c.body.startswith(s) for s in starts].index(True),
    )
    assert [c.depth for c in (first, second, third, fourth, fifth)] == [0, 1, 2, 2, 2]
    assert fifth.parent_id == fourth.id and fourth.parent_id == third.id
    assert {c.thread_id for c in (second, third, fourth, fifth)} == {first.id}


def test_dates_are_utc_and_a_missing_gmt_date_is_read_in_the_blogs_time_zone(app, site):
    result = run_import(app, "wordpress", FIXTURES / "wxr-1.2.xml", "--site", "journal",
                        "--timezone", "America/Montreal")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert as_utc(by_author("Noé").created_at) == datetime(
        2024, 3, 21, 17, 0, tzinfo=UTC
    )  # wp:comment_date_gmt as it is
    # « 2024-07-14 10:30:00 » with a GMT date of zeros: Montréal's summer time (UTC-4).
    assert as_utc(by_author("Lou").created_at) == datetime(2024, 7, 14, 14, 30, tzinfo=UTC)


def test_default_time_zone_is_paris(wxr):
    assert as_utc(by_author("Lou").created_at) == datetime(2024, 7, 14, 8, 30, tzinfo=UTC)


def test_statuses_authors_and_guests(wxr):
    assert by_author("Lou").status == CommentStatus.HELD
    assert by_author("Meilleur Casino").status == CommentStatus.REJECTED
    assert by_author("Sacha").status == CommentStatus.REJECTED  # trash
    for comment in imported():
        assert comment.user_id is None and comment.guest_token is None
        assert comment.imported_from == "wordpress" and len(comment.body_hash) == 64
    # Addresses as WordPress had them, lower-cased (never shown to readers).
    assert {c.author_email for c in imported() if c.author_name == "Camille Martin"} == {
        "camille.martin@example.fr"
    }


def test_moderator_finds_the_pending_comment_held_and_its_origin_in_the_journal(app, wxr):
    make_user(email="mod@example.fr", display_name="Modo Marie", role=Role.MODERATOR)
    client = app.test_client()
    login(client, "mod@example.fr")
    queue = client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert "la mairie a-t-elle publié le détail par bureau" in queue
    assert "Gagnez" not in queue  # spam stays out of the queue
    lou = by_author("Lou")
    [row] = db.session.scalars(
        sa.select(ModerationAction).where(ModerationAction.comment_id == lou.id)
    )
    assert row.action == "imported" and row.actor == "import:wordpress"
    assert row.details == {"format": "wordpress", "source": "https://www.journal.fr",
                           "source_id": "6", "source_status": "pending"}  # fmt: skip
    journal = client.get("/moderation/journal").get_data(as_text=True)
    assert "import <bdi>wordpress</bdi>" in journal  # who: the import, not a person
    assert (
        "Importé de WordPress (https://www.journal.fr, commentaire 6) : en attente là-bas"
        in journal
    )


@pytest.mark.parametrize(
    ("name", "source", "url"),
    [
        ("wxr-1.0.xml", "http://archives.journal.fr", "http://archives.journal.fr/2009/09/tramway/"),
        ("wxr-1.1.xml", "http://archives2012.journal.fr",
         "http://archives2012.journal.fr/2009/09/tramway/"),
    ],
)  # fmt: skip
def test_older_wxr_versions(app, client, site, name, source, url):
    result = run_import(app, "wordpress", FIXTURES / name, "--site", "journal")
    assert result.exit_code == 0, result.output
    assert f"wordpress {source} → site journal" in result.output
    assert "Comments imported: 2, 2 published" in result.output
    tramway = story(url)
    assert tramway.title == "Le tramway arrive en 2012"
    reply = by_author("Dupont & fils")  # WordPress kept the name HTML-escaped
    assert reply.parent_id == by_author("Bernard").id


def test_wordpress_com_export_with_the_https_namespace(app, site):
    result = run_import(app, "wordpress", FIXTURES / "wordpress-com.xml", "--site", "journal")
    assert result.exit_code == 0, result.output
    # The blog's own address names the source, not WordPress.com's network.
    assert "wordpress https://journaldequartier.wordpress.com → site journal" in result.output
    assert "Comments imported: 2, 1 held, 1 published" in result.output
    assert by_author("Inès").body == "J'y serai avec mon stand de livres.\nVenez nombreux\xa0!"
    assert by_author("Hugo").parent_id == by_author("Inès").id
    assert "1 stories are not on the site's origins" in result.output
