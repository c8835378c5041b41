"""Readers' views: they translate HTTP to service calls and back, nothing more."""

from __future__ import annotations

import secrets

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.extensions import db, limiter
from app.models import Article, Comment, CommentStatus
from app.reader import bp
from app.reader.forms import CommentForm
from app.services import comments as comment_service

SORTS = {"recents": True, "anciens": False}


def _viewer() -> comment_service.Viewer:
    return comment_service.Viewer(
        user_id=current_user.id if current_user.is_authenticated else None,
        guest_token=session.get("guest_token"),
    )


def _article_or_404(slug: str) -> Article:
    article = db.session.scalar(select(Article).where(Article.slug == slug))
    if article is None:
        abort(404, description="Cet article n’existe pas ou n’est plus en ligne.")
    return article


def _comment_rate_limit() -> str:
    return current_app.config["COMMENT_RATE_LIMIT"]


def _reader_key() -> str:
    """Rate-limit key for a reader: their account, or the guest e-mail they typed."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    email = (request.form.get("email") or "").strip().lower()
    return f"guest:{email}" if email else f"address:{get_remote_address()}"


def _accepted(response: Response) -> bool:
    """Only comments actually stored count against the rate limit."""
    return response.status_code == 303


@bp.get("/")
def index() -> Response:
    article = db.session.scalar(select(Article).order_by(Article.published_at.desc()).limit(1))
    if article is None:
        abort(404, description="Aucun article n’est encore publié (flask --app wsgi seed).")
    return redirect(url_for("reader.article", slug=article.slug))


@bp.get("/articles/<slug>")
def article(slug: str) -> str:
    article = _article_or_404(slug)
    form = CommentForm()
    reply_to = request.args.get("repondre", type=int)
    if reply_to:
        form.parent_id.data = str(reply_to)
    return _render_article(article, form)


@bp.post("/articles/<slug>/commentaires")
@limiter.limit(_comment_rate_limit, key_func=_reader_key, deduct_when=_accepted)
@limiter.limit(_comment_rate_limit, key_func=get_remote_address, deduct_when=_accepted)
def post_comment(slug: str) -> Response | tuple[str, int]:
    article = _article_or_404(slug)
    form = CommentForm()
    if not form.validate_on_submit():
        return _render_article(article, form), 422
    if current_user.is_authenticated:
        author = comment_service.Author(
            name=current_user.display_name, email=current_user.email, user=current_user
        )
    else:
        session.permanent = True
        token = session.setdefault("guest_token", secrets.token_urlsafe(24))
        author = comment_service.Author(
            name=form.name.data, email=form.email.data, guest_token=token
        )
    try:
        result = comment_service.submit_comment(
            article, author, form.body.data, parent_id=form.parent, form_token=form.form_token.data
        )
    except comment_service.CommentError as error:
        if error.field == "parent_id":
            form.parent_id.errors = [error.message]
            return _render_article(article, form), 422
        form.form_errors.append(error.message)
        return _render_article(article, form), 403
    comment = result.comment
    flash(_outcome_message(comment, result.duplicate), _outcome_category(comment))
    return redirect(
        url_for("reader.article", slug=article.slug, _anchor=f"c{comment.id}"), code=303
    )


def _outcome_message(comment: Comment, duplicate: bool) -> str:
    prefix = "Vous avez déjà envoyé ce commentaire : le voici. " if duplicate else ""
    if comment.status == CommentStatus.PUBLISHED:
        return prefix + "Merci ! Votre commentaire est publié."
    if comment.status == CommentStatus.REJECTED:
        return prefix + f"Votre commentaire n’a pas été publié. {comment.status_reason or ''}"
    return prefix + (
        "Merci ! Votre commentaire est en attente de modération : vous seul le voyez "
        "jusqu’à ce qu’un modérateur l’ait relu."
    )


def _outcome_category(comment: Comment) -> str:
    """Flash category: shown by the article page just above the comments."""
    return {
        CommentStatus.PUBLISHED: "comment-success",
        CommentStatus.REJECTED: "comment-error",
    }.get(CommentStatus(comment.status), "comment-info")


def _render_article(article: Article, form: CommentForm) -> str:
    sort = request.args.get("tri", "recents")
    if sort not in SORTS:
        sort = "recents"
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    threads = comment_service.thread_page(article, _viewer(), newest_first=SORTS[sort], page=page)
    reply_target = None
    if form.parent:
        reply_target = comment_service.find_own_comment(form.parent, _viewer())
        if (
            reply_target is None
            or reply_target.article_id != article.id
            or not reply_target.is_published
        ):
            if not form.parent_id.errors:
                form.parent_id.errors = [
                    "Le commentaire auquel vous répondez n’existe pas ou n’est pas publié."
                ]
            reply_target = None
    return render_template(
        "reader/article.html",
        article=article,
        form=form,
        threads=threads,
        sort=sort,
        reply_target=reply_target,
        max_length=current_app.config["COMMENT_MAX_LENGTH"],
    )
