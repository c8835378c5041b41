"""Privacy: no personal data in logs or public answers; names that cannot pass for others."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import CommentStatus, Role
from tests.conftest import (
    ARTICLE_URL,
    add_comment,
    comments_in_db,
    csrf_token,
    login,
    make_user,
)

ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9"}  # a visitor, not this machine


def _error_for(page: str, field: str) -> str:
    start = page.index(f'id="{field}-erreur"')
    return page[start : page.index("</p>", start)]


# --- Logs ------------------------------------------------------------------------------------


def test_a_database_outage_logs_no_comment_name_address_or_token(
    app, client, reader, caplog, monkeypatch
):
    from app.services import comments as comment_service

    client.get(ARTICLE_URL)
    with client.session_transaction() as session:
        session["guest_token"] = "jeton-secret-du-lecteur"

    def outage(article, author, body, **kwargs):
        # What SQLAlchemy raises when the server goes away mid-INSERT: the statement and its
        # parameters are part of the error's text.
        params = {"body": body, "author_name": author.name, "author_email": author.email,
                  "guest_token": author.guest_token}  # fmt: skip
        raise sa.exc.OperationalError("INSERT INTO comment ...", params, Exception("gone"))

    monkeypatch.setattr(comment_service, "submit_comment", outage)
    with caplog.at_level(logging.INFO):
        response = reader.post("Mon avis très personnel", name="Séraphine", email="sera@example.fr")
    assert response.status_code == 503
    assert "database unavailable on POST" in caplog.text
    assert "OperationalError" in caplog.text
    for secret in ("Mon avis très personnel", "Séraphine", "sera@example.fr", "jeton-secret"):
        assert secret not in caplog.text


def test_database_errors_never_show_the_statement_s_values(app):
    with pytest.raises(sa.exc.DBAPIError) as raised:
        db.session.execute(
            sa.text("SELECT no_such_column WHERE :email = :email"), {"email": "lea@example.fr"}
        )
    db.session.rollback()
    assert "lea@example.fr" not in str(raised.value)


# --- /healthz --------------------------------------------------------------------------------


def test_healthz_tells_the_public_the_state_alone(app, client):
    response = client.get("/healthz", environ_base=ELSEWHERE)
    assert response.status_code == 200
    assert response.json == {"status": "ok", "model": response.json["model"]}
    assert response.json["model"] in ("ready", "loading", "not_loaded")
    assert "ckpt" not in response.get_data(as_text=True)  # no model path, no error text


def test_healthz_details_are_for_staff_and_this_machine(app, client):
    local = client.get("/healthz")  # the test client's address is 127.0.0.1
    assert local.json["database"]["ok"] is True
    assert "tiny-words.ckpt" in local.json["scoring"]["model"]["name"]
    make_user(email="modo@example.fr", role=Role.MODERATOR)
    login(client, "modo@example.fr")
    staff = client.get("/healthz", environ_base=ELSEWHERE)
    assert staff.json["scoring"]["model"]["name"] == local.json["scoring"]["model"]["name"]


# --- Names -----------------------------------------------------------------------------------

BIDI_NAME = "Modo\u202eeiraM"  # shows as « ModoMarie » reversed: an impersonation
ZALGO_NAME = "Z" + "\u0336\u0301\u0300\u0302" * 3 + "orro"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (BIDI_NAME, "Le nom contient des caractères invisibles qui inversent le sens du texte"),
        ("Alex\u2067", "Le nom contient des caractères invisibles qui inversent le sens du texte"),
        ("Ali\u200f", "Le nom contient des caractères invisibles qui inversent le sens du texte"),
        (ZALGO_NAME, "Le nom empile trop de signes diacritiques sur une même lettre"),
    ],
)
def test_a_guest_name_that_could_impersonate_is_refused(reader, name, message):
    response = reader.post(body="Mon avis", name=name)
    assert response.status_code == 422
    assert message in _error_for(response.get_data(as_text=True), "name")
    assert comments_in_db() == []


@pytest.mark.parametrize("name", ["Nguyễn Thị", "Nguye\u0302\u0303n", "محمد", "Zoë"])
def test_names_in_any_script_with_their_accents_are_accepted(reader, name):
    assert reader.post(body="Mon avis", name=name).status_code == 303


def test_sign_up_refuses_a_name_with_direction_controls(client):
    response = client.post(
        "/compte/inscription",
        data={"csrf_token": csrf_token(client, "/compte/inscription"),
              "display_name": BIDI_NAME, "email": "x@example.fr",
              "password": "motdepasse-solide", "confirm": "motdepasse-solide"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "inversent le sens du texte" in _error_for(
        response.get_data(as_text=True), "display_name"
    )


def test_the_users_command_refuses_a_name_with_direction_controls(app):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "chef@example.fr", "--name", BIDI_NAME,
              "--password", "motdepasse-solide"]
    )  # fmt: skip
    assert result.exit_code != 0
    assert "inversent le sens du texte" in result.output


def test_names_are_isolated_on_the_moderation_card(app, client, article):
    comment = add_comment(article, "Quel idiot", status=CommentStatus.HELD, author_name="سارا")
    make_user(email="modo@example.fr", role=Role.MODERATOR)
    login(client, "modo@example.fr")
    page = client.get(f"/moderation/commentaires/{comment.id}").get_data(as_text=True)
    assert "<bdi>سارا</bdi>" in page
    queue = client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert "<bdi>سارا</bdi>" in queue


def test_names_are_isolated_on_the_article_page(app, client, article):
    add_comment(article, "Bien vu", author_name="سارا")
    assert "<bdi>سارا</bdi>" in client.get(ARTICLE_URL).get_data(as_text=True)


REDACTION_SCRIPT = """
import sys
import sqlalchemy as sa
from app import create_app
from app.config import testing_config

app = create_app(testing_config(sys.argv[1], sys.argv[2]))
detail = Exception('duplicate key value violates unique constraint "uq_users_email"\\n'
                   'DETAIL:  Key (email)=(lea.secret@example.fr) already exists.')
try:
    raise sa.exc.IntegrityError("INSERT INTO users ...", {}, detail)
except sa.exc.IntegrityError:
    app.logger.exception("unhandled error for lea.secret@example.fr")
"""


def test_no_log_line_carries_an_address_even_in_a_traceback(tmp_path):
    """What PostgreSQL repeats of a violated key (DETAIL), and any address in an exception's
    text or a message, are masked by the formatter of every handler, in a real process."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", REDACTION_SCRIPT, f"sqlite:///{tmp_path}/t.db", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "IntegrityError" in result.stderr and "Traceback" in result.stderr
    assert "lea.secret" not in result.stderr
    assert "DETAIL: [masqué]" in result.stderr and "[adresse]" in result.stderr
