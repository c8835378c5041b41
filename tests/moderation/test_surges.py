"""Surges: a story whose comments pour in is pre-moderated for a while, by the rule of
« Règles › Afflux »; moderators see it and may end it, admins are told, the journal keeps it,
« Simuler » replays it. Comments at known times and statuses, new ones through the form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Article, Comment, CommentScore, CommentStatus, ModerationAction, utcnow
from app.services import scoring, settings, surges
from tests.admin.conftest import post_form
from tests.conftest import comments_in_db, csrf_token, login, simultaneously

P, H, R = CommentStatus.PUBLISHED, CommentStatus.HELD, CommentStatus.REJECTED


@pytest.fixture(autouse=True)
def _small_rule(app, article):
    """A rule tests can reach: 5 comments in 10 minutes, 5 × the usual, for an hour; a story
    published days ago (its usual rate is read over a whole day)."""
    settings.set_value("nudge_enabled", False)
    settings.set_value("surge_min_comments", 5)
    article.published_at = utcnow() - timedelta(days=9)
    db.session.commit()


def _arrived(article, count, *, minutes_ago=1.0, status=P, spread_minutes=0.0, email=None):
    """`count` comments on `article`, the last `minutes_ago` minutes ago, spread evenly over
    `spread_minutes` before that (one INSERT)."""
    now = utcnow()
    rows = []
    for index in range(count):
        at = now - timedelta(minutes=minutes_ago + spread_minutes * index / max(count, 1))
        rows.append({
            "article_id": article.id, "depth": 0, "author_name": "Lecteur",
            "author_email": email or f"l{index}@example.fr", "body": f"Avis {index}",
            "body_hash": f"h{index}-{minutes_ago}-{status}", "status": status,
            "awaiting_score": False, "created_at": at, "reasons": [],
        })  # fmt: skip
    db.session.execute(sa.insert(Comment), rows)
    db.session.commit()


def _surge_rows(action):
    db.session.expire_all()
    return list(
        db.session.scalars(sa.select(ModerationAction).where(ModerationAction.action == action))
    )


def test_a_flood_on_a_story_premoderates_it(app, reader, article, mod_client, admin, mailbox):
    _arrived(article, 4)  # and a fifth through the form: 5 in the window, none usually
    reader.post(body="Un avis tout à fait correct")
    comment = comments_in_db()[-1]
    assert comment.status == H and [r["code"] for r in comment.reasons] == ["rule_surge"]
    db.session.refresh(article)
    assert article.surge_until is not None
    assert (
        timedelta(minutes=59)
        < article.surge_until.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
        <= timedelta(minutes=60)
    )
    [row] = _surge_rows("surge_started")
    assert row.comment_id is None and row.actor == "système"
    assert row.details["trigger"]["kind"] == "rate" and row.details["trigger"]["comments"] == 5
    # Moderators: a banner on every staff page, the story first in the filter.
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert "Afflux de commentaires" in page
    assert f"« {article.title} » est pré-modéré jusqu’à" in page
    assert "Arrêter la pré-modération" in page
    options = re.findall(r'<option value="(\d+)"', page)
    assert options[0] == str(article.id)
    journal = mod_client.get("/moderation/journal").get_data(as_text=True)
    assert "Afflux : article pré-modéré" in journal and "5 commentaires en peu de temps" in journal
    # Admins are told, each by their own mail.
    [sent] = mailbox.messages
    assert sent.envelope_to == [admin.email] and sent.message["To"] == admin.email
    subject = sent.message["Subject"]
    assert "Afflux de commentaires" in subject and article.title in subject
    assert f"/moderation/file/a-moderer?article={article.id}" in sent.message.get_content()
    # Every next comment on the story waits for a moderator; not on another story.
    reader.post(body="Encore un avis correct", email="autre@example.fr")
    assert comments_in_db()[-1].status == H


def test_under_the_floor_nothing_happens(app, reader, article):
    _arrived(article, 3)
    reader.post(body="Un avis tout à fait correct")
    assert comments_in_db()[-1].status == P
    assert _surge_rows("surge_started") == []


def test_a_story_busy_as_usual_is_no_surge(app, reader, article):
    # 1,440 comments over the last day: 10 per 10 minutes is its usual rate. 6 in the window
    # pass the floor (5) but not 5 × the usual (50).
    _arrived(article, 1440, minutes_ago=11, spread_minutes=24 * 60 - 12)
    _arrived(article, 5)
    reader.post(body="Un avis tout à fait correct")
    assert comments_in_db()[-1].status == P
    assert _surge_rows("surge_started") == []


def test_an_angry_window_is_a_surge_even_at_the_usual_rate(app, reader, article):
    _arrived(article, 1440, minutes_ago=11, spread_minutes=24 * 60 - 12)  # all published
    _arrived(article, 10, status=R)
    _arrived(article, 2, status=P, minutes_ago=2)
    reader.post(body="Un avis tout à fait correct")
    assert comments_in_db()[-1].status == H
    [row] = _surge_rows("surge_started")
    trigger = row.details["trigger"]
    assert trigger["kind"] == "share" and trigger["share"] == pytest.approx(10 / 12, abs=1e-3)


def test_the_rule_can_be_switched_off(app, reader, article):
    settings.set_value("surge_multiple", 0)
    _arrived(article, 40)
    reader.post(body="Un avis tout à fait correct")
    assert comments_in_db()[-1].status == P


def test_many_workers_seeing_the_same_flood_start_it_once(app, article):
    _arrived(article, 20)
    comments = comments_in_db()

    def check():
        with app.app_context():
            return surges.check(comments)

    started = simultaneously([check] * 10)
    assert sum(len(ids) for ids in started) == 1
    assert len(_surge_rows("surge_started")) == 1


def test_a_moderator_ends_it_by_hand(app, reader, article, mod_client):
    _arrived(article, 4)
    reader.post(body="Un avis tout à fait correct")
    token = csrf_token(mod_client, "/moderation/file/a-moderer")
    url = f"/moderation/articles/{article.id}/afflux/fin"
    response = mod_client.post(url, data={"csrf_token": token})
    assert response.status_code == 303
    page = mod_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Afflux terminé : l’article n’est plus pré-modéré." in page
    assert "Arrêter la pré-modération" not in page
    [row] = _surge_rows("surge_ended")
    assert row.actor == "Modo Marie" and row.details["by_hand"] is True
    again = mod_client.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "Cet article n’est pas en afflux" in again.get_data(as_text=True)
    assert len(_surge_rows("surge_ended")) == 1
    # The held comments stay for a moderator; the next one is decided as usual again: the
    # window starts afresh where the surge ended.
    assert comments_in_db()[-1].status == H
    reader.post(body="Un avis après l’afflux", email="apres@example.fr")
    assert comments_in_db()[-1].status == P


def test_it_ends_by_itself_and_fires_again_if_the_flood_goes_on(app, reader, article):
    _arrived(article, 4)
    reader.post(body="Un avis tout à fait correct")
    db.session.execute(sa.update(Article).values(surge_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    scoring.sweep()
    scoring.sweep()  # the end is written once
    [row] = _surge_rows("surge_ended")
    assert row.actor == "système" and row.details["by_hand"] is False
    reader.post(body="Premier avis après", email="a@example.fr")
    assert comments_in_db()[-1].status == P
    _arrived(article, 3, minutes_ago=0)
    reader.post(body="Le flot continue", email="b@example.fr")
    assert comments_in_db()[-1].status == H
    assert len(_surge_rows("surge_started")) == 2


def test_ending_needs_a_moderator_and_a_csrf_token(app, client, article, mod_client):
    url = f"/moderation/articles/{article.id}/afflux/fin"
    assert client.post(url).status_code in (302, 400, 403)
    assert mod_client.post(url).status_code == 400
    token = csrf_token(mod_client, "/moderation/file/a-moderer")
    unknown = mod_client.post(
        "/moderation/articles/99999999/afflux/fin", data={"csrf_token": token}
    )
    assert unknown.status_code == 303


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    login(client, admin.email)
    return client


def test_simulate_replays_the_surge_rule_over_past_days(app, admin_client, article):
    """Saved: off. Proposed: on. Two days ago 30 comments came in 5 minutes: the replay finds
    the surge, and the comments after the fifth would have been held."""
    settings.set_value("surge_multiple", 0)
    _arrived(article, 30, minutes_ago=2 * 24 * 60, spread_minutes=5)
    db.session.execute(sa.insert(CommentScore), [
        {"comment_id": c.id, "scores": {"toxicity": 0.01}, "max_score": 0.01,
         "model_name": "m", "model_version": "v"} for c in comments_in_db()
    ])  # fmt: skip
    db.session.commit()
    form = {"surge_multiple": "5", "reports_threshold": "3", "action": "simuler"}
    page = post_form(admin_client, "/admin/regles", form).get_data(as_text=True)
    assert "Afflux rejoués sur les 7 derniers jours" in page
    assert "avec les réglages enregistrés : 0 afflux ; avec les réglages proposés : 1 afflux" in (
        page.lower()
    )
    assert article.title in page and "5 commentaires dans la fenêtre" in page
    assert "26 commentaires changeraient de sort" in page  # the 5th to the 30th, held
    assert settings.get("surge_multiple") == 0


def test_comments_on_other_stories_are_scored_before_the_flood(app, article):
    """A batch fills up with other stories' comments first: a surge's comments are held
    whatever their scores, and other readers should not wait behind them."""
    other = Article(slug="autre", title="Un autre article", body=[], published_at=utcnow())
    db.session.add(other)
    db.session.commit()
    article.surge_until = utcnow() + timedelta(minutes=30)
    db.session.commit()
    _arrived(article, 5, minutes_ago=0.5)
    for comment in comments_in_db():
        comment.awaiting_score = True
    elsewhere = {"author_name": "Autre", "author_email": "a@example.fr", "body_hash": "x"}
    db.session.add(Comment(article_id=other.id, body="Un avis", awaiting_score=True, **elsewhere))
    db.session.commit()
    first = comments_in_db()[0]
    claim = scoring.claim([first.id], fill_up_to=3)
    stories = [c.article_id for c in claim.comments]
    assert len(stories) == 3 and other.id in stories  # the newest, yet taken before the flood
