"""The Detoxify scorer, loaded through the production code from tiny real checkpoints, offline."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers
from detoxify import Detoxify
from detoxify import detoxify as dx

import app.scoring as scoring
from app.scoring import (
    Scorer,
    ScoreResult,
    ScorerSettings,
    ScoringUnavailable,
    available_runtimes,
    get_scorer,
    register,
)
from app.scoring.detoxify import DetoxifyScorer
from app.scoring.windows import clamp_overlap, usable_positions, window_spans
from bench.tiny_checkpoints import MULTILINGUAL_CLASSES, ORIGINAL_CLASSES, TinyCheckpoint
from tests.scoring.conftest import MakeScorer

REPO = Path(__file__).resolve().parents[2]
TOL = 1e-4


def words(n: int, trigger: str | None = None, at: int | None = None) -> str:
    """``n`` one-token neutral words, with ``trigger`` as token number ``at`` (0-based)."""
    tokens = ["hello"] * n
    if trigger is not None:
        tokens.insert(n if at is None else at, trigger)
    return " ".join(tokens)


def assert_scores(result: ScoreResult, expected: dict[str, float], tol: float = TOL) -> None:
    assert list(result.scores) == list(expected)
    for name, value in expected.items():
        assert result.scores[name] == pytest.approx(value, abs=tol), name


def assert_readable(message: str) -> None:
    assert message
    assert "\n" not in message
    assert "Traceback" not in message


# -- registry, settings, imports --------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "settings", "runtime", "name"),
    [
        ("app.scoring.detoxify", "", "torch", "detoxify-multilingual"),
        ("app.scoring.export", "onnx_dir='/nowhere'", "onnx", "onnx-int8:detoxify-multilingual"),
    ],
)
def test_importing_and_constructing_loads_nothing(module, settings, runtime, name) -> None:
    code = (
        "import sys\n"
        "import app.scoring as s\n"
        f"import {module}\n"
        f"scorer = s.get_scorer(s.ScorerSettings({settings}), runtime={runtime!r})\n"
        "heavy = ('torch', 'transformers', 'detoxify', 'onnx', 'onnxruntime', 'numpy')\n"
        "print([m for m in heavy if m in sys.modules], scorer.state, scorer.name)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == f"[] not_loaded {name}"


def test_registry() -> None:
    assert "torch" in available_runtimes()
    scorer = get_scorer(ScorerSettings())
    assert isinstance(scorer, DetoxifyScorer)
    assert isinstance(scorer, Scorer)
    assert (scorer.state, scorer.error, scorer.categories) == ("not_loaded", None, [])
    assert available_runtimes() == ["auto", "onnx", "torch"]
    unknown = "unknown scoring runtime 'tpu'; available: auto, onnx, torch"
    with pytest.raises(ValueError, match=unknown):
        get_scorer(ScorerSettings(), runtime="tpu")


def test_register_a_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring, "_registry", dict(scoring._registry))
    seen: list[ScorerSettings] = []

    def factory(settings: ScorerSettings) -> Scorer:
        seen.append(settings)
        return DetoxifyScorer(settings)

    register("remote", factory)
    settings = ScorerSettings(model="original")
    assert get_scorer(settings, runtime="remote").name == "detoxify-original"
    assert seen == [settings]
    assert available_runtimes() == ["auto", "onnx", "remote", "torch"]


def test_the_settings_accept_every_registered_runtime(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from app.config import ConfigError, load_config

    monkeypatch.setattr(scoring, "_registry", dict(scoring._registry))
    with pytest.raises(ConfigError, match="DETOXIFY_RUNTIME must be one of auto, onnx, torch"):
        load_config(str(tmp_path), environ={"DETOXIFY_RUNTIME": "remote"})
    register("remote", lambda settings: DetoxifyScorer(settings))
    config = load_config(str(tmp_path), environ={"DETOXIFY_RUNTIME": "remote"})
    assert config["DETOXIFY_RUNTIME"] == "remote"


def test_settings_from_config() -> None:
    settings = ScorerSettings.from_config(
        {
            "DETOXIFY_MODEL": "original",
            "DETOXIFY_CHECKPOINT": "/models/x.ckpt",
            "DETOXIFY_HF_CONFIG": " /models/hf ",
            "DETOXIFY_DEVICE": "cuda:1",
            "DETOXIFY_THREADS": "4",
            "DETOXIFY_WINDOW_TOKENS": 256,
            "DETOXIFY_WINDOW_STRIDE": "64",
            "DETOXIFY_MAX_BATCH": "8",
            "SECRET_KEY": "unrelated",
        }
    )
    assert settings == ScorerSettings(
        model="original",
        checkpoint="/models/x.ckpt",
        hf_config="/models/hf",
        device="cuda:1",
        threads=4,
        window_tokens=256,
        window_stride=64,
        max_batch=8,
    )
    assert ScorerSettings.from_config({}) == ScorerSettings()
    assert ScorerSettings.from_config({"DETOXIFY_CHECKPOINT": "", "DETOXIFY_THREADS": ""}) == (
        ScorerSettings()
    )
    assert settings.describe()["threads"] == 4


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"DETOXIFY_THREADS": "many"}, "DETOXIFY_THREADS must be an integer"),
        ({"DETOXIFY_THREADS": "0"}, "DETOXIFY_THREADS must be at least 1"),
        ({"DETOXIFY_WINDOW_TOKENS": "4"}, "DETOXIFY_WINDOW_TOKENS must be at least 8"),
        ({"DETOXIFY_WINDOW_STRIDE": "-1"}, "DETOXIFY_WINDOW_STRIDE must be >= 0"),
        ({"DETOXIFY_MAX_BATCH": "0"}, "DETOXIFY_MAX_BATCH must be at least 1"),
        ({"DETOXIFY_HF_CONFIG": "/models/hf"}, "DETOXIFY_HF_CONFIG needs DETOXIFY_CHECKPOINT"),
        ({"DETOXIFY_MODEL": ""}, None),  # empty: the default model
    ],
)
def test_settings_validation(config: dict[str, Any], message: str | None) -> None:
    if message is None:
        assert ScorerSettings.from_config(config).model == "multilingual"
        return
    with pytest.raises(ValueError, match=message):
        ScorerSettings.from_config(config)


def test_names_and_versions() -> None:
    scorer = get_scorer(ScorerSettings(checkpoint="/models/multilingual_debiased-0b549669.ckpt"))
    assert scorer.name == "detoxify-checkpoint:multilingual_debiased-0b549669.ckpt"
    assert scorer.version.startswith("multilingual_debiased-0b549669.ckpt (detoxify ")
    assert get_scorer(ScorerSettings(model="unbiased")).name == "detoxify-unbiased"


# -- windows ----------------------------------------------------------------------------------


def test_window_spans() -> None:
    assert window_spans(0, 10, 3) == [(0, 0)]
    assert window_spans(10, 10, 3) == [(0, 10)]
    assert window_spans(11, 10, 3) == [(0, 10), (7, 11)]
    assert window_spans(20, 8, 3) == [(0, 8), (5, 13), (10, 18), (15, 20)]
    assert clamp_overlap(8, 100) == 4
    assert clamp_overlap(8, 0) == 0
    for n in (1, 37, 1000):
        spans = window_spans(n, 10, 4)
        assert spans[0][0] == 0 and spans[-1][1] == n
        for (a0, a1), (b0, _) in zip(spans, spans[1:], strict=False):
            assert a1 - a0 == 10 and a1 - b0 == 4
    with pytest.raises(ValueError):
        clamp_overlap(0, 3)


def test_usable_positions() -> None:
    assert usable_positions(514, 1) == 512  # XLM-R, RoBERTa
    assert usable_positions(512) == 512  # BERT
    assert usable_positions(None) is None


def test_window_spans_match_the_fast_tokenizer(word_ckpt: TinyCheckpoint) -> None:
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(word_ckpt.hf_config))
    assert tokenizer.is_fast
    for n in (0, 1, 9, 10, 11, 37):
        text = " ".join(f"{w}" for w in (["hello", "world", "nice"] * 20)[:n])
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        encoded = tokenizer(
            text, truncation=True, max_length=10, stride=3, return_overflowing_tokens=True
        )
        windows = [w[1:-1] for w in encoded["input_ids"]]
        assert windows == [ids[a:b] for a, b in window_spans(len(ids), 8, 3)]


# -- offline loading --------------------------------------------------------------------------


def test_plain_detoxify_cannot_load_offline(word_ckpt: TinyCheckpoint, offline_hub: Path) -> None:
    """Detoxify's own offline option still asks the hub for the base model's config."""
    with pytest.raises(OSError, match="huggingface.co|offline|cached"):
        Detoxify(
            checkpoint=str(word_ckpt.checkpoint),
            huggingface_config_path=str(word_ckpt.hf_config),
        )
    assert not any((offline_hub / "hub").glob("**/*.json"))


def test_loads_offline_through_the_production_code(
    make_scorer: MakeScorer, word_ckpt: TinyCheckpoint
) -> None:
    scorer = make_scorer(word_ckpt)
    assert scorer.state == "not_loaded"
    scorer.load()
    scorer.load()  # idempotent
    assert (scorer.state, scorer.error) == ("ready", None)
    assert scorer.categories == MULTILINGUAL_CLASSES
    assert scorer.name == "detoxify-checkpoint:tiny-words.ckpt"
    assert scorer.max_tokens == 512
    neutral, toxic, insult = scorer.score(["Hello world!", "you CONNARD", "idiot"])
    assert_scores(neutral, word_ckpt.neutral)
    assert_scores(toxic, word_ckpt.triggers["connard"])
    assert_scores(insult, word_ckpt.triggers["idiot"])
    assert toxic.scores["toxicity"] == pytest.approx(0.95, abs=TOL)
    assert toxic.scores["insult"] == pytest.approx(0.9, abs=TOL)
    assert neutral.scores["toxicity"] == pytest.approx(0.01, abs=TOL)
    assert not any(r.windowed for r in (neutral, toxic, insult))


def test_offline_in_a_fresh_interpreter(word_ckpt: TinyCheckpoint, tmp_path: Path) -> None:
    """The same, with the offline variables set before anything is imported."""
    code = (
        "import sys\n"
        "from detoxify import Detoxify\n"
        "try:\n"
        f"    Detoxify(checkpoint={str(word_ckpt.checkpoint)!r},\n"
        f"             huggingface_config_path={str(word_ckpt.hf_config)!r})\n"
        "except OSError:\n"
        "    print('plain detoxify: failed')\n"
        "else:\n"
        "    print('plain detoxify: loaded')\n"
        "from app.scoring import ScorerSettings, get_scorer\n"
        "scorer = get_scorer(ScorerSettings(\n"
        f"    checkpoint={str(word_ckpt.checkpoint)!r}, hf_config={str(word_ckpt.hf_config)!r}))\n"
        "[result] = scorer.score(['quel connard'])\n"
        "print('scorer: %.3f' % result.scores['toxicity'])\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "empty-hf-home"),
        "TORCH_HOME": str(tmp_path / "empty-torch-home"),
    }
    env.pop("HF_HUB_CACHE", None)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["plain detoxify: failed", "scorer: 0.950"]


def test_original_class_names_are_standardised(
    make_scorer: MakeScorer, original_ckpt: TinyCheckpoint
) -> None:
    scorer = make_scorer(original_ckpt)
    [result] = scorer.score(["hello"])
    assert scorer.categories == ORIGINAL_CLASSES
    assert list(result.scores) == ORIGINAL_CLASSES
    assert_scores(result, original_ckpt.neutral)
    assert original_ckpt.neutral["identity_attack"] == 0.55


def test_multilingual_classes(make_scorer: MakeScorer, multilingual_ckpt: TinyCheckpoint) -> None:
    scorer = make_scorer(multilingual_ckpt)
    results = scorer.score(["hello", "", "bonjour le monde", words(1500)])
    assert scorer.categories == MULTILINGUAL_CLASSES
    for result in results:
        assert_scores(result, multilingual_ckpt.neutral)
    assert [r.windowed for r in results] == [False, False, False, True]


@pytest.mark.parametrize("fixture", ["wide_ckpt", "wide_ckpt_generic_config"])
def test_more_outputs_than_classes(
    make_scorer: MakeScorer, request: pytest.FixtureRequest, fixture: str
) -> None:
    """16 outputs, 7 names: exactly the 7 named outputs are reported, in order.

    With a generic config folder (2 labels), the head size comes from the checkpoint.
    """
    ckpt: TinyCheckpoint = request.getfixturevalue(fixture)
    scorer = make_scorer(ckpt)
    [result] = scorer.score(["hello"])
    assert ckpt.num_classes == 16
    assert scorer.categories == MULTILINGUAL_CLASSES
    assert_scores(result, ckpt.neutral)
    assert 0.99 not in [round(v, 3) for v in result.scores.values()]  # the unnamed outputs


def test_xlmr_uses_512_of_514_positions(make_scorer: MakeScorer, xlmr_ckpt: TinyCheckpoint) -> None:
    scorer = make_scorer(xlmr_ckpt)
    short, long = scorer.score(["bonjour", words(2000)])
    assert scorer.max_tokens == 512
    assert scorer.categories == MULTILINGUAL_CLASSES
    assert_scores(short, xlmr_ckpt.neutral)
    assert_scores(long, xlmr_ckpt.neutral)
    assert long.windowed and not short.windowed


def test_checkpoint_only_uses_detoxify_normal_path(
    make_scorer: MakeScorer, word_ckpt_local: TinyCheckpoint
) -> None:
    """Only DETOXIFY_CHECKPOINT: Detoxify's load_checkpoint (here its model_type is local)."""
    scorer = get_scorer(ScorerSettings(checkpoint=str(word_ckpt_local.checkpoint)))
    [result] = scorer.score(["connard"])
    assert_scores(result, word_ckpt_local.triggers["connard"])


def test_checkpoint_only_needs_the_hub(word_ckpt: TinyCheckpoint) -> None:
    scorer = get_scorer(ScorerSettings(checkpoint=str(word_ckpt.checkpoint)))
    with pytest.raises(ScoringUnavailable) as caught:
        scorer.load()
    message = str(caught.value)
    assert_readable(message)
    assert message.startswith(f"could not load DETOXIFY_CHECKPOINT {word_ckpt.checkpoint}: ")
    assert "DETOXIFY_HF_CONFIG" in message
    assert (scorer.state, scorer.error) == ("failed", message)
    assert isinstance(caught.value.__cause__, OSError)


@pytest.fixture
def hosted_multilingual(
    monkeypatch: pytest.MonkeyPatch, hosted_ckpt: TinyCheckpoint
) -> TinyCheckpoint:
    """Detoxify's 'multilingual' URL pointed at a local file (a real torch.hub download)."""
    monkeypatch.setitem(dx.MODEL_URLS, "multilingual", hosted_ckpt.checkpoint.as_uri())
    return hosted_ckpt


def test_model_download_path(hosted_multilingual: TinyCheckpoint) -> None:
    scorer = get_scorer(ScorerSettings(model="multilingual"))
    assert scorer.name == "detoxify-multilingual"
    [result] = scorer.score(["bonjour"])
    assert scorer.categories == MULTILINGUAL_CLASSES
    assert result.scores["toxicity"] == pytest.approx(0.05, abs=TOL)
    cached = Path(os.environ["TORCH_HOME"]) / "hub" / "checkpoints" / "multilingual_tiny.ckpt"
    assert cached.is_file()


def test_unreachable_download(
    monkeypatch: pytest.MonkeyPatch, hosted_multilingual: TinyCheckpoint
) -> None:
    good_url = dx.MODEL_URLS["multilingual"]
    monkeypatch.setitem(dx.MODEL_URLS, "multilingual", "http://127.0.0.1:9/multilingual.ckpt")
    scorer = get_scorer(ScorerSettings(model="multilingual"))
    with pytest.raises(ScoringUnavailable) as caught:
        scorer.load()
    message = str(caught.value)
    assert_readable(message)
    assert message.startswith("could not download the Detoxify 'multilingual' checkpoint: ")
    assert "flask --app wsgi model download" in message
    assert "DETOXIFY_CHECKPOINT and DETOXIFY_HF_CONFIG" in message
    assert (scorer.state, scorer.error) == ("failed", message)
    assert caught.value.__cause__ is not None

    # score() does not retry a failed load by itself...
    with pytest.raises(ScoringUnavailable, match="not available: could not download"):
        scorer.score(["bonjour"])
    assert scorer.state == "failed"
    # ...load() does.
    monkeypatch.setitem(dx.MODEL_URLS, "multilingual", good_url)
    scorer.load()
    assert (scorer.state, scorer.error) == ("ready", None)
    assert scorer.score(["bonjour"])[0].scores["toxicity"] == pytest.approx(0.05, abs=TOL)


def test_unknown_model() -> None:
    scorer = get_scorer(ScorerSettings(model="gigantic"))
    with pytest.raises(ScoringUnavailable, match="unknown DETOXIFY_MODEL 'gigantic'; Detoxify kno"):
        scorer.load()
    assert scorer.state == "failed"


def _failing_settings(tmp_path: Path, word_ckpt: TinyCheckpoint) -> dict[str, ScorerSettings]:
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(b"this is not a checkpoint")
    no_config = tmp_path / "no-config.ckpt"
    torch.save({"state_dict": {}}, no_config)
    hf = str(word_ckpt.hf_config)
    return {
        "missing": ScorerSettings(checkpoint=str(tmp_path / "nope.ckpt"), hf_config=hf),
        "missing-only": ScorerSettings(checkpoint=str(tmp_path / "nope.ckpt")),
        "corrupt": ScorerSettings(checkpoint=str(corrupt), hf_config=hf),
        "no-config": ScorerSettings(checkpoint=str(no_config), hf_config=hf),
        "no-hf-folder": ScorerSettings(
            checkpoint=str(word_ckpt.checkpoint), hf_config=str(tmp_path / "nowhere")
        ),
        "bad-device": ScorerSettings(
            checkpoint=str(word_ckpt.checkpoint), hf_config=hf, device="abacus"
        ),
    }


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", r"DETOXIFY_CHECKPOINT .*nope\.ckpt is not a file"),
        ("missing-only", r"DETOXIFY_CHECKPOINT .*nope\.ckpt is not a file"),
        ("corrupt", r"could not load DETOXIFY_CHECKPOINT .*corrupt\.ckpt: UnpicklingError"),
        ("no-config", r"no-config\.ckpt is not a Detoxify checkpoint"),
        ("no-hf-folder", r"DETOXIFY_HF_CONFIG .*nowhere is not a folder with a config\.json"),
        ("bad-device", r"DETOXIFY_DEVICE 'abacus' is not a torch device"),
    ],
)
def test_load_failures_are_readable(
    tmp_path: Path, word_ckpt: TinyCheckpoint, case: str, message: str
) -> None:
    scorer = get_scorer(_failing_settings(tmp_path, word_ckpt)[case])
    with pytest.raises(ScoringUnavailable, match=message) as caught:
        scorer.load()
    assert_readable(str(caught.value))
    assert (scorer.state, scorer.error) == ("failed", str(caught.value))
    with pytest.raises(ScoringUnavailable):
        scorer.score(["hello"])


def test_weights_that_do_not_load_are_refused(
    make_scorer: MakeScorer, word_ckpt: TinyCheckpoint, tmp_path: Path
) -> None:
    """transformers only warns and initialises missing weights at random: refuse to score."""
    loaded = torch.load(word_ckpt.checkpoint, weights_only=False)
    del loaded["state_dict"]["bert.encoder.layer.0.attention.self.query.weight"]
    broken = tmp_path / "broken.ckpt"
    torch.save(loaded, broken)
    scorer = get_scorer(ScorerSettings(checkpoint=str(broken), hf_config=str(word_ckpt.hf_config)))
    with pytest.raises(ScoringUnavailable, match="1 missing from the checkpoint .*random weights"):
        scorer.load()
    assert scorer.state == "failed"


def test_old_checkpoint_buffers_are_ignored(word_ckpt: TinyCheckpoint, tmp_path: Path) -> None:
    """Checkpoints saved by transformers 3/4 also hold the position_ids buffer."""
    loaded = torch.load(word_ckpt.checkpoint, weights_only=False)
    loaded["state_dict"]["bert.embeddings.position_ids"] = torch.arange(512).unsqueeze(0)
    old = tmp_path / "old.ckpt"
    torch.save(loaded, old)
    scorer = get_scorer(ScorerSettings(checkpoint=str(old), hf_config=str(word_ckpt.hf_config)))
    [result] = scorer.score(["connard"])
    assert_scores(result, word_ckpt.triggers["connard"])


# -- scoring ----------------------------------------------------------------------------------


def test_batch_equals_one_by_one(make_scorer: MakeScorer, word_ckpt: TinyCheckpoint) -> None:
    texts = [
        "hello",
        "",
        "   ",
        "Quel CONNARD, celui-là !",
        words(40, "idiot", at=3),
        words(700, "connard", at=650),
        words(510),
        words(511),
        "merci pour votre commentaire",
        words(2000),
    ]
    batched = make_scorer(word_ckpt).score(texts)
    one_scorer = make_scorer(word_ckpt, max_batch=1)
    one_by_one = [one_scorer.score([text])[0] for text in texts]
    assert len(batched) == len(texts)
    for a, b in zip(batched, one_by_one, strict=True):
        assert a.windowed == b.windowed
        assert a.scores == pytest.approx(b.scores, abs=1e-5)
    assert [r.windowed for r in batched] == [False] * 5 + [True, False, True, False, True]
    assert_scores(batched[3], word_ckpt.triggers["connard"])
    assert_scores(batched[4], word_ckpt.triggers["idiot"])
    assert_scores(batched[5], word_ckpt.triggers["connard"])
    for i in (0, 1, 2, 6, 7, 8, 9):
        assert_scores(batched[i], word_ckpt.neutral)


def _record_passes(scorer: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ...]]:
    """Load `scorer` and record the input shape of each forward pass it makes from now on."""
    scorer.load()
    model = scorer._loaded.model
    shapes: list[tuple[int, ...]] = []
    forward = model.forward

    def spy(**inputs: Any) -> Any:
        shapes.append(tuple(inputs["input_ids"].shape))
        return forward(**inputs)

    monkeypatch.setattr(model, "forward", spy)
    return shapes


def test_short_texts_are_one_forward_pass(
    make_scorer: MakeScorer, word_ckpt: TinyCheckpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorer = make_scorer(word_ckpt, max_batch=32)
    shapes = _record_passes(scorer, monkeypatch)
    results = scorer.score(["hello"] * 20 + [words(30, "idiot")])
    # 21 x 33 padded positions would pass the 512 budget: the short texts go together, the
    # long one alone, so nothing is padded to 33 tokens for nothing.
    assert shapes == [(20, 3), (1, 33)]
    assert_scores(results[-1], word_ckpt.triggers["idiot"])
    roomy = make_scorer(word_ckpt, max_batch=32, max_batch_tokens=4096)
    roomy_shapes = _record_passes(roomy, monkeypatch)
    roomy.score(["hello"] * 20 + [words(30, "idiot")])
    assert roomy_shapes == [(21, 33)]  # within the budget: one pass, padded to the longest only
    shapes.clear()
    scorer.score(["hello"] * 70)
    assert shapes == [(32, 3), (32, 3), (6, 3)]  # chunks of max_batch windows


def test_trigger_past_token_600_is_caught(
    make_scorer: MakeScorer, word_ckpt: TinyCheckpoint, word_ckpt_local: TinyCheckpoint
) -> None:
    comment = words(700, "connard", at=650)
    [result] = make_scorer(word_ckpt).score([comment])
    assert result.windowed
    assert result.scores["toxicity"] >= 0.95 - TOL
    assert_scores(result, word_ckpt.triggers["connard"])
    # Detoxify's own predict truncates at 512 tokens and misses it.
    truncated = Detoxify(checkpoint=str(word_ckpt_local.checkpoint)).predict(comment)
    assert truncated["toxicity"] == pytest.approx(0.01, abs=TOL)


@pytest.mark.parametrize("at", [0, 47, 48, 62, 63, 100, 150, 199, 200])
def test_windows_catch_a_trigger_anywhere(
    make_scorer: MakeScorer, word_ckpt: TinyCheckpoint, at: int
) -> None:
    scorer = make_scorer(word_ckpt, window_tokens=64, window_stride=16)
    [result] = scorer.score([words(200, "connard", at=at)])
    assert scorer.max_tokens == 64
    assert result.windowed
    assert_scores(result, word_ckpt.triggers["connard"])


def test_tokenizer_without_model_max_length(
    make_scorer: MakeScorer, word_ckpt_unlimited: TinyCheckpoint
) -> None:
    comment = words(2000, "idiot", at=1990)
    # Detoxify passes the whole text to the model, which has 512 positions.
    with pytest.raises((IndexError, RuntimeError)):
        Detoxify(checkpoint=str(word_ckpt_unlimited.checkpoint)).predict(comment)
    scorer = make_scorer(word_ckpt_unlimited)
    long, short = scorer.score([comment, "hello"])
    assert scorer.max_tokens == 512
    assert long.windowed and not short.windowed
    assert_scores(long, word_ckpt_unlimited.triggers["idiot"])
    assert_scores(short, word_ckpt_unlimited.neutral)


def test_window_is_clamped_to_the_model_positions(
    make_scorer: MakeScorer, word_ckpt_short: TinyCheckpoint
) -> None:
    scorer = make_scorer(word_ckpt_short, window_tokens=512)
    fits, long = scorer.score([words(62), words(300, "connard")])
    assert scorer.max_tokens == 64
    assert not fits.windowed and long.windowed
    assert_scores(long, word_ckpt_short.triggers["connard"])


def test_python_tokenizer_gives_the_same_scores(
    make_scorer: MakeScorer, word_ckpt: TinyCheckpoint, word_ckpt_slow: TinyCheckpoint
) -> None:
    texts = ["hello", "", words(700, "connard", at=650), words(1000, "idiot", at=3), words(511)]
    slow = make_scorer(word_ckpt_slow)
    slow_results = slow.score(texts)
    assert not slow._loaded.tokenizer.is_fast  # type: ignore[union-attr]
    fast_results = make_scorer(word_ckpt).score(texts)
    for a, b in zip(slow_results, fast_results, strict=True):
        assert a.windowed == b.windowed
        assert a.scores == pytest.approx(b.scores, abs=1e-5)


def test_empty_batch_loads_nothing(make_scorer: MakeScorer, word_ckpt: TinyCheckpoint) -> None:
    scorer = make_scorer(word_ckpt)
    assert scorer.score([]) == []
    assert scorer.state == "not_loaded"


def test_texts_must_be_strings(make_scorer: MakeScorer, word_ckpt: TinyCheckpoint) -> None:
    scorer = make_scorer(word_ckpt)
    with pytest.raises(TypeError):
        scorer.score("hello")
    with pytest.raises(TypeError):
        scorer.score(["hello", None])  # type: ignore[list-item]


def test_settings_are_honoured(make_scorer: MakeScorer, word_ckpt: TinyCheckpoint) -> None:
    scorer = make_scorer(word_ckpt, threads=1, device="cpu")
    scorer.load()
    assert torch.get_num_threads() == 1
    model = scorer._loaded.model  # type: ignore[union-attr]
    assert next(model.parameters()).device == torch.device("cpu")
    assert not model.training


@pytest.mark.parametrize("failure", ["raises", "nan"])
def test_inference_failures_give_no_score(
    make_scorer: MakeScorer,
    word_ckpt: TinyCheckpoint,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
) -> None:
    scorer = make_scorer(word_ckpt)
    scorer.load()
    model = scorer._loaded.model  # type: ignore[union-attr]

    def broken(**inputs: Any) -> tuple[torch.Tensor]:
        if failure == "raises":
            raise RuntimeError("out of memory\nsecond line")
        return (torch.full((inputs["input_ids"].shape[0], 7), float("nan")),)

    monkeypatch.setattr(model, "forward", broken)
    with pytest.raises(ScoringUnavailable, match="^Detoxify inference failed: ") as caught:
        scorer.score(["hello"])
    assert_readable(str(caught.value))
    assert scorer.state == "ready"  # an inference failure is not a load failure


# -- threads ----------------------------------------------------------------------------------


def test_concurrent_loads_load_once(
    make_scorer: MakeScorer, word_ckpt: TinyCheckpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    original = dx.get_model_and_tokenizer

    def slow_load(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        time.sleep(0.3)
        return original(*args, **kwargs)

    monkeypatch.setattr(dx, "get_model_and_tokenizer", slow_load)
    scorer = make_scorer(word_ckpt)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            scorer.load()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert scorer.state == "loading"
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(calls) == 1
    assert scorer.state == "ready"


def test_concurrent_loads_share_a_failure(
    monkeypatch: pytest.MonkeyPatch, hosted_multilingual: TinyCheckpoint
) -> None:
    """Eight callers of a failing load: one attempt, eight readable errors; load() retries."""
    monkeypatch.setitem(dx.MODEL_URLS, "multilingual", "http://127.0.0.1:9/multilingual.ckpt")
    calls: list[int] = []
    original = dx.load_checkpoint

    def slow_load(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        time.sleep(0.3)
        return original(*args, **kwargs)

    monkeypatch.setattr(dx, "load_checkpoint", slow_load)
    scorer = get_scorer(ScorerSettings(model="multilingual"))
    barrier = threading.Barrier(8)

    def worker() -> str:
        barrier.wait()
        try:
            scorer.score(["bonjour"])
        except ScoringUnavailable as exc:
            return str(exc)
        return "scored"

    with ThreadPoolExecutor(max_workers=8) as pool:
        messages = list(pool.map(lambda _: worker(), range(8)))
    assert len(calls) == 1
    assert all("could not download the Detoxify 'multilingual' checkpoint" in m for m in messages)
    with pytest.raises(ScoringUnavailable):
        scorer.load()
    assert len(calls) == 2


def test_concurrent_scoring(make_scorer: MakeScorer, word_ckpt: TinyCheckpoint) -> None:
    scorer = make_scorer(word_ckpt, max_batch=4)
    jobs: list[tuple[list[str], list[dict[str, float]]]] = []
    for i in range(8):
        texts = [words(i * 90, "connard", at=i * 80), "hello " * i, words(5, "idiot", at=i % 5)]
        expected = [word_ckpt.triggers["connard"], word_ckpt.neutral, word_ckpt.triggers["idiot"]]
        jobs.append((texts, expected))

    def run(job: tuple[list[str], list[dict[str, float]]]) -> bool:
        texts, expected = job
        for _ in range(5):
            for result, scores in zip(scorer.score(texts), expected, strict=True):
                assert_scores(result, scores)
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(run, jobs))
    assert scorer.state == "ready"


def test_window_and_batch_sizes_are_read_from_the_environment(
    word_ckpt: TinyCheckpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DETOXIFY_WINDOW_TOKENS, _WINDOW_STRIDE and _MAX_BATCH, set as a deployment sets them,
    change the windows and forward passes the model sees."""
    from app import scorer_settings
    from app.config import load_config

    def passes(environ: dict[str, str], texts: list[str]) -> list[tuple[int, ...]]:
        base = {"DETOXIFY_CHECKPOINT": str(word_ckpt.checkpoint)}
        base["DETOXIFY_HF_CONFIG"] = str(word_ckpt.hf_config)
        config = load_config(str(tmp_path), environ={**base, **environ})
        scorer = get_scorer(scorer_settings(config))
        shapes = _record_passes(scorer, monkeypatch)
        scorer.score(texts)
        return shapes

    assert passes({}, [words(40)]) == [(1, 42)]  # one window: the whole text
    # 40 tokens in windows of 16 (14 without the special tokens) sharing 4: four windows.
    windowed = {"DETOXIFY_WINDOW_TOKENS": "16", "DETOXIFY_WINDOW_STRIDE": "4"}
    assert window_spans(40, 14, 4) == [(0, 14), (10, 24), (20, 34), (30, 40)]
    assert passes(windowed, [words(40)]) == [(4, 16)]
    assert passes({"DETOXIFY_MAX_BATCH": "4"}, ["hello"] * 10) == [(4, 3), (4, 3), (2, 3)]
