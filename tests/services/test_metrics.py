"""/metrics: Prometheus text, for staff or a local scraper only."""

from __future__ import annotations

from app.models import Role
from app.services import settings
from tests.conftest import login, make_user


def test_metrics_count_batches_decisions_and_queue(app, client, reader):
    settings.set_value("nudge_enabled", False)
    reader.post(body="Très bien")
    reader.post(body="Espèce de connard", email="b@example.fr")
    response = client.get("/metrics")  # the test client comes from 127.0.0.1
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
