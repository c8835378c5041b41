"""Sessions: signing out, deactivation and a new password end every session of the account,
remember-me included; signing in starts afresh; the cookie carries no personal data."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from app.models import Role
from tests.conftest import ARTICLE_URL, csrf_token, login, make_user

STAFF = "moderatrice@example.fr"
SESSION = "session"
REMEMBER = "remember_token"
QUEUE = "/moderation/file/a-moderer"


def _sign_in(app, remember: bool = True):
    client = app.test_client()
    token = csrf_token(client, "/compte/connexion")
    data = {"csrf_token": token, "email": STAFF, "password": "motdepasse-solide"}
    if remember:
        data["remember"] = "y"
    assert client.post("/compte/connexion", data=data).status_code == 303
    assert client.get(QUEUE).status_code == 200
    return client


def _sign_out(client) -> None:
    token = csrf_token(client)
    assert client.post("/compte/deconnexion", data={"csrf_token": token}).status_code == 303


def _replay(app, **cookies: str):
    """A browser that only has copies of these cookies."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief.get(QUEUE)


def _cookies(client) -> dict[str, str]:
    return {name: client.get_cookie(name).value for name in (SESSION, REMEMBER)}


def _assert_signed_out(response) -> None:
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/compte/connexion")


@pytest.fixture
def staff(app):
    return make_user(email=STAFF, display_name="Modératrice", role=Role.MODERATOR)


def test_a_copied_session_or_remember_cookie_is_dead_after_sign_out(app, staff):
    client = _sign_in(app)
    copied = _cookies(client)
    assert _replay(app, **copied).status_code == 200  # the copies work while signed in...
    _sign_out(client)
    _assert_signed_out(client.get(QUEUE))
    _assert_signed_out(_replay(app, session=copied[SESSION]))  # ...not after
    _assert_signed_out(_replay(app, remember_token=copied[REMEMBER]))


def test_signing_out_ends_the_sessions_of_every_device(app, staff):
    laptop, phone = _sign_in(app), _sign_in(app)
    _sign_out(laptop)
    _assert_signed_out(phone.get(QUEUE))


@pytest.mark.parametrize(
    "command",
    [
        ["users", "deactivate", STAFF],
        ["users", "set-password", STAFF, "--password", "x" * 12],
        ["users", "set-role", STAFF, "admin"],
    ],
    ids=["deactivation", "new-password", "new-role"],
)
def test_deactivation_a_new_password_or_role_end_every_session(app, staff, command):
    client = _sign_in(app)
    copied = _cookies(client)
    result = app.test_cli_runner().invoke(args=command)
    assert result.exit_code == 0, result.output
    _assert_signed_out(client.get(QUEUE))
    _assert_signed_out(_replay(app, remember_token=copied[REMEMBER]))


def test_a_new_password_works_and_the_old_one_no_longer(app, staff):
    runner = app.test_cli_runner()
    runner.invoke(args=["users", "set-password", STAFF, "--password", "nouveau-mot-de-passe"])
    assert login(app.test_client(), STAFF).status_code == 422
    assert login(app.test_client(), STAFF, "nouveau-mot-de-passe").status_code == 303


def test_remember_me_lasts_30_days_and_stays_on_this_site(app, staff):
    client = app.test_client()
    token = csrf_token(client, "/compte/connexion")
    response = client.post(
        "/compte/connexion",
        data={
            "csrf_token": token,
            "email": STAFF,
            "password": "motdepasse-solide",
            "remember": "y",
        },
    )
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(REMEMBER))
    assert "SameSite=Lax" in header
    assert "HttpOnly" in header
    expires = client.get_cookie(REMEMBER).expires
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=5)


def test_remember_me_is_secure_with_https(app):
    from app.config import load_config

    config = load_config(
        str(app.instance_path),
        environ={"APP_ENV": "production", "SECRET_KEY": secrets.token_hex(32)},
    )
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)


HELD = "Quelle merde, cet article de guest"  # "merde": held for a moderator


def _session_data(app, client) -> dict:
    cookie = client.get_cookie(SESSION)
    return dict(app.session_interface.get_signing_serializer(app).loads(cookie.value))


def test_signing_in_starts_a_new_session_without_the_guests_comments(app, reader):
    make_user(email="lectrice@example.fr")
    assert reader.post(body=HELD).status_code == 303
    assert HELD in reader.client.get(ARTICLE_URL).get_data(as_text=True)  # the guest sees it
    guest_token = _session_data(app, reader.client)["guest_token"]
    assert login(reader.client, "lectrice@example.fr").status_code == 303
    signed_in = _session_data(app, reader.client)
    assert guest_token not in signed_in.values()
    assert "Lecteur Fidèle" not in repr(signed_in)  # the account's name, not even in a flash
    assert "lectrice@example.fr" not in repr(signed_in)
    assert HELD not in reader.client.get(ARTICLE_URL).get_data(as_text=True)


def test_after_signing_out_nothing_of_the_account_or_the_guest_remains(app, reader):
    make_user(email="lectrice@example.fr")
    assert reader.post(body=HELD).status_code == 303
    login(reader.client, "lectrice@example.fr")
    own = "Encore une merde, signée de mon compte"
    assert reader.post(body=own, name=None, email=None).status_code == 303
    assert own in reader.client.get(ARTICLE_URL).get_data(as_text=True)
    _sign_out(reader.client)
    page = reader.client.get(ARTICLE_URL).get_data(as_text=True)
    assert own not in page
    assert HELD not in page
    assert 'value="lectrice@example.fr"' not in page


def test_the_session_cookie_carries_no_name_or_address_yet_the_form_remembers_them(app, reader):
    assert reader.post(name="Camille Desmoulins", email="camille@example.fr").status_code == 303
    data = repr(_session_data(app, reader.client))
    assert "Camille" not in data
    assert "camille@example.fr" not in data
    allowed = {"guest_token", "_permanent", "_flashes", "_fresh", "csrf_token"}
    assert set(_session_data(app, reader.client)) <= allowed
    page = reader.client.get(ARTICLE_URL).get_data(as_text=True)
    assert 'value="Camille Desmoulins"' in page
    assert 'value="camille@example.fr"' in page
