"""Sign-up, sign-in and sign-out."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from app.auth import bp
from app.auth.forms import LoginForm, RegisterForm
from app.converters import safe_path
from app.extensions import limiter
from app.models import Role, User
from app.privacy import pseudonym
from app.services import accounts, quotas


def _safe_next() -> str:
    """Where one lands after signing in: the page asked for (`next`: a link that means it, or
    Flask-Login sending one to sign in first); else staff land on the moderation queue, and
    readers back on the page they signed in from (`retour`, the header's links) or the home
    page. Only same-site paths are followed (no open redirect, nothing that would break the
    Location header)."""
    if (path := safe_path(request.args.get("next"))) is not None:
        return path
    if current_user.is_authenticated and current_user.role in (Role.MODERATOR, Role.ADMIN):
        return url_for("moderation.index")
    return safe_path(request.args.get("retour")) or url_for("reader.index")


def _signup_limit() -> str:
    return str(current_app.config["SIGNUP_RATE_LIMIT"])


def _start_session(user: User, remember: bool = False) -> None:
    """A new session for the account: nothing of the guest before it survives into it."""
    session.clear()
    login_user(user, remember=remember)


@bp.route("/inscription", methods=["GET", "POST"])
@limiter.limit(_signup_limit, methods=["POST"])
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
            _start_session(user)
            flash("Bienvenue ! Votre compte est créé.", "success")  # no name in the cookie
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
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except quotas.QuotaExceeded as exceeded:
            raise TooManyRequests(retry_after=exceeded.retry_after) from None
        if user is not None:
            _start_session(user, remember=bool(form.remember.data))
            flash("Vous êtes connecté.", "success")  # no name in the cookie
            return redirect(_safe_next(), code=303)
        current_app.logger.warning(
            "failed sign-in for address %s from %s", pseudonym(form.email.data), request.remote_addr
        )
        form.form_errors.append("Adresse de messagerie ou mot de passe incorrect.")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/deconnexion")
def logout() -> Response:
    """Ends every session of the account (other devices, copied cookies, remember-me), and
    this browser's session with whatever it held."""
    if current_user.is_authenticated:
        accounts.sign_out(current_user._get_current_object())
    session.clear()
    logout_user()  # after clear(): it asks for the remember-me cookie to be deleted
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("reader.index"), code=303)
