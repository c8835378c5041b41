"""A reader's changes to their own comment: edit it (within EDIT_WINDOW_MINUTES), delete it.
Views only: the rules are services/comments.py's (`edit`, `delete_own`), which the API calls
too. Anyone else's comment, or a placeholder, is the same 404 as a comment that does not
exist."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_limiter.util import get_remote_address
from werkzeug.wrappers import Response

from app.models import Article, Comment
from app.reader import bp
from app.reader.forms import ConfirmForm, EditForm
from app.reader.routes import _after_submit, _article_or_404, _too_many, _viewer
from app.services import comments as comment_service
from app.services import quotas, sites

NOT_YOURS = "Ce commentaire n’existe pas ou ne vous appartient pas."


def _owned_or_404(article: Article, comment_id: int) -> Comment:
    comment = comment_service.owned(comment_id, _viewer())
    if comment is None or comment.article_id != article.id:
        abort(404, description=NOT_YOURS)
    return comment


@bp.route("/articles/<slug>/commentaires/<id:comment_id>/modifier", methods=["GET", "POST"])
def edit_comment(slug: str, comment_id: int) -> Response | str | tuple[str, int]:
    """« Modifier »: the text in a form until the window closes; sent, it is decided again."""
    article = _article_or_404(slug)
    comment = _owned_or_404(article, comment_id)
    form = EditForm(site=sites.site_of(article))
    deadline = comment_service.edit_deadline(comment)
    if form.validate_on_submit():
        try:
            comment_service.edit(comment, form.body.data, address=get_remote_address())
        except quotas.QuotaExceeded as exceeded:
            _too_many(exceeded)
        except comment_service.CommentError as error:
            form.body.errors = [error.message]
        else:
            return _after_submit(article, comment)
    elif not form.is_submitted():
        form.body.data = comment.body
    status = 422 if form.is_submitted() else 200
    return render_template(
        "reader/edit.html", article=article, comment=comment, form=form, deadline=deadline
    ), status


@bp.route("/articles/<slug>/commentaires/<id:comment_id>/supprimer", methods=["GET", "POST"])
def delete_comment(slug: str, comment_id: int) -> Response | str:
    """« Supprimer »: a confirmation, then the comment is gone (a placeholder where others
    answered it). At any time."""
    article = _article_or_404(slug)
    comment = _owned_or_404(article, comment_id)
    if ConfirmForm().validate_on_submit():
        try:
            comment_service.delete_own(comment)
        except comment_service.CommentError:  # deleted meanwhile (sent twice at once)
            abort(404, description=NOT_YOURS)
        flash("Votre commentaire est supprimé.", "comment-success")
        return redirect(url_for("reader.article", slug=article.slug, _anchor="commentaires"), 303)
    return render_template("reader/delete.html", article=article, comment=comment)
