"""Sign-up, sign-in and sign-out."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from app.auth import bp
from app.auth.forms import LoginForm, RegisterForm
from app.converters import safe_path
from app.extensions import limiter
from app.privacy import pseudonym
from app.services import accounts


def _safe_next() -> str:
    """Only same-site paths are followed after sign-in (no open redirect, nothing that would
    break the Location header); anything else leads to the home page."""
    return safe_path(request.args.get("next")) or url_for("reader.index")


@bp.route("/inscription", methods=["GET", "POST"])
def register() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(_safe_next())
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.register(form.display_name.data, form.email.data, form.password.data)
        except accounts.AccountError as error:
            getattr(form, error.field or "email").errors.append(error.message)
        else:
            login_user(user)
            flash(f"Bienvenue, {user.display_name} ! Votre compte est créé.", "success")
            return redirect(_safe_next(), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(_safe_next())
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            flash(f"Vous êtes connecté, {user.display_name}.", "success")
            return redirect(_safe_next(), code=303)
        current_app.logger.warning(
            "failed sign-in for address %s from %s", pseudonym(form.email.data), request.remote_addr
        )
        form.form_errors.append("Adresse de messagerie ou mot de passe incorrect.")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/deconnexion")
def logout() -> Response:
    logout_user()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("reader.index"), code=303)
