"""What the site would do with texts that are not its comments: `/api/v1/score`, for a CMS that
keeps its own comments and wants our model, thresholds, word lists and rules without our pages.

The texts are checked (`check_texts`), scored by the same model as comments, micro-batched
(`ScoringBackend.score_texts`, bounded by API_SCORING_WAIT_SECONDS), and decided by the same
policy (`decisions.for_texts` + `policy.verdict`). Nothing is stored. No model, no verdict:
ScoringUnavailable goes up to the caller (a 503), never a made-up score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask import current_app

from app import labels, policy
from app.htmltext import html_to_text
from app.services import decisions, scoring
from app.services.errors import ServiceError
from app.wordlists import Match


class TextRefused(ServiceError):
    """A text the API cannot score: `code` is the API's stable code (`empty_text`,
    `text_too_long`, `invalid_text`, `too_many_texts`), `field` the text's place (`texts.3`)."""

    def __init__(self, field: str, message: str, code: str) -> None:
        super().__init__(field, message)
        self.code = code


@dataclass(frozen=True)
class TextVerdict:
    """One text's scores, the site's verdict on it and the word lists' matches."""

    scores: dict[str, float]
    windowed: bool
    verdict: policy.Verdict
    matches: tuple[Match, ...]
    author_message: str | None


@dataclass(frozen=True)
class TextVerdicts:
    results: list[TextVerdict]
    model_name: str
    model_version: str


def check_texts(texts: Sequence[str], *, html: bool, field: str) -> list[str]:
    """The texts to score (HTML reduced to its visible text), or TextRefused naming the first
    refused one: more than API_SCORE_MAX_TEXTS, more than API_TEXT_MAX_BYTES UTF-8 bytes as
    sent, not encodable (a lone surrogate), or nothing left once trimmed."""
    config = current_app.config
    most, max_bytes = config["API_SCORE_MAX_TEXTS"], config["API_TEXT_MAX_BYTES"]
    if len(texts) > most:
        raise TextRefused(
            field, f"Trop de textes : {most} au plus par appel ({len(texts)} reçus).",
            "too_many_texts",
        )  # fmt: skip
    checked = []
    for index, text in enumerate(texts):
        where = f"{field}.{index}" if field == "texts" else field
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise TextRefused(
                where, "Le texte contient des caractères invalides (UTF-16 incomplet).",
                "invalid_text",
            ) from None  # fmt: skip
        if size > max_bytes:
            raise TextRefused(
                where, f"Texte trop long : {max_bytes} octets au plus en UTF-8 ({size} reçus).",
                "text_too_long",
            )  # fmt: skip
        shown = (html_to_text(text) if html else text).strip()
        if not shown:
            raise TextRefused(where, "Le texte est vide.", "empty_text")
        checked.append(shown)
    return checked


def score(texts: Sequence[str], *, may_nudge: bool) -> TextVerdicts:
    """Each text's scores and the site's verdict on it, as the live site would decide a new
    comment: saved thresholds, nudge thresholds (when `may_nudge`: the caller can offer its
    author the nudge), word lists, and the rules that read the text. Raises ScoringUnavailable
    (or ScoringTimeout) when the model gives no score in time."""
    scored = scoring.score_texts(texts, current_app.config["API_SCORING_WAIT_SECONDS"])
    gathered = decisions.for_texts(texts, may_nudge=may_nudge)
    results = []
    for result, inputs in zip(scored.results, gathered, strict=True):
        verdict = policy.verdict(inputs.inputs, result.scores)
        results.append(
            TextVerdict(
                scores=dict(result.scores),
                windowed=result.windowed,
                verdict=verdict,
                matches=inputs.matches,
                author_message=_author_message(verdict, inputs.inputs.anyway_reviewed),
            )
        )
    return TextVerdicts(results, scored.model_name, scored.model_version)


def _author_message(verdict: policy.Verdict, anyway_reviewed: bool) -> str | None:
    """What the site tells a comment's author about this verdict (French)."""
    if verdict.outcome is policy.Outcome.NUDGE:
        categories = [r.category for r in verdict.reasons if r.category]
        return labels.nudge_message(categories, reviewed=anyway_reviewed)
    return labels.reader_message(verdict)
