"""The decision policy, table-driven: no app, no database."""

from __future__ import annotations

import pytest

from app.policy import (
    CATEGORY_HOLD,
    CATEGORY_REJECT,
    NO_SCORE,
    Outcome,
    Reason,
    Threshold,
    decide,
)

T = {
    "toxicity": Threshold(hold=0.5, reject=0.9),
    "insult": Threshold(hold=0.6, reject=0.95),
    "threat": Threshold(hold=0.3, reject=0.7, enabled=False),
}


@pytest.mark.parametrize(
    ("scores", "outcome", "codes"),
    [
        (None, Outcome.HOLD, [NO_SCORE]),
        ({"toxicity": 0.1, "insult": 0.1}, Outcome.PUBLISH, []),
        ({"toxicity": 0.4999}, Outcome.PUBLISH, []),
        ({"toxicity": 0.5}, Outcome.HOLD, [CATEGORY_HOLD]),  # at the threshold: held
        ({"toxicity": 0.9}, Outcome.REJECT, [CATEGORY_REJECT]),  # at reject: rejected
        ({"toxicity": 0.95, "insult": 0.7}, Outcome.REJECT, [CATEGORY_REJECT, CATEGORY_HOLD]),
        ({"toxicity": 0.6, "insult": 0.99}, Outcome.REJECT, [CATEGORY_REJECT, CATEGORY_HOLD]),
        ({"threat": 0.99}, Outcome.PUBLISH, []),  # switched off
        ({"unknown": 0.99}, Outcome.PUBLISH, []),  # no threshold set for it
    ],
)
def test_decide(scores, outcome, codes):
    verdict = decide(scores, T)
    assert verdict.outcome == outcome
    assert sorted(r.code for r in verdict.reasons) == sorted(codes)


def test_reasons_name_category_score_and_threshold():
    verdict = decide({"toxicity": 0.93}, T)
    assert verdict.reasons == (Reason(CATEGORY_REJECT, "toxicity", 0.93, 0.9),)


def test_extra_hold_reasons_hold_but_rejection_wins():
    rule = Reason("site_rule", detail="pré-modération")
    assert decide({"toxicity": 0.1}, T, [rule]).outcome == Outcome.HOLD
    assert decide({"toxicity": 0.99}, T, [rule]).outcome == Outcome.REJECT


@pytest.mark.parametrize(("hold", "reject"), [(0.8, 0.5), (-0.1, 0.5), (0.5, 1.2)])
def test_invalid_thresholds_are_refused(hold, reject):
    with pytest.raises(ValueError):
        Threshold(hold=hold, reject=reject)
