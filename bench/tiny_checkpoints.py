"""Tiny, real Detoxify checkpoints for the tests and the benches that need a model costing nothing.

Every builder writes two things into a folder:

* ``<name>.ckpt`` — a checkpoint in Detoxify's own on-disk format (what ``torch.load`` of the
  released ``toxic_original-*.ckpt`` files returns)::

      {"config": {"arch": {"args": {"model_type": ..., "model_name": ...,
                                    "tokenizer_name": ..., "num_classes": N}},
                  "dataset": {"args": {"classes": [...]}}},
       "state_dict": model.state_dict()}

* ``hf/`` — a Hugging Face config + tokenizer folder (``config.json``, ``vocab.txt`` or
  ``tokenizer.json``, ``tokenizer_config.json``), i.e. what Detoxify's ``huggingface_config_path``
  expects.

The models are miniature BERT / XLM-R networks (hidden size 32, 2 heads) whose weights are *set by
hand* so that the scores are known in advance:

* :func:`build_constant_checkpoint`: the classifier weights are zero and its bias is
  ``logit(p)``, so every text gets exactly the requested probabilities.
* :func:`build_word_checkpoint`: the scores depend on whether the text contains a trigger word.
  The embeddings give every ordinary token the zero vector and every trigger word a one-hot
  "flag + identity" vector; in the first layer the ``[CLS]`` query only matches the flag, so the
  ``[CLS]`` token attends (almost) exclusively to trigger tokens when there is one and otherwise
  averages zero vectors.  Nothing else reaches ``[CLS]`` (position and token-type embeddings are
  zero, later layers are neutral), so its final state only depends on *which* trigger occurs,
  not on the length or the other words.  The classifier is then solved (pseudo-inverse, exact)
  so that "no trigger" gives the neutral scores and each trigger gives its own scores.
* :func:`build_xlmr_constant_checkpoint`: an XLM-RoBERTa variant (514 position embeddings of
  which 512 are usable, like the real multilingual model) with constant scores.

Everything is built on the CPU in a few milliseconds and nothing is downloaded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import transformers

__all__ = [
    "MULTILINGUAL_CLASSES",
    "NEUTRAL_WORDS",
    "ORIGINAL_CLASSES",
    "ORIGINAL_RAW_CLASSES",
    "TinyCheckpoint",
    "build_constant_checkpoint",
    "build_word_checkpoint",
    "build_xlmr_constant_checkpoint",
    "logit",
]

# Class names as stored in Detoxify's released checkpoints.  The original (Jigsaw 2018) model uses
# the competition's raw names, which Detoxify renames when loading.
ORIGINAL_RAW_CLASSES = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
ORIGINAL_CLASSES = [
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
]
MULTILINGUAL_CLASSES = [
    "toxicity",
    "severe_toxicity",
    "obscene",
    "identity_attack",
    "insult",
    "threat",
    "sexual_explicit",
]

_BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Ordinary words of the tiny vocabulary (anything else becomes [UNK], one token per word).
NEUTRAL_WORDS = [
    "hello",
    "the",
    "world",
    "is",
    "a",
    "nice",
    "place",
    "bonjour",
    "le",
    "monde",
    "merci",
    "thanks",
    "for",
    "your",
    "comment",
    ".",
    ",",
    "!",
]
# Default trigger words (always in the vocabulary so that texts tokenize predictably).
_DEFAULT_TRIGGER_WORDS = ["connard", "idiot", "stupid", "merde"]

_STANDARD_NAMES = {
    "toxic": "toxicity",
    "identity_hate": "identity_attack",
    "severe_toxic": "severe_toxicity",
}


@dataclass(frozen=True)
class TinyCheckpoint:
    """Paths and known scores of a tiny checkpoint."""

    checkpoint: Path
    hf_config: Path
    classes: list[str]
    """Class names as Detoxify reports them (after its renaming of the original names)."""
    num_classes: int
    neutral: dict[str, float]
    """Scores of a text without any trigger word (all texts, for constant checkpoints)."""
    triggers: dict[str, dict[str, float]] = field(default_factory=dict)
    """Trigger word -> scores of a text that contains that trigger word."""
    max_positions: int = 512
    """How many tokens (special tokens included) fit into one forward pass of the model."""


def logit(p: float) -> float:
    """Inverse of the sigmoid."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"probability must be strictly between 0 and 1, got {p}")
    return math.log(p / (1.0 - p))


def _standardise(classes: Sequence[str]) -> list[str]:
    return [_STANDARD_NAMES.get(c, c) for c in classes]


def _bert_config(
    vocab_size: int,
    num_labels: int,
    *,
    max_position_embeddings: int,
    num_hidden_layers: int = 2,
) -> transformers.BertConfig:
    config = transformers.BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=max_position_embeddings,
        type_vocab_size=2,
        pad_token_id=0,
    )
    config.num_labels = num_labels
    return config


def _write_bert_folder(
    hf_dir: Path,
    vocab: Sequence[str],
    config: transformers.BertConfig,
    *,
    model_max_length: int | None,
    config_num_labels: int | None,
) -> None:
    hf_dir.mkdir(parents=True, exist_ok=True)
    config_dict = config.to_dict()
    if config_num_labels is not None and config_num_labels != config.num_labels:
        # Simulate a plain ``bert-base-uncased`` config folder that does not know the head size.
        config_dict.pop("id2label", None)
        config_dict.pop("label2id", None)
        if config_num_labels != 2:
            config_dict["id2label"] = {str(i): f"LABEL_{i}" for i in range(config_num_labels)}
            config_dict["label2id"] = {f"LABEL_{i}": i for i in range(config_num_labels)}
    (hf_dir / "config.json").write_text(json.dumps(config_dict, indent=2), encoding="utf-8")
    (hf_dir / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer_config: dict[str, object] = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": True,
    }
    if model_max_length is not None:
        tokenizer_config["model_max_length"] = model_max_length
    (hf_dir / "tokenizer_config.json").write_text(
        json.dumps(tokenizer_config, indent=2), encoding="utf-8"
    )


def _save_checkpoint(
    path: Path,
    *,
    model: torch.nn.Module,
    raw_classes: Sequence[str],
    num_classes: int,
    model_type: str,
    model_name: str,
    tokenizer_name: str,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "model_type": model_type,
                        "model_name": model_name,
                        "tokenizer_name": tokenizer_name,
                        "num_classes": num_classes,
                    }
                },
                "dataset": {"args": {"classes": list(raw_classes)}},
            },
            "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        },
        path,
    )


def _check_probabilities(classes: Sequence[str], probabilities: Mapping[str, float]) -> None:
    unknown = set(probabilities) - set(classes)
    if unknown:
        raise ValueError(f"unknown classes {sorted(unknown)}; known: {list(classes)}")


def build_constant_checkpoint(
    folder: str | Path,
    classes: Sequence[str] = MULTILINGUAL_CLASSES,
    probabilities: Mapping[str, float] | None = None,
    *,
    num_classes: int | None = None,
    extra_probability: float = 0.99,
    name: str = "tiny-constant",
    model_type: str = "bert-base-uncased",
    local_model_type: bool = False,
    tokenizer_name: str = "BertTokenizer",
    model_max_length: int | None = 512,
    max_position_embeddings: int = 512,
    config_num_labels: int | None = None,
    seed: int = 0,
) -> TinyCheckpoint:
    """A BERT checkpoint that gives every text exactly ``probabilities``.

    ``classes`` are written to the checkpoint as given (use :data:`ORIGINAL_RAW_CLASSES` to get
    Detoxify's renaming); ``probabilities`` may use either the raw or the standardised names and
    defaults to distinct values ``0.05, 0.15, ...``.  ``num_classes`` (default ``len(classes)``)
    is the width of the classifier; outputs past the named classes score ``extra_probability``
    and must never be reported.  ``model_max_length=None`` writes a tokenizer config without a
    length limit (a tokenizer that never truncates).  ``config_num_labels`` writes that many
    labels into ``hf/config.json`` instead of ``num_classes`` (a generic config folder).
    ``model_type`` is what the checkpoint says the base model is (Detoxify asks the Hub for it);
    ``local_model_type=True`` stores the path of the written ``hf/`` folder instead, so that
    Detoxify's own loading works offline with the checkpoint alone.
    """
    folder = Path(folder)
    raw = list(classes)
    std = _standardise(raw)
    n_out = len(raw) if num_classes is None else num_classes
    if n_out < len(raw):
        raise ValueError("num_classes must be >= len(classes)")
    if probabilities is None:
        probs = {c: round(0.05 + 0.1 * i, 2) for i, c in enumerate(std)}
    else:
        probs = {_STANDARD_NAMES.get(c, c): float(p) for c, p in probabilities.items()}
        _check_probabilities(std, probs)
        missing = set(std) - set(probs)
        if missing:
            raise ValueError(f"missing probabilities for {sorted(missing)}")

    vocab = [*_BERT_SPECIALS, *NEUTRAL_WORDS, *_DEFAULT_TRIGGER_WORDS]
    config = _bert_config(len(vocab), n_out, max_position_embeddings=max_position_embeddings)
    torch.manual_seed(seed)
    model = transformers.BertForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.weight.zero_()
        bias = [logit(probs[c]) for c in std] + [logit(extra_probability)] * (n_out - len(std))
        model.classifier.bias.copy_(torch.tensor(bias))

    hf_dir = folder / "hf"
    _write_bert_folder(
        hf_dir,
        vocab,
        config,
        model_max_length=model_max_length,
        config_num_labels=config_num_labels,
    )
    ckpt = folder / f"{name}.ckpt"
    _save_checkpoint(
        ckpt,
        model=model,
        raw_classes=raw,
        num_classes=n_out,
        model_type=str(hf_dir.resolve()) if local_model_type else model_type,
        model_name="BertForSequenceClassification",
        tokenizer_name=tokenizer_name,
    )
    return TinyCheckpoint(
        checkpoint=ckpt,
        hf_config=hf_dir,
        classes=std,
        num_classes=n_out,
        neutral=probs,
        max_positions=max_position_embeddings,
    )


def build_word_checkpoint(
    folder: str | Path,
    classes: Sequence[str] = MULTILINGUAL_CLASSES,
    triggers: Mapping[str, Mapping[str, float]] | None = None,
    *,
    neutral: float | Mapping[str, float] = 0.01,
    name: str = "tiny-words",
    model_type: str = "bert-base-uncased",
    local_model_type: bool = False,
    tokenizer_name: str = "BertTokenizer",
    model_max_length: int | None = 512,
    max_position_embeddings: int = 512,
    num_hidden_layers: int = 2,
) -> TinyCheckpoint:
    """A BERT checkpoint whose scores follow trigger words.

    A text without trigger word scores ``neutral`` (one value for every class, or per class).  A
    text containing trigger word ``w`` scores ``triggers[w]`` (classes not named there keep the
    neutral score), wherever ``w`` is in the text and however long the text is (as long as it fits
    into one window).  A text with several *different* triggers in one window gets a mix of their
    scores; keep one kind of trigger per text in tests.  Up to 15 trigger words.

    The default triggers: ``connard`` (toxicity 0.95, insult 0.9) and ``idiot`` (insult 0.7).
    ``model_type``, ``local_model_type``, ``model_max_length`` and ``max_position_embeddings`` as
    in :func:`build_constant_checkpoint`; ``tokenizer_name`` can name a Python ("slow")
    tokenizer such as ``BertTokenizerLegacy``.
    """
    folder = Path(folder)
    raw = list(classes)
    std = _standardise(raw)
    if triggers is None:
        triggers = {
            "connard": {"toxicity": 0.95, "insult": 0.9},
            "idiot": {"insult": 0.7},
        }
    if not 1 <= len(triggers) <= 15:
        raise ValueError("between 1 and 15 trigger words are supported")
    if isinstance(neutral, Mapping):
        neutral_probs = {_STANDARD_NAMES.get(c, c): float(p) for c, p in neutral.items()}
        _check_probabilities(std, neutral_probs)
        neutral_probs = {c: neutral_probs.get(c, 0.01) for c in std}
    else:
        neutral_probs = dict.fromkeys(std, float(neutral))
    trigger_probs: dict[str, dict[str, float]] = {}
    for word, probs in triggers.items():
        if word != word.lower() or not word.isalpha():
            raise ValueError(f"trigger words must be lower-case letters only, got {word!r}")
        std_probs = {_STANDARD_NAMES.get(c, c): float(p) for c, p in probs.items()}
        _check_probabilities(std, std_probs)
        trigger_probs[word] = {c: std_probs.get(c, neutral_probs[c]) for c in std}

    vocab = [*_BERT_SPECIALS, *NEUTRAL_WORDS]
    vocab += [w for w in _DEFAULT_TRIGGER_WORDS if w not in trigger_probs]
    trigger_ids = {}
    for word in trigger_probs:
        if word in vocab:
            raise ValueError(f"trigger word {word!r} is also a neutral word")
        trigger_ids[word] = len(vocab)
        vocab.append(word)

    config = _bert_config(
        len(vocab),
        len(std),
        max_position_embeddings=max_position_embeddings,
        num_hidden_layers=num_hidden_layers,
    )
    config.hidden_dropout_prob = 0.0
    config.attention_probs_dropout_prob = 0.0
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(config).eval()
    hidden = config.hidden_size
    head = hidden // config.num_attention_heads  # 16
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        emb = model.bert.embeddings
        # Ordinary tokens (and positions / token types) embed to zero, so after the embedding
        # LayerNorm they are the zero vector.  Trigger j: flag (dim 0) + identity (dim j + 1).
        for j, token_id in enumerate(trigger_ids.values()):
            emb.word_embeddings.weight[token_id, 0] = 1.0
            emb.word_embeddings.weight[token_id, j + 1] = 1.0
        emb.LayerNorm.weight.fill_(1.0)
        for i, layer in enumerate(model.bert.encoder.layer):
            layer.attention.output.LayerNorm.weight.fill_(1.0)
            layer.output.LayerNorm.weight.fill_(1.0)
            if i > 0:
                continue  # later layers: zero attention values and zero FFN -> identity
            attn = layer.attention.self
            # Head 0: constant query (ordinary tokens and [CLS] are zero vectors) matching only the
            # trigger flag -> score ~ 50 for trigger tokens, 0 for everything else.
            attn.query.bias[0] = 50.0
            attn.key.weight[0, 0] = 1.0
            # Head 0 values copy the first 16 dims (flag + identities); head 1 stays zero.
            attn.value.weight[:head, :head] = torch.eye(head)
            layer.attention.output.dense.weight.copy_(torch.eye(hidden))
        model.bert.pooler.dense.weight.copy_(0.25 * torch.eye(hidden))

        # Solve the classifier: pooled(no trigger) -> neutral logits, pooled(w) -> w's logits.
        def pooled(ids: list[int]) -> torch.Tensor:
            input_ids = torch.tensor([[2, *ids, 3]])
            return model.bert(input_ids=input_ids).pooler_output[0].double()

        neutral_id = vocab.index("hello")
        rows = [pooled([neutral_id, neutral_id])]
        targets = [[logit(neutral_probs[c]) for c in std]]
        for word, token_id in trigger_ids.items():
            rows.append(pooled([neutral_id, token_id]))
            targets.append([logit(trigger_probs[word][c]) for c in std])
        a = torch.cat([torch.stack(rows), torch.ones(len(rows), 1, dtype=torch.float64)], dim=1)
        solution = torch.linalg.pinv(a) @ torch.tensor(targets, dtype=torch.float64)
        model.classifier.weight.copy_(solution[:-1].T.float())
        model.classifier.bias.copy_(solution[-1].float())

        # Self-check: the solved model reproduces the requested scores.
        check = torch.sigmoid(model(input_ids=torch.tensor([[2, neutral_id, 3]])).logits[0])
        expected = torch.tensor([neutral_probs[c] for c in std])
        if not torch.allclose(check, expected, atol=1e-4):
            raise RuntimeError(f"tiny word checkpoint is off: {check} != {expected}")

    hf_dir = folder / "hf"
    _write_bert_folder(
        hf_dir, vocab, config, model_max_length=model_max_length, config_num_labels=None
    )
    ckpt = folder / f"{name}.ckpt"
    _save_checkpoint(
        ckpt,
        model=model,
        raw_classes=raw,
        num_classes=len(std),
        model_type=str(hf_dir.resolve()) if local_model_type else model_type,
        model_name="BertForSequenceClassification",
        tokenizer_name=tokenizer_name,
    )
    return TinyCheckpoint(
        checkpoint=ckpt,
        hf_config=hf_dir,
        classes=std,
        num_classes=len(std),
        neutral=neutral_probs,
        triggers=trigger_probs,
        max_positions=max_position_embeddings,
    )


def build_xlmr_constant_checkpoint(
    folder: str | Path,
    classes: Sequence[str] = MULTILINGUAL_CLASSES,
    probabilities: Mapping[str, float] | None = None,
    *,
    num_classes: int | None = None,
    extra_probability: float = 0.99,
    name: str = "tiny-xlmr",
    model_max_length: int | None = 512,
    seed: int = 0,
) -> TinyCheckpoint:
    """An XLM-RoBERTa checkpoint (like Detoxify's ``multilingual``) with constant scores.

    Like the real model, it has 514 position embeddings of which only 512 are usable (RoBERTa
    position ids start after the padding index), and a Unigram tokenizer saved as
    ``tokenizer.json``.
    """
    folder = Path(folder)
    raw = list(classes)
    std = _standardise(raw)
    n_out = len(raw) if num_classes is None else num_classes
    if probabilities is None:
        probs = {c: round(0.05 + 0.1 * i, 2) for i, c in enumerate(std)}
    else:
        probs = {_STANDARD_NAMES.get(c, c): float(p) for c, p in probabilities.items()}
        _check_probabilities(std, probs)

    pieces = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    words = ["▁" + w for w in [*NEUTRAL_WORDS, *_DEFAULT_TRIGGER_WORDS]]
    vocab = [(p, 0.0) for p in pieces] + [(w, -1.0) for w in words]
    tokenizer = transformers.XLMRobertaTokenizer(vocab=vocab)
    config = transformers.XLMRobertaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    config.num_labels = n_out
    torch.manual_seed(seed)
    model = transformers.XLMRobertaForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.out_proj.weight.zero_()
        bias = [logit(probs[c]) for c in std] + [logit(extra_probability)] * (n_out - len(std))
        model.classifier.out_proj.bias.copy_(torch.tensor(bias))

    hf_dir = folder / "hf"
    hf_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(hf_dir))
    tok_cfg_path = hf_dir / "tokenizer_config.json"
    tok_cfg = json.loads(tok_cfg_path.read_text(encoding="utf-8"))
    tok_cfg.pop("model_max_length", None)
    if model_max_length is not None:
        tok_cfg["model_max_length"] = model_max_length
    tok_cfg_path.write_text(json.dumps(tok_cfg, indent=2), encoding="utf-8")
    config.save_pretrained(str(hf_dir))
    ckpt = folder / f"{name}.ckpt"
    _save_checkpoint(
        ckpt,
        model=model,
        raw_classes=raw,
        num_classes=n_out,
        model_type="xlm-roberta-base",
        model_name="XLMRobertaForSequenceClassification",
        tokenizer_name="XLMRobertaTokenizer",
    )
    return TinyCheckpoint(
        checkpoint=ckpt,
        hf_config=hf_dir,
        classes=std,
        num_classes=n_out,
        neutral=probs,
        max_positions=512,
    )
