"""Statements of reasons (DSA Art. 17): issued with each removal or sanction, in its
transaction; what they say about automation; who may read them; the mail."""

from __future__ import annotations

import logging
import re

import pytest
import sqlalchemy as sa

from app import dsa
from app.extensions import db
from app.models import Comment, CommentStatus, DsaStatement, Role
from app.services import readers
from tests.conftest import ARTICLE_URL, add_comment, login, make_user
from tests.moderation.conftest import decide, held


@pytest.fixture
def config_overrides() -> dict[str, str]:
    return {"PUBLIC_URL": "https://journal.example.fr"}


@pytest.fixture(autouse=True)
def no_nudge(app):
    """The model decides at once (no invitation to reconsider first)."""
    from app.services import settings

    settings.set_value("nudge_enabled", False)


@pytest.fixture
def mod_client(app):
    make_user(email="mod@example.fr", display_name="Modo Marie", role=Role.MODERATOR)
    client = app.test_client()
    login(client, "mod@example.fr")
    return client


def _statements() -> list[DsaStatement]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(DsaStatement).order_by(DsaStatement.id)))


def _only_comment() -> Comment:
    db.session.expire_all()
    return db.session.scalars(sa.select(Comment)).one()


def test_the_models_rejection_is_detected_and_decided_by_automated_means(app, reader):
    reader.post(body="Quel connard ce ministre")
    comment = _only_comment()
    assert comment.status == CommentStatus.REJECTED
    [statement] = _statements()
    assert statement.comment_id == comment.id
    assert statement.decision_visibility == dsa.DECISION_VISIBILITY_CONTENT_REMOVED
    assert statement.automated_detection is True
    assert statement.automated_decision == dsa.AUTOMATED_DECISION_FULLY
    assert statement.source_type == dsa.SOURCE_VOLUNTARY
    assert statement.decision_ground == dsa.DECISION_GROUND_INCOMPATIBLE_CONTENT
    assert statement.decided_by_id is None and statement.decided_by.startswith("modèle")
    assert "refusé automatiquement" in statement.decision_facts
    # The facts name no one: neither the author's name nor their address.
    assert "Camille" not in statement.decision_facts
    assert "camille@example.fr" not in statement.decision_facts


def test_a_comment_published_or_held_gets_no_statement(app, reader):
    reader.post(body="Un avis argumenté.")
    assert _only_comment().status == CommentStatus.PUBLISHED
    assert _statements() == []


def test_a_moderators_rejection_of_a_held_comment_was_detected_automatically_not_decided(
    app, article, mod_client
):
    comment = held(article, "Quel idiot")
    decide(mod_client, comment, "reject", reason="insultes")
    [statement] = _statements()
    assert statement.automated_detection is True
    assert statement.automated_decision == dsa.AUTOMATED_DECISION_NOT_AUTOMATED
    assert statement.decided_by == "Modo Marie" and statement.decided_by_id is not None
    assert statement.category == dsa.STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH
    assert "insultes ou attaques personnelles" in statement.ground_text


def test_a_reported_comment_removed_by_a_moderator_involves_no_automated_means(
    app, article, mod_client
):
    from app.models import CommentReport

    comment = add_comment(article, "Un propos publié puis signalé")
    db.session.add(CommentReport(comment_id=comment.id, reporter_key="user:9", reason="insulte"))
    db.session.commit()
    decide(mod_client, comment, "reject", reason="haine")
    [statement] = _statements()
    assert statement.automated_detection is False
    assert statement.automated_decision == dsa.AUTOMATED_DECISION_NOT_AUTOMATED
    assert "signalé par des lecteurs" in statement.decision_facts


def test_the_moderator_may_name_the_law_instead_of_the_house_rules(app, article, mod_client):
    comment = held(article, "Quel idiot")
    refused = decide(mod_client, comment, "reject", reason="insultes", ground="nimporte")
    assert refused.status_code == 303
    assert _statements() == []
    decide(mod_client, comment, "reject", reason="insultes", ground="injure")
    [statement] = _statements()
    assert statement.decision_ground == dsa.DECISION_GROUND_ILLEGAL_CONTENT
    assert statement.legal_ground == "injure"
    assert "loi du 29 juillet 1881" in statement.ground_text


def test_a_sanction_on_an_account_is_an_account_statement_with_its_end_date(app):
    moderator = make_user(email="m@example.fr", display_name="Modo", role=Role.MODERATOR)
    account = make_user(email="lecteur@example.fr")
    readers.restrict(account.email, "suspend", "Insultes répétées", moderator, days=7,
                     user_id=account.id)  # fmt: skip
    readers.restrict(account.email, "ban", "Récidive", moderator, user_id=account.id)
    suspended, banned = _statements()
    assert suspended.decision_account == dsa.DECISION_ACCOUNT_SUSPENDED
    assert suspended.end_date is not None
    assert banned.decision_account == dsa.DECISION_ACCOUNT_TERMINATED
    assert banned.end_date is None
    assert (banned.automated_detection, banned.automated_decision) == (
        False,
        dsa.AUTOMATED_DECISION_NOT_AUTOMATED,
    )
    assert "Insultes" not in banned.decision_facts  # the moderator's words stay off the export


def test_a_guest_sanction_restricts_the_service_not_an_account(app):
    moderator = make_user(email="m@example.fr", display_name="Modo", role=Role.MODERATOR)
    readers.restrict("invite@example.fr", "premoderate", "Hors sujet", moderator)
    [statement] = _statements()
    assert statement.decision_account is None
    assert statement.decision_visibility == dsa.DECISION_VISIBILITY_OTHER
    assert statement.decision_visibility_other


def test_the_author_sees_why_and_reads_the_statement_another_reader_cannot(app, reader, client):
    reader.post(body="Quel connard ce ministre")
    comment = _only_comment()
    page = reader.client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Pourquoi ?" in page
    why = re.search(r'href="([^"]+/motifs)"', page).group(1)
    response = reader.client.get(why)
    assert response.status_code == 303
    statement_page = reader.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Exposé des motifs" in statement_page
    assert "refusé automatiquement" in statement_page
    assert "règlement extrajudiciaire" in statement_page
    [statement] = _statements()
    other = app.test_client()
    assert other.get(f"/motifs/{statement.puid}").status_code == 404
    assert other.get(why).status_code == 404
    assert other.get(f"/motifs/{statement.puid}?cle=faux").status_code == 404
    assert comment.id == statement.comment_id


def test_the_statement_is_mailed_after_the_commit_with_a_link_that_opens_it(app, reader, mailbox):
    reader.post(body="Quel connard ce ministre")
    [statement] = _statements()
    [received] = mailbox.to("camille@example.fr")
    assert "Exposé des motifs" in received.subject
    assert "refusé automatiquement" in received.body
    assert "règlement extrajudiciaire" in received.body
    link = re.search(r"https://journal\.example\.fr(/motifs/\S+)", received.body).group(1)
    assert statement.puid in link
    stranger = app.test_client()  # no session: the signed link alone opens it
    assert stranger.get(link).status_code == 200
    assert "réclamation" not in received.body.lower() or "six mois" in received.body


def test_no_mail_to_an_sso_placeholder(app, article, mod_client, mailbox):
    comment = held(article, "Quel idiot", author_email="x1@sso.invalid")
    decide(mod_client, comment, "reject", reason="insultes")
    assert len(_statements()) == 1
    assert mailbox.messages == []


def _dead_mail_server() -> dict[str, object]:
    from app.config import mail_settings
    from tests.mailbox import free_port

    return {
        **mail_settings(f"smtp://127.0.0.1:{free_port()}", sender="", timeout=2),
        "PUBLIC_URL": "https://journal.example.fr",
    }


@pytest.mark.parametrize("config_overrides", [_dead_mail_server()])
def test_a_mail_that_fails_loses_nothing(app, article, mod_client, caplog):
    comment = held(article, "Quel idiot")
    with caplog.at_level(logging.WARNING):
        response = decide(mod_client, comment, "reject", reason="insultes")
    assert response.status_code == 303
    assert _only_comment().status == CommentStatus.REJECTED
    assert len(_statements()) == 1
    assert "not mailed" in caplog.text
    assert "dominique@example.fr" not in caplog.text


def test_approving_a_rejected_comment_marks_its_statement_reversed(app, article, mod_client):
    comment = held(article, "Quel idiot")
    decide(mod_client, comment, "reject", reason="insultes")
    db.session.expire_all()
    decide(mod_client, db.session.get(Comment, comment.id), "approve")
    [statement] = _statements()
    assert statement.reversed_at is not None


def test_staff_see_the_statement_on_the_card(app, article, mod_client):
    comment = held(article, "Quel idiot")
    decide(mod_client, comment, "reject", reason="insultes")
    [statement] = _statements()
    page = mod_client.get(f"/moderation/commentaires/{comment.id}").get_data(as_text=True)
    assert statement.puid in page
    assert mod_client.get(f"/motifs/{statement.puid}").status_code == 200


def test_the_reject_form_offers_the_ground(app, article, mod_client):
    held(article, "Quel idiot")
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert 'name="ground"' in page
    assert "Règles du site" in page


def test_a_comment_sent_anyway_and_refused_by_the_thresholds_is_an_automated_decision(app, reader):
    from app.services import settings

    settings.set_value("nudge_enabled", True)
    settings.set_value("nudge_sent_anyway", "thresholds")
    reader.post(body="Quel connard ce ministre")
    comment = _only_comment()
    assert comment.status == CommentStatus.NUDGED
    assert _statements() == []  # an invitation to reconsider restricts nothing
    page = reader.client.get(f"{ARTICLE_URL}?commentaire={comment.id}").get_data(as_text=True)
    reader.client.post(
        f"{ARTICLE_URL}/commentaires/{comment.id}/envoyer",
        data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)},
    )
    assert _only_comment().status == CommentStatus.REJECTED
    [statement] = _statements()
    assert statement.automated_decision == dsa.AUTOMATED_DECISION_FULLY
    assert statement.decided_by == "système"  # not the author, whose move it was
    assert "envoyé tel quel" in statement.decision_facts


def test_a_selection_is_rejected_on_the_ground_chosen_once_for_all(app, article, mod_client):
    from tests.conftest import csrf_token

    first, second = held(article, "Quel idiot"), held(article, "Quel idiot, bis")
    response = mod_client.post(
        "/moderation/decisions",
        data={
            "csrf_token": csrf_token(mod_client, "/moderation/file/a-moderer"),
            "select": [f"{first.id}:{first.version}", f"{second.id}:{second.version}"],
            "action": "reject",
            "reason": "menaces",
            "ground": "menaces",
        },
    )
    assert response.status_code == 303
    statements = _statements()
    assert [s.comment_id for s in statements] == [first.id, second.id]
    assert {s.legal_ground for s in statements} == {"menaces"}
    assert {s.category for s in statements} == {dsa.STATEMENT_CATEGORY_VIOLENCE}
