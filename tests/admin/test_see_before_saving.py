"""Simulation before saving, calibration from moderators' decisions, the dashboard."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import CategoryThreshold, Comment, CommentScore, CommentStatus, ModerationAction
from app.services import settings
from tests.admin.conftest import post_form, threshold_form
from tests.conftest import add_comment


def _scored(article, insult, status, body=None):
    comment = add_comment(article, body or f"insulte {insult}", status=status)
    db.session.add(CommentScore(comment_id=comment.id, scores={"toxicity": 0.01, "insult": insult},
                                max_score=insult, model_name="m", model_version="v"))  # fmt: skip
    db.session.commit()
    return comment


@pytest.fixture
def known_set(app, article):
    P, H, R = CommentStatus.PUBLISHED, CommentStatus.HELD, CommentStatus.REJECTED
    rows = [(0.1, P)] * 4 + [(0.7, H)] * 3 + [(0.85, H)] + [(0.95, R)] * 2
    return [_scored(article, score, status) for score, status in rows]


def _matrix(page):
    cells = re.findall(r"<td(?: class=\"[^\"]*\")?>(\d+)</td>", page.split("simulation__table")[1])
    return [int(c) for c in cells]


def test_threshold_simulation_counts_moves_and_saves_nothing(app, admin_client, known_set):
    response = post_form(admin_client, "/admin/seuils", threshold_form(
        {"insult-hold": "0.8", "insult-reject": "0.9"}, action="simuler"))  # fmt: skip
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Effet sur les 10 derniers commentaires décidés" in page
    assert "3 commentaires changeraient de sort" in page
    # rows: before publish / hold / reject; columns: after publish / hold / reject, total before
    assert _matrix(page)[:12] == [4, 0, 0, 4,  3, 1, 0, 4,  0, 0, 2, 2]  # fmt: skip
    assert "3 : à modérer → publié" in page
    assert f"n° {known_set[4].id}" in page  # an example of the move
    assert db.session.get(CategoryThreshold, "insult").hold == 0.5  # not saved


def test_rule_simulation(app, admin_client, known_set):
    page = post_form(admin_client, "/admin/regles", {
        "premoderate_all": "on", "premoderate_first_n": "0", "reports_threshold": "3",
        "action": "simuler"}).get_data(as_text=True)  # fmt: skip
    assert "4 commentaires changeraient de sort" in page  # the 4 published would be held
    assert settings.get("premoderate_all") is False


@pytest.fixture
def sent_anyway(app, article):
    """The issue's case: four comments held at toxicity 0.60, sent anyway after a nudge."""
    comments = []
    for i in range(4):
        comment = add_comment(
            article, f"Envoyé tel quel {i}", status=CommentStatus.HELD, nudge_acknowledged=True,
            reasons=[{"code": "nudge_ignored"}, {"code": "category_hold", "category": "toxicity",
                                                 "score": 0.6, "threshold": 0.5}],
        )  # fmt: skip
        db.session.add(CommentScore(comment_id=comment.id, scores={"toxicity": 0.6, "insult": 0.01},
                                    max_score=0.6, model_name="m", model_version="v"))  # fmt: skip
        comments.append(comment)
    db.session.commit()
    return comments


def test_raising_hold_and_nudge_replays_the_nudge_of_comments_sent_anyway(
    admin_client, sent_anyway
):
    form = threshold_form({"toxicity-hold": "0.65", "toxicity-nudge": "0.65"}, action="simuler")
    page = post_form(admin_client, "/admin/seuils", form).get_data(as_text=True)
    assert "4 commentaires changeraient de sort" in page  # never nudged at 0.65: published
    assert "4 : à modérer → publié" in page
    assert f"n° {sent_anyway[-1].id}" in page  # the most recent, as an example


def test_raising_only_the_hold_keeps_comments_sent_anyway_held(admin_client, sent_anyway):
    form = threshold_form({"toxicity-hold": "0.65"}, action="simuler")
    page = post_form(admin_client, "/admin/seuils", form).get_data(as_text=True)
    assert "0 commentaire changerait de sort" in page  # still nudged at 0.50, still sent anyway


def test_simulating_refused_by_thresholds_rejects_those_sent_anyway_past_reject(
    admin_client, article
):
    comment = add_comment(article, "Tel quel et très toxique", status=CommentStatus.HELD,
                          reasons=[{"code": "nudge_ignored"}], nudge_acknowledged=True)  # fmt: skip
    db.session.add(CommentScore(comment_id=comment.id, scores={"toxicity": 0.95}, max_score=0.95,
                                model_name="m", model_version="v"))  # fmt: skip
    db.session.commit()
    form = {"premoderate_first_n": "0", "reports_threshold": "3", "nudge_enabled": "on",
            "guests_allowed": "on", "nudge_sent_anyway": "thresholds",
            "action": "simuler"}  # fmt: skip
    page = post_form(admin_client, "/admin/regles", form).get_data(as_text=True)
    assert "1 commentaire changerait de sort" in page
    assert "1 : à modérer → rejeté" in page
    assert settings.get("nudge_sent_anyway") == "moderator"  # nothing saved


def test_simulation_of_10000_comments_is_served(app, admin_client, article):
    from app.models import utcnow

    now = utcnow()
    db.session.execute(
        Comment.__table__.insert(),
        [dict(article_id=article.id, author_name="a", author_email=f"a{i % 50}@example.fr",
              body=f"texte {i}", body_hash="h", status="published", reasons=[], depth=0,
              created_at=now, awaiting_score=False, scoring_attempts=0,
              nudge_acknowledged=False, version=1, report_count=0, hidden=False)
         for i in range(10_000)],
    )  # fmt: skip
    ids = db.session.scalars(db.select(Comment.id)).all()
    db.session.execute(
        CommentScore.__table__.insert(),
        [dict(comment_id=i, scores={"insult": (i % 100) / 100}, max_score=(i % 100) / 100,
              model_name="m", model_version="v", windowed=False, scored_at=now)
         for i in ids],
    )  # fmt: skip
    db.session.commit()
    form = threshold_form({"insult-hold": "0.8"}, action="simuler") | {"n": "10000"}
    page = post_form(admin_client, "/admin/seuils", form).get_data(as_text=True)
    assert "Effet sur les 10000 derniers commentaires décidés" in page


def _decided(article, insult, action):
    comment = _scored(article, insult, CommentStatus.PUBLISHED if action == "approved"
                      else CommentStatus.REJECTED)  # fmt: skip
    db.session.add(ModerationAction(comment_id=comment.id, actor="Modo", action=action,
                                    from_status="held", to_status=comment.status))  # fmt: skip
    db.session.commit()


def test_calibration_on_a_known_set_of_decisions(app, admin_client, article):
    for _ in range(4):  # 32 decisions: over the minimum (simulation.MIN_DECISIONS, 30)
        for score in (0.1, 0.2, 0.3, 0.4):
            _decided(article, score, "approved")
        for score in (0.6, 0.7, 0.8, 0.9):
            _decided(article, score, "rejected")
    page = admin_client.get("/admin/calibration?cible=0.98").get_data(as_text=True)
    assert "32 décisions de modérateurs analysées" in page
    section = page.split('id="cal-insult"')[1].split("</section>")[0]
    assert "Seuil suggéré : 0,60" in section
    assert "accord 100,0 %, 50,0 % des commentaires encore modérés, 0,0 % publiés à tort" in section
    assert section.count("<svg") == 2 and "style=" not in section
    assert "Pas encore de décision de modérateur" in page.split('id="cal-threat"')[1]


def test_calibration_target_is_validated(app, admin_client):
    page = admin_client.get("/admin/calibration?cible=beaucoup").get_data(as_text=True)
    assert "Cible invalide" in page


def test_dashboard_counts_and_charts(app, admin_client, reader):
    settings.set_value("nudge_enabled", False)
    reader.post(body="Très bien")
    reader.post(body="Quel idiot", email="b@example.fr")
    reader.post(body="Espèce de connard", email="c@example.fr")
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert re.search(r"<strong>3</strong> commentaires reçus", page)
    assert re.search(r"<strong>1</strong> publiés automatiquement", page)
    assert re.search(r"<strong>1</strong> mis en attente", page)
    assert re.search(r"<strong>1</strong> rejetés automatiquement", page)
    assert page.count("<svg") == 2 and "Articles les plus commentés" in page
