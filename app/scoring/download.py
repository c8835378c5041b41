"""Fetch a Detoxify model for offline use: `flask --app wsgi model download`.

Into `MODEL_DIR/<model>/`: the checkpoint (verified against the start of its SHA-256, which
Detoxify's file names carry), and in `hf/` the base model's config and tokenizer files, with
`num_labels` and `model_max_length` set. A `manifest.json` written last marks it complete; the
app then loads it through Detoxify's offline path (checkpoint + local config folder).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

TOKENIZER_FILES = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "sentencepiece.bpe.model",
    "spiece.model",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
]


class ModelDownloadError(Exception):
    """The model could not be fetched or verified; the message says why and what to do."""


@dataclass(frozen=True)
class LocalModel:
    checkpoint: Path
    hf_config: Path


def local_model(model_dir: str | Path, model: str) -> LocalModel | None:
    """The complete download of `model` under `model_dir`, if there is one."""
    folder = Path(model_dir) / model
    manifest = folder / "manifest.json"
    if not manifest.exists():
        return None
    data = json.loads(manifest.read_text())
    checkpoint, hf_config = folder / data["checkpoint"], folder / "hf"
    if not checkpoint.exists() or not (hf_config / "config.json").exists():
        return None
    return LocalModel(checkpoint, hf_config)


def download(model: str, model_dir: str | Path, progress: bool = True) -> LocalModel:
    """Fetch and verify `model`; returns the local files. Raises ModelDownloadError."""
    import torch
    from detoxify.detoxify import MODEL_URLS

    if model not in MODEL_URLS:
        raise ModelDownloadError(f"unknown Detoxify model {model!r}")
    url = MODEL_URLS[model]
    filename = url.rsplit("/", 1)[-1]
    sha_prefix = filename.rsplit("-", 1)[-1].split(".")[0]
    folder = Path(model_dir) / model
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = folder / filename
    if not checkpoint.exists():
        partial = folder / (filename + ".part")
        try:
            torch.hub.download_url_to_file(
                url, str(partial), hash_prefix=sha_prefix, progress=progress
            )
        except Exception as error:  # network, HTTP or hash mismatch
            partial.unlink(missing_ok=True)
            raise ModelDownloadError(
                f"could not download the Detoxify {model!r} checkpoint from {url}: {_reason(error)}"
            ) from error
        partial.rename(checkpoint)
    elif not _sha256(checkpoint).startswith(sha_prefix):
        raise ModelDownloadError(
            f"{checkpoint} does not match its SHA-256 prefix {sha_prefix}: delete it and retry"
        )

    loaded = torch.load(checkpoint, map_location="cpu", weights_only=False)
    arch = loaded["config"]["arch"]["args"]
    hf = folder / "hf"
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(
            repo_id=arch["model_type"], allow_patterns=TOKENIZER_FILES, local_dir=str(hf)
        )
    except Exception as error:
        shutil.rmtree(hf, ignore_errors=True)
        raise ModelDownloadError(
            f"could not download the config and tokenizer of {arch['model_type']!r} from the "
            f"Hugging Face hub: {_reason(error)}"
        ) from error
    _fix_config(hf, arch["num_classes"])
    (folder / "manifest.json").write_text(
        json.dumps({"model": model, "checkpoint": filename, "sha256_prefix": sha_prefix})
    )
    return LocalModel(checkpoint, hf)


def _fix_config(hf: Path, num_classes: int) -> None:
    """Detoxify reads the local config as is: give it the checkpoint's number of outputs, and
    the tokenizer a length limit (without one it does not truncate, and long texts crash)."""
    config_path = hf / "config.json"
    config = json.loads(config_path.read_text())
    config["num_labels"] = num_classes
    config["id2label"] = {str(i): f"LABEL_{i}" for i in range(num_classes)}
    config["label2id"] = {f"LABEL_{i}": i for i in range(num_classes)}
    config_path.write_text(json.dumps(config, indent=2))
    tok_path = hf / "tokenizer_config.json"
    tok = json.loads(tok_path.read_text()) if tok_path.exists() else {}
    tok.setdefault("model_max_length", 512)
    tok_path.write_text(json.dumps(tok, indent=2))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _reason(error: BaseException) -> str:
    while error.__cause__ is not None or error.__context__ is not None:
        inner = error.__cause__ or error.__context__
        assert inner is not None
        if str(inner):
            error = inner
        else:
            break
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:300]
