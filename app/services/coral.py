"""Coral's external moderation phase: Coral asks what to do with a new or edited comment, we
answer with our policy (the site's thresholds, word lists and text rules).

The contract is Coral's (coralproject/talk, `docs/docs/external-moderation-phases.md`,
`services/comments/pipeline/phases/external.ts`; our notes in docs/perspective-compat.md §4):

* Coral signs the raw body with the phase's secret: `X-Coral-Signature: sha256=<hex>`, one
  entry per active secret, comma-separated while Coral rotates it. The client's secret
  (`ApiClient.coral_secret`) must match one entry, compared in constant time. An unknown or
  revoked client, a client without a Coral secret and a missing or wrong signature all get
  the same 403 (PhaseError): nothing scored, nothing stored but the client's call count.
* The answer: 204 without a body (we abstain: Coral's own settings decide), or 200 with
  `{status, actions}`; see `answer_for` for the mapping. Coral strips unknown keys: the reason
  in words we add to a rejection (`reason`) is for whoever reads the traffic; our staff read
  it on « Coral » (`CoralDecision`).
* Coral fails open: a non-2xx answer, a time-out or a body it cannot read and the comment goes
  on as if the phase did not exist. So once the request is authentic and well-formed we always
  answer 200/204: a model that is down or too slow (CORAL_SCORING_WAIT_SECONDS) gives
  SYSTEM_WITHHELD (a human decides), never a number and never an error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from app import labels, policy
from app.extensions import db
from app.htmltext import html_to_text
from app.models import ApiClient, CoralAction, CoralDecision, CoralStatus, utcnow
from app.policy import Outcome, Verdict
from app.scoring import ScoringUnavailable
from app.services import clients, decisions, quotas, scoring
from app.services.errors import ServiceError

# The same request again within this window, once the first is decided, gets the same answer
# without a second model call (copies arriving together are each decided). Coral retries
# nothing itself, but a proxy or a replayed capture may.
REPLAY_WINDOW = timedelta(minutes=10)
PER_PAGE = 50
MAX_SIGNATURES = 10  # entries of X-Coral-Signature read (Coral sends one, two while rotating)
MAX_ID = 200  # Coral's ids are UUIDs (36 characters); room for other formats
MAX_DOMAIN = 255
MAX_URL = 4000
MAX_ROLE = 32
FLAG_TOXIC = {"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}


class PhaseError(ServiceError):
    """A request refused before any decision: `status` (403, 400, 429), a stable `code`
    (Google's names, as our other API endpoints use) and a `message` in French."""

    def __init__(
        self, status: int, code: str, message: str, retry_after: int | None = None
    ) -> None:
        super().__init__(None, message)
        self.status = status
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class PhaseRequest:
    """What Coral sends: the comment (its body as Coral's « format » gives it: HTML or text),
    its author, its story, the site and the tenant. No comment id, no time, no language."""

    action: str
    body: str
    parent_id: str | None
    author_id: str
    author_role: str
    story_id: str
    story_url: str
    site_id: str
    tenant_id: str
    tenant_domain: str


@dataclass(frozen=True)
class Answer:
    """What Coral receives: `http_status` 204 (no body: we abstain) or 200 with `body`."""

    http_status: int
    body: dict[str, Any] | None = None


# --- The signature ---------------------------------------------------------------------------


def _signatures(header: str | None) -> list[bytes]:
    """The `sha256=` values of X-Coral-Signature (webhooks.md, « How to verify »: split on
    « , », then on the first « = »), as bytes: a hostile header (non-ASCII, huge) cannot make
    the comparison fail with an error."""
    found = []
    for element in (header or "").split(",")[:MAX_SIGNATURES]:
        prefix, _sep, value = element.strip().partition("=")
        if prefix == "sha256" and value:
            found.append(value.strip().encode("utf-8", "replace"))
    return found


def signed_by(secret: str, raw: bytes, header: str | None) -> bool:
    """Whether one entry of the header is the HMAC-SHA256 of the raw body with `secret`
    (every entry compared in constant time, none skipped on a match)."""
    expected = hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest().encode()
    matches = [hmac.compare_digest(value, expected) for value in _signatures(header)]
    return any(matches)


def authenticate(name: str, raw: bytes, header: str | None) -> ApiClient:
    """The client whose Coral secret signed this body; PhaseError 403, the same for an
    unknown or revoked client, a client without a Coral secret and a missing or wrong
    signature (a wrong signature is counted on the client's calls)."""
    client = clients.find(name) if clients.NAME_RE.fullmatch(name) else None
    secret = client.coral_secret if client is not None else None
    # An HMAC is computed in every case, so that the answer takes as long for every refusal.
    good = signed_by(secret or "", raw, header) and secret is not None
    if client is None or client.revoked_at is not None or not good:
        if client is not None:
            clients.record_call(client, 403, "PERMISSION_DENIED")
        raise PhaseError(
            403,
            "PERMISSION_DENIED",
            "Signature Coral absente ou invalide, ou client inconnu : la requête est refusée.",
        )
    return client


# --- The request -----------------------------------------------------------------------------


def _invalid(message: str) -> PhaseError:
    return PhaseError(400, "INVALID_ARGUMENT", message)


def _text(value: str) -> str:
    """A text as it can be stored: no NUL (PostgreSQL refuses it), no lone surrogate (JSON's
    « \\ud800 » is not UTF-8)."""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _field(
    data: Mapping[str, Any], key: str, where: str, limit: int, *, optional: bool = False
) -> str | None:
    """A short identifier: a non-empty string of at most `limit` characters, without control
    characters; None when `optional` and absent or null."""
    value = data.get(key)
    if value is None and optional:
        return None
    name = f"{where}.{key}" if where else key
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"« {name} » doit être une chaîne non vide.")
    if len(value) > limit:
        raise _invalid(f"« {name} » dépasse {limit} caractères.")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise _invalid(f"« {name} » contient des caractères de contrôle.")
    return value


def _object(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise _invalid(f"« {key} » doit être un objet.")
    return value


def parse(raw: bytes) -> PhaseRequest:
    """The request Coral's `ExternalModerationRequest` describes, checked; PhaseError 400 for
    a body that is not UTF-8 JSON or not that shape. Keys we do not know are ignored (a newer
    Coral may send more)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _invalid("Le corps de la requête n’est pas du JSON en UTF-8.") from None
    if not isinstance(data, dict):
        raise _invalid("Le corps de la requête doit être un objet JSON.")
    action = data.get("action")
    if not isinstance(action, str) or action not in set(CoralAction):
        raise _invalid("« action » doit valoir NEW ou EDIT.")
    comment, author = _object(data, "comment"), _object(data, "author")
    story, site = _object(data, "story"), _object(data, "site")
    body = comment.get("body")
    if not isinstance(body, str):
        raise _invalid("« comment.body » doit être une chaîne.")
    url = story.get("url")
    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL:
        raise _invalid(f"« story.url » doit être une adresse de {MAX_URL} caractères au plus.")
    return PhaseRequest(
        action=str(action),
        body=_text(body),
        parent_id=_field(comment, "parentID", "comment", MAX_ID, optional=True),
        author_id=str(_field(author, "id", "author", MAX_ID)),
        author_role=str(_field(author, "role", "author", MAX_ROLE)),
        story_id=str(_field(story, "id", "story", MAX_ID)),
        story_url=_text(url),
        site_id=str(_field(site, "id", "site", MAX_ID)),
        tenant_id=str(_field(data, "tenantID", "", MAX_ID)),
        tenant_domain=str(_field(data, "tenantDomain", "", MAX_DOMAIN)),
    )


# --- The decision ----------------------------------------------------------------------------


def answer_for(verdict: Verdict) -> Answer:
    """Our verdict as Coral's phase answer (README, « Phase de modération externe de Coral »):

    * publish: 204, we abstain (Coral's own settings and later phases decide; APPROVED would
      end Coral's pipeline and mark the comment approved by a moderator);
    * hold with a score over a threshold: SYSTEM_WITHHELD and FLAG COMMENT_DETECTED_TOXIC, as
      Coral's own toxic phase does;
    * hold without a score (the model down or too slow): SYSTEM_WITHHELD, no flag (we do not
      know that it is toxic; a human decides);
    * hold by a site rule only (« tout prémodérer », a link, a suspect word): PREMOD;
    * reject: REJECTED and FLAG COMMENT_DETECTED_TOXIC, with the reason in French words
      (`reason`, stripped by Coral).
    """
    codes = {reason.code for reason in verdict.reasons}
    if verdict.outcome == Outcome.PUBLISH:
        return Answer(204)
    if verdict.outcome == Outcome.REJECT:
        reason = labels.french(labels.reasons_text([r.as_dict() for r in verdict.reasons],
                                                   technical=False))  # fmt: skip
        return Answer(
            200,
            {"status": CoralStatus.REJECTED, "actions": [dict(FLAG_TOXIC)], "reason": reason},
        )
    if codes & {policy.CATEGORY_HOLD, policy.CATEGORY_REJECT, policy.NUDGE}:
        return Answer(200, {"status": CoralStatus.SYSTEM_WITHHELD, "actions": [dict(FLAG_TOXIC)]})
    if policy.SCORING_UNAVAILABLE in codes:
        return Answer(200, {"status": CoralStatus.SYSTEM_WITHHELD})
    return Answer(200, {"status": CoralStatus.PREMOD})


def _request_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _replayed(client: ApiClient, digest: str) -> CoralDecision | None:
    """The decision of the same request from this client within REPLAY_WINDOW, if any."""
    return db.session.scalar(
        select(CoralDecision)
        .where(
            CoralDecision.client_id == client.id,
            CoralDecision.request_hash == digest,
            CoralDecision.received_at >= utcnow() - REPLAY_WINDOW,
        )
        .order_by(CoralDecision.id.desc())
        .limit(1)
    )


def _stored_answer(row: CoralDecision) -> Answer:
    """The answer a stored decision gave, rebuilt (a replay gets the same)."""
    reasons = [policy.Reason(**r) for r in row.reasons]
    return answer_for(Verdict(Outcome(row.outcome), tuple(reasons)))


def take_call(client: ApiClient) -> None:
    """One call on the client's quota; PhaseError 429 (with `retry_after`) when used up."""
    try:
        clients.take_call(client)
    except quotas.QuotaExceeded as error:
        clients.record_call(client, 429, "RESOURCE_EXHAUSTED")
        raise PhaseError(
            429,
            "RESOURCE_EXHAUSTED",
            "Quota d’appels de ce client dépassé.",
            retry_after=error.retry_after,
        ) from None


def moderate(client: ApiClient, request: PhaseRequest, raw: bytes) -> Answer:
    """Decide one authentic, well-formed request with the site's policy, keep the decision
    for staff (`CoralDecision`), count the call, and give Coral's answer. Never raises for the
    model: no score within CORAL_SCORING_WAIT_SECONDS is a hold (SYSTEM_WITHHELD)."""
    digest = _request_hash(raw)
    earlier = _replayed(client, digest)
    if earlier is not None:
        answer = _stored_answer(earlier)
        db.session.commit()  # close the read transaction
        clients.record_call(client, answer.http_status)
        return answer
    text = html_to_text(request.body)
    [gathered] = decisions.for_texts([text], may_nudge=False)
    scores: dict[str, float] | None = None
    model_name = model_version = None
    try:
        scored = scoring.score_texts(
            [text], timeout=current_app.config["CORAL_SCORING_WAIT_SECONDS"]
        )
    except ScoringUnavailable as error:  # a time-out included: no score exists
        current_app.logger.warning("coral phase: no score (%s)", type(error).__name__)
    else:
        scores = dict(scored.results[0].scores)
        model_name, model_version = scored.model_name, scored.model_version
    verdict = policy.verdict(gathered.inputs, scores)
    answer = answer_for(verdict)
    body = answer.body or {}
    db.session.add(
        CoralDecision(
            client_id=client.id,
            action=request.action,
            tenant_id=request.tenant_id,
            tenant_domain=request.tenant_domain,
            site_id=request.site_id,
            story_id=request.story_id,
            story_url=request.story_url,
            author_id=request.author_id,
            author_role=request.author_role,
            parent_id=request.parent_id,
            body=text,
            request_hash=digest,
            outcome=verdict.outcome,
            reasons=[reason.as_dict() for reason in verdict.reasons],
            scores=scores,
            model_name=model_name,
            model_version=model_version,
            http_status=answer.http_status,
            coral_status=body.get("status"),
            flagged=bool(body.get("actions")),
        )
    )
    db.session.commit()
    clients.record_call(client, answer.http_status)
    return answer


def handle(name: str, raw: bytes, signature: str | None) -> Answer:
    """One call of Coral's phase, from the client's name in the URL, the raw body and the
    X-Coral-Signature header to Coral's answer; PhaseError for a refusal (403 signature, 429
    quota, 400 body), counted on the client's calls when the client is known."""
    client = authenticate(name, raw, signature)
    take_call(client)
    try:
        request = parse(raw)
    except PhaseError as error:
        clients.record_call(client, error.status, error.code)
        raise
    return moderate(client, request, raw)


# --- What staff see, and what is forgotten ---------------------------------------------------


@dataclass(frozen=True)
class DecisionPage:
    rows: list[CoralDecision]
    page: int
    has_more: bool
    clients: list[str]


def decisions_page(
    outcome: str | None = None, client_name: str | None = None, page: int = 1
) -> DecisionPage:
    """The decisions, newest first, PER_PAGE at a time; an `outcome` or `client_name` that
    names nothing known reads as absent (hostile query values are ignored)."""
    query = select(CoralDecision).join(ApiClient)
    if outcome in set(Outcome):
        query = query.where(CoralDecision.outcome == outcome)
    names = list(
        db.session.scalars(
            select(ApiClient.name)
            .where(ApiClient.id.in_(select(CoralDecision.client_id).distinct()))
            .order_by(ApiClient.name)
        )
    )
    if client_name in names:
        query = query.where(ApiClient.name == client_name)
    rows = list(
        db.session.scalars(
            query.order_by(CoralDecision.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE + 1)
        )
    )
    return DecisionPage(rows[:PER_PAGE], page, len(rows) > PER_PAGE, names)


def story_link(url: str) -> str | None:
    """The story's address when it may be a link on a staff page (http or https only)."""
    return url if url.lower().startswith(("https://", "http://")) else None
