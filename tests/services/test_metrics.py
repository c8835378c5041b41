"""/metrics: Prometheus text, for staff or a scraper with the bearer token (METRICS_TOKEN)."""

from __future__ import annotations

import pytest

from app.models import Role
from app.services import settings
from tests.conftest import login, make_user

TOKEN = "jeton-de-la-sonde-0123456789"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def config_overrides():
    return {"METRICS_TOKEN": TOKEN}


def test_metrics_count_batches_decisions_and_queue(app, client, reader):
    settings.set_value("nudge_enabled", False)
    reader.post(body="Très bien")
    reader.post(body="Espèce de connard", email="b@example.fr")
    response = client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert 'moderation_decisions_total{outcome="published"} 1.0' in text
    assert 'moderation_decisions_total{outcome="rejected"} 1.0' in text
    assert "moderation_scoring_batch_size_count 2.0" in text
    assert "moderation_scoring_seconds_count 2.0" in text
    assert "moderation_scoring_failures_total 0.0" in text
    assert "moderation_queue_depth 0.0" in text


def test_metrics_are_refused_to_remote_readers_but_not_to_staff(app):
    remote = {"REMOTE_ADDR": "203.0.113.7"}
    assert app.test_client().get("/metrics", environ_base=remote).status_code == 403
    make_user(email="m@example.fr", role=Role.MODERATOR)
    staff = app.test_client()
    login(staff, "m@example.fr")
    assert staff.get("/metrics", environ_base=remote).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},  # the loopback address alone opens nothing (behind a local proxy, everyone is it)
        {"Authorization": "Bearer un-autre-jeton"},
        {"Authorization": f"Basic {TOKEN}"},
        {"X-Forwarded-For": "127.0.0.1"},
    ],
)
def test_metrics_need_the_token_even_from_loopback(client, headers):
    response = client.get("/metrics", headers=headers)  # the test client is 127.0.0.1
    assert response.status_code == 403
    assert "moderation_queue_depth" not in response.get_data(as_text=True)


def test_the_token_opens_metrics_from_any_address(app):
    remote = {"REMOTE_ADDR": "203.0.113.7"}
    response = app.test_client().get("/metrics", headers=SCRAPER, environ_base=remote)
    assert response.status_code == 200


@pytest.mark.parametrize("config_overrides", [{"METRICS_TOKEN": ""}])
def test_no_token_configured_means_no_token_access(client):
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403
    assert client.get("/metrics").status_code == 403
