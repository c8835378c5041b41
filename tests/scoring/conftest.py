"""Fixtures for the scoring tests: tiny real checkpoints, and no network anywhere.

Every test here runs with the Hugging Face hub offline (``HF_HUB_OFFLINE=1``,
``TRANSFORMERS_OFFLINE=1``) and empty ``HF_HOME`` / ``TORCH_HOME`` folders, so a model only
loads if the code really needs nothing but local files. huggingface_hub reads those variables
when it is imported, so its module-level copies are patched as well (transformers reads them
from there on every call); one test also checks in a fresh interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.scoring import ScorerSettings, get_scorer
from app.scoring.detoxify import DetoxifyScorer
from bench.tiny_checkpoints import (
    MULTILINGUAL_CLASSES,
    ORIGINAL_RAW_CLASSES,
    TinyCheckpoint,
    build_constant_checkpoint,
    build_word_checkpoint,
    build_xlmr_constant_checkpoint,
)

MakeScorer = Callable[..., DetoxifyScorer]


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Offline Hugging Face hub, empty caches; returns the empty HF_HOME."""
    from huggingface_hub import constants

    hf_home = tmp_path / "hf-home"
    hf_home.mkdir()
    torch_home = tmp_path / "torch-home"
    torch_home.mkdir()
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_CACHE", str(hf_home / "hub"))
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HOME", str(hf_home))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    monkeypatch.setattr(constants, "HUGGINGFACE_HUB_CACHE", str(hf_home / "hub"))
    return hf_home


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(scope="session")
def word_ckpt(checkpoints: Path) -> TinyCheckpoint:
    """connard -> toxicity 0.95 / insult 0.9; idiot -> insult 0.7; anything else 0.01."""
    return build_word_checkpoint(checkpoints / "words")


@pytest.fixture(scope="session")
def word_ckpt_local(checkpoints: Path) -> TinyCheckpoint:
    """Same scores; the checkpoint names its local hf/ folder, so plain Detoxify loads it."""
    return build_word_checkpoint(checkpoints / "words-local", local_model_type=True)


@pytest.fixture(scope="session")
def word_ckpt_unlimited(checkpoints: Path) -> TinyCheckpoint:
    """A tokenizer_config.json without model_max_length: the tokenizer never truncates."""
    return build_word_checkpoint(
        checkpoints / "words-unlimited", model_max_length=None, local_model_type=True
    )


@pytest.fixture(scope="session")
def word_ckpt_short(checkpoints: Path) -> TinyCheckpoint:
    """Only 64 position embeddings (and no tokenizer limit)."""
    return build_word_checkpoint(
        checkpoints / "words-64", max_position_embeddings=64, model_max_length=None
    )


@pytest.fixture(scope="session")
def word_ckpt_slow(checkpoints: Path) -> TinyCheckpoint:
    """Same scores, loaded with a Python ("slow") tokenizer."""
    import transformers

    # transformers 5: BertTokenizer is the fast one; 4.x: BertTokenizer is the Python one.
    slow = (
        "BertTokenizerLegacy" if hasattr(transformers, "BertTokenizerLegacy") else "BertTokenizer"
    )
    return build_word_checkpoint(checkpoints / "words-slow", tokenizer_name=slow)


@pytest.fixture(scope="session")
def original_ckpt(checkpoints: Path) -> TinyCheckpoint:
    """Original's 6 raw Jigsaw class names (toxic, severe_toxic, ...), constant scores."""
    return build_constant_checkpoint(checkpoints / "original", ORIGINAL_RAW_CLASSES)


@pytest.fixture(scope="session")
def multilingual_ckpt(checkpoints: Path) -> TinyCheckpoint:
    """Multilingual's 7 classes, constant scores."""
    return build_constant_checkpoint(checkpoints / "multilingual", MULTILINGUAL_CLASSES)


@pytest.fixture(scope="session")
def wide_ckpt(checkpoints: Path) -> TinyCheckpoint:
    """16 outputs, 7 named classes (like unbiased); config.json already has 16 labels."""
    return build_constant_checkpoint(checkpoints / "wide", MULTILINGUAL_CLASSES, num_classes=16)


@pytest.fixture(scope="session")
def wide_ckpt_generic_config(checkpoints: Path) -> TinyCheckpoint:
    """16 outputs, but hf/config.json is a plain base-model config (2 labels)."""
    return build_constant_checkpoint(
        checkpoints / "wide-generic",
        MULTILINGUAL_CLASSES,
        num_classes=16,
        config_num_labels=2,
    )


@pytest.fixture(scope="session")
def xlmr_ckpt(checkpoints: Path) -> TinyCheckpoint:
    """XLM-R like multilingual: 514 positions (512 usable), 16 outputs, no tokenizer limit."""
    import transformers

    if int(transformers.__version__.split(".")[0]) < 5:
        pytest.skip("the tiny XLM-R tokenizer is built with the transformers 5 API")
    return build_xlmr_constant_checkpoint(
        checkpoints / "xlmr", num_classes=16, model_max_length=None
    )


@pytest.fixture(scope="session")
def hosted_ckpt(checkpoints: Path) -> TinyCheckpoint:
    """Constant multilingual scores; the checkpoint names its local hf/ folder."""
    return build_constant_checkpoint(
        checkpoints / "hosted",
        MULTILINGUAL_CLASSES,
        name="multilingual_tiny",
        local_model_type=True,
    )


@pytest.fixture
def make_scorer() -> MakeScorer:
    """make_scorer(ckpt, **settings): an offline scorer through the registry (not loaded)."""

    def make(ckpt: TinyCheckpoint, **settings: Any) -> DetoxifyScorer:
        scorer = get_scorer(
            ScorerSettings(
                checkpoint=str(ckpt.checkpoint), hf_config=str(ckpt.hf_config), **settings
            )
        )
        assert isinstance(scorer, DetoxifyScorer)
        return scorer

    return make
