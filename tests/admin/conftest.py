from __future__ import annotations

import pytest

from app.models import Role
from tests.conftest import CSRF_RE, login, make_user


@pytest.fixture
def admin_user(app):
    return make_user(email="chef@example.fr", display_name="Chef Claire", role=Role.ADMIN)


@pytest.fixture
def admin_client(app, admin_user):
    client = app.test_client()
    login(client, admin_user.email)
    return client


def post_form(client, url, data):
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": CSRF_RE.search(page).group(1), **data})


def threshold_form(overrides=None, action="enregistrer"):
    from app.services.settings import DEFAULT_THRESHOLDS

    data = {"action": action}
    for category, values in DEFAULT_THRESHOLDS.items():
        data[f"{category}-enabled"] = "on"
        for name, value in values.items():
            data[f"{category}-{name}"] = str(value)
    data.update(overrides or {})
    return {k: v for k, v in data.items() if v is not None}
