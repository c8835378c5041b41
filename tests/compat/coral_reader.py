"""Coral Talk's side of our Perspective and external-moderation endpoints, ported from its
TypeScript (coralproject/talk) so that our tests build Coral's exact requests and read our
answers exactly as Coral does. Each step quotes the TypeScript line it ports; the files and
commits are listed in tests/fixtures/perspective/README.md and tests/fixtures/coral/README.md.

Nothing here talks to a network: give it a status code and a body, it says what Coral does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

# --- shared helpers -------------------------------------------------------------------------


def js_stringify(value: Any, indent: int | None = None) -> str:
    """JSON.stringify(value) or JSON.stringify(value, null, indent): no ASCII escaping, no
    spaces in the compact form, ", " never used, no trailing newline."""
    if indent is None:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False, indent=indent)


class CoralSkips(Exception):
    """Coral catches the error, logs it and goes on without this result: it fails open."""


# --- perspective.ts: the request -------------------------------------------------------------

# perspective.ts, convertLanguage: `case "en-US": return "en"; ... default: return "en";`
_LOCALE_TO_PERSPECTIVE = {"en-US": "en", "es": "es", "fr-FR": "fr", "de": "de", "pt-BR": "pt"}

# constants.ts: `export const TOXICITY_MODEL_DEFAULT = "TOXICITY";`
TOXICITY_MODEL_DEFAULT = "TOXICITY"
# constants.ts: `export const TOXICITY_THRESHOLD_DEFAULT = 80;` and toxic.ts:
# `threshold = TOXICITY_THRESHOLD_DEFAULT / 100;`
TOXICITY_THRESHOLD_DEFAULT = 80 / 100
# config.ts: `perspective_timeout: { ... default: ms("800 milliseconds") }`
PERSPECTIVE_TIMEOUT_MS = 800


def convert_language(locale: str) -> str:
    """The one language Coral sends: the tenant's locale mapped, "en" for any other locale."""
    return _LOCALE_TO_PERSPECTIVE.get(locale, "en")


def perspective_url(endpoint: str, operation: str, key: str) -> str:
    """sendToPerspective's URL: the admin's endpoint, the operation appended, ?key= set."""
    # `const url = new URL((endpoint || TOXICITY_ENDPOINT_DEFAULT).trim());`
    parts = urlsplit(endpoint.strip())
    # `url.pathname = path.join(url.pathname, `/${req.operation}`);`
    path = posixpath.normpath(posixpath.join(parts.path or "/", operation.lstrip("/")))
    # `url.searchParams.set("key", key.trim());` (other query parameters are kept)
    query = [(k, v) for k, v in _parse_qsl(parts.query) if k != "key"] + [("key", key.strip())]
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), parts.fragment))


def _parse_qsl(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


def analyze_body(text: str, do_not_store: bool, model: str, locale: str) -> dict[str, Any]:
    """formatBody for "comments:analyze", keys in Coral's order."""
    return {
        # `comment: { text: req.body.text },`
        "comment": {"text": text},
        # `doNotStore: req.body.doNotStore,`
        "doNotStore": do_not_store,
        # `requestedAttributes: { [req.body.model]: {} },`
        "requestedAttributes": {model: {}},
        # `languages: [language],`
        "languages": [convert_language(locale)],
    }


def suggestscore_body(
    *,
    text: str,
    comment_id: str,
    comment_parent_id: str | None,
    comment_status: str,
    story_url: str,
    tenant_url: str,
    model: str,
    locale: str,
) -> dict[str, Any]:
    """formatBody for "comments:suggestscore" (comment_status: "APPROVED" or "DELETED")."""
    context: dict[str, Any] = {
        # `url: getURLWithCommentID(req.body.storyURL, req.body.commentID),`
        "url": _url_with_comment_id(story_url, comment_id),
    }
    if comment_parent_id is not None:  # JSON.stringify drops an undefined value
        # `reply_to_id_Coral_comment_id: req.body.commentParentID,`
        context["reply_to_id_Coral_comment_id"] = comment_parent_id
    # `Coral_comment_id: req.body.commentID,`
    context["Coral_comment_id"] = comment_id
    return {
        "comment": {"text": text},
        # `context: { entries: [ { text: JSON.stringify({...}) } ] },`
        "context": {"entries": [{"text": js_stringify(context)}]},
        # `value: req.body.commentStatus === "APPROVED" ? 0 : 1,`
        "attributeScores": {
            model: {"summaryScore": {"value": 0 if comment_status == "APPROVED" else 1}}
        },
        "languages": [convert_language(locale)],
        # `communityId: `Coral:${req.body.tenantURL}`,`
        "communityId": f"Coral:{tenant_url}",
        # `clientToken: `comment:${req.body.commentID}`,`
        "clientToken": f"comment:{comment_id}",
    }


def _url_with_comment_id(story_url: str, comment_id: str) -> str:
    # story.ts getURLWithCommentID: `url.search = stringifyQuery({ ...query, commentID });`
    parts = urlsplit(story_url)
    query = [(k, v) for k, v in _parse_qsl(parts.query) if k != "commentID"]
    query.append(("commentID", comment_id))
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path or "/", urlencode(query), parts.fragment)
    )


# --- toxic.ts + axios.ts: reading the analyze answer ----------------------------------------


@dataclass(frozen=True)
class ToxicPhaseResult:
    """What Coral's toxic phase returns for one comment."""

    score: Any
    is_toxic: bool
    would_nudge: bool
    status: str | None = None
    comment_actions: list[dict[str, str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def axios_data(status: int, body: str) -> Any:
    """axios.ts: a status outside 2xx throws (axios' default validateStatus), which
    sendToPerspective rethrows and toxic.ts catches; a 2xx body is parsed as JSON when it
    can be, else left as the raw string (axios' silent JSON parsing)."""
    # `const ok = response.status >= 200 && response.status <= 299;`
    if not 200 <= status <= 299:
        # toxic.ts: `log.error({ err }, "could not determine comment toxicity");`
        raise CoralSkips(f"HTTP {status}: Coral logs 'could not determine comment toxicity'")
    try:
        return json.loads(body)
    except ValueError:
        return body


def _js_get(value: Any, key: str) -> Any:
    """value[key] in JavaScript: undefined (None) on a missing key, TypeError on undefined/null."""
    if value is None:
        raise CoralSkips(f"TypeError: cannot read properties of undefined (reading '{key}')")
    if isinstance(value, dict):
        return value.get(key)
    return None  # a string, number or array has no such property: undefined


def read_toxic_phase(
    status: int,
    body: str,
    *,
    model: str = TOXICITY_MODEL_DEFAULT,
    threshold: float = TOXICITY_THRESHOLD_DEFAULT,
    nudge: bool = False,
) -> ToxicPhaseResult:
    """What toxic.ts does with our comments:analyze answer; raises CoralSkips where Coral
    logs an error and publishes the comment as if it had no Perspective (fails open)."""
    data = axios_data(status, body)
    # `const score = result.data.attributeScores[model].summaryScore.value as number;`
    score = _js_get(
        _js_get(_js_get(_js_get(data, "attributeScores"), model), "summaryScore"), "value"
    )
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        # JavaScript would coerce ("0.9" > 0.8 is true); our answers must be JSON numbers.
        raise AssertionError(f"summaryScore.value must be a JSON number, got {score!r}")
    # `const isToxic = score > threshold;` (undefined > threshold is false: a missing value
    # silently reads as "not toxic")
    is_toxic = score is not None and score > threshold
    metadata = {"perspective": {"model": model, "score": score}}
    if is_toxic:
        return ToxicPhaseResult(
            score=score,
            is_toxic=True,
            # `if (nudge) { ... throw new ToxicCommentError(model, score, threshold); }`
            would_nudge=nudge,
            # `status: GQLCOMMENT_STATUS.SYSTEM_WITHHELD,`
            status="SYSTEM_WITHHELD",
            # `actionType: ACTION_TYPE.FLAG, reason: GQLCOMMENT_FLAG_REASON.COMMENT_DETECTED_TOXIC`
            comment_actions=[{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
            metadata=metadata,
        )
    return ToxicPhaseResult(score=score, is_toxic=False, would_nudge=False, metadata=metadata)


def read_suggestscore(status: int) -> bool:
    """events/listeners/perspective.ts: True where Coral logs "successfully sent moderation
    feedback to perspective"; the answer's body is never read."""
    try:
        axios_data(status, "")
    except CoralSkips:
        # `ctx.logger.error({ err }, "unable to send moderation feedback to perspective");`
        return False
    return True


# --- external.ts, fetch.ts, signingSecret/helpers.ts: the external moderation phase ---------

# external.ts ExternalModerationResponseSchema and the documented statuses
# (docs/docs/external-moderation-phases.md; COMMENT_STATUS in docs/docs/graphql.md).
ACTION_TYPES = frozenset({"FLAG"})
FLAG_REASONS = frozenset({"COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM"})
COMMENT_STATUSES = frozenset({"NONE", "APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"})
TAGS = frozenset({"FEATURED", "STAFF"})
# fetch.ts createFetch: `// Default to 10 seconds for the timeout. timeout = 10000,`
EXTERNAL_TIMEOUT_MS_DEFAULT = 10000


def external_request_body(request: dict[str, Any]) -> str:
    """fetch.ts generateFetchOptions: `const body = JSON.stringify(data, null, 2);`"""
    return js_stringify(request, indent=2)


def coral_signature(secret: str, body: str) -> str:
    """helpers.ts generateSignature:
    `crypto.createHmac("sha256", key).update(data).digest().toString("hex")`"""
    return hmac.new(secret.encode("utf-8"), body.encode("utf-8"), hashlib.sha256).hexdigest()


def coral_signature_header(active_secrets: list[str], body: str) -> str:
    """helpers.ts generateSignatures: one `sha256=` entry per active secret, in the phase's
    order (the older secret first while it rotates), joined by ","."""
    # `.map((signature) => `sha256=${signature}`).join(",");`
    return ",".join(f"sha256={coral_signature(s, body)}" for s in active_secrets)


def extract_signatures(header: str) -> list[str]:
    """webhooks.md step 1: split on ",", then on "=", keep the values prefixed `sha256`."""
    values = []
    for element in header.split(","):
        prefix, _, value = element.partition("=")
        if prefix == "sha256":
            values.append(value)
    return values


def verify_signature(header: str | None, body: bytes, secret: str) -> bool:
    """webhooks.md steps 2-4: HMAC-SHA256 of the raw body with the secret, compared in
    constant time with each signature of the header; one match is enough."""
    if not header:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(sig, expected) for sig in extract_signatures(header))


def read_external_phase_response(status: int, text: str) -> dict[str, Any] | None:
    """processPhase + validateResponse: None where Coral goes on without this phase's
    decision (abstention or failure), else the response as Coral keeps it (unknown keys
    stripped); raises CoralSkips where Coral logs "failed to process custom moderation
    phase" and goes on."""
    # `if (!res.ok) { log.warn(...); return; }` (fetch: 2xx; redirects are not followed)
    if not 200 <= status <= 299:
        return None
    # `if (res.status === 204 || text === "" || text === "{}") { ...; return; }`
    if status == 204 or text == "" or text == "{}":
        return None
    # `const body = JSON.parse(text);`
    try:
        body = json.loads(text)
    except ValueError as error:
        raise CoralSkips(f"JSON.parse: {error}") from error
    return validate_response(body)


def _one_of(value: Any, allowed: frozenset[str]) -> bool:
    """Joi.string().only().allow(...): a string, and one of the allowed values."""
    return isinstance(value, str) and value in allowed


def validate_response(body: Any) -> dict[str, Any]:
    """The Joi schema with `stripUnknown: true, presence: "optional", abortEarly: false`."""
    errors: list[str] = []
    if not isinstance(body, dict):
        raise CoralSkips('"value" must be of type object')
    value: dict[str, Any] = {}
    if "actions" in body:
        # `actions: Joi.array().items(Joi.object().keys({ actionType: ..., reason: ... }))`
        actions = body["actions"]
        if not isinstance(actions, list):
            errors.append('"actions" must be an array')
        else:
            kept = []
            for i, item in enumerate(actions):
                if not isinstance(item, dict):
                    errors.append(f'"actions[{i}]" must be of type object')
                    continue
                # `actionType: Joi.string().only().allow(ACTION_TYPE.FLAG).required(),`
                if not _one_of(item.get("actionType"), ACTION_TYPES):
                    errors.append(f'"actions[{i}].actionType" must be [FLAG]')
                # `reason: Joi.string().only().allow(COMMENT_DETECTED_TOXIC, ..._SPAM).required()`
                if not _one_of(item.get("reason"), FLAG_REASONS):
                    errors.append(f'"actions[{i}].reason" is not an allowed reason')
                kept.append({"actionType": item.get("actionType"), "reason": item.get("reason")})
            value["actions"] = kept
    if "status" in body:
        # `status: Joi.string().only().allow(...Object.keys(GQLCOMMENT_STATUS)),`
        if not _one_of(body["status"], COMMENT_STATUSES):
            errors.append('"status" is not a comment status')
        value["status"] = body["status"]
    if "tags" in body:
        # `tags: Joi.array().items(Joi.string().only().allow(GQLTAG.FEATURED, GQLTAG.STAFF)...)`
        tags = body["tags"]
        if not isinstance(tags, list) or not all(_one_of(t, TAGS) for t in tags):
            errors.append('"tags" must be FEATURED or STAFF')
        value["tags"] = tags
    # `if (err) { throw err; }`
    if errors:
        raise CoralSkips("; ".join(errors))
    return value
