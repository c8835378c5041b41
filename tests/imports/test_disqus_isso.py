"""Disqus's XML export and Isso's database imported, edge cases included: anonymous authors
without an address, deleted comments with and without replies, spam, a post whose thread is
missing, a post whose parent is missing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.models import CommentStatus, as_utc
from tests.imports.conftest import (
    FIXTURES,
    by_author,
    flatten,
    imported,
    isso_database,
    reader_threads,
    run_import,
    story,
)

BUDGET = "https://www.journal.fr/2023/11/budget-participatif/"
NOEL = "https://www.journal.fr/2023/12/marche-de-noel/"


@pytest.fixture
def disqus(app, site):
    result = run_import(app, "disqus", FIXTURES / "disqus.xml", "--site", "journal")
    assert result.exit_code == 0, result.output
    return result


def test_disqus_summary(disqus):
    out = disqus.output
    assert "disqus journaldelaville → site journal" in out
    assert "Stories: 2 new, 0 existing" in out
    assert "Comments imported: 6, 4 published, 1 rejected, 1 placeholders" in out
    assert "Orphans (parent missing) attached at the top of their story: 1" in out
    assert "  1 deleted upstream, no reply under it" in out
    assert "  1 thread missing" in out


def test_disqus_stories_keep_the_identifier(disqus):
    budget = story(BUDGET)
    assert budget.title == "Budget participatif : les projets retenus"
    assert budget.external_id == "1842 https://www.journal.fr/?p=1842"
    assert story(NOEL).external_id is None  # an empty <id>


def test_disqus_reader_sees_threads_links_unwrapped_and_anonymous_authors(client, disqus):
    shown = flatten(reader_threads(client, story(BUDGET).id))
    assert shown[0] == (
        0,
        "Margaux",
        "Enfin un skatepark dans le quartier nord !\nLes détails sont sur le site de la ville "
        "(https://www.ville.fr/budget-participatif).",
    )
    assert (1, "Invité du soir", "Et rien pour les pistes cyclables, comme d'habitude.") in shown
    placeholder = shown.index((0, "", "Commentaire supprimé."))
    assert shown[placeholder + 1] == (
        1,
        "Paul",
        "Je réponds au message supprimé : vous avez raison.",
    )
    page = " ".join(body for _, _, body in shown)
    assert "followers" not in page and "personne n'y a répondu" not in page
    assert "supprimé par son auteur" not in page  # the deleted text is never kept
    orphan = flatten(reader_threads(client, story(NOEL).id))
    assert orphan == [(0, "Anonyme pressé", "Je réponds à un message qui n'est pas dans l'export.")]


def test_disqus_authors_without_address_and_dates(disqus):
    anonymous = by_author("Invité du soir")
    assert anonymous.author_email == "" and anonymous.user_id is None
    assert as_utc(anonymous.created_at) == datetime(2023, 11, 6, 10, 5, tzinfo=UTC)
    assert by_author("Promo Followers").status == CommentStatus.REJECTED


def test_disqus_deleted_comment_with_a_reply_is_a_placeholder(disqus):
    paul = by_author("Paul")
    [placeholder] = [c for c in imported() if c.id == paul.parent_id]
    assert placeholder.removed == "upstream" and placeholder.body == ""
    assert placeholder.author_name == "" and placeholder.author_email == ""
    assert placeholder.awaiting_score is False  # nothing to score
    assert not any(c.author_name in ("Effacée", "Solo") for c in imported())


ISSO_BASE = "https://www.journal.fr"


def test_isso_database(app, client, site, tmp_path):
    database = isso_database(tmp_path)
    result = run_import(app, "isso", database, "--site", "journal")  # base: the site's origin
    assert result.exit_code == 0, result.output
    assert "isso https://www.journal.fr → site journal" in result.output
    assert "Comments imported: 5, 1 held, 3 published, 1 placeholders" in result.output
    fete = story(f"{ISSO_BASE}/2024/05/fete-de-la-musique/")
    assert fete.title == "Fête de la musique : le programme"
    shown = flatten(reader_threads(client, fete.id))
    assert shown[:2] == [
        (0, "Zoé", "Super programme cette année, **bravo** aux bénévoles !"),
        (1, "Anonyme", "Merci Zoé !\nOn se voit place du marché."),  # NULL author, no address
    ]
    assert shown[2:] == [
        (0, "", "Commentaire supprimé."),  # Isso's mode 4, holding Marius's reply
        (1, "Marius", "Je répondais au message effacé juste au-dessus."),
    ]
    assert as_utc(by_author("Zoé").created_at) == datetime(2024, 5, 27, 8, 53, 20, 250000, UTC)
    lea = by_author("Léa")
    assert lea.status == CommentStatus.HELD and lea.author_email == "lea@example.fr"
    assert story(f"{ISSO_BASE}/2024/06/canicule/").id == lea.article_id


def test_isso_database_is_opened_read_only(app, site, tmp_path):
    database = isso_database(tmp_path)
    before = database.read_bytes()
    database.chmod(0o444)
    result = run_import(app, "isso", database, "--site", "journal")
    assert result.exit_code == 0, result.output
    assert database.read_bytes() == before


def test_isso_refuses_a_database_that_is_not_isso(app, site, tmp_path):
    database = isso_database(tmp_path, "ALTER TABLE comments RENAME TO other;")
    result = run_import(app, "isso", database, "--site", "journal")
    assert result.exit_code == 1
    assert "not an Isso database: table comments lacks" in result.output
    assert imported() == []


def test_isso_needs_a_base_address_for_a_site_without_origin(app, tmp_path):
    database = isso_database(tmp_path)
    result = run_import(app, "isso", database)  # the default site: no origin
    assert result.exit_code == 2
    assert "--base-url" in result.output
    result = run_import(app, "isso", database, "--base-url", "https://blog.fr")
    assert result.exit_code == 0, result.output
    assert story("https://blog.fr/2024/06/canicule/")
