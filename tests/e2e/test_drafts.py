"""The nudge before sending, in Chromium: the draft is scored while the reader pauses typing,
the nudge shows under the text before they click, and the send reuses that score (no second
model call, counted on the model itself)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Comment, CommentStatus, Site
from tests.conftest import ARTICLE_URL
from tests.e2e.embed_host import HostSite
from tests.e2e.test_embed import STORY_PATH, TITLE, Watch, host, journal, readers
from tests.scorers import SpyScorer

pytestmark = pytest.mark.browser
__all__ = ["host", "journal", "readers"]  # fixtures, used by name


@pytest.fixture
def scorer(tiny_scorer: Any) -> SpyScorer:
    return SpyScorer(tiny_scorer)


def test_the_nudge_shows_before_sending_and_the_send_reuses_the_score(
    app: Flask, live_server: str, browser: Any, scorer: SpyScorer
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server, locale="fr-FR")
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(ARTICLE_URL)
        form = page.locator("form#formulaire")
        form.get_by_label("Nom").fill("Camille")
        form.get_by_label("Adresse de messagerie").fill("camille@example.fr")
        body = form.get_by_label("Commentaire")
        box = form.locator(".draft-nudge")
        body.press_sequentially("Un avis posé sur le pont.", delay=15)
        page.wait_for_timeout(1200)  # a pause: the draft is scored, and nothing is said
        expect(box).to_be_hidden()
        body.fill("")
        body.press_sequentially("Quel idiot, ce ministre.", delay=15)
        expect(box).to_be_visible()  # before any click
        expect(box).to_contain_text("Avant d’envoyer votre commentaire")
        expect(box).to_contain_text("insultes")
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0
        calls = list(scorer.calls)
        assert 1 <= len(calls) <= 3  # one per pause, at most one in flight

        form.get_by_role("button", name="Publier le commentaire").click()
        heading = page.get_by_role("heading", name="Avant d’envoyer votre commentaire…")
        expect(heading).to_be_visible()
        assert scorer.calls == calls  # the send took no model call
        db.session.expire_all()
        assert db.session.scalar(sa.select(Comment.status)) == CommentStatus.NUDGED
        assert errors == []
    finally:
        context.close()


def test_the_embed_shows_the_nudge_before_sending_and_reuses_the_score(
    app: Flask, journal: Site, host: HostSite, readers: Any, scorer: SpyScorer
) -> None:
    from playwright.sync_api import expect

    watch = Watch()
    guest = watch.page(readers(), "guest")
    guest.goto(host.add(STORY_PATH, TITLE))
    expect(guest.get_by_role("heading", name="Votre commentaire")).to_be_visible()
    box = guest.locator(".draft-nudge")
    guest.get_by_label("Commentaire", exact=True).press_sequentially(
        "Quel idiot, ce ministre.", delay=15
    )
    expect(box).to_be_visible()  # on the newsroom's page, before any click
    expect(box).to_contain_text("insultes")
    calls = list(scorer.calls)
    assert calls
    guest.get_by_label("Nom").fill("Camille")
    guest.get_by_label("Adresse de messagerie").fill("camille@example.fr")
    guest.get_by_role("button", name="Publier le commentaire").click()
    expect(guest.get_by_role("heading", name="Avant d’envoyer votre commentaire…")).to_be_visible()
    assert scorer.calls == calls  # the post took no model call
    db.session.expire_all()
    assert db.session.scalar(sa.select(Comment.status)) == CommentStatus.NUDGED
    assert watch.problems() == []
