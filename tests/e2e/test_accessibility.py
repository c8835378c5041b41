"""axe-core over every reader and staff page (staff pages in French and in English): no
violation of impact « serious » or « critical ».

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

from app.models import Role
from tests.e2e.conftest import WAIT_MS, _on_ci
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
