"""« Réglages » › « Clients de l’API », as an admin uses it: create a client and see its key once,
rotate its Coral secret, revoke it, read its usage and its errors; hostile input refused with
the field named; moderators kept out."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiClient, Role, SettingChange
from app.services import clients
from tests.admin.conftest import post_form
from tests.conftest import CSRF_RE, login, make_user

PAGE = "/admin/clients"
KEY_RE = re.compile(r'value="(mod_[A-Za-z0-9_-]{43})"')


@pytest.fixture
def config_overrides():
    return {"API_USAGE_FLUSH_SECONDS": 0}


def _row(name):
    db.session.expire_all()
    return db.session.scalar(select(ApiClient).where(ApiClient.name == name))


def _create(admin_client, **fields):
    data = {"name": "cms-ouest", "quota-count": "20", "quota-period": "second", **fields}
    return post_form(admin_client, PAGE, data)


def _post_row(admin_client, name, action, data):
    page = admin_client.get(PAGE).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    return admin_client.post(f"{PAGE}/{name}/{action}", data={"csrf_token": token, **data})


def test_the_page_is_in_the_admin_nav(admin_client):
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert f'href="{PAGE}"' in page and "Clients de l’API" in page


def test_a_new_key_is_shown_once_on_the_answer_and_works(admin_client, client):
    response = _create(admin_client, coral_secret="  ss_coral-secret  ")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    key = KEY_RE.search(page).group(1)
    assert "elle ne sera plus jamais affichée" in page
    assert f"Authorization: Bearer {key}" in page
    row = _row("cms-ouest")
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert (row.quota, row.coral_secret, row.created_by) == (
        "20 per second", "ss_coral-secret", "Chef Claire",
    )  # fmt: skip
    # never again: not on the list, not in a flash carried to the next page
    later = admin_client.get(PAGE).get_data(as_text=True)
    assert key not in later and "ss_coral-secret" not in later
    assert "20 par seconde" in later and f"{key[:12]}…" in later
    assert "Secret Coral : défini" in later
    # the key works at once
    answer = client.post("/api/v1/score", json={"text": "Un avis."},
                         headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert answer.status_code == 200


def test_usage_and_the_last_error_are_shown(admin_client, client):
    key = KEY_RE.search(_create(admin_client).get_data(as_text=True)).group(1)
    headers = {"Authorization": f"Bearer {key}"}
    for body in ({"text": "Un avis."}, {"text": "Un autre."}, {"texts": []}):
        client.post("/api/v1/score", json=body, headers=headers)
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "aujourd’hui : 3, dont 1 en erreur" in page
    assert "7 jours : 3, dont 1 en erreur" in page
    assert "<code>invalid_field</code> (422)" in page
    assert "dernier appel :" in page


def test_revoke_needs_the_confirmation_then_refuses_the_key_at_once(admin_client, client):
    key = KEY_RE.search(_create(admin_client).get_data(as_text=True)).group(1)
    unconfirmed = _post_row(admin_client, "cms-ouest", "revoquer", {})
    assert unconfirmed.status_code == 422
    assert "Cochez « Je confirme »" in unconfirmed.get_data(as_text=True)
    assert _row("cms-ouest").revoked_at is None
    done = _post_row(admin_client, "cms-ouest", "revoquer", {"confirm": "on"})
    assert done.status_code == 303
    assert _row("cms-ouest").revoked_at is not None
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "révoqué : sa clé est refusée dès maintenant" in page
    assert "révoqué le" in page and "Révoquer la clé" not in page
    answer = client.post("/api/v1/score", json={"text": "Un avis."},
                         headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    assert answer.status_code == 403
    assert _post_row(admin_client, "cms-ouest", "revoquer", {"confirm": "on"}).status_code == 422
    actors = [c.actor for c in db.session.scalars(select(SettingChange))]
    assert actors == ["Chef Claire", "Chef Claire"]


def test_the_coral_secret_is_set_then_replaced_and_never_shown(admin_client):
    _create(admin_client)
    assert "Secret Coral : aucun" in admin_client.get(PAGE).get_data(as_text=True)
    first = _post_row(admin_client, "cms-ouest", "secret-coral", {"coral_secret": "ss_premier"})
    assert first.status_code == 303 and _row("cms-ouest").coral_secret == "ss_premier"
    second = _post_row(admin_client, "cms-ouest", "secret-coral", {"coral_secret": "ss_second"})
    assert second.status_code == 303 and _row("cms-ouest").coral_secret == "ss_second"
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "ss_premier" not in page and "ss_second" not in page
    assert "Remplacer le secret Coral" in page
    history = admin_client.get("/admin/historique").get_data(as_text=True)
    assert "nouveau secret Coral" in history and "ss_second" not in history
    assert "actif · quota 20 par seconde" in history
    empty = _post_row(admin_client, "cms-ouest", "secret-coral", {"coral_secret": "   "})
    assert empty.status_code == 422 and "Le secret Coral est vide." in empty.get_data(as_text=True)
    assert _row("cms-ouest").coral_secret == "ss_second"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "Pas un slug!"}, "name", "Nom invalide"),
        ({"name": "<script>alert(1)</script>"}, "name", "Nom invalide"),
        ({"name": "a" * 65}, "name", "Nom invalide"),
        ({"name": ""}, "name", "Nom invalide"),
        ({"quota-count": "0"}, "quota", "Quota : indiquez"),
        ({"quota-count": "-5"}, "quota", "Quota : indiquez"),
        ({"quota-count": "1e9"}, "quota", "Quota : indiquez"),
        ({"quota-count": "100001"}, "quota", "Quota : indiquez"),
        ({"quota-period": "fortnight"}, "quota", "Quota : indiquez"),
        ({"quota-period": "second; 1 per day"}, "quota", "Quota : indiquez"),
        ({"coral_secret": "a\x00b"}, "coral_secret", "Secret Coral invalide"),
        ({"coral_secret": "s" * 501}, "coral_secret", "Secret Coral invalide"),
    ],
)
def test_hostile_input_is_a_422_naming_the_field(admin_client, fields, field, message):
    response = _create(admin_client, **fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-erreur"' in page and message in page
    assert "<script>alert(1)</script>" not in page
    assert db.session.scalar(select(ApiClient)) is None


def test_a_taken_name_is_refused(admin_client):
    _create(admin_client)
    response = _create(admin_client)
    assert response.status_code == 422
    assert "Un client porte déjà ce nom." in response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["inconnu", "%00", "CMS-OUEST", "x" * 5000])
def test_an_unknown_client_is_a_404(admin_client, name):
    _create(admin_client)
    response = _post_row(admin_client, name, "revoquer", {"confirm": "on"})
    assert response.status_code == 404
    assert _row("cms-ouest").revoked_at is None


def test_a_moderator_is_refused_everywhere(app):
    clients.create("cms-ouest")
    make_user(email="mod@example.fr", display_name="Modé", role=Role.MODERATOR)
    moderator = app.test_client()
    login(moderator, "mod@example.fr")
    token = CSRF_RE.search(moderator.get("/moderation/file/a-moderer").get_data(as_text=True))
    data = {"csrf_token": token.group(1), "confirm": "on", "name": "pirate"}
    assert moderator.get(PAGE).status_code == 403
    assert moderator.post(PAGE, data=data).status_code == 403
    assert moderator.post(f"{PAGE}/cms-ouest/revoquer", data=data).status_code == 403
    assert moderator.post(f"{PAGE}/cms-ouest/secret-coral", data=data).status_code == 403
    assert _row("cms-ouest").revoked_at is None and _row("pirate") is None


def test_the_page_in_english(admin_client):
    _create(admin_client)
    page = admin_client.get(f"{PAGE}?lang=en").get_data(as_text=True)
    assert "API clients" in page and "20 per second" in page
