"""Rate-limit storage (Redis) down: readers still post and sign in, and the limits hold in
each process meanwhile, instead of every post ending on an error page."""

from __future__ import annotations

import logging

import pytest

from app.models import Role
from tests.conftest import comments_in_db, login, make_user

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.mark.parametrize(
    "config_overrides",
    [{"RATELIMIT_STORAGE_URI": DEAD_REDIS, "COMMENT_RATE_LIMIT": "2 per minute"}],
)
def test_posting_works_and_stays_limited_while_redis_is_down(app, reader, caplog):
    with caplog.at_level(logging.WARNING):
        first = reader.post(body="Premier avis", name="Zoé", email="zoe@example.fr")
        second = reader.post(body="Deuxième avis", name="Zoé", email="zoe@example.fr")
        third = reader.post(body="Troisième avis", name="Zoé", email="zoe@example.fr")
    assert (first.status_code, second.status_code, third.status_code) == (303, 303, 429)
    assert "trop de commentaires" in third.get_data(as_text=True)
    assert len(comments_in_db()) == 2
    assert "rate-limit storage unavailable" in caplog.text
    assert "zoe@example.fr" not in caplog.text


@pytest.mark.parametrize("config_overrides", [{"RATELIMIT_STORAGE_URI": DEAD_REDIS}])
def test_signing_in_works_while_redis_is_down(app):
    make_user(email="chef@example.fr", role=Role.MODERATOR)
    assert login(app.test_client(), "chef@example.fr", "devine").status_code == 422
    assert login(app.test_client(), "chef@example.fr").status_code == 303
