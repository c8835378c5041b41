"""`/embed.js` as a newsroom page loads it: one file from our origin with its styles inside, a
long cache revalidated by ETag, within the size budget, and free of what a strict host CSP
refuses. The story page that is its no-JavaScript link. (The script at work, in Chromium:
tests/e2e/test_embed.py.)"""

from __future__ import annotations

import gzip
import re

from sqlalchemy import select

from app.extensions import db
from app.models import Article
from app.reader.embed import SCRIPT, STYLES
from app.services import sites
from tests.conftest import add_comment

URL = "/embed.js"
BUDGET = 20 * 1024  # embed.js and its styles, gzipped together (issue 13)


def test_the_script_is_served_with_its_styles_and_a_long_cache(client):
    response = client.get(URL)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    script = response.get_data(as_text=True)
    assert '/*CSS*/ ""' not in script  # the slot is filled…
    assert ".comment__author{" in script.replace(" ", "")  # …with embed.css
    cache = response.cache_control
    assert cache.public and cache.max_age >= 3600
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["ETag"]


def test_a_browser_revalidates_with_its_etag(client):
    etag = client.get(URL).headers["ETag"]
    again = client.get(URL, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    stale = client.get(URL, headers={"If-None-Match": '"une-ancienne-version"'})
    assert stale.status_code == 200


def test_embed_js_and_its_styles_fit_in_20_kb_gzipped(client):
    served = client.get(URL).get_data()
    size = len(gzip.compress(served, compresslevel=9))
    print(f"embed.js (with embed.css): {len(served)} bytes, {size} bytes gzipped (level 9)")
    assert size <= BUDGET, f"{size} bytes gzipped: over the {BUDGET}-byte budget"


def test_the_script_does_nothing_a_strict_host_csp_refuses():
    """No markup from strings, no eval, no inline style attribute, no request elsewhere."""
    source = SCRIPT.read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/|^\s*//.*$", "", source, flags=re.S | re.M)  # comments aside
    for forbidden in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "Function(",
        ".style",
        '"style"',
        'setTimeout("',
    ):
        assert forbidden not in code, forbidden
    assert re.findall(r"https?://", code) == []  # every request goes to the script's own origin
    assert "url(" not in STYLES.read_text(encoding="utf-8")  # no font, no image to fetch


def test_a_story_without_body_has_its_page_with_the_original_link(app, client):
    site = sites.create("journal", ["https://www.journal.fr"]).site
    story, _ = sites.ensure_story(site, "https://www.journal.fr/article-42", "Le pont rouvre")
    add_comment(story, "Enfin une bonne nouvelle.")
    page = client.get(f"/articles/{story.slug}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1" in html and "Le pont rouvre" in html
    assert (
        '<a href="https://www.journal.fr/article-42">Lire l’article sur www.journal.fr</a>' in html
    )
    assert 'class="article__body"' not in html  # no empty body block
    assert "Enfin une bonne nouvelle." in html
    assert "Votre commentaire" in html


def test_the_bundled_article_has_no_original_link(client):
    article = db.session.scalars(select(Article)).first()
    html = client.get(f"/articles/{article.slug}").get_data(as_text=True)
    assert "Lire l’article sur" not in html
    assert 'class="article__body"' in html
