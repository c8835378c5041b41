"""Prometheus metrics of one process: the scoring worker's batches, latency, decisions and
failures, and (read at scrape time) how many comments await a score.

Served at /metrics (app/api) in Prometheus' text format. Each app has its own registry, so
that several apps in one process (the tests) never mix their counts.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.wait_seconds = Histogram(
            "moderation_decision_wait_seconds",
            "How long a reader's request waited for its comment's decision (bounded by "
            "SCORING_WAIT_SECONDS).",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "moderation_queue_depth",
            "Comments awaiting a score (read from the database at scrape time).",
            registry=self.registry,
        )
