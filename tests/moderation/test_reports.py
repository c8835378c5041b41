"""Readers' « Signaler »: one report per reader per comment; at the threshold, « Signalés »."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Comment, CommentReport
from app.services import settings
from tests.conftest import ARTICLE_URL, CSRF_RE, Reader, add_comment, login, make_user
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


def _reports_from_readers(app, comment, count):
    for i in range(count):
        _report(Reader(app.test_client()).client, comment, "insulte", f"lecteur {i}")


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
