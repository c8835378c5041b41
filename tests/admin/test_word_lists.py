"""Word lists: saved from the admin page, import/export as text, their effect, and the
matched words highlighted on the moderator's card."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import CommentStatus, SettingChange
from app.services import settings
from tests.admin.conftest import post_form
from tests.conftest import comments_in_db
from tests.moderation.conftest import mod_client, moderator  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _no_nudge(app):
    settings.set_value("nudge_enabled", False)


def test_lists_are_imported_from_text_and_exported(app, admin_client):
    response = post_form(admin_client, "/admin/mots", {
        "banned_words": "# insultes graves\nconnard\n\nConnard\nsale race\n",
        "suspect_words": "idiot\n", "allowed_words": "con carne\n", "action": "enregistrer",
    })  # fmt: skip
    assert response.status_code == 303
    assert settings.get("banned_words") == ["connard", "sale race"]
    assert settings.get("suspect_words") == ["idiot"]
    exported = admin_client.get("/admin/mots/banned_words.txt")
    assert exported.mimetype == "text/plain"
    assert "attachment" in exported.headers["Content-Disposition"]
    lines = [x for x in exported.get_data(as_text=True).splitlines() if not x.startswith("#")]
    assert [x for x in lines if x] == ["connard", "sale race"]
    assert db.session.query(SettingChange).filter_by(key="banned_words").count() == 1


def test_banned_words_reject_and_suspect_words_hold(app, reader):
    settings.set_value("banned_words", ["ordure"])
    settings.set_value("suspect_words", ["guignol"])
    reader.post(body="Quelle 0rdur3 ce type", email="a@example.fr")
    reader.post(body="Un vrai G U I G N O L", email="b@example.fr")
    reader.post(body="Les ordinateurs et le guignolet", email="c@example.fr")
    first, second, third = comments_in_db()
    assert first.status == CommentStatus.REJECTED
    assert first.reasons[0] == {"code": "banned_word", "detail": "ordure"}
    assert "terme interdit" in first.status_reason
    assert second.status == CommentStatus.HELD
    assert second.reasons[0] == {"code": "suspect_word", "detail": "guignol"}
    assert third.status == CommentStatus.PUBLISHED  # innocent words are not caught


def test_matched_words_are_highlighted_on_the_card(app, reader, mod_client):  # noqa: F811
    settings.set_value("suspect_words", ["guignol"])
    reader.post(body="<b>Quel</b> guignol !")
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert '&lt;b&gt;Quel&lt;/b&gt; <mark class="match match--suspect"' in page
    assert ">guignol</mark>" in page
    assert "Mot suspect : « guignol »." in page


def test_word_list_simulation(app, admin_client, reader):
    reader.post(body="Quel guignol", email="a@example.fr")
    reader.post(body="Rien à signaler", email="b@example.fr")
    page = post_form(admin_client, "/admin/mots", {
        "banned_words": "guignol", "suspect_words": "", "allowed_words": "",
        "action": "simuler"}).get_data(as_text=True)  # fmt: skip
    assert "1 commentaire changerait de sort" in page
    assert "1 : publié → rejeté" in page
    assert settings.get("banned_words") == []


def test_the_card_shows_the_matches_of_the_decision(app, reader, mod_client, monkeypatch):  # noqa: F811
    settings.set_value("suspect_words", ["guignol"])
    reader.post(body="Quel guignol, ce ministre", email="a@example.fr")
    reader.post(body="Un ministre guignol", email="b@example.fr")
    settings.set_value("suspect_words", ["ministre"])  # changed after the decisions
    from app.wordlists import WordLists

    calls = []
    real_find = WordLists.find

    def find(self: WordLists, text: str) -> list:
        calls.append(text)
        return real_find(self, text)

    monkeypatch.setattr(WordLists, "find", find)
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert page.count('title="suspect : guignol">guignol</mark>') == 2
    assert ">ministre</mark>" not in page
    assert calls == []  # the cards show the stored matches: nothing is matched again
    first = comments_in_db()[0]
    assert first.word_matches == [{"kind": "suspect", "entry": "guignol", "start": 5, "end": 12}]
    card = mod_client.get(f"/moderation/commentaires/{first.id}").get_data(as_text=True)
    assert 'title="suspect : guignol">guignol</mark>, ce ministre' in card


def test_a_card_without_stored_matches_uses_the_lists(app, article, mod_client):  # noqa: F811
    from tests.moderation.conftest import held

    comment = held(article, "Quel guignol")  # as stored before matches were kept
    assert comment.word_matches is None
    settings.set_value("suspect_words", ["guignol"])
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert 'title="suspect : guignol">guignol</mark>' in page


def test_a_long_comment_against_a_thousand_long_phrases_gets_its_verdict(app, reader):
    """1,000 phrases of 30 words, all « le le … », and 2,000 characters of « le le le … »:
    the old matcher needed about 50 s (the reader was left waiting, the comment undecided)."""
    phrases = [" ".join(["le"] * 29 + [f"mot{i}"]) for i in range(1_000)]
    settings.set_value("banned_words", phrases)
    body = "le " * 650 + "mot123"
    assert len(body) <= 2_000
    response = reader.post(body=body)
    assert response.status_code == 303
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.REJECTED
    assert comment.reasons == [{"code": "banned_word", "detail": phrases[123]}]
    [match] = comment.word_matches
    assert body[match["start"] : match["end"]] == " ".join(["le"] * 29 + ["mot123"])


def test_a_rewritten_comment_awaiting_its_score_is_matched_with_the_lists(app, article, mod_client):  # noqa: F811
    from tests.moderation.conftest import held

    # nudged, decided on its first text (« Quel idiot »), then rewritten by its author; the
    # model is down, so it waits for a score, held, with the matches of its first text
    stale = [{"kind": "suspect", "entry": "idiot", "start": 5, "end": 10}]
    held(article, "Un guignol, franchement", awaiting_score=True, word_matches=stale)
    settings.set_value("suspect_words", ["guignol"])
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert 'title="suspect : guignol">guignol</mark>, franchement' in page
    assert "suspect : idiot" not in page
