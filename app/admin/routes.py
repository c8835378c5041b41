"""Admins' views: each settings page can simulate its values before saving them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app import charts, labels, policy, scoring
from app.admin import bp
from app.auth.access import role_required
from app.converters import as_count, as_id
from app.extensions import db
from app.formatting import ngettext
from app.models import ApiClient, Article, Role, Site, utcnow
from app.services import (
    admin,
    clients,
    live_model,
    moderation,
    settings,
    shadow,
    sites,
    stats,
    transparency,
)
from app.wordlists import format_list

ADMIN = Role.ADMIN


def _common() -> dict[str, Any]:
    return {
        "counts": moderation.queue_counts(),
        "queues": labels.QUEUES,
        "category_label": labels.category_label,
        "setting_label": labels.setting_label,
        "model_state": labels.model_state,
        "setting_value": labels.setting_value,
        "reason_text": lambda r: labels.reason_text(policy.Reason(**r)),
        "scorer": scoring.backend().status(),
    }


def _simulation_size() -> int:
    size = request.values.get("n", type=as_count) or 1000
    return max(10, min(size, 50_000))


@bp.get("/")
@role_required(ADMIN)
def index() -> str:
    days = max(1, min(request.args.get("jours", 30, type=as_count) or 30, 365))
    board = stats.dashboard(days)
    text = chart_labels()
    per_day = charts.stacked_bars_svg(
        board.days,
        {
            "publish": board.published,
            "hold": board.held,
            "reject": board.rejected,
            "nudge": board.nudged,
            "pending": board.pending,
        },  # fmt: skip
        title=_("Commentaires par jour et décision automatique"),
        labels=text,
    )
    busiest = charts.bars_svg(
        [(title[:50], count) for title, _slug, count in board.busiest],
        title=_("Articles les plus commentés"),
        labels=text,
    )
    return render_template("admin/dashboard.html", board=board, days=days, per_day=per_day,
                           busiest=busiest, **_common())  # fmt: skip


def chart_labels() -> dict[str, str]:
    """The charts' words, in the staff member's language."""
    return {key: str(value) for key, value in charts.DEFAULT_LABELS.items()}


def _simulate_or_save(
    parse: Callable[[Any], admin.Parsed],
    save: Callable[[Any, Any], int],
    proposal: str,
    saved_message: Callable[[int], str],
) -> tuple[admin.Parsed | None, Any, Response | None]:
    """The flow of every settings page: on POST, parse the form; « Enregistrer » saves and
    redirects; « Simuler » (or a refused value) shows the page again, with the simulation.

    Returns (what was parsed, the simulation, the redirect when saved)."""
    if request.method != "POST":
        return None, None, None
    parsed = parse(request.form)
    if parsed.ok and request.form.get("action") == "enregistrer":
        changed = save(parsed.values, current_user)
        flash(saved_message(changed), "success")
        return parsed, None, redirect(url_for(request.endpoint or "admin.index"), code=303)
    simulation = (
        admin.simulate(size=_simulation_size(), **{proposal: parsed.values}) if parsed.ok else None
    )
    return parsed, simulation, None


def _page(template: str, parsed: admin.Parsed | None, **context: Any) -> tuple[str, int]:
    errors = parsed.errors if parsed else {}
    html = render_template(template, errors=errors, n=_simulation_size(), **context, **_common())
    return html, 422 if errors else 200


@bp.get("/transparence")
@role_required(ADMIN)
def transparency_page() -> str:
    """The year's DSA transparency figures (Art. 15 and 24): decisions by ground, restriction
    and source, the automated share, the median handling time, the complaints. `annee`:
    the year (this year by default)."""
    this_year = utcnow().year
    year = request.args.get("annee", type=as_count) or this_year
    year = year if 2000 <= year <= this_year else this_year
    return render_template(
        "admin/transparency.html", f=transparency.figures(year), year=year,
        notice_category_label=labels.notice_category_label,
        years=range(this_year, this_year - 5, -1), dsa_labels=labels.DSA_LABELS,
        hours=lambda h: _("%(num)s h", num=format_decimal(h, "0.0")), **_common(),
    )  # fmt: skip


@bp.route("/seuils", methods=["GET", "POST"])
@role_required(ADMIN)
def thresholds() -> Response | tuple[str, int]:
    """Per category: hold, reject, nudge, on/off. « Simuler » shows the effect; « Enregistrer »
    saves (and records the change). 422 with the fields named when a value is refused."""
    parsed, simulation, saved = _simulate_or_save(
        admin.parse_thresholds, admin.save_thresholds, "thresholds",
        lambda n: ngettext("%(num)s seuil enregistré.", "%(num)s seuils enregistrés.", n),
    )  # fmt: skip
    if saved:
        return saved
    values = parsed.values if parsed else admin.current_thresholds()
    return _page("admin/thresholds.html", parsed, values=values, simulation=simulation)


@bp.route("/regles", methods=["GET", "POST"])
@role_required(ADMIN)
def rules() -> Response | tuple[str, int]:
    """The site rules; same simulate-or-save flow (422 naming a refused field)."""
    parsed, simulation, saved = _simulate_or_save(
        admin.parse_rules, admin.save_settings, "rules",
        lambda n: ngettext("%(num)s réglage enregistré.", "%(num)s réglages enregistrés.", n),
    )  # fmt: skip
    if saved:
        return saved
    values = {**admin.current_rules(), **(parsed.values if parsed else {})}
    rate_count: int | str | None
    rate_count, rate_period = admin.split_rate(values.get("comment_rate_limit"))
    if parsed is not None and "comment_rate_limit" in parsed.errors:  # the typed values, back
        rate_count = request.form.get("comment_rate_limit-count")
        rate_period = request.form.get("comment_rate_limit-period", "minute")
    server_rate = current_app.config["COMMENT_RATE_LIMIT"]
    return _page(
        "admin/rules.html", parsed, values=values, simulation=simulation,
        server_max=current_app.config["COMMENT_MAX_LENGTH"], server_rate=server_rate,
        server_rate_count=admin.split_rate(server_rate)[0], rate_count=rate_count,
        rate_period=rate_period, rate_text=labels.rate_text,
        rate_periods={k: labels.RATE_PERIODS[k] for k in admin.RATE_PERIODS},
        setting_labels=labels.SETTING_LABELS, sent_anyway_choices=labels.SENT_ANYWAY_CHOICES,
    )  # fmt: skip


@bp.route("/mots", methods=["GET", "POST"])
@role_required(ADMIN)
def words() -> Response | tuple[str, int]:
    """The word lists, imported by pasting text; same simulate-or-save flow."""
    parsed, simulation, saved = _simulate_or_save(
        admin.parse_words, admin.save_settings, "rules",
        lambda n: ngettext("%(num)s liste enregistrée.", "%(num)s listes enregistrées.", n),
    )  # fmt: skip
    if saved:
        return saved
    if parsed is None:
        current = admin.current_rules()
        texts = {key: format_list(current[key]) for key in admin.WORD_FIELDS}
    else:
        texts = {key: request.form.get(key, "") for key in admin.WORD_FIELDS}
    return _page("admin/words.html", parsed, texts=texts, simulation=simulation)


@bp.get("/mots/<name>.txt")
@role_required(ADMIN)
def export_words(name: str) -> Response:
    if name not in admin.WORD_FIELDS:
        abort(404)
    return Response(
        format_list(settings.get(name)),
        mimetype="text/plain",
        headers={"Content-Disposition": f"attachment; filename={name}.txt"},
    )


@bp.route("/articles", methods=["GET", "POST"])
@role_required(ADMIN)
def articles() -> Response | str | tuple[str, int]:
    """Every article, bundled or a site's story, a page at a time (`?site=NAME`: one site's;
    404 for an unknown site), with its settings: 303 back to the same page once saved, 422
    naming a refused field, 404 for an unknown article."""
    name = request.values.get("site") or None
    site = sites.get(name) if name else None
    if name and site is None:
        abort(404)
    page = request.values.get("page", 1, type=as_id) or 1
    errors: dict[str, str] = {}
    if request.method == "POST":
        article = db.session.get(Article, request.form.get("article", type=as_id) or 0)
        if article is None:
            abort(404)
        parsed = admin.save_article(article, request.form, current_user)
        if parsed.ok:
            flash(_("Article « %(title)s » enregistré.", title=article.title[:60]), "success")
            back = url_for("admin.articles", site=name, page=page if page > 1 else None,
                           _anchor=f"article-{article.id}")  # fmt: skip
            return redirect(back, code=303)
        errors = parsed.errors
    found = admin.articles(site, page)
    return (
        render_template(
            "admin/articles.html",
            found=found,
            site=site,
            sites=sites.all_sites(),
            default_site=sites.default_site(),
            errors=errors,
            **_common(),
        ),  # fmt: skip
        422 if errors else 200,
    )


@bp.get("/historique")
@role_required(ADMIN)
def history() -> str:
    return render_template("admin/history.html", changes=settings.history(), **_common())


@bp.post("/historique/<id:change_id>/restaurer")
@role_required(ADMIN)
def restore(change_id: int) -> Response:
    try:
        key = settings.restore(change_id, current_user)
    except settings.SettingsError as error:
        flash(error.message, "error")
    else:
        flash(
            _("Valeur précédente de « %(key)s » rétablie.", key=labels.setting_label(key)),
            "success",
        )
    return redirect(url_for("admin.history"), code=303)


@bp.get("/calibration")
@role_required(ADMIN)
def calibration() -> str:
    raw = request.args.get("cible", "0.98").replace(",", ".")
    try:
        target = float(raw)
    except ValueError:
        target = 0.98
        flash(_("Cible invalide : indiquez un nombre entre 0,5 et 1."), "error")
    target = max(0.5, min(target, 1.0))
    board = admin.calibrate(target)
    thresholds = settings.category_thresholds()
    text = chart_labels()
    drawn = {}
    for category, cal in board.categories.items():
        if cal.total == 0:
            continue
        row = thresholds.get(category)
        name = labels.category_label(category)
        drawn[category] = (
            charts.histogram_svg(
                cal.histogram_approved, cal.histogram_rejected,
                hold=row.hold if row else None, reject=row.reject if row else None,
                suggested=cal.suggested, title=_("Scores : %(c)s", c=name), labels=text,
            ),
            charts.curve_svg(
                cal.curve, target=target, suggested=cal.suggested,
                title=_("Accord et charge selon le seuil : %(c)s", c=name), labels=text,
            ),
        )  # fmt: skip
    return render_template(
        "admin/calibration.html",
        target=target,
        board=board,
        charts=drawn,
        import_formats=labels.IMPORT_FORMATS,
        **_common(),
    )


def _clients_page(
    status: int = 200,
    errors: dict[str, str] | None = None,
    new: clients.NewClient | None = None,
    form: dict[str, str] | None = None,
) -> tuple[str, int, dict[str, str]]:
    """« Clients de l’API »: every client, its usage and its last error; the creation form. A
    new key is shown here once, on the page answering its creation (never in a flash, which
    lives in the session cookie), and that page is not stored by any cache."""
    html = render_template(
        "admin/clients.html", clients=clients.all_clients(), usage=clients.usage(),
        errors=errors or {}, new=new, form=form or {}, rate_text=labels.rate_text,
        periods={k: labels.RATE_PERIODS[k] for k in clients.QUOTA_PERIODS}, **_common(),
    )  # fmt: skip
    return html, status, {"Cache-Control": "no-store"}


@bp.get("/clients")
@role_required(ADMIN)
def api_clients() -> tuple[str, int, dict[str, str]]:
    """« Clients de l’API »: 200 (admins only: 403 for staff, sign-in for visitors)."""
    return _clients_page()


@bp.post("/clients")
@role_required(ADMIN)
def create_client() -> tuple[str, int, dict[str, str]]:
    """Create a client: 200 with its key, shown once; 422 naming the refused field."""
    form = {k: request.form.get(k, "") for k in ("name", "quota-count", "quota-period")}
    secret = request.form.get("coral_secret", "")
    try:
        quota = clients.quota_from_fields(form["quota-count"], form["quota-period"])
        new = clients.create(form["name"], quota, secret if secret.strip() else None, current_user)
    except clients.ClientError as error:
        return _clients_page(422, {error.field or "name": error.message}, form=form)
    return _clients_page(new=new)


def _client_or_404(name: str) -> ApiClient:
    client = clients.find(name)
    if client is None:
        abort(404)
    return client


@bp.post("/clients/<name>/revoquer")
@role_required(ADMIN)
def revoke_client(name: str) -> Response | tuple[str, int, dict[str, str]]:
    """Revoke a client's key, once « Je confirme » is ticked: 303 to the list; 422 unticked or
    already revoked; 404 for an unknown client."""
    client = _client_or_404(name)
    if request.form.get("confirm") != "on":
        message = _("Cochez « Je confirme » pour révoquer la clé de ce client.")
        return _clients_page(422, {f"{client.name}-confirm": message})
    try:
        clients.revoke(client.name, current_user)
    except clients.ClientError as error:
        return _clients_page(422, {f"{client.name}-confirm": error.message})
    flash(_("Client « %(name)s » révoqué : sa clé est refusée dès maintenant.", name=client.name),
          "success")  # fmt: skip
    return redirect(url_for("admin.api_clients"), code=303)


@bp.post("/clients/<name>/secret-coral")
@role_required(ADMIN)
def client_coral_secret(name: str) -> Response | tuple[str, int, dict[str, str]]:
    """Set or replace the client's Coral signing secret: 303 to the list; 422 for an empty or
    invalid secret, or a revoked client; 404 for an unknown client."""
    client = _client_or_404(name)
    try:
        clients.set_coral_secret(client.name, request.form.get("coral_secret", ""), current_user)
    except clients.ClientError as error:
        return _clients_page(422, {f"{client.name}-coral_secret": error.message})
    flash(_("Secret Coral de « %(name)s » enregistré.", name=client.name), "success")
    return redirect(url_for("admin.api_clients"), code=303)


@dataclass(frozen=True)
class _NewSecret:
    """A site's SSO secret, shown once on the page answering its creation or rotation."""

    site: Site
    secret: str
    created: bool


def _sites_page(
    status: int = 200,
    errors: dict[str, str] | None = None,
    new: _NewSecret | None = None,
    form: dict[str, str] | None = None,
    edited: dict[str, dict[str, str]] | None = None,
) -> tuple[str, int, dict[str, str]]:
    """« Sites »: each site, its origins, SSO and own settings, with their forms; the creation
    form. A new SSO secret is shown once, on the page answering its creation or rotation
    (never in a flash), and that page is not stored by any cache. `edited`: per site, the
    values just refused, shown back in its form."""
    html = render_template(
        "admin/sites.html", sites=sites.all_sites(), stories=sites.story_counts(),
        errors=errors or {}, new=new, form=form or {}, edited=edited or {},
        site_keys=settings.SITE_KEYS, defaults={k: settings.get(k) for k in settings.SITE_KEYS},
        server_max=current_app.config["COMMENT_MAX_LENGTH"], **_common(),
    )  # fmt: skip
    return html, status, {"Cache-Control": "no-store"}


def _site_or_404(name: str) -> Site:
    site = sites.get(name)
    if site is None:
        abort(404)
    return site


@bp.get("/sites")
@role_required(ADMIN)
def sites_page() -> tuple[str, int, dict[str, str]]:
    """« Sites »: 200 (admins only: 403 for staff, sign-in for visitors)."""
    return _sites_page()


@bp.post("/sites")
@role_required(ADMIN)
def create_site() -> tuple[str, int, dict[str, str]]:
    """Create a site: 200 with its SSO secret, shown once; 422 naming the refused field."""
    form = {k: request.form.get(k, "") for k in ("name", "origins")}
    new, errors = sites.create_from_form(form["name"], form["origins"], current_user)
    if new is None:
        return _sites_page(422, errors, form=form)
    return _sites_page(new=_NewSecret(new.site, new.sso_secret, created=True))


@bp.post("/sites/<name>")
@role_required(ADMIN)
def update_site(name: str) -> Response | tuple[str, int, dict[str, str]]:
    """Save a site's origins and own settings: 303 to the list; 422 with the refused fields
    named; 404 for an unknown site."""
    site = _site_or_404(name)
    fields = ("origins", *settings.SITE_KEYS)
    typed = {k: request.form.get(k, "") for k in fields}
    errors = sites.update_from_form(site, typed["origins"], typed, current_user)
    if errors:
        return _sites_page(
            422, {f"{site.name}-{k}": v for k, v in errors.items()}, edited={site.name: typed}
        )
    flash(_("Site « %(name)s » enregistré.", name=site.name), "success")
    return redirect(url_for("admin.sites_page", _anchor=f"site-{site.name}"), code=303)


@bp.post("/sites/<name>/secret-sso")
@role_required(ADMIN)
def rotate_site_secret(name: str) -> tuple[str, int, dict[str, str]]:
    """A new SSO secret for a site, once « Je confirme » is ticked: 200 with the secret, shown
    once; 422 unticked; 404 for an unknown site."""
    site = _site_or_404(name)
    if request.form.get("confirm") != "on":
        message = _("Cochez « Je confirme » pour remplacer le secret SSO de ce site.")
        return _sites_page(422, {f"{site.name}-confirm": message})
    secret = sites.rotate_secret(site, current_user)
    return _sites_page(new=_NewSecret(site, secret, created=False))


def _shadow_page(
    status: int = 200, errors: dict[str, str] | None = None
) -> tuple[str, int, dict[str, str]]:
    """« Essai »: the running candidate (or the last one) with its progress, its moves and its
    agreement with the moderators; the form that starts one. `errors`: the refused fields,
    the typed values shown back."""
    running = shadow.active()
    shown = running or shadow.last()
    live = live_model.promoted()
    form = request.form if errors else {}
    tried_thresholds = form.get("try_thresholds") == "on"
    thresholds = (
        admin.parse_thresholds(form).values if tried_thresholds else admin.current_thresholds()
    )
    rules = admin.current_rules()
    if form.get("try_rules") == "on":
        rules.update(admin.parse_rules(form, shadow.RULE_FIELDS).values)
    html = render_template(
        "admin/shadow.html", running=running, shown=shown,
        report=shadow.report(shown) if shown is not None else None,
        differences=shadow.differences(shown) if shown is not None else None,
        live=live, processes=live_model.processes(),
        server_settings=live_model.server_settings(*live.key) if live else {},
        follow_seconds=current_app.config["MODEL_FOLLOW_SECONDS"],
        errors=errors or {}, form=form, values=thresholds, rules=rules,
        setting_labels=labels.SETTING_LABELS, sent_anyway_choices=labels.SENT_ANYWAY_CHOICES,
        share=shadow.Agreement.share, **_common(),
    )  # fmt: skip
    return html, status, {"Cache-Control": "no-store"}


@bp.get("/essai")
@role_required(ADMIN)
def shadow_page() -> tuple[str, int, dict[str, str]]:
    """« Essai » (shadow mode): 200 (admins only: 403 for staff, sign-in for visitors)."""
    return _shadow_page()


@bp.post("/essai")
@role_required(ADMIN)
def start_shadow() -> Response | tuple[str, int, dict[str, str]]:
    """Start a candidate: 303 to the page; 422 naming the refused field (a path that names
    nothing, a model that does not load, a bad threshold, a candidate already running)."""
    proposal, errors = shadow.parse(request.form)
    if not errors:
        try:
            shadow.start(proposal, current_user)
        except shadow.ShadowError as error:
            errors = {error.field or "candidate": error.message}
    if errors:
        return _shadow_page(422, errors)
    flash(_("Essai lancé : les commentaires décidés à partir de maintenant seront comparés."),
          "success")  # fmt: skip
    return redirect(url_for("admin.shadow_page"), code=303)


@bp.post("/essai/arreter")
@role_required(ADMIN)
def stop_shadow() -> Response | tuple[str, int, dict[str, str]]:
    """Stop the running candidate: 303 to the page; 422 when none runs."""
    try:
        shadow.stop(current_user)
    except shadow.ShadowError as error:
        return _shadow_page(422, {"candidate": error.message})
    flash(_("Essai arrêté. Ses résultats restent affichés."), "success")
    return redirect(url_for("admin.shadow_page"), code=303)


@bp.post("/essai/promouvoir")
@role_required(ADMIN)
def promote_shadow() -> Response | tuple[str, int, dict[str, str]]:
    """Make the running candidate's thresholds and rules the live ones, once « Je confirme »
    is ticked: 303 to the page; 422 unticked, when none runs, or when its model failed."""
    if request.form.get("confirm") != "on":
        message = _("Cochez « Je confirme » pour promouvoir cet essai.")
        return _shadow_page(422, {"confirm": message})
    try:
        candidate = shadow.promote(current_user)
    except shadow.ShadowError as error:
        return _shadow_page(422, {"candidate": error.message})
    if candidate.model_path:
        flash(_("Essai promu : ses réglages sont appliqués, et chaque processus de scoring "
                "passe à son modèle dès qu’il l’a chargé."), "success")  # fmt: skip
    else:
        flash(_("Essai promu : ses réglages sont désormais appliqués."), "success")
    return redirect(url_for("admin.shadow_page"), code=303)


@bp.post("/essai/modele-serveur")
@role_required(ADMIN)
def reset_live_model() -> Response | tuple[str, int, dict[str, str]]:
    """Go back from a promoted model to the server's own (DETOXIFY_*): 303 to the page; 422
    when the server's is already the live one. Audited."""
    try:
        live_model.reset(current_user)
    except live_model.LiveModelError as error:
        return _shadow_page(422, {"model": error.message})
    flash(_("Retour au modèle du serveur : chaque processus de scoring y revient dès qu’il "
            "l’a chargé."), "success")  # fmt: skip
    return redirect(url_for("admin.shadow_page"), code=303)
