"""Reply notifications by mail (issue 15): a reader with an account switches them on in « Mon
compte », a guest ticks the form's box and confirms their address by the link mailed to it;
only published replies are mailed (by the sweep, from the outbox the publication wrote), a
burst in one mail, each to one address with a one-click unsubscription (RFC 8058).

The tiny model's scores follow trigger words (tests/conftest.py): « merde » holds,
« connard » is past reject (nudged first: sent anyway, it is rejected); anything else is
published. Mail goes through the real SMTP server on loopback (`mailbox`)."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Comment, CommentStatus, ReplyMail, ReplySubscription, Role, User, utcnow
from app.services import notifications, rights, scoring
from tests.api.test_stories_api import call, post, stream
from tests.api.test_stories_api import site as site  # noqa: F401  (the API's fixture)
from tests.conftest import (
    ARTICLE_URL,
    POST_URL,
    Reader,
    add_comment,
    csrf_token,
    login,
    make_user,
    simultaneously,
)
from tests.mailbox import Mailbox, Received
from tests.moderation.conftest import decide

ALICE = "alice@example.fr"
GUEST = "gaspard@example.fr"
LINK_RE = re.compile(r"http://localhost(/notifications/\S+)")


@pytest.fixture
def config_overrides() -> dict[str, object]:
    return {"REPLY_MAIL_DELAY_MINUTES": 0, "COMMENT_RATE_LIMIT": "1000 per minute"}


def _alice(app, on: bool = True) -> FlaskClient:
    """Alice, signed in, with reply mails switched on (from « Mon compte »)."""
    make_user(ALICE, display_name="Alice")
    client = app.test_client()
    login(client, ALICE)
    if on:
        token = csrf_token(client, "/compte")
        done = client.post("/compte/notifications", data={"csrf_token": token, "reply_mails": "y"})
        assert done.status_code == 303
        page = client.get("/compte").get_data(as_text=True)
        assert "Vous serez prévenu par courriel des réponses" in page
        assert _box_checked(page)
    return client


def _box_checked(page: str) -> bool:
    box = re.search(r'<input[^>]*name="reply_mails"[^>]*>', page)
    assert box, "no reply mails box"
    return " checked" in box.group(0)


def _posted(reader: Reader, body: str, parent_id: int | None = None, **fields) -> Comment:
    response = reader.post(body=body, parent_id=parent_id, **fields)
    assert response.status_code == 303, response.get_data(as_text=True)
    db.session.expire_all()
    return db.session.scalars(sa.select(Comment).order_by(Comment.id.desc())).first()


def _reply(app, parent: Comment, body: str = "Je ne suis pas d’accord, voici pourquoi.",
           name: str = "Bruno", email: str = "bruno@example.fr") -> Comment:  # fmt: skip
    return _posted(Reader(app.test_client()), body, parent.id, name=name, email=email)


def _held_reply(app, parent: Comment, body: str) -> Comment:
    """A reply the model nudges, sent as it is by its author: held for a moderator."""
    client = app.test_client()
    nudged = _posted(Reader(client), body, parent.id, name="Bruno", email="bruno@example.fr")
    assert nudged.status == CommentStatus.NUDGED
    token = csrf_token(client, ARTICLE_URL + f"?commentaire={nudged.id}")
    client.post(f"{POST_URL}/{nudged.id}/envoyer", data={"csrf_token": token})
    db.session.expire_all()
    held = db.session.get(Comment, nudged.id)
    assert held.status == CommentStatus.HELD
    return held


def _moderator(app) -> FlaskClient:
    make_user("modo@example.fr", display_name="Modo", role=Role.MODERATOR)
    client = app.test_client()
    login(client, "modo@example.fr")
    return client


def _sweep() -> None:
    """What the background sweep does every few seconds (its thread may also be at it)."""
    scoring.sweep()


def _mails(mailbox: Mailbox, address: str, count: int) -> list[Received]:
    """The mails to `address`, once `count` arrived (a sweep thread may still be sending)."""
    deadline = time.monotonic() + 5
    while len(mailbox.to(address)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return mailbox.to(address)


def _link(message: Received) -> str:
    match = LINK_RE.search(message.body)
    assert match, message.body
    return match.group(1)


def test_an_account_that_opted_in_gets_one_mail_for_a_published_reply(
    app, article, mailbox: Mailbox
) -> None:
    alice = _alice(app)
    parent = _posted(Reader(alice), "Le budget est mal ficelé.", name=None, email=None)
    assert parent.status == CommentStatus.PUBLISHED and parent.user_id is not None
    reply = _reply(app, parent, "Il est au contraire très prudent, lisez l’annexe.")
    assert reply.status == CommentStatus.PUBLISHED
    _sweep()
    [message] = _mails(mailbox, ALICE, 1)
    assert message.envelope_to == [ALICE] and message.to == ALICE
    assert message.subject.strip() == "Bruno a répondu à votre commentaire"
    assert "Bruno, sur « " + article.title + " »" in message.body
    assert "Il est au contraire très prudent, lisez l’annexe." in message.body
    assert f"http://localhost{ARTICLE_URL}#c{reply.id}" in message.body
    assert "bruno@example.fr" not in str(message.message)  # nobody else's address
    unsubscribe = str(message.message["List-Unsubscribe"]).strip()
    assert re.fullmatch(r"<http://localhost/notifications/desabonner/\S+>", unsubscribe)
    assert message.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.strip("<>") in message.body
    _sweep()  # sent once
    assert len(mailbox.to(ALICE)) == 1
    assert [m.envelope_to for m in mailbox.messages] == [[ALICE]]


def test_off_by_default_and_never_for_ones_own_reply(app, article, mailbox: Mailbox) -> None:
    alice = _alice(app, on=False)
    assert not _box_checked(alice.get("/compte").get_data(as_text=True))
    parent = _posted(Reader(alice), "Un premier avis.", name=None, email=None)
    _reply(app, parent)
    _sweep()
    assert mailbox.to(ALICE) == []

    token = csrf_token(alice, "/compte")
    alice.post("/compte/notifications", data={"csrf_token": token, "reply_mails": "y"})
    own = _posted(Reader(alice), "Je précise ma pensée.", parent.id, name=None, email=None)
    assert own.status == CommentStatus.PUBLISHED
    _sweep()
    assert mailbox.to(ALICE) == []
    assert db.session.scalar(sa.select(sa.func.count(ReplyMail.id))) == 0


def test_a_held_reply_is_mailed_only_once_a_moderator_approves_it(
    app, article, mailbox: Mailbox
) -> None:
    alice = _alice(app)
    parent = _posted(Reader(alice), "Un avis sur le budget.", name=None, email=None)
    held = _held_reply(app, parent, "C’est de la merde, ce budget, et je pèse mes mots.")
    _sweep()
    assert mailbox.to(ALICE) == []

    assert decide(_moderator(app), held, "approve").status_code == 303
    _sweep()
    [message] = _mails(mailbox, ALICE, 1)
    assert "C’est de la merde, ce budget" in message.body


def test_a_rejected_reply_is_never_mailed(app, article, mailbox: Mailbox) -> None:
    alice = _alice(app)
    parent = _posted(Reader(alice), "Un avis sur le budget.", name=None, email=None)
    held = _held_reply(app, parent, "Espèce de connard")
    assert decide(_moderator(app), held, "reject", reason="insultes").status_code == 303
    db.session.expire_all()
    assert db.session.get(Comment, held.id).status == CommentStatus.REJECTED
    _sweep()
    assert mailbox.to(ALICE) == []
    assert db.session.scalar(sa.select(sa.func.count(ReplyMail.id))) == 0


def test_a_reply_hidden_before_the_mail_left_is_not_sent(app, article, mailbox) -> None:
    alice = _alice(app)
    parent = _posted(Reader(alice), "Un avis sur le budget.", name=None, email=None)
    reply = _reply(app, parent)
    db.session.execute(sa.update(Comment).where(Comment.id == reply.id).values(hidden=True))
    db.session.commit()
    notifications.send_due()
    assert mailbox.to(ALICE) == []
    assert db.session.scalar(sa.select(sa.func.count(ReplyMail.id))) == 0


@pytest.mark.parametrize("config_overrides", [{"REPLY_MAIL_DELAY_MINUTES": 5}])
def test_a_burst_of_replies_is_one_mail(app, article, mailbox: Mailbox) -> None:
    alice = _alice(app)
    first = _posted(Reader(alice), "Premier avis.", name=None, email=None)
    second = _posted(Reader(alice), "Second avis.", name=None, email=None)
    for parent, name in ((first, "Bruno"), (first, "Chloé"), (second, "Driss")):
        _reply(app, parent, f"Réponse de {name}, argumentée.", name=name,
               email=f"{name.lower()}@example.fr")  # fmt: skip
    _sweep()
    assert mailbox.to(ALICE) == []  # the first reply waits for others
    assert notifications.send_due(now=utcnow() + timedelta(minutes=6)) == 1
    [message] = _mails(mailbox, ALICE, 1)
    assert message.subject.strip() == "3 nouvelles réponses à vos commentaires"
    for name in ("Bruno", "Chloé", "Driss"):
        assert f"Réponse de {name}, argumentée." in message.body
    assert notifications.send_due(now=utcnow() + timedelta(minutes=12)) == 0


def test_one_click_unsubscribe_needs_no_session_and_stops_the_mails(
    app, article, mailbox: Mailbox
) -> None:
    alice = _alice(app)
    parent = _posted(Reader(alice), "Un avis sur le budget.", name=None, email=None)
    _reply(app, parent)
    _sweep()
    [message] = _mails(mailbox, ALICE, 1)
    path = (
        str(message.message["List-Unsubscribe"])
        .strip()
        .strip("<>")
        .removeprefix("http://localhost")
    )

    stranger = app.test_client()  # no cookie, no CSRF token: the mail client's POST
    page = stranger.get(path)
    assert page.status_code == 200
    assert "Me désabonner" in page.get_data(as_text=True)
    done = stranger.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "Vous êtes désabonné" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(User.reply_mails).where(User.email == ALICE)) is False
    assert stranger.post(path).status_code == 200  # again: nothing changes

    _reply(app, parent, "Une autre réponse, plus tard.")
    _sweep()
    assert len(mailbox.to(ALICE)) == 1


def test_a_guest_confirms_their_address_before_any_reply_mail(
    app, article, mailbox: Mailbox
) -> None:
    guest = Reader(app.test_client())
    form = guest.client.get(ARTICLE_URL).get_data(as_text=True)
    assert 'name="notify_replies"' in form
    response = guest.post(body="Mon avis d’invité.", name="Gaspard", email=GUEST,
                          notify_replies="y")  # fmt: skip
    assert response.status_code == 303
    page = guest.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "confirmez votre adresse" in page
    [confirmation] = _mails(mailbox, GUEST, 1)
    assert confirmation.envelope_to == [GUEST]
    assert confirmation.subject.strip() == "Confirmez votre adresse pour être prévenu des réponses"
    db.session.expire_all()
    parent = db.session.scalars(sa.select(Comment).where(Comment.author_email == GUEST)).one()

    _reply(app, parent, "Une réponse avant la confirmation.")
    _sweep()
    assert len(mailbox.to(GUEST)) == 1  # nothing before confirming

    link = _link(confirmation)
    assert link.startswith("/notifications/confirmer/")
    opened = app.test_client()
    page = opened.get(link)
    assert page.status_code == 200 and "Confirmer mon adresse" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(ReplySubscription.id))) == 0  # a GET: no
    done = opened.post(link, data={"csrf_token": csrf_token(opened, link)})
    assert done.status_code == 200 and "Adresse confirmée" in done.get_data(as_text=True)

    _reply(app, parent, "Une réponse après la confirmation.")
    _sweep()
    mails = _mails(mailbox, GUEST, 2)
    assert len(mails) == 2
    assert "Une réponse après la confirmation." in mails[1].body
    assert "avant la confirmation" not in mails[1].body
    assert mails[1].message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # Ticking the box again: a confirmed address is not asked again (the page says the same).
    again = guest.post(body="Encore un avis.", name="Gaspard", email=GUEST, notify_replies="y")
    assert "confirmez votre adresse" in guest.client.get(again.headers["Location"]).get_data(True)
    assert len(mailbox.to(GUEST)) == 2

    # The guest's one-click unsubscription forgets the address.
    path = (
        str(mails[1].message["List-Unsubscribe"])
        .strip()
        .strip("<>")
        .removeprefix("http://localhost")
    )
    assert app.test_client().post(path).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(ReplySubscription.id))) == 0


@pytest.mark.parametrize(
    "config_overrides",
    [{"REPLY_MAIL_DELAY_MINUTES": 0, "REPLY_CONFIRM_RATE_LIMIT": "2 per hour",
      "COMMENT_RATE_LIMIT": "1000 per minute"}],
)  # fmt: skip
def test_confirmation_mails_are_limited_and_the_answer_does_not_change(
    app, article, mailbox: Mailbox
) -> None:
    guest = Reader(app.test_client())
    for n in range(4):
        response = guest.post(body=f"Avis numéro {n}.", name="Gaspard", email=GUEST,
                              notify_replies="y")  # fmt: skip
        assert response.status_code == 303
        page = guest.client.get(response.headers["Location"]).get_data(as_text=True)
        assert notifications.ASKED in page.replace("&#39;", "'").replace("&#x27;", "'")
    assert len(_mails(mailbox, GUEST, 2)) == 2


@pytest.mark.parametrize(
    "token",
    ["abc", "x" * 500, "eyJlIjoiYUBiLmZyIn0.forged", "%00%ff", "..%2F..%2Fetc"],
)
def test_forged_links_get_a_french_error_not_a_500(app, token: str) -> None:
    client = app.test_client()
    for path in (f"/notifications/desabonner/{token}", f"/notifications/confirmer/{token}"):
        for method in ("GET", "POST"):
            response = client.open(path, method=method)
            text = response.get_data(as_text=True)
            if response.status_code == 400:  # a confirmation is a form: no token, no post
                assert (path, method) == (f"/notifications/confirmer/{token}", "POST")
                assert "Votre formulaire a expiré" in text
            else:
                assert response.status_code in (404, 410), (path, method, response.status_code)
            if response.status_code == 410:
                assert "Ce lien n’est pas valide" in text


def test_an_expired_confirmation_link_says_so(app, monkeypatch) -> None:
    now = time.time
    monkeypatch.setattr(time, "time", lambda: now() - 25 * 3600)  # DATA_LINK_HOURS is 24
    link = notifications.confirm_link(GUEST)
    monkeypatch.undo()
    expired = app.test_client().get(link.removeprefix("http://localhost"))
    assert expired.status_code == 410
    assert "Ce lien a expiré" in expired.get_data(as_text=True)


def test_erasure_removes_the_subscription_and_the_export_shows_it(app, article) -> None:
    token = notifications.confirm_link(GUEST).rsplit("/", 1)[1]
    notifications.confirm(token)
    exported = rights.export(rights.of_guest(GUEST))
    assert exported["reply_notifications"][0]["email"] == GUEST
    assert rights.holds_anything(rights.of_guest(GUEST))
    erased = rights.erase(rights.of_guest(GUEST), rights.self_actor())
    assert erased.counts["reply_subscriptions"] == 1
    assert db.session.scalar(sa.select(sa.func.count(ReplySubscription.id))) == 0

    user = make_user(ALICE, display_name="Alice")
    notifications.set_account(user, True)
    assert rights.export(rights.of_account(user))["accounts"][0]["reply_mails"] is True


def test_a_guest_asks_through_the_readers_api(app, client, site, mailbox: Mailbox) -> None:  # noqa: F811
    response = stream(client)
    story_id = response.get_json()["story"]["id"]
    from app.models import Article

    story = db.session.get(Article, story_id)
    posted = post(client, story, body="Mon avis par l’embed.", name="Gaspard", email=GUEST,
                  notify_replies=True)  # fmt: skip
    assert posted.status_code == 201, posted.get_data(as_text=True)
    [confirmation] = _mails(mailbox, GUEST, 1)
    assert "/notifications/confirmer/" in confirmation.body
    wrong = post(client, story, body="Un autre avis.", notify_replies="oui")
    assert wrong.status_code == 422
    assert wrong.get_json()["error"]["field"] == "notify_replies"

    opened = app.test_client()
    link = _link(confirmation)
    opened.post(link, data={"csrf_token": csrf_token(opened, link)})
    parent_id = posted.get_json()["comment"]["id"]
    answer = call(client, "POST", f"/api/v1/stories/{story.id}/comments",
                  body={"body": "Une réponse par l’API.", "name": "Bruno",
                        "email": "bruno@example.fr", "parent_id": parent_id})  # fmt: skip
    assert answer.status_code == 201 and answer.get_json()["outcome"] == "published"
    _sweep()
    mails = _mails(mailbox, GUEST, 2)
    assert len(mails) == 2 and "Une réponse par l’API." in mails[1].body


def test_the_comment_form_only_offers_the_box_to_guests(app, article) -> None:
    add_comment(article, "Un avis.")
    alice = _alice(app, on=False)
    page = alice.get(ARTICLE_URL).get_data(as_text=True)
    assert 'name="notify_replies"' not in page
    assert "Être prévenu des réponses par courriel" in page


def test_one_link_confirmed_many_times_at_once_subscribes_once(app) -> None:
    link = notifications.confirm_link(GUEST).removeprefix("http://localhost")
    clients = [app.test_client() for _ in range(6)]
    tokens = [csrf_token(c, link) for c in clients]
    answers = simultaneously(
        [
            lambda c=c, t=t: c.post(link, data={"csrf_token": t}).status_code
            for c, t in zip(clients, tokens, strict=True)
        ]
    )
    assert answers == [200] * 6
    db.session.expire_all()
    assert db.session.scalars(sa.select(ReplySubscription.email)).all() == [GUEST]


def test_an_sso_reader_switches_them_on_through_the_api_and_gets_mail_at_the_cms_address(
    app, client, mailbox: Mailbox
) -> None:
    from tests.api.test_sso import claims, create_site, exchange, sign

    secret = create_site(app)
    session = exchange(client, sign(claims(email="bob@example.com"), secret)).get_json()
    story_id = stream(client).get_json()["story"]["id"]
    comments_url = f"/api/v1/stories/{story_id}/comments"
    posted = call(client, "POST", comments_url, token=session["reader_token"],
                  body={"body": "Mon avis d’abonné.", "notify_replies": True})  # fmt: skip
    assert posted.status_code == 201, posted.get_data(as_text=True)
    db.session.expire_all()
    bob = db.session.scalars(sa.select(User).where(User.reply_mails.is_(True))).one()
    assert mailbox.messages == []  # the CMS vouches for the address: nothing to confirm

    answer = call(client, "POST", comments_url,
                  body={"body": "Je vous réponds, Bob.", "name": "Camille",
                        "email": "camille@example.fr",
                        "parent_id": posted.get_json()["comment"]["id"]})  # fmt: skip
    assert answer.get_json()["outcome"] == "published"
    _sweep()
    [message] = _mails(mailbox, "bob@example.com", 1)
    assert message.envelope_to == ["bob@example.com"] and bob.email not in str(message.message)
    assert "Je vous réponds, Bob." in message.body
