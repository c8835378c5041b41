"""Reply notifications, the readers' side: the account's setting (« Mon compte »), a guest's
confirmation link, and the one-click unsubscription every mail carries. Views only: the
rules are in services/notifications.py."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.extensions import csrf
from app.reader import bp
from app.reader.forms import ConfirmForm, ReplyMailsForm
from app.reader.rights import _private
from app.services import notifications


@bp.post("/compte/notifications")
@login_required
def reply_mails_setting() -> Response:
    """The account's « Me prévenir par courriel des réponses à mes commentaires ». 303 back
    to « Mon compte »."""
    form = ReplyMailsForm()
    if not form.validate_on_submit():
        abort(400, description="Le formulaire a expiré : rechargez la page et réessayez.")
    on = bool(form.reply_mails.data)
    notifications.set_account(current_user._get_current_object(), on)
    flash(
        "Vous serez prévenu par courriel des réponses à vos commentaires."
        if on
        else "Vous ne recevrez plus de courriel pour les réponses à vos commentaires.",
        "success",
    )
    return redirect(url_for("reader.account", _anchor="notifications"), code=303)


def _refused(error: notifications.NotificationError) -> Response:
    """A forged, damaged or expired link: said in French, on a page (410)."""
    page = render_template("reader/reply_mails.html", step="refused", message=error.message)
    return _private(page, 410)


@bp.route("/notifications/confirmer/<token>", methods=["GET", "POST"])
def reply_mails_confirm(token: str) -> Response:
    """What a guest's confirmation link opens: a button that confirms the address (a mail
    client that opens links ahead confirms nothing). 410 for a bad or expired link."""
    try:
        email = notifications.confirming(token)
    except notifications.NotificationError as error:
        return _refused(error)
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        notifications.confirm(token)
        return _private(render_template("reader/reply_mails.html", step="confirmed", email=email))
    return _private(
        render_template("reader/reply_mails.html", step="confirm", email=email, form=form),
        422 if request.method == "POST" else 200,
    )


@bp.route("/notifications/desabonner/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client's one-click POST carries no session and no token
def reply_mails_unsubscribe(token: str) -> Response:
    """The link of every reply mail (`List-Unsubscribe`): a GET shows a button; a POST (that
    button, or the mail client's one click, `List-Unsubscribe=One-Click`) unsubscribes at
    once. 410 for a forged or damaged link."""
    try:
        notifications.unsubscribing(token)
        if request.method == "POST":
            notifications.unsubscribe(token)
            return _private(render_template("reader/reply_mails.html", step="unsubscribed"))
    except notifications.NotificationError as error:
        return _refused(error)
    return _private(render_template("reader/reply_mails.html", step="unsubscribe", token=token))
