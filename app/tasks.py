"""`SCORING_BACKEND=celery`: scoring in Celery workers, with Redis as broker.

Web processes load no model. A submitted comment is committed, then its id is published as a
`moderation.score_comments` task; the reader's request waits (bounded) for a word from the
worker on a Redis list of its own (``BLPOP``), then reads the decision from the database.

A worker (``celery --app wsgi:celery_app worker --pool solo``) runs one task at a time with one
loaded model. The database stays the queue of record: a task's ids only say "look now". Each
task claims its comments *and* any other comment due for scoring, up to `SCORING_BATCH_SIZE`,
so that comments arriving while the model is busy are scored together in one call; their own
tasks then find them decided and do nothing. Claims are conditional UPDATEs (see
:mod:`app.services.scoring`), so no comment is ever decided twice, whichever worker or retry
gets there.

What may fail, and what then happens:

* the broker is down when a comment arrives: the comment is held (« scoring unavailable ») at
  once, and the sweep queues it again after the first backoff;
* a worker dies mid-batch: its tasks are acknowledged late, so Redis hands them out again; and
  once the claim lapses (`SCORING_LEASE_SECONDS`) the sweep queues the comments anyway;
* a web process dies between commit and publish: the sweep finds the comment after
  `SCORING_TIMEOUT_SECONDS` (it is held meanwhile) and queues it;
* the database restarts: connections are checked before use (``pool_pre_ping``); a task that
  meets a database error is retried after a pause.

The sweep is `moderation.sweep`, run every `SCORING_SWEEP_SECONDS` by Celery beat
(``celery --app wsgi:celery_app beat``, one per site).

Texts that are not comments (the API's: Perspective, Coral, CMSs) are never written to the
database. A web process pushes the call's texts, with the time its caller stops waiting, on a
Redis list (``moderation:texts``), publishes a `moderation.score_texts` task as a wake-up, and
waits (``BLPOP``) on a reply list of its own. A worker's task takes every call waiting on that
list, up to `SCORING_BATCH_SIZE` texts, into one model call (calls whose caller gave up are
dropped unscored), and pushes each call's scores, or the model's failure, to its reply list
(expiring after a minute). A text stays in Redis only until a worker takes it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from celery import Celery, Task
from celery.signals import worker_ready, worker_shutdown
from flask import Flask
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.scoring import Scorer, ScoreResult, ScoringTimeout, ScoringUnavailable, TextScores
from app.services import scoring
from app.worker import BatchScorer

logger = logging.getLogger(__name__)

SCORE_TASK = "moderation.score_comments"
SWEEP_TASK = "moderation.sweep"
BACKGROUND_TASK = "moderation.score_background"
_BACKGROUND_KEY = "moderation:background"  # held while a chain of background tasks runs
TEXTS_TASK = "moderation.score_texts"
_TEXTS_KEY = "moderation:texts"  # the API's calls waiting for a worker (JSON, oldest first)
_TEXTS_REPLY_KEY = "moderation:texts:reply:{}"  # a waiting call BLPOPs its scores here
_DECIDED_KEY = "moderation:decided:{}"  # a list a waiting request BLPOPs
_WORKER_KEY = "moderation:worker:{}"  # a worker's heartbeat (JSON, expires)
_HEARTBEAT_SECONDS = 5


def celery_init_app(app: Flask, runner: BatchScorer) -> Celery:
    """The Celery application of this Flask app (Flask's documented pattern: every task runs
    in an app context), with the scoring tasks registered."""

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.import_name, task_cls=FlaskTask)
    celery_app.conf.update(_celery_config(app.config))
    app.extensions["celery"] = celery_app
    _register_tasks(celery_app, app, runner)
    return celery_app


def _celery_config(config: dict[str, Any]) -> dict[str, Any]:
    lease = config["SCORING_LEASE_SECONDS"]
    return {
        "broker_url": config["REDIS_URL"],
        "task_ignore_result": True,  # decisions are in the database
        # A task is acknowledged once done: a worker killed mid-batch gives its tasks back.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_transport_options": {
            # Unacknowledged tasks of a vanished worker are handed out again after this long
            # (the sweep does not wait for it: it re-queues once the claim lapses).
            "visibility_timeout": max(60, int(lease * 2)),
            "socket_connect_timeout": 2,
            "socket_timeout": 5,
        },
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2,
        # A web request must not hang on a dead broker: two quick tries, then the comment is
        # held and the sweep queues it later.
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "beat_schedule": {
            "sweep": {"task": SWEEP_TASK, "schedule": config["SCORING_SWEEP_SECONDS"]},
        },
        # One task at a time, in the worker's own process, with one loaded model: run one
        # worker per machine (torch uses every core of it) rather than a pool of processes.
        "worker_pool": "solo",
        "worker_hijack_root_logger": False,
    }


def _register_tasks(celery_app: Celery, app: Flask, runner: BatchScorer) -> None:
    batch_size: int = app.config["SCORING_BATCH_SIZE"]
    batch_wait: float = app.config["SCORING_BATCH_WAIT_MS"] / 1000
    notifier = _redis(app.config["REDIS_URL"])

    @celery_app.task(name=SCORE_TASK, bind=True, max_retries=30, shared=False)
    def score_comments(self: Task, comment_ids: list[int]) -> int:
        """Score these comments, and whatever else is due, in one model call."""
        if batch_wait:
            time.sleep(batch_wait)  # let the comments sent together arrive
        try:
            done = runner.process(comment_ids, fill_up_to=batch_size)
        except DBAPIError as error:
            db.session.rollback()
            logger.warning("database error while scoring, retrying: %s", error.orig)
            raise self.retry(countdown=2) from error
        # Only what was dealt with here: a comment another worker's batch holds is announced
        # by that worker, once decided (waking its reader now would show « en attente »).
        _notify(notifier, done)
        return len(done)

    @celery_app.task(name=TEXTS_TASK, ignore_result=True, shared=False)
    def score_texts() -> int:
        """Score the API's waiting calls, as many as fit in one batch, in one model call."""
        if batch_wait:
            time.sleep(batch_wait)  # let the calls sent together arrive
        return _score_waiting_texts(notifier, runner, batch_size)

    lease = max(60, int(app.config["SCORING_LEASE_SECONDS"]))

    @celery_app.task(name=BACKGROUND_TASK, ignore_result=True, shared=False)
    def score_background() -> int:
        """One batch of imported comments; then this task again, published behind whatever
        live comments' tasks arrived meanwhile (a reader waits at most one batch). The chain
        holds a Redis key while it runs, so that the sweep starts at most one."""
        try:
            done = runner.process_background(batch_size)
        except DBAPIError as error:
            db.session.rollback()
            logger.warning("database error while scoring in the background: %s", error.orig)
            done = 0
        try:
            if done:
                notifier.expire(_BACKGROUND_KEY, lease)
                score_background.apply_async()
            else:
                notifier.delete(_BACKGROUND_KEY)
        except redis.RedisError as error:  # the key expires; the sweep starts a new chain
            logger.warning("background scoring chain: %s", error)
        return done

    @celery_app.task(name=SWEEP_TASK, ignore_result=True, shared=False)
    def sweep() -> int:
        """Hold what waited too long; queue again what is due (see services.scoring.sweep);
        score one batch of the « Essai » candidate; start scoring imported comments in the
        background if some wait and no chain runs."""
        due = scoring.sweep()
        for start in range(0, len(due), batch_size):
            score_comments.apply_async(args=[due[start : start + batch_size]])
        try:  # one batch of the admins' « Essai » candidate per sweep (services/shadow)
            runner.process_shadow(batch_size)
        except Exception:
            db.session.rollback()
            logger.exception("shadow batch failed")
        try:
            if scoring.background_count() and notifier.set(_BACKGROUND_KEY, 1, nx=True, ex=lease):
                score_background.apply_async()
        except redis.RedisError as error:
            logger.warning("background scoring not started: %s", error)
        return len(due)

    celery_app.moderation = _WorkerHooks(app, runner, notifier)  # type: ignore[attr-defined]


def _take_text_calls(client: redis.Redis, batch_size: int) -> list[dict[str, Any]]:
    """The calls waiting on the texts list whose callers still wait, up to `batch_size` texts
    (a first call with more texts comes alone); the others stay for the next task."""
    calls: list[dict[str, Any]] = []
    size = 0
    while size < batch_size:
        raw: bytes | None = client.lpop(_TEXTS_KEY)  # type: ignore[assignment]
        if raw is None:
            break
        call = json.loads(raw)
        if call["deadline"] < time.time():
            continue  # its caller has answered 503 already
        if calls and size + len(call["texts"]) > batch_size:
            client.lpush(_TEXTS_KEY, raw)  # first in the next batch
            break
        calls.append(call)
        size += len(call["texts"])
    return calls


def _score_waiting_texts(client: redis.Redis, runner: BatchScorer, batch_size: int) -> int:
    calls = _take_text_calls(client, batch_size)
    if not calls:
        return 0
    texts = [text for call in calls for text in call["texts"]]
    replies: list[dict[str, Any]]
    try:
        scored = runner.score_texts(texts)
    except ScoringUnavailable as error:
        replies = [{"error": str(error)}] * len(calls)
    else:
        replies, start = [], 0
        for call in calls:
            end = start + len(call["texts"])
            replies.append(
                {
                    "results": [[r.scores, r.windowed] for r in scored.results[start:end]],
                    "model_name": scored.model_name,
                    "model_version": scored.model_version,
                }
            )
            start = end
    pipe = client.pipeline(transaction=False)
    for call, reply in zip(calls, replies, strict=True):
        key = _TEXTS_REPLY_KEY.format(call["id"])
        pipe.rpush(key, json.dumps(reply))
        pipe.expire(key, 60)
    pipe.execute()
    return len(texts)


class _WorkerHooks:
    """What a worker process does when it starts and stops (see the signal handlers below)."""

    def __init__(self, app: Flask, runner: BatchScorer, client: redis.Redis) -> None:
        self.app = app
        self.runner = runner
        self.heartbeat = _Heartbeat(client, runner)

    def ready(self) -> None:
        self.heartbeat.start()
        try:
            self.runner.load()  # now, rather than on the first reader's comment
        except Exception as error:  # the heartbeat tells the web processes why
            logger.error("scoring unavailable: %s", error)
        port = self.app.config["WORKER_METRICS_PORT"]
        if port:
            from prometheus_client import start_http_server

            host = self.app.config["WORKER_METRICS_HOST"]
            start_http_server(port, addr=host, registry=self.runner.metrics.registry)

    def shutdown(self) -> None:
        self.heartbeat.stop()


# Connected once, for whichever of this module's Celery apps the worker runs.
@worker_ready.connect
def _on_worker_ready(sender: Any = None, **_: Any) -> None:
    hooks = getattr(getattr(sender, "app", None), "moderation", None)
    if isinstance(hooks, _WorkerHooks):
        hooks.ready()


@worker_shutdown.connect
def _on_worker_shutdown(sender: Any = None, **_: Any) -> None:
    hooks = getattr(getattr(sender, "app", None), "moderation", None)
    if isinstance(hooks, _WorkerHooks):
        hooks.shutdown()


def _redis(url: str, socket_timeout: float = 5) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=socket_timeout)


def _notify(client: redis.Redis, ids: Iterable[int]) -> None:
    """Tell the requests waiting for these comments that they are dealt with."""
    try:
        pipe = client.pipeline(transaction=False)
        for comment_id in dict.fromkeys(ids):
            key = _DECIDED_KEY.format(comment_id)
            pipe.rpush(key, 1)
            pipe.expire(key, 120)
        pipe.execute()
    except redis.RedisError as error:  # readers then learn the outcome on their next visit
        logger.warning("could not notify waiting requests: %s", error)


class _Heartbeat:
    """Every few seconds a worker writes its state (model, batches) to Redis, with an expiry:
    web processes, which load no model, show it on /healthz and to staff. It also lets an idle
    worker follow a model promoted in « Essai » (BatchScorer.follow)."""

    def __init__(self, client: redis.Redis, runner: BatchScorer) -> None:
        self.client = client
        self.runner = runner
        self.key = _WORKER_KEY.format(f"{socket.gethostname()}:{os.getpid()}")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        try:
            self.client.delete(self.key)
        except redis.RedisError:
            pass

    def _run(self) -> None:
        while True:
            # An idle worker gets no task: it looks for a newly promoted model here, and loads
            # it before the next batch needs it (services/live_model).
            self.runner.follow()
            try:
                state = {"worker": self.key.split(":", 2)[2], "at": time.time()}
                state.update(self.runner.status())
                self.client.set(self.key, json.dumps(state), ex=_HEARTBEAT_SECONDS * 3)
            except redis.RedisError as error:
                logger.warning("heartbeat not written: %s", error)
            if self._stop.wait(_HEARTBEAT_SECONDS):
                return


class CeleryScoring:
    """The web side of the Celery backend: publish, wait, and report the workers' state."""

    def __init__(self, app: Flask, celery_app: Celery, runner: BatchScorer) -> None:
        self.app = app
        self.decides_in_request = False  # the workers claim, score and decide
        self.celery_app = celery_app
        self.runner = runner  # runs in workers; a web process never loads its model
        self.metrics = runner.metrics
        url = app.config["REDIS_URL"]
        self._redis = _redis(url, socket_timeout=app.config["SCORING_WAIT_SECONDS"] + 5)

    @property
    def scorer(self) -> Scorer:
        """The server's model as this web process knows it (never loaded here)."""
        return self.runner.scorer

    def start(self) -> None:
        """Nothing to start in a web process."""

    def stop(self, timeout: float = 10) -> None:
        self._redis.close()

    def enqueue(self, comment_ids: Iterable[int]) -> bool:
        """Publish a scoring task; False (and the comments held) when the broker is down."""
        ids = list(comment_ids)
        try:
            self.celery_app.send_task(SCORE_TASK, args=[ids], retry=True)
            return True
        except Exception as error:  # kombu raises several kinds for a dead broker
            self._queue_lost(ids, error)
            return False

    def wait(self, comment_id: int, timeout: float) -> bool:
        """Block until a worker says this comment is dealt with, or `timeout`. If Redis fails
        meanwhile, the comment (if still untouched) is held at once, as when publishing fails:
        no sweep can run until the broker is back."""
        try:
            return self._redis.blpop([_DECIDED_KEY.format(comment_id)], timeout=timeout) is not None
        except redis.RedisError as error:
            self._queue_lost([comment_id], error)
            return False

    def score_texts(self, texts: Sequence[str], timeout: float) -> TextScores:
        """Hand the API's texts to the workers (a Redis list, then a wake-up task) and wait
        at most `timeout` for their scores. ScoringUnavailable when Redis fails or the model
        failed in the worker; ScoringTimeout when no worker answered in time."""
        if not texts:
            return TextScores([], self.scorer.name, self.scorer.version)
        call_id = uuid.uuid4().hex
        call = {"id": call_id, "texts": list(texts), "deadline": time.time() + timeout}
        key = _TEXTS_REPLY_KEY.format(call_id)
        try:
            self._redis.rpush(_TEXTS_KEY, json.dumps(call))
            self.celery_app.send_task(TEXTS_TASK, retry=True)
            # BLPOP counts whole seconds on old servers: the deadline in the call is exact.
            answer = self._redis.blpop([key], timeout=max(timeout, 0.01))
        except Exception as error:  # redis or kombu: the queue is unreachable
            raise ScoringUnavailable(
                f"scoring queue unreachable: {type(error).__name__}"
            ) from error
        if answer is None:
            raise ScoringTimeout(f"no score within {timeout:g} s")
        reply = json.loads(answer[1])
        if "error" in reply:
            raise ScoringUnavailable(reply["error"])
        return TextScores(
            [ScoreResult(scores, windowed) for scores, windowed in reply["results"]],
            reply["model_name"],
            reply["model_version"],
        )

    def _queue_lost(self, ids: list[int], error: Exception) -> None:
        """The broker failed us: hold these comments for a human (the sweep queues them again
        once it is back)."""
        logger.error("scoring queue unreachable, holding comments %s: %s", ids, error)
        held = scoring.hold_unqueued(ids, f"scoring queue unreachable: {type(error).__name__}")
        self.metrics.failures.inc(held)

    def workers(self) -> list[dict[str, Any]]:
        """The live workers' last heartbeats."""
        try:
            keys = list(self._redis.scan_iter(match=_WORKER_KEY.format("*"), count=100))
            values = self._redis.mget(keys) if keys else []
        except redis.RedisError:
            return []
        return [json.loads(v) for v in values if v]

    def broker_ok(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def model_version(self) -> str | None:
        """The version of the model the workers score with (their heartbeats; None when
        none is ready, or while they do not all run the same)."""
        versions = {
            w["model"].get("version") for w in self.workers() if w["model"]["state"] == "ready"
        }
        return versions.pop() if len(versions) == 1 else None

    def problem(self) -> str | None:
        """Why comments cannot be scored now (shown to staff), or None."""
        return _problem(self.broker_ok(), self.workers())

    def gauges(self) -> dict[str, tuple[str, float]]:
        """The workers, as the web processes see them (their heartbeats), for /metrics."""
        workers = self.workers()
        return {
            "moderation_scoring_workers": (
                "Celery scoring workers alive (heartbeat in the last 15 s).",
                float(len(workers)),
            ),
            "moderation_scoring_workers_ready": (
                "Celery scoring workers whose model is loaded.",
                float(sum(w["model"]["state"] == "ready" for w in workers)),
            ),
        }

    def status(self) -> dict[str, Any]:
        broker, workers = self.broker_ok(), self.workers()
        ready = [w for w in workers if w["model"]["state"] != "failed"]
        # The model as /healthz and the admin pages show it: a working worker's, else why not.
        model: dict[str, Any] = (
            (ready or workers)[0]["model"]
            if workers
            else {"name": self.scorer.name, "state": "failed", "error": _problem(broker, workers)}
        )
        totals = {"batches": 0, "comments": 0, "duplicates": 0, "model_seconds": 0.0}
        for worker in workers:
            for key in totals:
                totals[key] += worker["totals"].get(key, 0)
        return {
            "backend": "celery",
            "broker": broker,
            "running": bool(ready),
            "workers": [
                {
                    "worker": w["worker"],
                    "model": w["model"]["state"],
                    "totals": w["totals"],
                    "model_name": w["model"]["name"],
                    "live": w.get("live", {}),
                }
                for w in workers
            ],
            "totals": totals,
            "model": model,
        }


def _problem(broker_ok: bool, workers: list[dict[str, Any]]) -> str | None:
    """Why comments cannot be scored (shown to staff), from the broker and the heartbeats."""
    if not broker_ok:
        return _("la file de scoring (Redis) ne répond pas")
    if not workers:
        return _("aucun worker de scoring ne répond")
    if all(w["model"]["state"] == "failed" for w in workers):
        return workers[0]["model"]["error"] or "le modèle n’a pas pu être chargé"
    return None
