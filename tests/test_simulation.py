"""Replays and calibrations, table-driven: no app, no database, no model."""

from __future__ import annotations

import json
import math

import pytest

import app.simulation as simulation
from app.policy import (
    CATEGORY_HOLD,
    CATEGORY_REJECT,
    NUDGE_IGNORED,
    READER_PREMODERATED,
    SCORING_UNAVAILABLE,
    Inputs,
    Outcome,
    Reason,
    Threshold,
)
from app.simulation import (
    OUTCOMES,
    CurvePoint,
    Replayed,
    calibrate,
    calibrate_category,
    histogram,
    simulate,
)

P, H, R = Outcome.PUBLISH, Outcome.HOLD, Outcome.REJECT
NEW = {
    "toxicity": Threshold(hold=0.4, reject=0.8),
    "insult": Threshold(hold=0.6, reject=0.95),
    "threat": Threshold(hold=0.1, reject=0.2, enabled=False),
}
PREMODERATED = Reason(READER_PREMODERATED)

# --------------------------------------------------------------------------------------------
# simulate
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "before", "hold_reasons", "after", "codes"),
    [
        ({"toxicity": 0.45}, "publish", (), H, [CATEGORY_HOLD]),  # hold lowered
        ({"toxicity": 0.4}, "publish", (), H, [CATEGORY_HOLD]),  # exactly at the threshold
        ({"toxicity": 0.3999}, "hold", (), P, []),  # hold raised above it
        ({"toxicity": 0.85}, "hold", (), R, [CATEGORY_REJECT]),
        ({"toxicity": 0.5, "insult": 0.96}, "publish", (), R, [CATEGORY_REJECT, CATEGORY_HOLD]),
        ({"insult": 0.9}, "reject", (), H, [CATEGORY_HOLD]),
        ({"threat": 0.99}, "reject", (), P, []),  # category switched off
        ({"unknown": 0.99}, "hold", (), P, []),  # no threshold for it
        ({"toxicity": 0.1}, "hold", (PREMODERATED,), H, [READER_PREMODERATED]),  # rule kept
        ({"toxicity": 0.9}, "hold", (PREMODERATED,), R, [CATEGORY_REJECT, READER_PREMODERATED]),
        (None, "hold", (), H, [SCORING_UNAVAILABLE]),  # unscored: held, as live
        (None, "publish", (), H, [SCORING_UNAVAILABLE]),
        ({"toxicity": 0.1}, P, (), P, []),  # an Outcome is accepted as the stored outcome
    ],
)
def test_each_comment_is_decided_again(scores, before, hold_reasons, after, codes):
    result = simulate([Replayed(1, scores, before, hold_reasons, "texte")], NEW)
    assert result.total == 1
    assert result.matrix[Outcome(before)][after] == 1
    assert result.after[after] == 1
    if Outcome(before) == after:
        assert result.unchanged == 1 and result.examples == {}
    else:
        (example,) = result.examples[(Outcome(before), after)]
        assert (example.id, example.excerpt, example.before, example.after) == (
            1,
            "texte",
            Outcome(before),
            after,
        )
        assert sorted(r.code for r in example.reasons) == sorted(codes)


def comments() -> list[Replayed]:
    return [
        Replayed(1, {"toxicity": 0.1}, "publish"),  # P -> P
        Replayed(2, {"toxicity": 0.45}, "publish", excerpt="deux"),  # P -> H
        Replayed(3, {"toxicity": 0.5}, "publish", excerpt="trois"),  # P -> H
        Replayed(4, {"toxicity": 0.55}, "publish", excerpt="quatre"),  # P -> H
        Replayed(5, {"toxicity": 0.6}, "hold"),  # H -> H
        Replayed(6, {"toxicity": 0.9}, "hold", excerpt="six"),  # H -> R
        Replayed(7, {"toxicity": 0.95}, "reject"),  # R -> R
        Replayed(8, None, "hold"),  # H -> H, unscored
    ]


def test_counts_matrix_and_unchanged():
    result = simulate(comments(), NEW)
    assert result.total == 8
    assert result.before == {P: 4, H: 3, R: 1}
    assert result.after == {P: 1, H: 5, R: 2}
    assert result.matrix == {
        P: {P: 1, H: 3, R: 0},
        H: {P: 0, H: 2, R: 1},
        R: {P: 0, H: 0, R: 1},
    }
    assert (result.unchanged, result.changed, result.unscored) == (4, 4, 1)
    assert [(t.before, t.after, t.count) for t in result.transitions] == [(P, H, 3), (H, R, 1)]


@pytest.mark.parametrize(
    ("examples", "ids"),
    [(0, []), (1, [2]), (2, [2, 3]), (3, [2, 3, 4]), (10, [2, 3, 4])],
)
def test_examples_are_capped_and_in_input_order(examples, ids):
    result = simulate(comments(), NEW, examples=examples)
    assert [e.id for e in result.examples.get((P, H), ())] == ids
    assert all(before != after for before, after in result.examples)  # changed cells only


def test_empty_input():
    result = simulate([], NEW)
    assert result.total == result.unchanged == result.changed == 0
    assert all(result.matrix[b][a] == 0 for b in OUTCOMES for a in OUTCOMES)
    assert result.transitions == [] and result.examples == {}


def test_extra_hold_adds_reasons_per_comment():
    rule = Reason("site_rule", detail="lien")
    result = simulate(
        [Replayed(1, {"toxicity": 0.1}, "publish"), Replayed(2, {"toxicity": 0.1}, "publish")],
        NEW,
        extra_hold=lambda c: [rule] if c.id == 2 else [],
    )
    assert result.matrix[P] == {P: 1, H: 1, R: 0}
    assert result.examples[(P, H)][0].reasons == (rule,)


def test_extra_reject_rejects_whatever_the_scores():
    banned = Reason("banned_word", detail="mot")
    result = simulate(
        [Replayed(1, {"toxicity": 0.1}, "publish"), Replayed(2, None, "hold")],
        NEW,
        extra_reject=lambda c: [banned],
    )
    assert result.matrix[P][R] == 1 and result.matrix[H][R] == 1
    assert result.examples[(P, R)][0].reasons == (banned,)
    assert result.examples[(H, R)][0].reasons[0] == banned


# A comment its author sent anyway after a nudge is replayed with the nudge: the case.
RAISED = {"toxicity": Threshold(hold=0.65, reject=0.9)}


def _sent_anyway(nudge, reviewed=True, scores=None, thresholds=RAISED):
    inputs = Inputs(thresholds, nudge=nudge, sent_anyway=True, replayed=True,
                    anyway_reviewed=reviewed)  # fmt: skip
    return Replayed(1, scores or {"toxicity": 0.6}, "hold", excerpt="tel quel", inputs=inputs)


@pytest.mark.parametrize(
    ("nudge", "after", "codes"),
    [
        ({"toxicity": 0.65}, P, []),  # never nudged at 0.65: nothing ignored, published
        ({"toxicity": 0.5}, H, [NUDGE_IGNORED]),  # still nudged, still sent anyway: held
        ({"toxicity": 0.6}, H, [NUDGE_IGNORED]),  # at the nudge threshold: nudged
        (None, P, []),  # nudges switched off: never nudged
    ],
)
def test_a_comment_sent_anyway_is_replayed_with_the_new_nudge_thresholds(nudge, after, codes):
    result = simulate([_sent_anyway(nudge)])
    assert result.matrix[H][after] == 1
    if after != H:
        assert [r.code for r in result.examples[(H, after)][0].reasons] == codes


def test_four_comments_sent_anyway_published_once_hold_and_nudge_are_raised():
    result = simulate([_sent_anyway({"toxicity": 0.65}) for _ in range(4)])
    assert result.changed == 4 and result.matrix[H][P] == 4


@pytest.mark.parametrize(("reviewed", "after"), [(True, H), (False, R)])
def test_sent_anyway_past_a_reject_threshold_follows_the_setting(reviewed, after):
    comment = _sent_anyway({"toxicity": 0.5}, reviewed, {"toxicity": 0.95})
    assert simulate([comment]).matrix[H][after] == 1


def test_inputs_replace_the_thresholds_and_hold_reasons():
    inputs = Inputs(NEW, hold_reasons=(PREMODERATED,), replayed=True)
    result = simulate([Replayed(1, {"toxicity": 0.1}, "publish", inputs=inputs)])
    assert result.matrix[P][H] == 1
    with pytest.raises(ValueError, match="no inputs and no thresholds"):
        simulate([Replayed(1, {"toxicity": 0.1}, "publish")])


def test_replays_stored_scores_through_the_policy_and_never_nudges(monkeypatch):
    calls = []
    real = simulation.verdict

    def spy(inputs, scores):
        calls.append((inputs, scores))
        return real(inputs, scores)

    monkeypatch.setattr(simulation, "verdict", spy)
    simulate(comments(), NEW)
    assert len(calls) == 8
    for inputs, _scores in calls:
        assert not inputs.may_nudge and inputs.replayed
    assert calls[0][1] == {"toxicity": 0.1} and calls[0][0].thresholds is NEW


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: simulate([Replayed(1, {}, "nudge")], NEW), "unknown outcome"),
        (lambda: simulate([Replayed(1, {}, "published")], NEW), "unknown outcome"),
        (lambda: simulate([], NEW, examples=-1), "examples"),
    ],
)
def test_simulate_rejects_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_as_dict_is_json_ready():
    data = simulate(comments(), NEW).as_dict()
    decoded = json.loads(json.dumps(data))
    assert decoded["matrix"]["publish"]["hold"] == 3
    assert decoded["transitions"][0]["examples"][0] == {
        "id": 2,
        "excerpt": "deux",
        "before": "publish",
        "after": "hold",
        "reasons": [
            {"code": CATEGORY_HOLD, "category": "toxicity", "score": 0.45, "threshold": 0.4}
        ],
    }


# --------------------------------------------------------------------------------------------
# histogram
# --------------------------------------------------------------------------------------------


def one_hot(index: int, bins: int) -> list[int]:
    return [1 if i == index else 0 for i in range(bins)]


@pytest.mark.parametrize(
    ("score", "bins", "index"),
    [
        (0.0, 20, 0),
        (0.049999, 20, 0),
        (0.05, 20, 1),  # on an edge: the bin it opens
        (0.5, 20, 10),
        (0.95, 20, 19),
        (0.999999, 20, 19),
        (1.0, 20, 19),  # 1.0 goes into the last bin
        (0.29, 100, 29),  # 0.29 * 100 == 28.999999999999996: edges must not drift
        (0.57, 100, 57),
        (0.5, 2, 1),
        (1.0, 1, 0),
    ],
)
def test_histogram_bins(score, bins, index):
    assert histogram([score], bins) == one_hot(index, bins)


@pytest.mark.parametrize("score", [-0.01, 1.01, math.nan, math.inf])
def test_histogram_refuses_scores_outside_unit_interval(score):
    with pytest.raises(ValueError):
        histogram([score])


def test_histogram_counts_and_needs_a_bin():
    assert histogram([0.1, 0.1, 0.9], 2) == [2, 1]
    assert histogram([], 4) == [0, 0, 0, 0]
    with pytest.raises(ValueError):
        histogram([0.5], 0)


# --------------------------------------------------------------------------------------------
# calibration curve and suggestion
# --------------------------------------------------------------------------------------------

APPROVED = [0.1, 0.4]
REJECTED = [0.3, 0.8]


@pytest.mark.parametrize(
    ("t", "agreement", "workload", "false_publish", "workload_count", "false_publish_count"),
    [
        (0.0, 2 / 4, 4 / 4, 0.0, 4, 0),  # everything flagged: only the rejected agree
        (0.1, 2 / 4, 4 / 4, 0.0, 4, 0),  # score == t is flagged
        (0.11, 3 / 4, 3 / 4, 0.0, 3, 0),
        (0.3, 3 / 4, 3 / 4, 0.0, 3, 0),
        (0.31, 2 / 4, 2 / 4, 1 / 4, 2, 1),
        (0.41, 3 / 4, 1 / 4, 1 / 4, 1, 1),
        (0.8, 3 / 4, 1 / 4, 1 / 4, 1, 1),
        (0.81, 2 / 4, 0.0, 2 / 4, 0, 2),  # nothing flagged: both rejected published
        (1.0, 2 / 4, 0.0, 2 / 4, 0, 2),
    ],
)
def test_curve_definitions(
    t, agreement, workload, false_publish, workload_count, false_publish_count
):
    result = calibrate_category("toxicity", APPROVED, REJECTED)
    point = result.point(t)
    assert point == CurvePoint(
        t, agreement, workload, false_publish, workload_count, false_publish_count
    )


def test_curve_grid_and_histograms():
    result = calibrate_category("toxicity", APPROVED, REJECTED, bins=10, steps=100)
    assert [p.threshold for p in result.curve] == [i / 100 for i in range(101)]
    assert result.histogram_approved == [0, 1, 0, 0, 1, 0, 0, 0, 0, 0]
    assert result.histogram_rejected == [0, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    assert (result.approved, result.rejected, result.total) == (2, 2, 4)
    assert len(calibrate_category("x", APPROVED, REJECTED, steps=4).curve) == 5


@pytest.mark.parametrize(
    ("approved", "rejected", "target", "suggested", "reached"),
    [
        # perfectly separated: agreement 1 from 0.21 to 0.70, same workload: the highest
        ([0.1, 0.2], [0.7, 0.9], 1.0, 0.7, True),
        ([0.1, 0.2, 0.3, 0.4], [0.6, 0.7, 0.8, 0.9], 0.98, 0.6, True),
        # one disagreement allowed (90 %): leave 0.5 published, flag 0.9 only
        ([0.1] * 8, [0.5, 0.9], 0.9, 0.9, True),
        # 95 % asks for both rejected: flag from 0.5 up
        ([0.1] * 8, [0.5, 0.9], 0.95, 0.5, True),
        # 49 of 50 is exactly 98 %: reached, and flagging nothing (one false publish) is
        # the lowest workload that reaches it
        ([0.1] * 48 + [0.6], [0.7], 0.98, 1.0, True),
        ([0.1] * 48 + [0.6], [0.7], 0.99, 0.7, True),
        # hopeless overlap: agreement 0.5 everywhere; ties go to the lowest workload
        ([0.5, 0.5], [0.5, 0.5], 0.98, 1.0, False),
        # best agreement 4/6 below target, at (0.1, 0.2], (0.3, 0.5], (0.6, 0.9]: least workload
        ([0.1, 0.6, 0.3], [0.5, 0.9, 0.2], 0.98, 0.9, False),
        # only approved: nothing to catch, nothing flagged
        ([0.2, 0.6], [], 0.98, 1.0, True),
        ([0.2, 1.0], [], 0.98, 1.0, False),  # a 1.0 is flagged even at t = 1: 50 % at best
        # only rejected: everything must go to a moderator
        ([], [0.3, 0.7], 0.98, 0.3, True),
        # a zero target is reached everywhere: the lowest workload wins
        ([0.2], [0.4], 0.0, 1.0, True),
    ],
)
def test_suggestion(approved, rejected, target, suggested, reached):
    result = calibrate_category("toxicity", approved, rejected, target=target)
    assert (result.suggested, result.reached) == (suggested, reached)
    point = result.suggested_point
    assert point is not None and point.threshold == suggested
    if reached:
        assert point.agreement >= target - 1e-9


def test_no_data_at_all():
    result = calibrate_category("toxicity", [], [])
    assert result.curve == [] and result.suggested is None and result.reached is False
    assert result.histogram_approved == [0] * 20 == result.histogram_rejected
    assert result.suggested_point is None and result.point(0.5) is None
    assert result.one_sided


@pytest.mark.parametrize(
    ("approved", "rejected", "one_sided"),
    [([0.1], [0.9], False), ([0.1], [], True), ([], [0.9], True)],
)
def test_one_sided(approved, rejected, one_sided):
    assert calibrate_category("x", approved, rejected).one_sided is one_sided


# --------------------------------------------------------------------------------------------
# calibrate: gathering per category
# --------------------------------------------------------------------------------------------

DECISIONS = [
    ({"toxicity": 0.1, "insult": 0.2}, "approved"),
    ({"toxicity": 0.9}, "rejected"),  # no insult score: does not count for insult
    ({"toxicity": 0.8, "insult": 0.7}, "rejected"),
    (None, "approved"),  # never scored: left out
]


def test_calibrate_gathers_scores_per_category():
    result = calibrate(DECISIONS)
    assert (result.total, result.unscored, result.target, result.bins) == (4, 1, 0.98, 20)
    assert list(result.categories) == ["toxicity", "insult"]  # order of first appearance
    toxicity, insult = result.categories["toxicity"], result.categories["insult"]
    assert (toxicity.approved, toxicity.rejected) == (1, 2)
    assert (insult.approved, insult.rejected) == (1, 1)
    assert toxicity.suggested == 0.8 and toxicity.reached
    assert insult.suggested == 0.7 and insult.reached


def test_calibrate_with_fixed_categories():
    result = calibrate(DECISIONS, categories=["threat", "toxicity"], target=0.5, bins=4)
    assert list(result.categories) == ["threat", "toxicity"]
    threat = result.categories["threat"]
    assert threat.total == 0 and threat.suggested is None and threat.histogram_approved == [0] * 4
    assert result.categories["toxicity"].target == 0.5


def test_calibrate_no_decisions():
    result = calibrate([])
    assert (result.total, result.unscored, result.categories) == (0, 0, {})


@pytest.mark.parametrize(
    ("decisions", "kwargs"),
    [
        ([({"toxicity": 0.1}, "publish")], {}),  # not a human outcome
        ([(None, "maybe")], {}),
        ([({"toxicity": 1.2}, "approved")], {}),  # score outside [0, 1]
        ([], {"target": 1.5}),
        ([], {"target": -0.1}),
    ],
)
def test_calibrate_rejects_bad_input(decisions, kwargs):
    with pytest.raises(ValueError):
        calibrate(decisions, **kwargs)
