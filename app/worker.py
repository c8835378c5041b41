"""Scoring comments in micro-batches: the part both backends share, and the thread backend.

:class:`BatchScorer` claims a batch, runs the model once for it and records each decision (or
the failure); it keeps the numbers `/healthz` and `/metrics` show. `SCORING_BACKEND=celery`
runs it in Celery workers (:mod:`app.tasks`), the requests waiting for their decisions.

The embedded default (`SCORING_BACKEND=thread`, :class:`ScoringWorker`) runs the model in the
web process. A reader's request stores its comment claimed, sends the text to the model
(:class:`TextBatcher`, which also scores the API's texts) and decides it itself: the model's
threads do nothing else, and the requests' decisions are taken side by side. Texts that
arrive together go into one model call: the model takes the first waiting call and every
other one waiting by then, up to `SCORING_BATCH_SIZE` texts; when others were waiting (a
burst), it waits at most `SCORING_BATCH_WAIT_MS` for more. A lone text does not wait: it goes
to the model at once (with nothing else arriving, the wait was pure delay).

The worker thread claims, scores and decides the comments no request decides: one whose
reader stopped waiting, a retry after a failure, those left by a crash or a restart (the
database is the source of truth: the in-memory queue only says "look at these now"; at
start-up, and every few seconds, the sweeper queues whatever still awaits a score and nobody
holds). When none is queued, it scores imported comments in the background (`flask import`),
then the admins' « Essai » candidate (services/shadow), one batch at a time, looking at its
queue between two batches: a comment waits at most one background batch.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from app.metrics import Metrics
from app.scoring import Scorer, ScoreResult, ScoringTimeout, ScoringUnavailable, TextScores
from app.services import live_model, scoring, shadow

logger = logging.getLogger(__name__)
_WAKE_UP = -1  # queued by stop(): no comment has this id


def _batch_deadline(waiting: queue.SimpleQueue[Any], batch_wait: float) -> float:
    """Until when a batch whose first item was just taken waits for more: `batch_wait` only
    during a burst (another item is already queued); a lone item goes to the model at once,
    and those that come while it runs make the next batch."""
    return time.monotonic() + (batch_wait if not waiting.empty() else 0.0)


class BatchScorer:
    """Claim → one model call → decisions, for a batch of comment ids; thread-safe enough for
    one caller at a time (the thread worker, or a Celery worker's task).

    `scorer` is the model it runs now: the server's (`configured()` builds it again after a
    promoted model is dropped), or the one an admin promoted in « Essai », which
    :meth:`follow` switches to between two batches (services/live_model)."""

    def __init__(
        self,
        app: Flask,
        scorer: Scorer,
        configured: Callable[[], Scorer] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.app = app
        self.scorer = scorer
        self.configured = configured or (lambda: scorer)
        self.load_retry: float = app.config["SCORING_LOAD_RETRY_SECONDS"]
        self._failed_at = 0.0
        # The promoted model `scorer` runs (its key), None for the server's; when to look at
        # the setting again; why the last switch failed.
        self.following: tuple[str, str | None] | None = None
        self.follow_every: float = app.config["MODEL_FOLLOW_SECONDS"]
        self._follow_at = 0.0
        self._follow_lock = threading.Lock()
        self.switch_error: str | None = None
        # The last batches: how many comments, and how long the model took (seconds).
        self.recent: collections.deque[tuple[int, float]] = collections.deque(maxlen=1000)
        # Since start: model calls, texts they answered for (`duplicates` of them were copies
        # of another text in the same call, not scored again), seconds spent in the model.
        self.totals = {"batches": 0, "comments": 0, "duplicates": 0, "model_seconds": 0.0}
        self.metrics = metrics or Metrics()  # shared by a worker's instances

    def process(self, ids: list[int], fill_up_to: int = 0) -> list[int]:
        """Score and decide these comments (and, with `fill_up_to`, other comments due for
        scoring, up to that many in all). Returns the ids dealt with here: decided, or held
        after a model failure. Database errors propagate (the caller retries or the sweep
        finds these comments again once their claim lapses)."""
        with self.app.app_context():
            claim = scoring.claim(ids, fill_up_to=fill_up_to)
            if not claim.comments:
                return []
            return self._score(claim)

    def process_background(self, limit: int) -> int:
        """Score one batch of imported comments (at most `limit`), if any wait; returns how
        many were claimed (0: none waits)."""
        with self.app.app_context():
            claim = scoring.claim_background(limit)
            if not claim.comments:
                return 0
            self._score(claim)
            return len(claim.comments)

    def process_shadow(self, limit: int) -> int:
        """One batch of the admins' « Essai » candidate (services/shadow), when
        SHADOW_BACKGROUND is on; returns how many comments it compared (0: nothing to do)."""
        if not self.app.config["SHADOW_BACKGROUND"]:
            return 0
        with self.app.app_context():
            return shadow.run_batch(limit)

    def follow(self, now: bool = False) -> None:
        """Switch to the model the admins chose (services/live_model) if it changed: read the
        setting at most every MODEL_FOLLOW_SECONDS (`now`: at once), load the new model, then
        score with it. A model that does not load is not switched to: the current one goes on,
        `switch_error` says why, and the next look tries again. Never raises."""
        if not now and time.monotonic() < self._follow_at:
            return
        with self._follow_lock:
            if not now and time.monotonic() < self._follow_at:
                return  # another thread just looked
            self._follow_at = time.monotonic() + self.follow_every
            try:
                with self.app.app_context():
                    self._switch()
            except SQLAlchemyError as error:  # no database (yet): the model we have goes on
                logger.warning("could not read which model is live: %s", type(error).__name__)
            except Exception as error:  # a bug: keep scoring with what we have, and say it
                logger.exception("could not follow the live model")
                self.switch_error = f"{type(error).__name__}: {error}"

    def _switch(self) -> None:
        chosen = live_model.promoted()
        wanted = chosen.key if chosen is not None else None
        if wanted == self.following:
            return
        if chosen is None:
            scorer = self.configured()
        else:
            scorer = shadow.take_scorer(chosen.key) or live_model.build_scorer(*chosen.key)
        try:
            scorer.load()
        except (ScoringUnavailable, ValueError) as error:
            self.switch_error = str(error)
            self._follow_at = time.monotonic() + max(self.follow_every, self.load_retry)
            logger.error("the promoted model %s does not load: %s", wanted, error)
            return
        self.scorer, self.following, self.switch_error = scorer, wanted, None
        self._failed_at = 0.0
        logger.info("scoring with %s (%s) from now on", scorer.name, scorer.version)

    def live_scorer(self) -> Scorer:
        """The live model, after a look at the setting (the CLI's `model check`, `rescore`)."""
        self.follow(now=True)
        return self.scorer

    def load(self) -> None:
        """Load the model (switching first to a newly promoted one); after a failure, try
        again at most every LOAD_RETRY_SECONDS."""
        self.follow()
        if self.scorer.state == "failed" and time.monotonic() - self._failed_at < self.load_retry:
            raise ScoringUnavailable(self.scorer.error or "the model could not be loaded")
        try:
            self.scorer.load()
        except ScoringUnavailable:
            self._failed_at = time.monotonic()
            raise

    def score_texts(self, texts: Sequence[str]) -> TextScores:
        """One model call for these texts (the API's, never stored); raises
        ScoringUnavailable. Counted in the same numbers as comments' batches."""
        try:
            results, scorer = self._model(texts)
        except ScoringUnavailable:
            self.metrics.failures.inc(len(texts))
            raise
        return TextScores(results, scorer.name, scorer.version)

    def _model(self, texts: Sequence[str]) -> tuple[list[ScoreResult], Scorer]:
        """Load if need be, run the model once, and count the batch; the scores and the
        model that gave them (one model for the whole batch, even during a switch).

        Identical texts in the batch (a copy-paste flood) are scored once: the model sees
        each distinct text, and every copy gets the same scores (the model is deterministic)."""
        self.load()
        scorer = self.scorer
        distinct = list(dict.fromkeys(texts))
        started = time.perf_counter()
        scored = dict(zip(distinct, scorer.score(distinct), strict=True))
        elapsed = time.perf_counter() - started
        results = [ScoreResult(dict(scored[t].scores), scored[t].windowed) for t in texts]
        self.recent.append((len(distinct), elapsed))
        self.totals["batches"] += 1
        self.totals["comments"] += len(texts)
        self.totals["duplicates"] += len(texts) - len(distinct)
        self.totals["model_seconds"] += elapsed
        self.metrics.batch_size.observe(len(distinct))
        self.metrics.scoring_seconds.observe(elapsed)
        return results, scorer

    def _score(self, claim: scoring.Claim) -> list[int]:
        try:
            results, scorer = self._model([c.body for c in claim.comments])
        except ScoringUnavailable as error:
            logger.warning("scoring unavailable for %d comments: %s", len(claim.comments), error)
            self.metrics.failures.inc(len(claim.comments))
            return scoring.record_failure(claim, str(error))
        return scoring.decide(claim, results, scorer.name, scorer.version, self.metrics)

    @property
    def batches(self) -> list[int]:
        return [size for size, _ in self.recent]

    def status(self) -> dict[str, Any]:
        recent = list(self.recent)
        model_ms = sorted(seconds * 1000 for _, seconds in recent)
        return {
            "recent_batches": {
                "count": len(recent),
                "mean_size": round(sum(n for n, _ in recent) / len(recent), 2) if recent else None,
                "model_ms_p50": round(model_ms[len(model_ms) // 2], 1) if recent else None,
            },
            "totals": dict(self.totals),
            "model": {
                "name": self.scorer.name,
                "version": self.scorer.version,
                "state": self.scorer.state,
                "error": self.scorer.error,
            },
            # The model promoted in « Essai » this process runs (None: the server's), and why
            # it could not switch to a newer choice, if so (services/live_model).
            "live": {
                "following": self.following[0] if self.following else None,
                "switch_error": self.switch_error,
            },
        }


@dataclass
class _TextJob:
    """One API call's texts, waiting for the batcher; `future` gets its TextScores."""

    texts: Sequence[str]
    future: Future[TextScores] = field(default_factory=Future)


class TextBatcher:
    """Texts to score that the caller waits for — the API's, and (thread backend) the
    comments that readers' requests decide themselves (services/scoring.score_claimed) —
    micro-batched in a thread per model instance: whatever calls arrive while the model is
    busy, or (when another is already queued: a burst) within `batch_wait` of the first, go
    into one model call of at most `batch_size` texts (a call with more texts goes alone).
    Nothing is written to the database. A caller that stops waiting (its timeout) cancels its
    job: a job not yet started is then skipped."""

    def __init__(self, runners: Sequence[BatchScorer], batch_size: int, batch_wait: float) -> None:
        self.runners = list(runners)
        self.runner = self.runners[0]
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self._queue: queue.SimpleQueue[_TextJob | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def score(self, texts: Sequence[str], timeout: float) -> TextScores:
        if not texts:
            return TextScores([], self.runner.scorer.name, self.runner.scorer.version)
        self.start()
        job = _TextJob(list(texts))
        self._queue.put(job)
        try:
            return job.future.result(timeout=timeout)
        except FutureTimeout:
            job.future.cancel()
            raise ScoringTimeout(f"no score within {timeout:g} s") from None

    def start(self) -> None:
        with self._lock:
            if self._threads or self._stop.is_set():
                return
            for index, runner in enumerate(self.runners):
                name = "text-scoring" + (f"-{index + 1}" if index else "")
                thread = threading.Thread(target=self._run, args=(runner,), name=name, daemon=True)
                self._threads.append(thread)
                thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._queue.put(None)  # each thread puts it back for the next
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, runner: BatchScorer) -> None:
        carried: _TextJob | None = None  # did not fit the last batch: starts the next
        while not self._stop.is_set():
            jobs, carried = self._next_jobs(carried)
            if jobs:
                self._process(jobs, runner)

    def _next_jobs(self, carried: _TextJob | None) -> tuple[list[_TextJob], _TextJob | None]:
        """The next batch's jobs, and the job that starts the one after (it did not fit)."""
        first = carried or self._queue.get()
        if first is None:
            self._queue.put(None)  # stop(): the other threads see it too
            return [], None
        jobs, size, left = [first], len(first.texts), None
        deadline = _batch_deadline(self._queue, self.batch_wait)
        while size < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                job = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
            if job is None:
                self._queue.put(None)  # stop() again after this batch
                break
            if size + len(job.texts) > self.batch_size:
                left = job  # it starts the next batch
                break
            jobs.append(job)
            size += len(job.texts)
        # A caller that gave up meanwhile is not scored for nothing.
        return [job for job in jobs if job.future.set_running_or_notify_cancel()], left

    def _process(self, jobs: list[_TextJob], runner: BatchScorer) -> None:
        texts = [text for job in jobs for text in job.texts]
        try:
            scored = runner.score_texts(texts)
        except Exception as error:  # ScoringUnavailable, or a bug: the callers are told
            if not isinstance(error, ScoringUnavailable):
                logger.exception("text scoring failed")
                error = ScoringUnavailable(f"scoring failed: {type(error).__name__}")
            for job in jobs:
                job.future.set_exception(error)
            return
        start = 0
        for job in jobs:
            end = start + len(job.texts)
            job.future.set_result(
                TextScores(scored.results[start:end], scored.model_name, scored.model_version)
            )
            start = end


class ScoringWorker:
    """The thread backend: readers' requests store their comments claimed, send the texts to
    the :class:`TextBatcher` (a thread per model instance, SCORING_MODEL_INSTANCES: `runner`
    and `others`, each with its own model) with the API's, and decide them themselves
    (services/scoring.score_claimed). A worker thread per instance scores, from an in-memory
    queue, what a request could not (a comment whose reader stopped waiting, a retry found by
    the sweeper thread, those awaiting a score at start-up) and the background work."""

    def __init__(self, app: Flask, runner: BatchScorer, others: Sequence[BatchScorer] = ()) -> None:
        self.app = app
        self.decides_in_request = True  # the model is here: see ScoringBackend
        self.runner = runner
        self.runners = [runner, *others]
        self.metrics = runner.metrics
        self.batch_size: int = app.config["SCORING_BATCH_SIZE"]
        self.batch_wait: float = app.config["SCORING_BATCH_WAIT_MS"] / 1000
        self.sweep_interval: float = app.config["SCORING_SWEEP_SECONDS"]
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._waiters: dict[int, threading.Event] = {}
        self._waiters_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._start_lock = threading.Lock()
        self.texts = TextBatcher(self.runners, self.batch_size, self.batch_wait)

    # The interface the services use --------------------------------------------------------

    def enqueue(self, comment_ids: Iterable[int]) -> bool:
        """Queue these comments; True (an in-memory queue always takes them). The threads
        that score them start with the first request (create_app), not here."""
        for comment_id in comment_ids:
            with self._waiters_lock:
                self._waiters.setdefault(comment_id, threading.Event())
            self._queue.put(comment_id)
        return True

    def wait(self, comment_id: int, timeout: float) -> bool:
        """Block until this comment has been dealt with (decided or held), or `timeout`."""
        with self._waiters_lock:
            event = self._waiters.setdefault(comment_id, threading.Event())
        try:
            return event.wait(timeout)
        finally:
            with self._waiters_lock:
                if self._waiters.get(comment_id) is event:
                    del self._waiters[comment_id]

    def score_texts(self, texts: Sequence[str], timeout: float) -> TextScores:
        """Score the API's texts in this process, batched with other calls (TextBatcher)."""
        return self.texts.score(texts, timeout)

    def gauges(self) -> dict[str, tuple[str, float]]:
        """Gauges of this backend for /metrics (the thread's numbers are all in its metrics)."""
        return {}

    def model_version(self) -> str | None:
        """The version of the model this process's worker scores with now."""
        return self.scorer.version

    def problem(self) -> str | None:
        """Why comments cannot be scored now (shown to staff), or None."""
        return (self.scorer.error or "model failed") if self.scorer.state == "failed" else None

    @property
    def scorer(self) -> Scorer:
        """The model the worker runs now (it may switch: services/live_model)."""
        return self.runner.scorer

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    # Life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the worker and the sweeper threads (once); the model loads in the worker."""
        with self._start_lock:
            if self._threads or self._stop.is_set():
                return
            threads = [
                threading.Thread(target=self._run, args=(runner, index == 0), daemon=True,
                                 name="scoring-worker" + (f"-{index + 1}" if index else ""))
                for index, runner in enumerate(self.runners)
            ]  # fmt: skip
            threads.append(
                threading.Thread(target=self._sweep, name="scoring-sweeper", daemon=True)
            )
            for thread in threads:
                self._threads.append(thread)
                thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        for _ in self.runners:
            self._queue.put(_WAKE_UP)
        self.texts.stop(timeout)
        for thread in self._threads:
            thread.join(timeout)

    # Threads ---------------------------------------------------------------------------------

    def _run(self, runner: BatchScorer, first: bool) -> None:
        """One model instance's thread. The first also queues what awaits a score at start-up
        and does the background work (imports, « Essai ») when no comment waits."""
        try:
            runner.load()
        except ScoringUnavailable as error:
            logger.error("scoring unavailable: %s", error)
        if first:
            try:
                with self.app.app_context():
                    self.enqueue_ids(scoring.awaiting_ids())
            except Exception:  # the database is not there (yet): the sweeper queues them later
                logger.exception("could not queue the comments awaiting a score at start-up")
        background_at = 0.0 if first else float("inf")  # when to look for imported comments
        while not self._stop.is_set():
            busy = time.monotonic() >= background_at
            batch = self._next_batch(wait=0.0 if busy else 0.2)
            if batch:
                self._process(batch, runner)
                continue
            runner.follow()  # a newly promoted model loads while no comment waits
            if busy and not self._background():
                background_at = time.monotonic() + self.sweep_interval

    def _background(self) -> bool:
        """One batch of imported comments, or else of the « Essai » candidate; False when
        none waits (or it failed)."""
        try:
            return (
                self.runner.process_background(self.batch_size) > 0
                or self.runner.process_shadow(self.batch_size) > 0
            )
        except Exception:  # never let the worker die: the claims lapse, and it tries again
            logger.exception("background scoring batch failed")
            return False

    def enqueue_ids(self, ids: list[int]) -> None:
        for comment_id in ids:
            self._queue.put(comment_id)

    def _next_batch(self, wait: float = 0.2) -> list[int]:
        try:
            first = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            return []
        if first == _WAKE_UP:
            return []
        batch = [first]
        deadline = _batch_deadline(self._queue, self.batch_wait)
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return [i for i in dict.fromkeys(batch) if i != _WAKE_UP]

    def _process(self, ids: list[int], runner: BatchScorer) -> None:
        try:
            done = runner.process(ids)
            logger.debug("batch of %d: %d decided", len(ids), len(done))
        except Exception:  # never let the worker die: the sweeper will find these again
            logger.exception("scoring batch failed")
        finally:
            self._notify(ids)

    def _notify(self, ids: Iterable[int]) -> None:
        with self._waiters_lock:
            for comment_id in ids:
                event = self._waiters.get(comment_id)
                if event is not None:
                    event.set()

    def _sweep(self) -> None:
        while not self._stop.wait(self.sweep_interval):
            try:
                with self.app.app_context():
                    self.enqueue_ids(scoring.sweep())
            except Exception:
                logger.exception("scoring sweep failed")

    @property
    def batches(self) -> list[int]:
        return [size for runner in self.runners for size in runner.batches]

    def status(self) -> dict[str, Any]:
        found = {
            "backend": "thread",
            "running": self.running,
            "queued": self._queue.qsize(),
            "instances": len(self.runners),
            **self.runner.status(),
        }
        if len(self.runners) > 1:  # every instance's totals together
            found["totals"] = {
                key: sum(r.totals[key] for r in self.runners) for key in self.runner.totals
            }
        return found
