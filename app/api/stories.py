"""`/api/v1` for readers and the embed (issue 13): stories, their comments, posting, the
nudge's two answers, reports, counts. Public (no key), CORS for the sites' allowed origins only
(app/api/cors.py); the contract is docs/embed-api.md.

The reader is known by the `X-Reader-Token` header, never by a cookie: a guest's opaque token
(returned as `reader_token` with their first comment or report), or an SSO session token
(`s.…`, services/sso.py). Public reads (no token) are cacheable: `ETag` and `Last-Modified`
(services/comments.story_freshness), 304 on revalidation, `Cache-Control: public`; with a
token, `private, no-cache` (the answer shows the reader's own comments).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime

from flask import Response, current_app, jsonify, request, url_for
from flask_limiter.util import get_remote_address
from pydantic import BaseModel, ConfigDict, Field

from app import labels
from app.api import cors
from app.api.errors import ApiError
from app.api.schemas import ErrorBody
from app.api.spec import endpoint
from app.api.story_schemas import (
    AcknowledgeAnswer,
    AuthorOut,
    CommentAnswer,
    CommentIn,
    CommentOut,
    CommentsQuery,
    CountsIn,
    CountsOut,
    CountsQuery,
    DraftAnswer,
    DraftIn,
    DraftNudgeOut,
    EditIn,
    LikeAnswer,
    NoticeAnswer,
    NoticeIn,
    NudgeOut,
    ReportAnswer,
    ReportIn,
    RevisionIn,
    StoryCounts,
    StoryOut,
    StoryQuery,
    StreamOut,
    StreamQuery,
    ThreadsOut,
    ViewerOut,
    WarningOut,
)
from app.api.v1 import bp
from app.extensions import db
from app.models import Article, Comment, CommentStatus, ReaderWarning, Site, User, as_utc
from app.scoring import ScoringUnavailable
from app.services import (
    comments,
    drafts,
    likes,
    moderation,
    notices,
    notifications,
    quotas,
    readers,
    settings,
    sites,
    sso,
    statements,
    warnings,
)
from app.services.comments import Viewer
from app.validators import (
    Problem,
    body_problem,
    clean_text,
    display_name_problem,
    email_problem,
    note_problem,
    parent_problem,
)

cors.register(bp)

TAGS = ("Lecteurs",)
PUBLIC_CACHE = "public, max-age=30, stale-while-revalidate=60"
PRIVATE_CACHE = "private, no-cache"
TOKEN_HEADER = "X-Reader-Token"
GUEST_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")
STORY_NOT_FOUND = "Cet article n’existe pas (ou pas sur ce site)."
COMMENT_NOT_FOUND = "Ce commentaire n’existe pas ou ne vous appartient pas."
TOKEN_REFUSED = (
    "Votre identifiant de lecteur n’est plus valable : reconnectez-vous ou rechargez la page."
)


class ReaderHeaders(BaseModel):
    """The reader's own token: a guest's (`reader_token` of an earlier answer) or an SSO
    session's (`s.…`, from `POST /api/v1/sso/session`)."""

    model_config = ConfigDict(populate_by_name=True)

    reader_token: str | None = Field(default=None, alias="X-Reader-Token")


# --- Who reads ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reader:
    """Who calls: an SSO reader, a guest (by their token), or nobody in particular."""

    user: User | None = None
    guest_token: str | None = None
    token_given: bool = False  # an X-Reader-Token was sent (the answer is then private)
    token_refused: bool = False  # …but it names no one

    @property
    def viewer(self) -> Viewer:
        return Viewer(user_id=self.user.id if self.user else None, guest_token=self.guest_token)

    def owns(self, comment: Comment) -> bool:
        if self.user is not None:
            return comment.user_id == self.user.id
        return self.guest_token is not None and comment.guest_token == self.guest_token


def _reader() -> Reader:
    """The reader of `X-Reader-Token`; a token that names no one reads as no one."""
    token = (request.headers.get(TOKEN_HEADER) or "").strip()
    if not token:
        return Reader()
    if token.startswith("s."):
        user = sso.reader_from_session_token(token)
        return Reader(user=user, token_given=True, token_refused=user is None)
    if GUEST_TOKEN.fullmatch(token):
        return Reader(guest_token=token, token_given=True)
    return Reader(token_given=True, token_refused=True)


def _acting_reader() -> Reader:
    """The reader who posts, answers a nudge or reports: 401 `invalid_reader_token` for a
    token that names no one (never posted as someone else, nor silently as a new guest)."""
    reader = _reader()
    if reader.token_refused:
        raise ApiError(401, "invalid_reader_token", TOKEN_REFUSED, TOKEN_HEADER)
    return reader


# --- Stories and comments as answered -------------------------------------------------------


def _story_or_404(story_id: int, site: Site) -> Article:
    """A story by id; from a browser, only one of its origin's site."""
    story = db.session.get(Article, story_id)
    if story is None or (cors.from_browser() and sites.site_of(story).id != site.id):
        raise ApiError(404, "story_not_found", STORY_NOT_FOUND, "story_id")
    return story


def _story_out(story: Article, published: int, featured: int) -> StoryOut:
    site = sites.site_of(story)
    return StoryOut(
        id=story.id,
        site=site.name,
        url=story.url,
        external_id=story.external_id,
        title=story.title,
        open=story.accepting_comments,
        premoderated=story.premoderated,
        guests_allowed=bool(settings.get("guests_allowed", site)),
        max_length=settings.max_comment_length(site),
        nudge=bool(settings.get("nudge_enabled", site)),
        counts=StoryCounts(published=published, featured=featured),
        html_url=url_for("reader.article", slug=story.slug, _external=True),
    )


def _comment_out(
    comment: Comment,
    reader: Reader,
    replies: list[CommentOut],
    liked: AbstractSet[int] = frozenset(),
) -> CommentOut:
    own = reader.owns(comment)
    return CommentOut(
        id=comment.id,
        parent_id=comment.parent_id,
        depth=comment.depth,
        author=AuthorOut(name=comment.author_name),
        body=comment.body,
        created_at=as_utc(comment.created_at),
        status=CommentStatus(comment.status).value,  # type: ignore[arg-type]
        own=own,
        message=(
            labels.outcome_message(comment.status, comment.status_reason)
            if own and not comment.is_published
            else None
        ),
        removed=comments.placeholder_text(comment),
        statement_url=_statement_url(comment) if own else None,
        edited_at=as_utc(comment.edited_at) if comment.edited_at else None,
        likes=comment.like_count if comment.is_published else 0,
        liked=comment.id in liked,
        featured=comment.featured_at is not None and comment.is_published,
        editable_until=comments.edit_deadline(comment) if own else None,
        reportable=comment.is_published and not comment.hidden and not comment.removed,
        replies=replies,
    )


def _statement_url(comment: Comment) -> str | None:
    """The signed link to the latest statement of reasons of a rejected comment."""
    if comment.status != CommentStatus.REJECTED:
        return None
    found = statements.latest_for_comment(comment.id)
    return statements.link(found.puid) if found is not None else None


def _threads_out(
    nodes: list[comments.Node], reader: Reader, liked: set[int] | None = None
) -> list[CommentOut]:
    if liked is None:  # once per answer: which of its comments the reader likes
        liked = likes.liked(reader.viewer, comments.ids_in(nodes)) if reader.token_given else set()
    return [
        _comment_out(node.comment, reader, _threads_out(node.replies, reader, liked), liked)
        for node in nodes
    ]


def _threads(
    story: Article, reader: Reader, sort: str, cursor: comments.Cursor | None, limit: int | None
) -> comments.ThreadSlice:
    return comments.thread_slice(
        story,
        reader.viewer,
        newest_first=sort == "newest",
        most_liked=sort == "liked",
        featured_only=sort == "featured",
        after=cursor,
        limit=limit or current_app.config["COMMENTS_PER_PAGE"],
    )


def _answer(
    comment: Comment, reader: Reader, *, duplicate: bool = False, token: str | None = None
) -> CommentAnswer:
    nudge = None
    if comment.status == CommentStatus.NUDGED:
        given = comments.nudge_of(comment)
        nudge = NudgeOut(
            categories=given.categories,
            message=given.message,
            revisions_left=given.revisions_left,
        )
    return CommentAnswer(
        comment=_comment_out(comment, reader, []),
        outcome=CommentStatus(comment.status).value,  # type: ignore[arg-type]
        message=labels.outcome_message(comment.status, comment.status_reason, duplicate),
        nudge=nudge,
        reader_token=token,
    )


def _warnings_out(found: list[ReaderWarning]) -> list[WarningOut]:
    return [
        WarningOut(
            id=w.id,
            reason=labels.french(labels.REJECT_REASONS.get(w.reason, w.reason)),
            message=w.message,
            created_at=as_utc(w.created_at),
        )
        for w in found
    ]


def _author_warnings(comment: Comment) -> list[WarningOut]:
    """What the author of a comment just posted is warned of (the answer to their own post:
    a guest is shown the warnings of the address they typed only there)."""
    if not comment.author_email and comment.user_id is None:
        return []
    return _warnings_out(warnings.pending(readers.Reader.of(comment.author_email, comment.user_id)))


# --- Caching --------------------------------------------------------------------------------


def _json(model: BaseModel, status: int = 200) -> Response:
    response = jsonify(model.model_dump(mode="json"))
    response.status_code = status
    return response


def _not_modified() -> Response:
    response = Response(status=304)
    del response.headers["Content-Type"]  # no body, so no type
    return response


def _unchanged(tag: str, last_modified: datetime | None) -> bool:
    """The client's copy is current: its `If-None-Match` holds the tag, or, without one, its
    `If-Modified-Since` is not older than the last change (RFC 9110, 13.1)."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(tag)
    since = request.if_modified_since
    if since is None or last_modified is None:
        return False
    return last_modified.replace(microsecond=0) <= since  # HTTP dates are whole seconds


def _cached(
    build: Callable[[], BaseModel],
    tag: Callable[[], tuple[str, datetime | None]] | None,
    reader: Reader,
) -> Response:
    """A GET's answer: private for a reader with a token; else public with its validators,
    and a 304 without building the answer when the client's copy is current. `tag`: the
    validator and last change, derived cheaply; None: the answer's own hash."""
    if reader.token_given:
        response = _json(build())
        response.headers["Cache-Control"] = PRIVATE_CACHE
        return response
    if tag is not None:
        etag, last_modified = tag()
        if _unchanged(etag, last_modified):
            response = _not_modified()
        else:
            response = _json(build())
    else:
        response = _json(build())
        etag, last_modified = hashlib.sha256(response.get_data()).hexdigest()[:32], None
        if _unchanged(etag, last_modified):
            response = _not_modified()
    response.set_etag(etag)
    if last_modified is not None:
        response.last_modified = last_modified.replace(microsecond=0)
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return response


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _freshness(story: Article) -> Callable[[], tuple[str, datetime | None]]:
    def tag() -> tuple[str, datetime | None]:
        fresh = comments.story_freshness(story)
        return fresh.tag, fresh.last_modified

    return tag


def _problem(problem: Problem | None, field: str) -> None:
    if problem is not None:
        raise ApiError(422, problem.code, problem.message, field)


def _comment_refused(error: comments.CommentError) -> ApiError:
    status = {"email_has_account": 422, "invalid_parent": 422}.get(error.code, 403)
    if error.code in ("not_nudged", "revisions_spent", "edit_window_over", "edit_conflict"):
        status = 409
    return ApiError(status, error.code, error.message, error.field)


def _too_many(exceeded: quotas.QuotaExceeded, code: str, what: str) -> ApiError:
    return ApiError(
        429,
        code,
        f"Vous avez envoyé trop de {what} en peu de temps. "
        f"Réessayez dans {exceeded.retry_after} s.",
        headers={"Retry-After": str(exceeded.retry_after)},
    )


# --- Endpoints ------------------------------------------------------------------------------

ORIGIN_403 = "`origin_not_allowed` : cette origine n’est celle d’aucun site."
NOT_MODIFIED = "Inchangé depuis la copie du client (`If-None-Match`, `If-Modified-Since`)."


@bp.get("/stream")
@cors.reader_endpoint
@endpoint(
    query=StreamQuery,
    headers=ReaderHeaders,
    responses={
        200: (StreamOut, "L’article (créé à sa première vue) et sa première page."),
        304: (None, NOT_MODIFIED),
        403: (ErrorBody, ORIGIN_403 + " Ou l’adresse n’est pas sur une origine du site."),
        422: (ErrorBody, "`invalid_field` (`url`, `id`, `site`, `sort`, `limit`…)."),
    },
    tags=TAGS,
)
def stream(site: Site, query: StreamQuery) -> Response:
    """The embed's one call: the story of this page, created the first time it is seen on
    one of the site's origins with the title the page gives, its first page of threads, and
    who the reader is.

    200 `{"story", "comments", "next_cursor", "viewer"}`. 304 unchanged. 403
    `origin_not_allowed` (the origin, or the URL, is not the site's: nothing is created). 422
    `invalid_field`."""
    try:
        story, _created = sites.ensure_story(site, query.url, query.title, query.id)
    except sites.SiteError as error:
        status = 403 if error.code == "origin_not_allowed" else 422
        raise ApiError(status, error.code, error.message, error.field) from None
    reader = _reader()

    def build() -> StreamOut:
        page = _threads(story, reader, query.sort, None, query.limit)
        viewer = None
        if reader.user is not None:
            viewer = ViewerOut(
                name=reader.user.display_name,
                signed_in=True,
                warnings=_warnings_out(
                    warnings.pending(readers.Reader.of(reader.user.email, reader.user.id))
                ),
            )
        elif reader.guest_token is not None:  # the name they signed with last, for the form
            viewer = ViewerOut(name=comments.guest_author(reader.guest_token)[0], signed_in=False)
        return StreamOut(
            story=_story_out(
                story, comments.published_count(story), comments.featured_count(story)
            ),
            comments=_threads_out(page.threads, reader),
            next_cursor=page.next_cursor.encode() if page.next_cursor else None,
            viewer=viewer,
        )

    return _cached(build, _freshness(story), reader)


@bp.get("/stories")
@cors.reader_endpoint
@endpoint(
    query=StoryQuery,
    headers=ReaderHeaders,
    responses={
        200: (StoryOut, "L’article, ses compteurs, s’il prend des commentaires."),
        304: (None, NOT_MODIFIED),
        403: (ErrorBody, ORIGIN_403),
        404: (ErrorBody, "`story_not_found`."),
        422: (ErrorBody, "`required` (ni `url` ni `id`), `invalid_field`."),
    },
    tags=TAGS,
)
def story(site: Site, query: StoryQuery) -> Response:
    """A story of the site by its canonical URL (`?url=`) or its CMS id (`?id=`).

    200 the story. 304 unchanged. 403 `origin_not_allowed`. 404 `story_not_found`. 422
    `required`, `invalid_field`."""
    if not query.url and not query.id:
        raise ApiError(422, "required", "Indiquez l’adresse (url) ou l’identifiant (id).", "url")
    try:
        found = sites.find_story(site, url=query.url, external_id=query.id)
    except sites.SiteError as error:
        raise ApiError(422, error.code, error.message, error.field) from None
    if found is None:
        raise ApiError(404, "story_not_found", STORY_NOT_FOUND, "url" if query.url else "id")
    fresh = comments.story_freshness(found)
    return _cached(
        lambda: _story_out(found, fresh.published, fresh.featured),
        lambda: (fresh.tag, fresh.last_modified),
        _reader(),
    )


@bp.get("/stories/<id:story_id>/comments")
@cors.reader_endpoint
@endpoint(
    query=CommentsQuery,
    headers=ReaderHeaders,
    responses={
        200: (ThreadsOut, "Une page de fils : commentaires et leurs réponses imbriquées."),
        304: (None, NOT_MODIFIED),
        403: (ErrorBody, ORIGIN_403),
        404: (ErrorBody, "`story_not_found`."),
        422: (ErrorBody, "`invalid_field` (`cursor`, `sort`, `limit`)."),
    },
    tags=TAGS,
)
def story_comments(site: Site, story_id: int, query: CommentsQuery) -> Response:
    """A page of threads: top-level comments (newest or oldest first) with their replies
    nested as on our page, and the cursor of the next page. The reader with a token also
    sees their own comments that are not published (`status`, `message`).

    200 `{"comments", "next_cursor"}`. 304 unchanged. 403 `origin_not_allowed`. 404
    `story_not_found`. 422 `invalid_field`."""
    found = _story_or_404(story_id, site)
    cursor = None
    if query.cursor is not None:
        cursor = comments.Cursor.decode(query.cursor)
        if cursor is None:
            raise ApiError(
                422, "invalid_field", "Ce curseur n’est pas celui d’une page précédente.", "cursor"
            )
    reader = _reader()

    def build() -> ThreadsOut:
        page = _threads(found, reader, query.sort, cursor, query.limit)
        return ThreadsOut(
            comments=_threads_out(page.threads, reader),
            next_cursor=page.next_cursor.encode() if page.next_cursor else None,
        )

    return _cached(build, _freshness(found), reader)


@bp.post("/stories/<id:story_id>/comments")
@cors.reader_endpoint
@endpoint(
    body=CommentIn,
    headers=ReaderHeaders,
    responses={
        200: (CommentAnswer, "Déjà envoyé (même clé ou même texte) : le commentaire enregistré."),
        201: (CommentAnswer, "Enregistré : publié, en attente, à relire (nudge) ou refusé."),
        400: (ErrorBody, "`invalid_json`."),
        401: (ErrorBody, "`invalid_reader_token`."),
        403: (
            ErrorBody,
            ORIGIN_403 + " `guests_not_allowed`, `comments_closed`, `restricted`.",
        ),
        404: (ErrorBody, "`story_not_found`."),
        413: (ErrorBody, "`too_large`."),
        422: (
            ErrorBody,
            "`required`, `too_long`, `invalid_text`, `invalid_name`, `invalid_email`, "
            "`invalid_parent`, `email_has_account`, `invalid_field` (avec `field`).",
        ),
        429: (ErrorBody, "`too_many_comments` (avec Retry-After)."),
    },
    tags=TAGS,
)
def post_comment(site: Site, story_id: int, body: CommentIn) -> Response:
    """Post a comment or a reply. A guest gives `name` and `email` (never published) and
    gets `reader_token` back, to send as `X-Reader-Token`; an SSO reader posts under their
    account. The answer says what became of the comment (`outcome`, `message`, the `nudge`).

    201 stored. 200 a duplicate (the same `idempotency_key`, or the same text within the
    duplicate window): the stored comment, stored once. 400 `invalid_json`. 401
    `invalid_reader_token`. 403 `origin_not_allowed`, `guests_not_allowed`, `comments_closed`,
    `restricted`. 404 `story_not_found`. 413 `too_large`. 422 a field's code (`field` names it).
    429 `too_many_comments`."""
    found = _story_or_404(story_id, site)
    reader = _acting_reader()
    guest = reader.user is None
    text = clean_text(body.body)
    name = (body.name or "").strip()
    email = (body.email or "").strip()
    limit = settings.max_comment_length(sites.site_of(found))
    _problem(body_problem(text, limit), "body")
    _problem(display_name_problem(name, guest=guest), "name")
    _problem(email_problem(email, guest=guest), "email")
    _problem(parent_problem(body.parent_id), "parent_id")
    token = None if reader.user else reader.guest_token or secrets.token_urlsafe(24)
    author = comments.Author.of(reader.user, name, email, token)
    try:
        result = comments.submit_comment(
            found,
            author,
            text,
            parent_id=body.parent_id,
            form_token=body.idempotency_key,
            address=get_remote_address(),
        )
    except quotas.QuotaExceeded as exceeded:
        raise _too_many(exceeded, "too_many_comments", "commentaires") from None
    except comments.CommentError as error:
        raise _comment_refused(error) from None
    if token is not None:
        token = result.comment.guest_token or token  # a copy sent at once: the stored one's
        reader = Reader(guest_token=token)
        if body.notify_replies:
            notifications.ask(email, get_remote_address())
    elif body.notify_replies and reader.user is not None and not reader.user.reply_mails:
        notifications.set_account(reader.user, True)  # an SSO reader: their CMS's address
    answer = _answer(result.comment, reader, duplicate=result.duplicate, token=token)
    answer.warnings = _author_warnings(result.comment)
    return _no_store(_json(answer, 200 if result.duplicate else 201))


@bp.post("/stories/<id:story_id>/drafts")
@cors.reader_endpoint
@endpoint(
    body=DraftIn,
    headers=ReaderHeaders,
    responses={
        200: (DraftAnswer, "Le brouillon noté : l’invitation à reformuler, ou rien."),
        400: (ErrorBody, "`invalid_json`."),
        403: (ErrorBody, ORIGIN_403 + " `comments_closed`."),
        404: (ErrorBody, "`story_not_found`."),
        413: (ErrorBody, "`too_large`."),
        422: (ErrorBody, "`required`, `too_long`, `invalid_text` (avec `field`)."),
        429: (ErrorBody, "`too_many_drafts` (avec Retry-After)."),
        503: (ErrorBody, "`scoring_unavailable` : rien à dire avant l’envoi."),
    },
    tags=TAGS,
)
def score_draft(site: Site, story_id: int, body: DraftIn) -> Response:
    """Score the draft the reader is typing (when they pause), to show the nudge before they
    send: `{"nudge": null}` or the nudge's categories and message. Nothing is stored; sending
    the same text within DRAFT_SCORE_MINUTES reuses this score (no second model call).

    200 the answer. 400 `invalid_json`. 403 `origin_not_allowed`, `comments_closed`. 404
    `story_not_found`. 413
    `too_large`. 422 `required`, `too_long`, `invalid_text`. 429 `too_many_drafts`. 503
    `scoring_unavailable`."""
    found = _story_or_404(story_id, site)
    if not found.accepting_comments:
        raise ApiError(403, "comments_closed", "Les commentaires sont fermés pour cet article.")
    reader = _reader()
    text = clean_text(body.body)
    _problem(body_problem(text, settings.max_comment_length(sites.site_of(found))), "body")
    try:
        nudge = drafts.score_draft(text, sites.site_of(found), reader.viewer, get_remote_address())
    except quotas.QuotaExceeded as exceeded:
        raise _too_many(exceeded, "too_many_drafts", "brouillons à vérifier") from None
    except ScoringUnavailable:
        raise ApiError(503, "scoring_unavailable", drafts.UNAVAILABLE) from None
    out = None
    if nudge is not None:
        out = DraftNudgeOut(categories=nudge.categories, message=nudge.message)
    return _no_store(_json(DraftAnswer(nudge=out)))


def _on_site(comment: Comment | None, site: Site, message: str = COMMENT_NOT_FOUND) -> Comment:
    """The comment, when there is one and a browser asks from its own site's origin; 404
    `comment_not_found` (with `message`) otherwise."""
    if comment is None or (cors.from_browser() and sites.site_of(comment.article).id != site.id):
        raise ApiError(404, "comment_not_found", message, "comment_id")
    return comment


def _own_comment(comment_id: int, site: Site, reader: Reader) -> Comment:
    """The reader's own comment (any status) or a published one; 404 otherwise."""
    return _on_site(comments.find_own_comment(comment_id, reader.viewer), site)


@bp.get("/comments/<id:comment_id>")
@cors.reader_endpoint
@endpoint(
    headers=ReaderHeaders,
    responses={
        200: (CommentAnswer, "Le commentaire, ce qu’il est devenu, son nudge."),
        304: (None, NOT_MODIFIED),
        403: (ErrorBody, ORIGIN_403),
        404: (ErrorBody, "`comment_not_found`."),
    },
    tags=TAGS,
)
def get_comment(site: Site, comment_id: int) -> Response:
    """The reader's own comment, whatever its status (the embed asks until a pending comment
    is decided), or any published comment.

    200 the comment. 304 unchanged. 403 `origin_not_allowed`. 404 `comment_not_found`."""
    reader = _reader()
    comment = _own_comment(comment_id, site, reader)
    return _cached(lambda: _answer(comment, reader), None, reader)


def _own_nudged(comment_id: int, site: Site, reader: Reader) -> Comment:
    comment = _own_comment(comment_id, site, reader)
    if not reader.owns(comment):
        raise ApiError(404, "comment_not_found", COMMENT_NOT_FOUND, "comment_id")
    return comment


NUDGE_RESPONSES: dict[int, tuple[type[BaseModel] | None, str]] = {
    200: (CommentAnswer, "Ce qu’il est devenu."),
    401: (ErrorBody, "`invalid_reader_token`."),
    403: (ErrorBody, ORIGIN_403),
    404: (ErrorBody, "`comment_not_found` (ou pas le vôtre)."),
    409: (ErrorBody, "`not_nudged` (il n’attend plus votre réponse), `revisions_spent`."),
}


@bp.post("/comments/<id:comment_id>/send")
@cors.reader_endpoint
@endpoint(headers=ReaderHeaders, responses=NUDGE_RESPONSES, tags=TAGS)
def send_anyway(site: Site, comment_id: int) -> Response:
    """The nudge's first answer: send the comment as it is (it then goes to a moderator, or is
    refused where the site's rules say so).

    200 the comment. 401 `invalid_reader_token`. 403 `origin_not_allowed`. 404
    `comment_not_found`. 409 `not_nudged`."""
    reader = _acting_reader()
    comment = _own_nudged(comment_id, site, reader)
    try:
        comments.send_anyway(comment)
    except comments.CommentError as error:
        raise _comment_refused(error) from None
    return _no_store(_json(_answer(comment, reader)))


@bp.post("/comments/<id:comment_id>/revise")
@cors.reader_endpoint
@endpoint(
    body=RevisionIn,
    headers=ReaderHeaders,
    responses={
        **NUDGE_RESPONSES,
        400: (ErrorBody, "`invalid_json`."),
        413: (ErrorBody, "`too_large`."),
        422: (ErrorBody, "`required`, `too_long`, `invalid_text`, `invalid_field`."),
        429: (ErrorBody, "`too_many_comments` (avec Retry-After)."),
    },
    tags=TAGS,
)
def revise(site: Site, comment_id: int, body: RevisionIn) -> Response:
    """The nudge's second answer: the comment rewritten, checked again (at most three times).

    200 the comment. 400 `invalid_json`. 401 `invalid_reader_token`. 403
    `origin_not_allowed`. 404 `comment_not_found`. 409 `not_nudged`, `revisions_spent`. 413
    `too_large`. 422 the body's code. 429 `too_many_comments`."""
    reader = _acting_reader()
    return _rewrite(_own_nudged(comment_id, site, reader), body.body, reader, comments.revise)


def _rewrite(comment: Comment, body: str, reader: Reader, change: Callable[..., None]) -> Response:
    """The author's new text for their comment (a rewrite after a nudge, an edit): checked as
    a new comment's, then `change` (services/comments.revise or .edit); the comment as it
    now stands."""
    text = clean_text(body)
    limit = settings.max_comment_length(sites.site_of(comment.article))
    _problem(body_problem(text, limit), "body")
    try:
        change(comment, text, address=get_remote_address())
    except quotas.QuotaExceeded as exceeded:
        raise _too_many(exceeded, "too_many_comments", "commentaires") from None
    except comments.CommentError as error:
        raise _comment_refused(error) from None
    return _no_store(_json(_answer(comment, reader)))


def _own_comment_strictly(comment_id: int, site: Site, reader: Reader) -> Comment:
    """The reader's own comment (not a placeholder); 404 for anyone else's."""
    return _on_site(comments.owned(comment_id, reader.viewer), site)


@bp.patch("/comments/<id:comment_id>")
@cors.reader_endpoint
@endpoint(
    body=EditIn,
    headers=ReaderHeaders,
    responses={
        200: (CommentAnswer, "Le commentaire modifié, décidé de nouveau."),
        400: (ErrorBody, "`invalid_json`."),
        401: (ErrorBody, "`invalid_reader_token`."),
        403: (ErrorBody, ORIGIN_403),
        404: (ErrorBody, "`comment_not_found` (ou pas le vôtre)."),
        409: (
            ErrorBody,
            "`edit_window_over` (le délai est passé, ou le commentaire n’est ni "
            "publié ni en attente), `edit_conflict`.",
        ),  # fmt: skip
        413: (ErrorBody, "`too_large`."),
        422: (ErrorBody, "`required`, `too_long`, `invalid_text`, `invalid_field`."),
        429: (ErrorBody, "`too_many_comments` (avec Retry-After)."),
    },
    tags=TAGS,
)
def edit_comment(site: Site, comment_id: int, body: EditIn) -> Response:
    """The author edits their comment within `EDIT_WINDOW_MINUTES` of sending it
    (`editable_until`): scored and decided again, as new; the earlier text is kept for
    moderators.

    200 the comment. 400 `invalid_json`. 401 `invalid_reader_token`. 403
    `origin_not_allowed`. 404 `comment_not_found`. 409 `edit_window_over`, `edit_conflict`.
    413 `too_large`. 422 the body's code. 429 `too_many_comments`."""
    reader = _acting_reader()
    comment = _own_comment_strictly(comment_id, site, reader)
    return _rewrite(comment, body.body, reader, comments.edit)


@bp.delete("/comments/<id:comment_id>")
@cors.reader_endpoint
@endpoint(
    headers=ReaderHeaders,
    responses={
        204: (
            None,
            "Supprimé (un commentaire auquel on a répondu devient « Commentaire "
            "supprimé à la demande de son auteur. »).",
        ),  # fmt: skip
        401: (ErrorBody, "`invalid_reader_token`."),
        403: (ErrorBody, ORIGIN_403),
        404: (ErrorBody, "`comment_not_found` (ou pas le vôtre)."),
    },
    tags=TAGS,
)
def delete_comment(site: Site, comment_id: int) -> Response:
    """The author deletes their comment, at any time: a placeholder where others answered
    it, gone otherwise.

    204. 401 `invalid_reader_token`. 403 `origin_not_allowed`. 404 `comment_not_found`."""
    reader = _acting_reader()
    comment = _own_comment_strictly(comment_id, site, reader)
    try:
        comments.delete_own(comment)
    except comments.CommentError:  # deleted meanwhile (the same request twice at once)
        raise ApiError(404, "comment_not_found", COMMENT_NOT_FOUND, "comment_id") from None
    return _no_store(Response(status=204))


WARNING_NOT_FOUND = "Ce message n’existe pas ou ne vous est pas adressé."


@bp.post("/warnings/<id:warning_id>/acknowledge")
@cors.reader_endpoint
@endpoint(
    headers=ReaderHeaders,
    responses={
        200: (AcknowledgeAnswer, "Lu : il ne sera plus montré (de nouveau : rien ne change)."),
        401: (ErrorBody, "`invalid_reader_token`."),
        403: (ErrorBody, ORIGIN_403),
        404: (ErrorBody, "`warning_not_found` (ou pas le vôtre)."),
    },
    tags=TAGS,
)
def acknowledge_warning(site: Site, warning_id: int) -> Response:
    """« J’ai compris »: the reader acknowledges a warning of the moderation (`warnings` of
    the answer to their post, or of `viewer`); it is not shown again.

    200 `{"acknowledged": true}`. 401 `invalid_reader_token`. 403 `origin_not_allowed`. 404
    `warning_not_found` (unknown, or not this reader's)."""
    reader = _acting_reader()
    if not warnings.acknowledge(warning_id, reader.viewer):
        raise ApiError(404, "warning_not_found", WARNING_NOT_FOUND, "warning_id")
    return _no_store(_json(AcknowledgeAnswer(acknowledged=True)))


LIKE_RESPONSES: dict[int, tuple[type[BaseModel] | None, str]] = {
    200: (LikeAnswer, "Le nombre de « J'aime », et si le lecteur l’aime."),
    401: (ErrorBody, "`invalid_reader_token`."),
    403: (ErrorBody, ORIGIN_403),
    404: (ErrorBody, "`comment_not_found`."),
    409: (ErrorBody, "`not_likeable` (pas publié, ou le vôtre)."),
    429: (ErrorBody, "`too_many_likes` (avec Retry-After)."),
}


def _likeable(comment_id: int, site: Site) -> Comment:
    comment = db.session.get(Comment, comment_id)
    visible = comment is not None and comment.is_published and not comment.hidden
    return _on_site(comment if visible else None, site)


@bp.post("/comments/<id:comment_id>/like")
@cors.reader_endpoint
@endpoint(headers=ReaderHeaders, responses=LIKE_RESPONSES, tags=TAGS)
def like(site: Site, comment_id: int) -> Response:
    """« J'aime »: once per reader (a second time changes nothing). A guest without a token
    gets one (`reader_token`).

    200 `{"likes", "liked": true}`. 401 `invalid_reader_token`. 403 `origin_not_allowed`. 404
    `comment_not_found`. 409 `not_likeable`. 429 `too_many_likes`."""
    reader = _acting_reader()
    comment = _likeable(comment_id, site)
    token = None
    if reader.user is None and reader.guest_token is None:
        token = secrets.token_urlsafe(24)
        reader = Reader(guest_token=token)
    try:
        count = likes.like(comment, reader.viewer, get_remote_address())
    except quotas.QuotaExceeded as exceeded:
        raise _too_many(exceeded, "too_many_likes", "« J’aime »") from None
    except likes.LikeError as error:
        raise ApiError(409, error.code, error.message) from None
    return _no_store(_json(LikeAnswer(likes=count, liked=True, reader_token=token)))


@bp.delete("/comments/<id:comment_id>/like")
@cors.reader_endpoint
@endpoint(headers=ReaderHeaders, responses=LIKE_RESPONSES, tags=TAGS)
def unlike(site: Site, comment_id: int) -> Response:
    """Take one's « J'aime » back (none: nothing changes).

    200 `{"likes", "liked": false}`. 401 `invalid_reader_token`. 403 `origin_not_allowed`.
    404 `comment_not_found`."""
    reader = _acting_reader()
    comment = _likeable(comment_id, site)
    if reader.user is None and reader.guest_token is None:
        return _no_store(_json(LikeAnswer(likes=comment.like_count, liked=False)))
    count = likes.unlike(comment, reader.viewer)
    return _no_store(_json(LikeAnswer(likes=count, liked=False)))


@bp.post("/comments/<id:comment_id>/reports")
@cors.reader_endpoint
@endpoint(
    body=ReportIn,
    headers=ReaderHeaders,
    responses={
        200: (ReportAnswer, "Déjà signalé par ce lecteur : rien de plus."),
        201: (ReportAnswer, "Signalement transmis."),
        400: (ErrorBody, "`invalid_json`."),
        401: (ErrorBody, "`invalid_reader_token`."),
        403: (ErrorBody, ORIGIN_403),
        404: (ErrorBody, "`comment_not_found` (pas un commentaire publié)."),
        413: (ErrorBody, "`too_large`."),
        422: (ErrorBody, "`invalid_field` (`reason`), `too_long`, `invalid_text` (`note`)."),
        429: (ErrorBody, "`too_many_reports` (avec Retry-After)."),
    },
    tags=TAGS,
)
def report(site: Site, comment_id: int, body: ReportIn) -> Response:
    """« Signaler » a published comment: once per reader (a guest without a token gets one,
    `reader_token`, so that their next reports count once too).

    201 reported. 200 already reported by this reader. 400 `invalid_json`. 401
    `invalid_reader_token`. 403 `origin_not_allowed`. 404 `comment_not_found`. 413
    `too_large`. 422 `invalid_field`, `too_long`, `invalid_text`. 429 `too_many_reports`."""
    reader = _acting_reader()
    note = clean_text(body.note)
    _problem(note_problem(note), "note")
    comment = _on_site(db.session.get(Comment, comment_id), site, moderation.NOT_REPORTABLE)
    reportable = moderation.reportable(comment.article, comment.id)
    if reportable is None:
        raise ApiError(404, "comment_not_found", moderation.NOT_REPORTABLE, "comment_id")
    token = None if reader.user else reader.guest_token or secrets.token_urlsafe(24)
    key = f"user:{reader.user.id}" if reader.user else f"session:{token}"
    try:
        added = moderation.report(
            reportable,
            key,
            body.reason,
            note,
            reader.user,
            guest_token=token,
            address=get_remote_address(),
        )
    except quotas.QuotaExceeded as exceeded:
        raise _too_many(exceeded, "too_many_reports", "signalements") from None
    except moderation.ModerationError as error:
        raise ApiError(404, "comment_not_found", error.message, "comment_id") from None
    message = (
        "Merci : votre signalement a été transmis à l’équipe de modération."
        if added
        else "Vous avez déjà signalé ce commentaire."
    )
    answer = ReportAnswer(message=message, reader_token=token)
    return _no_store(_json(answer, 201 if added else 200))


@bp.post("/comments/<id:comment_id>/notices")
@cors.reader_endpoint
@endpoint(
    body=NoticeIn,
    responses={
        201: (NoticeAnswer, "Notification enregistrée (accusé de réception envoyé à `email`)."),
        400: (ErrorBody, "`invalid_json`."),
        403: (ErrorBody, ORIGIN_403),
        404: (ErrorBody, "`comment_not_found` (pas un commentaire publié)."),
        413: (ErrorBody, "`too_large`."),
        422: (
            ErrorBody,
            "`required`, `too_long`, `invalid_text`, `invalid_email`, `invalid_field`, "
            "`comment_not_found` : le champ refusé est nommé (`field`).",
        ),
        429: (ErrorBody, "`too_many_notices` (avec Retry-After)."),
    },
    tags=TAGS,
)
def notice(site: Site, comment_id: int, body: NoticeIn) -> Response:
    """« Signaler un contenu illicite » (Art. 16 DSA) for a published comment: anyone, no
    reader token needed. Name and address are required except for
    `KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL`; the receipt goes to `email`.

    201 kept. 400 `invalid_json`. 403 `origin_not_allowed`. 404 `comment_not_found`. 413
    `too_large`. 422 the refused field's code. 429 `too_many_notices`."""
    comment = _on_site(notices.reportable(comment_id), site, moderation.NOT_REPORTABLE)
    sent = notices.Sent(
        location=body.location or notices.comment_link(comment),
        explanation=body.explanation,
        category=body.category,
        name=body.name,
        email=body.email,
        good_faith=body.good_faith,
    )
    try:
        received = notices.submit(sent, address=get_remote_address(), comment_id=comment.id)
    except quotas.QuotaExceeded as exceeded:
        raise _too_many(exceeded, "too_many_notices", "notifications") from None
    except notices.NoticeInvalid as invalid:
        field, problem = next(iter(invalid.problems.items()))
        raise ApiError(422, problem.code, problem.message, field) from None
    kept = received.notice
    answer = NoticeAnswer(
        reference=kept.reference,
        message=f"Merci : votre notification {kept.reference} a bien été reçue.",
        receipt_sent=kept.receipt_sent_at is not None,
        url=url_for("reader.notice_received", reference=kept.reference, _external=True),
    )
    return _no_store(_json(answer, 201))


@bp.get("/counts")
@cors.reader_endpoint
@endpoint(
    query=CountsQuery,
    responses={
        200: (CountsOut, "Les commentaires publiés de chaque URL demandée."),
        304: (None, NOT_MODIFIED),
        403: (ErrorBody, ORIGIN_403),
        422: (ErrorBody, "`invalid_field` (`url` : de 1 à 100)."),
    },
    tags=TAGS,
)
def counts(site: Site, query: CountsQuery) -> Response:
    """The published comments of many stories at once (a list of articles): `?url=…&url=…`,
    at most 100; 0 for a URL that is no story of the site. Two queries whatever the number.
    For a long list, `POST /api/v1/counts` (a query string of 100 URLs is refused by most
    servers before it reaches us).

    200 `{"counts": {url: n}}`. 304 unchanged. 403 `origin_not_allowed`. 422 `invalid_field`."""
    answer, last_modified = _counts(site, query.url)
    body = answer.model_dump_json().encode()

    def tag() -> tuple[str, datetime | None]:
        return hashlib.sha256(body).hexdigest()[:32], last_modified

    return _cached(lambda: answer, tag, Reader())


@bp.post("/counts")
@cors.reader_endpoint
@endpoint(
    body=CountsIn,
    responses={
        200: (CountsOut, "Les commentaires publiés de chaque URL demandée."),
        400: (ErrorBody, "`invalid_json`."),
        403: (ErrorBody, ORIGIN_403),
        413: (ErrorBody, "`too_large`."),
        422: (ErrorBody, "`invalid_field` (`urls` : de 1 à 100)."),
    },
    tags=TAGS,
)
def counts_post(site: Site, body: CountsIn) -> Response:
    """The same counts as `GET /api/v1/counts`, the URLs in a JSON body `{"urls": [...]}` (at
    most 100): for a list of articles whose URLs do not fit in a query string. Not cached (a
    POST); a CDN caches the GET.

    200 `{"counts": {url: n}}`. 400 `invalid_json`. 403 `origin_not_allowed`. 413
    `too_large`. 422 `invalid_field`."""
    answer, _ = _counts(site, body.urls, with_times=False)
    return _no_store(_json(answer))


def _counts(
    site: Site, urls: list[str], *, with_times: bool = True
) -> tuple[CountsOut, datetime | None]:
    """The counts of `urls` on `site`, and (`with_times`) when the newest of them changed."""
    ids = sites.story_ids(site, urls)
    found = comments.published_counts(list(ids.values()), with_times=with_times)
    answer = CountsOut(
        counts={url: found[ids[url]].published if ids.get(url) in found else 0 for url in urls}
    )
    times = [c.last_modified for c in found.values() if c.last_modified is not None]
    return answer, max(times) if times else None
