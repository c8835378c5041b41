"""A held comment, approved from the moderators' queue with the keyboard alone, in Chromium.

A reader posts a borderline comment (held for a moderator: nudges are off), sees it marked
« En attente de modération » while other visitors do not see it; a moderator signs in and
approves it with `j` then `a`; a fresh visitor then reads it on the article page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Article, Comment, CommentStatus, ModerationAction, Role
from app.services import settings
from tests.conftest import ARTICLE_URL, make_user
from tests.e2e.conftest import WAIT_MS

pytestmark = pytest.mark.browser

BODY = "Quelle merde, cette route entre Raqqa et Mayadeen."  # obscene 0.65: held
MODERATOR_EMAIL = "moderatrice@example.fr"
MODERATOR_PASSWORD = "motdepasse-solide"
QUEUE_URL = "/moderation/file/a-moderer"


class Console:
    """What the pages said in the browser console, the errors they threw and the requests that
    failed; each line is also printed, so that a failing run shows them."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any, who: str) -> None:
        page.on("console", lambda message: self._console(who, message))
        page.on("pageerror", lambda error: self._add(f"{who} pageerror: {error}"))
        page.on("response", lambda response: self._response(who, response))

    def _console(self, who: str, message: Any) -> None:
        url = message.location.get("url") or ""
        if message.type != "error" or url.endswith("/favicon.ico"):  # the app has no favicon
            return
        self._add(
            f"{who} console.error: {message.text} ({url}:{message.location.get('lineNumber')})"
        )

    def _response(self, who: str, response: Any) -> None:
        if response.status >= 400:  # not an error by itself (the favicon), but worth a line
            print(f"{who} HTTP {response.status} {response.request.method} {response.url}")

    def _add(self, line: str) -> None:
        print(line)
        self.errors.append(line)


@pytest.fixture
def contexts(browser: Any, live_server: str) -> Iterator[Any]:
    """New browser contexts (each one another visitor, with its own cookies), closed after."""
    opened: list[Any] = []

    def new_context() -> Any:
        # French, as the site's readers and staff: staff pages follow Accept-Language.
        context = browser.new_context(base_url=live_server, locale="fr-FR")
        context.set_default_timeout(WAIT_MS)
        opened.append(context)
        return context

    yield new_context
    for context in opened:
        context.close()


def test_held_comment_approved_with_the_keyboard(app: Flask, contexts: Any) -> None:
    from playwright.sync_api import expect

    settings.set_value("nudge_enabled", False)  # borderline comments are simply held
    moderator = make_user(
        email=MODERATOR_EMAIL,
        password=MODERATOR_PASSWORD,
        display_name="Modératrice",
        role=Role.MODERATOR,
    )
    console = Console()

    # The reader posts; the comment is held and only its author sees it, with a badge.
    reader = contexts().new_page()
    console.watch(reader, "reader")
    reader.goto(ARTICLE_URL)
    reader.locator("#body").fill(BODY)
    reader.locator("#name").fill("Camille")
    reader.locator("#email").fill("camille@example.fr")
    reader.get_by_role("button", name="Publier le commentaire").click()
    own = reader.locator("li.comment", has_text=BODY)
    # Held at once, or after the page's own polling if scoring took longer than the wait.
    expect(own.locator(".comment__status")).to_have_text(
        re.compile("en attente de modération", re.IGNORECASE)
    )
    comment = _the_comment()
    assert comment.status == CommentStatus.HELD, comment.status

    stranger = contexts().new_page()
    console.watch(stranger, "stranger")
    stranger.goto(ARTICLE_URL)
    expect(stranger.get_by_role("heading", name="Votre commentaire")).to_be_visible()
    expect(stranger.get_by_text("Quelle merde")).to_have_count(0)

    # The moderator: keyboard alone, from the sign-in page to the decision.
    staff = contexts().new_page()
    console.watch(staff, "moderator")
    staff.goto(f"/compte/connexion?next={QUEUE_URL}")
    _tab_to(staff, "email")
    staff.keyboard.type(MODERATOR_EMAIL)
    staff.keyboard.press("Tab")
    expect(staff.locator("#password")).to_be_focused()
    staff.keyboard.type(MODERATOR_PASSWORD)
    staff.keyboard.press("Enter")
    expect(staff).to_have_url(re.compile(re.escape(QUEUE_URL) + "$"))

    card = staff.locator(f"article.card[data-comment='{comment.id}']")
    expect(card).to_contain_text(BODY)
    expect(staff.locator("article.card[data-comment]")).to_have_count(1)
    # The switch is shown by moderation.js itself: once visible, the shortcuts listen. (The
    # script is deferred; a key pressed before it ran was lost, once in CI.)
    expect(staff.locator(".js-shortcuts")).to_be_visible()
    staff.keyboard.press("j")
    expect(card).to_be_focused()
    expect(card).to_have_class(re.compile(r"\bcard--current\b"))
    staff.keyboard.press("a")
    expect(card).to_have_class(re.compile(r"\bcard--done\b"))
    expect(card.get_by_role("status")).to_have_text(
        f"Commentaire n° {comment.id} approuvé et publié."
    )

    # Another visitor now reads it on the article page.
    visitor = contexts().new_page()
    console.watch(visitor, "visitor")
    visitor.goto(ARTICLE_URL)
    published = visitor.locator(f"#c{comment.id}")
    expect(published.locator(".comment__body")).to_have_text(BODY)
    expect(published.locator(".comment__status")).to_have_count(0)
    expect(visitor.locator(".comments__count")).to_have_text("1 commentaire")

    # And the database agrees, with the moderator named in the audit trail.
    comment = _the_comment()
    assert comment.status == CommentStatus.PUBLISHED
    approvals = db.session.scalars(
        sa.select(ModerationAction).where(
            ModerationAction.comment_id == comment.id, ModerationAction.action == "approved"
        )
    ).all()
    assert [(a.actor_id, a.from_status, a.to_status) for a in approvals] == [
        (moderator.id, CommentStatus.HELD, CommentStatus.PUBLISHED)
    ]
    assert console.errors == []


def _the_comment() -> Comment:
    db.session.expire_all()  # the server's requests committed in their own sessions
    comments = db.session.scalars(sa.select(Comment)).all()
    assert len(comments) == 1, comments
    return comments[0]


def _tab_to(page: Any, element_id: str, most: int = 40) -> None:
    """Tab from the top of the page until the element with this id has the focus."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    pytest.fail(f"#{element_id} cannot be reached with Tab on {page.url}")


def test_single_key_shortcuts_can_be_turned_off_and_it_is_remembered(
    app: Flask, contexts: Any
) -> None:
    """WCAG 2.1.4: the switch turns `j`/`a`/… off, the choice survives a reload, and turned on
    again `a` approves, the card then reading « publié » rather than « à modérer »."""
    from playwright.sync_api import expect

    from tests.moderation.conftest import held

    make_user(email=MODERATOR_EMAIL, password=MODERATOR_PASSWORD, role=Role.MODERATOR)
    comment = held(db.session.scalar(sa.select(Article)), "Quel idiot ce ministre")
    console = Console()
    staff = contexts().new_page()
    console.watch(staff, "moderator")
    staff.goto(f"/compte/connexion?next={QUEUE_URL}")
    staff.locator("#email").fill(MODERATOR_EMAIL)
    staff.locator("#password").fill(MODERATOR_PASSWORD)
    staff.locator("#password").press("Enter")
    expect(staff).to_have_url(re.compile(re.escape(QUEUE_URL) + "$"))

    switch = staff.locator(".js-shortcuts")
    expect(switch).to_have_text("Raccourcis clavier : activés")  # on by default
    expect(switch).to_have_attribute("aria-pressed", "true")
    switch.click()
    expect(switch).to_have_text("Raccourcis clavier : désactivés")
    expect(switch).to_have_attribute("aria-pressed", "false")

    card = staff.locator(f"article.card[data-comment='{comment.id}']")
    staff.reload()
    expect(switch).to_have_text("Raccourcis clavier : désactivés")  # remembered
    staff.locator("h1").click()  # the focus on the page, not on a button
    staff.keyboard.press("j")
    staff.keyboard.press("a")
    expect(card).not_to_have_class(re.compile(r"\bcard--current\b"))
    staff.wait_for_timeout(500)  # time for a request that must not be sent
    expect(card).not_to_have_class(re.compile(r"\bcard--done\b"))
    assert _the_comment().status == CommentStatus.HELD

    switch.click()
    expect(switch).to_have_text("Raccourcis clavier : activés")
    staff.locator("h1").click()
    staff.keyboard.press("j")
    staff.keyboard.press("a")
    expect(card).to_have_class(re.compile(r"\bcard--done\b"))
    expect(card.locator(".card__title")).to_contain_text("publié")
    expect(card.locator(".card__title")).not_to_contain_text("à modérer")
    assert _the_comment().status == CommentStatus.PUBLISHED
    assert console.errors == []
