"""Readers' « Signaler »: one report per reader per comment; at the threshold, « Signalés »."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Comment, CommentReport
from app.services import settings
from tests.conftest import ARTICLE_URL, CSRF_RE, add_comment, login, make_user
from tests.moderation.conftest import card_ids, decide


def _report(client, comment, reason="insulte", note=""):
    url = f"{ARTICLE_URL}/commentaires/{comment.id}/signaler"
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": CSRF_RE.search(page).group(1), "note": note}
    if reason:
        data["reason"] = reason
    return client.post(url, data=data)


def test_every_published_comment_offers_signaler(client, article):
    comment = add_comment(article, "Bonjour")
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert f'href="/articles/raqqa-al-mayadeen/commentaires/{comment.id}/signaler"' in page
    form = client.get(f"{ARTICLE_URL}/commentaires/{comment.id}/signaler").get_data(as_text=True)
    for label in ("Insulte", "Haine", "Menace", "Spam", "Hors sujet", "Autre"):
        assert f"> {label}</label>" in form


def test_a_report_is_stored_once_per_reader(app, client, article):
    comment = add_comment(article, "Bonjour")
    first = _report(client, comment, "spam", "publicité déguisée")
    assert first.status_code == 303
    page = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Merci : votre signalement a été transmis" in page
    again = _report(client, comment, "haine")
    assert "Vous avez déjà signalé ce commentaire." in client.get(
        again.headers["Location"]
    ).get_data(as_text=True)
    [report] = db.session.query(CommentReport).all()
    assert (report.reason, report.note) == ("spam", "publicité déguisée")


def test_a_signed_in_reader_reports_once_whatever_the_session(app, article):
    comment = add_comment(article, "Bonjour")
    make_user(email="r@example.fr")
    for _ in range(2):
        client = app.test_client()
        login(client, "r@example.fr")
        _report(client, comment)
    assert db.session.query(CommentReport).count() == 1


def test_report_needs_a_reason(client, article):
    comment = add_comment(article, "Bonjour")
    response = _report(client, comment, reason=None)
    assert response.status_code == 422
    assert "Choisissez la raison du signalement." in response.get_data(as_text=True)


def test_only_published_comments_can_be_reported(client, article):
    from app.models import CommentStatus

    comment = add_comment(article, "Tenu", status=CommentStatus.HELD)
    assert client.get(f"{ARTICLE_URL}/commentaires/{comment.id}/signaler").status_code == 404


def test_a_comment_held_after_its_report_form_was_shown_is_not_reported(client, article):
    """The form was served while the comment was published; a moderator held it meanwhile."""
    from app.models import CommentStatus

    comment = add_comment(article, "Bientôt tenu")
    url = f"{ARTICLE_URL}/commentaires/{comment.id}/signaler"
    csrf = CSRF_RE.search(client.get(url).get_data(as_text=True)).group(1)
    comment.status = CommentStatus.HELD
    db.session.commit()
    response = client.post(url, data={"csrf_token": csrf, "reason": "insulte", "note": ""})
    assert response.status_code == 404
    assert "Ce commentaire n’existe pas ou n’est pas publié." in response.get_data(as_text=True)
    assert db.session.scalars(sa.select(CommentReport)).all() == []


def _reports_from_readers(app, comment, count):
    """Reports from signed-in readers who have a comment published: each counts for one."""
    for i in range(count):
        user = make_user(email=f"lecteur-{uuid.uuid4().hex[:8]}@example.fr")
        add_comment(comment.article, f"Un avis publié {i}", user_id=user.id)
        client = app.test_client()
        login(client, user.email)
        _report(client, comment, "insulte", f"lecteur {i}")


def test_at_the_threshold_the_comment_goes_to_signales(app, article, client, mod_client):
    comment = add_comment(article, "Limite")
    _reports_from_readers(app, comment, 2)
    assert card_ids(mod_client.get("/moderation/file/signales").get_data(as_text=True)) == []
    _reports_from_readers(app, comment, 1)
    page = mod_client.get("/moderation/file/signales").get_data(as_text=True)
    assert card_ids(page) == [comment.id]
    assert "lecteur 0" in page and "lecteur 1" in page  # the reports and their notes
    assert "Limite" in client.get(ARTICLE_URL).get_data(as_text=True)  # not hidden by default


@pytest.mark.parametrize("hide", [True])
def test_reported_comment_can_be_hidden_until_a_moderator_decides(app, article, client,
                                                                  mod_client, hide):  # fmt: skip
    settings.set_value("reports_hide", hide)
    settings.set_value("reports_threshold", 2)
    comment = add_comment(article, "Limite")
    _reports_from_readers(app, comment, 2)
    assert "Limite" not in client.get(ARTICLE_URL).get_data(as_text=True)
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    decide(mod_client, comment, "approve")
    assert "Limite" in client.get(ARTICLE_URL).get_data(as_text=True)
    assert card_ids(mod_client.get("/moderation/file/signales").get_data(as_text=True)) == []


def _cookieless_reports(app, comment, count):
    """Reports from throw-away sessions: a new browser, no history, for each."""
    return [_report(app.test_client(), comment, "insulte") for _ in range(count)]


def test_three_cookieless_requests_can_no_longer_hide_a_comment(app, article, client,
                                                                mod_client):  # fmt: skip
    settings.set_value("reports_hide", True)
    comment = add_comment(article, "Un avis qui dérange")
    assert [r.status_code for r in _cookieless_reports(app, comment, 3)] == [303] * 3
    assert "Un avis qui dérange" in client.get(ARTICLE_URL).get_data(as_text=True)
    assert card_ids(mod_client.get("/moderation/file/signales").get_data(as_text=True)) == []
    # Each counted for a quarter; readers with a history of published comments count in full.
    _reports_from_readers(app, comment, 3)
    assert "Un avis qui dérange" not in client.get(ARTICLE_URL).get_data(as_text=True)


def test_a_new_account_counts_for_half(app, article, mod_client):
    comment = add_comment(article, "Limite")
    for i in range(6):
        make_user(email=f"nouveau{i}@example.fr")
        reporter = app.test_client()
        login(reporter, f"nouveau{i}@example.fr")
        _report(reporter, comment)
        flagged = card_ids(mod_client.get("/moderation/file/signales").get_data(as_text=True))
        assert flagged == ([comment.id] if i == 5 else [])


def test_reports_are_limited_per_session(app, article, client):
    targets = [add_comment(article, f"Avis {i}") for i in range(6)]
    answers = [_report(client, target) for target in targets]
    assert [a.status_code for a in answers] == [303] * 5 + [429]
    page = answers[-1].get_data(as_text=True)
    assert "Vous avez envoyé trop de signalements en peu de temps." in page
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert db.session.query(CommentReport).count() == 5
    again = _report(client, targets[0])  # already reported: told so, costs nothing
    assert again.status_code in (303, 429)


def test_reports_are_limited_per_address(app, article):
    comment = add_comment(article, "Cible")
    answers = _cookieless_reports(app, comment, 21)
    assert [a.status_code for a in answers] == [303] * 20 + [429]
    assert db.session.query(CommentReport).count() == 20


def test_a_burst_of_reports_is_shown_to_moderators(app, article, mod_client):
    calm = add_comment(article, "Calme")
    target = add_comment(article, "Visé")
    _cookieless_reports(app, calm, 2)
    _cookieless_reports(app, target, 3)  # not enough weight to flag it, but all at once
    page = mod_client.get("/moderation/file/tous").get_data(as_text=True)
    cards = page.split('data-comment="')
    burst = [c.split('"')[0] for c in cards[1:] if "rafale de signalements" in c.split("</h2>")[0]]
    assert burst == [str(target.id)]
    english = mod_client.get("/moderation/file/tous?lang=en").get_data(as_text=True)
    assert "burst of reports" in english
