"""Imported comments are scored in the background, without a decision (their past status
stands), after every live comment; with --rescore-decide, pending ones are decided by the
policy once scored."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.actions import AuditAction
from app.extensions import db
from app.models import Comment, CommentScore, CommentStatus, ModerationAction, Role, utcnow
from app.scoring import backend
from app.services import admin, scoring
from app.tasks import SWEEP_TASK
from tests.conftest import add_comment, live_redis_db, live_redis_url, login, make_user
from tests.imports.conftest import FIXTURES, by_author, imported, run_import

WXR = FIXTURES / "wxr-1.2.xml"


def scored_ids() -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(CommentScore.comment_id)))


def background_batches(limit: int = 16) -> int:
    """Run the worker's background batches until none is left; how many comments it took."""
    total = 0
    while taken := backend().runner.process_background(limit):  # type: ignore[attr-defined]
        total += taken
    db.session.expire_all()
    return total


@pytest.fixture
def wxr(app, site):
    result = run_import(app, "wordpress", WXR, "--site", "journal")
    assert result.exit_code == 0, result.output


def test_scores_are_recorded_and_statuses_stay(app, wxr):
    before = {c.id: (c.status, c.version, c.decided_at) for c in imported()}
    assert all(c.awaiting_score and c.score_only for c in imported())
    assert background_batches(limit=4) == 11
    assert scored_ids() == set(before)
    for comment in imported():
        assert (comment.status, comment.version, comment.decided_at) == before[comment.id]
        assert comment.awaiting_score is False and comment.claim_token is None
    # No decision was taken: nothing but the import in the journal.
    actions = set(db.session.scalars(sa.select(ModerationAction.action)))
    assert actions == {AuditAction.IMPORTED}


def test_a_borderline_imported_comment_keeps_its_status_whatever_its_score(app, site, tmp_path):
    text = (WXR.read_text()).replace(
        "Sauf que la participation reste basse", "Quel idiot, la participation reste basse"
    )
    path = tmp_path / "idiot.xml"
    path.write_text(text)
    run_import(app, "wordpress", path, "--site", "journal")
    background_batches()
    dominique = [c for c in imported() if c.body.startswith("Quel idiot")][0]
    assert dominique.status == CommentStatus.PUBLISHED  # past the hold threshold, still published
    score = db.session.get(CommentScore, dominique.id)
    assert score.scores["insult"] == pytest.approx(0.7, abs=0.01)


def test_simulation_and_calibration_cover_imported_comments(app, wxr):
    background_batches()
    simulated = admin.simulate()
    assert simulated.total >= 11
    board = admin.calibrate(0.98)
    assert board.sources["import:wordpress"] == 10  # 8 published, 2 rejected; held is no decision
    make_user(email="admin@example.fr", display_name="Admin Alex", role=Role.ADMIN)
    client = app.test_client()
    login(client, "admin@example.fr")
    page = client.get("/admin/calibration").get_data(as_text=True)
    assert "statuts importés de WordPress (publiés, refusés là-bas) : 10" in page


def test_rescore_decide_sends_pending_ones_through_the_policy(app, site):
    result = run_import(app, "wordpress", WXR, "--site", "journal", "--rescore-decide")
    assert "1 pending" in result.output
    lou = by_author("Lou")
    assert lou.status == CommentStatus.PENDING and not lou.score_only
    background_batches()
    lou = by_author("Lou")
    assert lou.status == CommentStatus.PUBLISHED  # a neutral text, under every threshold
    [scored] = db.session.scalars(
        sa.select(ModerationAction).where(
            ModerationAction.comment_id == lou.id, ModerationAction.action == AuditAction.SCORED
        )
    )
    assert scored.from_status == CommentStatus.PENDING
    assert by_author("Meilleur Casino").status == CommentStatus.REJECTED  # not re-decided


def test_an_old_pending_import_is_not_held_by_the_sweep_for_waiting(app, site):
    run_import(app, "wordpress", WXR, "--site", "journal", "--rescore-decide")
    assert scoring.sweep() == []  # its 2024 date is not a reader waiting since 2024
    assert by_author("Lou").status == CommentStatus.PENDING


def test_live_comments_are_claimed_before_the_imported_backlog(app, wxr, article):
    live = add_comment(
        article, "Un lecteur d’aujourd’hui", status=CommentStatus.PENDING, awaiting_score=True
    )
    # A worker filling its batch takes live comments only, whatever their ids.
    claim = scoring.claim([], fill_up_to=16)
    assert [c.id for c in claim.comments] == [live.id]
    # The sweep re-queues live comments only; the backlog is the background's.
    db.session.execute(
        sa.update(Comment)
        .where(Comment.id == live.id)
        .values(claimed_until=utcnow() - timedelta(seconds=1), next_scoring_at=utcnow())
    )
    db.session.commit()
    assert scoring.sweep() == [live.id]
    # The sweep also ran the retention: the spam and the trashed comment, rejected in March
    # 2024, are past REJECTED_TEXT_RETENTION_DAYS: their texts are gone, nothing to score.
    erased = {c.author_name for c in imported() if c.text_erased_at is not None}
    assert erased == {"Meilleur Casino", "Sacha"}
    assert scoring.awaiting_count() == 1 and scoring.background_count() == 9
    background = scoring.claim_background(16)
    assert live.id not in {c.id for c in background.comments}
    assert len(background.comments) == 9


def test_the_thread_worker_scores_the_backlog_when_idle(app, client, wxr, reader):
    reader.post(body="Merci pour cet article très clair.")  # starts the worker; decided first
    live = [c for c in db.session.scalars(sa.select(Comment)) if c.import_key is None]
    assert [c.status for c in live] == [CommentStatus.PUBLISHED]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and scoring.background_count():
        time.sleep(0.05)
    assert scoring.background_count() == 0
    # Every one that still has its text (the sweep's retention may erase old rejected ones).
    assert {c.id for c in imported() if c.text_erased_at is None} <= scored_ids()
    assert len(scored_ids()) >= 9


class TestCelery:
    """SCORING_BACKEND=celery: the sweep starts one chain of background tasks (a Redis key
    says one runs), each scores a batch and queues the next behind the live tasks."""

    @pytest.fixture
    def redis_url(self, worker_id):
        return live_redis_url(worker_id, 1)

    @pytest.fixture
    def live_redis(self, redis_url):
        yield from live_redis_db(redis_url)

    @pytest.fixture
    def config_overrides(self, redis_url):
        return {"SCORING_BACKEND": "celery", "REDIS_URL": redis_url, "SCORING_BATCH_SIZE": 4}

    def test_the_sweep_starts_the_chain_that_scores_the_backlog(self, app, live_redis, wxr):
        celery_app = app.extensions["celery"]
        celery_app.conf.task_always_eager = True  # queued tasks run here, now
        before = {c.id: c.status for c in imported()}
        assert celery_app.tasks[SWEEP_TASK].apply().get() == 0  # no live comment was due
        db.session.expire_all()
        assert scoring.background_count() == 0
        # The sweep's retention erased the two old rejected texts first: not scored.
        erased = {c.id for c in imported() if c.text_erased_at is not None}
        assert len(erased) == 2
        assert scored_ids() == set(before) - erased
        assert {c.id: c.status for c in imported()} == before
        assert app.extensions["scoring"].runner.batches == [4, 4, 1]
        assert live_redis.get("moderation:background") is None  # the chain ended

    def test_no_second_chain_while_one_runs(self, app, live_redis, wxr):
        celery_app = app.extensions["celery"]
        celery_app.conf.task_always_eager = True
        live_redis.set("moderation:background", 1, ex=60)  # a chain runs elsewhere
        celery_app.tasks[SWEEP_TASK].apply().get()
        assert scoring.background_count() == 9  # 11, less the two texts the retention erased
        assert scored_ids() == set()
