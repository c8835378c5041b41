"""Prometheus metrics: the scoring batches, model time, decisions and failures, how long
readers waited for a decision, and (read at scrape time) how many comments await a score.

Served at /metrics (app/api) in Prometheus' text format. Each app has its own registry, so
that several apps in one process (the tests) never mix their counts. Under gunicorn, whose
processes each count their own requests, Prometheus' multiprocess mode adds them up
(PROMETHEUS_MULTIPROC_DIR, set by gunicorn.conf.py). A Celery worker serves its own metrics
(WORKER_METRICS_PORT); the web's /metrics also says how many workers are alive.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.batch_size = Histogram(
            "moderation_scoring_batch_size",
            "Comments scored together in one model call.",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.scoring_seconds = Histogram(
            "moderation_scoring_seconds",
            "Time the model took for one batch.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=self.registry,
        )
        self.decisions = Counter(
            "moderation_decisions",
            "Comments decided after scoring, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.failures = Counter(
            "moderation_scoring_failures",
            "Comments the model could not score (held for a human, retried later).",
            registry=self.registry,
        )
        self.draft_reuses = Counter(
            "moderation_draft_score_reuses",
            "Comments decided at once from the score of their draft (scored while the reader "
            "typed): no model call.",
            registry=self.registry,
        )
        self.wait_seconds = Histogram(
            "moderation_decision_wait_seconds",
            "How long a reader's request waited for its comment's decision (bounded by "
            "SCORING_WAIT_SECONDS).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
            registry=self.registry,
        )


class _Gauges(Collector):
    """Values read at scrape time (from the database, from the workers' heartbeats)."""

    def __init__(self, values: Mapping[str, tuple[str, float]]) -> None:
        self.values = values

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (help_text, value) in self.values.items():
            yield GaugeMetricFamily(name, help_text, value=value)


def render(metrics: Metrics, gauges: Mapping[str, tuple[str, float]]) -> bytes:
    """The text exposition: this process's metrics (or every gunicorn process's, in
    multiprocess mode), then the gauges read now."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        source = CollectorRegistry()
        multiprocess.MultiProcessCollector(source)
    else:
        source = metrics.registry
    now = CollectorRegistry()
    now.register(_Gauges(gauges))
    return generate_latest(source) + generate_latest(now)
