"""Which languages the loaded model scores, and which language a text is written in.

One place for both, for every API that scores free texts (Perspective's `comments:analyze`,
and any other endpoint that must refuse a language the model never learnt rather than give it
a meaningless number).

* The languages of a model follow Detoxify's own documentation: `multilingual` was trained on
  English, French, Spanish, Italian, Portuguese, Turkish and Russian; `original` and `unbiased`
  (and their `-small` variants) on English only. A checkpoint (DETOXIFY_CHECKPOINT) is one of
  these, named by DETOXIFY_MODEL.
* Detection uses lingua (`lingua-language-detector`, Rust, no network, no model download),
  restricted to the model's languages and a few other common ones (so that German text is
  recognised as German, and refused, instead of passing for the nearest language we score), in
  its low-accuracy mode: about 45 MB and well under a millisecond per comment, against about
  270 MB and a second for the first call in high-accuracy mode, measured on this project's
  machine; the detector is built once per process, on first use.
"""

from __future__ import annotations

import threading
from typing import Any

MODEL_LANGUAGES: dict[str, tuple[str, ...]] = {
    "multilingual": ("en", "fr", "es", "it", "pt", "tr", "ru"),
    "original": ("en",),
    "unbiased": ("en",),
    "original-small": ("en",),
    "unbiased-small": ("en",),
}
"""DETOXIFY_MODEL -> the ISO 639-1 codes it was trained on."""

# Languages the detector may answer besides the model's: frequent in European comment
# sections, so that they are named (and refused) rather than mistaken for one we score.
OTHER_DETECTED = ("de", "nl", "pl", "ro", "ca", "sv", "da", "ar", "zh", "ja", "uk", "el")

UNDETERMINED = "und"
"""What Perspective reports when it cannot tell the language."""

# A language is listed in `detectedLanguages` from this confidence (the first one always).
MIN_CONFIDENCE = 0.1
MAX_DETECTED = 3

_detector: Any = None
_detector_lock = threading.Lock()


def model_languages(model: str) -> tuple[str, ...]:
    """The languages DETOXIFY_MODEL `model` scores (English only for an unknown name)."""
    return MODEL_LANGUAGES.get(model, ("en",))


def normalise(code: str) -> str:
    """The primary language of an ISO 639-1 or BCP-47 code: « pt-BR » -> « pt », « FR » ->
    « fr »."""
    return code.strip().replace("_", "-").split("-", 1)[0].lower()


def _build_detector() -> Any:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    codes = sorted({*MODEL_LANGUAGES["multilingual"], *OTHER_DETECTED})
    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in codes]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def _get_detector() -> Any:
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                _detector = _build_detector()
    return _detector


def detect(text: str) -> list[str]:
    """The languages `text` may be written in, most likely first (ISO 639-1 codes); empty when
    the detector cannot tell (a number, a word shared by many languages)."""
    values = _get_detector().compute_language_confidence_values(text)
    found: list[str] = []
    for candidate in values:
        if candidate.value <= 0 or (found and candidate.value < MIN_CONFIDENCE):
            break
        found.append(candidate.language.iso_code_639_1.name.lower())
        if len(found) == MAX_DETECTED:
            break
    return found
