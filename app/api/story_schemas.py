"""The readers' requests and answers of `/api/v1` (the embed's stories, comments, reports,
counts), as pydantic models: they validate the requests and are the OpenAPI document's schemas
(app/api/spec.py). Query strings are read as text (a number from `?limit=20`); JSON bodies are
strict (a number is not a string), and an unknown field is refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.models import ReportReason
from app.validators import text_problem


def _plain(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


# A query string's text: no control character (a NUL never reaches the database).
Text = Annotated[str, AfterValidator(_plain)]

Sort = Literal["newest", "oldest", "liked", "featured"]
Status = Literal["published", "pending", "held", "nudged", "rejected"]
MAX_COUNTS = 100
MAX_LIMIT = 100


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StreamQuery(_Query):
    """`GET /api/v1/stream`: the page's canonical URL and title, and the CMS's id if any."""

    url: Text
    """The story's canonical URL, on one of the site's origins."""
    title: Text | None = None
    """The page's title: the story's title when it is created."""
    id: Text | None = None
    """The CMS's own id of the story (found first by it, then by URL)."""
    site: Text | None = None
    """The site, for a call without `Origin` (a server); a browser's `Origin` decides."""
    sort: Sort = "newest"
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)


class StoryQuery(_Query):
    """`GET /api/v1/stories`: a story by its canonical URL or its CMS id."""

    url: Text | None = None
    id: Text | None = None
    """The CMS's own id of the story."""
    site: Text | None = None


class CommentsQuery(_Query):
    """`GET /api/v1/stories/{story_id}/comments`: a page of threads."""

    sort: Sort = "newest"
    cursor: Text | None = None
    """`next_cursor` of the previous page."""
    limit: int | None = Field(default=None, ge=1, le=MAX_LIMIT)


class CountsQuery(_Query):
    """`GET /api/v1/counts?url=…&url=…`: the published comments of many stories."""

    url: list[Text] = Field(min_length=1, max_length=MAX_COUNTS)
    site: Text | None = None


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CountsIn(_Body):
    """`POST /api/v1/counts`: the same as the GET, for lists whose query string would be too
    long (100 real article URLs make a request line of some 11 KB; gunicorn stops at 4 KB,
    nginx at 8 KB)."""

    urls: list[Text] = Field(min_length=1, max_length=MAX_COUNTS)


class CommentIn(_Body):
    """`POST /api/v1/stories/{story_id}/comments`: a comment or a reply. A guest gives a name
    and an address (never published); an SSO reader posts under their account's."""

    body: str
    name: str | None = None
    email: str | None = None
    parent_id: int | None = None
    """The comment answered (a published comment of the same story)."""
    idempotency_key: str | None = Field(default=None, max_length=100)
    """One key per submission: the same key sent again stores the comment once."""
    notify_replies: bool = False
    """Be told of replies by mail. A guest: the first time, a confirmation link is mailed to
    `email`, and nothing else goes there until it is followed. An SSO reader: their account's
    setting is switched on (mails to their CMS's address; false leaves it as it is)."""


class RevisionIn(_Body):
    """`POST /api/v1/comments/{comment_id}/revise`: the nudged comment, rewritten."""

    body: str


class EditIn(_Body):
    """`PATCH /api/v1/comments/{comment_id}`: the author's new text, within the edit window."""

    body: str


class ReportIn(_Body):
    """`POST /api/v1/comments/{comment_id}/reports`."""

    reason: ReportReason = Field(strict=False)
    """Why: `insulte`, `haine`, `menace`, `spam`, `hors_sujet`, `autre`."""
    note: str | None = None


class NoticeIn(_Body):
    """`POST /api/v1/comments/{comment_id}/notices`: a notice of illegal content (Art. 16 DSA),
    with the same rules as the page « Signaler un contenu illicite »."""

    explanation: str
    """Why the notifier holds the comment illegal (10 to 5,000 characters)."""
    category: str
    """A `STATEMENT_CATEGORY_*` of the DSA Transparency Database offered to notifiers, or
    `KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL` (then `name` and `email` may be left out)."""
    name: str | None = None
    email: str | None = None
    good_faith: bool = False
    """The notifier's statement that the notice is accurate and complete: must be true."""
    location: str | None = None
    """Where the notifier saw the comment: the page's URL with `#c<id>` (default: our own
    article page's link to it)."""


class StoryCounts(BaseModel):
    """Les compteurs d’un article."""

    published: int
    featured: int = 0
    """Its « Choix de la rédaction » (`sort=featured` lists them)."""


class StoryOut(BaseModel):
    """Un article (« story ») et ce que son bloc de commentaires doit savoir."""

    id: int
    site: str
    url: str | None
    external_id: str | None
    title: str
    open: bool
    """Whether the story takes comments now (open, and not closed by its date)."""
    premoderated: bool
    guests_allowed: bool
    max_length: int
    nudge: bool = False
    """Whether the site nudges: the draft may then be scored while the reader types
    (`POST /api/v1/stories/{story_id}/drafts`), the nudge shown before sending."""
    counts: StoryCounts
    html_url: str
    """The story's comments on our own site: the link for readers without JavaScript."""


class AuthorOut(BaseModel):
    """L’auteur d’un commentaire, tel que les lecteurs le voient (jamais son adresse)."""

    name: str


class CommentOut(BaseModel):
    """Un commentaire, avec ses réponses imbriquées."""

    id: int
    parent_id: int | None
    depth: int
    author: AuthorOut
    body: str
    """Empty for a placeholder (`removed`)."""
    created_at: datetime
    status: Status
    """`published`, except for the viewer's own comments."""
    own: bool
    """The viewer wrote it (they see it whatever its status)."""
    removed: str | None = None
    """Set for a comment deleted or erased that holds its replies together: show this French
    line in its place (« Commentaire supprimé à la demande de son auteur. »); its author's
    name and text are empty, and it cannot be answered or reported."""
    message: str | None
    """For the viewer's own comment not published: what became of it, in French."""
    statement_url: str | None = None
    """For the viewer's own rejected comment: its statement of reasons (DSA Art. 17), a
    signed link that opens without a session (« Pourquoi ? »)."""
    edited_at: datetime | None = None
    """When its author last edited it (show « modifié »)."""
    likes: int = 0
    """Its « J'aime »."""
    featured: bool = False
    """A « Choix de la rédaction » (show its badge)."""
    liked: bool = False
    """The viewer (by `X-Reader-Token`) likes it; always false in the public answer."""
    editable_until: datetime | None = None
    """For the viewer's own comment: until when they may edit it (`PATCH
    /api/v1/comments/{comment_id}`); null once they may not. They may delete it at any time
    (`DELETE`)."""
    reportable: bool
    replies: list[CommentOut]


class WarningOut(BaseModel):
    """Un avertissement de la modération au lecteur, à lui montrer avant le formulaire jusqu’à
    ce qu’il réponde « J’ai compris » (`POST /api/v1/warnings/{id}/acknowledge`)."""

    id: int
    reason: str
    """The reason, in French words (« insultes ou attaques personnelles »)."""
    message: str
    """The moderator's message, in French."""
    created_at: datetime


class ViewerOut(BaseModel):
    """Le lecteur qui regarde, quand `X-Reader-Token` le désigne."""

    name: str | None
    signed_in: bool
    warnings: list[WarningOut] = []
    """A signed-in reader's warnings not yet acknowledged (a guest's come in the answer to
    their post)."""


class ThreadsOut(BaseModel):
    """Une page de fils de discussion."""

    comments: list[CommentOut]
    next_cursor: str | None
    """The cursor of the next page; null on the last."""


class StreamOut(BaseModel):
    """L’article de la page et sa première page de commentaires : l’unique appel du bloc."""

    story: StoryOut
    comments: list[CommentOut]
    next_cursor: str | None
    viewer: ViewerOut | None
    """The reader the `X-Reader-Token` names (an SSO reader's name); null without one."""


class NudgeOut(BaseModel):
    """L’invitation à reformuler et ses deux réponses."""

    categories: list[str]
    """What the comment seems to contain, in French (« insultes »…)."""
    message: str
    revisions_left: int


class DraftIn(_Body):
    """`POST /api/v1/stories/{story_id}/drafts`: the text the reader is typing."""

    body: str


class DraftNudgeOut(BaseModel):
    """Ce que l’auteur d’un brouillon lirait avant d’envoyer."""

    categories: list[str]
    """What the draft seems to contain, in French (« insultes »…)."""
    message: str


class DraftAnswer(BaseModel):
    """Le brouillon noté : l’invitation à reformuler, ou rien."""

    nudge: DraftNudgeOut | None
    """Null when the site would say nothing (or does not nudge)."""


class CommentAnswer(BaseModel):
    """What became of a comment: posted, sent as it is, rewritten, or asked for."""

    comment: CommentOut
    outcome: Status
    message: str
    """What the article page says, in French."""
    nudge: NudgeOut | None
    """For a nudged comment: the categories and the two answers' terms."""
    reader_token: str | None
    """A guest's token (`X-Reader-Token` for their next calls); null for an SSO reader."""
    warnings: list[WarningOut] = []
    """The author's warnings not yet acknowledged: shown to them above the form."""


class ReportAnswer(BaseModel):
    """La réponse à un signalement."""

    message: str
    reader_token: str | None
    """A guest's token, to send back as `X-Reader-Token` (their next reports count once)."""


class LikeAnswer(BaseModel):
    """La réponse à « J'aime » (`POST`) ou à son retrait (`DELETE`)."""

    likes: int
    liked: bool
    reader_token: str | None = None
    """A guest's new token, when they had none: send it back as `X-Reader-Token`."""


class AcknowledgeAnswer(BaseModel):
    """La réponse à « J’ai compris »."""

    acknowledged: bool


class NoticeAnswer(BaseModel):
    """La réponse à une notification de contenu illicite."""

    reference: str
    """The notice's public reference (`DSA-XXXX-XXXX`)."""
    message: str
    receipt_sent: bool
    """Whether the receipt went to `email` (false without one, or when the mail failed)."""
    url: str
    """The notice's receipt page."""


class CountsOut(BaseModel):
    """Le nombre de commentaires publiés de chaque URL demandée."""

    counts: dict[str, int]
    """Published comments per URL asked (as given); 0 for an unknown story."""
