"""`clients.record_call`: every API endpoint's count of a client's calls and errors, exact under
concurrent requests and across processes, cheap (counted in memory, one upsert per client and
day), and never an error in the answer it counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app import create_app
from app.extensions import db
from app.models import ApiClient, ApiClientUsage, utcnow
from app.services import clients
from tests.conftest import make_config, simultaneously


@pytest.fixture
def config_overrides():
    return {"API_USAGE_FLUSH_SECONDS": 60}  # written only when flushed: the tests decide when


@pytest.fixture
def pair(app):
    first = clients.create("cms-ouest").client
    second = clients.create("coral-lemonde").client
    return first, second


def rows():
    db.session.expire_all()
    return {r.client_id: r for r in db.session.scalars(select(ApiClientUsage))}


def _calls(app, client, statuses):
    client_id = client.id  # read here: the test's session is not for threads

    def run():
        with app.app_context():
            found = db.session.get(ApiClient, client_id)
            for status, error in statuses:
                clients.record_call(found, status, error)
            db.session.remove()

    return run


def test_threads_count_exactly_and_wait_in_memory_until_flushed(app, pair):
    first, second = pair
    plan = [(200, None)] * 45 + [(429, "quota_exceeded")] * 5
    simultaneously([_calls(app, first, plan) for _ in range(8)] + [_calls(app, second, plan[:3])])
    assert rows() == {}  # nothing written yet: one write a minute in this test
    clients.flush_usage()
    found = rows()
    assert (found[first.id].calls, found[first.id].errors) == (400, 40)
    assert found[first.id].last_error == "quota_exceeded"
    assert found[first.id].last_error_status == 429
    assert (found[second.id].calls, found[second.id].errors) == (3, 0)
    assert found[second.id].last_error is None
    usage = clients.usage()
    assert (usage[first.id].calls_today, usage[first.id].errors_week) == (400, 40)


@pytest.mark.parametrize("config_overrides", [{"API_USAGE_FLUSH_SECONDS": 0}])
def test_two_processes_writing_at_once_add_up(app, pair, database_url, tmp_path, scorer):
    first, _second = pair
    other = create_app(
        make_config(database_url, str(tmp_path / "other"), API_USAGE_FLUSH_SECONDS=0),
        scorer=scorer,
    )
    plan = [(200, None)] * 20 + [(503, "scoring_unavailable")] * 5
    simultaneously([_calls(app, first, plan), _calls(other, first, plan)] * 3)
    found = rows()[first.id]
    assert (found.calls, found.errors, found.last_error) == (150, 30, "scoring_unavailable")
    with other.app_context():
        db.engine.dispose()
    other.extensions["scoring"].stop()


def test_counts_kept_when_the_database_refuses_and_written_next_time(app, pair, caplog):
    first, _second = pair
    db.session.execute(text("ALTER TABLE api_client_usage RENAME TO usage_away"))
    db.session.commit()
    clients.record_call(first, 200)
    clients.record_call(first, 401, "unknown_key")
    clients.flush_usage()  # fails: logged, not raised, and the counts are kept
    assert "API usage not written" in caplog.text
    assert first.name not in caplog.text and "unknown_key" not in caplog.text
    db.session.execute(text("ALTER TABLE usage_away RENAME TO api_client_usage"))
    db.session.commit()
    clients.record_call(first, 200)
    clients.flush_usage()
    found = rows()[first.id]
    assert (found.calls, found.errors, found.last_error) == (3, 1, "unknown_key")


def test_the_week_adds_seven_days_and_the_last_error_may_be_older(app, pair):
    first, second = pair
    today = clients.usage_day()
    for days, calls, errors, error in ((0, 5, 1, None), (6, 10, 2, None), (7, 100, 50, "old")):
        db.session.add(
            ApiClientUsage(
                client_id=first.id if error is None else second.id, day=today - timedelta(days),
                calls=calls, errors=errors, last_error=error or "too_large",
                last_error_status=413, last_error_at=utcnow() - timedelta(days=days),
            )
        )  # fmt: skip
    db.session.commit()
    usage = clients.usage()
    assert (usage[first.id].calls_today, usage[first.id].errors_today) == (5, 1)
    assert (usage[first.id].calls_week, usage[first.id].errors_week) == (15, 3)
    assert usage[first.id].last_error == "too_large"
    assert (usage[second.id].calls_week, usage[second.id].last_error) == (0, "old")


@pytest.mark.parametrize("config_overrides", [{"API_USAGE_FLUSH_SECONDS": 0.2}])
def test_a_lone_call_is_written_by_the_timer_without_another_call(app, pair):
    import time

    first, _second = pair
    clients.record_call(first, 503, "scoring_unavailable")
    assert rows() == {}  # within the interval: in memory
    deadline = time.monotonic() + 5
    while not rows() and time.monotonic() < deadline:
        time.sleep(0.05)
    found = rows()[first.id]
    assert (found.calls, found.errors, found.last_error) == (1, 1, "scoring_unavailable")
