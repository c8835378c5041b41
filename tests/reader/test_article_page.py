"""The article page: content, structure, accessibility landmarks, typography kept."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ARTICLE_URL

SHARED = Path(__file__).resolve().parents[3] / "shared" / "article" / "raqqa-al-mayadeen.fr.txt"
BUNDLED = Path(__file__).resolve().parents[2] / "app/content/articles/raqqa-al-mayadeen.fr.txt"


def test_root_leads_to_the_article(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(ARTICLE_URL)


def test_article_shows_title_credit_body_subheading_and_credits(client):
    response = client.get(ARTICLE_URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert (
        '<h1 id="titre-article" class="article__title">Le ministère de la Défense russe accuse '
        "la Coalition dirigée par les Etats-Unis d’Amérique de bombardements dans les zones "
        "résidentielles de Raqqa</h1>"
    ) in html
    assert "© Photo: Mikhail Alaeddin" in html
    assert "<h2>Al-Mayadeen Libéré</h2>" in html
    assert "<p>Traduction : MIRASTNEWS</p>" in html
    assert "<p>Source : Sputnik News</p>" in html
    # The comment section follows the article, with its heading.
    assert html.index("Source : Sputnik News") < html.index(">Votre commentaire</h2>")
    # Every body paragraph of the newsroom's text is on the page, typography untouched.
    lines = BUNDLED.read_text(encoding="utf-8").splitlines()
    for line in lines[2:-3]:
        assert line.strip() in html, line


def test_bundled_copy_matches_the_newsroom_text():
    if SHARED.exists():  # ../shared is beside the clone in CI; the project never needs it
        assert BUNDLED.read_bytes() == SHARED.read_bytes()


def test_form_fields_are_labelled_and_landmarks_present(client):
    html = client.get(ARTICLE_URL).get_data(as_text=True)
    assert '<label class="field__label" for="body">Commentaire</label>' in html
    assert '<label class="field__label" for="name">Nom</label>' in html
    assert '<label class="field__label" for="email">Adresse de messagerie</label>' in html
    for landmark in ('role="banner"', "<main", 'role="contentinfo"', 'class="skip-link"'):
        assert landmark in html


def test_unknown_article_is_a_french_404(client):
    response = client.get("/articles/n-existe-pas")
    assert response.status_code == 404
    assert "Cet article n’existe pas" in response.get_data(as_text=True)


def test_security_headers_on_every_page(client):
    for url in (ARTICLE_URL, "/compte/connexion", "/articles/n-existe-pas"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert "Referrer-Policy" in headers
