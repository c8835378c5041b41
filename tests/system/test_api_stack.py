"""The API's texts through the production shape: gunicorn, a Celery worker, its own Redis.

Coral's exact `comments:analyze` request, from many clients at once, is scored by the worker
in shared model calls and read back as Coral reads it; with no worker left, the same request
gets a 503 within the wait, never a score.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bench.stack import Stack, wait_until
from tests.compat.coral_reader import (
    analyze_body,
    js_stringify,
    perspective_url,
    read_toxic_phase,
)

pytestmark = pytest.mark.system

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "perspective"
WAIT = "4"  # API_SCORING_WAIT_SECONDS: generous, the machine is shared by the whole suite


@pytest.fixture
def stack_settings() -> dict[str, str]:
    return {"API_SCORING_WAIT_SECONDS": WAIT, "SCORING_BATCH_WAIT_MS": "20"}


def _analyze(stack: Stack, key: str, text: str) -> tuple[int, str]:
    """Coral's request as its Perspective client builds it (a French tenant, defaults)."""
    body = js_stringify(analyze_body(text, do_not_store=True, model="TOXICITY", locale="fr-FR"))
    request = urllib.request.Request(
        perspective_url(f"{stack.base}/perspective/v1alpha1", "comments:analyze", key),
        data=body.encode(),
        headers=json.loads((FIXTURES / "coral_analyze_request.json").read_text())["headers"],
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _worker_totals(stack: Stack) -> dict:
    return json.loads(stack.get("/healthz")[1])["scoring"]["totals"]


def test_coral_calls_are_batched_by_the_worker_and_fail_closed_without_it(stack: Stack) -> None:
    stack.start()
    key = stack.run("clients", "create", "coral", "--quota", "1000 per second").split()[-1]
    texts = [
        f"Commentaire {i} : quel connard." if i % 4 == 0 else f"Commentaire {i} : un avis posé."
        for i in range(24)
    ]
    before = _worker_totals(stack)
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda t: _analyze(stack, key, t), texts))
    assert [status for status, _ in answers] == [200] * len(texts)
    for text, (status, body) in zip(texts, answers, strict=True):
        read = read_toxic_phase(status, body)  # as Coral's toxic phase reads it
        assert read.is_toxic == ("connard" in text), (text, body)
    # The worker heartbeats every 5 s: wait for the one that counts these texts.
    assert wait_until(
        lambda: _worker_totals(stack)["comments"] - before["comments"] >= len(texts), 15
    ), _worker_totals(stack)
    after = _worker_totals(stack)
    assert after["batches"] - before["batches"] < len(texts)  # shared model calls

    stack.stop("worker1")
    started = time.monotonic()
    status, body = _analyze(stack, key, "Un avis posé.")
    assert status == 503
    assert json.loads(body)["error"]["status"] == "UNAVAILABLE"
    assert "attributeScores" not in body
    assert time.monotonic() - started < float(WAIT) + 3
