"""Readers' views: they translate HTTP to service calls and back, nothing more."""

from __future__ import annotations

import secrets
from typing import NoReturn
from urllib.parse import urlsplit

from flask import (
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from app import labels
from app.converters import as_id
from app.extensions import db
from app.models import Article, Comment, CommentStatus, ReaderWarning
from app.reader import bp
from app.reader.forms import CommentForm, ConfirmForm, NoticeForm, ReportForm, RevisionForm
from app.scoring import ScoringUnavailable
from app.services import comments as comment_service
from app.services import (
    drafts,
    likes,
    moderation,
    notices,
    notifications,
    quotas,
    readers,
    settings,
    sites,
    warnings,
)
from app.validators import body_problem, clean_text

# The page's sorts: « les plus récents », « les plus anciens », « les plus appréciés », and
# the tab « choix de la rédaction » (the featured threads only, the newest first).
SORTS = {"recents": True, "anciens": False, "apprecies": True, "selection": True}
# The « Choix de la rédaction » shown above the comments (all of them: the tab).
FEATURED_SHOWN = 5


def _viewer() -> comment_service.Viewer:
    return comment_service.Viewer(
        user_id=current_user.id if current_user.is_authenticated else None,
        guest_token=session.get("guest_token"),
    )


def _article_or_404(slug: str) -> Article:
    article = db.session.scalar(
        select(Article).where(Article.slug == slug).options(joinedload(Article.site))
    )  # its site's settings decide the form: read in the same query
    if article is None:
        abort(404, description="Cet article n’existe pas ou n’est plus en ligne.")
    return article


def _too_many(exceeded: quotas.QuotaExceeded, description: str | None = None) -> NoReturn:
    """429 with Retry-After; the error page says when, in French, and gives the text back."""
    raise TooManyRequests(description=description, retry_after=exceeded.retry_after)


@bp.get("/")
def index() -> Response:
    article = db.session.scalar(select(Article).order_by(Article.published_at.desc()).limit(1))
    if article is None:
        abort(404, description="Aucun article n’est encore publié (flask --app wsgi seed).")
    return redirect(url_for("reader.article", slug=article.slug))


@bp.get("/articles/<slug>")
def article(slug: str) -> str:
    article = _article_or_404(slug)
    for legacy in ("guest_name", "guest_email"):  # cookies set before they moved server-side
        if legacy in session:
            session.pop(legacy)
    name, email = comment_service.guest_author(session.get("guest_token"))
    form = CommentForm(name=name, email=email)
    reply_to = request.args.get("repondre", type=as_id)
    if reply_to:
        form.parent_id.data = str(reply_to)
    return _render_article(article, form)


@bp.post("/articles/<slug>/commentaires")
def post_comment(slug: str) -> Response | tuple[str, int]:
    article = _article_or_404(slug)
    first_visit = "guest_token" not in session
    form = CommentForm(site=sites.site_of(article))
    if not form.validate_on_submit():
        return _render_article(article, form), 422
    user = current_user if current_user.is_authenticated else None
    token = None if user else session.get("guest_token") or secrets.token_urlsafe(24)
    author = comment_service.Author.of(user, form.name.data, form.email.data, token)
    try:
        result = comment_service.submit_comment(
            article,
            author,
            form.body.data,
            parent_id=form.parent,
            form_token=form.form_token.data,
            address=get_remote_address(),
        )
    except quotas.QuotaExceeded as exceeded:
        _too_many(exceeded)
    except comment_service.CommentError as error:
        if error.field == "parent_id":
            form.parent_id.errors = [error.message]
            return _render_article(article, form), 422
        if error.field == "email":
            form.email.errors = [error.message]
            return _render_article(article, form), 422
        form.form_errors.append(error.message)
        return _render_article(article, form), 403
    if user is None and form.notify_replies.data:
        notifications.ask(form.email.data, get_remote_address())
        flash(notifications.ASKED, "comment-info")
    if user is None:
        session.permanent = True
        if first_visit:
            # A first visit's form sent twice at once (each copy minted its own guest token):
            # this browser, which holds the page's one-time form token, sent the stored copy.
            session["guest_token"] = result.comment.guest_token or token
        _remember_warnings(result.comment)
    return _after_submit(article, result.comment, result.duplicate)


def _remember_warnings(comment: Comment) -> None:
    """A guest who just posted under an address sees its pending warnings (services/warnings):
    their ids go in this browser's session, which the page then shows until acknowledged."""
    pending = warnings.pending(readers.Reader.of(comment.author_email))
    if pending:
        known = [i for i in session.get("warnings", []) if isinstance(i, int)]
        session["warnings"] = sorted({*known, *(w.id for w in pending)})[-20:]


def _warnings_shown() -> list[ReaderWarning]:
    """The warnings the page shows this reader above the form: a signed-in reader's pending
    ones; a guest's, those put in their session by their own post."""
    if current_user.is_authenticated:
        return warnings.pending(readers.Reader.of(current_user.email, current_user.id))
    ids = session.get("warnings")
    if not ids:
        return []
    found = warnings.shown(_viewer(), [i for i in ids if isinstance(i, int)])
    if len(found) != len(ids):
        session["warnings"] = [w.id for w in found]
    return found


@bp.post("/articles/<slug>/avertissements/<id:warning_id>/compris")
def acknowledge_warning(slug: str, warning_id: int) -> Response:
    """« J’ai compris »: the reader acknowledges a warning; it is not shown again. 303 back
    to the form; 404 when it is not theirs."""
    article = _article_or_404(slug)
    if not warnings.acknowledge(warning_id, _viewer()):
        abort(404, description="Ce message n’existe pas ou ne vous est pas adressé.")
    if "warnings" in session:
        session["warnings"] = [i for i in session["warnings"] if i != warning_id]
    flash("Merci : ce message ne vous sera plus montré.", "comment-info")
    return redirect(url_for("reader.article", slug=article.slug, _anchor="formulaire"), code=303)


def _after_submit(article: Article, comment: Comment, duplicate: bool = False) -> Response:
    """Tell the author what became of their comment, on the article page (a nudged comment
    has its own box there)."""
    if comment.status != CommentStatus.NUDGED:
        flash(_outcome_message(comment, duplicate), _outcome_category(comment))
    if comment.status == CommentStatus.NUDGED:
        target = url_for(
            "reader.article", slug=article.slug, commentaire=comment.id, _anchor="formulaire"
        )
    else:
        target = url_for("reader.article", slug=article.slug, _anchor=f"c{comment.id}")
    return redirect(target, code=303)


def _own_comment_or_404(article: Article, comment_id: int) -> Comment:
    comment = comment_service.find_own_comment(comment_id, _viewer())
    if comment is None or comment.article_id != article.id:
        abort(404, description="Ce commentaire n’existe pas ou ne vous appartient pas.")
    return comment


@bp.post("/articles/<slug>/commentaires/<id:comment_id>/envoyer")
def send_anyway(slug: str, comment_id: int) -> Response | tuple[str, int]:
    """The nudged author sends the comment as it is (it then goes to a moderator)."""
    article = _article_or_404(slug)
    comment = _own_comment_or_404(article, comment_id)
    try:
        comment_service.send_anyway(comment)
    except comment_service.CommentError as error:
        flash(error.message, "comment-error")
    return _after_submit(article, comment)


@bp.post("/articles/<slug>/commentaires/<id:comment_id>/reviser")
def revise(slug: str, comment_id: int) -> Response | tuple[str, int]:
    """The nudged author rewrote the comment: it is checked again."""
    article = _article_or_404(slug)
    comment = _own_comment_or_404(article, comment_id)
    form = RevisionForm(site=sites.site_of(article))
    if not form.validate_on_submit():
        return _render_article(article, CommentForm(), nudged=comment, revision=form), 422
    try:
        comment_service.revise(comment, form.body.data, address=get_remote_address())
    except quotas.QuotaExceeded as exceeded:
        _too_many(exceeded)
    except comment_service.CommentError as error:
        flash(error.message, "comment-error")
    return _after_submit(article, comment)


@bp.post("/articles/<slug>/brouillon")
def score_draft(slug: str) -> tuple[Response, int] | Response:
    """The draft the reader is typing, scored before they send it (the page asks when they
    pause): JSON {"nudge": null} or {"nudge": {"categories", "message"}}. Nothing is stored;
    the score waits DRAFT_SCORE_MINUTES for the same text to be sent (no second model call).

    CSRF token in X-CSRFToken. 422 {"error", "field": "body"} for an empty, invalid or too
    long text; 429 past DRAFT_RATE_LIMIT (with Retry-After); 503 when the model does not
    answer in time (the comment is then scored when sent)."""
    article = _article_or_404(slug)
    if not article.accepting_comments:
        return jsonify(error="Les commentaires sont fermés pour cet article."), 409
    payload = request.get_json(silent=True)
    raw = payload.get("body") if isinstance(payload, dict) else None
    body = clean_text(raw if isinstance(raw, str) else None)
    problem = body_problem(body, settings.max_comment_length(sites.site_of(article)))
    if problem:
        return jsonify(error=problem.message, field="body"), 422
    try:
        nudge = drafts.score_draft(body, sites.site_of(article), _viewer(), get_remote_address())
    except quotas.QuotaExceeded as exceeded:
        answer = jsonify(error="Trop de brouillons vérifiés : réessayez dans un instant.")
        answer.headers["Retry-After"] = str(exceeded.retry_after)
        return answer, 429
    except ScoringUnavailable:  # ScoringTimeout too: nothing is said before sending
        return jsonify(error=drafts.UNAVAILABLE), 503
    answer = jsonify(nudge=None if nudge is None else {"categories": nudge.categories,
                                                       "message": nudge.message})  # fmt: skip
    answer.headers["Cache-Control"] = "no-store"
    return answer


@bp.get("/articles/<slug>/commentaires/<id:comment_id>/statut")
def comment_status(slug: str, comment_id: int) -> Response:
    """JSON for the author's page, which asks until its pending comment is decided.

    200 with {"status", "message"}; 404 when the comment is not the viewer's (or unknown)."""
    article = _article_or_404(slug)
    comment = _own_comment_or_404(article, comment_id)
    return jsonify(
        id=comment.id,
        status=comment.status,
        message=_outcome_message(comment, duplicate=False),
        url=url_for(
            "reader.article",
            slug=article.slug,
            commentaire=comment.id if comment.status == CommentStatus.NUDGED else None,
            _anchor="formulaire" if comment.status == CommentStatus.NUDGED else f"c{comment.id}",
        ),
    )


def _outcome_message(comment: Comment, duplicate: bool) -> str:
    return labels.outcome_message(comment.status, comment.status_reason, duplicate)


def _outcome_category(comment: Comment) -> str:
    """Flash category: shown by the article page just above the comments."""
    return {
        CommentStatus.PUBLISHED: "comment-success",
        CommentStatus.REJECTED: "comment-error",
    }.get(CommentStatus(comment.status), "comment-info")


def _render_article(
    article: Article,
    form: CommentForm,
    nudged: Comment | None = None,
    revision: RevisionForm | None = None,
) -> str:
    sort = request.args.get("tri", "recents")
    if sort not in SORTS:
        sort = "recents"
    page = request.args.get("page", 1, type=as_id)
    viewer = _viewer()
    threads = comment_service.thread_page(
        article,
        viewer,
        newest_first=SORTS[sort],
        most_liked=sort == "apprecies",
        featured_only=sort == "selection",
        page=page,
    )
    reply_target = None
    try:
        reply_target = comment_service.reply_target(article, form.parent)
    except comment_service.CommentError as error:
        if not form.parent_id.errors:
            form.parent_id.errors = [error.message]
    asked = request.args.get("commentaire", type=as_id)
    if nudged is None and asked:
        own = comment_service.find_own_comment(asked, _viewer())
        if own is not None and own.status == CommentStatus.NUDGED and own.article_id == article.id:
            nudged = own
    if nudged is not None and revision is None:
        revision = RevisionForm(body=nudged.body)
    reviewed = settings.sent_anyway_reviewed()
    site = sites.site_of(article)
    featured = comment_service.featured(article, limit=FEATURED_SHOWN)
    return render_template(
        "reader/article.html",
        nudged=nudged,
        revision=revision,
        nudge_text=comment_service.nudge_of(nudged).message if nudged is not None else None,
        anyway_text=labels.sent_anyway_text(reviewed),
        article=article,
        source_host=urlsplit(article.url).hostname if article.url else None,
        form=form,
        threads=threads,
        sort=sort,
        reply_target=reply_target,
        max_length=settings.max_comment_length(site),
        guests_allowed=settings.get("guests_allowed", site),
        # The draft is scored while the reader types when the site nudges (services/drafts).
        live_nudge=bool(settings.get("nudge_enabled", site)),
        own=lambda c: comment_service.is_own(c, viewer),
        liked=likes.liked(viewer, comment_service.ids_in(threads.threads)),
        featured=featured,
        featured_count=(
            len(featured)
            if len(featured) < FEATURED_SHOWN
            else comment_service.featured_count(article)
        ),
        editable=lambda c: comment_service.edit_deadline(c) is not None,
        warnings=_warnings_shown(),
        warning_reason=lambda code: labels.french(labels.REJECT_REASONS.get(code, code)),
    )


@bp.post("/articles/<slug>/commentaires/<id:comment_id>/aimer")
def like(slug: str, comment_id: int) -> Response:
    """« J'aime », or taking it back: a toggle. A guest's browser is known by its session's
    token (given here on a first like). 303 back to the comment."""
    article = _article_or_404(slug)
    comment = db.session.get(Comment, comment_id)
    if comment is None or comment.article_id != article.id or not comment.is_published:
        abort(404, description="Ce commentaire n’existe pas.")
    if not ConfirmForm().validate_on_submit():
        abort(400, description="Le formulaire a expiré : rechargez la page et réessayez.")
    if not current_user.is_authenticated and "guest_token" not in session:
        session["guest_token"] = secrets.token_urlsafe(24)
        session.permanent = True
    viewer = _viewer()
    try:
        if comment.id in likes.liked(viewer, [comment.id]):
            likes.unlike(comment, viewer)
        else:
            likes.like(comment, viewer, get_remote_address())
    except quotas.QuotaExceeded as exceeded:
        _too_many(exceeded, "Vous avez cliqué « J’aime » trop souvent en peu de temps.")
    except likes.LikeError as error:
        flash(error.message, "comment-error")
    sort = request.form.get("tri")
    return redirect(
        url_for("reader.article", slug=article.slug, tri=sort if sort in SORTS else None,
                _anchor=f"c{comment.id}"),
        code=303,
    )  # fmt: skip


def _reporter_key() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    session.permanent = True
    return "session:" + session.setdefault("guest_token", secrets.token_urlsafe(24))


@bp.route("/articles/<slug>/commentaires/<id:comment_id>/signaler", methods=["GET", "POST"])
def report(slug: str, comment_id: int) -> Response | str | tuple[str, int]:
    """« Signaler »: one report per reader (or session) per comment. 303 back to the comment;
    422 without a reason; 404 for a comment that is not published."""
    article = _article_or_404(slug)
    comment = moderation.reportable(article, comment_id)
    if comment is None:
        abort(404, description=moderation.NOT_REPORTABLE)
    form = ReportForm()
    if form.validate_on_submit():
        user = current_user if current_user.is_authenticated else None
        reporter_key = _reporter_key()
        try:
            added = moderation.report(
                comment,
                reporter_key,
                form.reason.data,
                form.note.data or "",
                user,
                guest_token=None if user else session.get("guest_token"),
                address=get_remote_address(),
            )
        except quotas.QuotaExceeded as exceeded:
            _too_many(exceeded, "Vous avez envoyé trop de signalements en peu de temps.")
        except moderation.ModerationError as error:  # held or rejected since the form was shown
            abort(404, description=error.message)
        flash(
            "Merci : votre signalement a été transmis à l’équipe de modération."
            if added
            else "Vous avez déjà signalé ce commentaire.",
            "comment-info",
        )
        return redirect(
            url_for("reader.article", slug=article.slug, _anchor=f"c{comment.id}"), code=303
        )
    status = 422 if request.method == "POST" else 200
    return render_template(
        "reader/report.html", article=article, comment=comment, form=form
    ), status


@bp.route("/contenus-illicites/signaler", methods=["GET", "POST"])
def notice() -> Response | str | tuple[str, int]:
    """« Signaler un contenu illicite » (Art. 16 DSA): anyone, no account needed. Opened from
    a comment (`?commentaire=<id>`), its link is filled in. 303 to the receipt page; 422 with
    each refused field named; 429 past NOTICE_RATE_LIMIT."""
    form = NoticeForm()
    asked = request.args.get("commentaire", type=as_id)
    comment = notices.reportable(asked) if asked else None
    if request.method == "GET" and comment is not None:
        form.location.data = notices.comment_link(comment)
    if form.validate_on_submit():
        sent = notices.Sent(
            location=form.location.data,
            explanation=form.explanation.data,
            category=form.category.data,
            name=form.name.data,
            email=form.email.data,
            good_faith=bool(form.good_faith.data),
        )
        try:
            received = notices.submit(sent, address=get_remote_address())
        except quotas.QuotaExceeded as exceeded:
            _too_many(exceeded, "Vous avez envoyé trop de notifications en peu de temps.")
        except notices.NoticeInvalid as invalid:
            for name, problem in invalid.problems.items():
                getattr(form, name).errors = [problem.message]
            comment = comment or notices.find_comment(form.location.data or "")
        else:
            if received.mail_error:
                flash(
                    "Votre notification est bien enregistrée, mais l’accusé de réception n’a "
                    "pas pu partir : notez sa référence.",
                    "info",
                )
            return redirect(
                url_for("reader.notice_received", reference=received.notice.reference), code=303
            )
    status = 422 if request.method == "POST" else 200
    return render_template("reader/notice.html", form=form, comment=comment), status


@bp.get("/contenus-illicites/<reference>")
def notice_received(reference: str) -> str:
    """The receipt of a notice, by its reference: when it was received, what it names, whether
    it was decided. Nothing of the notifier (a reference is not a secret)."""
    found = notices.by_reference(reference)
    if found is None:
        abort(404, description="Aucune notification ne porte cette référence.")
    return render_template("reader/notice_received.html", notice=found)
