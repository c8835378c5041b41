"""Trust and history: a trusted reader's borderline comments published, a reader often
rejected pre-moderated; through the reader's form, shown in the reasons, replayed by « Simuler »."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import CommentScore, CommentStatus, ModerationAction, utcnow
from app.services import settings
from tests.admin.conftest import post_form
from tests.conftest import add_comment, comments_in_db, login, make_user

P, H, R = CommentStatus.PUBLISHED, CommentStatus.HELD, CommentStatus.REJECTED
BORDERLINE = "Quel idiot"  # insult 0.7: over hold (0.5), under reject (0.9)


@pytest.fixture(autouse=True)
def _no_nudge(app):
    settings.set_value("nudge_enabled", False)


def _codes(comment):
    return [r["code"] for r in comment.reasons]


def _history(article, email, statuses, *, user=None, days_ago=1):
    for status in statuses:
        add_comment(
            article, f"Avis {status}", status=status, author_email=email,
            user_id=user.id if user else None, created_at=utcnow() - timedelta(days=days_ago),
        )  # fmt: skip


@pytest.fixture
def regular(app, client, article):
    """A signed-in reader with three published comments."""
    user = make_user(email="fidele@example.fr")
    _history(article, user.email, [P, P, P], user=user)
    login(client, user.email)
    return user


def test_a_trusted_reader_borderline_comment_is_published_with_its_reason(
    app, reader, regular, admin_client
):
    settings.set_value("trust_after_published", 3)
    reader.post(body=BORDERLINE, name=None, email=None)
    comment = comments_in_db()[-1]
    assert comment.status == P
    [reason] = comment.reasons
    assert reason["code"] == "trusted_reader" and reason["category"] == "insult"
    assert reason["score"] == pytest.approx(0.7) and reason["detail"] == "3"
    card = admin_client.get(f"/moderation/commentaires/{comment.id}").get_data(as_text=True)
    assert "Lecteur de confiance (3 commentaires publiés, aucun rejet récent)" in card
    assert "publié malgré insultes (score 0,70 ≥ seuil de modération 0,50)" in card
    row = db.session.scalar(
        db.select(ModerationAction).where(ModerationAction.comment_id == comment.id,
                                          ModerationAction.action == "scored")
    )  # fmt: skip
    assert row.to_status == P and "Lecteur de confiance" in row.reason


def test_trust_is_off_by_default(app, reader, regular):
    reader.post(body=BORDERLINE, name=None, email=None)
    assert comments_in_db()[-1].status == H


@pytest.mark.parametrize(
    ("history", "days_ago", "status"),
    [
        ([P, P], 1, H),  # too few published comments
        ([P, P, P, R], 1, H),  # a rejection in the last 30 days
        ([P, P, P, R], 45, P),  # a rejection older than the history read
    ],
)
def test_trust_needs_enough_comments_and_no_recent_rejection(
    app, client, reader, article, history, days_ago, status
):
    settings.set_value("trust_after_published", 3)
    settings.set_value("distrust_percent", 0)
    user = make_user(email="lecteur@example.fr")
    _history(article, user.email, history, user=user, days_ago=days_ago)
    login(client, user.email)
    reader.post(body=BORDERLINE, name=None, email=None)
    assert comments_in_db()[-1].status == status


def test_trust_publishes_borderline_scores_only(app, reader, regular):
    settings.set_value("trust_after_published", 3)
    settings.set_value("premoderate_links", True)
    reader.post(body="Sale connard", name=None, email=None)  # past the reject thresholds
    reader.post(body="Quel idiot, voir https://exemple.fr", name=None, email=None)
    rejected, linked = comments_in_db()[-2:]
    assert rejected.status == R
    assert linked.status == H and _codes(linked) == ["rule_links", "category_hold"]


def test_a_guest_is_never_trusted(app, reader, article):
    """A typed address proves nothing (anyone may type it): guests' history never earns
    trust (an account's address is refused to guests altogether)."""
    settings.set_value("trust_after_published", 3)
    _history(article, "habitue@example.fr", [P, P, P])
    response = reader.post(body=BORDERLINE, name="Habitué", email="habitue@example.fr")
    assert response.status_code == 303
    assert comments_in_db()[-1].status == H


@pytest.mark.parametrize(
    ("history", "days_ago", "held"),
    [
        ([R, R, R, P], 2, True),  # 3 rejected of 4: 75 % ≥ 50 %, and 3 rejections
        ([R, R, P], 2, False),  # 2 rejections: under the minimum of 3
        ([R, R, R, P, P, P, P], 2, False),  # 3 of 7: 43 % < 50 %
        ([R, R, R, P], 40, False),  # older than the 30 days read
    ],
)
def test_a_reader_often_rejected_is_premoderated_by_default(
    app, reader, article, history, days_ago, held
):
    _history(article, "souvent@example.fr", history, days_ago=days_ago)
    reader.post(body="Un avis tout à fait correct", email="souvent@example.fr")
    comment = comments_in_db()[-1]
    if held:
        assert comment.status == H and _codes(comment) == ["rule_reader_history"]
        assert comment.reasons[0]["detail"] == "3/4"
    else:
        assert comment.status == P


def test_the_history_rule_is_explained_on_the_card(app, reader, article, admin_client):
    _history(article, "souvent@example.fr", [R, R, R, P])
    reader.post(body="Un avis tout à fait correct", email="souvent@example.fr")
    comment = comments_in_db()[-1]
    card = admin_client.get(f"/moderation/commentaires/{comment.id}").get_data(as_text=True)
    assert "lecteur souvent rejeté ces derniers jours (rejetés sur décidés : 3/4)" in card
    english = admin_client.get(f"/moderation/commentaires/{comment.id}?lang=en")
    assert "reader often rejected" in english.get_data(as_text=True)


def _scored(article, body, insult, status, email, user=None, days_ago=1):
    comment = add_comment(
        article, body, status=status, author_email=email, user_id=user.id if user else None,
        created_at=utcnow() - timedelta(days=days_ago),
        reasons=[{"code": "category_hold", "category": "insult", "score": insult,
                  "threshold": 0.5}] if status == H else [],
    )  # fmt: skip
    db.session.add(CommentScore(comment_id=comment.id, scores={"insult": insult},
                                max_score=insult, model_name="m", model_version="v"))  # fmt: skip
    db.session.commit()
    return comment


def test_simulate_replays_trust_as_it_was_when_each_comment_came(app, admin_client, article):
    user = make_user(email="fidele@example.fr")
    early = _scored(article, "Tôt : quel idiot", 0.7, H, user.email, user, days_ago=5)
    for day in (4, 3, 2):
        _scored(article, f"Avis du jour {day}", 0.1, P, user.email, user, days_ago=day)
    late = _scored(article, "Tard : quel idiot", 0.7, H, user.email, user, days_ago=1)
    guest = _scored(article, "Invité : quel idiot", 0.7, H, user.email, days_ago=1)
    form = {"trust_after_published": "3", "reports_threshold": "3", "action": "simuler"}
    page = post_form(admin_client, "/admin/regles", form).get_data(as_text=True)
    assert "1 commentaire changerait de sort" in page
    assert f"n° {late.id}" in page and "Lecteur de confiance (3 commentaires publiés" in page
    assert f"n° {early.id}<" not in page  # only 0 published before it then
    assert f"n° {guest.id}<" not in page  # a guest's typed address: never trusted
    assert settings.get("trust_after_published") == 0  # nothing saved


def test_simulate_replays_the_history_rule(app, admin_client, article):
    settings.set_value("distrust_percent", 0)
    for day in (5, 4, 3):
        _scored(article, "Rejeté", 0.95, R, "souvent@example.fr", days_ago=day)
    after = _scored(article, "Un avis correct", 0.1, P, "souvent@example.fr", days_ago=1)
    form = {"distrust_percent": "50", "reports_threshold": "3", "action": "simuler"}
    page = post_form(admin_client, "/admin/regles", form).get_data(as_text=True)
    assert "1 commentaire changerait de sort" in page
    assert f"n° {after.id}" in page and "rejetés sur décidés : 3/3" in page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("trust_after_published", "-1"),
        ("history_days", "0"),
        ("history_days", "366"),
        ("distrust_percent", "101"),
        ("distrust_min_rejections", "trois"),
        ("surge_multiple", "1e9"),
        ("surge_min_comments", "0"),
        ("surge_window_minutes", "99999999999999999999"),
        ("surge_minutes", ""),
    ],
)
def test_the_rules_form_names_a_refused_value(app, admin_client, field, value):
    form = {"reports_threshold": "3", "action": "enregistrer", field: value}
    response = post_form(admin_client, "/admin/regles", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-erreur"' in page and "Indiquez un nombre entier entre" in page
