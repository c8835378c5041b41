"""axe-core over every reader and staff page (staff pages in French and in English), and over
the comments embedded in a newsroom's page (inside their shadow root too): no violation of
impact « serious » or « critical ».

axe-core is the npm package pinned in tests/e2e/package-lock.json (`scripts/test` runs
`npm ci`); without it the check is skipped locally and fails on CI, as Chromium's absence does.
The pages' content security policy forbids injected scripts: the test's browser contexts
bypass it (`bypass_csp`), the app's pages are served unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.models import CommentStatus, Role
from app.services import sites
from tests.conftest import add_comment
from tests.e2e.conftest import WAIT_MS, _on_ci
from tests.e2e.embed_host import serve_host
from tests.e2e.pages import Page, reader_pages, seed, sign_in, staff_pages

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
SEVERE = ("serious", "critical")
RUN_AXE = """
async () => {
  const results = await axe.run(document, { resultTypes: ['violations'] });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')),
  }));
}
"""


@pytest.fixture(scope="module")
def axe_path() -> Path:
    if not AXE.exists():
        message = f"{AXE} is missing: run `npm ci --prefix tests/e2e` (scripts/test does)"
        if _on_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return AXE


@pytest.fixture
def visitor(browser: Any, live_server: str) -> Iterator[Any]:
    """`visitor(role, lang)`: a page in a context that lets axe in, signed in as `role`."""
    opened: list[Any] = []

    def new_page(role: Role | None, lang: str = "fr") -> Any:
        context = browser.new_context(base_url=live_server, locale="fr-FR", bypass_csp=True)
        context.set_default_timeout(WAIT_MS)
        opened.append(context)
        page = context.new_page()
        if role is not None:
            sign_in(page, role)
            page.goto(f"/moderation/file/a-moderer?lang={lang}")  # the staff language switch
            assert page.locator("html").get_attribute("lang") == lang
        return page

    yield new_page
    for context in opened:
        context.close()


def severe_violations(page: Any, axe: Path) -> list[str]:
    page.add_script_tag(path=str(axe))
    found = page.evaluate(RUN_AXE)
    return [
        f"[{v['impact']}] {v['id']}: {v['help']} — {', '.join(v['targets'][:6])}"
        for v in found
        if v["impact"] in SEVERE
    ]


def check(page: Any, target: Page, axe: Path, label: str) -> list[str]:
    page.goto(target.path)
    if target.then:
        target.then(page)
    return [f"{label} {target.name} ({page.url}): {line}" for line in severe_violations(page, axe)]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_staff_pages_have_no_serious_violation(
    app: Flask, visitor: Any, axe_path: Path, lang: str
) -> None:
    ids = seed(app)
    pages = {Role.MODERATOR: visitor(Role.MODERATOR, lang), Role.ADMIN: visitor(Role.ADMIN, lang)}
    failures: list[str] = []
    for target in staff_pages(ids):
        page = pages[target.role]
        failures += check(page, target, axe_path, lang)
        assert page.locator("html").get_attribute("lang") == lang
    assert failures == [], "\n".join(failures)


def test_reader_pages_have_no_serious_violation(app: Flask, visitor: Any, axe_path: Path) -> None:
    ids = seed(app)
    page = visitor(None)
    failures: list[str] = []
    for target in reader_pages(ids):
        failures += check(page, target, axe_path, "fr")
    assert failures == [], "\n".join(failures)


# axe inside the embed's shadow root alone: it fails when the root is not there.
RUN_AXE_IN_EMBED = """
async () => {
  const inside = { fromShadowDom: ['div[data-moderation-story]', 'section'] };
  const results = await axe.run({ include: [inside] }, { resultTypes: ['violations'] });
  return {
    checked: results.passes.length + results.violations.length,
    violations: results.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.map((n) => JSON.stringify(n.target)),
    })),
  };
}
"""


def embed_violations(page: Any, axe: Path, state: str) -> list[str]:
    """axe over the host page with the embed (it walks open shadow roots), then inside the
    embed's shadow root alone; serious and critical violations, labelled with `state`."""
    page.add_script_tag(path=str(axe))
    found = [f"{state}: {line}" for line in severe_violations(page, axe)]
    inside = page.evaluate(RUN_AXE_IN_EMBED)
    assert inside["checked"] > 0, f"{state}: axe saw nothing inside the shadow root"
    return found + [
        f"{state} (shadow root) [{v['impact']}] {v['id']}: {v['help']} — {v['targets'][:6]}"
        for v in inside["violations"]
        if v["impact"] in SEVERE
    ]


def test_the_embedded_comments_have_no_serious_violation(
    app: Flask, browser: Any, live_server: str, axe_path: Path
) -> None:
    """The comments embedded in a newsroom's page (another origin): read, form in error,
    answering, reporting, nudged."""
    from playwright.sync_api import expect

    with serve_host(live_server) as host:
        site = sites.create("journal", [host.origin]).site
        url = host.add("/article-42", "Le pont rouvre")
        story, _ = sites.ensure_story(site, url, "Le pont rouvre")
        first = add_comment(story, "Enfin ! Ce pont manquait à tout le quartier.")
        add_comment(story, "D’accord, même si les travaux ont duré.", parent=first)
        add_comment(story, "Un avis refusé", status=CommentStatus.REJECTED)  # nobody's: unseen
        context = browser.new_context(locale="fr-FR", bypass_csp=True)  # to inject axe
        context.set_default_timeout(WAIT_MS)
        try:
            page = context.new_page()
            page.goto(url)
            expect(page.locator("li.comment")).to_have_count(2)
            failures = embed_violations(page, axe_path, "lecture")
            page.get_by_role("button", name="Publier le commentaire").click()
            expect(page.locator(".field__error:visible").first).to_be_visible()
            failures += embed_violations(page, axe_path, "formulaire en erreur")
            page.get_by_role("button", name="Répondre à Dominique").first.click()
            failures += embed_violations(page, axe_path, "réponse")
            page.get_by_role("button", name="Signaler le commentaire de Dominique").first.click()
            failures += embed_violations(page, axe_path, "signalement")
            page.get_by_role("button", name="Annuler", exact=True).click()
            page.get_by_role("button", name="annuler la réponse").click()
            page.get_by_label("Commentaire", exact=True).fill("Quel idiot, ce ministre.")
            page.get_by_label("Nom").fill("Camille")
            page.get_by_label("Adresse de messagerie").fill("camille@example.fr")
            page.get_by_role("button", name="Publier le commentaire").click()
            nudge = page.get_by_role("heading", name="Avant d’envoyer votre commentaire…")
            expect(nudge).to_be_visible()
            failures += embed_violations(page, axe_path, "relecture proposée")
        finally:
            context.close()
    assert failures == [], "\n".join(failures)
