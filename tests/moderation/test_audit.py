"""The audit trail: every transition, automatic or human, append-only; journal and CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest

from app.extensions import db
from app.models import ModerationAction
from app.services import settings
from tests.conftest import comments_in_db
from tests.moderation.conftest import decide


def _trail(comment_id):
    rows = db.session.query(ModerationAction).filter_by(comment_id=comment_id)
    return [(r.action, r.actor, r.from_status, r.to_status) for r in rows.order_by("id")]


def test_every_transition_of_a_comment_is_recorded(app, reader, mod_client):
    settings.set_value("nudge_enabled", False)
    reader.post(body="Quel idiot ce ministre")
    [comment] = comments_in_db()
    decide(mod_client, comment, "approve")
    comment = comments_in_db()[0]
    decide(mod_client, comment, "reject", reason="insultes")
    trail = _trail(comment.id)
    assert trail[0] == ("submitted", "lecteur Camille", None, "pending")
    assert trail[1][0] == "scored" and trail[1][1].startswith("modèle detoxify-")
    assert trail[1][2:] == ("pending", "held")
    assert trail[2] == ("approved", "Modo Marie", "held", "published")
    assert trail[3] == ("rejected", "Modo Marie", "published", "rejected")
    page = mod_client.get(f"/moderation/commentaires/{comment.id}").get_data(as_text=True)
    assert "insultes : score 0,70 ≥ seuil de modération 0,50" in page  # why, in words


def test_the_trail_is_append_only(app, reader):
    reader.post(body="Bonjour")
    row = db.session.query(ModerationAction).first()
    row.note = "réécrit"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.query(ModerationAction).first())
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()


def test_journal_filters_and_exports_csv(app, reader, mod_client):
    reader.post(body="Bonjour à tous")
    [comment] = comments_in_db()
    page = mod_client.get("/moderation/journal").get_data(as_text=True)
    assert "Envoyé" in page and "Noté par le modèle" in page
    only = mod_client.get("/moderation/journal?action=submitted").get_data(as_text=True)
    assert "Noté par le modèle</td>" not in only
    response = mod_client.get(f"/moderation/journal?format=csv&commentaire={comment.id}")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["scored", "submitted"]
    assert rows[1]["actor"] == "lecteur Camille" and rows[1]["comment_id"] == str(comment.id)


def test_journal_rejects_a_bad_date_clearly(app, mod_client):
    page = mod_client.get("/moderation/journal?du=hier").get_data(as_text=True)
    assert "Date invalide : hier (format AAAA-MM-JJ)." in page


def test_sanctions_are_in_the_journal(app, mod_client):
    from tests.moderation.conftest import token

    mod_client.post(
        "/moderation/lecteurs/sanctions",
        data={
            "csrf_token": token(mod_client),
            "email": "x@example.fr",
            "kind": "ban",
            "reason": "spam",
        },  # fmt: skip
    )
    row = db.session.query(ModerationAction).filter_by(action="reader_ban").one()
    assert (row.reader_email, row.actor, row.note) == ("x@example.fr", "Modo Marie", "spam")


def test_the_journal_filter_offers_every_action_with_its_words(app, mod_client):
    from app.actions import AuditAction

    page = mod_client.get("/moderation/journal").get_data(as_text=True)
    select = page.split('<select name="action">')[1].split("</select>")[0]
    offered = dict(re.findall(r'<option value="(\w+)" >([^<]+)</option>', select))
    assert set(offered) == set(AuditAction)
    assert offered["sent_anyway"] == "Envoyé malgré l’invitation"
    assert all(words != code for code, words in offered.items())
