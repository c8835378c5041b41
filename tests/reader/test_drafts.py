"""The draft scored while the reader types: the nudge before sending, and the send that reuses
that score (no second model call); never stored, limited, refused clearly."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Comment, CommentScore, CommentStatus
from app.services import drafts, settings
from tests.conftest import ARTICLE_URL, Reader, comments_in_db, csrf_token
from tests.scorers import SpyScorer

DRAFT_URL = f"{ARTICLE_URL}/brouillon"
TOXIC = "Quel idiot, ce ministre."  # insult 0.7: over the nudge (0.5), under reject
NEUTRAL = "Un avis posé sur la reconstruction."


@pytest.fixture
def scorer(tiny_scorer):
    return SpyScorer(tiny_scorer)


def _draft(client, body, token=None):
    token = token or csrf_token(client)
    return client.post(DRAFT_URL, json={"body": body}, headers={"X-CSRFToken": token})


def test_a_toxic_draft_is_nudged_before_sending_and_the_send_reuses_its_score(app, client, scorer):
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert f'data-draft-url="{DRAFT_URL}"' in page and 'class="nudge draft-nudge"' in page
    answer = _draft(client, f"  {TOXIC}\r\n")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    nudge = answer.json["nudge"]
    assert nudge["categories"] == ["insultes"]
    assert "insultes" in nudge["message"]
    assert scorer.calls == [1]
    assert comments_in_db() == []  # a draft is not a comment
    # Typing on (the same text again, as a pause may ask twice): no second model call.
    assert _draft(client, TOXIC).json["nudge"] == nudge
    assert scorer.calls == [1]

    response = Reader(client).post(body=TOXIC + "\n")
    assert response.status_code == 303
    [comment] = comments_in_db()
    assert comment.status == CommentStatus.NUDGED  # decided in the request, from the draft
    assert scorer.calls == [1]  # no model call for the send
    score = db.session.get(CommentScore, comment.id)
    assert score.scores["insult"] == pytest.approx(0.7, abs=1e-3)
    assert score.model_name == scorer.name and score.model_version == scorer.version
    metrics = app.extensions["scoring"].metrics
    assert metrics.draft_reuses._value.get() == 1  # moderation_draft_score_reuses_total


def test_a_neutral_draft_says_nothing_and_an_unseen_text_is_scored_when_sent(app, client, scorer):
    assert _draft(client, NEUTRAL).json == {"nudge": None}
    response = Reader(client).post(body="Un tout autre texte, jamais vu.")
    assert response.status_code == 303
    assert scorer.calls == [1, 1]  # the draft, then the send of another text
    assert comments_in_db()[0].status == CommentStatus.PUBLISHED


def test_a_score_of_another_model_is_never_reused(app, client, scorer):
    _draft(client, TOXIC)
    key = drafts.key_of(TOXIC)
    with app.app_context():
        cache = drafts._cache()
        import json

        entry = json.loads(cache.get(key))
        cache.set(key, json.dumps({**entry, "model_version": "un-autre-modele"}))
    Reader(client).post(body=TOXIC)
    assert scorer.calls == [1, 1]  # scored again by the model in service
    assert comments_in_db()[0].status == CommentStatus.NUDGED


def test_the_cache_keeps_no_text(app, client):
    _draft(client, TOXIC)
    cache = drafts._cache()
    stored = repr(cache._cache)  # cachelib's SimpleCache: key -> (expiry, pickled value)
    assert "idiot" not in stored and "ministre" not in stored
    assert drafts.key_of(TOXIC) in cache._cache


def test_with_nudges_off_nothing_is_scored_and_the_page_does_not_ask(app, client, scorer):
    settings.set_value("nudge_enabled", False)
    assert "data-draft-url" not in client.get(ARTICLE_URL).get_data(as_text=True)
    assert _draft(client, TOXIC).json == {"nudge": None}
    assert scorer.calls == []


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"body": ""}, "Écrivez votre commentaire"),
        ({"body": "   "}, "Écrivez votre commentaire"),
        ({"body": 42}, "Écrivez votre commentaire"),
        ({"body": "a" * 6000}, "le maximum est de"),
        ({"body": "ab\x00cd"}, "caractères de contrôle"),
        ([1, 2], "Écrivez votre commentaire"),
    ],
)
def test_bad_drafts_are_refused_with_the_field_named(app, client, scorer, payload, message):
    token = csrf_token(client)
    answer = client.post(DRAFT_URL, json=payload, headers={"X-CSRFToken": token})
    assert answer.status_code == 422
    assert answer.json["field"] == "body" and message in answer.json["error"]
    assert scorer.calls == []


def test_a_draft_without_the_page_token_is_refused(app, client, scorer):
    answer = client.post(DRAFT_URL, json={"body": TOXIC})
    assert answer.status_code == 400
    assert scorer.calls == []


class TestRateLimit:
    @pytest.fixture
    def config_overrides(self):
        return {"DRAFT_RATE_LIMIT": "2 per minute"}

    def test_past_the_limit_a_reader_waits(self, app, client, scorer):
        token = csrf_token(client)
        assert _draft(client, "Premier brouillon.", token).status_code == 200
        assert _draft(client, "Deuxième brouillon.", token).status_code == 200
        answer = _draft(client, "Troisième brouillon.", token)
        assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0
        assert "Trop de brouillons" in answer.json["error"]
        assert scorer.calls == [1, 1]


def test_the_model_down_says_so_and_the_send_still_works(app, client, scorer):
    scorer.broken = True
    answer = _draft(client, TOXIC)
    assert answer.status_code == 503
    assert "pas disponible" in answer.json["error"]
    scorer.broken = False
    assert Reader(client).post(body=TOXIC).status_code == 303
    assert db.session.scalar(sa.select(Comment.status)) == CommentStatus.NUDGED


def test_no_draft_is_scored_where_comments_are_closed(app, client, scorer, article):
    token = csrf_token(client)
    article.comments_open = False
    db.session.commit()
    answer = _draft(client, TOXIC, token)
    assert answer.status_code == 409 and "fermés" in answer.json["error"]
    assert scorer.calls == []
