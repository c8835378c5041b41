"""Posting a comment: stored first, decided in one place, shown to its author."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Comment, CommentStatus
from tests.conftest import ARTICLE_URL, add_comment, comments_in_db, login, make_user


def test_guest_comment_is_scored_and_published(app, client, reader):
    response = reader.post(body="Très bon article,\nmerci.")
    assert response.status_code == 303
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.PUBLISHED
    assert comment.decided_at is not None and not comment.awaiting_score
    assert response.headers["Location"].endswith(f"{ARTICLE_URL}#c{comment.id}")

    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Merci ! Votre commentaire est publié." in page
    assert "Très bon article,<br>\nmerci." in page
    assert "1 commentaire" in page
    assert "Camille" in page
    public = app.test_client().get(ARTICLE_URL).get_data(as_text=True)
    assert "Très bon article" in public
    assert "camille@example.fr" not in public  # the address is never shown to others


def test_held_comment_is_visible_to_its_author_only(app, client, reader):
    from app.services import settings

    settings.set_value("nudge_enabled", False)
    reader.post(body="Quelle merde, cet article")
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.HELD
    mine = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Quelle merde, cet article" in mine
    assert "En attente de modération — vous seul le voyez" in mine
    other = app.test_client().get(ARTICLE_URL).get_data(as_text=True)
    assert "Quelle merde" not in other
    assert "0 commentaire" in other


def test_published_comments_are_shown_and_counted(client, article):
    add_comment(article, "Premier avis")
    add_comment(article, "Second avis")
    add_comment(article, "Refusé", status=CommentStatus.REJECTED)
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "2 commentaires" in page
    assert "Premier avis" in page and "Second avis" in page
    assert "Refusé" not in page


def test_rejected_comment_shows_its_author_the_reason(client, reader):
    reader.post(body="Texte")
    [comment] = comments_in_db()
    comment.status = CommentStatus.REJECTED
    comment.status_reason = "Refusé : il enfreint nos règles de publication (insultes)."
    db.session.commit()
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Non publié" in page
    assert "il enfreint nos règles de publication (insultes)" in page


def test_signed_in_reader_posts_under_their_display_name(client, reader):
    make_user(email="ines@example.fr", display_name="Inès B.")
    login(client, "ines@example.fr")
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Vous publiez en tant que <strong><bdi>Inès B.</bdi></strong>" in page
    assert 'name="name"' not in page
    response = reader.post(body="Avis d’abonnée", name=None, email=None)
    assert response.status_code == 303
    [comment] = comments_in_db()
    assert comment.author_name == "Inès B."
    assert comment.author_email == "ines@example.fr"
    assert comment.user_id is not None and comment.guest_token is None


def test_comment_text_is_escaped_never_markup(client, article):
    add_comment(article, '<script>alert("x")</script> <b>gras</b> & <a href="x">lien</a>')
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "&lt;b&gt;gras&lt;/b&gt; &amp; &lt;a href=&#34;x&#34;&gt;lien&lt;/a&gt;" in page


def test_paragraphs_and_line_breaks_are_kept(client, article):
    add_comment(article, "Ligne un\nLigne deux\n\nNouveau paragraphe")
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "<p>Ligne un<br>\nLigne deux</p><p>Nouveau paragraphe</p>" in page


def test_same_comment_twice_is_stored_once(client, reader):
    first = reader.post(body="Double clic")
    second = reader.post(body="Double clic")
    assert first.status_code == second.status_code == 303
    [comment] = comments_in_db()
    assert second.headers["Location"].endswith(f"#c{comment.id}")
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Vous avez déjà envoyé ce commentaire" in page


def test_resubmitted_form_with_same_token_is_stored_once(reader):
    reader.post(body="Renvoyé", form_token="jeton-fixe")
    reader.post(body="Renvoyé", form_token="jeton-fixe")
    assert len(comments_in_db()) == 1


def test_same_text_by_another_author_is_a_new_comment(reader):
    reader.post(body="Bien dit", email="a@example.fr")
    reader.post(body="Bien dit", email="b@example.fr")
    assert len(comments_in_db()) == 2


def test_same_text_after_the_window_is_a_new_comment(app, reader):
    reader.post(body="Encore")
    [comment] = comments_in_db()
    comment.created_at = comment.created_at.replace(year=2020)
    db.session.commit()
    reader.post(body="Encore")
    assert len(comments_in_db()) == 2


def test_every_accepted_comment_is_committed_before_it_is_queued(app, reader, monkeypatch):
    """If handing the text to the model fails, the comment already accepted is still stored,
    as pending (the sweep finds it once its claim lapses)."""
    worker = app.extensions["scoring"]

    def broken(*args, **kwargs):
        raise RuntimeError("queue down")

    monkeypatch.setattr(worker, "enqueue", broken)
    monkeypatch.setattr(worker, "score_texts", broken)
    response = reader.post(body="Ne me perdez pas")
    assert response.status_code == 500
    assert "n’est jamais perdu" in response.get_data(as_text=True)
    [comment] = comments_in_db()
    assert comment.body == "Ne me perdez pas"
    assert comment.status == CommentStatus.PENDING and comment.awaiting_score


def test_status_is_stored_as_its_plain_value(app, article):
    # A smoke check that statuses are stored as their plain values (used by indexes and SQL).
    add_comment(article, "x")
    raw = db.session.execute(sa.select(sa.text("status")).select_from(Comment.__table__)).scalar()
    assert raw == "published"


def test_same_text_and_address_from_another_session_never_reveals_the_first(app, reader):
    """Dedup works per session for guests: typing someone's address shows nothing of theirs."""
    from tests.conftest import Reader

    reader.post(body="Mon avis privé", email="victime@example.fr")
    intruder = Reader(app.test_client())
    response = intruder.post(body="Mon avis privé", email="victime@example.fr")
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    first, second = comments_in_db()
    assert first.guest_token != second.guest_token
    assert f"#c{second.id}" in response.headers["Location"]


def test_a_guest_is_remembered_for_the_next_comment(client, reader):
    reader.post(body="Premier", name="Zoé", email="zoe@example.fr")
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert 'name="name" type="text" value="Zoé"' in page
    assert 'name="email" type="email" value="zoe@example.fr"' in page


def test_a_database_outage_is_a_clear_503_and_the_text_is_kept(app, reader, monkeypatch):
    import sqlalchemy as sa

    from app.services import comments as comment_service

    def outage(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(comment_service, "submit_comment", outage)
    response = reader.post("Mon avis, écrit avec soin.")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Le service est momentanément indisponible. Rien n’a été enregistré" in page
    assert "Mon avis, écrit avec soin." in page  # the reader's text, shown back
