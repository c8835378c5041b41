"""Moderators' views: queues, a comment's card and history, decisions, readers, the journal."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime, timedelta

from flask import (
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.wrappers import Response

from app import dsa, formatting, labels, policy
from app.actions import AuditAction
from app.auth.access import role_required
from app.converters import as_count, as_id, parse_count, parse_date, parse_id, safe_path
from app.extensions import db
from app.formatting import ngettext
from app.labels import JOURNAL_ACTIONS, REASON_CODES
from app.models import Article, Comment, CommentStatus, Role, User
from app.moderation import bp
from app.reader import rights as reader_rights
from app.services import complaints as complaint_service
from app.services import (
    coral,
    featured,
    moderation,
    notices,
    readers,
    rights,
    settings,
    statements,
    surges,
    warnings,
)
from app.templating import paragraphs
from app.wordlists import highlight, stored_matches

STAFF = Role.MODERATOR


def _filter() -> moderation.QueueFilter:
    args = request.args
    return moderation.QueueFilter(
        queue=request.view_args.get("queue", "a-moderer") if request.view_args else "a-moderer",
        sort=args.get("tri", "recents") if args.get("tri") in moderation.SORTS else "recents",
        article_id=args.get("article", type=as_id),
        reason=args.get("raison") or None,
        category=args.get("categorie") or None,
        text=(args.get("q") or "").strip() or None,
        author_email=(args.get("auteur") or "").strip().lower() or None,
        page=args.get("page", 1, type=as_id),
    )


@bp.get("/")
@role_required(STAFF)
def index() -> Response:
    return redirect(url_for("moderation.queue", queue="a-moderer"))


@bp.get("/file/<queue>")
@role_required(STAFF)
def queue(queue: str) -> str:
    if queue not in moderation.QUEUES:
        abort(404)
    page = moderation.list_queue(_filter())
    return render_template(
        "moderation/queue.html",
        queue=queue,
        page=page,
        filters=_filter(),
        counts=moderation.queue_counts(),
        **_card_context(),
    )


@bp.get("/file/<queue>/nouveaux")
@role_required(STAFF)
def queue_news(queue: str) -> Response:
    """Polled by the queue page: counts, and how many comments arrived since `depuis`.

    200 JSON {"counts": {...}, "new": n, "message": "n nouveaux commentaires."}."""
    since = request.args.get("depuis", 0, type=as_count)
    counts = moderation.queue_counts()
    new = moderation.count_newer(queue, since)
    message = ngettext("%(num)s nouveau commentaire.", "%(num)s nouveaux commentaires.", new)
    return jsonify(counts=counts, new=new, message=message)


def _admin() -> bool:
    """Admins see the technical details (a model's error text); moderators plain words."""
    return bool(current_user.is_authenticated and current_user.role == Role.ADMIN)


def _card_context() -> dict[str, object]:
    limits = settings.thresholds()
    return {
        "score_level": lambda category, score: policy.level(score, limits.get(category)),
        "reject_reasons": labels.REJECT_REASONS,
        "grounds": labels.GROUND_LABELS,
        "report_reasons": labels.REPORT_REASONS,
        "queues": labels.QUEUES,
        "sorts": labels.SORTS,
        "articles": moderation.articles(),
        "thresholds": settings.category_thresholds(),
        "reason_codes": REASON_CODES,
        "categories": labels.CATEGORY_LABELS,
        "reason_text": lambda r: labels.reason_text(policy.Reason(**r), technical=_admin()),
        "why": lambda row: labels.action_reason(
            row.action, row.reason, row.reason_code, row.details, technical=_admin()
        ),
        "actor_label": labels.actor_label,
        "category_label": labels.category_label,
        "status_labels": labels.STATUS_LABELS,
        "may": moderation.may,
        "one_time_token": lambda: secrets.token_urlsafe(24),
        "warning_max": warnings.MESSAGE_MAX,
    }


@bp.get("/commentaires/<id:comment_id>")
@role_required(STAFF)
def comment(comment_id: int) -> str:
    card = moderation.card(comment_id)
    if card is None:
        abort(404, description=_("Ce commentaire n’existe pas."))
    return render_template(
        "moderation/comment.html",
        card=card,
        history=moderation.history(comment_id),
        counts=moderation.queue_counts(),
        actions=JOURNAL_ACTIONS,
        **_card_context(),
    )


def _back(default: str) -> str:
    return safe_path(request.form.get("next"), prefix="/moderation/") or default


@bp.post("/commentaires/<id:comment_id>/decision")
@role_required(STAFF)
def decide(comment_id: int) -> Response | tuple[Response, int]:
    """Approve, reject or, for a reported published one, keep (« Conserver ») one comment.
    303 back to the queue; 409 when someone was first; 422 for a missing reason."""
    action = request.form.get("action", "")
    version = request.form.get("version", type=as_count)
    if version is None:
        abort(400, description=_("La version du commentaire manque ou n’est pas valide : "
                                 "rechargez la page."))  # fmt: skip
    back = _back(url_for("moderation.queue", queue="a-moderer"))
    if action == "keep":
        try:
            moderation.dismiss_reports(
                comment_id, version, current_user, note=request.form.get("note")
            )
        except moderation.Conflict as conflict:
            return _answer(back, conflict.message, "error", 409)
        except moderation.ModerationError as error:
            return _answer(back, error.message, "error", 422)
        message = _("Commentaire n° %(id)s conservé : signalements écartés.", id=comment_id)
        return _answer(back, message, "success", 200, comment_status=CommentStatus.PUBLISHED)
    try:
        decided = moderation.decide(
            comment_id,
            version,
            action,
            current_user,
            reason=request.form.get("reason") or None,
            note=request.form.get("note"),
            ground=request.form.get("ground") or None,
        )
    except moderation.Conflict as conflict:
        return _answer(back, conflict.message, "error", 409)
    except moderation.ModerationError as error:
        return _answer(back, error.message, "error", 422)
    message = (
        _("Commentaire n° %(id)s approuvé et publié.", id=comment_id)
        if decided.status == CommentStatus.PUBLISHED
        else _("Commentaire n° %(id)s rejeté.", id=comment_id)
    )
    return _answer(back, message, "success", 200, comment_status=decided.status)


@bp.post("/commentaires/<id:comment_id>/selection")
@role_required(STAFF)
def feature(comment_id: int) -> Response:
    """« Choix de la rédaction »: feature a published comment (its author is told), or take it
    back. 303 back."""
    back = _back(url_for("moderation.comment", comment_id=comment_id))
    if request.form.get("action") == "unfeature":
        featured.unfeature(comment_id, current_user)
        flash(_("Commentaire n° %(id)s retiré du choix de la rédaction.", id=comment_id), "success")
        return redirect(back, code=303)
    try:
        featured.feature(comment_id, current_user)
    except featured.FeatureError:
        flash(_("Seul un commentaire publié et visible peut être choisi par la rédaction."),
              "error")  # fmt: skip
    else:
        flash(_("Commentaire n° %(id)s mis en avant : choix de la rédaction.", id=comment_id),
              "success")  # fmt: skip
    return redirect(back, code=303)


@bp.post("/commentaires/<id:comment_id>/avertir")
@role_required(STAFF)
def warn_author(comment_id: int) -> Response:
    """« Avertir » the author of this comment (from its card). 303 back."""
    back = _back(url_for("moderation.comment", comment_id=comment_id))
    comment = db.session.get(Comment, comment_id)
    if comment is None or not comment.author_email:
        flash(_("Ce commentaire n’a plus d’auteur à avertir."), "error")
        return redirect(back, code=303)
    who = readers.Reader.of(comment.author_email, comment.user_id)
    return _warn(who, back, comment_id=comment.id, name=comment.author_name)


@bp.post("/lecteurs/avertissements")
@role_required(STAFF)
def warn() -> Response:
    """« Avertir » a reader (from their page). 303 back to it."""
    who = _reader_from()
    if who is None:
        flash(_("Indiquez l’adresse du lecteur."), "error")
        return redirect(url_for("moderation.queue", queue="a-moderer"), code=303)
    return _warn(who, _reader_url(who))


def _warn(
    who: readers.Reader, back: str, *, comment_id: int | None = None, name: str | None = None
) -> Response:
    try:
        done = warnings.warn(
            who,
            request.form.get("reason", ""),
            request.form.get("message", ""),
            current_user,
            comment_id=comment_id,
            form_token=request.form.get("form_token") or None,
            name=name,
        )
    except warnings.WarningError as error:
        flash(error.message, "error")
        return redirect(back, code=303)
    if not done.created:
        flash(_("Cet avertissement était déjà enregistré."), "success")
    elif done.mailed:
        flash(_("Avertissement enregistré et envoyé par courriel au lecteur."), "success")
    else:
        flash(_("Avertissement enregistré : le lecteur le verra à son prochain commentaire."),
              "success")  # fmt: skip
    return redirect(back, code=303)


@bp.post("/decisions")
@role_required(STAFF)
def decide_many() -> Response | tuple[Response, int]:
    """The same decision on the selected comments (`select` = "id:version", repeated)."""
    targets: list[tuple[int, int]] = []
    for value in request.form.getlist("select"):
        comment_id, _sep, version = value.partition(":")
        target, version_number = parse_id(comment_id), parse_count(version)
        if target is not None and version_number is not None:
            targets.append((target, version_number))
    back = _back(url_for("moderation.queue", queue="a-moderer"))
    if not targets:
        return _answer(back, _("Sélectionnez au moins un commentaire."), "error", 422)
    action = request.form.get("action", "")
    try:
        result = moderation.decide_many(
            targets,
            action,
            current_user,
            reason=request.form.get("reason") or None,
            note=request.form.get("note"),
            ground=request.form.get("ground") or None,
        )
    except moderation.ModerationError as error:
        return _answer(back, error.message, "error", 422)
    done = len(result.done)
    if action == "approve":
        text = ngettext("%(num)s commentaire approuvé.", "%(num)s commentaires approuvés.", done)
    else:
        text = ngettext("%(num)s commentaire rejeté.", "%(num)s commentaires rejetés.", done)
    flash(text, "success")
    for conflict in result.conflicts:
        flash(conflict.message, "error")
    if _wants_json():
        return jsonify(done=result.done, conflicts=[c.comment_id for c in result.conflicts])
    return redirect(back, code=303)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _answer(
    back: str, message: str, category: str, status: int, *, comment_status: str | None = None
) -> Response | tuple[Response, int]:
    """JSON for the keyboard-driven page (with the comment's new status label, for its card),
    a flash and a redirect for plain forms."""
    if _wants_json():
        body: dict[str, object] = {"message": message, "ok": status == 200}
        if comment_status:
            body["status"] = str(labels.STATUS_LABELS[comment_status])
        return jsonify(body), status
    flash(message, category)
    return redirect(back, code=303)


def _reader_from() -> readers.Reader | None:
    """The reader a page or form is about: an account (`compte`) or a guest address (`email`)."""
    account_id = request.values.get("compte", type=as_id)
    if account_id:
        return readers.account(account_id)
    email = (request.values.get("email") or "").strip().lower()
    return readers.Reader.of(email) if email else None


def _reader_url(reader: readers.Reader) -> str:
    if reader.user_id is not None:
        return url_for("moderation.reader", compte=reader.user_id)
    return url_for("moderation.reader", email=reader.email)


@bp.get("/lecteurs")
@role_required(STAFF)
def reader() -> str:
    """A reader's page: an account's (`?compte=<id>`) or a guest address's (`?email=`)."""
    who = _reader_from()
    if who is None:
        abort(404, description=_("Indiquez l’adresse du lecteur."))
    email = who.email
    page = moderation.list_queue(
        moderation.QueueFilter(queue="tous", author_email=email, author_user_id=who.user_id)
    )
    return render_template(
        "moderation/reader.html",
        email=email,
        who=who,
        page=page,
        restrictions=readers.history(who),
        warnings=warnings.history(who),
        active=readers.active_restrictions(who),
        journal=moderation.journal(reader_email=email, limit=50),
        counts=moderation.queue_counts(),
        kinds=labels.KIND_LABELS,
        is_admin=_admin(),
        erase_keeps=rights.keeps_published(),
        **_card_context(),
    )


@bp.get("/lecteurs/donnees")
@role_required(STAFF)
def reader_data() -> Response:
    """Everything held about the reader, as the reader would download it themselves (an
    account's page: the account; a guest's: what was written under that address)."""
    who = _reader_from()
    if who is None:
        abort(404, description=_("Indiquez l’adresse du lecteur."))
    return reader_rights.download(_person(who), "lecteur")


def _person(who: readers.Reader) -> rights.Person:
    if who.user_id is not None:
        user = db.session.get(User, who.user_id)
        if user is None:
            abort(404)
        return rights.of_account(user)
    return rights.of_guest(who.email)


@bp.post("/lecteurs/effacer")
@role_required(Role.ADMIN)
def reader_erase() -> Response:
    """An admin erases a reader at their request (GDPR Art. 17), once they retyped the address."""
    who = _reader_from()
    if who is None:
        flash(_("Indiquez l’adresse du lecteur."), "error")
        return redirect(url_for("moderation.index"), code=303)
    if (request.form.get("confirm") or "").strip().lower() != who.email:
        flash(_("L’adresse retapée n’est pas celle du lecteur : rien n’a été effacé."), "error")
        return redirect(_reader_url(who), code=303)
    try:
        done = rights.erase(_person(who), current_user)
    except rights.RightsError as error:
        flash(error.message, "error")
        return redirect(_reader_url(who), code=303)
    flash(_("Lecteur effacé (%(n)s éléments).", n=done.total), "success")
    return redirect(url_for("moderation.index"), code=303)


@bp.post("/lecteurs/sanctions")
@role_required(STAFF)
def restrict() -> Response:
    who = _reader_from()
    if who is None:
        flash(_("Indiquez l’adresse du lecteur."), "error")
        return redirect(url_for("moderation.queue", queue="a-moderer"), code=303)
    back = _reader_url(who)
    try:
        readers.restrict(
            who.email,
            request.form.get("kind", ""),
            request.form.get("reason", ""),
            current_user,
            days=request.form.get("days", type=as_count),
            user_id=who.user_id,
            ground=request.form.get("ground") or None,
        )
    except readers.RestrictionError as error:
        flash(error.message, "error")
    else:
        flash(_("Sanction enregistrée."), "success")
    return redirect(back, code=303)


@bp.post("/lecteurs/sanctions/<id:restriction_id>/lever")
@role_required(STAFF)
def lift(restriction_id: int) -> Response:
    who = _reader_from()
    try:
        readers.lift(restriction_id, current_user, request.form.get("reason", ""))
    except readers.RestrictionError as error:
        flash(error.message, "error")
    else:
        flash(_("Sanction levée."), "success")
    back = _reader_url(who) if who else url_for("moderation.queue", queue="a-moderer")
    return redirect(back, code=303)


@bp.get("/journal")
@role_required(STAFF)
def journal() -> Response | str:
    args = request.args
    since = _date(args.get("du"))
    until = _date(args.get("au"))
    rows = moderation.journal(
        action=_action(args.get("action")),
        actor=args.get("acteur") or None,
        comment_id=args.get("commentaire", type=as_id),
        since=since,
        until=until + timedelta(days=1) if until else None,
        limit=None if args.get("format") == "csv" else 500,
    )
    if args.get("format") == "csv":
        return _csv(rows)
    return render_template(
        "moderation/journal.html",
        rows=rows,
        counts=moderation.queue_counts(),
        actions=JOURNAL_ACTIONS,
        **_card_context(),
    )


def _action(value: str | None) -> AuditAction | None:
    """The journal's action filter: an unknown value reads as absent."""
    try:
        return AuditAction(value) if value else None
    except ValueError:
        return None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    day = parse_date(value)
    if day is None:
        flash(_("Date invalide : %(value)s (format AAAA-MM-JJ).", value=value[:40]), "error")
    return day


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    """A cell as text a spreadsheet shows as typed: a leading quote before a formula's sign."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(rows: list) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["id", "when_utc", "actor", "action", "comment_id", "reader_email", "from_status",
         "to_status", "reason_code", "reason", "note"]
    )  # fmt: skip
    for row in rows:
        cells = [row.id, row.created_at.isoformat(), row.actor, row.action, row.comment_id or "",
                 row.reader_email or "", row.from_status or "", row.to_status or "",
                 row.reason_code or "", row.reason or "", row.note or ""]  # fmt: skip
        writer.writerow([_cell(cell) for cell in cells])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=journal-moderation.csv"},
    )


@bp.app_template_global()
def highlighted(text: str, stored: list[dict[str, object]] | None = None) -> Markup:
    """The comment as text, with the words of the site's lists marked (moderators' cards).

    `stored`: the matches recorded with the decision (`Comment.word_matches`), shown as they
    were then; a comment without them (stored before they were kept, or rewritten by its
    author and awaiting its new score: the card passes None) is matched against the lists as
    they are now."""
    if stored is not None:
        matches = stored_matches(text, stored)
    else:
        words = settings.rules().words
        matches = words.find(text) if words is not None else []
    if not matches:
        return paragraphs(text)
    return Markup("<p>") + highlight(text, matches).replace("\n", Markup("<br>\n")) + Markup("</p>")


@bp.app_template_global()
def comment_version(comment: Comment) -> str:
    return f"{comment.id}:{comment.version}"


@bp.get("/coral")
@role_required(STAFF)
def coral_decisions() -> str:
    """What we answered Coral's external moderation phase, newest first (filters: `decision`
    = publish|hold|reject, `client` = a client's name; unknown values read as absent)."""
    args = request.args
    found = coral.decisions_page(
        outcome=args.get("decision") or None,
        client_name=args.get("client") or None,
        page=args.get("page", 1, type=as_id),
    )
    return render_template(
        "moderation/coral.html",
        found=found,
        outcomes=labels.CORAL_OUTCOMES,
        story_link=coral.story_link,
        reason_text_all=lambda reasons: labels.reasons_text(reasons, technical=_admin()),
        counts=moderation.queue_counts(),
        **_card_context(),
    )


# --- Notices of illegal content (Art. 16 DSA) ------------------------------------------------


@bp.app_template_global()
def running_surges() -> list[Article]:
    """The stories in a surge now: the banner on every staff page."""
    return surges.running()


@bp.post("/articles/<id:article_id>/afflux/fin")
@role_required(STAFF)
def end_surge(article_id: int) -> Response:
    """End a story's surge now (its pre-moderation stops; the comments it held stay for a
    moderator). 303 back."""
    back = _back(url_for("moderation.queue", queue="a-moderer"))
    if surges.end(article_id, current_user):
        flash(_("Afflux terminé : l’article n’est plus pré-modéré."), "success")
    else:
        flash(_("Cet article n’est pas en afflux (la pré-modération a déjà pris fin)."), "error")
    return redirect(back, code=303)


@bp.app_template_global()
def dsa_open_count() -> int:
    """Notices awaiting a decision: the count beside « Signalements (DSA) » in the nav."""
    return notices.open_count()


@bp.get("/dsa")
@role_required(STAFF)
def notices_list() -> str:
    """« Signalements (DSA) »: notices of illegal content, apart from the readers' reports
    (`etat` = a-traiter | traites | tous; an unknown value reads as a-traiter)."""
    which = request.args.get("etat", "a-traiter")
    if which not in labels.NOTICE_FILTERS:
        which = "a-traiter"
    return render_template(
        "moderation/notices.html",
        found=notices.list_notices(which, page=request.args.get("page", 1, type=as_id)),
        which=which,
        notice_counts=notices.counts(),
        filters=labels.NOTICE_FILTERS,
        decisions=labels.NOTICE_DECISIONS,
        notice_category_label=labels.notice_category_label,
        age=formatting.age,
        counts=moderation.queue_counts(),
        **_card_context(),
    )


@bp.get("/reclamations")
@role_required(STAFF)
def complaints() -> str:
    """Authors' complaints against a decision (DSA Art. 20) waiting for an answer, oldest
    first, each with its statement and the contested comment or sanction."""
    return render_template(
        "moderation/complaints.html",
        pending=complaint_service.open_complaints(),
        enabled=complaint_service.enabled(),
        counts=moderation.queue_counts(),
        summary=statements.summary,
        kinds=labels.KIND_LABELS,
        **_card_context(),
    )


@bp.get("/dsa/<id:notice_id>")
@role_required(STAFF)
def notice(notice_id: int) -> str:
    """One notice: what the notifier said, the comment with the model's scores, the decision
    form (or the decision taken)."""
    found = notices.view(notice_id)
    if found is None:
        abort(404, description=_("Cette notification n’existe pas."))
    return render_template(
        "moderation/notice.html",
        view=found,
        decisions=labels.NOTICE_DECISIONS,
        notice_category_label=labels.notice_category_label,
        house_rules=notices.HOUSE_RULES,
        legal_grounds={k: v for k, v in labels.GROUND_LABELS.items() if k != dsa.HOUSE_RULES},
        counts=moderation.queue_counts(),
        **_card_context(),
    )


@bp.post("/dsa/<id:notice_id>/decision")
@role_required(STAFF)
def decide_notice(notice_id: int) -> Response:
    """Decide a notice: `decision` = removed_illegal (`ground`, `explanation`), removed_terms
    (`rule`, `explanation`) or no_action (`explanation`); `version`: the comment's as seen.
    303 back to the notice, with what happened (and whether the notifier could be told)."""
    back = url_for("moderation.notice", notice_id=notice_id)
    try:
        decided = notices.decide(
            notice_id,
            request.form.get("decision", ""),
            current_user,
            ground=request.form.get("ground"),
            explanation=request.form.get("explanation"),
            rule=request.form.get("rule") or None,
            version=request.form.get("version", type=as_count),
        )
    except (moderation.Conflict, moderation.ModerationError, notices.NoticeError) as error:
        flash(error.message, "error")
        return redirect(back, code=303)
    flash(
        _(
            "Notification %(reference)s traitée : %(decision)s.",
            reference=decided.notice.reference,
            decision=labels.NOTICE_DECISIONS[decided.notice.decision or ""],
        ),
        "success",
    )
    if decided.mail_error:
        flash(
            _("Le courriel au notifiant n’a pas pu partir : la décision est enregistrée."),
            "error",
        )
    return redirect(back, code=303)


@bp.post("/reclamations/<id:complaint_id>")
@role_required(STAFF)
def answer_complaint(complaint_id: int) -> Response:
    """Answer a complaint: `outcome` upheld or reversed, `answer` the reasons given to the
    author. 303 back to the list, with what happened (refused when this moderator took the
    decision contested)."""
    try:
        complaint, mailed = complaint_service.answer(
            complaint_id,
            request.form.get("outcome", ""),
            request.form.get("answer", ""),
            current_user,
        )
    except complaint_service.ComplaintError as error:
        flash(error.message, "error")
    else:
        flash(
            _("Réclamation n° %(id)s : décision annulée.", id=complaint.id)
            if complaint.status == "reversed"
            else _("Réclamation n° %(id)s : décision maintenue.", id=complaint.id),
            "success",
        )
        if not mailed:
            flash(
                _("La réponse n’a pas pu être envoyée par courriel : l’auteur la lira sur "
                  "l’exposé des motifs."), "info",
            )  # fmt: skip
    return redirect(url_for("moderation.complaints"), code=303)
