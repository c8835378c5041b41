"""Command-line tools, run as an operator would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from app.models import CommentScore, CommentStatus
from app.scoring.probe import PROBES
from tests.conftest import TRIGGERS, add_comment, comments_in_db, run_export

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


def test_what_sending_anyway_does_is_set_from_the_command_line(app):
    from app.services import settings

    runner = app.test_cli_runner()
    result = runner.invoke(args=["settings", "set", "nudge_sent_anyway", "thresholds"])
    assert result.exit_code == 0, result.output
    assert settings.get("nudge_sent_anyway") == "thresholds"
    assert "nudge_sent_anyway = 'thresholds'" in runner.invoke(args=["settings", "show"]).output
    assert runner.invoke(args=["settings", "set", "nudge_sent_anyway", "jamais"]).exit_code == 2


# -- model export ------------------------------------------------------------------------------

DIFF_ROW = re.compile(r"^  (\w+) +(\d\.\d{4})  #(\d+) +« (.+) »$", re.MULTILINE)


def test_model_export_prints_the_differences_and_saves_an_int8_model(onnx_export, tiny_model):
    import onnx

    assert onnx_export.exit_code == 0, onnx_export.output
    out = onnx_export.output
    folder = onnx_export.folder
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    rows = {m[1]: (float(m[2]), int(m[3]), m[4]) for m in DIFF_ROW.finditer(out)}
    assert list(rows) == tiny_model.classes
    measured = manifest["probe"]["differences"]
    for category, (printed, probe, preview) in rows.items():
        assert printed == round(measured[category]["max"], 4)
        assert probe == measured[category]["probe"]
        assert printed <= 0.05
        assert PROBES[probe].startswith(preview.rstrip("…"))
    # int8 moves the scores a little where the model reacts (the trigger words), not to zero.
    insult, probe, _ = rows["insult"]
    assert 0 < insult <= 0.05
    assert any(word in PROBES[probe].lower() for word in TRIGGERS)
    windowed = manifest["probe"]["windowed"]
    assert windowed >= 2  # long probes exercise the windows
    assert f"probe    {len(PROBES)} French comments, {windowed} of them longer than one" in out
    largest = max(rows.items(), key=lambda item: item[1][0])
    assert f"largest  {largest[1][0]:.4f} ({largest[0]}), bound 0.05" in out
    assert f"saved    {folder} (" in out

    assert manifest["format"] == 1
    assert manifest["classes"] == tiny_model.classes
    assert (manifest["max_positions"], manifest["special_tokens"]) == (512, 2)
    assert manifest["inputs"] == ["input_ids", "attention_mask"]
    assert manifest["opset"] == 18
    assert manifest["source"]["name"] == "detoxify-checkpoint:tiny-words.ckpt"
    assert manifest["source"]["checkpoint"] == str(tiny_model.checkpoint)
    assert manifest["probe"]["comments"] == len(PROBES)
    assert manifest["probe"]["max_score_diff"] == 0.05
    assert datetime.fromisoformat(manifest["created_at"]).tzinfo is not None
    assert {"model.onnx", "manifest.json", "tokenizer.json", "config.json"} <= {
        p.name for p in folder.iterdir()
    }
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp folder

    model = onnx.load(str(folder / "model.onnx"))
    weights = {tensor.name for tensor in model.graph.initializer}
    float_weights = [
        node.name
        for node in model.graph.node
        if node.op_type in ("MatMul", "Gemm") and node.input[1] in weights
    ]
    assert float_weights == []  # every weight matrix is int8
    assert any(node.op_type == "MatMulInteger" for node in model.graph.node)


def test_model_export_refuses_beyond_max_diff_and_saves_nothing(tiny_model, tmp_path):
    models = tmp_path / "models"
    target = models / "onnx"
    result = run_export(tiny_model, tmp_path, "--output", str(target), "--max-diff", "0")
    assert result.exit_code == 1, result.output
    assert "Refused: the ONNX scores differ from torch's by more than 0 (" in result.output
    assert f"nothing was saved to {target}." in result.output
    assert "Traceback" not in result.output
    assert list(models.iterdir()) == []  # neither the model nor a temporary folder


def test_refused_model_export_keeps_the_earlier_export(tiny_model, onnx_export, tmp_path):
    target = tmp_path / "onnx"
    shutil.copytree(onnx_export.folder, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    result = run_export(tiny_model, tmp_path, "--output", str(target), "--max-diff", "0.0001")
    assert result.exit_code == 1
    assert "by more than 0.0001 (" in result.output
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".onnx")]


def test_model_export_replaces_an_earlier_export(tiny_model, onnx_export, tmp_path):
    target = tmp_path / "onnx"
    shutil.copytree(onnx_export.folder, target)
    (target / "stale.txt").write_text("from an earlier export", encoding="utf-8")
    result = run_export(
        tiny_model, tmp_path, DETOXIFY_ONNX_DIR=str(target), ONNX_MAX_SCORE_DIFF=0.5
    )
    assert result.exit_code == 0, result.output
    assert "bound 0.5" in result.output
    assert not (target / "stale.txt").exists()
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["probe"]["max_score_diff"] == 0.5


def test_a_failed_export_step_is_named_with_the_versions_that_ran_it(
    tiny_model, tmp_path, monkeypatch
):
    """An upstream break (issue #10: the quantizer's shape inference with some releases) says
    which step failed, on which versions, in one line, and saves nothing."""
    from importlib.metadata import version

    import onnxruntime.quantization
    from onnx.shape_inference import InferenceError

    reported = "[ShapeInferenceError] Inferred shape and existing shape differ in dimension 0"

    def quantize_dynamic(*args, **kwargs):
        raise InferenceError(f"{reported}: (32) vs (7)")

    monkeypatch.setattr(onnxruntime.quantization, "quantize_dynamic", quantize_dynamic)
    models = tmp_path / "models"
    result = run_export(tiny_model, tmp_path, "--output", str(models / "onnx"))
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if line.startswith("Export failed:"))
    assert (
        ": int8 quantization (onnxruntime quantize_dynamic) failed: "
        f"InferenceError: {reported}: (32) vs (7) ("
    ) in line
    versions = ("torch", "transformers", "onnx", "onnxscript", "onnx-ir", "onnxruntime")
    assert line.endswith("(" + ", ".join(f"{name} {version(name)}" for name in versions) + ")")
    assert "Traceback" not in result.output
    assert list(models.iterdir()) == []  # neither the model nor a temporary folder


def test_model_export_without_a_model_fails_clearly(tmp_path):
    result = _flask(["model", "export"], tmp_path)
    assert result.returncode == 1
    assert "Model unavailable: could not download the Detoxify 'multilingual'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "models" / "multilingual-onnx-int8").exists()


def test_model_export_auto_times_the_runtimes_and_records_the_fastest_accurate(
    tiny_model, tmp_path
):
    from app.scoring import ScorerSettings, get_scorer
    from app.scoring.detoxify import DetoxifyScorer
    from app.scoring.onnx import OnnxScorer

    target = tmp_path / "onnx"
    result = run_export(tiny_model, tmp_path, "--runtime", "auto", DETOXIFY_ONNX_DIR=str(target))
    assert result.exit_code == 0, result.output
    recorded = json.loads((target / "runtime.json").read_text(encoding="utf-8"))
    measured = recorded["measured"]
    assert {("torch", "cpu"), ("onnx", "cpu")} <= {(m["runtime"], m["device"]) for m in measured}
    for m in measured:
        assert m["per_second"] > 0 and m["p50_ms"] > 0
        assert f"  {m['runtime'] if m['device'] == 'cpu' else m['runtime'] + ' (cuda)'}" in (
            result.output
        )
    assert next(m for m in measured if m["runtime"] == "torch")["max_difference"] < 1e-5
    fastest = max((m for m in measured if m["max_difference"] <= 0.05),
                  key=lambda m: m["per_second"])  # fmt: skip
    assert (recorded["runtime"], recorded["device"]) == (fastest["runtime"], fastest["device"])
    assert "chosen   " in result.output and "runtime.json" in result.output

    # DETOXIFY_RUNTIME=auto (the default) follows the record, for this checkpoint only.
    model = {"checkpoint": str(tiny_model.checkpoint), "hf_config": str(tiny_model.hf_config)}
    settings = ScorerSettings(**model, onnx_dir=str(target))
    chosen = get_scorer(settings)
    assert isinstance(chosen, OnnxScorer if recorded["runtime"] == "onnx" else DetoxifyScorer)
    for runtime, kind in (("onnx", OnnxScorer), ("torch", DetoxifyScorer)):
        (target / "runtime.json").write_text(json.dumps({**recorded, "runtime": runtime,
                                                         "device": "cpu"}))  # fmt: skip
        assert isinstance(get_scorer(settings, runtime="auto"), kind)
    other = {**recorded, "runtime": "onnx", "model_version": "un autre modèle"}
    (target / "runtime.json").write_text(json.dumps(other))
    assert isinstance(get_scorer(settings), DetoxifyScorer)  # chosen for another model
    (target / "runtime.json").unlink()
    assert isinstance(get_scorer(settings), DetoxifyScorer)  # nothing chosen: torch
