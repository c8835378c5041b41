"""Limits that hold under simultaneous requests, against a real threaded server: a burst from
one account stores no more than COMMENT_RATE_LIMIT; a guest's double click stores once."""

from __future__ import annotations

import os
import uuid

import pytest

from app.models import CommentStatus
from app.services import settings
from tests.conftest import (
    ARTICLE_URL,
    POST_URL,
    LiveBrowser,
    comments_in_db,
    make_user,
    simultaneously,
)

BURST = 20

# Redis counters in a database of these tests' own, one per xdist worker, under a fresh prefix.
REDIS_DB = 11 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0) % 5


@pytest.fixture(params=["memory", "redis"])
def config_overrides(request):
    overrides = {"COMMENT_RATE_LIMIT": "5 per minute"}
    if request.param == "redis":
        overrides.update(
            RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:6379/{REDIS_DB}",
            RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        )
    return overrides


def _signed_in(base_url: str, email: str) -> LiveBrowser:
    browser = LiveBrowser(base_url)
    fields = browser.form("/compte/connexion")
    answer = browser.request(
        "/compte/connexion", {**fields, "email": email, "password": "motdepasse-solide"}
    )
    assert answer.status in (302, 303)
    return browser


def test_a_burst_from_one_account_stores_no_more_than_the_limit(app, live_server):
    make_user(email="rafale@example.fr")
    browser = _signed_in(live_server, "rafale@example.fr")
    posts = []
    for i in range(BURST):
        fields = browser.form()  # each post from its own page: its own form token

        def post(fields=fields, i=i):
            return browser.clone().request(POST_URL, {**fields, "body": f"Avis numéro {i}"})

        posts.append(post)

    answers = simultaneously(posts)

    statuses = sorted(a.status for a in answers)
    assert statuses == [303] * 5 + [429] * (BURST - 5)
    assert len(comments_in_db()) == 5
    refused = next(a for a in answers if a.status == 429)
    assert "Vous avez envoyé trop de commentaires en peu de temps" in refused.text
    assert int(refused.headers["Retry-After"]) >= 1


def test_a_guests_double_click_stores_once_and_costs_one_post(app, live_server):
    settings.set_value("nudge_enabled", False)
    browser = LiveBrowser(live_server)  # a first visit: no guest token yet
    fields = browser.form()
    form = {**fields, "name": "Camille", "email": "camille@example.fr",
            "body": "Un seul avis, envoyé vingt fois, et puis merde.", "parent_id": ""}  # fmt: skip
    clicks = [browser.clone() for _ in range(BURST)]
    answers = simultaneously([lambda c=c: c.request(POST_URL, form) for c in clicks])

    [comment] = comments_in_db()
    assert comment.status == CommentStatus.HELD  # shown to its author only
    assert [a.status for a in answers] == [303] * BURST
    assert {a.headers["Location"] for a in answers} == {f"{ARTICLE_URL}#c{comment.id}"}
    # Whichever answer the browser kept, it is the author's: it sees its held comment.
    for click in clicks:
        assert "et puis merde" in click.request(ARTICLE_URL).text
    assert "et puis merde" not in LiveBrowser(live_server).request(ARTICLE_URL).text
    # The duplicates took nothing from the limit: four more comments still pass, then no more.
    later = [browser.request(POST_URL, {**browser.form(), **{k: form[k] for k in ("name",
             "email", "parent_id")}, "body": f"Suite {i}"}).status for i in range(5)]  # fmt: skip
    assert later == [303, 303, 303, 303, 429]
