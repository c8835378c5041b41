"""Readers' accounts: sign up, sign in, sign out; passwords hashed, salted."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from tests.conftest import ARTICLE_URL, csrf_token, login, make_user


def _register(client, **fields):
    data = {
        "csrf_token": csrf_token(client, "/compte/inscription"),
        "display_name": "Jeanne",
        "email": "jeanne@example.fr",
        "password": "un-mot-de-passe-long",
        "confirm": "un-mot-de-passe-long",
    }
    data.update(fields)
    return client.post("/compte/inscription", data=data)


def test_sign_up_signs_in_and_hashes_the_password(client):
    response = _register(client)
    assert response.status_code == 303
    user = db.session.scalar(sa.select(User))
    assert user.email == "jeanne@example.fr"
    assert user.password_hash.startswith("scrypt:")
    assert "un-mot-de-passe-long" not in user.password_hash
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Vous publiez en tant que <strong><bdi>Jeanne</bdi></strong>" in page


def test_same_password_gets_different_salts(app):
    a = make_user(email="a@example.fr", password="identique-123")
    b = make_user(email="b@example.fr", password="identique-123")
    assert a.password_hash != b.password_hash


def test_sign_up_errors_are_french_and_named(client):
    make_user(email="jeanne@example.fr")
    page = _register(client, email="JEANNE@example.fr").get_data(as_text=True)
    assert "Un compte existe déjà avec cette adresse de messagerie." in page
    page = _register(client, email="x@example.fr", password="court", confirm="court").get_data(
        as_text=True
    )
    assert "Le mot de passe doit compter au moins 10 caractères." in page
    page = _register(client, email="y@example.fr", confirm="autre-chose-123").get_data(as_text=True)
    assert "Les deux mots de passe ne sont pas identiques." in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_sign_in_and_out(client):
    make_user(email="paul@example.fr", display_name="Paul")
    bad = login(client, "paul@example.fr", "mauvais-mot-de-passe")
    assert bad.status_code == 422
    assert "Adresse de messagerie ou mot de passe incorrect." in bad.get_data(as_text=True)
    assert login(client, "PAUL@example.fr").status_code == 303
    assert "Se déconnecter" in client.get(ARTICLE_URL).get_data(as_text=True)
    token = csrf_token(client)
    assert client.post("/compte/deconnexion", data={"csrf_token": token}).status_code == 303
    assert "Se connecter" in client.get(ARTICLE_URL).get_data(as_text=True)


def test_deactivated_account_cannot_sign_in(client):
    user = make_user(email="off@example.fr")
    user.active = False
    db.session.commit()
    assert login(client, "off@example.fr").status_code == 422


def test_next_only_follows_local_paths(client):
    make_user(email="n@example.fr")
    token = csrf_token(client, "/compte/connexion")
    response = client.post(
        "/compte/connexion?next=https://evil.example/",
        data={"csrf_token": token, "email": "n@example.fr", "password": "motdepasse-solide"},
    )
    assert response.headers["Location"] == "/"
