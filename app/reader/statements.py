"""The author's statement of reasons (DSA Art. 17) and their complaint (Art. 20): views only.

The page opens for the comment's or the sanction's author (signed in, in the guest session
that wrote the comment, or with the signed link of the mail) and for staff; anyone else gets
the same 404 as for a reference that does not exist.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.extensions import db
from app.models import ComplaintStatus, DsaStatement, ReaderRestriction
from app.reader import bp
from app.reader.routes import _article_or_404, _own_comment_or_404
from app.services import complaints, statements

NOT_FOUND = "Cet exposé des motifs n’existe pas, ou il ne vous est pas adressé."


def _readable_or_404(puid: str, key: str | None) -> DsaStatement:
    statement = statements.find(puid)
    user = current_user if current_user.is_authenticated else None
    if statement is None or not statements.readable(
        statement, user=user, guest_token=session.get("guest_token"), given_key=key
    ):
        abort(404, description=NOT_FOUND)
    return statement


def _page(statement: DsaStatement, key: str | None, explanation: str = "",
          error: str | None = None) -> str:  # fmt: skip
    restriction = (
        db.session.get(ReaderRestriction, statement.restriction_id)
        if statement.restriction_id
        else None
    )
    return render_template(
        "reader/statement.html",
        statement=statement,
        s=statements.summary(statement),
        restriction=restriction,
        complaint=statements.complaint_of(statement),
        may_complain=complaints.may_complain(statement),
        deadline=complaints.deadline(statement),
        key=key,
        explanation=explanation,
        error=error,
        statuses=ComplaintStatus,
        out_of_court=statements.OUT_OF_COURT,
        judicial=statements.JUDICIAL,
        low_high=complaints.EXPLANATION_LENGTH,
    )


@bp.get("/motifs/<puid>")
def statement(puid: str) -> str:
    """The statement of reasons, its complaint and answer, and the complaint form while the
    author may still complain. 200; 404 for anyone but its author and staff."""
    key = request.args.get("cle") or None
    return _page(_readable_or_404(puid, key), key)


@bp.post("/motifs/<puid>/reclamation")
def complain(puid: str) -> Response | tuple[str, int]:
    """The author contests the decision. 303 back to the statement; 422 with the field named
    (`explication`) when the text is missing or too long, or complaints are closed; 404 as
    the page."""
    key = request.form.get("cle") or None
    statement = _readable_or_404(puid, key)
    text = request.form.get("explication", "")
    try:
        complaints.lodge(statement, text)
    except complaints.ComplaintError as error:
        return _page(statement, key, explanation=text, error=error.message), 422
    flash(
        "Votre réclamation est enregistrée : un modérateur autre que celui qui a pris la "
        "décision va l’examiner. Sa réponse s’affichera sur cette page.",
        "success",
    )
    return redirect(url_for("reader.statement", puid=puid, cle=key), code=303)


@bp.get("/articles/<slug>/commentaires/<id:comment_id>/motifs")
def comment_statement(slug: str, comment_id: int) -> Response:
    """« Pourquoi ? » on the author's own rejected comment: 303 to its statement of reasons;
    404 when the comment is not theirs or has none."""
    article = _article_or_404(slug)
    comment = _own_comment_or_404(article, comment_id)
    found = statements.latest_for_comment(comment.id)
    if found is None or not statements.readable(
        found,
        user=current_user if current_user.is_authenticated else None,
        guest_token=session.get("guest_token"),
        given_key=None,
    ):
        abort(404, description=NOT_FOUND)
    return redirect(url_for("reader.statement", puid=found.puid), code=303)
