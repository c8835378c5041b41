"""Perspective's `comments:analyze` and `comments:suggestscore`, answered by our model, so that
a site using Perspective (Coral Talk first) changes only its endpoint URL and its key.

What Perspective defines, we follow (its published API reference, and what Coral sends and
reads: docs/perspective-compat.md); where it says nothing, the choice is ours and said here:

* Attributes are Detoxify's categories under Perspective's names (`ATTRIBUTES`); one the
  loaded model lacks (`SEXUALLY_EXPLICIT` with the `original` model) or an unknown name is a
  400, never a made-up score. Only `scoreType: PROBABILITY` exists.
* Languages: the request's, all of which the model must score (Perspective's rule and message:
  `Attribute TOXICITY does not support request languages: de`); without any, the language
  detected (app/languages.py), and the same error when the model lacks it or nothing was
  detected (`und`). `detectedLanguages` is always reported when detection found something.
* Spans (`spanAnnotations`): one per sentence, as in Perspective's own example, scored in the
  same model call as the whole text; offsets count UTF-16 code units (what a JavaScript
  client slices by) into the text scored (for `HTML`, the text once reduced). A text of more
  than MAX_SPANS sentences gets spans of several sentences each, MAX_SPANS at most. Texts
  longer than one model window are scored window by window (the maximum), like comments.
* Storage (PERSPECTIVE_STORE): `scores` (default) keeps the language and the model's scores
  of each call, no text; `text` keeps the text too; `nothing` keeps nothing. `doNotStore:
  true` keeps nothing of the call whatever the setting (only the client's call counter,
  `clients.record_call`, counts it). Kept analyses are deleted after
  PERSPECTIVE_RETENTION_DAYS by the retention run (services/retention.py), which the scoring
  sweep of both backends starts.
* Feedback (`suggestscore`): stored as a moderator decision of that client (value ≥ 0.5:
  rejected, else approved; Coral sends 1 and 0) with our model's scores of the text, scored
  again here (Coral's analyze carries no id to join on). When the model cannot score it (down,
  too slow, a language it lacks) the decision is stored without scores, and calibration leaves
  it out as it does an unscored decision of our own moderators.

Errors are Google's: `PerspectiveError(code, status, message)`, turned into
`{"error": {"code", "message", "status"}}` by the blueprint.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app

from app import languages
from app.extensions import db
from app.htmltext import html_to_text
from app.models import ApiAnalysis, ApiClient, ApiFeedback, FeedbackDecision
from app.scoring import ScoringUnavailable, TextScores
from app.services import scoring

# Perspective's attribute -> Detoxify's category. The `_EXPERIMENTAL` names are the ones
# Perspective used before these attributes left their experimental phase.
ATTRIBUTES: dict[str, str] = {
    "TOXICITY": "toxicity",
    "SEVERE_TOXICITY": "severe_toxicity",
    "IDENTITY_ATTACK": "identity_attack",
    "INSULT": "insult",
    "PROFANITY": "obscene",
    "THREAT": "threat",
    "SEXUALLY_EXPLICIT": "sexual_explicit",
}
ATTRIBUTES.update({f"{name}_EXPERIMENTAL": category for name, category in list(ATTRIBUTES.items())})

MAX_TEXT_BYTES = 20480  # Perspective's limit: 20 KB of UTF-8
MAX_SPANS = 32
MAX_TOKEN_LENGTH = 512  # clientToken, sessionId, communityId: ours, to bound what we echo or keep
STORE_NOTHING, STORE_SCORES, STORE_TEXT = "nothing", "scores", "text"
UNAVAILABLE_MESSAGE = "The service is currently unavailable."


class PerspectiveError(Exception):
    """An answer in Google's error shape: HTTP `code`, google.rpc `status`, English message."""

    def __init__(
        self, code: int, status: str, message: str, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "status": self.status}}


def invalid(message: str) -> PerspectiveError:
    return PerspectiveError(400, "INVALID_ARGUMENT", message)


def unavailable() -> PerspectiveError:
    return PerspectiveError(503, "UNAVAILABLE", UNAVAILABLE_MESSAGE)


# --- the request ------------------------------------------------------------------------------


def parse_json(raw: bytes) -> dict[str, Any]:
    """The request's JSON object; 400 for anything else (bad UTF-8, bad JSON, not an object)."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise invalid("Invalid JSON payload received. Unexpected token.") from None
    if not isinstance(payload, dict):
        raise invalid("Invalid JSON payload received. Expected an object.")
    return payload


def _object(payload: Mapping[str, Any], name: str, required: bool = False) -> dict[str, Any]:
    value = payload.get(name)
    if value is None:
        if required:
            raise invalid(f"Missing required field: {name}.")
        return {}
    if not isinstance(value, dict):
        raise invalid(f"Invalid value at '{name}': expected an object.")
    return value


def _bool(payload: Mapping[str, Any], name: str) -> bool:
    value = payload.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid(f"Invalid value at '{name}' (TYPE_BOOL), {json.dumps(value)[:40]}")
    return value


def _unicode(value: str, name: str) -> str:
    """`value` unless JSON's escapes made it hold what no text holds: a lone surrogate (not
    Unicode at all) or a NUL (which PostgreSQL cannot store)."""
    if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value):
        raise invalid(f"Invalid value at '{name}': not valid Unicode text.")
    return value


def _string(payload: Mapping[str, Any], name: str) -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid value at '{name}' (TYPE_STRING), {json.dumps(value)[:40]}")
    if len(value) > MAX_TOKEN_LENGTH:
        raise invalid(f"'{name}' is longer than {MAX_TOKEN_LENGTH} characters.")
    return _unicode(value, name)


def _text(payload: Mapping[str, Any]) -> str:
    """`comment.text` as the model reads it (HTML reduced to its text); 400 when it is missing,
    empty or over Perspective's 20480 bytes."""
    comment = _object(payload, "comment", required=True)
    text = comment.get("text")
    if text is not None and not isinstance(text, str):
        raise invalid(f"Invalid value at 'comment.text' (TYPE_STRING), {json.dumps(text)[:40]}")
    text = _unicode(text or "", "comment.text")
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise invalid(
            f"Comment text was too many bytes. Value ({size}) exceeded limit ({MAX_TEXT_BYTES})."
        )
    kind = comment.get("type", "PLAIN_TEXT")
    if kind not in ("PLAIN_TEXT", "HTML", None):
        raise invalid(f"Invalid value at 'comment.type' (TextType), {json.dumps(kind)[:40]}")
    if kind == "HTML" and text:
        text = html_to_text(text)
    if not text or not text.strip():
        raise invalid("COMMENT_EMPTY: the comment has no text.")
    return text


@dataclass(frozen=True)
class Wanted:
    """One requested attribute: its Perspective name, our category, its threshold."""

    name: str
    category: str
    threshold: float | None


def _attributes(payload: Mapping[str, Any]) -> list[Wanted]:
    requested = _object(payload, "requestedAttributes", required=True)
    if not requested:
        raise invalid("requestedAttributes must name at least one attribute.")
    wanted = []
    for name, options in requested.items():
        category = ATTRIBUTES.get(name)
        if category is None:
            raise invalid(f"Unknown attribute: {name[:64]}.")
        if options is None:
            options = {}
        if not isinstance(options, dict):
            raise invalid(f"Invalid value at 'requestedAttributes[{name}]': expected an object.")
        score_type = options.get("scoreType", "PROBABILITY")
        if score_type not in ("PROBABILITY", None):
            raise invalid(
                f"Attribute {name}: scoreType {json.dumps(score_type)[:40]} is not supported; "
                "only PROBABILITY."
            )
        threshold = options.get("scoreThreshold")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0 <= threshold <= 1
        ):
            raise invalid(f"Attribute {name}: scoreThreshold must be a number from 0 to 1.")
        wanted.append(Wanted(name, category, float(threshold) if threshold is not None else None))
    return wanted


_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8}){0,4}")  # ISO 639, BCP-47


def _requested_languages(payload: Mapping[str, Any]) -> list[str]:
    value = payload.get("languages")
    if value is None:
        return []
    if not isinstance(value, list) or not all(
        isinstance(code, str) and _LANGUAGE_CODE.fullmatch(code) for code in value
    ):
        raise invalid("Invalid value at 'languages': expected a list of language codes.")
    return list(value)


@dataclass(frozen=True)
class Languages:
    """The languages an answer reports, and the one kept with a stored call."""

    effective: list[str]  # `languages` of the answer: the request's, else the first detected
    detected: list[str]  # `detectedLanguages`

    @property
    def primary(self) -> str:
        return languages.normalise(self.effective[0]) if self.effective else languages.UNDETERMINED


def _languages(requested: list[str], text: str) -> Languages:
    detected = languages.detect(text)
    effective = requested or detected[:1] or [languages.UNDETERMINED]
    return Languages(effective, detected)


def _unsupported(langs: Languages) -> list[str]:
    supported = languages.model_languages(current_app.config["DETOXIFY_MODEL"])
    return [code for code in langs.effective if languages.normalise(code) not in supported]


# --- scoring ----------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»”)\]]*\s+|\n+")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text` in Python characters, surrounding blanks left
    out; a text of more than MAX_SPANS sentences gets MAX_SPANS spans of several sentences."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    spans = [_strip(text, s, e) for s, e in spans]
    spans = [(s, e) for s, e in spans if e > s]
    if len(spans) > MAX_SPANS:
        per = math.ceil(len(spans) / MAX_SPANS)
        spans = [
            (spans[i][0], spans[min(i + per, len(spans)) - 1][1]) for i in range(0, len(spans), per)
        ]
    return spans


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def utf16_offset(text: str, index: int) -> int:
    """How many UTF-16 code units come before Python character `index` of `text`."""
    return index + sum(1 for char in text[:index] if ord(char) > 0xFFFF)


def _score(texts: list[str]) -> TextScores:
    """Our model's scores through the scoring backend (micro-batched with other calls); 503
    UNAVAILABLE when it cannot score or did not answer within API_SCORING_WAIT_SECONDS."""
    try:
        return scoring.score_texts(texts, timeout=current_app.config["API_SCORING_WAIT_SECONDS"])
    except ScoringUnavailable:  # ScoringTimeout included: no score, never a guess
        raise unavailable() from None


def _check_categories(wanted: list[Wanted], categories: Collection[str]) -> None:
    """400 for an attribute the model does not score (`SEXUALLY_EXPLICIT` with `original`).
    Checked before scoring when this process has the model loaded (the thread backend), and
    always on the scores themselves (a Celery web process never loads the model: the request
    never waits for a load here)."""
    if not categories:
        return
    for attribute in wanted:
        if attribute.category not in categories:
            raise invalid(
                f"Attribute {attribute.name} is not available here: the loaded model has no "
                f"{attribute.category} category."
            )


def _probability(value: float) -> dict[str, Any]:
    return {"value": value, "type": "PROBABILITY"}


# --- comments:analyze -------------------------------------------------------------------------


def analyze(client: ApiClient, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Perspective's `AnalyzeCommentResponse` for `payload` (an `AnalyzeCommentRequest`), or
    PerspectiveError: 400 for a bad request, an attribute or a language we cannot score;
    503 when the model did not score it in time."""
    text = _text(payload)
    do_not_store = _bool(payload, "doNotStore")
    want_spans = _bool(payload, "spanAnnotations")
    client_token = _string(payload, "clientToken")
    _string(payload, "sessionId")
    _string(payload, "communityId")
    _object(payload, "context")
    requested = _requested_languages(payload)
    wanted = _attributes(payload)
    _check_categories(wanted, current_app.extensions["scoring_runner"].scorer.categories)
    langs = _languages(requested, text)
    unsupported = _unsupported(langs)
    if unsupported:
        raise invalid(
            f"Attribute {wanted[0].name} does not support request languages: "
            + ", ".join(unsupported)
        )

    spans = sentences(text) if want_spans else []
    scored = _score([text] + [text[s:e] for s, e in spans])
    whole, *parts = scored.results
    _check_categories(wanted, whole.scores)

    attribute_scores: dict[str, Any] = {}
    for attribute in wanted:
        value = whole.scores[attribute.category]
        if attribute.threshold is not None and value < attribute.threshold:
            continue  # « The API won't return scores that are below this threshold »
        entry: dict[str, Any] = {}
        if spans:
            entry["spanScores"] = [
                {
                    "begin": utf16_offset(text, s),
                    "end": utf16_offset(text, e),
                    "score": _probability(part.scores[attribute.category]),
                }
                for (s, e), part in zip(spans, parts, strict=True)
                if attribute.threshold is None
                or part.scores[attribute.category] >= attribute.threshold
            ]
        entry["summaryScore"] = _probability(value)
        attribute_scores[attribute.name] = entry

    answer: dict[str, Any] = {}
    if attribute_scores:  # all below their thresholds: no key at all, as Perspective answers
        answer["attributeScores"] = attribute_scores
    answer["languages"] = langs.effective
    if langs.detected:
        answer["detectedLanguages"] = langs.detected
    if client_token is not None:
        answer["clientToken"] = client_token

    _keep_analysis(client, text, whole.scores, scored.model_name, langs, do_not_store)
    return answer


def _keep_analysis(
    client: ApiClient,
    text: str,
    scores: dict[str, float],
    model_name: str,
    langs: Languages,
    do_not_store: bool,
) -> None:
    store = current_app.config["PERSPECTIVE_STORE"]
    if do_not_store or store == STORE_NOTHING:
        return
    db.session.add(
        ApiAnalysis(
            client_id=client.id,
            language=langs.primary,
            scores=dict(scores),
            model_name=model_name,
            text=text if store == STORE_TEXT else None,
        )
    )
    db.session.commit()


# --- comments:suggestscore --------------------------------------------------------------------


def suggest_score(client: ApiClient, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Perspective's `SuggestCommentScoreResponse` (`{"clientToken": …}`): the client's
    moderator decision is stored, with our scores of its text when the model gives them in
    time. 400 for a bad request; never 503 (the decision is kept without scores)."""
    text = _text(payload)
    do_not_store = _bool(payload, "doNotStore")
    client_token = _string(payload, "clientToken")
    community_id = _string(payload, "communityId")
    _string(payload, "sessionId")
    _object(payload, "context")
    requested = _requested_languages(payload)
    suggested = _suggested(payload)
    decision = (
        FeedbackDecision.REJECTED if max(suggested.values()) >= 0.5 else FeedbackDecision.APPROVED
    )
    langs = _languages(requested, text)
    scores: dict[str, float] | None = None
    model_name: str | None = None
    if not _unsupported(langs):
        try:
            scored = _score([text])
        except PerspectiveError:
            pass  # kept without scores: calibration leaves it out
        else:
            scores, model_name = dict(scored.results[0].scores), scored.model_name
    store = current_app.config["PERSPECTIVE_STORE"]
    db.session.add(
        ApiFeedback(
            client_id=client.id,
            decision=decision.value,
            suggested=suggested,
            client_token=client_token,
            community_id=community_id,
            language=langs.primary,
            scores=scores,
            model_name=model_name,
            text=text if store == STORE_TEXT and not do_not_store else None,
        )
    )
    db.session.commit()
    return {"clientToken": client_token} if client_token is not None else {}


def _suggested(payload: Mapping[str, Any]) -> dict[str, float]:
    """`attributeScores` of a suggestscore request: {ATTRIBUTE: value in [0, 1]}."""
    given = _object(payload, "attributeScores", required=True)
    if not given:
        raise invalid("attributeScores must name at least one attribute.")
    values: dict[str, float] = {}
    for name, entry in given.items():
        if name not in ATTRIBUTES:
            raise invalid(f"Unknown attribute: {name[:64]}.")
        summary = entry.get("summaryScore") if isinstance(entry, dict) else None
        value = summary.get("value") if isinstance(summary, dict) else None
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise invalid(
                f"attributeScores[{name}].summaryScore.value must be a number from 0 to 1."
            )
        values[name] = float(value)
    return values
