"""`POST /api/v1/stories/{id}/drafts`: the embed's draft scored while the reader types, and the
post of the same text decided from that score (no second model call)."""

from __future__ import annotations

import pytest

from app.models import CommentStatus
from app.services import settings
from tests.api.test_stories_api import assert_error, call, post, site, story, stream
from tests.conftest import comments_in_db
from tests.scorers import SpyScorer

__all__ = ["site", "story"]  # fixtures, used by name
TOXIC = "Quel idiot, ce ministre."


@pytest.fixture
def scorer(tiny_scorer):
    return SpyScorer(tiny_scorer)


@pytest.fixture
def config_overrides():
    return {"DRAFT_RATE_LIMIT": "3 per minute"}


def draft(client, story, body, **kwargs):
    return call(client, "POST", f"/api/v1/stories/{story.id}/drafts", body={"body": body},
                **kwargs)  # fmt: skip


def test_the_draft_is_nudged_and_the_post_reuses_its_score(client, story, scorer):
    assert stream(client).get_json()["story"]["nudge"] is True
    answer = draft(client, story, TOXIC)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers["Access-Control-Allow-Origin"] == "https://www.journal.fr"
    assert answer.get_json()["nudge"]["categories"] == ["insultes"]
    assert scorer.calls == [1] and comments_in_db() == []
    posted = post(client, story, body=TOXIC)
    assert posted.status_code == 201
    assert posted.get_json()["outcome"] == CommentStatus.NUDGED
    assert scorer.calls == [1]  # decided from the draft's score


def test_refusals_name_the_field_and_the_limit_holds(client, story, scorer):
    assert_error(draft(client, story, "  "), 422, "required", "body")
    assert_error(draft(client, story, "x" * 6000), 422, "too_long", "body")
    assert_error(draft(client, story, TOXIC, origin="https://pirate.example"), 403,
                 "origin_not_allowed", "origin")  # fmt: skip
    for text in ("Un.", "Deux.", "Trois."):
        assert draft(client, story, text).status_code == 200
    limited = draft(client, story, "Quatre.")
    assert_error(limited, 429, "too_many_drafts")
    assert int(limited.headers["Retry-After"]) > 0
    assert scorer.calls == [1, 1, 1]


def test_without_nudges_the_story_says_so_and_nothing_is_scored(client, story, scorer):
    settings.set_value("nudge_enabled", False)
    assert stream(client).get_json()["story"]["nudge"] is False
    assert draft(client, story, TOXIC).get_json() == {"nudge": None}
    assert scorer.calls == []
