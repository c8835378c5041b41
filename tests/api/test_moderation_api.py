"""`/api/v1/moderation` as a newsroom's tool calls it: a staff account's token (made by
`flask users token`) or a client key with the moderation scope (`flask clients create
--scope moderation`); the queues with the pages' filters, a comment's card and history, and
the decisions, with the pages' rules, optimistic locking and journal."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate

from app.extensions import db
from app.models import (
    ApiClientUsage,
    Comment,
    CommentReport,
    CommentStatus,
    ModerationAction,
    Role,
    StaffToken,
    utcnow,
)
from tests.conftest import add_comment, login, make_user
from tests.moderation.conftest import held

BASE = "/api/v1/moderation"
MOD_EMAIL = "marie@example.fr"


@pytest.fixture
def config_overrides():
    return {"API_USAGE_FLUSH_SECONDS": 0}  # every call written at once: a test reads them


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def moderator(app):
    return make_user(MOD_EMAIL, display_name="Modo Marie", role=Role.MODERATOR)


@pytest.fixture
def staff_token(app, moderator):
    """A token made as an admin makes one: `flask users token EMAIL`, its last line."""
    result = cli(app, "users", "token", MOD_EMAIL, "--name", "outil-redaction")
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def client_key(app):
    result = cli(app, "clients", "create", "cms-moderation", "--scope", "moderation")
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def get(client, path, key=None, **params):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.get(BASE + path, headers=headers, query_string=params)


def decide(client, comment_id, body, key):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(
        f"{BASE}/comments/{comment_id}/decision",
        data=data,
        headers={"Authorization": f"Bearer {key}"},
        content_type="application/json",
    )


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["field"] == field
    assert error["message"]  # a French sentence
    return error


def ids(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return [card["id"] for card in response.get_json()["cards"]]


def audit_rows(comment_id):
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(ModerationAction)
            .where(ModerationAction.comment_id == comment_id)
            .order_by(ModerationAction.id)
        )
    )


def status_of(comment_id):
    db.session.expire_all()
    return db.session.get(Comment, comment_id).status


# --- Who may call -------------------------------------------------------------------------------


def test_a_token_made_by_the_cli_is_shown_once_stored_hashed_and_works(
    app, client, moderator, article
):
    result = cli(app, "users", "token", MOD_EMAIL, "--name", "outil-redaction")
    assert result.exit_code == 0, result.output
    *_intro, secret = result.output.strip().splitlines()
    assert secret.startswith("mst_") and " " not in secret and len(secret) > 40
    row = db.session.scalar(sa.select(StaffToken))
    assert row.user_id == moderator.id and row.name == "outil-redaction"
    assert secret not in (row.key_hash, row.key_prefix) and secret.startswith(row.key_prefix)
    assert row.last_used_at is None
    held(article, "à voir")
    response = get(client, "/queues", secret)
    assert response.status_code == 200, response.get_data(as_text=True)
    counts = {q["name"]: (q["label"], q["count"]) for q in response.get_json()["queues"]}
    assert counts["a-moderer"] == ("À modérer", 1)
    assert counts["tous"][1] == 1
    db.session.expire_all()
    assert db.session.get(StaffToken, row.id).last_used_at is not None
    listed = cli(app, "users", "tokens", MOD_EMAIL).output
    assert "outil-redaction" in listed and row.key_prefix in listed and secret not in listed
    again = cli(app, "users", "token", MOD_EMAIL, "--name", "outil-redaction")
    assert again.exit_code == 2 and "déjà un jeton actif de ce nom" in again.output


def test_a_revoked_token_is_refused_at_once(app, client, staff_token):
    assert get(client, "/queues", staff_token).status_code == 200
    result = cli(app, "users", "revoke-token", MOD_EMAIL, "--name", "outil-redaction")
    assert result.exit_code == 0, result.output
    assert_error(get(client, "/queues", staff_token), 403, "revoked_key")
    again = cli(app, "users", "revoke-token", MOD_EMAIL)
    assert again.exit_code == 2 and "Aucun jeton actif" in again.output


def test_a_reader_account_gets_no_token_and_a_lowered_or_closed_account_stops_its_token(
    app, client, staff_token
):
    make_user("lecteur@example.fr", role=Role.READER)
    refused = cli(app, "users", "token", "lecteur@example.fr")
    assert refused.exit_code == 2 and "modérateurs et les administrateurs" in refused.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffToken)) == 1
    assert cli(app, "users", "set-role", MOD_EMAIL, "reader").exit_code == 0
    error = assert_error(get(client, "/queues", staff_token), 403, "forbidden")
    assert "n’a plus accès à la modération" in error["message"]
    assert cli(app, "users", "set-role", MOD_EMAIL, "admin").exit_code == 0
    assert get(client, "/queues", staff_token).status_code == 200  # an admin may moderate
    assert cli(app, "users", "deactivate", MOD_EMAIL).exit_code == 0
    error = assert_error(get(client, "/queues", staff_token), 403, "forbidden")
    assert "désactivé" in error["message"]


@pytest.mark.parametrize("key", [None, "mst_inconnu", "mod_inconnue", "pas une clé"])
def test_a_missing_or_unknown_key_is_refused(client, staff_token, key):
    response = get(client, "/queues", key)
    assert_error(response, 401, "missing_key" if key is None else "unknown_key")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_client_key_moderates_only_with_the_moderation_scope(app, client, client_key):
    plain = cli(app, "clients", "create", "cms-ouest").output.strip().splitlines()[-1]
    error = assert_error(get(client, "/queues", plain), 403, "forbidden")
    assert "moderation" in error["message"]
    assert get(client, "/queues", client_key).status_code == 200
    listed = cli(app, "clients", "list").output
    moderating, plain_line = listed.splitlines()[1:]
    assert moderating.startswith("cms-moderation ") and " moderation " in moderating
    assert plain_line.startswith("cms-ouest ") and " moderation " not in plain_line
    usage = {row.client_id: row for row in db.session.scalars(sa.select(ApiClientUsage))}
    assert sorted((u.calls, u.errors, u.last_error) for u in usage.values()) == [
        (1, 0, None),
        (1, 1, "forbidden"),
    ]  # the calls count for « Réglages » as on /score
    bad = cli(app, "clients", "create", "autre", "--scope", "tout")
    assert bad.exit_code == 2  # click refuses a scope it does not know


# --- Deciding -----------------------------------------------------------------------------------


def test_approve_publishes_and_the_journal_names_the_account(
    app, client, article, staff_token, moderator
):
    comment = held(article, "Quel idiot, ce ministre")
    response = decide(client, comment.id, {"action": "approve", "version": 1}, staff_token)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["message"] == f"Commentaire n° {comment.id} approuvé et publié."
    assert body["comment"]["status"] == "published" and body["comment"]["version"] == 2
    assert status_of(comment.id) == CommentStatus.PUBLISHED
    page = client.get(f"/articles/{article.slug}").get_data(as_text=True)
    assert "Quel idiot, ce ministre" in page  # readers see it
    [row] = audit_rows(comment.id)
    assert (row.action, row.actor, row.actor_id) == ("approved", "Modo Marie", moderator.id)
    assert (row.from_status, row.to_status) == ("held", "published")


def test_a_client_decides_as_client_name_and_the_journal_says_so(app, client, article, client_key):
    comment = held(article)
    response = decide(
        client, comment.id, {"action": "reject", "version": 1, "reason": "insultes"}, client_key
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert status_of(comment.id) == CommentStatus.REJECTED
    [row] = audit_rows(comment.id)
    assert (row.actor, row.actor_id, row.reason_code) == ("client:cms-moderation", None, "insultes")
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status_reason == (
        "Refusé par la modération : insultes ou attaques personnelles."
    )
    make_user("chef@example.fr", display_name="Chef", role=Role.MODERATOR)
    staff = app.test_client()
    login(staff, "chef@example.fr")
    journal = staff.get("/moderation/journal").get_data(as_text=True)
    assert "client de l’API <bdi>cms-moderation</bdi>" in journal


def test_reject_without_a_reason_is_refused_naming_reason(client, article, staff_token):
    comment = held(article)
    missing = decide(client, comment.id, {"action": "reject", "version": 1}, staff_token)
    assert_error(missing, 422, "required", "reason")
    unknown = decide(
        client, comment.id, {"action": "reject", "version": 1, "reason": "nul"}, staff_token
    )
    assert_error(unknown, 422, "invalid_field", "reason")
    assert status_of(comment.id) == CommentStatus.HELD and audit_rows(comment.id) == []


def test_a_stale_version_is_a_conflict_and_changes_nothing(client, article, staff_token):
    comment = held(article)
    first = decide(client, comment.id, {"action": "approve", "version": 1}, staff_token)
    assert first.status_code == 200
    late = decide(
        client, comment.id, {"action": "reject", "version": 1, "reason": "spam"}, staff_token
    )
    error = assert_error(late, 409, "conflict", "version")
    assert "déjà été traité par Modo Marie" in error["message"]
    assert status_of(comment.id) == CommentStatus.PUBLISHED
    assert [row.action for row in audit_rows(comment.id)] == ["approved"]


def test_a_comment_still_being_scored_cannot_be_decided(client, article, staff_token):
    pending = add_comment(article, "En cours", status=CommentStatus.PENDING, awaiting_score=True)
    response = decide(client, pending.id, {"action": "approve", "version": 1}, staff_token)
    error = assert_error(response, 422, "not_allowed", "action")
    assert "en cours de notation" in error["message"]
    assert status_of(pending.id) == CommentStatus.PENDING


def test_keep_clears_the_reports_of_a_reported_published_comment(client, article, staff_token):
    comment = add_comment(article, "Signalé", flagged_at=utcnow(), report_count=2)
    for key, reason in (("session:a", "spam"), ("session:b", "insulte")):
        db.session.add(CommentReport(comment_id=comment.id, reporter_key=key, reason=reason))
    db.session.commit()
    card = get(client, f"/comments/{comment.id}", staff_token).get_json()["comment"]
    assert card["flagged"] is True and sorted(card["actions"]) == ["approve", "keep", "reject"]
    assert sorted(r["label"] for r in card["reports"]) == ["Insulte", "Spam"]
    response = decide(client, comment.id, {"action": "keep", "version": 1}, staff_token)
    assert response.status_code == 200, response.get_data(as_text=True)
    kept = response.get_json()["comment"]
    assert kept["status"] == "published" and kept["flagged"] is False and kept["reports"] == []
    assert [row.action for row in audit_rows(comment.id)] == ["reports_dismissed"]


def test_bad_decision_bodies_are_refused_in_the_one_shape(client, article, staff_token):
    comment = held(article)
    assert_error(decide(client, comment.id, "{pas du json", staff_token), 400, "invalid_json")
    as_text = decide(client, comment.id, {"action": "approve", "version": "1"}, staff_token)
    assert_error(as_text, 422, "invalid_field", "version")
    unknown = decide(client, comment.id, {"action": "publier", "version": 1}, staff_token)
    assert_error(unknown, 422, "invalid_field", "action")
    assert status_of(comment.id) == CommentStatus.HELD


def test_an_unknown_comment_or_queue_is_a_404(client, staff_token):
    assert_error(get(client, "/comments/999", staff_token), 404, "comment_not_found", "comment_id")
    missing = decide(client, 999, {"action": "approve", "version": 1}, staff_token)
    assert_error(missing, 404, "comment_not_found", "comment_id")
    assert_error(get(client, "/queues/inconnue", staff_token), 404, "not_found")


# --- Reading the queues -------------------------------------------------------------------------


def test_a_comment_detail_has_scores_reasons_reports_and_history(
    app, client, article, staff_token, client_key
):
    parent = add_comment(article, "Le billet du jour")
    comment = held(article, "Quel idiot", parent=parent)
    detail = get(client, f"/comments/{comment.id}", staff_token).get_json()
    card = detail["comment"]
    assert card["status"] == "held" and card["status_label"] == "à modérer"
    assert card["scores"] == {"toxicity": 0.2, "insult": 0.7}
    assert card["model"] == {"name": "detoxify-test", "version": "t", "windowed": False}
    [reason] = card["reasons"]
    assert reason["code"] == "category_hold" and reason["category"] == "insult"
    assert reason["message"] == "insultes : score 0,70 ≥ seuil de modération 0,50"
    assert card["parent"] == {"id": parent.id, "author": "Dominique", "body": "Le billet du jour"}
    assert card["story"]["id"] == article.id and card["story"]["title"] == article.title
    assert card["author"]["kind"] == "guest" and card["author"]["published"] == 1
    assert card["author"]["email"] == "dominique@example.fr"  # as the moderators' card shows it
    assert card["actions"] == ["approve", "reject"]
    assert card["created_at"].endswith("+00:00")
    assert detail["history"] == []
    decide(client, comment.id, {"action": "approve", "version": 1}, staff_token)
    [row] = get(client, f"/comments/{comment.id}", staff_token).get_json()["history"]
    assert row["actor"] == "Modo Marie" and row["action_label"] == "Approuvé"
    assert (row["from_status"], row["to_status"]) == ("held", "published")
    by_client = get(client, f"/comments/{comment.id}", client_key).get_json()["comment"]
    assert by_client["author"]["email"] is None  # no page shows a client readers' addresses
    assert "dominique@example.fr" not in json.dumps(
        get(client, "/queues/tous", client_key).get_json()
    )


def test_filters_are_the_pages_own(app, client, article, staff_token, client_key):
    account = make_user("abonne@example.fr", display_name="Abonné", role=Role.READER)
    calm = held(article, "Un avis tranché", score=0.55, author_email="guest@example.fr")
    rude = held(article, "Quel idiot", score=0.95, user_id=account.id, author_name="Abonné")
    obscene = add_comment(
        article,
        "Quelle merde",
        status=CommentStatus.HELD,
        reasons=[{"code": "category_hold", "category": "obscene", "score": 0.65}],
    )
    now = utcnow()
    for offset, comment in ((-3, calm), (-2, rude), (-1, obscene)):
        comment.created_at = now + timedelta(hours=offset)
    db.session.commit()
    assert ids(get(client, "/queues/a-moderer", staff_token)) == [obscene.id, rude.id, calm.id]
    assert ids(get(client, "/queues/a-moderer", staff_token, sort="anciens")) == [
        calm.id,
        rude.id,
        obscene.id,
    ]
    toxic_first = ids(get(client, "/queues/a-moderer", staff_token, sort="toxiques"))
    assert toxic_first[0] == rude.id
    assert ids(get(client, "/queues/a-moderer", staff_token, category="obscene")) == [obscene.id]
    assert ids(get(client, "/queues/a-moderer", staff_token, q="IDIOT")) == [rude.id]
    assert ids(get(client, "/queues/a-moderer", staff_token, reason="category_reject")) == []
    assert ids(get(client, "/queues/a-moderer", staff_token, account_id=account.id)) == [rude.id]
    by_address = get(client, "/queues/tous", staff_token, author="GUEST@example.fr")
    assert ids(by_address) == [calm.id]
    assert ids(get(client, "/queues/a-moderer", staff_token, article_id=article.id + 1)) == []
    assert ids(get(client, "/queues/rejetes", staff_token)) == []
    refused = get(client, "/queues/tous", client_key, author="guest@example.fr")
    assert_error(refused, 403, "forbidden", "author")
    assert_error(
        get(client, "/queues/tous", staff_token, sort="pire"), 422, "invalid_field", "sort"
    )
    assert_error(get(client, "/queues/tous", staff_token, tri="x"), 422, "invalid_field", "tri")
    assert_error(get(client, "/queues/tous", staff_token, page="0"), 422, "invalid_field", "page")


def test_pagination_walks_the_whole_queue_once(client, article, staff_token):
    made = [held(article, f"Commentaire {n}").id for n in range(30)]
    first = get(client, "/queues/a-moderer", staff_token).get_json()
    where = (first["page"], first["per_page"], first["total"], first["has_more"])
    assert where == (1, 25, 30, True)
    second = get(client, "/queues/a-moderer", staff_token, page=2).get_json()
    assert second["has_more"] is False and len(second["cards"]) == 5
    seen = [c["id"] for c in first["cards"] + second["cards"]]
    assert sorted(seen) == sorted(made) and len(set(seen)) == 30
    assert get(client, "/queues/a-moderer", staff_token, page=3).get_json()["cards"] == []


def test_the_openapi_document_is_valid_and_says_who_may_call(client):
    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    paths = document["paths"]
    decision = paths["/api/v1/moderation/comments/{comment_id}/decision"]["post"]
    assert decision["security"] == [{"staff_token": []}, {"client_key": ["moderation"]}]
    assert {"200", "401", "403", "404", "409", "422"} <= set(decision["responses"])
    queue = paths["/api/v1/moderation/queues/{queue}"]["get"]
    [queue_param] = [p for p in queue["parameters"] if p["in"] == "path"]
    queues = ["a-moderer", "signales", "rejetes", "approuves", "tous"]
    assert queue_param["schema"]["enum"] == queues
    assert "staff_token" in document["components"]["securitySchemes"]


HOSTILE = ["99999999999999999999", "9" * 5000, "-1", "0", " ", "%00", "\x00", "x" * 10_000, "²"]


def test_hostile_values_in_every_field_never_get_a_5xx(client, article, staff_token):
    comment = held(article)
    fields = ["sort", "article_id", "reason", "category", "q", "author", "account_id", "page"]
    failures = []
    for value in HOSTILE:
        for path in ("/queues/a-moderer", "/queues/tous", f"/comments/{comment.id}"):
            for name in fields:
                response = get(client, path, staff_token, **{name: value})
                if response.status_code >= 500:
                    failures.append((path, name, value[:10], response.status_code))
        for name in ("action", "version", "reason", "note"):
            body = {"action": "reject", "version": 999, "reason": "spam", name: value}
            response = decide(client, comment.id, body, staff_token)
            if response.status_code >= 500:
                failures.append(("decision", name, value[:10], response.status_code))
        response = get(client, f"/comments/{value}", staff_token)
        if response.status_code != 404:
            failures.append(("comments", "id", value[:10], response.status_code))
    assert failures == []
    assert status_of(comment.id) == CommentStatus.HELD  # no hostile body decided it


def test_a_control_character_in_a_filter_or_note_is_a_french_field_error(
    client, article, staff_token
):
    comment = held(article)
    error = assert_error(
        get(client, "/queues/tous", staff_token, q="a\x00b"), 422, "invalid_field", "q"
    )
    assert "caractères de contrôle" in error["message"]
    body = {"action": "approve", "version": 1, "note": "note\x00"}
    assert_error(decide(client, comment.id, body, staff_token), 422, "invalid_field", "note")
