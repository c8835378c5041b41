"""Command-line tools, run as an operator would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.models import CommentScore, CommentStatus
from tests.conftest import add_comment, comments_in_db

ROOT = Path(__file__).resolve().parents[1]


def _flask(args, tmp_path, **env):
    full_env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "SECRET_KEY": "x",
        "HF_HUB_OFFLINE": "1",
        "MODEL_DIR": str(tmp_path / "models"),
        # No download may succeed from a test, whatever the machine can reach.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_model_check_scores_a_probe_with_the_configured_model(tmp_path, tiny_model):
    result = _flask(
        ["model", "check", "--text", "Quel connard"],
        tmp_path,
        DETOXIFY_CHECKPOINT=str(tiny_model.checkpoint),
        DETOXIFY_HF_CONFIG=str(tiny_model.hf_config),
    )
    assert result.returncode == 0, result.stderr
    assert "toxicity           0.9500" in result.stdout
    assert "score    " in result.stdout and " ms" in result.stdout


def test_model_check_without_a_model_fails_clearly(tmp_path):
    result = _flask(["model", "check"], tmp_path)
    assert result.returncode == 1
    assert "Model unavailable: could not download the Detoxify 'multilingual'" in result.stderr
    assert "Traceback" not in result.stderr


def test_model_download_without_internet_fails_with_a_clear_message(tmp_path):
    result = _flask(["model", "download"], tmp_path)
    assert result.returncode == 1
    assert "Download failed: could not download the Detoxify 'multilingual' checkpoint" in (
        result.stderr
    )
    assert "The site still starts" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any((tmp_path / "models").rglob("*.part"))


def test_rescore_scores_a_chosen_set_again(app, article):
    held = add_comment(article, "Quel idiot", status=CommentStatus.HELD)
    other = add_comment(article, "Bonjour")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["comments", "rescore", "--ids", f"{held.id}"])
    assert result.exit_code == 0, result.output
    assert "1 comments rescored, 0 of them decided by the policy." in result.output
    from app.extensions import db

    db.session.expire_all()
    score = db.session.get(CommentScore, held.id)
    assert score is not None and abs(score.scores["insult"] - 0.7) < 0.01
    assert db.session.get(CommentScore, other.id) is None
    assert comments_in_db()[0].status == CommentStatus.HELD  # a human's decision stays


def test_rescore_decides_comments_still_awaiting_a_score(app, article):
    waiting = add_comment(article, "Bonjour", status=CommentStatus.HELD, awaiting_score=True)
    result = app.test_cli_runner().invoke(args=["comments", "rescore", "--status", "held"])
    assert "1 comments rescored, 1 of them decided by the policy." in result.output
    assert comments_in_db()[0].status == CommentStatus.PUBLISHED
    assert waiting.id == comments_in_db()[0].id


def test_rescore_refuses_bad_ids(app):
    result = app.test_cli_runner().invoke(args=["comments", "rescore", "--ids", "a,b"])
    assert result.exit_code == 2
    assert "comma-separated numbers" in result.output


def test_nudges_can_be_switched_off_from_the_command_line(app):
    from app.services import settings

    runner = app.test_cli_runner()
    result = runner.invoke(args=["settings", "set", "nudge_enabled", "false"])
    assert result.exit_code == 0, result.output
    assert settings.get("nudge_enabled") is False
    shown = runner.invoke(args=["settings", "show"]).output
    assert "nudge_enabled = False" in shown
    assert "insult              0.50   0.90  0.50  yes" in shown
    assert runner.invoke(args=["settings", "set", "nudge_enabled", "peut-être"]).exit_code == 2
