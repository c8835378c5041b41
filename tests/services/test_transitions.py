"""The allowed moves of a comment (services/transitions), tried from every status on real rows."""

from __future__ import annotations

import pytest

from app.actions import AuditAction
from app.extensions import db
from app.models import Comment, CommentStatus, ModerationAction, utcnow
from app.services import transitions
from tests.conftest import add_comment

A = AuditAction
PENDING, NUDGED, PUBLISHED, HELD, REJECTED = (
    CommentStatus.PENDING,
    CommentStatus.NUDGED,
    CommentStatus.PUBLISHED,
    CommentStatus.HELD,
    CommentStatus.REJECTED,
)
REPORTED = "published, reported"  # published and in « Signalés »
STARTS = (PENDING, NUDGED, PUBLISHED, REPORTED, HELD, REJECTED)

# action: (where it may start from, where it leads)
ALLOWED = {
    A.SCORED: ({PENDING, HELD}, PUBLISHED),
    A.SCORING_FAILED: ({PENDING}, HELD),
    A.SCORING_TIMEOUT: ({PENDING}, HELD),
    A.NUDGE_EXPIRED: ({NUDGED}, HELD),
    A.SENT_ANYWAY: ({NUDGED}, HELD),
    A.REVISED: ({NUDGED}, PENDING),
    A.EDITED: ({PUBLISHED, HELD, REPORTED}, PENDING),  # by its author, within the window
    A.FLAGGED: ({PUBLISHED, REPORTED}, None),  # the status stays
    A.APPROVED: ({HELD, REJECTED, REPORTED}, PUBLISHED),  # never pending, nudged, published
    A.REJECTED: ({HELD, PUBLISHED, REPORTED}, REJECTED),  # never pending, nudged, rejected
    A.REPORTS_DISMISSED: ({REPORTED}, None),
    A.REMOVED: (set(STARTS), None),  # from anywhere, the status stays (a placeholder)
}


def _comment(article, start):
    status = PUBLISHED if start == REPORTED else start
    return add_comment(
        article,
        f"Un commentaire {start}",
        status=status,
        flagged_at=utcnow() if start == REPORTED else None,
        report_count=3 if start == REPORTED else 0,
        awaiting_score=start in (PENDING, HELD),
        claim_token="jeton",
    )


def test_the_table_covers_every_action_that_moves_a_comment():
    assert set(ALLOWED) == set(transitions.RULES)
    assert transitions.HUMAN_DECISIONS == {A.APPROVED, A.REJECTED}
    assert A.SUBMITTED not in transitions.RULES  # an insert, not a move


@pytest.mark.parametrize("action", list(ALLOWED))
def test_each_move_starts_only_where_allowed(app, article, action):
    sources, target = ALLOWED[action]
    for start in STARTS:
        comment = _comment(article, start)
        before = (comment.status, comment.version)
        assert transitions.allows(action, comment) is (start in sources), start
        moved = transitions.apply(
            action,
            where=[Comment.id == comment.id],
            actor="test",
            from_status=comment.status,
            to_status=target,
        )
        db.session.commit()
        db.session.refresh(comment)
        rows = db.session.query(ModerationAction).filter_by(comment_id=comment.id).all()
        if start not in sources:
            assert moved == [] and (comment.status, comment.version) == before, start
            assert rows == []
            continue
        assert moved == [comment.id], start
        assert comment.status == (target or before[0])
        assert comment.version == before[1] + 1
        assert [(r.action, r.from_status, r.to_status) for r in rows] == [
            (action, before[0], target or before[0])
        ]


def test_a_decision_resets_the_claim_and_the_reports(app, article):
    comment = _comment(article, REPORTED)
    comment.next_scoring_at = utcnow()
    db.session.commit()
    transitions.apply(
        A.REJECTED, where=[Comment.id == comment.id], actor="test", from_status=PUBLISHED
    )
    db.session.commit()
    db.session.refresh(comment)
    assert (comment.claim_token, comment.claimed_until, comment.next_scoring_at) == (None,) * 3
    assert not comment.awaiting_score
    assert (comment.flagged_at, comment.report_count, comment.hidden) == (None, 0, False)
    assert comment.decided_at is not None


def test_a_rewrite_is_scored_again_from_scratch(app, article):
    comment = _comment(article, NUDGED)
    comment.reasons, comment.status_reason, comment.decided_at = [{"code": "nudge"}], "x", utcnow()
    db.session.commit()
    transitions.apply(
        A.REVISED, where=[Comment.id == comment.id], actor="test", values={"body": "Reformulé"}
    )
    db.session.commit()
    db.session.refresh(comment)
    assert (comment.status, comment.body, comment.reasons) == (PENDING, "Reformulé", [])
    assert comment.awaiting_score and comment.decided_at is None and comment.status_reason is None


def test_a_timeout_keeps_the_claim_of_a_worker_still_at_work(app, article):
    comment = _comment(article, PENDING)
    transitions.apply(A.SCORING_TIMEOUT, where=[Comment.id == comment.id], actor="test")
    db.session.commit()
    db.session.refresh(comment)
    assert comment.status == HELD and comment.claim_token == "jeton"


def test_bulk_moves_are_one_update_with_one_audit_row_each(app, article):
    ids = [_comment(article, NUDGED).id for _ in range(3)] + [_comment(article, HELD).id]
    moved = transitions.apply(A.NUDGE_EXPIRED, where=[Comment.id.in_(ids)], actor="système")
    db.session.commit()
    assert sorted(moved) == ids[:3]
    assert db.session.query(ModerationAction).filter_by(action=A.NUDGE_EXPIRED).count() == 3


@pytest.mark.parametrize(
    ("action", "kwargs"),
    [
        (A.APPROVED, {}),  # from held, rejected or published: say which
        (A.SCORED, {"from_status": PENDING}),  # to which outcome?
        (A.APPROVED, {"from_status": HELD, "to_status": REJECTED}),  # approving never rejects
        (A.REJECTED, {"from_status": HELD, "values": {"status": PUBLISHED}}),
        (A.REJECTED, {"from_status": HELD, "values": {"flagged_at": None}}),  # its own reset
    ],
)
def test_calls_the_table_cannot_take_are_programming_errors(app, action, kwargs):
    with pytest.raises(ValueError):
        transitions.apply(action, where=[], actor="test", **kwargs)
