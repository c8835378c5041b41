"""COMMENT_RATE_LIMIT: past it, a 429 in French that says when to post again."""

from __future__ import annotations

import re

import pytest

from tests.conftest import comments_in_db, login, make_user


@pytest.fixture
def config_overrides():
    return {"COMMENT_RATE_LIMIT": "3 per minute"}


def test_guest_past_the_limit_gets_429_in_french(reader):
    for i in range(3):
        assert reader.post(body=f"Commentaire {i}").status_code == 303
    response = reader.post(body="Un de trop")
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Vous avez envoyé trop de commentaires en peu de temps" in page
    wait = int(re.search(r"à nouveau dans (\d+) seconde", page).group(1))
    assert 1 <= wait <= 60
    assert abs(int(response.headers["Retry-After"]) - wait) <= 1
    assert "Un de trop" in page  # the text is given back
    assert len(comments_in_db()) == 3


def test_refused_submissions_do_not_count(reader):
    for _ in range(5):
        assert reader.post(body="").status_code == 422
    assert reader.post(body="Enfin valide").status_code == 303


def test_the_same_address_cannot_dodge_the_limit_with_new_emails(reader):
    for i in range(3):
        assert reader.post(body=f"c{i}", email=f"user{i}@example.fr").status_code == 303
    assert reader.post(body="c4", email="user4@example.fr").status_code == 429


def test_a_signed_in_reader_is_limited_by_account(app, reader):
    make_user(email="r@example.fr")
    login(reader.client, "r@example.fr")
    for i in range(3):
        assert reader.post(body=f"c{i}", name=None, email=None).status_code == 303
    assert reader.post(body="c4", name=None, email=None).status_code == 429


@pytest.mark.parametrize(
    "config_overrides", [{"COMMENT_RATE_LIMIT": "3 per minute", "RATELIMIT_ENABLED": False}]
)
def test_rate_limiting_switched_off_counts_nothing(reader):
    """RATELIMIT_ENABLED=false (Flask-Limiter's switch, for benchmarks) turns the quotas off
    too, instead of a 500 from a storage Flask-Limiter never opened."""
    for i in range(5):
        assert reader.post(body=f"Commentaire {i}").status_code == 303
    assert len(comments_in_db()) == 5
