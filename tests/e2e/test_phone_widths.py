"""No staff page (nor the article, nor the API's reference page) scrolls sideways on a 360 px
phone, whatever the data: long unbroken words, URLs and author names, full tables, the
simulation's results.

Screenshots of a few pages at 360 px and 1280 px go to screenshots/ (git-ignored) for a look.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.models import Role
from tests.e2e.conftest import WAIT_MS
from tests.e2e.pages import Page, reader_pages, seed, sign_in, staff_get_routes, staff_pages

pytestmark = pytest.mark.browser

PHONE = 360
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
SHOTS = {
    "file a-moderer": "queue",
    "journal": "journal",
    "seuils simulés": "seuils",
    "coral": "coral",
    "clé créée": "clients",
    "calibration": "calibration",
    "référence de l’API": "api-docs",
    "vos données (lien)": "mes-donnees",
    "mon compte": "compte",
}
# The readers' pages checked at 360 px: the article, the API's reference page (its tables), the
# data pages (a long address); « mon compte » last, as it signs the visitor in.
READER_PAGES = ("article", "référence de l’API", "vos données (lien)", "mon compte")

# The elements whose right edge passes the viewport's, as CSS-ish selectors (deepest first).
OVERFLOWING = """
(width) => {
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 0.5) continue;
    let ancestorScrolls = false;
    for (let p = el.parentElement; p; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (['auto', 'scroll', 'hidden', 'clip'].includes(style.overflowX) && p !== document.body
          && p !== document.documentElement) { ancestorScrolls = true; break; }
    }
    if (ancestorScrolls) continue;
    const path = [];
    for (let node = el; node && node !== document.body && path.length < 3;
         node = node.parentElement) {
      path.unshift(node.tagName.toLowerCase() + (node.id ? '#' + node.id : '')
        + [...node.classList].map((c) => '.' + c).join(''));
      if (node.id) break;
    }
    out.push(`${path.join(' > ')} (right edge ${Math.round(box.right)} px)`);
  }
  return out;
}
"""


@pytest.fixture
def staff(browser: Any, live_server: str) -> Iterator[Any]:
    """`staff(role, width)`: a signed-in page of that width (contexts closed after)."""
    opened: list[Any] = []

    def new_page(role: Role | None, width: int = PHONE) -> Any:
        context = browser.new_context(
            base_url=live_server, locale="fr-FR", viewport={"width": width, "height": 800}
        )
        context.set_default_timeout(WAIT_MS)
        opened.append(context)
        page = context.new_page()
        if role is not None:
            sign_in(page, role)
        return page

    yield new_page
    for context in opened:
        context.close()


def open_page(page: Any, target: Page) -> None:
    page.goto(target.path)
    if target.then:
        target.then(page)


def too_wide(page: Any, width: int) -> str | None:
    """None when the page fits `width`; else its scroll width and the elements that stick out."""
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width <= width:
        return None
    culprits = page.evaluate(OVERFLOWING, width)
    return f"{scroll_width} px wide: " + "; ".join(culprits[:12])


def test_every_staff_route_is_listed(app: Flask) -> None:
    """A new staff page must join the list that the browser checks visit."""
    ids = dict.fromkeys(("held", "reply", "reader", "article", "reported"), 1)
    listed = {page.endpoint for page in staff_pages(ids)}
    assert staff_get_routes(app) - listed == set()


def test_no_staff_page_scrolls_sideways_at_360_px(app: Flask, staff: Any) -> None:
    ids = seed(app)
    pages = {Role.MODERATOR: staff(Role.MODERATOR), Role.ADMIN: staff(Role.ADMIN)}
    pages[None] = staff(None)
    SCREENSHOTS.mkdir(exist_ok=True)
    failures = []
    readers = [target for target in reader_pages(ids) if target.name in READER_PAGES]
    for target in [*staff_pages(ids), *readers]:
        page = pages[target.role]
        open_page(page, target)
        assert page.locator("main").count() == 1, f"{target.name}: {page.url}"
        problem = too_wide(page, PHONE)
        if problem:
            failures.append(f"{target.name} ({target.path}): {problem}")
        if target.name in SHOTS:
            page.screenshot(path=SCREENSHOTS / f"{SHOTS[target.name]}-360.png", full_page=True)
        if target.name in ("file a-moderer", "file signales"):  # one card, close enough to read
            card = page.locator("article.card").first
            card.screenshot(path=SCREENSHOTS / f"card-{target.path.rsplit('/', 1)[1]}-360.png")
    assert failures == [], "\n".join(failures)


def test_wide_screenshots(app: Flask, staff: Any) -> None:
    """The same pages at 1280 px, for a look (nothing sticks out there either)."""
    ids = seed(app)
    SCREENSHOTS.mkdir(exist_ok=True)
    for target in staff_pages(ids):
        if target.name not in SHOTS:
            continue
        page = staff(target.role, 1280)
        open_page(page, target)
        assert too_wide(page, 1280) is None
        page.screenshot(path=SCREENSHOTS / f"{SHOTS[target.name]}-1280.png", full_page=True)
