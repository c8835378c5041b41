"""Runtime ``onnx``: the int8 export of the tiny model scores like the torch runtime."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CommentScore, CommentStatus
from app.scoring import ScorerSettings, ScoringUnavailable, get_scorer
from app.scoring.onnx import OnnxScorer
from bench.tiny_checkpoints import TinyCheckpoint
from tests.conftest import NEUTRAL, OnnxExport, comments_in_db

BOUND = 0.05  # ONNX_MAX_SCORE_DIFF's default, which the export was checked against
EXPORT_HINT = "run `flask --app wsgi model export`"


def words(n: int, trigger: str | None = None, at: int = 0) -> str:
    """``n`` one-token neutral words, with ``trigger`` as token number ``at`` (0-based)."""
    tokens = ["hello"] * n
    if trigger is not None:
        tokens.insert(at, trigger)
    return " ".join(tokens)


def settings_for(model: TinyCheckpoint, folder: Path | str, **extra: Any) -> ScorerSettings:
    return ScorerSettings(
        checkpoint=str(model.checkpoint),
        hf_config=str(model.hf_config),
        onnx_dir=str(folder),
        **extra,
    )


@pytest.fixture
def onnx_scorer(onnx_export: OnnxExport, tiny_model: TinyCheckpoint) -> OnnxScorer:
    assert onnx_export.exit_code == 0, onnx_export.output
    scorer = get_scorer(settings_for(tiny_model, onnx_export.folder), runtime="onnx")
    assert isinstance(scorer, OnnxScorer)
    return scorer


def assert_readable(message: str) -> None:
    assert message and "\n" not in message and "Traceback" not in message


# -- registry and settings --------------------------------------------------------------------


def test_the_onnx_runtime_is_registered_and_names_its_source(
    onnx_scorer: OnnxScorer,
) -> None:
    assert (onnx_scorer.state, onnx_scorer.categories) == ("not_loaded", [])
    assert onnx_scorer.name == "onnx-int8:detoxify-checkpoint:tiny-words.ckpt"
    assert onnx_scorer.version.startswith("tiny-words.ckpt (detoxify ")
    assert ", onnx-int8 (onnxruntime " in onnx_scorer.version


def test_settings_read_the_onnx_folder_from_config() -> None:
    config = {"DETOXIFY_MODEL": "multilingual", "DETOXIFY_ONNX_DIR": " /models/onnx "}
    assert ScorerSettings.from_config(config).onnx_dir == "/models/onnx"
    assert ScorerSettings.from_config({"DETOXIFY_ONNX_DIR": ""}).onnx_dir is None
    assert ScorerSettings.from_config({}).onnx_dir is None


def test_spinning_is_read_from_config_and_off_unless_asked() -> None:
    assert ScorerSettings.from_config({}).onnx_spinning is False
    assert ScorerSettings.from_config({"DETOXIFY_ONNX_SPINNING": "1"}).onnx_spinning is True
    assert ScorerSettings.from_config({"DETOXIFY_ONNX_SPINNING": False}).onnx_spinning is False
    with pytest.raises(ValueError, match="DETOXIFY_ONNX_SPINNING"):
        ScorerSettings.from_config({"DETOXIFY_ONNX_SPINNING": "maybe"})


@pytest.mark.parametrize(("spinning", "entry"), [(False, "0"), (True, "1")])
def test_the_session_spins_only_when_asked(
    onnx_export: OnnxExport, tiny_model: TinyCheckpoint, spinning: bool, entry: str
) -> None:
    """Spinning threads burn the CPU that web processes on the same cores need."""
    settings = settings_for(tiny_model, onnx_export.folder, onnx_spinning=spinning)
    scorer = get_scorer(settings, runtime="onnx")
    scorer.load()
    options = scorer.loaded().session.get_session_options()  # type: ignore[attr-defined]
    for key in ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning"):
        assert options.get_session_config_entry(key) == entry
    [result] = scorer.score(["idiot"])
    assert result.scores["insult"] > 0.5  # it still scores


# -- scores -----------------------------------------------------------------------------------


def test_onnx_scores_like_torch(
    onnx_scorer: OnnxScorer, tiny_scorer: Any, tiny_model: TinyCheckpoint
) -> None:
    texts = [
        "Bonjour, merci pour cet article.",
        "Quel connard",
        "Quel idiot",
        "Quelle merde",
        words(700, "connard", at=650),  # past the first window
        words(1000, "idiot", at=3),
        words(600),
    ]
    onnx_results = onnx_scorer.score(texts)
    torch_results = tiny_scorer.score(texts)
    assert onnx_scorer.state == "ready"
    assert onnx_scorer.categories == tiny_model.classes
    assert onnx_scorer.max_tokens == 512
    assert [r.windowed for r in onnx_results] == [False] * 4 + [True] * 3
    for onnx_result, torch_result in zip(onnx_results, torch_results, strict=True):
        assert onnx_result.windowed == torch_result.windowed
        assert list(onnx_result.scores) == tiny_model.classes
        for category, value in torch_result.scores.items():
            assert onnx_result.scores[category] == pytest.approx(value, abs=BOUND)
    expected = [
        tiny_model.neutral,
        tiny_model.triggers["connard"],
        tiny_model.triggers["idiot"],
        tiny_model.triggers["merde"],
        tiny_model.triggers["connard"],
        tiny_model.triggers["idiot"],
        tiny_model.neutral,
    ]
    for result, scores in zip(onnx_results, expected, strict=True):
        assert result.scores == pytest.approx(scores, abs=0.02)
    assert onnx_results[4].scores["toxicity"] > 0.9  # the window after token 512 was scored
    assert onnx_results[6].scores["toxicity"] == pytest.approx(NEUTRAL, abs=0.01)


def test_onnx_uses_the_same_windows_and_batches(
    onnx_scorer: OnnxScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    onnx_scorer.load()
    session = onnx_scorer.loaded().session  # type: ignore[attr-defined]
    run = session.run
    shapes: list[tuple[int, ...]] = []

    def spy(names: Any, feed: dict[str, np.ndarray], *args: Any) -> Any:
        assert set(feed) == {"input_ids", "attention_mask"}
        assert all(value.dtype == np.int64 for value in feed.values())
        shapes.append(feed["input_ids"].shape)
        return run(names, feed, *args)

    monkeypatch.setattr(session, "run", spy)
    onnx_scorer.score(["hello"] * 20 + [words(30, "idiot")])
    assert shapes == [(20, 3), (1, 33)]  # max_batch_tokens 512: the long one goes alone
    shapes.clear()
    onnx_scorer.score([words(1000, "idiot", at=3)])
    # 1,000 tokens in windows of 510 sharing 128: three windows; the two full ones together
    # would pass the 512-position budget, so each window is a forward pass of its own.
    assert shapes == [(1, 239), (1, 512), (1, 512)]


def test_inference_failures_give_no_score(
    onnx_scorer: OnnxScorer, monkeypatch: pytest.MonkeyPatch
) -> None:
    onnx_scorer.load()
    session = onnx_scorer.loaded().session  # type: ignore[attr-defined]

    def nan(names: Any, feed: dict[str, np.ndarray], *args: Any) -> list[np.ndarray]:
        return [np.full((feed["input_ids"].shape[0], 7), np.nan, dtype=np.float32)]

    monkeypatch.setattr(session, "run", nan)
    with pytest.raises(ScoringUnavailable, match="^ONNX Runtime inference failed: ") as caught:
        onnx_scorer.score(["hello"])
    assert_readable(str(caught.value))
    assert onnx_scorer.state == "ready"


# -- failing closed ---------------------------------------------------------------------------


def test_missing_export_fails_closed(tiny_model: TinyCheckpoint, tmp_path: Path) -> None:
    folder = tmp_path / "never-exported"
    scorer = get_scorer(settings_for(tiny_model, folder), runtime="onnx")
    with pytest.raises(ScoringUnavailable) as caught:
        scorer.load()
    message = str(caught.value)
    assert message == (f"no exported ONNX model in DETOXIFY_ONNX_DIR {folder}: {EXPORT_HINT} first")
    assert_readable(message)
    assert (scorer.state, scorer.error, scorer.categories) == ("failed", message, [])
    with pytest.raises(ScoringUnavailable, match="is not available: no exported ONNX model"):
        scorer.score(["Quel connard"])


def test_export_of_another_checkpoint_is_not_used(onnx_export: OnnxExport, tmp_path: Path) -> None:
    other = ScorerSettings(
        checkpoint=str(tmp_path / "other.ckpt"), onnx_dir=str(onnx_export.folder)
    )
    scorer = get_scorer(other, runtime="onnx")
    with pytest.raises(ScoringUnavailable) as caught:
        scorer.load()
    assert str(caught.value) == (
        f"DETOXIFY_ONNX_DIR {onnx_export.folder} holds an export of "
        "detoxify-checkpoint:tiny-words.ckpt, not of the configured model "
        f"detoxify-checkpoint:other.ckpt: {EXPORT_HINT} again"
    )
    assert scorer.state == "failed"


def test_broken_manifest_and_gpu_device_fail_closed(
    onnx_export: OnnxExport, tiny_model: TinyCheckpoint, tmp_path: Path
) -> None:
    gpu = get_scorer(settings_for(tiny_model, onnx_export.folder, device="cuda"), runtime="onnx")
    with pytest.raises(ScoringUnavailable, match="runs on the CPU; DETOXIFY_DEVICE is 'cuda'"):
        gpu.load()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes((onnx_export.folder / "model.onnx").read_bytes())
    (broken / "manifest.json").write_text('{"format": 1}', encoding="utf-8")
    scorer = get_scorer(settings_for(tiny_model, broken), runtime="onnx")
    with pytest.raises(ScoringUnavailable, match="is not the manifest of a `flask") as caught:
        scorer.load()
    assert_readable(str(caught.value))
    assert scorer.state == "failed"


# -- in the app -------------------------------------------------------------------------------


@pytest.fixture
def config_overrides(onnx_export: OnnxExport, tiny_model: TinyCheckpoint) -> dict[str, Any]:
    return {
        "DETOXIFY_RUNTIME": "onnx",
        "DETOXIFY_CHECKPOINT": str(tiny_model.checkpoint),
        "DETOXIFY_HF_CONFIG": str(tiny_model.hf_config),
        "DETOXIFY_ONNX_DIR": str(onnx_export.folder),
    }


@pytest.fixture
def scorer() -> None:
    """No scorer given: the app builds its own from its config, as in production."""
    return None


def test_an_app_with_the_onnx_runtime_scores_posted_comments(app: Any, reader: Any) -> None:
    from app.services import settings

    settings.set_value("nudge_enabled", False)  # decide at once, without asking the author
    assert isinstance(app.extensions["scoring_runner"].scorer, OnnxScorer)
    reader.post(body="Quel connard, cet auteur")
    reader.post(body="Merci pour ce reportage.")
    rejected, published = comments_in_db()
    assert rejected.status == CommentStatus.REJECTED
    assert published.status == CommentStatus.PUBLISHED
    rows = db.session.scalars(sa.select(CommentScore).order_by(CommentScore.comment_id)).all()
    assert [row.model_name for row in rows] == ["onnx-int8:detoxify-checkpoint:tiny-words.ckpt"] * 2
    assert rows[0].scores["toxicity"] == pytest.approx(0.95, abs=0.02)
    assert rows[1].scores["toxicity"] == pytest.approx(NEUTRAL, abs=0.01)


def test_the_export_leaves_the_torch_model_as_it_ran(tiny_model: TinyCheckpoint, tmp_path: Path):
    """The export runs eager attention (faster in ONNX Runtime, same scores); the torch
    runtime's model is given its own attention back."""
    from app.scoring.export import export_onnx

    scorer = get_scorer(
        ScorerSettings(checkpoint=str(tiny_model.checkpoint), hf_config=str(tiny_model.hf_config))
    )
    model = scorer.loaded().model
    before = model.config._attn_implementation
    assert before != "eager"
    report = export_onnx(scorer, tmp_path / "onnx", max_diff=0.05, probes=["Merci.", "Quel idiot."])
    assert report.saved
    assert model.config._attn_implementation == before


# -- stored shapes of the exported graph (issue #10) ------------------------------------------

ISSUE_10 = "Inferred shape and existing shape differ in dimension 0: (32) vs (7)"


def _stale_classifier_shape(path: str) -> None:
    """Leave in the saved graph what the failing machines' exporter left (issue #10): the
    classifier's weight stored transposed, [hidden 32, labels 7], as a folded Transpose is,
    but still declared with the weight's own shape, [7, 32]."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(path)
    graph = model.graph
    (gemm,) = [node for node in graph.node if node.output[0] == "logits"]
    assert gemm.op_type == "Gemm", gemm  # this exporter's classifier head
    (trans_b,) = [attr for attr in gemm.attribute if attr.name == "transB"]
    assert trans_b.i == 1
    weight = numpy_helper.to_array(next(t for t in graph.initializer if t.name == gemm.input[1]))
    transposed = "classifier.weight.transposed"
    graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(weight.T), transposed))
    graph.value_info.append(
        onnx.helper.make_tensor_value_info(transposed, onnx.TensorProto.FLOAT, list(weight.shape))
    )
    gemm.input[1] = transposed
    trans_b.i = 0
    onnx.save(model, path)


def _save_then(change: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the exporter's ONNXProgram.save leave ``change(path)``-ed graphs; returns the paths."""
    import torch

    save = torch.onnx.ONNXProgram.save
    saved: list[str] = []

    def changed_save(self: Any, destination: Any, **kwargs: Any) -> None:
        save(self, destination, **kwargs)
        change(str(destination))
        saved.append(str(destination))

    monkeypatch.setattr(torch.onnx.ONNXProgram, "save", changed_save)
    return saved


def test_a_stale_stored_shape_from_the_exporter_is_inferred_again(
    tiny_scorer: Any,
    tiny_model: TinyCheckpoint,
    onnx_export: OnnxExport,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue #10's failure, built on purpose: the quantizer's own (non-strict) shape inference
    refuses the graph; the export drops the stored shapes, infers them again and succeeds, and
    the probe comments score as they do from a clean graph."""
    import onnx
    from onnx.shape_inference import InferenceError

    from app.scoring.export import export_onnx

    def stale(path: str) -> None:
        _stale_classifier_shape(path)
        with pytest.raises(InferenceError, match=re.escape(ISSUE_10)):  # the issue's error
            onnx.shape_inference.infer_shapes_path(path, str(tmp_path / "inferred.onnx"))

    saved = _save_then(stale, monkeypatch)
    report = export_onnx(tiny_scorer, tmp_path / "onnx", max_diff=BOUND)
    assert len(saved) == 1
    assert report.saved, report.over_bound
    clean = json.loads((onnx_export.folder / "manifest.json").read_text(encoding="utf-8"))
    clean_diffs = clean["probe"]["differences"]
    assert [d.category for d in report.differences] == list(clean_diffs) == tiny_model.classes
    for difference in report.differences:
        assert difference.difference <= BOUND
        assert difference.difference == pytest.approx(
            clean_diffs[difference.category]["max"], abs=1e-3
        )
    scorer = get_scorer(settings_for(tiny_model, tmp_path / "onnx"), runtime="onnx")
    (insult,) = scorer.score(["Quel connard"])
    assert insult.scores == pytest.approx(tiny_model.triggers["connard"], abs=0.02)


def test_an_output_declared_with_another_shape_is_named_at_export(
    tiny_scorer: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real contradiction (logits declared [batch, 32], computed [batch, 7]) is not hidden:
    the strict shape check names it, and nothing is saved."""
    import onnx

    from app.scoring.export import ExportError, export_onnx

    def wrong_output(path: str) -> None:
        model = onnx.load(path)
        (logits,) = model.graph.output
        logits.type.tensor_type.shape.dim[1].dim_value = 32
        onnx.save(model, path)

    _save_then(wrong_output, monkeypatch)
    models = tmp_path / "models"
    with pytest.raises(ExportError) as caught:
        export_onnx(tiny_scorer, models / "onnx", max_diff=BOUND, probes=["Merci."])
    message = str(caught.value)
    assert_readable(message)
    assert message.startswith(
        "could not export detoxify-checkpoint:tiny-words.ckpt: the shape check of the exported "
        "graph (onnx strict shape inference) failed: InferenceError: "
    )
    assert "(7) vs (32)" in message
    assert list(models.iterdir()) == []
