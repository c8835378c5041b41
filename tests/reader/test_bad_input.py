"""Bad input: a clear French message next to the field, the text kept, nothing stored."""

from __future__ import annotations

import pytest

from app.extensions import db
from tests.conftest import ARTICLE_URL, POST_URL, comments_in_db


def _error_for(page: str, field: str) -> str:
    start = page.index(f'id="{field}-erreur"')
    return page[start : page.index("</p>", start)]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"body": ""}, "body", "Écrivez votre commentaire avant de l’envoyer."),
        ({"body": "   \n\t  "}, "body", "Écrivez votre commentaire avant de l’envoyer."),
        ({"name": ""}, "name", "Indiquez votre nom"),
        ({"name": "   "}, "name", "Indiquez votre nom"),
        ({"email": ""}, "email", "Indiquez votre adresse de messagerie"),
        ({"email": "pas-une-adresse"}, "email", "Cette adresse de messagerie n’est pas valide"),
        ({"email": "a@b"}, "email", "Cette adresse de messagerie n’est pas valide"),
        ({"body": "Bonjour\x00toi"}, "body", "caractères de contrôle"),
        ({"body": "Cloche\x07"}, "body", "caractères de contrôle"),
        ({"name": "Nom\x1b[31m"}, "name", "caractères de contrôle"),
    ],
)
def test_invalid_fields_are_named_in_french_and_text_kept(reader, fields, field, message):
    values = {"body": "Mon texte à garder", "name": "Camille", "email": "c@example.fr"}
    values.update(fields)
    response = reader.post(**values)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in _error_for(page, field)
    assert 'aria-invalid="true"' in page
    if fields.get("body") is None:
        assert "Mon texte à garder" in page
    assert comments_in_db() == []


def test_comment_over_the_maximum_length(reader):
    text = "é" * 2001
    response = reader.post(body=text)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Votre commentaire compte 2\u202f001 caractères ; le maximum est de 2\u202f000." in page
    assert text in page  # kept for the reader to shorten
    assert comments_in_db() == []
    assert reader.post(body="é" * 2000).status_code == 303


@pytest.mark.parametrize("config_overrides", [{"COMMENT_MAX_LENGTH": 50}])
def test_maximum_length_is_configurable(reader, config_overrides):
    assert reader.post(body="x" * 51).status_code == 422
    assert reader.post(body="x" * 50).status_code == 303


def test_invalid_utf8_is_refused(client):
    token = client.get(ARTICLE_URL).get_data(as_text=True)
    import re

    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', token).group(1)
    raw = b"csrf_token=" + csrf.encode() + b"&name=Camille&email=c%40example.fr&body=caf%E9+cr%E8me"
    response = client.post(POST_URL, data=raw, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422
    assert "caractères illisibles" in response.get_data(as_text=True)
    assert comments_in_db() == []


def test_oversized_request_body_gets_a_french_413(reader):
    response = reader.post(body="x" * 70_000)
    assert response.status_code == 413
    assert "dépasse la taille maximale" in response.get_data(as_text=True)
    assert comments_in_db() == []


def test_unknown_article_refuses_comments(reader):
    response = reader.post(url="/articles/inconnu/commentaires")
    assert response.status_code == 404
    assert "Cet article n’existe pas" in response.get_data(as_text=True)
    assert comments_in_db() == []


def test_closed_article_refuses_comments_and_hides_the_form(client, reader, article):
    article.comments_open = False
    db.session.commit()
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Les commentaires sont fermés pour cet article." in page
    assert 'id="formulaire"' not in page
    response = reader.post(body="Trop tard")
    assert response.status_code == 403
    assert "Les commentaires sont fermés pour cet article." in response.get_data(as_text=True)
    assert comments_in_db() == []


def test_missing_csrf_token_is_refused_text_kept(client):
    response = client.post(
        POST_URL, data={"body": "Sans jeton", "name": "Camille", "email": "c@example.fr"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Votre formulaire a expiré" in page
    assert "Sans jeton" in page
    assert comments_in_db() == []


def test_forged_csrf_token_is_refused(reader):
    response = reader.post(csrf_token="forged")  # overrides the page's token
    assert response.status_code == 400
    assert comments_in_db() == []


def test_get_page_numbers_and_sort_garbage_never_fail(client):
    for query in ("?page=abc", "?page=-4", "?page=0", "?tri=<script>", "?repondre=xyz"):
        assert client.get(ARTICLE_URL + query).status_code == 200
