"""A full-size, random-weights stand-in for Detoxify's ``multilingual`` model (no download).

    .venv/bin/python -m bench.model [--rebuild]

Detoxify's real weights (``multilingual_debiased-0b549669.ckpt``) and the ``xlm-roberta-base``
tokenizer come from GitHub and the Hugging Face hub, which the benchmarks cannot reach. What the
benchmarks measure is the cost of the computation, and that only depends on the architecture and
on how many tokens a text becomes, so this module builds, once, under ``bench/.cache/``:

* ``multilingual-random.ckpt``: an ``XLMRobertaForSequenceClassification`` with exactly the
  configuration of ``xlm-roberta-base`` (250,002 embeddings, 768 hidden, 12 layers, 12 heads,
  3,072 intermediate, 514 positions; ~278 M parameters) and a 16-output head, random weights
  from a fixed seed, saved in Detoxify's own checkpoint format::

      {"config": {"arch": {"args": {"model_type": "xlm-roberta-base",
                                    "model_name": "XLMRobertaForSequenceClassification",
                                    "tokenizer_name": "XLMRobertaTokenizer",
                                    "num_classes": 16}},
                  "dataset": {"args": {"classes": [7 multilingual categories]}}},
       "state_dict": model.state_dict()}

  ``num_classes`` is 16 on the assumption that the multilingual model, trained like
  ``unbiased`` on the Civil Comments labels (it "returns the same categories as the unbiased
  model", Detoxify's README), has the same 16-output head; Detoxify's public configs only show
  the older 1-class multilingual model. Either way the head is 0.01 % of the compute.

* ``hf/``: the folder for ``DETOXIFY_HF_CONFIG`` (``config.json`` with 16 labels,
  ``tokenizer.json``, ``tokenizer_config.json`` with ``model_max_length: 512``,
  ``sentencepiece.bpe.model``). The tokenizer is a SentencePiece unigram model trained here
  on French text (the benchmark sentences of :mod:`bench.comments` and words derived from
  them), with XLM-R's special tokens and ids (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3,
  ``<mask>`` last) and its ``nmt_nfkc`` normalisation. The bench comments become about 1.36
  tokens per whitespace-separated word (punctuation and ``l’``/``d’`` elisions included): common
  words are one piece, rarer ones split, as with XLM-R. Its 32,002 ids are all below the
  model's 250,002 (the rest of the embedding table is never used, which costs nothing).

Use it through the project's offline path::

    DETOXIFY_CHECKPOINT=bench/.cache/multilingual-random/multilingual-random.ckpt
    DETOXIFY_HF_CONFIG=bench/.cache/multilingual-random/hf

The scores are meaningless (random weights); only timings are. ``ensure_model()`` returns the
two paths, building them if needed (about a minute; later calls reuse the cache).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

from bench.comments import comments, corpus_text, word_count

__all__ = ["CACHE_DIR", "MULTILINGUAL_CLASSES", "NUM_CLASSES", "RECIPE", "ensure_model"]

CACHE_DIR = Path(__file__).resolve().parent / ".cache" / "multilingual-random"
CHECKPOINT_NAME = "multilingual-random.ckpt"
HF_DIR_NAME = "hf"
STAMP_NAME = "build.json"

# What Detoxify('multilingual') reports, in its order.
MULTILINGUAL_CLASSES = [
    "toxicity",
    "severe_toxicity",
    "obscene",
    "identity_attack",
    "insult",
    "threat",
    "sexual_explicit",
]
NUM_CLASSES = 16  # assumed, see the module docstring

# Everything that determines the files; a different recipe rebuilds the cache.
RECIPE = {
    "version": 1,
    "seed": 1234,
    "num_classes": NUM_CLASSES,
    "classes": MULTILINGUAL_CLASSES,
    "tokenizer": {
        "pieces": 32000,
        "corpus_repeats": 5,
        "mutated_lines": 50_000,
        "derived_share": 0.3,
        "pseudo_share": 0.2,
        "seed_pieces": 200_000,
        "shrinking_factor": 0.5,
    },
}

# xlm-roberta-base's config.json (transformers' names), plus the 16-output head.
XLMR_BASE = {
    "vocab_size": 250002,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "initializer_range": 0.02,
    "layer_norm_eps": 1e-5,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
}

_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]  # ids 0..3, then the pieces, then <mask>

# French prefixes and endings, to derive plausible word forms from the benchmark's words.
_PREFIXES = [
    "re", "dé", "in", "pré", "anti", "sur", "sous", "contre", "co", "auto", "inter", "mé",
    "dis", "ré", "en", "im", "pro", "trans", "super", "néo",
]  # fmt: skip
_SUFFIXES = [
    "s", "e", "es", "ment", "ments", "ité", "ités", "isme", "ismes", "iste", "istes", "eur",
    "eurs", "euse", "euses", "able", "ables", "ible", "age", "ages", "ance", "ence", "ant",
    "ante", "ants", "ée", "ées", "er", "ait", "aient", "ons", "ez", "ent", "ions", "iez", "era",
    "eront", "erait", "eraient", "ation", "ations", "ique", "iques", "ien", "ienne", "iens",
    "eux", "al", "aux", "elle", "ette", "ier", "ière", "ure", "erie", "if", "ive", "ifs", "ives",
]  # fmt: skip
_SUFFIXES_LONGEST_FIRST = sorted(_SUFFIXES, key=len, reverse=True)
# Syllables of made-up French-looking words: the rest of the language, which XLM-R's
# vocabulary also has to cover (so that rarer words of the comments are split, as in XLM-R).
_ONSETS = [
    "", "b", "c", "d", "f", "g", "j", "l", "m", "n", "p", "r", "s", "t", "v", "ch", "br", "cr",
    "dr", "fr", "gr", "pr", "tr", "bl", "cl", "fl", "pl", "qu", "gn",
]  # fmt: skip
_VOWELS = ["a", "e", "i", "o", "u", "é", "è", "ou", "ai", "au", "eau", "eu", "oi", "an", "en",
           "on", "in", "ê"]  # fmt: skip
_CODAS = ["", "", "", "r", "s", "l", "n", "t", "c", "x"]
_WORD = re.compile(r"[^\W\d_]+")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def _stem(word: str) -> str:
    lower = word.lower()
    for suffix in _SUFFIXES_LONGEST_FIRST:
        if lower.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def tokenizer_training_text(seed: int = RECIPE["seed"]) -> list[str]:
    """French lines for training the tokenizer (deterministic).

    The benchmark sentences (as written, lower-case, upper-case, without accents), repeated so
    that their common words become whole pieces, plus those sentences with a share of their
    words replaced by derived forms (prefix + stem + ending) or made-up French-looking words.
    """
    recipe = RECIPE["tokenizer"]
    rng = random.Random(seed)
    lines = corpus_text()
    sample = comments(400, seed)  # same sentences, plus openers, emojis, casual typing
    lines = lines + [p for c in sample for p in c.split("\n\n")]
    words = sorted({w for line in lines for w in _WORD.findall(line)})

    def derived() -> str:
        word = _stem(rng.choice(words))
        if rng.random() < 0.3:
            word = rng.choice(_PREFIXES) + word
        return word + rng.choice(_SUFFIXES)

    def pseudo() -> str:
        syllables = rng.choice([2, 2, 3, 3, 3, 4])
        word = "".join(
            rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS) for _ in range(syllables)
        )
        return word + rng.choice(_SUFFIXES) if rng.random() < 0.5 else word

    def mutated(line: str) -> str:
        out = []
        for token in line.split():
            roll = rng.random()
            if roll < recipe["derived_share"]:
                out.append(derived())
            elif roll < recipe["derived_share"] + recipe["pseudo_share"]:
                out.append(pseudo())
            else:
                out.append(token)
        return " ".join(out)

    variants = [v for line in lines for v in (line.lower(), line.upper(), _strip_accents(line))]
    mutations = [mutated(rng.choice(lines)) for _ in range(recipe["mutated_lines"])]
    return lines * recipe["corpus_repeats"] + variants + mutations


def _protobuf_field(message: bytes, wanted: int) -> bytes | None:
    """The last length-delimited field ``wanted`` of a protobuf message (no protobuf library:
    it is not a dependency of the project, and transformers only needs it to convert
    ``.model`` files)."""

    def varint(pos: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = message[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value, pos

    found = None
    pos = 0
    while pos < len(message):
        key, pos = varint(pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = varint(pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = varint(pos)
            if number == wanted:
                found = message[pos : pos + length]
            pos += length
        else:
            raise ValueError(f"unexpected protobuf wire type {wire}")
    return found


def _precompiled_charsmap(model_proto: bytes) -> bytes:
    """``ModelProto.normalizer_spec.precompiled_charsmap`` of a SentencePiece model."""
    normalizer_spec = _protobuf_field(model_proto, 3)
    charsmap = _protobuf_field(normalizer_spec, 2) if normalizer_spec else None
    if not charsmap:
        raise ValueError("the SentencePiece model has no precompiled normalisation map")
    return charsmap


def build_tokenizer(hf_dir: Path, seed: int = RECIPE["seed"]) -> dict[str, float]:
    """Train the French unigram tokenizer and save it XLM-R style into ``hf_dir``.

    Returns a few statistics (pieces, tokens per word on the benchmark comments, seconds).
    """
    import io

    import sentencepiece as spm
    import transformers

    started = time.monotonic()
    recipe = RECIPE["tokenizer"]
    lines = tokenizer_training_text(seed)
    spm.set_random_generator_seed(seed)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        model_type="unigram",
        vocab_size=recipe["pieces"],
        hard_vocab_limit=False,
        character_coverage=1.0,
        normalization_rule_name="nmt_nfkc",  # XLM-R's normalisation
        # SentencePiece's own layout (XLM-R's sentencepiece.bpe.model has the same):
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        # Faster than SentencePiece's defaults (1M seed pieces, 0.75), same tokens per word.
        seed_sentencepiece_size=recipe["seed_pieces"],
        shrinking_factor=recipe["shrinking_factor"],
        num_threads=2,  # the same model on every run (checked); 1 thread: another one, slower
        minloglevel=2,
    )
    proto = model.getvalue()
    sp = spm.SentencePieceProcessor(model_proto=proto)
    # transformers' XLMRobertaConverter: fairseq's ids <s> <pad> </s> <unk>, then the pieces
    # after SentencePiece's three specials, then <mask>.
    vocab = [(token, 0.0) for token in _SPECIALS]
    vocab += [(sp.id_to_piece(i), float(sp.get_score(i))) for i in range(3, sp.get_piece_size())]
    vocab.append(("<mask>", 0.0))
    if len(vocab) > XLMR_BASE["vocab_size"]:
        raise RuntimeError(f"{len(vocab)} tokens do not fit into the model's embeddings")
    # transformers 5: XLMRobertaTokenizer is tokenizers-backed and has its own __init__, so
    # from_pretrained reads tokenizer.json's vocabulary (and post-processor) and rebuilds the
    # pipeline (Unigram, unk id 3, whitespace + Metaspace pre-tokenizer), keeping only a
    # "Precompiled" normaliser from the file: the SentencePiece charsmap is passed in here so
    # that tokenizer.json carries it. sentencepiece.bpe.model is written for completeness (the
    # xlm-roberta-base layout) but not read while tokenizer.json exists; converting it alone
    # would need protobuf, which is not installed.
    tokenizer = transformers.XLMRobertaTokenizer(
        vocab=vocab, _spm_precompiled_charsmap=_precompiled_charsmap(proto)
    )
    hf_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(hf_dir))
    (hf_dir / "sentencepiece.bpe.model").write_bytes(proto)
    config_path = hf_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["model_max_length"] = 512  # as xlm-roberta-base's (truncation in Detoxify.predict)
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False), encoding="utf-8")

    loaded = transformers.XLMRobertaTokenizer.from_pretrained(str(hf_dir), local_files_only=True)
    _check_tokenizer(loaded, sp)
    texts = comments(256, 0)
    tokens = sum(len(ids) - 2 for ids in loaded(texts, verbose=False)["input_ids"])
    return {
        "pieces": len(vocab),
        "tokens_per_word": round(tokens / sum(word_count(t) for t in texts), 3),
        "seconds": round(time.monotonic() - started, 1),
    }


def _check_tokenizer(tokenizer: Any, sp: Any) -> None:
    """The saved tokenizer loads back as XLM-R's would and agrees with SentencePiece."""
    expected = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for token, token_id in expected.items():
        if tokenizer.convert_tokens_to_ids(token) != token_id:
            raise RuntimeError(f"{token} is not id {token_id} in the saved tokenizer")
    if tokenizer.mask_token_id != len(tokenizer) - 1:
        raise RuntimeError("<mask> is not the last id of the saved tokenizer")
    if tokenizer.model_max_length != 512 or not tokenizer.is_fast:
        raise RuntimeError("the saved tokenizer lost model_max_length 512 or is not a fast one")
    text = "Ça promet… L’opposition crie au scandale, À FORCE de tout réglementer !"
    ids = tokenizer(text)["input_ids"]
    spm_ids = [0, *(i + 1 for i in sp.encode(text)), 2]  # fairseq's offset of one
    if ids != spm_ids:
        raise RuntimeError(f"tokenizer.json and SentencePiece disagree: {ids} != {spm_ids}")


def build_checkpoint(path: Path, hf_dir: Path, seed: int = RECIPE["seed"]) -> dict[str, float]:
    """Random xlm-roberta-base classifier in Detoxify's checkpoint format, config.json in hf/."""
    import torch
    import transformers

    started = time.monotonic()
    config = transformers.XLMRobertaConfig(
        **XLMR_BASE,
        num_labels=NUM_CLASSES,
        architectures=["XLMRobertaForSequenceClassification"],
    )
    torch.manual_seed(seed)
    model = transformers.XLMRobertaForSequenceClassification(config).eval()
    hf_dir.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(str(hf_dir))
    torch.save(
        {
            "config": {
                "arch": {
                    "args": {
                        "model_type": "xlm-roberta-base",
                        "model_name": "XLMRobertaForSequenceClassification",
                        "tokenizer_name": "XLMRobertaTokenizer",
                        "num_classes": NUM_CLASSES,
                    }
                },
                "dataset": {"args": {"classes": list(MULTILINGUAL_CLASSES)}},
            },
            "state_dict": model.state_dict(),
        },
        path,
    )
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "bytes": path.stat().st_size,
        "seconds": round(time.monotonic() - started, 1),
    }


def _source_digest() -> str:
    """Digest of the French text the tokenizer learns from (edits to bench/comments.py)."""
    text = "\n".join([*corpus_text(), *comments(400, RECIPE["seed"])])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _cached(cache_dir: Path) -> bool:
    stamp = cache_dir / STAMP_NAME
    if not stamp.is_file():
        return False
    try:
        built = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    hf_dir = cache_dir / HF_DIR_NAME
    needed = ["config.json", "tokenizer.json", "tokenizer_config.json"]
    return (
        built.get("recipe") == RECIPE
        and built.get("text") == _source_digest()
        and (cache_dir / CHECKPOINT_NAME).is_file()
        and all((hf_dir / name).is_file() for name in needed)
    )


def ensure_model(cache_dir: Path = CACHE_DIR, *, rebuild: bool = False) -> tuple[Path, Path]:
    """``(checkpoint, hf_folder)``, built into ``cache_dir`` unless already there.

    Builds into a temporary folder next to it and renames it, so an interrupted build leaves
    no half-written cache behind.
    """
    cache_dir = Path(cache_dir)
    checkpoint, hf_dir = cache_dir / CHECKPOINT_NAME, cache_dir / HF_DIR_NAME
    if not rebuild and _cached(cache_dir):
        return checkpoint, hf_dir
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}-", dir=cache_dir.parent))
    work.chmod(0o755)
    try:
        print(f"building the random multilingual model into {cache_dir} ...", file=sys.stderr)
        tokenizer = build_tokenizer(work / HF_DIR_NAME)
        print(f"  tokenizer: {tokenizer}", file=sys.stderr)
        model = build_checkpoint(work / CHECKPOINT_NAME, work / HF_DIR_NAME)
        print(f"  checkpoint: {model}", file=sys.stderr)
        stamp = {
            "recipe": RECIPE,
            "text": _source_digest(),
            "tokenizer": tokenizer,
            "checkpoint": model,
            "seconds": round(time.monotonic() - started, 1),
        }
        (work / STAMP_NAME).write_text(json.dumps(stamp, indent=2), encoding="utf-8")
        if cache_dir.exists():
            shutil.rmtree(cache_dir)
        work.rename(cache_dir)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return checkpoint, hf_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="ignore the cache")
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    args = parser.parse_args()
    started = time.monotonic()
    checkpoint, hf_dir = ensure_model(args.cache_dir, rebuild=args.rebuild)
    stamp = json.loads((args.cache_dir / STAMP_NAME).read_text(encoding="utf-8"))
    print(f"DETOXIFY_CHECKPOINT={checkpoint}")
    print(f"DETOXIFY_HF_CONFIG={hf_dir}")
    print(
        f"# {stamp['checkpoint']['parameters']:,} parameters, "
        f"{stamp['checkpoint']['bytes'] / 2**30:.2f} GiB; tokenizer: "
        f"{stamp['tokenizer']['pieces']:,} pieces, "
        f"{stamp['tokenizer']['tokens_per_word']} tokens per word on the bench comments; "
        f"built in {stamp['seconds']}s, this run {time.monotonic() - started:.1f}s"
    )


if __name__ == "__main__":
    main()
