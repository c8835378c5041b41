"""HTML reduced to text, as Perspective's `comment.type: HTML` and Coral's HTML format need."""

import pytest

from app.htmltext import html_to_text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Bonjour <b>à</b> tous</p><p>Deux&nbsp;lignes &amp; plus</p>",
         "Bonjour à tous\nDeux\xa0lignes & plus"),
        ("Un<br>deux<br/>trois", "Un\ndeux\ntrois"),
        ("<script>alert('connard')</script>Propre<style>p{}</style>", "Propre"),
        ("<p>Balise <i>non fermée", "Balise non fermée"),
        ("&lt;b&gt; écrit en toutes lettres", "<b> écrit en toutes lettres"),
        ("   ", ""),
        ("<a href='https://exemple.fr'>un lien</a>", "un lien"),
    ],
)  # fmt: skip
def test_html_is_read_as_the_reader_sees_it(html, text):
    assert html_to_text(html) == text


def test_a_long_broken_document_is_read_in_linear_time():
    assert len(html_to_text("<b>" * 50_000 + "fin")) == 3


def test_links_kept_as_text_on_demand():
    from app.htmltext import html_to_text

    html = (
        'Voir <a href="https://ex.fr/rapport">le rapport</a>, '
        '<a href="https://ex.fr/b">https://ex.fr/b</a>, <a href="mailto:a@ex.fr">écrire</a>, '
        '<a href="javascript:alert(1)">piège</a><br>fin'
    )
    assert html_to_text(html, keep_links=True) == (
        "Voir le rapport (https://ex.fr/rapport), https://ex.fr/b, écrire (a@ex.fr), piège\nfin"
    )
    assert html_to_text(html) == "Voir le rapport, https://ex.fr/b, écrire, piège\nfin"
    unwrapped = html_to_text(
        '<a href="https://t.ex/r">lien</a>', keep_links=True, link=lambda h: "https://ex.fr/"
    )
    assert unwrapped == "lien (https://ex.fr/)"
