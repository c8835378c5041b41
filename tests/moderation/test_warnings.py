"""« Avertir » (issue 15): a moderator warns a reader from a card or the reader's page, with a
reason and a message; recorded, in the journal, on the reader's page with its count; mailed;
shown to the reader above the form the next time they come to comment, until « J’ai compris »
(page, embed's API); a guest only in the answer to their own post under the address."""

from __future__ import annotations

import logging
import re

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.actions import AuditAction
from app.config import mail_settings
from app.extensions import db
from app.models import Article, ModerationAction, ReaderWarning, Role, SsoIdentity
from app.services import rights, warnings
from tests.api.test_sso import claims, create_site, exchange, sign
from tests.api.test_stories_api import assert_error, call, post, stream
from tests.conftest import ARTICLE_URL, LiveBrowser, add_comment, login, make_user, simultaneously
from tests.mailbox import Mailbox, free_port
from tests.moderation.conftest import token

ONE_TIME = re.compile(r'name="form_token" value="([^"]+)"')
NOTICE = "Un message de la modération"
MESSAGE = "Vos deux derniers commentaires visaient des personnes, pas des idées. Merci d’y veiller."


def _form_token(client: FlaskClient, url: str) -> str:
    match = ONE_TIME.search(client.get(url).get_data(as_text=True))
    assert match, f"no warning form on {url}"
    return match.group(1)


def _warn_reader(client, *, email=None, compte=None, reason="insultes", message=MESSAGE, **extra):
    page = (
        f"/moderation/lecteurs?compte={compte}" if compte else f"/moderation/lecteurs?email={email}"
    )
    data = {
        "csrf_token": token(client),
        "form_token": _form_token(client, page),
        "reason": reason,
        "message": message,
        **({"compte": str(compte)} if compte else {"email": email or ""}),
        **extra,
    }
    return client.post("/moderation/lecteurs/avertissements", data=data)


def _warnings() -> list[ReaderWarning]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ReaderWarning).order_by(ReaderWarning.id)))


def _journal(action=AuditAction.READER_WARNED) -> list[ModerationAction]:
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(ModerationAction).where(ModerationAction.action == action))
    )


def _acknowledge_form(page: str) -> str:
    match = re.search(r'action="(/articles/[^"]+/avertissements/\d+/compris)"', page)
    assert match, "no « J’ai compris » form"
    return match.group(1)


# --- From the card, to an account -------------------------------------------------------------


def test_a_moderator_warns_an_account_from_the_card_and_the_reader_acknowledges_it(
    app, article, mod_client, moderator, mailbox: Mailbox
):
    zoe = make_user("zoe@example.fr", display_name="Zoé")
    comment = add_comment(article, "Quel imbécile, ce ministre", user_id=zoe.id,
                          author_email="zoe@example.fr", author_name="Zoé")  # fmt: skip
    card_url = f"/moderation/commentaires/{comment.id}"
    card = mod_client.get(card_url).get_data(as_text=True)
    assert "Avertir l’auteur" in card
    sent = mod_client.post(
        f"/moderation/commentaires/{comment.id}/avertir",
        data={"csrf_token": token(mod_client), "form_token": _form_token(mod_client, card_url),
              "reason": "insultes", "message": MESSAGE, "next": card_url},
    )  # fmt: skip
    assert sent.status_code == 303 and sent.headers["Location"].endswith(card_url)
    assert "Avertissement enregistré et envoyé par courriel" in mod_client.get(card_url).get_data(
        as_text=True
    )

    [warning] = _warnings()
    assert (warning.user_id, warning.email, warning.comment_id) == (zoe.id, "zoe@example.fr",
                                                                    comment.id)  # fmt: skip
    assert warning.created_by_id == moderator.id and warning.acknowledged_at is None
    [row] = _journal()
    assert (row.actor, row.reader_email, row.comment_id) == ("Modo Marie", "zoe@example.fr",
                                                             comment.id)  # fmt: skip
    assert row.reason == "Lecteur averti : insultes ou attaques personnelles"
    assert row.note == MESSAGE
    journal = mod_client.get("/moderation/journal").get_data(as_text=True)
    assert "Lecteur averti" in journal

    [mail] = mailbox.to("zoe@example.fr")
    assert mail.envelope_to == ["zoe@example.fr"]
    assert mail.subject == "Un avertissement de la modération"
    assert "Bonjour Zoé," in mail.body and MESSAGE in mail.body
    assert "Motif : insultes ou attaques personnelles" in mail.body

    page = mod_client.get(f"/moderation/lecteurs?compte={zoe.id}").get_data(as_text=True)
    assert "1 avertissement" in page and "1 pas encore lu" in page
    assert MESSAGE in page and "Modo Marie" in page

    reader = app.test_client()
    login(reader, "zoe@example.fr")
    article_page = reader.get(ARTICLE_URL).get_data(as_text=True)
    assert NOTICE in article_page
    assert "Motif : insultes ou attaques personnelles" in article_page and MESSAGE in article_page
    assert article_page.index(NOTICE) < article_page.index('id="formulaire"')  # above the form
    assert "J’ai compris" in article_page
    done = reader.post(
        _acknowledge_form(article_page), data={"csrf_token": token(reader, ARTICLE_URL)}
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("#formulaire")
    again = reader.get(ARTICLE_URL).get_data(as_text=True)
    assert NOTICE not in again
    assert "ce message ne vous sera plus montré" in again
    assert _warnings()[0].acknowledged_at is not None
    page = mod_client.get(f"/moderation/lecteurs?compte={zoe.id}").get_data(as_text=True)
    assert "lu le" in page and "pas encore lu" not in page


def test_the_count_shows_on_the_readers_page_before_a_suspension(app, article, mod_client):
    zoe = make_user("zoe@example.fr", display_name="Zoé")
    for reason in ("insultes", "hors_sujet"):
        assert _warn_reader(mod_client, compte=zoe.id, reason=reason).status_code == 303
    page = mod_client.get(f"/moderation/lecteurs?compte={zoe.id}").get_data(as_text=True)
    assert "2 avertissements" in page and "2 pas encore lus" in page
    assert page.index("2 avertissements") < page.index("Nouvelle sanction")
    assert "hors sujet" in page and "insultes ou attaques personnelles" in page


# --- A guest: only in the answer to their own post ------------------------------------------


def test_a_warned_guest_sees_it_only_after_posting_with_that_address(
    app, article, mod_client, reader, mailbox: Mailbox
):
    assert _warn_reader(mod_client, email="Camille@Example.fr").status_code == 303
    [warning] = _warnings()
    assert (warning.email, warning.user_id) == ("camille@example.fr", None)
    assert len(mailbox.to("camille@example.fr")) == 1

    # A plain visit shows it to no one: anyone may type an address.
    assert NOTICE not in reader.client.get(ARTICLE_URL).get_data(as_text=True)
    stranger = app.test_client()
    assert NOTICE not in stranger.get(ARTICLE_URL).get_data(as_text=True)

    posted = reader.post(body="Je reviens avec un avis mesuré.", email="camille@example.fr")
    assert posted.status_code == 303
    page = reader.client.get(posted.headers["Location"]).get_data(as_text=True)
    assert NOTICE in page
    action = _acknowledge_form(page)

    # Another browser, which never posted under that address, cannot acknowledge it.
    refused = stranger.post(action, data={"csrf_token": token(stranger, ARTICLE_URL)})
    assert refused.status_code == 404
    assert "ne vous est pas adressé" in refused.get_data(as_text=True)
    assert _warnings()[0].acknowledged_at is None

    assert (
        reader.client.post(
            action, data={"csrf_token": token(reader.client, ARTICLE_URL)}
        ).status_code
        == 303
    )
    assert NOTICE not in reader.client.get(ARTICLE_URL).get_data(as_text=True)
    again = reader.post(body="Et un autre avis, tout aussi mesuré.", email="camille@example.fr")
    assert NOTICE not in reader.client.get(again.headers["Location"]).get_data(as_text=True)


def test_a_guest_posting_with_another_address_sees_nothing(app, article, mod_client, reader):
    _warn_reader(mod_client, email="camille@example.fr")
    posted = reader.post(body="Un avis quelconque.", email="dominique@example.fr")
    assert NOTICE not in reader.client.get(posted.headers["Location"]).get_data(as_text=True)


def test_acknowledging_needs_the_csrf_token(app, article, mod_client, reader):
    _warn_reader(mod_client, email="camille@example.fr")
    posted = reader.post(body="Un avis.", email="camille@example.fr")
    action = _acknowledge_form(reader.client.get(posted.headers["Location"]).get_data(as_text=True))
    assert reader.client.post(action).status_code == 400
    assert _warnings()[0].acknowledged_at is None


# --- The embed's API ------------------------------------------------------------------------


def test_a_guest_sees_the_warning_in_the_answer_to_their_post_through_the_api(
    app, client, mod_client
):
    create_site(app)
    made = stream(client)
    assert made.status_code == 200
    story = db.session.get(Article, made.get_json()["story"]["id"])
    _warn_reader(mod_client, email="camille@example.fr")
    [warning] = _warnings()

    answer = post(client, story)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    [shown] = body["warnings"]
    assert shown == {"id": warning.id, "reason": "insultes ou attaques personnelles",
                     "message": MESSAGE, "created_at": shown["created_at"]}  # fmt: skip
    guest_token = body["reader_token"]
    # A plain read, even with that guest's token, does not carry it.
    viewer = stream(client, token=guest_token).get_json()["viewer"]
    assert viewer["warnings"] == []

    url = f"/api/v1/warnings/{warning.id}/acknowledge"
    assert_error(call(client, "POST", url, token="x" * 30), 404, "warning_not_found", "warning_id")
    assert_error(call(client, "POST", url), 404, "warning_not_found", "warning_id")
    assert_error(call(client, "POST", url, token="s.forged"), 401, "invalid_reader_token",
                 "X-Reader-Token")  # fmt: skip
    done = call(client, "POST", url, token=guest_token)
    assert done.status_code == 200 and done.get_json() == {"acknowledged": True}
    assert done.headers["Cache-Control"] == "no-store"
    assert call(client, "POST", url, token=guest_token).status_code == 200  # again: the same
    later = post(client, story, body="Un second avis sur le budget.", token=guest_token)
    assert later.get_json()["warnings"] == []


def test_a_signed_in_reader_of_the_embed_sees_it_on_the_stream(app, client, mod_client):
    secret = create_site(app)
    session = exchange(client, sign(claims(email="bob@example.com"), secret)).get_json()
    reader_token = session["reader_token"]
    user_id = db.session.scalar(sa.select(SsoIdentity.user_id))
    assert _warn_reader(mod_client, compte=user_id).status_code == 303
    [warning] = _warnings()

    viewer = stream(client, token=reader_token).get_json()["viewer"]
    assert viewer["signed_in"] is True
    assert [w["id"] for w in viewer["warnings"]] == [warning.id]
    assert viewer["warnings"][0]["message"] == MESSAGE
    assert "warnings" not in (stream(client).get_json()["viewer"] or {})  # no token: no viewer
    done = call(client, "POST", f"/api/v1/warnings/{warning.id}/acknowledge", token=reader_token)
    assert done.status_code == 200
    assert stream(client, token=reader_token).get_json()["viewer"]["warnings"] == []


# --- Refusals --------------------------------------------------------------------------------


def test_staff_are_not_warned(app, article, mod_client, admin):
    refused = _warn_reader(mod_client, compte=admin.id)
    assert refused.status_code == 303
    page = mod_client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Un membre de l’équipe ne reçoit pas d’avertissement." in page
    _warn_reader(mod_client, email="ADMIN@example.fr")  # a staff address, as a guest
    comment = add_comment(article, "Note de la rédaction", user_id=admin.id,
                          author_email=admin.email)  # fmt: skip
    card_url = f"/moderation/commentaires/{comment.id}"
    mod_client.post(
        f"/moderation/commentaires/{comment.id}/avertir",
        data={"csrf_token": token(mod_client), "reason": "insultes", "message": MESSAGE},
    )
    assert "ne reçoit pas d’avertissement" in mod_client.get(card_url).get_data(as_text=True)
    assert _warnings() == [] and _journal() == []


def test_hostile_input_gets_clear_errors(app, article, mod_client, mailbox: Mailbox):
    cases = [
        ({"message": ""}, "Écrivez le message de l’avertissement."),
        ({"message": "   \n  "}, "Écrivez le message de l’avertissement."),
        ({"message": "x" * 20_000}, "Le message fait plus de 2000 caractères"),
        ({"reason": ""}, "Choisissez le motif de l’avertissement."),
        ({"reason": "<script>"}, "Choisissez le motif de l’avertissement."),
        ({"message": "nul\x00"}, "caractères invalides"),
    ]
    for fields, words in cases:
        response = _warn_reader(mod_client, email="x@example.fr", **fields)
        assert response.status_code == 303, fields
        page = mod_client.get(response.headers["Location"]).get_data(as_text=True)
        assert words in page, fields
    # An unknown account, no reader, an unknown comment, a comment without an address.
    nobody = mod_client.post(
        "/moderation/lecteurs/avertissements",
        data={
            "csrf_token": token(mod_client),
            "compte": "999999",
            "reason": "spam",
            "message": "x",
        },
    )
    assert nobody.status_code == 303
    assert "Indiquez l’adresse du lecteur." in mod_client.get(nobody.headers["Location"]).get_data(
        as_text=True
    )
    for comment_id in ("999999", "0", "-1", "abc"):
        response = mod_client.post(f"/moderation/commentaires/{comment_id}/avertir", data={
            "csrf_token": token(mod_client), "reason": "spam", "message": "x"})  # fmt: skip
        assert response.status_code in (303, 404), comment_id
    erased = add_comment(article, "Ancien", author_email="")
    response = mod_client.post(f"/moderation/commentaires/{erased.id}/avertir", data={
        "csrf_token": token(mod_client), "reason": "spam", "message": "x"})  # fmt: skip
    assert "n’a plus d’auteur à avertir" in mod_client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    bad_token = _warn_reader(mod_client, email="y@example.fr", form_token="<>" * 100)
    assert bad_token.status_code == 303  # a token that is no token of ours: recorded without it
    assert [w.form_token for w in _warnings()] == [None]
    assert len(_journal()) == 1 and len(mailbox.messages) == 1
    for warning_id in ("999999", "0", "abc"):
        assert app.test_client().post(
            f"{ARTICLE_URL}/avertissements/{warning_id}/compris",
            data={"csrf_token": token(app.test_client(), ARTICLE_URL)},
        ).status_code in (400, 404)


def test_the_same_form_sent_twenty_times_at_once_warns_once(
    app, article, moderator, live_server, mailbox: Mailbox
):
    browser = LiveBrowser(live_server)
    fields = browser.form("/compte/connexion")
    browser.request("/compte/connexion", {**fields, "email": moderator.email,
                                          "password": "motdepasse-solide"})  # fmt: skip
    page = "/moderation/lecteurs?email=camille@example.fr"
    html = browser.request(page).text
    form = {
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', html).group(1),
        "form_token": ONE_TIME.search(html).group(1),
        "email": "camille@example.fr",
        "reason": "insultes",
        "message": MESSAGE,
    }
    answers = simultaneously(
        [lambda: browser.clone().request("/moderation/lecteurs/avertissements", form)] * 20
    )
    assert [a.status for a in answers] == [303] * 20
    assert len(_warnings()) == 1
    assert len(_journal()) == 1
    assert len(mailbox.to("camille@example.fr")) == 1


def _dead_mail_server() -> dict[str, object]:
    return mail_settings(f"smtp://127.0.0.1:{free_port()}", sender="", timeout=2)


@pytest.mark.parametrize("config_overrides", [_dead_mail_server()])
def test_a_mail_that_fails_loses_no_warning(app, article, mod_client, caplog):
    with caplog.at_level(logging.WARNING):
        response = _warn_reader(mod_client, email="camille@example.fr")
    assert "camille@example.fr" not in caplog.text  # no address in the log
    assert "mail not sent" in caplog.text
    assert response.status_code == 303
    page = mod_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "le lecteur le verra à son prochain commentaire" in page
    assert len(_warnings()) == 1 and len(_journal()) == 1


# --- Data rights ------------------------------------------------------------------------------


def test_export_lists_warnings_and_erasure_takes_the_address_and_message(app, article, mod_client):
    _warn_reader(mod_client, email="camille@example.fr")
    data = rights.export(rights.of_guest("camille@example.fr"))
    [exported] = data["warnings"]
    assert exported["reason"] == "insultes" and exported["message"] == MESSAGE
    assert exported["reason_label"] == "insultes ou attaques personnelles"
    assert exported["acknowledged_at"] is None
    assert "Modo Marie" not in str(exported)  # nothing of the moderator

    done = rights.erase(rights.of_guest("camille@example.fr"), "admin")
    assert done.counts["warnings"] == 1
    [warning] = _warnings()
    assert warning.email.endswith("@erased.invalid") and MESSAGE not in warning.message
    assert warnings.pending(warnings.Reader.of("camille@example.fr")) == []
    page = mod_client.get("/moderation/lecteurs?email=camille@example.fr").get_data(as_text=True)
    assert "0 avertissement" in page


def test_the_warning_role_is_for_readers_only(app):
    """The role check reads the account's role (a moderator made a reader can be warned)."""
    user = make_user("ex-modo@example.fr", role=Role.MODERATOR)
    user.role = Role.READER
    db.session.commit()
    client = app.test_client()
    make_user("mod2@example.fr", display_name="Modo Deux", role=Role.MODERATOR)
    login(client, "mod2@example.fr")
    assert _warn_reader(client, compte=user.id).status_code == 303
    assert len(_warnings()) == 1
