"""Retention: `flask retention run` erases what is past its period, and only that, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.actions import AuditAction
from app.extensions import db
from app.models import (
    Comment,
    CommentRevision,
    CommentScore,
    CommentStatus,
    MaintenanceRun,
    ModerationAction,
    ReaderRestriction,
    Role,
    utcnow,
)
from app.privacy import erased_address
from app.services import audit, readers, retention
from app.services import scoring as scoring_service
from tests.conftest import ARTICLE_URL, add_comment, login, make_user
from tests.moderation.conftest import decide

DAY = timedelta(days=1)


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["retention", "run", *args])


def _counts(output: str) -> dict[str, int]:
    """The CLI's table: {kind: count}."""
    counts = {}
    for line in output.splitlines()[1:]:
        parts = line.split()
        if parts and parts[0] in retention.KINDS:
            counts[parts[0]] = int(parts[-1])
    return counts


def _snapshot():
    db.session.expire_all()
    comments = [
        (c.id, c.author_email, c.body, c.status, c.text_erased_at is not None)
        for c in db.session.scalars(select(Comment).order_by(Comment.id))
    ]
    sanctions = list(
        db.session.execute(
            select(ReaderRestriction.id, ReaderRestriction.email).order_by(ReaderRestriction.id)
        )
    )
    journal = list(
        db.session.execute(
            select(
                ModerationAction.id, ModerationAction.reader_email, ModerationAction.action
            ).order_by(ModerationAction.id)
        )
    )
    return comments, sanctions, journal


@pytest.fixture
def config_overrides(request):
    return getattr(request, "param", {})


@pytest.fixture
def moderator(app):
    return make_user(email="mod@example.fr", display_name="Modo Marie", role=Role.MODERATOR)


def _sanction(moderator, email, kind="ban", ended_days_ago=None, days=None):
    """A guest's sanction, lifted `ended_days_ago` days ago (None: in force)."""
    restriction = readers.restrict(email, kind, "Insultes répétées", moderator, days=days)
    if ended_days_ago is not None:
        readers.lift(restriction.id, moderator, "Fin de la sanction")
        db.session.execute(
            update(ReaderRestriction)
            .where(ReaderRestriction.id == restriction.id)
            .values(lifted_at=utcnow() - ended_days_ago * DAY)
        )
        db.session.commit()
    return restriction


def test_a_run_erases_what_is_past_its_period_and_a_second_run_changes_nothing(
    app, article, moderator
):
    now = utcnow()
    account = make_user(email="abonne@example.fr", display_name="Abonnée")
    old_guest = add_comment(article, "Vieux commentaire", author_email="ancien@example.fr",
                            created_at=now - 400 * DAY)  # fmt: skip
    new_guest = add_comment(article, "Récent", author_email="recent@example.fr",
                            created_at=now - 10 * DAY)  # fmt: skip
    old_account = add_comment(article, "D’une abonnée", author_email=account.email,
                              user_id=account.id, created_at=now - 400 * DAY)  # fmt: skip
    rejected = add_comment(article, "Texte injurieux ]]> & co", status=CommentStatus.REJECTED,
                           author_email="injure@example.fr", created_at=now - 100 * DAY,
                           decided_at=now - 95 * DAY, status_reason="Refusé : insultes.",
                           reasons=[{"code": "category_reject", "category": "insult"}],
                           word_matches=[{"kind": "banned", "entry": "injur", "start": 6,
                                          "end": 11}])  # fmt: skip
    db.session.add(CommentScore(comment_id=rejected.id, scores={"insult": 0.97},
                                max_score=0.97, model_name="m", model_version="v"))  # fmt: skip
    audit.record(AuditAction.SCORED, actor="modèle", comment_id=rejected.id,
                 from_status="pending", to_status="rejected")  # fmt: skip
    db.session.commit()
    recent_rejected = add_comment(article, "Rejeté hier", status=CommentStatus.REJECTED,
                                  created_at=now - 2 * DAY, decided_at=now - DAY)  # fmt: skip
    old_held = add_comment(article, "En attente depuis longtemps", status=CommentStatus.HELD,
                           created_at=now - 200 * DAY)  # fmt: skip
    gone = _sanction(moderator, "banni@example.fr", ended_days_ago=400)
    in_force = _sanction(moderator, "toujours@example.fr")
    lately = _sanction(moderator, "leve@example.fr", ended_days_ago=10)
    # a suspension over by itself (never lifted) a year ago
    suspended = _sanction(moderator, "suspendu@example.fr", kind="suspend", days=7)
    db.session.execute(
        update(ReaderRestriction)
        .where(ReaderRestriction.id == suspended.id)
        .values(until=utcnow() - 400 * DAY)
    )
    db.session.commit()
    # one sanction long over, another on the same address in force: the address stays
    _sanction(moderator, "recidive@example.fr", ended_days_ago=400)
    _sanction(moderator, "recidive@example.fr", kind="premoderate")

    dry = _cli(app, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would be erased" in dry.output
    before = _snapshot()
    assert _counts(dry.output) == {
        "guest_addresses": 1,  # a year old; the rejected one's address is 100 days old
        "rejected_texts": 1,
        "restriction_addresses": 2,  # the lifted ban's, the ended suspension's
        "warning_addresses": 0,
        "perspective_analyses": 0,
        "perspective_feedback_texts": 0,
        "coral_texts": 0,
    }
    assert _snapshot() == before  # a dry run changes nothing

    result = _cli(app)
    assert result.exit_code == 0, result.output
    assert _counts(result.output) == _counts(dry.output)
    assert "IP addresses: none in the database" in result.output

    db.session.expire_all()
    get = lambda c: db.session.get(Comment, c.id)  # noqa: E731
    assert get(old_guest).author_email == "" and get(old_guest).body == "Vieux commentaire"
    assert get(new_guest).author_email == "recent@example.fr"
    assert get(old_account).author_email == account.email  # an account's: kept
    erased = get(rejected)
    assert (erased.body, erased.status, erased.word_matches) == ("", "rejected", None)
    assert erased.text_erased_at is not None and erased.author_email == "injure@example.fr"
    assert erased.status_reason == "Refusé : insultes." and erased.reasons  # the decision stays
    assert db.session.get(CommentScore, rejected.id).scores == {"insult": 0.97}
    assert db.session.scalar(
        select(ModerationAction.action).where(ModerationAction.comment_id == rejected.id)
    ) == AuditAction.SCORED  # fmt: skip
    assert get(recent_rejected).body == "Rejeté hier"
    assert get(old_held).body == "En attente depuis longtemps"

    emails = {r.id: r.email for r in db.session.scalars(select(ReaderRestriction))}
    assert emails[gone.id] == erased_address("banni@example.fr")
    assert emails[gone.id].endswith("@erased.invalid") and "banni" not in emails[gone.id]
    assert emails[suspended.id] == erased_address("suspendu@example.fr")
    assert emails[in_force.id] == "toujours@example.fr"
    assert emails[lately.id] == "leve@example.fr"
    assert (
        sorted(e for e in emails.values() if e.startswith("recidive"))
        == ["recidive@example.fr"] * 2
    )
    journal = list(db.session.scalars(select(ModerationAction.reader_email)))
    assert "banni@example.fr" not in journal
    assert journal.count(erased_address("banni@example.fr")) == 2  # the ban, and its lifting
    assert "suspendu@example.fr" not in journal
    assert journal.count(erased_address("suspendu@example.fr")) == 1
    assert "leve@example.fr" in journal and "toujours@example.fr" in journal
    assert db.session.scalar(select(MaintenanceRun.last_result))["rejected_texts"] == 1

    after = _snapshot()
    again = _cli(app)
    assert again.exit_code == 0, again.output
    assert set(_counts(again.output).values()) == {0}
    assert _snapshot() == after  # idempotent


def _warned(moderator, email, days_ago):
    from app.models import ReaderWarning
    from app.services import warnings

    warned = warnings.warn(
        readers.Reader.of(email, None), "insultes", "Restez courtois, s’il vous plaît.", moderator
    )
    db.session.execute(
        update(ReaderWarning)
        .where(ReaderWarning.id == warned.warning.id)
        .values(created_at=utcnow() - days_ago * DAY)
    )
    db.session.commit()
    return warned.warning.id


def test_a_guest_warning_address_goes_once_its_period_is_over(app, moderator):
    """« Avertir »: a guest's address on year-old warnings is pseudonymised (on the warnings
    and their journal rows); a recent warning, or a sanction in force, keeps it."""
    from app.models import ReaderWarning

    old = _warned(moderator, "ancien@example.fr", 400)
    recent = _warned(moderator, "recent@example.fr", 10)
    both = [_warned(moderator, "mixte@example.fr", 400), _warned(moderator, "mixte@example.fr", 5)]
    held = _warned(moderator, "sanctionne@example.fr", 400)
    _sanction(moderator, "sanctionne@example.fr", kind="premoderate")
    result = _cli(app)
    assert result.exit_code == 0, result.output
    assert _counts(result.output)["warning_addresses"] == 1
    db.session.expire_all()
    email = {w.id: w.email for w in db.session.scalars(select(ReaderWarning))}
    assert email[old] == erased_address("ancien@example.fr")
    assert email[recent] == "recent@example.fr" and email[held] == "sanctionne@example.fr"
    assert {email[i] for i in both} == {"mixte@example.fr"}
    journal = list(db.session.scalars(select(ModerationAction.reader_email)))
    assert "ancien@example.fr" not in journal and erased_address("ancien@example.fr") in journal
    assert _counts(_cli(app).output)["warning_addresses"] == 0  # idempotent


def test_a_moderator_sees_the_erased_text_and_cannot_publish_it(app, article, moderator):
    now = utcnow()
    comment = add_comment(article, "Propos haineux", status=CommentStatus.REJECTED,
                          author_email="x@example.fr", created_at=now - 400 * DAY,
                          decided_at=now - 91 * DAY, guest_token="jeton-invite")  # fmt: skip
    author = app.test_client()
    with author.session_transaction() as session:
        session["guest_token"] = "jeton-invite"
    assert "Propos haineux" in author.get(ARTICLE_URL).get_data(as_text=True)  # theirs only
    client = app.test_client()
    login(client, moderator.email)
    before = client.get(f"/moderation/commentaires/{comment.id}").get_data(as_text=True)
    assert "Propos haineux" in before and 'value="approve"' in before
    assert _cli(app).exit_code == 0
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    page = client.get(f"/moderation/commentaires/{comment.id}").get_data(as_text=True)
    assert "Propos haineux" not in page and "x@example.fr" not in page
    assert "au terme de sa durée de conservation" in page
    assert "adresse effacée" in page
    assert 'value="approve"' not in page  # no « Approuver » on the card
    refused = decide(client, comment, "approve")  # the version the moderator saw: refused
    assert refused.status_code == 303
    shown = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "ne peut plus être publié" in shown
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status == CommentStatus.REJECTED
    assert "Propos haineux" not in app.test_client().get(ARTICLE_URL).get_data(as_text=True)
    own = author.get(ARTICLE_URL).get_data(as_text=True)
    assert "Propos haineux" not in own
    assert "Texte effacé au terme de sa durée de conservation." in own


def test_an_edited_rejected_comment_loses_its_earlier_texts_too(app, article):
    now = utcnow()
    comment = add_comment(article, "Texte refusé", status=CommentStatus.REJECTED,
                          author_email="x@example.fr", created_at=now - 100 * DAY,
                          decided_at=now - 91 * DAY, edited_at=now - 100 * DAY)  # fmt: skip
    db.session.add(CommentRevision(comment_id=comment.id, body="Premier texte injurieux",
                                   status="published", written_at=now - 100 * DAY))  # fmt: skip
    db.session.commit()
    assert _counts(_cli(app).output)["rejected_texts"] == 1
    db.session.expire_all()
    assert db.session.scalars(select(CommentRevision)).all() == []


@pytest.mark.parametrize(
    "config_overrides",
    [{"GUEST_EMAIL_RETENTION_DAYS": 0, "REJECTED_TEXT_RETENTION_DAYS": 0}],
    indirect=True,
)
def test_a_period_of_zero_keeps_forever(app, article):
    old = utcnow() - 3000 * DAY
    add_comment(article, "Très ancien", status=CommentStatus.REJECTED, created_at=old,
                decided_at=old, author_email="vieux@example.fr")  # fmt: skip
    result = _cli(app)
    assert result.exit_code == 0, result.output
    counts = _counts(result.output)
    assert counts["guest_addresses"] == counts["rejected_texts"] == 0
    assert "keep" in result.output
    db.session.expire_all()
    [comment] = db.session.scalars(select(Comment))
    assert (comment.body, comment.author_email) == ("Très ancien", "vieux@example.fr")


def test_one_run_at_a_time(app, article):
    add_comment(article, author_email="ancien@example.fr", created_at=utcnow() - 400 * DAY)
    db.session.add(MaintenanceRun(name=retention.JOB, holder="other",
                                  held_until=utcnow() + timedelta(minutes=30)))  # fmt: skip
    db.session.commit()
    busy = _cli(app)
    assert busy.exit_code == 1
    assert "Another retention run is in progress" in busy.output
    assert db.session.scalar(select(Comment.author_email)) == "ancien@example.fr"
    # its holder died: once the lease lapsed, a run goes ahead
    db.session.execute(update(MaintenanceRun).values(held_until=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert _cli(app).exit_code == 0
    db.session.expire_all()
    assert db.session.scalar(select(Comment.author_email)) == ""


def test_the_sweep_starts_a_run_when_the_last_one_is_a_day_old(app, monkeypatch):
    """The sweep runs every few seconds in every process: it looks whether a run is due at
    most every PURGE_EVERY, and a run starts when the last finished RETENTION_INTERVAL_HOURS
    ago (Perspective's and Coral's purges are part of it)."""
    runs: list[str] = []
    monkeypatch.setattr(
        retention, "KINDS", {"coral_texts": lambda now, dry: runs.append("run") or 0}
    )
    scoring_service.sweep()
    scoring_service.sweep()
    assert runs == ["run"]
    app.extensions["retention_sweep"]["at"] -= scoring_service.PURGE_EVERY.total_seconds()
    scoring_service.sweep()
    assert runs == ["run"]  # looked, but the last run is recent
    db.session.execute(
        update(MaintenanceRun).values(last_finished_at=utcnow() - timedelta(hours=25))
    )
    db.session.commit()
    app.extensions["retention_sweep"]["at"] -= scoring_service.PURGE_EVERY.total_seconds()
    scoring_service.sweep()
    assert runs == ["run", "run"]
