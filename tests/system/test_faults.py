"""Under load and faults, every accepted comment is stored once and decided once, none is
published without a score, and the site keeps answering.

Each test posts from many concurrent readers through gunicorn, then breaks something: a
Celery worker killed with SIGKILL in the middle of a batch, the broker stopped and started
again, a web process killed while its requests wait, the database's connections cut.
"""

from __future__ import annotations

import os
import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench.stack import ARTICLE, METRICS_TOKEN, Stack, children, wait_until
from tests.conftest import TEST_DATABASE_URL

pytestmark = pytest.mark.system


def _body(i: int) -> str:
    if i % 7 == 3:
        return f"Commentaire {i} : quel connard, ce ministre."  # rejected by the model
    return f"Commentaire {i} : un avis posé sur la reconstruction de Raqqa."


def post_many(stack: Stack, count: int, start: int = 0, clients: int = 8) -> list[int | None]:
    with ThreadPoolExecutor(clients) as pool:
        return list(
            pool.map(
                lambda i: stack.post_comment(_body(i), f"Lecteur{i}"), range(start, start + count)
            )
        )


def settled(stack: Stack) -> bool:
    return stack.query("SELECT count(*) FROM comments WHERE awaiting_score")[0][0] == 0


def assert_each_decided_once(stack: Stack, accepted: list[int | None]) -> None:
    rows = stack.query("SELECT id, status, awaiting_score, body FROM comments")
    ids = [row[0] for row in rows]
    assert {i for i in accepted if i is not None} <= set(ids)  # none lost
    bodies = [row[3] for row in rows]
    assert len(bodies) == len(set(bodies))  # none stored twice
    assert [row for row in rows if row[2]] == []  # all decided...
    scored = dict(
        stack.query(
            "SELECT comment_id, count(*) FROM moderation_actions WHERE action = 'scored' "
            "GROUP BY comment_id"
        )
    )
    assert scored == {i: 1 for i in ids}  # ...each exactly once, by the model
    assert dict(
        stack.query("SELECT comment_id, count(*) FROM comment_scores GROUP BY comment_id")
    ) == {i: 1 for i in ids}
    unscored_published = stack.query(
        "SELECT c.id FROM comments c LEFT JOIN comment_scores s ON s.comment_id = c.id "
        "WHERE c.status = 'published' AND s.comment_id IS NULL"
    )
    assert unscored_published == []
    statuses = {row[1] for row in rows}
    assert "published" in statuses and len(statuses) > 1  # the model really decided


def test_a_worker_killed_mid_batch_loses_nothing(stack: Stack) -> None:
    stack.start(workers=1)
    worker = stack.processes["worker1"]
    posted: list[int | None] = []
    poster = threading.Thread(target=lambda: posted.extend(post_many(stack, 60, clients=12)))
    poster.start()

    def claimed() -> int:
        return stack.query(
            "SELECT count(*) FROM comments WHERE awaiting_score AND claim_token IS NOT NULL"
        )[0][0]

    # Freeze the worker the moment it holds a batch; if the batch was already recorded, let it
    # go on and try again. Killed while frozen, it dies between its claim and its decisions.
    mid_batch = 0
    for _ in range(200):
        if not wait_until(claimed, 10, interval=0.005):
            break
        worker.send_signal(signal.SIGSTOP)
        mid_batch = claimed()
        if mid_batch:
            break
        worker.send_signal(signal.SIGCONT)
    stack.kill("worker1")
    assert mid_batch > 0, "never caught the worker holding a batch"
    stack.start_worker("worker2")  # the lease lapses, the sweep queues the batch again
    poster.join(60)
    assert wait_until(lambda: settled(stack), 60), stack.log("worker2")
    assert_each_decided_once(stack, posted)
    assert len([i for i in posted if i]) == 60
    assert stack.get(ARTICLE)[0] == 200


def test_broker_stopped_and_restarted(stack: Stack) -> None:
    stack.start()
    before = post_many(stack, 10)
    stack.stop_redis()
    during = post_many(stack, 10, start=10)
    assert all(during), stack.log("web")  # accepted while the broker is down...
    held = stack.query(
        "SELECT id FROM comments WHERE status = 'held' AND reasons LIKE '%scoring_unavailable%'"
        if not stack.database_url.startswith("postgres")
        else "SELECT id FROM comments WHERE status = 'held' "
        "AND reasons::text LIKE '%scoring_unavailable%'"
    )
    assert {i for (i,) in held} == set(during)  # ...and held for a human meanwhile
    status, page = stack.get(ARTICLE)
    assert status == 200 and "Votre commentaire" in page
    # /metrics adds up both gunicorn processes' counters (Prometheus' multiprocess mode).
    status, metrics = stack.get("/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert status == 200
    assert "moderation_scoring_failures_total 10.0" in metrics
    waits = re.search(r"^moderation_decision_wait_seconds_count ([0-9.]+)$", metrics, re.M)
    assert waits and float(waits.group(1)) == 10.0  # the comments posted before the outage
    stack.start_redis()  # empty: the tasks published before are gone with it
    after = post_many(stack, 10, start=20)
    assert wait_until(lambda: settled(stack), 60), stack.log("worker1") + stack.log("beat")
    assert_each_decided_once(stack, before + during + after)


def test_web_processes_killed_mid_request(stack: Stack) -> None:
    stack.settings["SCORING_WAIT_SECONDS"] = "30"  # every request still waits when killed
    stack.start()
    worker = stack.processes["worker1"]
    worker.send_signal(signal.SIGSTOP)  # requests now wait for their decision
    posted: list[int | None] = []
    poster = threading.Thread(target=lambda: posted.extend(post_many(stack, 8)))
    poster.start()
    waiting = lambda: stack.query("SELECT count(*) FROM comments")[0][0] >= 8  # noqa: E731
    assert wait_until(waiting, 20)
    web_processes = children(stack.processes["web"].pid)
    assert len(web_processes) == 2
    for pid in web_processes:  # whichever holds the requests: their readers' connections drop
        os.kill(pid, signal.SIGKILL)
    worker.send_signal(signal.SIGCONT)
    poster.join(30)
    assert posted == [None] * 8  # every reader really lost their request...
    assert wait_until(lambda: stack.get(ARTICLE)[0] == 200, 20)  # ...gunicorn starts new ones
    more = post_many(stack, 4, start=8)
    assert all(more)
    assert wait_until(lambda: settled(stack), 60), stack.log("worker1")
    assert_each_decided_once(stack, more)  # and the 8 cut ones: stored, decided once
    assert stack.query("SELECT count(*) FROM comments")[0][0] == 12


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only: connections cut by the server")
def test_database_connections_cut(stack: Stack, worker_id: str) -> None:
    stack.start()
    before = post_many(stack, 6)
    mine = f"application_name = 'moderation-{worker_id}' AND pid <> pg_backend_pid()"
    cut = [pid for (pid,) in stack.query(f"SELECT pid FROM pg_stat_activity WHERE {mine}")]
    stack.query(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {mine}")
    assert cut  # as after a restart: every pooled connection is dead...
    # ...once the server has really ended them (termination is asynchronous: a request that
    # meets a dying connection gets the 503 of a database mid-restart, tested elsewhere).
    alive = ",".join(map(str, cut))
    gone = lambda: not stack.query(f"SELECT pid FROM pg_stat_activity WHERE pid IN ({alive})")  # noqa: E731
    assert wait_until(gone, 10)
    after = post_many(stack, 6, start=6)
    assert all(after), stack.log("web")
    assert wait_until(lambda: settled(stack), 60), stack.log("worker1")
    assert_each_decided_once(stack, before + after)
