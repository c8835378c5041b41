"""Ten simultaneous sign-ups with one address, against a real threaded server: one account,
nine clear refusals on the address field, no error page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import User
from tests.conftest import CSRF_RE, LiveBrowser, simultaneously

TAKEN = "Un compte existe déjà avec cette adresse de messagerie."
READERS = 10
SIGN_UP = "/compte/inscription"


@pytest.fixture
def config_overrides():
    return {"SIGNUP_RATE_LIMIT": "1000 per hour"}


def test_simultaneous_sign_ups_with_one_address_make_one_account(app, live_server):
    def prepared(n: int):
        browser = LiveBrowser(live_server)
        token = CSRF_RE.search(browser.request(SIGN_UP).text).group(1)  # type: ignore[union-attr]
        form = {
            "csrf_token": token,
            "display_name": f"Jeanne {n}",
            "email": "jeanne@example.fr",
            "password": "un-mot-de-passe-long",
            "confirm": "un-mot-de-passe-long",
        }
        return lambda: browser.request(SIGN_UP, form)

    answers = simultaneously([prepared(n) for n in range(READERS)])  # all ten send at once

    assert sorted(answer.status for answer in answers) == [303] + [422] * (READERS - 1)
    assert all(TAKEN in answer.text for answer in answers if answer.status == 422)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
