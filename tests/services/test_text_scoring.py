"""The API's texts through both scoring backends: micro-batched, bounded waits, no guesses.

`ScoringBackend.score_texts` is what Perspective's `comments:analyze`, Coral's moderation phase
and `/api/v1/score` call: texts that are never stored, scored by the same model as comments.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from app.scoring import ScoringTimeout, ScoringUnavailable, backend
from app.services import decisions
from app.tasks import TEXTS_TASK
from tests.conftest import NEUTRAL, live_redis_db, live_redis_url
from tests.scorers import SpyScorer


class TestThreadBackend:
    @pytest.fixture
    def scorer(self, tiny_scorer):
        return SpyScorer(tiny_scorer, delay=0.05)

    @pytest.fixture
    def config_overrides(self):
        return {"SCORING_BATCH_SIZE": 16, "SCORING_BATCH_WAIT_MS": 5}

    def test_scores_come_from_the_model_in_the_order_given(self, app):
        scored = backend().score_texts(["Quel connard.", "Un avis posé.", "merde"], timeout=5)
        first, second, third = scored.results
        assert first.scores["toxicity"] == pytest.approx(0.95, abs=0.01)
        assert second.scores["toxicity"] == pytest.approx(NEUTRAL, abs=0.01)
        assert third.scores["obscene"] == pytest.approx(0.65, abs=0.01)
        assert scored.model_name == app.extensions["scoring_runner"].scorer.name

    def test_concurrent_calls_share_model_calls(self, app, scorer):
        texts = [f"Commentaire {i}, quel idiot." for i in range(12)]
        with ThreadPoolExecutor(12) as pool:
            answers = list(
                pool.map(lambda t: _in_context(app, lambda: backend().score_texts([t], 10)), texts)
            )
        assert all(a.results[0].scores["insult"] == pytest.approx(0.7, abs=0.01) for a in answers)
        assert sum(scorer.calls) == 12
        assert len(scorer.calls) < 12  # batched: fewer model calls than calls
        assert max(scorer.calls) <= 16

    def test_a_call_larger_than_a_batch_goes_alone(self, app, scorer):
        scored = backend().score_texts([f"Un avis, le {i}e." for i in range(20)], timeout=10)
        assert len(scored.results) == 20
        assert scorer.calls == [20]

    def test_a_caller_that_waits_too_little_gets_a_timeout_not_a_score(self, app, scorer):
        scorer.delay = 0.5
        texts = app.extensions["scoring"]  # the backend itself: no context needed in a thread
        blocker = threading.Thread(target=texts.score_texts, args=(["a"], 5))
        blocker.start()
        time.sleep(0.05)  # the model is busy with the first call
        with pytest.raises(ScoringTimeout):
            backend().score_texts(["Quel connard."], timeout=0.1)
        blocker.join()
        time.sleep(0.1)
        assert scorer.calls == [1]  # the abandoned call was never scored

    def test_no_texts_no_model_call(self, app, scorer):
        assert backend().score_texts([], timeout=1).results == []
        assert scorer.calls == []


class TestModelDown:
    @pytest.fixture
    def scorer(self, tiny_scorer):
        return SpyScorer(tiny_scorer, broken=True)

    def test_a_model_that_cannot_load_gives_no_score(self, app):
        with pytest.raises(ScoringUnavailable, match="boom"):
            backend().score_texts(["Un avis posé."], timeout=5)


@pytest.fixture
def redis_url(worker_id):
    return live_redis_url(worker_id, 0)


@pytest.fixture
def live_redis(redis_url):
    yield from live_redis_db(redis_url)


class TestCeleryBackend:
    @pytest.fixture
    def config_overrides(self, redis_url):
        return {"SCORING_BACKEND": "celery", "REDIS_URL": redis_url, "SCORING_BATCH_WAIT_MS": 0}

    def _worker_after(self, app, delay):
        """A worker's task, run in this process a moment after the calls are queued."""
        task = app.extensions["celery"].tasks[TEXTS_TASK]

        def run():
            time.sleep(delay)
            with app.app_context():
                task.apply().get()

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def test_waiting_calls_are_scored_in_one_model_call(self, app, live_redis):
        worker = self._worker_after(app, 0.3)
        with ThreadPoolExecutor(3) as pool:
            answers = list(
                pool.map(
                    lambda t: _in_context(app, lambda: backend().score_texts([t], timeout=5)),
                    ["Quel connard.", "Un avis posé.", "merde"],
                )
            )
        worker.join()
        assert answers[0].results[0].scores["toxicity"] == pytest.approx(0.95, abs=0.01)
        assert answers[2].results[0].scores["obscene"] == pytest.approx(0.65, abs=0.01)
        assert app.extensions["scoring"].runner.batches == [3]
        assert live_redis.llen("moderation:texts") == 0

    def test_no_worker_means_a_timeout(self, app, live_redis):
        started = time.monotonic()
        with pytest.raises(ScoringTimeout):
            backend().score_texts(["Un avis posé."], timeout=0.3)
        assert time.monotonic() - started < 2
        # A worker arriving later drops the call its caller gave up on.
        task = app.extensions["celery"].tasks[TEXTS_TASK]
        assert task.apply().get() == 0
        assert app.extensions["scoring"].runner.batches == []

    @pytest.mark.parametrize("config_overrides", [{"SCORING_BACKEND": "celery"}])
    def test_a_dead_broker_is_unavailable_at_once(self, app, config_overrides):
        from bench.stack import free_port

        app.extensions["scoring"]._redis = redis.Redis(port=free_port(), socket_connect_timeout=1)
        with pytest.raises(ScoringUnavailable, match="unreachable"):
            backend().score_texts(["Un avis posé."], timeout=0.3)


def _in_context(app, call):
    with app.app_context():
        return call()


class TestVerdictForTexts:
    def test_thresholds_and_banned_words_apply_to_free_texts(self, app):
        from app.policy import Outcome, verdict

        gathered = decisions.for_texts(["Un avis posé.", "Quel connard."], may_nudge=False)
        calm = verdict(gathered[0].inputs, {"toxicity": NEUTRAL})
        rude = verdict(gathered[1].inputs, {"toxicity": 0.95, "insult": 0.92})
        assert calm.outcome is Outcome.PUBLISH
        assert rude.outcome is Outcome.REJECT
        # Where the caller may nudge its author, a score past a nudge threshold nudges.
        [nudgeable] = decisions.for_texts(["Quel idiot."], may_nudge=True)
        assert verdict(nudgeable.inputs, {"insult": 0.7}).outcome is Outcome.NUDGE


class TestBatchOrder:
    @pytest.fixture
    def scorer(self, tiny_scorer):
        return SpyScorer(tiny_scorer, delay=0.2)

    @pytest.fixture
    def config_overrides(self):
        return {"SCORING_BATCH_SIZE": 4, "SCORING_BATCH_WAIT_MS": 5}

    def test_a_call_that_does_not_fit_starts_the_next_batch(self, app, scorer):
        scoring = app.extensions["scoring"]
        order: list[str] = []

        def call(name, count):
            scoring.score_texts([f"{name} {i}" for i in range(count)], 10)
            order.append(name)

        busy = threading.Thread(target=call, args=("busy", 1))
        busy.start()
        time.sleep(0.05)  # the model is busy: the next calls queue up
        threads = [threading.Thread(target=call, args=(n, c)) for n, c in
                   (("a", 3), ("big", 3), ("b", 1), ("c", 1))]  # fmt: skip
        for thread in threads:
            thread.start()
            time.sleep(0.01)
        for thread in [busy, *threads]:
            thread.join()
        # « a » fills 3 of 4; « big » does not fit and starts the next batch, before « c ».
        assert scorer.calls == [1, 3, 4, 1]
        assert order.index("big") < order.index("c")


class TestNoConnectionHeldWhileWaiting:
    @pytest.fixture
    def scorer(self, tiny_scorer):
        return SpyScorer(tiny_scorer, delay=0.6)

    @pytest.fixture
    def config_overrides(self):
        return {"API_SCORING_WAIT_SECONDS": 5}

    @pytest.mark.parametrize(
        ("url", "body", "auth"),
        [
            ("/api/v1/score", {"text": "Un avis posé."}, "header"),
            (
                "/perspective/v1alpha1/comments:analyze",
                {"comment": {"text": "Un avis posé."}, "requestedAttributes": {"TOXICITY": {}},
                 "languages": ["fr"]},
                "query",
            ),
        ],
    )  # fmt: skip
    def test_an_api_call_waiting_for_the_model_holds_no_database_connection(
        self, app, client, scorer, url, body, auth
    ):
        from app.extensions import db
        from app.services import clients

        key = clients.create("cms").key
        db.session.commit()
        pool = db.engine.pool
        answers = []
        headers = {"Authorization": f"Bearer {key}"} if auth == "header" else {}
        target = f"{url}?key={key}" if auth == "query" else url
        call = threading.Thread(
            target=lambda: answers.append(client.post(target, json=body, headers=headers))
        )
        call.start()
        assert _until(lambda: scorer.calls)  # the model is now scoring this call's text (0.6 s)
        # The fewest connections out while it waits: background threads (the scoring worker
        # starting, the sweeper) take one for a moment; a waiting request would hold one all along.
        samples = []
        for _ in range(30):
            samples.append(pool.checkedout())
            time.sleep(0.01)
        call.join()
        assert answers[0].status_code == 200
        assert min(samples) == 0  # 32 waiting calls would otherwise hold 32 connections


def _until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False
