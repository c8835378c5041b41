"""« Avertir » in Chromium: a warned guest posts in the embed (on another origin) and
is shown the moderation's message above the form, answers « J’ai compris », and it goes; a
warned signed-in reader sees it on our own article page, without JavaScript errors, and axe
finds no serious violation in the notice, in the page or inside the embed's shadow root."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Article, ReaderWarning, Role, Site, User
from app.services import readers, warnings
from tests.conftest import ARTICLE_URL, make_user
from tests.e2e.embed_host import HostSite
from tests.e2e.test_accessibility import axe_path, embed_violations, severe_violations
from tests.e2e.test_embed import STORY_PATH, TITLE, Watch, _post, host, journal
from tests.e2e.test_embed import readers as browsers

pytestmark = pytest.mark.browser
__all__ = ["axe_path", "browsers", "host", "journal"]  # fixtures, used by name

MESSAGE = "Restez sur le sujet de l’article, s’il vous plaît."


def _warn(reader: readers.Reader) -> ReaderWarning:
    moderator = make_user("modo@example.fr", display_name="Modo", role=Role.MODERATOR)
    return warnings.warn(reader, "hors_sujet", MESSAGE, moderator).warning


def _acknowledged(warning_id: int) -> bool:
    db.session.expire_all()
    found = db.session.get(ReaderWarning, warning_id)
    return found is not None and found.acknowledged_at is not None


def test_a_warned_guest_sees_the_notice_in_the_embed_and_acknowledges_it(
    app: Flask, journal: Site, host: HostSite, browsers: Any, axe_path: Any
) -> None:
    from playwright.sync_api import expect

    warning = _warn(readers.Reader.of("camille@example.fr"))
    watch = Watch()
    url = host.add(STORY_PATH, TITLE)
    guest = watch.page(browsers(bypass_csp=True), "guest")  # (axe is an inline script)
    guest.goto(url)
    expect(guest.get_by_role("heading", name="Votre commentaire")).to_be_visible()
    notice = guest.locator(".warning-notice")
    expect(notice).to_have_count(0)  # a plain visit: nothing

    _post(guest, "Un pont bien utile pour tout le quartier.")
    expect(notice).to_be_visible()
    expect(notice.get_by_role("heading", name="Un message de la modération")).to_be_visible()
    expect(notice).to_contain_text("Motif : hors sujet")
    expect(notice).to_contain_text(MESSAGE)
    assert embed_violations(guest, axe_path, "warned") == []

    notice.get_by_role("button", name="J’ai compris").click()
    expect(notice).to_have_count(0)
    expect(guest.locator(".outcome")).to_have_text("Merci : ce message ne vous sera plus montré.")
    assert _acknowledged(warning.id)
    _post(guest, "Et les cyclistes y ont enfin leur voie.", name=None)
    expect(guest.locator(".outcome")).to_have_text("Merci ! Votre commentaire est publié.")
    expect(notice).to_have_count(0)
    assert watch.problems() == []


def test_a_warned_reader_sees_the_notice_on_the_article_page(
    app: Flask, live_server: str, browser: Any, axe_path: Any
) -> None:
    from playwright.sync_api import expect

    zoe = make_user("zoe@example.fr", display_name="Zoé")
    warning = _warn(readers.Reader.of(zoe.email, zoe.id))
    context = browser.new_context(base_url=live_server, locale="fr-FR", bypass_csp=True)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto("/compte/connexion")
        page.locator("#email").fill(zoe.email)
        page.locator("#password").fill("motdepasse-solide")
        page.locator("#password").press("Enter")
        expect(page.locator(".account-nav__who")).to_be_visible()
        page.goto(ARTICLE_URL)
        notice = page.get_by_role("alert").filter(has_text="Un message de la modération")
        expect(notice).to_be_visible()
        expect(notice).to_contain_text(MESSAGE)
        assert severe_violations(page, axe_path) == []
        notice.get_by_role("button", name="J’ai compris").click()
        expect(page.get_by_text("Merci : ce message ne vous sera plus montré.")).to_be_visible()
        expect(page.get_by_text("Un message de la modération")).to_have_count(0)
        assert _acknowledged(warning.id)
        assert errors == []
    finally:
        context.close()
    assert db.session.scalar(sa.select(User.id).where(User.email == zoe.email)) == zoe.id


def test_a_moderator_warns_from_the_card_in_the_browser(
    app: Flask, live_server: str, browser: Any, axe_path: Any
) -> None:
    from playwright.sync_api import expect

    from tests.conftest import add_comment
    from tests.e2e.pages import MODERATOR_EMAIL, sign_in

    make_user(MODERATOR_EMAIL, display_name="Modo", role=Role.MODERATOR)
    story = db.session.scalar(sa.select(Article).limit(1))
    assert story is not None
    comment = add_comment(story, "Hors sujet total", author_email="camille@example.fr")
    context = browser.new_context(base_url=live_server, locale="fr-FR", bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(page, Role.MODERATOR)
        page.goto(f"/moderation/commentaires/{comment.id}")
        page.get_by_text("Avertir l’auteur").click()
        page.get_by_label("Motif de l’avertissement").select_option("hors_sujet")
        page.get_by_label("Message au lecteur (en français)").fill(MESSAGE)
        page.get_by_role("button", name="Avertir", exact=True).click()
        expect(page.get_by_text("Avertissement enregistré et envoyé par courriel")).to_be_visible()
        page.goto("/moderation/lecteurs?email=camille@example.fr")
        expect(page.get_by_role("heading", name="1 avertissement")).to_be_visible()
        expect(page.get_by_text(MESSAGE)).to_be_visible()
        assert severe_violations(page, axe_path) == []
    finally:
        context.close()
    [warning] = db.session.scalars(sa.select(ReaderWarning)).all()
    assert (warning.email, warning.comment_id, warning.reason) == (
        "camille@example.fr",
        comment.id,
        "hors_sujet",
    )
