"""Readers' data rights (GDPR): « Mon compte » for a signed-in reader, « Vos données
personnelles » for a guest (by a link mailed to their address). Views only: the rules are in
services/rights.py, which the CLI and the staff's reader page call too."""

from __future__ import annotations

import json
from datetime import date

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, logout_user
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import Role, SsoIdentity
from app.reader import bp
from app.reader.forms import DataRequestForm, EraseForm, ReplyMailsForm
from app.reader.routes import _too_many
from app.services import mail, notifications, quotas, rights


def download(person: rights.Person, name: str) -> Response:
    """The export as a JSON file to save (never cached, never indexed)."""
    body = json.dumps(rights.export(person), ensure_ascii=False, indent=2)
    response = Response(body + "\n", mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{name}-{date.today().isoformat()}.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _private(response: Response | str, status: int = 200) -> Response:
    """A page that carries a secret link or personal data: never cached. (Its template asks
    for no Referer: Flask-Talisman sets the header on every response.)"""
    if not isinstance(response, Response):
        response = Response(response, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


# --- A signed-in reader ---------------------------------------------------------------------


def _has_password() -> bool:
    """A single sign-on account has no password of ours: the box alone confirms."""
    found = db.session.query(SsoIdentity.id).filter_by(user_id=current_user.id).first()
    return found is None


@bp.route("/compte", methods=["GET", "POST"])
@login_required
def account() -> Response:
    """« Mon compte »: the account, its data to download, and its deletion."""
    form = EraseForm()
    staff = current_user.role in (Role.MODERATOR, Role.ADMIN)
    has_password = _has_password()
    if request.method == "POST" and not staff and form.validate_on_submit():
        if has_password and not current_user.check_password(form.password.data or ""):
            form.password.errors = ["Ce mot de passe n’est pas le bon."]
        else:
            rights.erase(rights.of_account(current_user), rights.self_actor())
            logout_user()
            session.clear()
            flash("Votre compte et vos données sont effacés.", "success")
            return redirect(url_for("reader.index"), code=303)
    status = 422 if request.method == "POST" else 200
    return _private(
        render_template(
            "reader/account.html", form=form, staff=staff, has_password=has_password,
            anonymise=rights.keeps_published(),
            reply_form=ReplyMailsForm(reply_mails=current_user.reply_mails),
            reply_address=notifications.account_address(current_user),
        ),
        status,
    )  # fmt: skip


@bp.get("/compte/donnees.json")
@login_required
def account_data() -> Response:
    return download(rights.of_account(current_user), "mes-donnees")


# --- A guest, by their address --------------------------------------------------------------


@bp.route("/mes-donnees", methods=["GET", "POST"])
def my_data() -> Response:
    """A guest gives their address; a link to their data is mailed to it. The answer is the
    same whatever we hold (nobody learns here who commented)."""
    form = DataRequestForm()
    if form.validate_on_submit():
        try:
            quotas.take_data_request(get_remote_address(), form.email.data)
        except quotas.QuotaExceeded as exceeded:
            _too_many(exceeded, "Vous avez demandé trop de liens en peu de temps.")
        try:
            rights.send_link(form.email.data)
        except mail.MailError as error:
            form.email.errors = [error.message]
        else:
            return redirect(url_for("reader.my_data_sent"), code=303)
    status = 422 if request.method == "POST" else 200
    return _private(render_template("reader/my_data.html", form=form), status)


@bp.get("/mes-donnees/envoye")
def my_data_sent() -> str:
    return render_template("reader/my_data_sent.html")


def _guest_or_410(token: str) -> rights.Person:
    try:
        return rights.guest_from(token)
    except rights.RightsError as error:
        abort(410, description=error.message)


@bp.route("/mes-donnees/<token>", methods=["GET", "POST"])
def my_data_page(token: str) -> Response:
    """What the link opens: the guest's data to download, and its erasure."""
    person = _guest_or_410(token)
    form = EraseForm()
    if request.method == "POST" and form.validate_on_submit():
        rights.erase(person, rights.self_actor())
        session.pop("guest_token", None)
        return _private(render_template("reader/my_data_erased.html"))
    status = 422 if request.method == "POST" else 200
    return _private(
        render_template(
            "reader/my_data_page.html", form=form, token=token, email=person.email,
            holds=rights.holds_anything(person), anonymise=rights.keeps_published(),
        ),
        status,
    )  # fmt: skip


@bp.get("/mes-donnees/<token>/donnees.json")
def my_data_download(token: str) -> Response:
    return download(_guest_or_410(token), "mes-donnees")
