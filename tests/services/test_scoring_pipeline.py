"""The pipeline: stored, queued, scored in micro-batches, decided once; fail closed."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Comment, CommentScore, CommentStatus, as_utc, utcnow
from app.scoring import ScorerSettings, get_scorer
from app.services import scoring, settings
from bench.tiny_checkpoints import MULTILINGUAL_CLASSES
from tests.conftest import (
    ARTICLE_URL,
    IsolatedClient,
    Reader,
    comments_in_db,
    make_config,
)
from tests.scorers import SpyScorer


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        if predicate():
            return True
        time.sleep(0.02)
    return False


def posted_at_once(app, readers: int, at_once: int) -> list[int]:
    """`readers` new guests each post one comment, `at_once` of them at a time; the statuses."""

    def post(i: int) -> int:
        reader = Reader(app.test_client())
        return reader.post(body=f"Avis numéro {i} sur la situation",
                           email=f"lecteur{i}@example.fr").status_code  # fmt: skip

    with ThreadPoolExecutor(max_workers=at_once) as pool:
        return list(pool.map(post, range(readers)))


def score_of(comment_id):
    db.session.expire_all()
    return db.session.get(CommentScore, comment_id)


def test_neutral_comment_is_published_with_every_category_stored(reader, scorer):
    reader.post(body="Merci pour ce reportage précis.")
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.PUBLISHED
    score = score_of(comment.id)
    assert list(score.scores) == MULTILINGUAL_CLASSES  # read from the checkpoint
    assert all(value == pytest.approx(0.01, abs=1e-3) for value in score.scores.values())
    assert score.model_name == scorer.name and score.model_version == scorer.version
    assert score.windowed is False and score.scored_at is not None


@pytest.fixture
def no_nudge(app):
    settings.set_value("nudge_enabled", False)


def test_toxic_comment_is_rejected_with_its_reasons(client, reader, no_nudge):
    reader.post(body="Espèce de connard")
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.REJECTED
    assert {(r["code"], r["category"]) for r in comment.reasons} >= {
        ("category_reject", "toxicity"),
        ("category_reject", "insult"),
    }
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Non publié — Refusé : il enfreint nos règles de publication" in page
    assert "(propos toxiques et insultes)" in page


def test_borderline_comment_is_held_when_nudges_are_off(app, reader, no_nudge):
    reader.post(body="Quel idiot ce ministre")
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.HELD
    [reason] = comment.reasons
    assert reason["code"] == "category_hold" and reason["category"] == "insult"
    assert reason["score"] == pytest.approx(0.7, abs=0.01) and reason["threshold"] == 0.5


def test_thresholds_come_from_the_database(app, reader, no_nudge):
    from app.models import CategoryThreshold

    db.session.get(CategoryThreshold, "insult").hold = 0.8
    db.session.commit()
    reader.post(body="Quel idiot ce ministre")
    assert comments_in_db()[0].status == CommentStatus.PUBLISHED


@pytest.mark.parametrize("config_overrides", [{"COMMENT_MAX_LENGTH": 10_000}])
def test_long_comment_is_windowed_and_a_late_toxic_word_is_caught(
    reader, config_overrides, no_nudge
):
    body = "le " * 900 + "connard"  # ~900 tokens before the word: past any 512-token window
    assert reader.post(body=body).status_code == 303
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.REJECTED
    assert score_of(comment.id).windowed is True


@pytest.mark.parametrize(
    "config_overrides", [{"SCORING_BATCH_WAIT_MS": 100, "COMMENT_RATE_LIMIT": "100 per minute"}]
)
def test_concurrent_submissions_are_micro_batched_and_each_decided_once(
    app, config_overrides, monkeypatch
):
    decided: list[int] = []
    real = scoring.decide  # requests' decisions and the worker's alike

    def spy(*args, **kwargs):
        ids = real(*args, **kwargs)
        decided.extend(ids)
        return ids

    monkeypatch.setattr(scoring, "decide", spy)

    assert posted_at_once(app, 24, at_once=12) == [303] * 24
    comments = comments_in_db()
    assert len(comments) == 24  # none lost, none duplicated
    assert all(c.status == CommentStatus.PUBLISHED for c in comments)
    assert sorted(decided) == sorted(c.id for c in comments)  # each decided exactly once
    assert max(app.extensions["scoring"].batches) > 1  # scored together, in one model call
    count = db.session.scalar(sa.select(sa.func.count()).select_from(CommentScore))
    assert count == 24


def _pending_comments(article, count):
    rows = [
        Comment(
            article_id=article.id, author_name="A", author_email="a@example.fr",
            body=f"Texte {i}", body_hash=str(i), status=CommentStatus.PENDING,
        )
        for i in range(count)
    ]  # fmt: skip
    db.session.add_all(rows)
    db.session.commit()
    return [c.id for c in rows]


def test_two_workers_never_decide_the_same_comment_twice(app, article, database_url, tmp_path,
                                                         scorer, monkeypatch):  # fmt: skip
    ids = _pending_comments(article, 30)
    decided: list[int] = []
    lock = threading.Lock()
    real = scoring.decide

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        with lock:
            decided.extend(out)
        return out

    monkeypatch.setattr(scoring, "decide", spy)
    other = create_app(make_config(database_url, str(tmp_path / "other")), scorer=scorer)
    workers = [app.extensions["scoring"], other.extensions["scoring"]]
    try:
        for worker in workers:  # both "processes" see every comment at once
            worker.start()  # as their first request would
            worker.enqueue(ids)
        assert wait_until(lambda: len(decided) == 30)
        time.sleep(0.2)
    finally:
        other.extensions["scoring"].stop()
        with other.app_context():  # close its pooled connections now, not when collected
            db.engine.dispose()
    assert sorted(decided) == ids


def test_claims_are_exclusive_and_only_the_holder_records(app, article, scorer):
    [comment_id] = _pending_comments(article, 1)
    first = scoring.claim([comment_id])
    second = scoring.claim([comment_id])
    assert [c.id for c in first.comments] == [comment_id]
    assert second.comments == []
    results = scorer.score(["Texte 0"])
    stale = scoring.Claim("not-the-holder", first.comments)
    assert scoring.record_scores(stale, results, "m", "v") == []
    assert scoring.record_scores(first, results, "m", "v") == [comment_id]
    assert scoring.record_scores(first, results, "m", "v") == []  # never twice


@pytest.fixture
def broken_scorer(tmp_path):
    checkpoint = tmp_path / "broken.ckpt"
    checkpoint.write_bytes(b"not a checkpoint")
    return get_scorer(ScorerSettings(checkpoint=str(checkpoint)))


class TestFailClosed:
    @pytest.fixture
    def scorer(self, broken_scorer):
        return broken_scorer

    def test_comment_is_kept_and_held_with_scoring_unavailable(self, app, client, reader):
        response = reader.post(body="Un avis tout à fait correct")
        assert response.status_code == 303
        [comment] = comments_in_db()
        assert comment.status == CommentStatus.HELD
        assert comment.awaiting_score and comment.scoring_attempts == 1
        assert comment.next_scoring_at is not None
        [reason] = comment.reasons
        assert reason["code"] == "scoring_unavailable" and "broken.ckpt" in reason["detail"]
        assert score_of(comment.id) is None  # never an invented score
        page = client.get(ARTICLE_URL).get_data(as_text=True)
        assert "En attente de modération" in page

    def test_healthz_says_the_site_cannot_score(self, app, client, reader):
        reader.post(body="Un avis")  # makes the worker try the model
        response = client.get("/healthz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["database"]["ok"] is True
        assert body["scoring"]["model"]["state"] == "failed"
        assert "broken.ckpt" in body["scoring"]["model"]["error"]

    def test_staff_see_a_banner(self, app, client, reader):
        from app.models import Role
        from tests.conftest import login, make_user

        reader.post(body="Un avis")
        make_user(email="mod@example.fr", role=Role.MODERATOR)
        login(client, "mod@example.fr")
        page = client.get(ARTICLE_URL).get_data(as_text=True)
        assert "Notation indisponible." in page
        assert "Le modèle de notation n’a pas pu être chargé." in page  # in plain words
        assert "À faire : un administrateur" in page  # with what to do
        assert "broken.ckpt" not in page  # the error itself is for admins
        make_user(email="admin@example.fr", role=Role.ADMIN)
        admin = app.test_client()
        login(admin, "admin@example.fr")
        page = admin.get(ARTICLE_URL).get_data(as_text=True)
        assert page.count("broken.ckpt") == 1  # once, under « Détails techniques »
        assert "Détails techniques" in page
        reader_page = Reader(app.test_client()).client.get(ARTICLE_URL).get_data(as_text=True)
        assert "Notation indisponible." not in reader_page

    def test_backoff_doubles_up_to_the_cap(self, app):
        assert [scoring.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
        assert scoring.backoff(30).total_seconds() == 600


def test_failed_comment_is_decided_when_the_model_comes_back(app, article, broken_scorer):
    ids = _pending_comments(article, 2)
    claim = scoring.claim(ids)
    scoring.record_failure(claim, "model down")
    held = comments_in_db()
    assert {c.status for c in held} == {CommentStatus.HELD}
    for comment in held:  # the backoff is over
        comment.next_scoring_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    due = scoring.sweep()
    assert due == ids
    app.extensions["scoring"].start()  # as the first request would
    app.extensions["scoring"].enqueue(due)
    assert wait_until(lambda: all(not c.awaiting_score for c in comments_in_db()))
    assert {c.status for c in comments_in_db()} == {CommentStatus.PUBLISHED}


def test_unscored_comments_are_queued_again_at_start_up(app, article, client):
    ids = _pending_comments(article, 5)  # left behind by a crash
    client.get("/healthz")  # the first request starts the worker, which recovers them
    assert wait_until(lambda: all(c.status == CommentStatus.PUBLISHED for c in comments_in_db()))
    assert [c.id for c in comments_in_db()] == ids


def test_a_comment_waiting_too_long_is_held_then_decided(app, article):
    [comment_id] = _pending_comments(article, 1)
    comment = db.session.get(Comment, comment_id)
    comment.created_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert scoring.sweep() == [comment_id]  # held, and due again
    db.session.expire_all()
    comment = db.session.get(Comment, comment_id)
    assert comment.status == CommentStatus.HELD and comment.awaiting_score
    assert comment.reasons[0]["code"] == "scoring_unavailable"
    from app.models import ModerationAction

    row = db.session.query(ModerationAction).filter_by(comment_id=comment_id).one()
    assert (row.action, row.actor, row.from_status, row.to_status) == (
        "scoring_timeout",
        "système",
        "pending",
        "held",
    )


def test_a_request_that_dies_holding_its_claim_leaves_the_comment_to_the_sweep(
    app, reader, monkeypatch
):
    """The thread backend's request stores its comment claimed, and decides it itself; should
    it die first, nothing else scores the comment until the claim lapses, then the sweep
    queues it and the worker decides it (as for a worker that vanished)."""
    from app.services import comments as comment_service

    def dies(*args, **kwargs):
        raise RuntimeError("the request's thread died")

    monkeypatch.setattr(comment_service.pipeline, "score_claimed", dies)
    assert reader.post(body="Un avis mesuré").status_code == 500
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.PENDING and comment.claim_token
    assert as_utc(comment.claimed_until) > utcnow() + timedelta(seconds=60)  # the lease
    comment.created_at = utcnow() - timedelta(minutes=5)  # SCORING_TIMEOUT_SECONDS ago
    db.session.commit()
    assert scoring.sweep() == []  # held for a moderator meanwhile, but claimed: not queued
    db.session.expire_all()
    comment = db.session.get(Comment, comment.id)
    assert comment.status == CommentStatus.HELD and comment.awaiting_score
    comment.claimed_until = utcnow() - timedelta(seconds=1)  # the lease lapsed
    db.session.commit()
    assert scoring.sweep() == [comment.id]
    worker = app.extensions["scoring"]
    worker.start()
    worker.enqueue_ids([comment.id])
    assert wait_until(lambda: comments_in_db()[0].status == CommentStatus.PUBLISHED)
    assert score_of(comment.id) is not None  # scored once the sweep found it


def test_a_reader_who_stops_waiting_gives_the_claim_back(app, article, monkeypatch):
    """No score in time: the request gives its claim back and queues the comment for the
    worker, which claims it like any other."""
    from app.scoring import ScoringTimeout

    worker = app.extensions["scoring"]
    queued: list[list[int]] = []
    monkeypatch.setattr(worker, "enqueue", lambda ids: queued.append(list(ids)) or True)

    def late(texts, timeout):
        raise ScoringTimeout("no score within 0.1 s")

    monkeypatch.setattr(worker, "score_texts", late)
    [comment_id] = _pending_comments(article, 1)
    lease = scoring.lease()
    db.session.execute(sa.update(Comment).where(Comment.id == comment_id).values(**lease))
    db.session.commit()
    scoring.score_claimed(comment_id, "Texte 0", lease["claim_token"], 0.1)
    db.session.expire_all()
    comment = db.session.get(Comment, comment_id)
    assert (comment.claim_token, comment.claimed_until) == (None, None)
    assert comment.status == CommentStatus.PENDING and comment.awaiting_score
    assert queued == [[comment_id]]
    assert [c.id for c in scoring.claim([comment_id]).comments] == [comment_id]


class TestSlowModel:
    @pytest.fixture
    def scorer(self, tiny_scorer):
        return SpyScorer(tiny_scorer, delay=1.0)

    @pytest.fixture
    def config_overrides(self):
        return {"SCORING_WAIT_SECONDS": 0.1}

    def test_reader_sees_pending_then_the_page_learns_the_outcome(self, client, reader):
        response = reader.post(body="Un avis mesuré")
        [comment] = comments_in_db()
        assert comment.status == CommentStatus.PENDING
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "en cours de vérification" in page
        status_url = f"{ARTICLE_URL}/commentaires/{comment.id}/statut"
        assert f'data-status-url="{status_url}"' in page
        assert client.get(status_url).get_json()["status"] == "pending"
        assert wait_until(lambda: client.get(status_url).get_json()["status"] == "published")
        assert "publié" in client.get(status_url).get_json()["message"]

    def test_status_is_only_told_to_the_author(self, app, reader):
        reader.post(body="Un avis mesuré")
        [comment] = comments_in_db()
        stranger = app.test_client()
        status_url = f"{ARTICLE_URL}/commentaires/{comment.id}/statut"
        assert stranger.get(status_url).status_code == 404


def test_isolated_client_is_used(app):
    assert app.test_client_class is IsolatedClient


class TestWaitingReadersHoldNoConnection:
    """Readers waiting for the model must not each hold a database connection."""

    @pytest.fixture
    def scorer(self, tiny_scorer):
        return SpyScorer(tiny_scorer, delay=0.6)

    @pytest.fixture
    def config_overrides(self):
        options = {"pool_pre_ping": True, "pool_size": 2, "max_overflow": 0, "pool_timeout": 1}
        return {"SQLALCHEMY_ENGINE_OPTIONS": options, "SCORING_WAIT_SECONDS": 5,
                "SCORING_BATCH_WAIT_MS": 200, "COMMENT_RATE_LIMIT": "100 per minute"}  # fmt: skip

    def test_more_waiting_readers_than_connections(self, app, config_overrides):
        assert posted_at_once(app, 6, at_once=6) == [303] * 6
        assert {c.status for c in comments_in_db()} == {CommentStatus.PUBLISHED}


class TestCopyPasteFlood:
    @pytest.fixture
    def scorer(self, tiny_scorer):
        return SpyScorer(tiny_scorer)

    def test_identical_texts_arriving_together_are_scored_once(self, app, article, scorer):
        flood = "Quel idiot, ce ministre. Partagez !"
        rows = [
            Comment(article_id=article.id, author_name=f"A{i}", author_email=f"a{i}@example.fr",
                    body=flood if i < 6 else f"Un avis posé, numéro {i}.", body_hash=str(i),
                    status=CommentStatus.PENDING)
            for i in range(8)
        ]  # fmt: skip
        db.session.add_all(rows)
        db.session.commit()
        runner = app.extensions["scoring_runner"]
        assert sorted(runner.process([r.id for r in rows])) == sorted(r.id for r in rows)
        assert scorer.calls == [3]  # one model call, each distinct text once
        assert runner.totals["comments"] == 8 and runner.totals["duplicates"] == 5
        db.session.expire_all()
        copies = [db.session.get(Comment, r.id) for r in rows[:6]]
        # Each copy decided on its own, with the same scores (insult 0.7: nudged, not public).
        assert {c.status for c in copies} == {CommentStatus.NUDGED}
        [insult] = {score_of(c.id).scores["insult"] for c in copies}
        assert insult == pytest.approx(0.7, abs=1e-3)
        assert {db.session.get(Comment, r.id).status for r in rows[6:]} == {CommentStatus.PUBLISHED}


class TestModelInstances:
    @pytest.fixture
    def config_overrides(self):
        return {"SCORING_MODEL_INSTANCES": 2, "SCORING_BATCH_WAIT_MS": 0,
                "COMMENT_RATE_LIMIT": "100 per minute"}  # fmt: skip

    @pytest.fixture
    def scorer(self, tiny_scorer):
        return SpyScorer(tiny_scorer, delay=0.3)  # a model busy long enough to need a second

    def test_two_instances_score_batches_side_by_side_each_comment_once(self, app, client):
        assert posted_at_once(app, 6, at_once=6) == [303] * 6
        comments = comments_in_db()
        assert len(comments) == 6 and {c.status for c in comments} == {CommentStatus.PUBLISHED}
        backend = app.extensions["scoring"]
        assert [r.totals["batches"] > 0 for r in backend.runners] == [True, True]
        assert sum(r.totals["comments"] for r in backend.runners) == 6  # each scored once
        scoring_status = client.get("/healthz").json["scoring"]
        assert scoring_status["instances"] == 2 and scoring_status["totals"]["comments"] == 6
        count = db.session.scalar(sa.select(sa.func.count()).select_from(CommentScore))
        assert count == 6
