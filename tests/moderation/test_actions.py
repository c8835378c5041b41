"""Decisions: approve, reject with a reason, in bulk, reversed; two moderators at once."""

from __future__ import annotations

from app.extensions import db
from app.models import Comment, CommentStatus, ModerationAction, Role
from tests.conftest import ARTICLE_URL, add_comment, login, make_user
from tests.moderation.conftest import decide, held, token


def _fresh(comment_id):
    db.session.expire_all()
    return db.session.get(Comment, comment_id)


def test_approve_publishes_the_comment(app, article, client, mod_client):
    comment = held(article, "Un avis tenu")
    response = decide(mod_client, comment, "approve", next="/moderation/file/a-moderer")
    assert response.status_code == 303
    assert response.headers["Location"] == "/moderation/file/a-moderer"
    page = mod_client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Commentaire n° {comment.id} approuvé et publié." in page
    assert _fresh(comment.id).status == CommentStatus.PUBLISHED
    assert "Un avis tenu" in client.get(ARTICLE_URL).get_data(as_text=True)


def test_reject_needs_a_reason_and_the_author_sees_it(app, article, mod_client, reader):
    reader.post(body="Quel idiot ce ministre")  # nudged first: send it anyway
    comment = db.session.query(Comment).one()
    from tests.conftest import CSRF_RE

    page = reader.client.get(f"{ARTICLE_URL}?commentaire={comment.id}").get_data(as_text=True)
    reader.client.post(
        f"{ARTICLE_URL}/commentaires/{comment.id}/envoyer",
        data={"csrf_token": CSRF_RE.search(page).group(1)},
    )
    comment = _fresh(comment.id)
    assert comment.status == CommentStatus.HELD
    refused = decide(mod_client, comment, "reject")
    assert refused.status_code == 303
    assert "Choisissez le motif du rejet." in mod_client.get("/moderation/file/a-moderer").get_data(
        as_text=True
    )
    assert _fresh(comment.id).status == CommentStatus.HELD
    decide(mod_client, comment, "reject", reason="insultes", note="Attaque personnelle")
    comment = _fresh(comment.id)
    assert comment.status == CommentStatus.REJECTED
    author_page = reader.client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Refusé par la modération : insultes ou attaques personnelles." in author_page
    row = db.session.query(ModerationAction).filter_by(action="rejected").one()
    assert (row.actor, row.from_status, row.to_status, row.reason_code, row.note) == (
        "Modo Marie",
        "held",
        "rejected",
        "insultes",
        "Attaque personnelle",
    )


def test_keyboard_page_gets_json_answers(app, article, mod_client):
    comment = held(article)
    response = mod_client.post(
        f"/moderation/commentaires/{comment.id}/decision",
        data={"csrf_token": token(mod_client), "action": "approve", "version": comment.version},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "message": f"Commentaire n° {comment.id} approuvé et publié.",
        "ok": True,
        "status": "publié",  # the card's new status label
    }


def test_second_moderator_is_told_it_was_already_decided(app, article, mod_client):
    comment = held(article)
    seen_version = comment.version
    make_user(email="other@example.fr", display_name="Modo Omar", role=Role.MODERATOR)
    other = app.test_client()
    login(other, "other@example.fr")
    assert decide(other, comment, "reject", reason="spam", version=seen_version).status_code == 303
    response = mod_client.post(
        f"/moderation/commentaires/{comment.id}/decision",
        data={"csrf_token": token(mod_client), "action": "approve", "version": seen_version},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 409
    message = response.get_json()["message"]
    assert f"Le commentaire n° {comment.id} a déjà été traité par Modo Omar" in message
    assert "(statut actuel : rejeté)" in message
    assert _fresh(comment.id).status == CommentStatus.REJECTED  # the first decision stands
    assert db.session.query(ModerationAction).filter_by(comment_id=comment.id).count() == 1


def test_bulk_approve_and_reject(app, article, mod_client):
    a, b, c = held(article, "a"), held(article, "b"), held(article, "c")
    response = mod_client.post(
        "/moderation/decisions",
        data={
            "csrf_token": token(mod_client),
            "select": [f"{a.id}:{a.version}", f"{b.id}:{b.version}"],
            "action": "reject",
            "reason": "spam",
            "next": "/moderation/file/a-moderer",
        },
    )
    assert response.status_code == 303
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert "2 commentaires rejetés." in page
    assert [_fresh(i).status for i in (a.id, b.id, c.id)] == ["rejected", "rejected", "held"]


def test_bulk_reports_each_conflict_and_applies_the_rest(app, article, mod_client):
    a, b = held(article, "a"), held(article, "b")
    response = mod_client.post(
        "/moderation/decisions",
        data={
            "csrf_token": token(mod_client),
            "select": [f"{a.id}:{a.version}", f"{b.id}:{b.version + 5}"],
            "action": "approve",
        },  # fmt: skip
        headers={"Accept": "application/json"},
    )
    assert response.get_json() == {"done": [a.id], "conflicts": [b.id]}


def test_bulk_without_selection_is_refused(app, mod_client):
    response = mod_client.post(
        "/moderation/decisions", data={"csrf_token": token(mod_client), "action": "approve"}
    )
    assert response.status_code == 303
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert "Sélectionnez au moins un commentaire." in page


def test_decisions_can_be_reversed_from_approved_and_rejected(app, article, client, mod_client):
    comment = add_comment(article, "Publié puis retiré")
    page = mod_client.get("/moderation/file/approuves").get_data(as_text=True)
    assert "Rejeter" in page
    decide(mod_client, comment, "reject", reason="hors_sujet")
    assert "Publié puis retiré" not in client.get(ARTICLE_URL).get_data(as_text=True)
    comment = _fresh(comment.id)
    page = mod_client.get("/moderation/file/rejetes").get_data(as_text=True)
    assert "Approuver" in page
    decide(mod_client, comment, "approve")
    assert "Publié puis retiré" in client.get(ARTICLE_URL).get_data(as_text=True)
    actions = [r.action for r in db.session.query(ModerationAction).order_by(ModerationAction.id)]
    assert actions == ["rejected", "approved"]


def test_a_human_decision_stops_automatic_retries(app, article, mod_client):
    comment = held(article, awaiting_score=True, scoring_attempts=2)
    decide(mod_client, comment, "approve")
    comment = _fresh(comment.id)
    assert comment.status == CommentStatus.PUBLISHED and not comment.awaiting_score


def test_unknown_comment_and_bad_version(app, mod_client):
    response = mod_client.post(
        "/moderation/commentaires/9999/decision",
        data={"csrf_token": token(mod_client), "action": "approve", "version": 1},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 422
    assert "n’existe pas" in response.get_json()["message"]
    response = mod_client.post(
        "/moderation/commentaires/9999/decision",
        data={"csrf_token": token(mod_client), "action": "approve"},
    )
    assert response.status_code == 400


def _json_decision(mod_client, comment, action, **extra):
    return mod_client.post(
        f"/moderation/commentaires/{comment.id}/decision",
        data={"csrf_token": token(mod_client), "action": action, "version": comment.version,
              **extra},
        headers={"Accept": "application/json"},
    )  # fmt: skip


def test_a_comment_still_being_scored_cannot_be_decided(app, article, mod_client):
    comment = add_comment(article, "Pas encore noté", status=CommentStatus.PENDING)
    page = mod_client.get(f"/moderation/commentaires/{comment.id}").get_data(as_text=True)
    assert "Approuver" not in page and "Rejeter" not in page  # no button that would fail
    approve = _json_decision(mod_client, comment, "approve")
    assert approve.status_code == 422
    assert approve.get_json()["message"] == (
        f"Le commentaire n° {comment.id} est en cours de notation : il ne peut pas encore être "
        "approuvé."
    )
    reject = _json_decision(mod_client, comment, "reject", reason="spam")
    assert reject.status_code == 422
    assert "il ne peut pas encore être rejeté." in reject.get_json()["message"]
    assert _fresh(comment.id).status == CommentStatus.PENDING
    assert db.session.query(ModerationAction).count() == 0


def test_a_nudged_comment_is_its_authors_until_they_answer(app, article, mod_client, reader):
    reader.post(body="Quel idiot ce ministre")
    comment = db.session.query(Comment).one()
    assert comment.status == CommentStatus.NUDGED
    approve = _json_decision(mod_client, comment, "approve")
    assert approve.status_code == 422
    assert approve.get_json()["message"] == (
        f"Le commentaire n° {comment.id} attend la réponse de son auteur à l’invitation à "
        "reformuler : il ne peut pas encore être approuvé."
    )
    reject = mod_client.post(
        f"/moderation/commentaires/{comment.id}/decision",
        data={"csrf_token": token(mod_client), "action": "reject", "reason": "spam",
              "version": comment.version, "next": "/moderation/file/tous"},
    )  # fmt: skip
    assert reject.status_code == 303
    page = mod_client.get("/moderation/file/tous").get_data(as_text=True)
    assert "il ne peut pas encore être rejeté." in page
    assert _fresh(comment.id).status == CommentStatus.NUDGED


def test_an_outcome_is_not_given_twice(app, article, mod_client):
    published = add_comment(article, "Déjà en ligne")
    answer = _json_decision(mod_client, published, "approve")
    assert answer.status_code == 422
    assert answer.get_json()["message"] == f"Le commentaire n° {published.id} est déjà publié."
    rejected = add_comment(article, "Déjà refusé", status=CommentStatus.REJECTED)
    answer = _json_decision(mod_client, rejected, "reject", reason="spam")
    assert answer.status_code == 422
    assert answer.get_json()["message"] == f"Le commentaire n° {rejected.id} est déjà rejeté."


def test_bulk_applies_what_it_may_and_says_why_not_for_the_rest(app, article, mod_client):
    one = held(article, "À modérer")
    scoring = add_comment(article, "En cours", status=CommentStatus.PENDING)
    response = mod_client.post(
        "/moderation/decisions",
        data={"csrf_token": token(mod_client), "action": "approve",
              "select": [f"{one.id}:{one.version}", f"{scoring.id}:{scoring.version}"],
              "next": "/moderation/file/tous"},
    )  # fmt: skip
    assert response.status_code == 303
    page = mod_client.get("/moderation/file/tous").get_data(as_text=True)
    assert "1 commentaire approuvé." in page
    assert f"Le commentaire n° {scoring.id} est en cours de notation" in page
    assert [_fresh(i).status for i in (one.id, scoring.id)] == ["published", "pending"]
