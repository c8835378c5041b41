"""The decision policy, table-driven: no app, no database."""

from __future__ import annotations

import pytest

from app.policy import (
    CATEGORY_HOLD,
    CATEGORY_REJECT,
    NUDGE,
    NUDGE_IGNORED,
    SCORING_UNAVAILABLE,
    Inputs,
    Level,
    Outcome,
    Reason,
    Threshold,
    decide,
    level,
    verdict,
)

T = {
    "toxicity": Threshold(hold=0.5, reject=0.9),
    "insult": Threshold(hold=0.6, reject=0.95),
    "threat": Threshold(hold=0.3, reject=0.7, enabled=False),
}


@pytest.mark.parametrize(
    ("scores", "outcome", "codes"),
    [
        (None, Outcome.HOLD, [SCORING_UNAVAILABLE]),
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


N = {"toxicity": 0.4, "insult": 0.5}


@pytest.mark.parametrize(
    ("scores", "nudge", "outcome", "codes"),
    [
        ({"toxicity": 0.39}, N, Outcome.PUBLISH, []),
        ({"toxicity": 0.4}, N, Outcome.NUDGE, [NUDGE]),  # at the nudge threshold
        ({"toxicity": 0.95, "insult": 0.6}, N, Outcome.NUDGE, [NUDGE, NUDGE]),  # before reject
        ({"toxicity": 0.95}, None, Outcome.REJECT, [CATEGORY_REJECT]),  # nudges off/answered
        ({"threat": 0.99}, N, Outcome.PUBLISH, []),  # no nudge threshold for it
        (None, N, Outcome.HOLD, [SCORING_UNAVAILABLE]),  # no score: nothing to nudge about
    ],
)
def test_nudge(scores, nudge, outcome, codes):
    verdict = decide(scores, T, nudge=nudge)
    assert verdict.outcome == outcome
    assert [r.code for r in verdict.reasons] == codes


def test_sent_anyway_is_held_unless_rejected():
    ignored = [Reason(NUDGE_IGNORED)]
    assert decide({"toxicity": 0.6}, T, ignored).outcome == Outcome.HOLD
    assert decide({"toxicity": 0.1}, T, ignored).outcome == Outcome.HOLD
    assert decide({"toxicity": 0.91}, T, ignored).outcome == Outcome.REJECT


BANNED = Reason("banned_word", detail="connard")


@pytest.mark.parametrize(
    ("scores", "reviewed", "rejects", "outcome", "codes"),
    [
        ({"toxicity": 0.1}, True, (), Outcome.HOLD, [NUDGE_IGNORED]),
        ({"toxicity": 0.6}, True, (), Outcome.HOLD, [NUDGE_IGNORED, CATEGORY_HOLD]),
        # « relu par un modérateur »: past a reject threshold, held all the same
        ({"toxicity": 0.95}, True, (), Outcome.HOLD, [NUDGE_IGNORED, CATEGORY_REJECT]),
        # « refusé selon les seuils »
        ({"toxicity": 0.95}, False, (), Outcome.REJECT, [CATEGORY_REJECT, NUDGE_IGNORED]),
        ({"toxicity": 0.6}, False, (), Outcome.HOLD, [NUDGE_IGNORED, CATEGORY_HOLD]),
        # a banned word rejects in both
        ({"toxicity": 0.6}, True, (BANNED,), Outcome.REJECT, ["banned_word", NUDGE_IGNORED]),
        ({"toxicity": 0.6}, False, (BANNED,), Outcome.REJECT, ["banned_word", NUDGE_IGNORED]),
    ],
)
def test_sent_anyway_follows_the_site_setting(scores, reviewed, rejects, outcome, codes):
    inputs = Inputs(T, reject_reasons=rejects, nudge=N, sent_anyway=True, anyway_reviewed=reviewed)
    decided = verdict(inputs, scores)
    assert decided.outcome == outcome
    assert [r.code for r in decided.reasons] == codes


def test_live_sent_anyway_is_held_even_when_the_nudge_thresholds_moved_meanwhile():
    inputs = Inputs(T, nudge={"toxicity": 0.99}, sent_anyway=True)  # the author WAS nudged
    assert verdict(inputs, {"toxicity": 0.1}).outcome == Outcome.HOLD
    replayed = Inputs(T, nudge={"toxicity": 0.99}, sent_anyway=True, replayed=True)
    assert verdict(replayed, {"toxicity": 0.1}).outcome == Outcome.PUBLISH


def test_a_nudge_is_offered_only_while_the_author_may_answer():
    assert verdict(Inputs(T, nudge=N, may_nudge=True), {"toxicity": 0.6}).outcome == Outcome.NUDGE
    assert verdict(Inputs(T, nudge=N), {"toxicity": 0.6}).outcome == Outcome.HOLD


@pytest.mark.parametrize(
    ("score", "threshold", "nudge", "expected"),
    [
        (0.1, T["toxicity"], None, Level.OK),
        (0.4999, T["toxicity"], None, Level.OK),
        (0.5, T["toxicity"], None, Level.HOLD),  # at hold: held, as `decide` holds it
        (0.89, T["toxicity"], None, Level.HOLD),
        (0.9, T["toxicity"], None, Level.REJECT),  # at reject: rejected
        (0.99, T["threat"], None, Level.OK),  # switched off
        (0.99, None, None, Level.OK),  # no threshold for the category
        (0.45, T["toxicity"], 0.4, Level.NUDGE),  # under hold, over the nudge
        (0.95, T["toxicity"], 0.4, Level.REJECT),  # reject wins over nudge
        (0.3, T["toxicity"], 0.4, Level.OK),
    ],
)
def test_level_agrees_with_decide(score, threshold, nudge, expected):
    assert level(score, threshold, nudge) is expected
    if threshold is not None and nudge is None:  # the card's colour is the verdict's
        outcome = decide({"c": score}, {"c": threshold}).outcome
        assert {Outcome.PUBLISH: Level.OK, Outcome.HOLD: Level.HOLD,
                Outcome.REJECT: Level.REJECT}[outcome] is expected  # fmt: skip
