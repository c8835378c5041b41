"""What moderators ran into (issue 11): « Conserver » on reported comments, where staff land
after signing in, calibration on too few decisions, and the words on cards and in the journal."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

from app.extensions import db
from app.labels import french_list, nudge_message
from app.models import Comment, CommentReport, CommentScore, CommentStatus, ModerationAction, Role
from app.services import settings
from tests.conftest import (
    ARTICLE_URL,
    CSRF_RE,
    LiveBrowser,
    add_comment,
    comments_in_db,
    csrf_token,
    login,
    make_user,
    simultaneously,
)
from tests.moderation.conftest import card_ids, decide, held


def _report(app, comment, note="à retirer"):
    """A report from a signed-in reader with a published comment (it counts for one)."""
    user = make_user(email=f"lecteur-{uuid.uuid4().hex[:8]}@example.fr")
    add_comment(comment.article, "Un avis publié", user_id=user.id)
    client = app.test_client()
    login(client, user.email)
    url = f"{ARTICLE_URL}/commentaires/{comment.id}/signaler"
    page = client.get(url).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    return client.post(url, data={"csrf_token": token, "reason": "insulte", "note": note})


def _fresh(comment_id):
    db.session.expire_all()
    return db.session.get(Comment, comment_id)


def _reported(app, article, count=3, body="Un avis qui dérange"):
    comment = add_comment(article, body)
    for _ in range(count):
        assert _report(app, comment).status_code == 303
    return _fresh(comment.id)


# --------------------------------------------------------------------------------------------
# « Conserver »


def test_signales_offers_conserver_on_a_published_reported_comment(app, article, mod_client):
    comment = _reported(app, article)
    page = mod_client.get("/moderation/file/signales").get_data(as_text=True)
    assert card_ids(page) == [comment.id]
    card = page.split(f'data-comment="{comment.id}"')[1]
    assert 'name="action" value="keep"' in card and "Conserver" in card
    english = mod_client.get("/moderation/file/signales?lang=en").get_data(as_text=True)
    assert ">Keep</button>" in english
    # A held comment that nobody reported has no « Conserver ».
    other = held(article)
    queue = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert 'value="keep"' not in queue.split(f'data-comment="{other.id}"')[1]


def test_conserver_keeps_it_published_and_clears_its_reports(app, article, client, mod_client):
    settings.set_value("reports_hide", True)
    comment = _reported(app, article)
    assert comment.hidden and comment.flagged_at is not None
    response = decide(mod_client, comment, "keep", next="/moderation/file/signales")
    assert response.status_code == 303
    page = mod_client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Commentaire n° {comment.id} conservé : signalements écartés." in page
    assert card_ids(page) == []  # left « Signalés »
    assert '<span class="count" data-count="signales">0</span>' in page
    comment = _fresh(comment.id)
    assert comment.status == CommentStatus.PUBLISHED
    assert (comment.report_count, comment.report_weight, comment.flagged_at, comment.hidden) == (
        0, 0.0, None, False)  # fmt: skip
    assert db.session.query(CommentReport).filter_by(comment_id=comment.id).count() == 0
    assert "Un avis qui dérange" in client.get(ARTICLE_URL).get_data(as_text=True)
    [row] = db.session.query(ModerationAction).filter_by(action="reports_dismissed").all()
    assert (row.actor, row.comment_id, row.from_status, row.to_status) == (
        "Modo Marie", comment.id, "published", "published")  # fmt: skip
    assert row.reason == "Conservé : 3 signalements écartés (Insulte ×3)"
    journal = mod_client.get("/moderation/journal").get_data(as_text=True)
    assert "Conservé malgré les signalements" in journal
    assert "lecteur-" not in row.reason and "à retirer" not in journal  # no reporter, no note


def test_after_conserver_reports_count_from_zero(app, article, mod_client):
    comment = _reported(app, article)
    decide(mod_client, comment, "keep")
    comment = _fresh(comment.id)
    _report(app, comment)
    comment = _fresh(comment.id)
    assert (comment.report_count, comment.report_weight, comment.flagged_at) == (1, 1.0, None)
    assert card_ids(mod_client.get("/moderation/file/signales").get_data(as_text=True)) == []
    _report(app, comment)
    _report(app, comment)  # the site's threshold (3) again: back in « Signalés »
    assert card_ids(mod_client.get("/moderation/file/signales").get_data(as_text=True)) == [
        comment.id
    ]


def test_conserver_uses_the_version_like_a_decision(app, article, mod_client):
    comment = _reported(app, article)
    stale = comment.version
    assert decide(mod_client, comment, "reject", reason="insultes").status_code == 303
    response = mod_client.post(
        f"/moderation/commentaires/{comment.id}/decision",
        data={"csrf_token": csrf_token(mod_client, "/moderation/file/tous"), "action": "keep",
              "version": stale},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert response.status_code == 409
    assert "a déjà été traité par Modo Marie" in response.get_json()["message"]
    assert _fresh(comment.id).status == CommentStatus.REJECTED
    assert db.session.query(ModerationAction).filter_by(action="reports_dismissed").count() == 0


def test_two_moderators_pressing_conserver_at_once_dismiss_once(app, article, live_server):
    comment = _reported(app, article)
    browsers = []
    for i in range(2):
        make_user(email=f"modo{i}@example.fr", display_name=f"Modo {i}", role=Role.MODERATOR)
        browser = LiveBrowser(live_server)
        fields = browser.form("/compte/connexion")
        browser.request("/compte/connexion", {**fields, "email": f"modo{i}@example.fr",
                                              "password": "motdepasse-solide"})  # fmt: skip
        browsers.append((browser, browser.form("/moderation/file/signales")))
    url, seen = f"/moderation/commentaires/{comment.id}/decision", comment.version
    answers = simultaneously([
        lambda b=b, f=f: b.request(url, {**f, "action": "keep", "version": str(seen)})
        for b, f in browsers
    ])  # fmt: skip
    assert sorted(a.status for a in answers) == [303, 303]  # plain forms: a flash each
    db.session.expire_all()
    assert db.session.query(ModerationAction).filter_by(action="reports_dismissed").count() == 1
    assert _fresh(comment.id).version == seen + 1


def test_conserver_on_a_comment_nobody_reported_is_refused_clearly(app, article, mod_client):
    comment = add_comment(article, "Tranquille")
    response = mod_client.post(
        f"/moderation/commentaires/{comment.id}/decision",
        data={"csrf_token": csrf_token(mod_client, "/moderation/file/tous"), "action": "keep",
              "version": comment.version},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert response.status_code == 422
    assert response.get_json()["message"] == "Ce commentaire n’est pas signalé et publié."


def test_a_decided_card_is_told_its_new_status(app, article, mod_client):
    """The queue's script rewrites the card's « · à modérer » with the status it gets back."""
    comment = held(article)
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert '<span class="js-status">à modérer</span>' in page
    response = mod_client.post(
        f"/moderation/commentaires/{comment.id}/decision",
        data={"csrf_token": csrf_token(mod_client, "/moderation/file/a-moderer"),
              "action": "approve", "version": comment.version},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert response.get_json()["status"] == "publié"


# --------------------------------------------------------------------------------------------
# Where one lands after signing in


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.ADMIN])
def test_staff_land_on_the_moderation_queue(app, role):
    make_user(email="staff@example.fr", role=role)
    response = login(app.test_client(), "staff@example.fr")
    assert response.status_code == 303
    assert response.headers["Location"] == "/moderation/"


def test_staff_follow_next_when_given(app):
    make_user(email="staff@example.fr", role=Role.MODERATOR)
    client = app.test_client()
    url = f"/compte/connexion?next={ARTICLE_URL}"
    response = client.post(url, data={"csrf_token": csrf_token(client, url),
                                      "email": "staff@example.fr",
                                      "password": "motdepasse-solide"})  # fmt: skip
    assert response.headers["Location"] == ARTICLE_URL


def test_readers_still_land_on_the_home_page(app):
    make_user(email="lecteur@example.fr")
    assert login(app.test_client(), "lecteur@example.fr").headers["Location"] == "/"


def _sign_in_from_the_header(app, email):
    """« Se connecter » in the site's header, on an article page."""
    client = app.test_client()
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    url = re.search(r'<li><a href="([^"]+)">Se connecter</a>', page).group(1).replace("&amp;", "&")
    return client.post(url, data={"csrf_token": csrf_token(client, url), "email": email,
                                  "password": "motdepasse-solide"})  # fmt: skip


def test_staff_signing_in_from_an_article_land_on_the_queue(app, article):
    make_user(email="staff@example.fr", role=Role.ADMIN)
    assert _sign_in_from_the_header(app, "staff@example.fr").headers["Location"] == "/moderation/"


def test_readers_signing_in_from_an_article_go_back_to_it(app, article):
    make_user(email="lecteur@example.fr")
    response = _sign_in_from_the_header(app, "lecteur@example.fr")
    assert response.headers["Location"] == ARTICLE_URL


# --------------------------------------------------------------------------------------------
# Calibration on too few decisions


def _decided(article, insult, action):
    status = CommentStatus.PUBLISHED if action == "approved" else CommentStatus.REJECTED
    comment = add_comment(article, f"insulte {insult}", status=status)
    db.session.add(CommentScore(comment_id=comment.id, scores={"insult": insult},
                                max_score=insult, model_name="m", model_version="v"))  # fmt: skip
    db.session.add(ModerationAction(comment_id=comment.id, actor="Modo", action=action,
                                    from_status="held", to_status=status))  # fmt: skip
    db.session.commit()


@pytest.fixture
def admin_client(app):
    make_user(email="admin@example.fr", role=Role.ADMIN)
    client = app.test_client()
    login(client, "admin@example.fr")
    return client


def test_calibration_suggests_nothing_from_four_decisions(app, admin_client, article):
    for score, action in ((0.1, "approved"), (0.2, "approved"), (0.9, "rejected"),
                          (0.95, "rejected")):  # fmt: skip
        _decided(article, score, action)
    page = admin_client.get("/admin/calibration").get_data(as_text=True)
    section = page.split('id="cal-insult"')[1].split("</section>")[0]
    assert "Trop peu de décisions (4) pour suggérer un seuil" in section
    assert "il en faut au moins 30 dans cette catégorie." in section
    assert "Seuil suggéré" not in page
    english = admin_client.get("/admin/calibration?lang=en").get_data(as_text=True)
    assert "Too few decisions (4) to suggest a threshold" in english


def test_calibration_suggests_from_the_minimum_on(app, admin_client, article):
    for i in range(15):
        _decided(article, 0.1 + i / 100, "approved")
        _decided(article, 0.8 + i / 100, "rejected")
    page = admin_client.get("/admin/calibration").get_data(as_text=True)
    section = page.split('id="cal-insult"')[1].split("</section>")[0]
    assert "Seuil suggéré : " in section and "Trop peu" not in section


# --------------------------------------------------------------------------------------------
# Words: French lists, joined reasons, the journal's dates


def test_refusal_lists_its_categories_as_french_does(client, reader):
    settings.set_value("nudge_enabled", False)
    reader.post(body="Espèce de connard")
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "(propos toxiques et insultes)" in page
    assert "propos toxiques, insultes" not in page


def test_nudge_lists_its_categories_as_french_does(client, reader):
    response = reader.post(body="Quel idiot ce ministre")  # one category, through the page
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "il semble contenir des insultes." in page
    # several (the tiny model triggers one category per text): the words themselves
    assert "contenir des propos toxiques et des insultes." in nudge_message(["toxicity", "insult"])
    assert "contenir des menaces, des obscénités et des insultes." in nudge_message(
        ["threat", "obscene", "insult", "obscene"]
    )
    assert [french_list(items) for items in ([], ["a"], ["a", "b"], ["a", "b", "c"])] == [
        "", "a", "a et b", "a, b et c"]  # fmt: skip


def test_joined_reasons_read_well_in_the_journal(client, reader, mod_client):
    response = reader.post(body="Quel idiot ce ministre")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    [comment] = comments_in_db()
    token = CSRF_RE.search(page).group(1)
    client.post(f"{ARTICLE_URL}/commentaires/{comment.id}/envoyer", data={"csrf_token": token})
    journal = mod_client.get("/moderation/journal").get_data(as_text=True)
    assert "son commentaire tel quel ; insultes : score" in journal
    assert ". ;" not in journal


def test_journal_dates_do_not_wrap(app, mod_client, article):
    decide(mod_client, held(article), "approve")
    page = mod_client.get("/moderation/journal").get_data(as_text=True)
    assert '<th scope="col" class="nowrap">Quand</th>' in page
    assert re.search(
        r'<tr><td class="nowrap" data-label="Quand">[^<]+</td>'
        r'<td data-label="Qui"><bdi>Modo Marie</bdi>',
        page,
    )
    css = (Path(app.static_folder) / "site.css").read_text(encoding="utf-8")
    assert ".table .nowrap { white-space: nowrap; }" in css
