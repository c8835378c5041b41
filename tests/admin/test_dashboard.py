"""The dashboard counts every received comment in exactly one outcome, nudged ones included."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.actions import AuditAction
from app.extensions import db
from app.models import Comment, CommentStatus, utcnow
from app.services import audit, scoring, settings
from tests.conftest import ARTICLE_URL, CSRF_RE, add_comment


@pytest.fixture
def config_overrides():
    return {"COMMENT_RATE_LIMIT": "100 per minute"}  # one browser posts them all


def _kpis(page):
    """The dashboard's figures, by their words."""
    return {
        words: int(n)
        for n, words in re.findall(r"<li><strong>(\d+)</strong> ([^<(]+?)\s*(?:<|\()", page)
    }


def _nudged(reader, body, email):
    response = reader.post(body=body, email=email)
    assert response.status_code == 303
    comment = db.session.scalar(
        db.select(Comment)
        .where(Comment.author_email == email)
        .execution_options(populate_existing=True)
    )
    assert comment.status == CommentStatus.NUDGED
    page = reader.client.get(response.headers["Location"]).get_data(as_text=True)
    return comment, CSRF_RE.search(page).group(1)


def test_every_received_comment_is_counted_once_nudged_ones_included(
    app, article, admin_client, reader
):
    # The reject thresholds apply to a comment sent anyway (the default holds it): one outcome each.
    settings.set_value("nudge_sent_anyway", "thresholds")
    reader.post(body="Très bien", email="a@example.fr")  # published
    _nudged(reader, "Quel idiot", "b@example.fr")  # nudged, not answered yet
    held, token = _nudged(reader, "Quel idiot ce ministre", "c@example.fr")
    reader.client.post(f"{ARTICLE_URL}/commentaires/{held.id}/envoyer", data={"csrf_token": token})
    rejected, token = _nudged(reader, "Espèce de connard", "d@example.fr")
    reader.client.post(
        f"{ARTICLE_URL}/commentaires/{rejected.id}/envoyer", data={"csrf_token": token}
    )
    revised, token = _nudged(reader, "Un idiot", "e@example.fr")
    reader.client.post(
        f"{ARTICLE_URL}/commentaires/{revised.id}/reviser",
        data={"csrf_token": token, "body": "Je ne suis pas d’accord."},
    )
    expired, _token = _nudged(reader, "Encore un idiot", "f@example.fr")
    expired.decided_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    scoring.sweep()  # the unanswered nudge goes to the moderators
    pending = add_comment(article, "Pas encore noté", status=CommentStatus.PENDING)
    audit.record(AuditAction.SUBMITTED, actor="lecteur Dominique", comment_id=pending.id)
    db.session.commit()

    page = admin_client.get("/admin/").get_data(as_text=True)
    kpis = _kpis(page)
    outcomes = {
        "publiés automatiquement": 2,  # « Très bien », and the rewrite
        "mis en attente": 2,  # sent anyway under the reject threshold; the expired nudge
        "rejetés automatiquement": 1,  # sent anyway over it
        "en attente de leur auteur": 1,
        "en cours de notation": 1,
    }
    assert {words: kpis[words] for words in outcomes} == outcomes
    assert kpis["commentaires reçus"] == 7 == sum(outcomes.values())
    for series in ("publish", "hold", "reject", "nudge", "pending"):
        assert f'data-series="{series}"' in page
