"""SCORING_BACKEND=celery, in one process: the task, the broker-down path, the staff's view.

The real processes (gunicorn, Celery workers, beat, a Redis of their own) are exercised in
tests/system; here the tasks run in the test's process (`Task.apply`) against the machine's
Redis (127.0.0.1:6379, a database number of their own) or a port where nothing listens.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Comment, CommentScore, CommentStatus, ModerationAction
from app.tasks import SCORE_TASK, SWEEP_TASK
from bench.stack import free_port
from tests.conftest import ARTICLE_URL, live_redis_db, live_redis_url, login, make_user


def _pending(article, count):
    rows = [
        Comment(
            article_id=article.id, author_name="A", author_email=f"a{i}@example.fr",
            body=f"Un avis posé, numéro {i}." if i % 2 else f"Quel idiot, numéro {i}.",
            body_hash=str(i), status=CommentStatus.PENDING,
        )
        for i in range(count)
    ]  # fmt: skip
    db.session.add_all(rows)
    db.session.commit()
    return [c.id for c in rows]


@pytest.fixture
def redis_url(worker_id):
    return live_redis_url(worker_id, 1)


@pytest.fixture
def live_redis(redis_url):
    yield from live_redis_db(redis_url)


class TestWithBroker:
    @pytest.fixture
    def config_overrides(self, redis_url):
        return {
            "SCORING_BACKEND": "celery",
            "REDIS_URL": redis_url,
            "SCORING_BATCH_WAIT_MS": 0,
            "MODEL_FOLLOW_SECONDS": 0,
        }

    def test_one_task_scores_what_arrived_together_in_one_model_call(self, app, article,
                                                                     live_redis):  # fmt: skip
        ids = _pending(article, 5)
        task = app.extensions["celery"].tasks[SCORE_TASK]
        assert task.apply(args=[[ids[0]]]).get() == 5  # its own comment, and the four others
        runner = app.extensions["scoring"].runner
        assert runner.batches == [5]
        db.session.expire_all()
        statuses = [db.session.get(Comment, i).status for i in ids]
        assert statuses == ["nudged", "published", "nudged", "published", "nudged"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CommentScore)) == 5
        # The requests waiting for these comments are told, through Redis.
        backend = app.extensions["scoring"]
        assert all(backend.wait(i, 0.1) for i in ids)
        # A second task for a comment already decided does nothing, and wakes nobody.
        assert task.apply(args=[[ids[1]]]).get() == 0
        assert runner.batches == [5]
        assert backend.wait(ids[1], 0.1) is False

    def test_a_worker_switches_to_a_promoted_model_between_two_tasks(
        self, app, article, live_redis, tmp_path, monkeypatch
    ):
        import json

        from app.models import Role, ShadowCandidate
        from app.services import live_model
        from app.tasks import _WORKER_KEY
        from bench.tiny_checkpoints import MULTILINGUAL_CLASSES, build_constant_checkpoint

        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
            monkeypatch.setenv(name, "1")
        scores = dict.fromkeys(MULTILINGUAL_CLASSES, 0.01) | {"threat": 0.97}
        model = build_constant_checkpoint(tmp_path, probabilities=scores)
        task = app.extensions["celery"].tasks[SCORE_TASK]
        first = _pending(article, 1)
        assert task.apply(args=[first]).get() == 1
        configured = db.session.get(CommentScore, first[0]).model_name

        admin = make_user("chef@example.fr", role=Role.ADMIN)
        candidate = ShadowCandidate(model_path=str(model.checkpoint),
                                    hf_config=str(model.hf_config), started_by="Chef")  # fmt: skip
        db.session.add(candidate)
        db.session.flush()
        live_model.promote(candidate, admin)
        db.session.commit()
        # The next task's batch loads it first (an idle worker's heartbeat thread would have).
        second = _pending(article, 1)
        assert task.apply(args=[second]).get() == 1
        runner = app.extensions["scoring"].runner
        assert runner.following == (str(model.checkpoint), str(model.hf_config))
        db.session.expire_all()
        score = db.session.get(CommentScore, second[0])
        assert score.model_name != configured and score.scores["threat"] > 0.96
        assert db.session.get(Comment, second[0]).status == CommentStatus.NUDGED  # its author asked
        # Web processes see it through the worker's heartbeat (« Essai »).
        state = {"worker": "w1@hôte", "at": 0, **runner.status()}
        live_redis.set(_WORKER_KEY.format("hôte:1"), json.dumps(state), ex=30)
        [seen] = live_model.processes()
        assert seen["following"] == str(model.checkpoint) and seen["switch_error"] is None

    def test_draft_scores_are_kept_in_redis_for_every_web_process_without_their_text(
        self, app, live_redis
    ):
        from app.scoring import ScoreResult
        from app.services import drafts

        drafts._remember("Un brouillon à garder.", ScoreResult({"insult": 0.7}, False), "m", "v")
        keys = live_redis.keys("moderation:draft:*")
        assert len(keys) == 1 and drafts.key_of("Un brouillon à garder.").encode() in keys[0]
        assert b"brouillon" not in live_redis.get(keys[0])  # the scores, never the text
        assert 0 < live_redis.ttl(keys[0]) <= 600  # DRAFT_SCORE_MINUTES
        assert drafts._recall("  Un brouillon à garder.\r\n")["model_version"] == "v"

    def test_the_sweep_queues_comments_whose_retry_is_due(self, app, article, live_redis):
        from datetime import timedelta

        from app.models import utcnow

        ids = _pending(article, 2)
        db.session.execute(
            sa.update(Comment)
            .where(Comment.id.in_(ids))
            .values(status=CommentStatus.HELD, next_scoring_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        celery_app = app.extensions["celery"]
        celery_app.conf.task_always_eager = True  # the queued task runs here, now
        assert celery_app.tasks[SWEEP_TASK].apply().get() == 2
        db.session.expire_all()
        assert [db.session.get(Comment, i).awaiting_score for i in ids] == [False, False]

    def test_staff_are_told_when_no_worker_answers(self, app, client, live_redis):
        make_user("modo@example.fr", role="moderator")
        login(client, "modo@example.fr")
        page = client.get("/moderation/", follow_redirects=True).get_data(as_text=True)
        assert "Notation indisponible." in page
        assert "Aucun programme de notation (worker Celery) ne répond." in page  # plain words
        assert "démarre les workers de notation" in page  # and what to do
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json["scoring"]["backend"] == "celery"
        assert health.json["scoring"]["workers"] == []
        # The configured model, by name, and why it cannot score.
        assert health.json["scoring"]["model"] == {
            "name": "detoxify-checkpoint:tiny-words.ckpt",
            "state": "failed",
            "error": "aucun worker de scoring ne répond",
        }


class TestBrokerDown:
    @pytest.fixture
    def config_overrides(self):
        return {"SCORING_BACKEND": "celery", "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}

    def test_a_comment_is_kept_and_held_at_once(self, app, reader):
        response = reader.post("Un avis posé sur la reconstruction.")
        assert response.status_code == 303
        [comment] = db.session.scalars(sa.select(Comment)).all()
        assert comment.status == CommentStatus.HELD
        assert comment.awaiting_score  # the sweep queues it again once the broker is back
        assert comment.next_scoring_at is not None
        assert [r["code"] for r in comment.reasons] == ["scoring_unavailable"]
        assert "unreachable" in comment.reasons[0]["detail"]
        actions = db.session.scalars(sa.select(ModerationAction.action)).all()
        assert actions == ["submitted", "scoring_failed"]
        page = reader.client.get(ARTICLE_URL).get_data(as_text=True)
        assert "Un avis posé sur la reconstruction." in page  # its author still sees it
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CommentScore)) == 0

    def test_a_broker_lost_while_a_reader_waits_holds_the_comment(self, app, article):
        [comment_id] = _pending(article, 1)
        assert app.extensions["scoring"].wait(comment_id, 0.5) is False
        db.session.expire_all()
        comment = db.session.get(Comment, comment_id)
        assert comment.status == CommentStatus.HELD
        assert comment.awaiting_score
        assert [r["code"] for r in comment.reasons] == ["scoring_unavailable"]
