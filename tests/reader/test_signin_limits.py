"""Sign-in and sign-up against guessing: limits per account and per address (behind a proxy
too), and an unknown address that costs as much as a wrong password."""

from __future__ import annotations

import logging

import pytest

from app.models import Role
from app.services import accounts
from tests.conftest import csrf_token, login, make_user

STAFF = "chef@example.fr"


def _from(app, address: str, forwarded_for: str | None = None):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


@pytest.fixture
def verifications(monkeypatch):
    """The hash method (with its parameters) of every password verification."""
    seen: list[str] = []
    real = accounts.check_password_hash

    def counting(pwhash: str, password: str) -> bool:
        seen.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", counting)
    return seen


def test_an_unknown_address_costs_the_same_verification_as_a_wrong_password(app, verifications):
    user = make_user(email="connu@example.fr")
    method = user.password_hash.split("$", 1)[0]  # e.g. scrypt:32768:8:1
    assert login(app.test_client(), "connu@example.fr", "mauvais-mot-de-passe").status_code == 422
    assert login(app.test_client(), "inconnu@example.fr", "mauvais-mot-de-passe").status_code == 422
    assert verifications == [method, method]


def test_a_deactivated_account_costs_the_same_too(app, verifications):
    user = make_user(email="off@example.fr")
    accounts.deactivate("off@example.fr")
    assert login(app.test_client(), "off@example.fr").status_code == 422
    assert verifications == [user.password_hash.split("$", 1)[0]]


def test_sign_in_is_limited_per_account_whatever_the_address(app):
    make_user(email=STAFF, role=Role.ADMIN)
    for i in range(10):  # ten guesses, each from another address
        assert login(_from(app, f"203.0.113.{i}"), STAFF, f"devine-{i}").status_code == 422
    response = login(_from(app, "198.51.100.9"), STAFF)
    assert response.status_code == 429
    assert "Trop de tentatives en peu de temps" in response.get_data(as_text=True)
    # Other accounts are not affected.
    make_user(email="autre@example.fr")
    assert login(_from(app, "198.51.100.9"), "autre@example.fr").status_code == 303


@pytest.mark.parametrize("config_overrides", [{"TRUSTED_PROXIES": 1}])
def test_behind_a_proxy_one_blocked_address_does_not_block_staff(app):
    make_user(email=STAFF, role=Role.MODERATOR)
    attacker = _from(app, "127.0.0.1", forwarded_for="203.0.113.66")
    for i in range(10):  # ten accounts guessed from one address
        login(attacker, f"cible{i}@example.fr", "devine")
    assert login(attacker, "cible99@example.fr", "devine").status_code == 429
    staff = _from(app, "127.0.0.1", forwarded_for="198.51.100.20")
    assert login(staff, STAFF).status_code == 303


def test_failed_sign_ins_log_no_address(app, caplog):
    with caplog.at_level(logging.WARNING):
        login(app.test_client(), "secret.person@example.fr", "mauvais-mot-de-passe")
    assert "failed sign-in" in caplog.text
    assert "secret.person" not in caplog.text


@pytest.mark.parametrize("config_overrides", [{"SIGNUP_RATE_LIMIT": "2 per hour"}])
def test_sign_up_is_rate_limited_per_address(app):
    def sign_up(n: int):
        client = app.test_client()
        return client.post(
            "/compte/inscription",
            data={
                "csrf_token": csrf_token(client, "/compte/inscription"),
                "display_name": f"Lecteur {n}",
                "email": f"lecteur{n}@example.fr",
                "password": "un-mot-de-passe-long",
                "confirm": "un-mot-de-passe-long",
            },
        )

    assert sign_up(1).status_code == 303
    assert sign_up(2).status_code == 303
    refused = sign_up(3)
    assert refused.status_code == 429
    assert "Trop de tentatives en peu de temps" in refused.get_data(as_text=True)
    assert accounts.find_by_email("lecteur3@example.fr") is None


def test_only_failed_sign_ins_count_against_the_account(app):
    """A right password gives its attempt back: staff who sign in often are never locked out
    by their own sign-ins, and nine guesses plus the owner's sign-in leave one guess."""
    make_user(email=STAFF, role=Role.MODERATOR)
    for i in range(12):  # more sign-ins than the limit, each from another address
        assert login(_from(app, f"192.0.2.{i}"), STAFF).status_code == 303
    for i in range(9):
        assert login(_from(app, f"203.0.113.{i}"), STAFF, "devine").status_code == 422
    assert login(_from(app, "198.51.100.1"), STAFF).status_code == 303
    assert login(_from(app, "203.0.113.50"), STAFF, "devine").status_code == 422  # the tenth
    assert login(_from(app, "198.51.100.2"), STAFF).status_code == 429


def test_quotas_keep_no_address_in_the_rate_limit_storage(app, reader):
    """Sign-in and posting quotas are keyed by a keyed hash of the address typed."""
    from app.extensions import limiter

    make_user(email=STAFF, role=Role.MODERATOR)
    login(app.test_client(), STAFF, "devine")
    assert reader.post(body="Bonjour", name="Zoé", email="zoe.secret@example.fr").status_code == 303
    keys = " ".join(str(key) for key in limiter.storage.storage)  # the memory storage's keys
    assert "sign-in" in keys and "post" in keys
    assert "chef" not in keys and "zoe.secret" not in keys
