"""Transparency: `flask dsa export` in the EU Transparency Database's format, checked field by
field against its documented enums; the yearly figures in « Réglages › Transparence »."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import dsa
from app.extensions import db
from app.models import DsaStatement, Role, utcnow
from app.services import complaints, readers, settings
from tests.conftest import login, make_user
from tests.moderation.conftest import decide, held

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# StatementsStoreRequest's fields: every key an export may hold.
FIELDS = {
    "decision_visibility", "decision_visibility_other", "decision_account",
    "end_date_account_restriction", "decision_provision", "end_date_service_restriction",
    "decision_ground", "illegal_content_legal_ground", "illegal_content_explanation",
    "incompatible_content_ground", "incompatible_content_explanation",
    "incompatible_content_illegal", "content_type", "category", "territorial_scope",
    "content_language", "content_date", "application_date", "decision_facts", "source_type",
    "automated_detection", "automated_decision", "puid",
}  # fmt: skip
REQUIRED = {"decision_ground", "content_type", "category", "content_date", "application_date",
            "decision_facts", "source_type", "automated_detection", "automated_decision",
            "puid"}  # fmt: skip


@pytest.fixture(autouse=True)
def no_nudge(app):
    settings.set_value("nudge_enabled", False)


@pytest.fixture
def mod(app):
    user = make_user(email="mod@example.fr", display_name="Modo Marie", role=Role.MODERATOR)
    client = app.test_client()
    login(client, user.email)
    return user, client


def _decisions(app, reader, article, mod):
    """A model rejection, a moderator's rejection on a legal ground, a suspension, a ban."""
    user, client = mod
    reader.post(body="Quel connard ce ministre")
    decide(client, held(article, "Quel idiot"), "reject", reason="insultes", ground="injure")
    account = make_user(email="lecteur@example.fr")
    readers.restrict(account.email, "suspend", "Propos répétés", user, days=10,
                     user_id=account.id)  # fmt: skip
    readers.restrict("invite@example.fr", "ban", "Spam", user)


def _check(record: dict) -> None:
    assert set(record) <= FIELDS, set(record) - FIELDS
    assert REQUIRED <= set(record)
    assert any(k in record for k in ("decision_visibility", "decision_account",
                                      "decision_provision"))  # fmt: skip
    for value in record.get("decision_visibility", []):
        assert value in dsa.DECISION_VISIBILITIES
    if "decision_account" in record:
        assert record["decision_account"] in dsa.DECISION_ACCOUNTS
    if "decision_provision" in record:
        assert record["decision_provision"] in dsa.DECISION_PROVISIONS
    assert record["decision_ground"] in dsa.DECISION_GROUNDS
    if record["decision_ground"] == dsa.DECISION_GROUND_ILLEGAL_CONTENT:
        assert record["illegal_content_legal_ground"] and record["illegal_content_explanation"]
        assert "incompatible_content_ground" not in record
    else:
        assert record["incompatible_content_ground"]
        assert record["incompatible_content_explanation"]
        assert record["incompatible_content_illegal"] in (dsa.YES, dsa.NO)
    assert record["content_type"] == ["CONTENT_TYPE_TEXT"]
    assert record["category"] in dsa.STATEMENT_CATEGORIES
    assert set(record["territorial_scope"]) <= set(dsa.TERRITORIAL_SCOPE_EEA)
    assert record["content_language"] == "FR"
    for key in ("content_date", "application_date", "end_date_account_restriction",
                "end_date_service_restriction"):  # fmt: skip
        if key in record:
            assert DATE.match(record[key]), (key, record[key])
    assert record["source_type"] in dsa.SOURCE_TYPES
    assert record["automated_detection"] in ("Yes", "No")
    assert record["automated_decision"] in dsa.AUTOMATED_DECISIONS
    assert 0 < len(record["decision_facts"]) <= 5000
    assert len(record["puid"]) <= 500


def test_dsa_export_writes_the_transparency_databases_body(app, reader, article, mod, tmp_path):
    _decisions(app, reader, article, mod)
    today = utcnow().date().isoformat()
    output = tmp_path / "sor.json"
    result = app.test_cli_runner().invoke(
        args=["dsa", "export", "--from", today, "--to", today, "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(output.read_text(encoding="utf-8"))
    assert list(body) == ["statements"]
    records = body["statements"]
    assert len(records) == 4
    for record in records:
        _check(record)
    model, moderator, suspension, ban = records
    assert (model["automated_detection"], model["automated_decision"]) == (
        "Yes", "AUTOMATED_DECISION_FULLY",
    )  # fmt: skip
    assert model["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert moderator["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert "1881" in moderator["illegal_content_legal_ground"]
    assert moderator["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert suspension["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    expected_end = (utcnow() + timedelta(days=10)).date().isoformat()
    assert suspension["end_date_account_restriction"] == expected_end
    assert ban["decision_provision"] == "DECISION_PROVISION_PARTIAL_TERMINATION"
    # No personal data: neither the authors' addresses nor their names nor their words.
    text = output.read_text(encoding="utf-8")
    for private in ("camille@example.fr", "Camille", "lecteur@example.fr", "invite@example.fr",
                    "Dominique", "Propos répétés", "Spam", "Modo Marie"):  # fmt: skip
        assert private not in text, private
    stored = db.session.scalars(sa.select(DsaStatement.puid).order_by(DsaStatement.id)).all()
    assert [r["puid"] for r in records] == stored


def test_dsa_export_keeps_to_its_days_and_prints_to_stdout(app, reader, article, mod):
    _decisions(app, reader, article, mod)
    old = db.session.scalars(sa.select(DsaStatement).order_by(DsaStatement.id)).first()
    old.created_at = datetime(2025, 3, 1, 12, tzinfo=UTC)
    db.session.commit()
    runner = app.test_cli_runner()
    only_old = runner.invoke(args=["dsa", "export", "--from", "2025-03-01", "--to", "2025-03-01"])
    assert only_old.exit_code == 0
    assert [r["puid"] for r in json.loads(only_old.output)["statements"]] == [old.puid]
    wrong = runner.invoke(args=["dsa", "export", "--from", "2025-03-02", "--to", "2025-03-01"])
    assert wrong.exit_code != 0
    bad = runner.invoke(args=["dsa", "export", "--from", "hier", "--to", "2025-03-01"])
    assert bad.exit_code != 0


def test_the_yearly_figures(app, reader, article, mod):
    settings.set_value("dsa_online_platform", True)
    _decisions(app, reader, article, mod)
    statements = db.session.scalars(sa.select(DsaStatement).order_by(DsaStatement.id)).all()
    for statement, hours in zip(statements, (1, 2, 3, 10), strict=True):
        statement.content_date = statement.created_at - timedelta(hours=hours)
    db.session.commit()
    complaints.lodge(statements[0], "Ce mot visait un personnage de fiction.")
    admin = make_user(email="admin@example.fr", display_name="Admin Alex", role=Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    year = utcnow().year
    page = client.get(f"/admin/transparence?annee={year}").get_data(as_text=True)

    def figure(name: str) -> str:
        return re.search(rf'data-figure="{name}">([^<]+)<', page).group(1).strip()

    assert figure("decisions") == "4"
    assert figure("DECISION_GROUND_ILLEGAL_CONTENT") == "1"
    assert figure("DECISION_GROUND_INCOMPATIBLE_CONTENT") == "3"
    assert figure("DECISION_VISIBILITY_CONTENT_REMOVED") == "2"
    assert figure("automated") == "1 (25,0 %)"
    assert figure("detected") == "2"
    assert figure("complaints") == "1"
    assert figure("complaints-open") == "1"
    assert figure("notices") == "0"  # none received this year
    assert figure("median") == "2,5 h"  # the median of 1, 2, 3 and 10 hours
    assert figure("complaint-median") == "—"  # none answered yet
    empty = client.get(f"/admin/transparence?annee={year - 1}").get_data(as_text=True)
    assert 'data-figure="decisions">0<' in empty
    # Moderators do not see the admins' page.
    assert mod[1].get("/admin/transparence").status_code in (302, 403)
