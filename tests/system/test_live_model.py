"""A model promoted in « Essai » goes into service in every Celery worker without a restart,
and back: the production processes for real (gunicorn, two workers, beat, Redis)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bench.stack import Stack, wait_until
from bench.tiny_checkpoints import MULTILINGUAL_CLASSES, build_constant_checkpoint

pytestmark = pytest.mark.system


@pytest.fixture
def stack_settings() -> dict[str, str]:
    return {"MODEL_FOLLOW_SECONDS": "0.5"}


def _following(stack: Stack) -> list[str | None]:
    status, body = stack.get("/healthz")
    if not body.startswith("{"):
        return []
    return [w["live"].get("following") for w in json.loads(body)["scoring"]["workers"]]


def _model_of(stack: Stack, comment_id: int | None) -> str:
    assert comment_id is not None
    sql = f"SELECT model_name FROM comment_scores WHERE comment_id = {comment_id}"
    wait_until(lambda: stack.query(sql), 15)
    [(name,)] = stack.query(sql)
    return str(name)


def _write(stack: Stack, sql: str, **values: Any) -> None:
    engine = sa.create_engine(stack.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), values)
    finally:
        engine.dispose()


def test_every_worker_switches_to_the_promoted_model_and_back(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(name, "1")
    scores = dict.fromkeys(MULTILINGUAL_CLASSES, 0.01) | {"threat": 0.97}
    candidate = build_constant_checkpoint(tmp_path / "candidat", probabilities=scores)
    stack.start(workers=2)
    assert _following(stack) == [None, None]
    assert _model_of(stack, stack.post_comment("Un avis posé.")).endswith("tiny-words.ckpt")

    # What « Promouvoir » writes (services/live_model.promote).
    value = {"model_path": str(candidate.checkpoint), "hf_config": str(candidate.hf_config),
             "candidate": None, "promoted_at": "2026-12-07T12:00:00+00:00",
             "promoted_by": "Chef"}  # fmt: skip
    _write(stack, "INSERT INTO site_settings (key, value) VALUES ('live_model', :value)",
           value=json.dumps(value))  # fmt: skip
    path = str(candidate.checkpoint)
    assert wait_until(lambda: _following(stack) == [path, path], 30), _following(stack)
    for i in range(4):  # whichever worker takes it
        comment = stack.post_comment(f"Un second avis, le {i}e.", f"Lecteur{i}")
        assert _model_of(stack, comment).endswith("tiny-constant.ckpt")
    nudged = stack.query("SELECT count(*) FROM comments WHERE status = 'nudged'")[0][0]
    assert nudged == 4  # threat 0.97: its authors are asked to reconsider

    _write(stack, "DELETE FROM site_settings WHERE key = 'live_model'")  # « Revenir… »
    assert wait_until(lambda: _following(stack) == [None, None], 30), _following(stack)
    assert _model_of(stack, stack.post_comment("Un dernier avis.")).endswith("tiny-words.ckpt")
    assert "Traceback" not in stack.log("worker1") + stack.log("worker2")
