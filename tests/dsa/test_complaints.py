"""Complaints (DSA Art. 20): the author contests from the statement's page; another human
answers; reversing republishes the comment or lifts the sanction; the answer is mailed."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Comment,
    CommentStatus,
    ComplaintStatus,
    DsaComplaint,
    DsaStatement,
    ModerationAction,
    ReaderRestriction,
    Role,
)
from app.services import readers, settings
from tests.conftest import ARTICLE_URL, csrf_token, login, make_user
from tests.moderation.conftest import decide


@pytest.fixture
def config_overrides() -> dict[str, str]:
    return {"PUBLIC_URL": "https://journal.example.fr"}


@pytest.fixture(autouse=True)
def platform(app):
    settings.set_value("dsa_online_platform", True)
    settings.set_value("nudge_enabled", False)


def _staff(app, email, name):
    make_user(email=email, display_name=name, role=Role.MODERATOR)
    client = app.test_client()
    login(client, email)
    return client


@pytest.fixture
def marie(app):
    return _staff(app, "marie@example.fr", "Modo Marie")


@pytest.fixture
def paul(app):
    return _staff(app, "paul@example.fr", "Modo Paul")


def _statement() -> DsaStatement:
    db.session.expire_all()
    return db.session.scalars(sa.select(DsaStatement)).one()


def _complain(client, statement, text, key=None):
    page = client.get(f"/motifs/{statement.puid}" + (f"?cle={key}" if key else ""))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    data = {"csrf_token": token.group(1), "explication": text}
    if key:
        data["cle"] = key
    return client.post(f"/motifs/{statement.puid}/reclamation", data=data)


def _answer(client, complaint_id, outcome, text="Après relecture, le propos reste injurieux."):
    return client.post(
        f"/moderation/reclamations/{complaint_id}",
        data={"csrf_token": csrf_token(client, "/moderation/reclamations"), "outcome": outcome,
              "answer": text},
    )  # fmt: skip


def test_the_author_complains_and_another_moderator_reverses_the_decision(
    app, reader, marie, paul, mailbox
):
    reader.post(body="Quel idiot ce ministre, et je le pense.")
    comment = db.session.scalars(sa.select(Comment)).one()
    assert comment.status == CommentStatus.HELD
    decide(marie, comment, "reject", reason="insultes")
    statement = _statement()
    page = reader.client.get(f"/motifs/{statement.puid}").get_data(as_text=True)
    assert "Contester la décision" in page
    # An empty complaint is refused, the field named, nothing stored.
    refused = _complain(reader.client, statement, "")
    assert refused.status_code == 422
    assert 'id="explication-erreur"' in refused.get_data(as_text=True)
    assert db.session.scalars(sa.select(DsaComplaint)).all() == []
    sent = _complain(reader.client, statement, "Je critiquais une politique, pas une personne.")
    assert sent.status_code == 303
    listing = paul.get("/moderation/reclamations").get_data(as_text=True)
    assert "Je critiquais une politique" in listing
    complaint = db.session.scalars(sa.select(DsaComplaint)).one()
    # The moderator who decided may not answer.
    _answer(marie, complaint.id, "reversed")
    db.session.expire_all()
    assert db.session.get(DsaComplaint, complaint.id).status == ComplaintStatus.OPEN
    assert "un autre modérateur" in marie.get("/moderation/reclamations").get_data(as_text=True)
    # Another one reverses it: the comment is published again, audited, the author told.
    mailbox.clear()
    _answer(paul, complaint.id, "reversed", "Vous avez raison : la critique vise une politique.")
    db.session.expire_all()
    assert db.session.get(DsaComplaint, complaint.id).status == ComplaintStatus.REVERSED
    assert db.session.get(Comment, comment.id).status == CommentStatus.PUBLISHED
    assert _statement().reversed_at is not None
    actions = [a.action for a in db.session.scalars(sa.select(ModerationAction))]
    assert "complaint_reversed" in actions and actions[-1] == "approved"
    assert "ce ministre" in reader.client.get(ARTICLE_URL).get_data(as_text=True)
    [mailed] = mailbox.to("camille@example.fr")
    assert "Nous annulons la décision" in mailed.body
    assert "la critique vise une politique" in mailed.body
    answered = reader.client.get(f"/motifs/{statement.puid}").get_data(as_text=True)
    assert "Décision annulée" in answered
    assert "Contester la décision" not in answered


def test_the_models_own_decision_may_be_answered_by_any_moderator(app, reader, marie, mailbox):
    reader.post(body="Quel connard ce ministre")
    statement = _statement()
    [first] = mailbox.to("camille@example.fr")
    key = re.search(r"cle=(\S+)", first.body).group(1)
    stranger = app.test_client()  # the mail's link, in another browser
    assert (
        _complain(stranger, statement, "Ce mot visait un personnage de fiction.", key).status_code
        == 303
    )
    complaint = db.session.scalars(sa.select(DsaComplaint)).one()
    _answer(marie, complaint.id, "upheld")
    db.session.expire_all()
    assert db.session.get(DsaComplaint, complaint.id).status == ComplaintStatus.UPHELD
    assert db.session.scalars(sa.select(Comment)).one().status == CommentStatus.REJECTED
    mailed = mailbox.to("camille@example.fr")[-1]
    assert "Nous maintenons la décision" in mailed.body
    assert "règlement extrajudiciaire" in mailed.body


def test_reversing_a_sanction_lifts_it(app, marie, paul):
    from app.models import User

    account = make_user(email="lecteur@example.fr")
    marie_user = db.session.scalars(sa.select(User).where(User.email == "marie@example.fr")).one()
    restriction = readers.restrict(account.email, "ban", "Insultes répétées", marie_user,
                                   user_id=account.id)  # fmt: skip
    statement = _statement()
    reader = app.test_client()
    login(reader, account.email)
    page = reader.get(f"/motifs/{statement.puid}").get_data(as_text=True)
    assert "Insultes répétées" in page
    _complain(reader, statement, "Je n’ai insulté personne, relisez mes messages.")
    complaint = db.session.scalars(sa.select(DsaComplaint)).one()
    _answer(
        paul, complaint.id, "reversed", "Les messages cités ne justifiaient pas un bannissement."
    )
    db.session.expire_all()
    assert db.session.get(ReaderRestriction, restriction.id).lifted_at is not None
    assert readers.posting_refusal(readers.Reader.of(account.email, account.id)) is None


def test_no_complaint_when_the_site_is_not_an_online_platform(app, reader):
    settings.set_value("dsa_online_platform", False)
    reader.post(body="Quel connard ce ministre")
    statement = _statement()
    page = reader.client.get(f"/motifs/{statement.puid}").get_data(as_text=True)
    assert "Contester la décision" not in page
    assert "règlement extrajudiciaire" in page  # the other ways stay open
    assert _complain_raw(reader.client, statement).status_code == 422


def _complain_raw(client, statement):
    return client.post(
        f"/motifs/{statement.puid}/reclamation",
        data={"csrf_token": csrf_token(client), "explication": "Je conteste cette décision."},
    )


def test_no_complaint_after_six_months(app, reader):
    reader.post(body="Quel connard ce ministre")
    statement = _statement()
    statement.created_at = statement.created_at - timedelta(days=190)
    db.session.commit()
    page = reader.client.get(f"/motifs/{statement.puid}").get_data(as_text=True)
    assert "Contester la décision" not in page
    assert _complain_raw(reader.client, statement).status_code == 422


def test_a_complaint_is_answered_once(app, reader, marie, paul):
    reader.post(body="Quel connard ce ministre")
    statement = _statement()
    _complain(reader.client, statement, "Je conteste cette décision.")
    complaint = db.session.scalars(sa.select(DsaComplaint)).one()
    _answer(marie, complaint.id, "upheld")
    response = _answer(paul, complaint.id, "reversed")
    assert response.status_code == 303
    assert "déjà reçu une réponse" in paul.get("/moderation/reclamations").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(DsaComplaint, complaint.id).status == ComplaintStatus.UPHELD
