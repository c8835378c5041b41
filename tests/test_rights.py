"""Readers' data rights (GDPR, issue 14), through HTTP, the CLI and a real SMTP server:
« Mon compte » (download, delete), « Vos données personnelles » for guests (a mailed link),
the staff's reader page, `flask readers export|erase`; and, after each erasure, a search of
every column of every table for the person's address and name."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.actions import AuditAction
from app.extensions import db
from app.models import (
    Article,
    Comment,
    CommentReport,
    CommentStatus,
    DsaComplaint,
    DsaNotice,
    DsaStatement,
    ModerationAction,
    ReaderRestriction,
    Role,
    User,
)
from app.privacy import erased_address
from app.services import audit, readers, warnings
from tests.conftest import ARTICLE_URL, Reader, add_comment, csrf_token, login, make_user
from tests.mailbox import Mailbox

ADDRESS = "zoe.quiberon@exemple.fr"
NAME = "Zoé Quiberon"
PLACEHOLDER = "Commentaire supprimé à la demande de son auteur."
SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
LINK = re.compile(r"http://localhost(/mes-donnees/[\w.-]+)")


def everything_mentioning(*needles: str) -> list[str]:
    """Every (table, column) of the whole database whose value holds one of the needles
    (case-insensitive), JSON columns included."""
    db.session.expire_all()
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                text = (value if isinstance(value, str) else json.dumps(value, default=str)).lower()
                for needle in needles:
                    if needle.lower() in text:
                        found.append(f"{table.name}.{column}: {text[:80]!r}")
    return found


def _moderator() -> User:
    return make_user("modo@example.org", display_name="Modo", role=Role.MODERATOR)


def _sanction(email: str, user_id: int | None, by: User) -> ReaderRestriction:
    readers.restrict(email, "suspend", "Insultes répétées", by, days=7, user_id=user_id)
    db.session.commit()
    restriction = db.session.scalar(
        sa.select(ReaderRestriction).order_by(ReaderRestriction.id.desc())
    )
    assert restriction is not None
    return restriction


def _a_life_of_comments(article: Article, user: User | None, email: str) -> dict[str, Any]:
    """Comments, an answered one among them, a report, a warning, a sanction with its statement
    and a complaint, a notice, and audit rows where the person acted: everything erasure takes."""
    owner = {"user_id": user.id} if user else {"guest_token": "jeton-de-zoe"}
    answered = add_comment(
        article, "Le texte de Zoé auquel Paul répond", author_name=NAME, author_email=email, **owner
    )
    add_comment(article, "Réponse de Paul", author_name="Paul", parent=answered,
                author_email="paul@example.fr")  # fmt: skip
    alone = add_comment(article, "Un autre texte de Zoé", author_name=NAME, author_email=email,
                        **owner)  # fmt: skip
    held = add_comment(article, "Un texte de Zoé retenu", status=CommentStatus.HELD,
                       author_name=NAME, author_email=email, **owner)  # fmt: skip
    others = add_comment(article, "Commentaire de Paul", author_name="Paul",
                         author_email="paul@example.fr")  # fmt: skip
    if user:
        db.session.add(CommentReport(comment_id=others.id, reporter_key=f"user:{user.id}",
                                     reporter_user_id=user.id, reason="insulte",
                                     note=f"Signalé par {NAME}"))  # fmt: skip
    audit.record(AuditAction.SENT_ANYWAY, actor=audit.reader_actor(NAME), comment_id=held.id)
    db.session.add(
        DsaNotice(reference="N-ZOE-1", comment_id=others.id, location="http://localhost/x#c1",
                  explanation="Diffamation", category=SPEECH, notifier_name=NAME,
                  notifier_email=email, good_faith=True)
    )  # fmt: skip
    db.session.commit()
    moderator = _moderator()
    warnings.warn(readers.Reader.of(email, user.id if user else None), "insultes",
                  f"{NAME}, restez courtois.", moderator, comment_id=alone.id)  # fmt: skip
    restriction = _sanction(email, user.id if user else None, moderator)
    statement = db.session.scalar(
        sa.select(DsaStatement).where(DsaStatement.restriction_id == restriction.id)
    )
    assert statement is not None and statement.email == email
    complaint = f"Moi, {NAME}, je conteste."
    db.session.add(DsaComplaint(statement_id=statement.id, explanation=complaint))
    db.session.commit()
    return {"answered": answered.id, "alone": alone.id, "held": held.id, "others": others.id}


# --- A signed-in reader -----------------------------------------------------------------------


def test_a_reader_downloads_everything_held_about_them_from_their_account(
    client: FlaskClient, article: Article
) -> None:
    user = make_user(ADDRESS, display_name=NAME)
    ids = _a_life_of_comments(article, user, ADDRESS)
    login(client, ADDRESS)

    page = client.get("/compte").get_data(as_text=True)
    assert "Mon compte" in page and ADDRESS in page and "Télécharger mes données" in page
    response = client.get("/compte/donnees.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="mes-donnees-')
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    assert data["format"] == "moderation-reader-export" and data["version"] == 1
    assert [a["email"] for a in data["accounts"]] == [ADDRESS]
    texts = {c["id"]: c for c in data["comments"]}
    assert set(texts) == {ids["answered"], ids["alone"], ids["held"]}
    held = texts[ids["held"]]
    assert held["status"] == "held" and held["status_label"] == "à modérer"
    assert texts[ids["alone"]]["story"]["title"] == article.title
    assert [r["comment_id"] for r in data["reports"]] == [ids["others"]]
    [sanction] = data["sanctions"]
    assert sanction["kind"] == "suspend" and sanction["reason"] == "Insultes répétées"
    [warning] = data["warnings"]
    assert warning["message"] == f"{NAME}, restez courtois." and warning["acknowledged_at"] is None
    [notice] = data["notices"]
    assert notice["reference"] == "N-ZOE-1" and notice["email"] == ADDRESS
    [statement] = data["statements"]
    assert statement["complaint"]["text"] == f"Moi, {NAME}, je conteste."
    # Nobody else's data: Paul's comments and address are not in Zoé's file.
    assert "paul@example.fr" not in response.get_data(as_text=True)
    assert "Commentaire de Paul" not in response.get_data(as_text=True)


def test_the_account_pages_need_a_signed_in_reader(client: FlaskClient) -> None:
    assert client.get("/compte").status_code == 302
    assert client.get("/compte/donnees.json").status_code == 302


def test_deleting_an_account_erases_the_person_from_every_table(
    client: FlaskClient, article: Article
) -> None:
    user = make_user(ADDRESS, display_name=NAME)
    ids = _a_life_of_comments(article, user, ADDRESS)
    assert everything_mentioning(ADDRESS, "Quiberon")  # the search finds what is there
    login(client, ADDRESS)

    token = csrf_token(client, "/compte")
    refused = client.post("/compte", data={"csrf_token": token, "password": "motdepasse-solide"})
    assert refused.status_code == 422
    assert "Cochez la case pour confirmer l’effacement." in refused.get_data(as_text=True)
    wrong = client.post("/compte", data={"csrf_token": token, "confirm": "y", "password": "non"})
    assert wrong.status_code == 422 and "Ce mot de passe n’est pas le bon." in wrong.get_data(
        as_text=True
    )
    assert db.session.scalar(sa.select(User).where(User.email == ADDRESS)) is not None

    done = client.post(
        "/compte", data={"csrf_token": token, "confirm": "y", "password": "motdepasse-solide"}
    )
    assert done.status_code == 303
    assert "Votre compte et vos données sont effacés." in client.get(ARTICLE_URL).get_data(
        as_text=True
    )
    assert client.get("/compte").status_code == 302  # the session is over

    assert everything_mentioning(ADDRESS, "Quiberon") == []
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert PLACEHOLDER in page and "Réponse de Paul" in page  # the thread holds
    assert "Un autre texte de Zoé" not in page
    assert db.session.get(Comment, ids["alone"]) is None
    assert db.session.get(Comment, ids["held"]) is None
    # The journal keeps every row: the sanction, under the address's pseudonym; the erasure.
    rows = db.session.scalars(sa.select(ModerationAction)).all()
    pseudonym = erased_address(ADDRESS)
    assert {r.action for r in rows if r.reader_email == pseudonym} >= {
        AuditAction.READER_SUSPEND,
        AuditAction.ERASED,
    }
    [sent_anyway] = [r for r in rows if r.action == AuditAction.SENT_ANYWAY]
    assert sent_anyway.actor == audit.reader_actor("Anonyme")
    # The report still counts, the notice and the statement stay (transparency), nameless.
    report = db.session.scalar(sa.select(CommentReport))
    assert report is not None and report.reporter_user_id is None and report.note is None
    notice = db.session.scalar(sa.select(DsaNotice))
    assert notice is not None and notice.notifier_email is None and notice.notifier_name is None


@pytest.mark.parametrize("config_overrides", [{"ERASED_COMMENTS": "anonymise"}])
def test_a_site_may_keep_an_erased_readers_published_comments_anonymised(
    client: FlaskClient, article: Article
) -> None:
    user = make_user(ADDRESS, display_name=NAME)
    ids = _a_life_of_comments(article, user, ADDRESS)
    login(client, ADDRESS)
    page = client.get("/compte").get_data(as_text=True)
    assert "restent visibles sous le nom «&nbsp;Anonyme&nbsp;»" in page
    token = csrf_token(client, "/compte")
    client.post("/compte", data={"csrf_token": token, "confirm": "y",
                                 "password": "motdepasse-solide"})  # fmt: skip

    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Un autre texte de Zoé" in page and "Anonyme" in page
    assert db.session.get(Comment, ids["held"]) is None  # never published: removed
    assert everything_mentioning(ADDRESS, "Quiberon") == []


def test_a_staff_account_is_not_erased_as_a_reader(client: FlaskClient) -> None:
    make_user(ADDRESS, display_name=NAME, role=Role.MODERATOR)
    login(client, ADDRESS)
    page = client.get("/compte").get_data(as_text=True)
    assert "appartient à l’équipe de modération" in page
    token = csrf_token(client, "/compte")
    client.post("/compte", data={"csrf_token": token, "confirm": "y",
                                 "password": "motdepasse-solide"})  # fmt: skip
    assert db.session.scalar(sa.select(User).where(User.email == ADDRESS)) is not None


# --- A guest, by their address ----------------------------------------------------------------


def _links(mailbox: Mailbox, address: str) -> list[Any]:
    """The data links mailed to an address (a sanction's statement goes there too)."""
    subject = "Vos données personnelles sur nos commentaires"
    return [m for m in mailbox.to(address) if m.subject == subject]


def _ask_link(client: FlaskClient, email: str) -> Any:
    token = csrf_token(client, "/mes-donnees")
    return client.post("/mes-donnees", data={"csrf_token": token, "email": email})


def test_a_guest_gets_a_link_by_mail_then_downloads_and_erases_their_data(
    client: FlaskClient, reader: Reader, article: Article, mailbox: Mailbox
) -> None:
    posted = reader.post("Mon avis d’invitée sur la réforme.", name=NAME, email=ADDRESS)
    assert posted.status_code in (302, 303)
    ids = _a_life_of_comments(article, None, ADDRESS)

    assert "Vos données personnelles" in client.get(ARTICLE_URL).get_data(as_text=True)
    sent = _ask_link(client, ADDRESS)
    assert sent.status_code == 303
    assert "Consultez votre messagerie" in client.get(sent.headers["Location"]).get_data(
        as_text=True
    )
    [message] = _links(mailbox, ADDRESS)
    match = LINK.search(message.body)
    assert match, message.body
    link = match.group(1)

    page = client.get(link)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert '<meta name="referrer" content="no-referrer">' in page.get_data(as_text=True)
    assert ADDRESS in page.get_data(as_text=True)
    data = client.get(f"{link}/donnees.json").get_json()
    assert data["accounts"] == []
    bodies = {c["text"] for c in data["comments"]}
    assert "Mon avis d’invitée sur la réforme." in bodies and "Un texte de Zoé retenu" in bodies
    assert [n["reference"] for n in data["notices"]] == ["N-ZOE-1"]

    token = csrf_token(client, link)
    erased = client.post(link, data={"csrf_token": token, "confirm": "y"})
    assert erased.status_code == 200
    assert "Vos données sont effacées" in erased.get_data(as_text=True)
    assert everything_mentioning(ADDRESS, "Quiberon") == []
    assert db.session.get(Comment, ids["answered"]) is not None  # a placeholder holds Paul's
    again = client.get(link).get_data(as_text=True)
    assert "Nous ne détenons rien sous cette adresse" in again


def test_a_guest_sanction_still_applies_after_the_address_is_erased(
    client: FlaskClient, reader: Reader, article: Article, mailbox: Mailbox
) -> None:
    readers.restrict(ADDRESS, "ban", "Menaces", _moderator())
    db.session.commit()
    _ask_link(client, ADDRESS)
    link = LINK.search(_links(mailbox, ADDRESS)[0].body).group(1)  # type: ignore[union-attr]
    client.post(link, data={"csrf_token": csrf_token(client, link), "confirm": "y"})
    assert everything_mentioning(ADDRESS) == []

    refused = reader.post("Je reviens.", name="Autre nom", email=ADDRESS)
    assert refused.status_code == 403 or "banni" in refused.get_data(as_text=True).lower()
    assert not db.session.scalars(sa.select(Comment).where(Comment.body == "Je reviens.")).all()


def test_the_request_form_names_its_field_and_never_says_what_we_hold(
    client: FlaskClient, mailbox: Mailbox
) -> None:
    bad = _ask_link(client, "pas-une-adresse")
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "adresse" in text.lower() and 'aria-invalid="true"' in text
    unknown = _ask_link(client, "personne@exemple.fr")
    assert unknown.status_code == 303  # the same answer as for an address we know
    [message] = _links(mailbox, "personne@exemple.fr")
    link = LINK.search(message.body).group(1)  # type: ignore[union-attr]
    assert "Nous ne détenons rien" in client.get(link).get_data(as_text=True)


@pytest.mark.parametrize("config_overrides", [{"DATA_REQUEST_RATE_LIMIT": "2 per hour"}])
def test_links_are_rate_limited_per_address_asked_about(
    client: FlaskClient, mailbox: Mailbox
) -> None:
    assert _ask_link(client, ADDRESS).status_code == 303
    assert _ask_link(client, ADDRESS).status_code == 303
    refused = _ask_link(client, ADDRESS)
    assert refused.status_code == 429
    assert "trop de liens" in refused.get_data(as_text=True)
    assert len(_links(mailbox, ADDRESS)) == 2


def test_a_forged_or_expired_link_opens_nothing(app: Flask, client: FlaskClient) -> None:
    forged = client.get("/mes-donnees/eyJlIjoiem9lQGV4ZW1wbGUuZnIifQ.forged.signature")
    assert forged.status_code == 410
    assert "Ce lien n’est pas valide" in forged.get_data(as_text=True)
    assert client.get("/mes-donnees/x/donnees.json").status_code == 410
    from itsdangerous import URLSafeTimedSerializer

    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="reader-data-request")
    import time

    token = old.dumps({"e": ADDRESS})
    app.config["DATA_LINK_HOURS"] = 0  # every link is too old now
    time.sleep(1.1)
    expired = client.get(f"/mes-donnees/{token}")
    assert expired.status_code == 410 and "Ce lien a expiré" in expired.get_data(as_text=True)


# --- Staff --------------------------------------------------------------------------------------


def test_staff_download_a_readers_data_and_only_an_admin_erases_them(
    client: FlaskClient, article: Article
) -> None:
    ids = _a_life_of_comments(article, None, ADDRESS)
    login(client, "modo@example.org")
    page = client.get(f"/moderation/lecteurs?email={ADDRESS}").get_data(as_text=True)
    assert "Télécharger ses données (JSON)" in page and "Effacer ce lecteur" not in page
    data = client.get(f"/moderation/lecteurs/donnees?email={ADDRESS}").get_json()
    assert {c["id"] for c in data["comments"]} == {ids["answered"], ids["alone"], ids["held"]}
    token = csrf_token(client, f"/moderation/lecteurs?email={ADDRESS}")
    forbidden = client.post(
        "/moderation/lecteurs/effacer", data={"csrf_token": token, "email": ADDRESS,
                                               "confirm": ADDRESS}
    )  # fmt: skip
    assert forbidden.status_code == 403

    make_user("admin@example.org", display_name="Admin", role=Role.ADMIN)
    client.post("/compte/deconnexion", data={"csrf_token": token})
    admin = client.application.test_client()
    login(admin, "admin@example.org")
    url = f"/moderation/lecteurs?email={ADDRESS}"
    token = csrf_token(admin, url)
    assert "Effacer ce lecteur" in admin.get(url).get_data(as_text=True)
    form = {"csrf_token": token, "email": ADDRESS}
    mistyped = admin.post("/moderation/lecteurs/effacer", data={**form, "confirm": "autre@x.fr"})
    assert mistyped.status_code == 303
    assert "rien n’a été effacé" in admin.get(url).get_data(as_text=True)
    assert everything_mentioning(ADDRESS)
    done = admin.post("/moderation/lecteurs/effacer", data={**form, "confirm": ADDRESS.upper()})
    assert done.status_code == 303
    assert everything_mentioning(ADDRESS, "Quiberon") == []
    journal = admin.get("/moderation/journal").get_data(as_text=True)
    assert "Lecteur effacé à sa demande (RGPD)" in journal and ADDRESS not in journal


def test_the_cli_exports_and_erases_by_address(app: Flask, article: Article) -> None:
    user = make_user(ADDRESS, display_name=NAME)
    _a_life_of_comments(article, user, ADDRESS)
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["readers", "export", ADDRESS.upper()])
    assert exported.exit_code == 0, exported.output
    data = json.loads(exported.stdout)
    assert [a["email"] for a in data["accounts"]] == [ADDRESS] and len(data["comments"]) == 3

    refused = runner.invoke(args=["readers", "erase", ADDRESS], input="n\n")
    assert refused.exit_code != 0 and everything_mentioning(ADDRESS)
    erased = runner.invoke(args=["readers", "erase", ADDRESS, "--yes"])
    assert erased.exit_code == 0, erased.output
    assert re.search(r"accounts\s+1", erased.output)
    assert everything_mentioning(ADDRESS, "Quiberon") == []
    nothing = runner.invoke(args=["readers", "erase", ADDRESS, "--yes"])
    assert nothing.exit_code == 2 and "Nothing is held" in nothing.output
