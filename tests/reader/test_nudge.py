"""The nudge: a borderline comment makes its author reconsider before it is sent."""

from __future__ import annotations

import re

import pytest

from app.models import CommentStatus
from app.services import settings
from tests.conftest import ARTICLE_URL, CSRF_RE, comments_in_db


def _nudge_page(client, reader, body="Quel idiot ce ministre"):
    response = reader.post(body=body)
    assert response.status_code == 303
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.NUDGED
    assert response.headers["Location"].endswith(
        f"{ARTICLE_URL}?commentaire={comment.id}#formulaire"
    )
    return comment, client.get(response.headers["Location"]).get_data(as_text=True)


def test_borderline_comment_is_not_published_and_the_author_is_told_kindly(app, client, reader):
    comment, page = _nudge_page(client, reader)
    assert "Avant d’envoyer votre commentaire…" in page
    assert "il semble contenir des insultes" in page
    assert "Quel idiot ce ministre</textarea>" in page  # ready to be revised
    assert "Envoyer tel quel" in page
    other = app.test_client().get(ARTICLE_URL).get_data(as_text=True)
    assert "Quel idiot" not in other


def _post(client, url, page, **data):
    token = CSRF_RE.search(page).group(1)
    return client.post(url, data={"csrf_token": token, **data})


def test_sent_anyway_it_is_held_for_a_moderator(client, reader):
    comment, page = _nudge_page(client, reader)
    url = f"{ARTICLE_URL}/commentaires/{comment.id}/envoyer"
    response = _post(client, url, page)
    assert response.status_code == 303
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.HELD and comment.nudge_acknowledged
    codes = [r["code"] for r in comment.reasons]
    assert codes == ["nudge_ignored", "category_hold"]
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "En attente de modération" in page


REVIEWED = "il sera relu par un modérateur avant toute publication (seul un terme interdit"
BY_THRESHOLDS = "sauf s’il enfreint nettement nos règles"


def _send_anyway(client, comment, page):
    response = _post(client, f"{ARTICLE_URL}/commentaires/{comment.id}/envoyer", page)
    assert response.status_code == 303
    [comment] = comments_in_db()
    return comment, client.get(response.headers["Location"]).get_data(as_text=True)


def test_sent_anyway_past_a_reject_threshold_it_is_held_as_the_nudge_promises(client, reader):
    comment, page = _nudge_page(client, reader, body="Espèce de connard")
    assert REVIEWED in page and BY_THRESHOLDS not in page
    assert "Il sera relu par un modérateur avant toute publication" in page  # by the button
    comment, page = _send_anyway(client, comment, page)
    assert comment.status == CommentStatus.HELD
    assert [r["code"] for r in comment.reasons] == [
        "nudge_ignored", "category_reject", "category_reject"]  # fmt: skip
    assert "en attente de modération" in page


def test_refused_by_thresholds_the_nudge_says_so_and_sent_anyway_it_is_rejected(client, reader):
    settings.set_value("nudge_sent_anyway", "thresholds")
    comment, page = _nudge_page(client, reader, body="Espèce de connard")
    assert BY_THRESHOLDS in page and REVIEWED not in page
    comment, page = _send_anyway(client, comment, page)
    assert comment.status == CommentStatus.REJECTED
    assert "Refusé : il enfreint nos règles de publication" in page


def test_refused_by_thresholds_under_them_sent_anyway_is_still_held(client, reader):
    settings.set_value("nudge_sent_anyway", "thresholds")
    comment, page = _send_anyway(client, *_nudge_page(client, reader))
    assert comment.status == CommentStatus.HELD
    assert "en attente de modération" in page


@pytest.mark.parametrize("mode", ["moderator", "thresholds"])
def test_sent_anyway_a_banned_word_rejects_in_both_modes(client, reader, mode):
    settings.set_value("nudge_sent_anyway", mode)
    comment, page = _nudge_page(client, reader)
    assert "terme interdit" in page  # the nudge says so, in both modes
    settings.set_value("banned_words", ["ministre"])  # added while the author was reading
    comment, page = _send_anyway(client, comment, page)
    assert comment.status == CommentStatus.REJECTED
    assert {"code": "banned_word", "detail": "ministre"} in comment.reasons
    assert comment.word_matches  # highlighted on the card, as for any decided comment
    assert "Refusé : il contient un terme interdit par nos règles de publication." in page


def test_sent_anyway_a_reader_on_premoderation_is_said_so(app, client, reader):
    from app.models import Role
    from app.services import readers
    from tests.conftest import make_user

    comment, page = _nudge_page(client, reader)
    chef = make_user(email="chef@example.fr", role=Role.MODERATOR)
    readers.restrict("camille@example.fr", "premoderate", "À surveiller", by=chef)
    comment, _ = _send_anyway(client, comment, page)
    codes = [r["code"] for r in comment.reasons]
    assert comment.status == CommentStatus.HELD
    assert codes == ["nudge_ignored", "reader_premoderated", "category_hold"]


def test_revised_comment_is_checked_again_and_published(client, reader):
    comment, page = _nudge_page(client, reader)
    url = f"{ARTICLE_URL}/commentaires/{comment.id}/reviser"
    response = _post(client, url, page, body="Je ne suis pas d’accord avec ce ministre.")
    assert response.status_code == 303
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.PUBLISHED
    assert comment.body == "Je ne suis pas d’accord avec ce ministre."


def test_revision_still_borderline_is_nudged_again(client, reader):
    comment, page = _nudge_page(client, reader)
    _post(client, f"{ARTICLE_URL}/commentaires/{comment.id}/reviser", page, body="Un idiot.")
    assert comments_in_db()[0].status == CommentStatus.NUDGED


def test_empty_revision_is_refused_in_french(client, reader):
    comment, page = _nudge_page(client, reader)
    response = _post(client, f"{ARTICLE_URL}/commentaires/{comment.id}/reviser", page, body=" ")
    assert response.status_code == 422
    assert "Écrivez votre commentaire avant de l’envoyer." in response.get_data(as_text=True)
    assert comments_in_db()[0].status == CommentStatus.NUDGED


def test_only_the_author_may_answer_the_nudge(app, client, reader):
    comment, page = _nudge_page(client, reader)
    stranger = app.test_client()
    stranger_page = stranger.get(ARTICLE_URL).get_data(as_text=True)
    response = _post(stranger, f"{ARTICLE_URL}/commentaires/{comment.id}/envoyer", stranger_page)
    assert response.status_code == 404
    assert comments_in_db()[0].status == CommentStatus.NUDGED


def test_answering_twice_is_refused_clearly(client, reader):
    comment, page = _nudge_page(client, reader)
    url = f"{ARTICLE_URL}/commentaires/{comment.id}/envoyer"
    _post(client, url, page)
    again = client.get(_post(client, url, page).headers["Location"]).get_data(as_text=True)
    assert "Ce commentaire n’attend plus votre réponse." in again


def test_nudges_can_be_turned_off(app, reader):
    settings.set_value("nudge_enabled", False)
    reader.post(body="Quel idiot ce ministre")
    assert comments_in_db()[0].status == CommentStatus.HELD


def test_unanswered_nudge_goes_to_the_moderators(app, client, reader):
    from datetime import timedelta

    from app.extensions import db
    from app.models import utcnow
    from app.services import scoring

    comment, _ = _nudge_page(client, reader)
    comment.decided_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    scoring.sweep()
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.HELD
    assert re.search("nudge", str(comment.reasons))
    from app.models import ModerationAction

    last = db.session.query(ModerationAction).order_by(ModerationAction.id.desc()).first()
    assert (last.action, last.from_status, last.to_status) == ("nudge_expired", "nudged", "held")
