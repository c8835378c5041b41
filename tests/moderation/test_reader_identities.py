"""Guests and accounts are different readers, even with the same address: a guest cannot post
with an account's address; history, sanctions and reader pages keep them apart; cards say
which is which."""

from __future__ import annotations

import re

from app.models import CommentStatus
from tests.conftest import Reader, add_comment, comments_in_db, login, make_user
from tests.moderation.conftest import token

ACCOUNT_TAKEN = "Cette adresse appartient à un compte : connectez-vous pour publier avec elle."


def _sanction(client, kind="ban", **who):
    data = {"csrf_token": token(client), "kind": kind, "reason": "Insultes répétées", **who}
    return client.post("/moderation/lecteurs/sanctions", data=data)


def _signed_in(app, email):
    author = Reader(app.test_client())
    login(author.client, email)
    return author


def test_a_guest_cannot_post_with_an_accounts_address(app, reader):
    make_user(email="abonne@example.fr")
    response = reader.post(body="Je me fais passer pour lui", email="Abonne@Example.fr")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'<p class="field__error" id="email-erreur">([^<]*)</p>', page)
    assert error and error.group(1) == ACCOUNT_TAKEN  # next to « Adresse de messagerie »
    assert "Je me fais passer pour lui</textarea>" in page  # the text is kept
    assert comments_in_db() == []


def test_a_ban_of_a_guest_address_never_touches_the_account(app, article, mod_client):
    add_comment(article, "Un vieil avis d’invité", author_email="abonne@example.fr")
    make_user(email="abonne@example.fr")
    assert _sanction(mod_client, email="abonne@example.fr").status_code == 303
    author = _signed_in(app, "abonne@example.fr")
    assert author.post(body="Toujours là", name=None, email=None).status_code == 303


def test_an_accounts_ban_is_on_the_account(app, article, mod_client):
    account = make_user(email="abonne@example.fr")
    response = _sanction(mod_client, email="abonne@example.fr", compte=account.id)
    assert response.headers["Location"].endswith(f"/moderation/lecteurs?compte={account.id}")
    author = _signed_in(app, "abonne@example.fr")
    refused = author.post(body="Encore moi", name=None, email=None)
    assert refused.status_code == 403
    assert "n’est plus autorisé à publier" in refused.get_data(as_text=True)
    guests = mod_client.get("/moderation/lecteurs?email=abonne@example.fr").get_data(as_text=True)
    assert "Aucune sanction en cours." in guests  # the guest address is another reader


def test_histories_and_reader_pages_keep_guests_and_accounts_apart(app, article, mod_client):
    account = make_user(email="abonne@example.fr")
    add_comment(article, "Avis d’invité rejeté", status=CommentStatus.REJECTED,
                author_email="abonne@example.fr")  # fmt: skip
    add_comment(article, "Avis du compte", author_email="abonne@example.fr", user_id=account.id)

    page = mod_client.get("/moderation/file/tous").get_data(as_text=True)
    cards = {c.split('"')[0]: c for c in page.split('data-comment="')[1:]}
    guest_card, account_card = (cards[k] for k in sorted(cards, key=int))
    assert "invité · adresse non vérifiée" in guest_card
    assert "0 publiés, 1 rejetés" in guest_card
    assert "invité · adresse non vérifiée" not in account_card
    assert "1 publiés, 0 rejetés" in account_card
    assert f"/moderation/lecteurs?compte={account.id}" in account_card

    of_account = mod_client.get(f"/moderation/lecteurs?compte={account.id}").get_data(as_text=True)
    assert "Avis du compte" in of_account and "Avis d’invité rejeté" not in of_account
    of_guest = mod_client.get("/moderation/lecteurs?email=abonne@example.fr").get_data(as_text=True)
    assert "Avis d’invité rejeté" in of_guest and "Avis du compte" not in of_guest


def test_cards_in_english_say_guest_unverified(app, article, mod_client):
    add_comment(article, "Un avis d’invité")
    page = mod_client.get("/moderation/file/tous?lang=en").get_data(as_text=True)
    assert "guest · unverified address" in page


def test_an_account_on_pre_moderation_is_held(app, article, mod_client):
    from app.services import settings

    settings.set_value("nudge_enabled", False)
    account = make_user(email="abonne@example.fr")
    _sanction(mod_client, kind="premoderate", email="abonne@example.fr", compte=account.id)
    author = _signed_in(app, "abonne@example.fr")
    author.post(body="Un avis tout à fait correct", name=None, email=None)
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.HELD
    assert [r["code"] for r in comment.reasons] == ["reader_premoderated"]
