"""Times, numbers and plurals as a person reads them: every time in the site's zone
(SITE_TIMEZONE) in one format, French decimals and digit groups, plurals by count."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import ModerationAction, ReaderRestriction, Role
from app.services import settings
from tests.conftest import ARTICLE_URL, add_comment, login, make_user
from tests.moderation.conftest import decide, held, token
from tests.moderation.test_reports import _reports_from_readers

NNBSP = "\u202f"  # the narrow no-break space that separates French digit groups
DECEMBER_EVENING = datetime(2099, 12, 4, 19, 17, tzinfo=UTC)  # 20:17 in Paris


def test_comment_dates_are_in_the_site_zone(app, article, client, mod_client):
    add_comment(article, "Un avis daté", created_at=DECEMBER_EVENING)
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert '<time datetime="2099-12-04T19:17:00+00:00">4 décembre 2099 à 20:17</time>' in page
    staff = mod_client.get("/moderation/file/tous?lang=en").get_data(as_text=True)
    assert "4 December 2099 at 20:17" in staff


@pytest.mark.parametrize("config_overrides", [{"SITE_TIMEZONE": "America/Montreal"}])
def test_site_timezone_is_the_zone_of_every_page(app, article, client):
    add_comment(article, "Un avis daté", created_at=DECEMBER_EVENING)
    assert "4 décembre 2099 à 14:17" in client.get(ARTICLE_URL).get_data(as_text=True)


def test_the_conflict_notice_gives_the_time_in_the_site_zone(app, article, mod_client):
    comment = held(article)
    seen = comment.version
    make_user(email="marie@example.fr", display_name="marie", role=Role.MODERATOR)
    other = app.test_client()
    login(other, "marie@example.fr")
    assert decide(other, comment, "reject", reason="spam", version=seen).status_code == 303
    db.session.execute(
        sa.update(ModerationAction)
        .where(ModerationAction.comment_id == comment.id)
        .values(created_at=datetime(2099, 12, 4, 18, 21, 50, tzinfo=UTC))
    )
    db.session.commit()
    response = mod_client.post(
        f"/moderation/commentaires/{comment.id}/decision",
        data={"csrf_token": token(mod_client), "action": "approve", "version": seen},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 409
    assert "déjà été traité par marie à 19:21:50 " in response.get_json()["message"]


def test_a_suspended_reader_reads_the_same_time_as_the_moderator(app, mod_client, reader):
    data = {"csrf_token": token(mod_client), "email": "camille@example.fr", "kind": "suspend",
            "reason": "Insultes", "days": 7}  # fmt: skip
    assert mod_client.post("/moderation/lecteurs/sanctions", data=data).status_code == 303
    db.session.execute(
        sa.update(ReaderRestriction).values(until=datetime(2099, 12, 4, 19, 22, tzinfo=UTC))
    )
    db.session.commit()
    page = reader.post(body="Pendant", email="camille@example.fr").get_data(as_text=True)
    assert "suspendue jusqu’au 4 décembre 2099 à 20:22 (motif : Insultes)" in page
    assert "UTC" not in page
    staff = mod_client.get("/moderation/lecteurs?email=camille@example.fr").get_data(as_text=True)
    assert "jusqu’au 4 décembre 2099 à 20:22" in staff


@pytest.mark.parametrize(
    "config_overrides", [{"COMMENT_RATE_LIMIT": "1 per minute", "SITE_TIMEZONE": "Asia/Kolkata"}]
)
def test_the_429_page_says_when_in_the_site_zone(reader):
    assert reader.post(body="Premier").status_code == 303
    response = reader.post(body="Second")
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    wait = int(response.headers["Retry-After"])
    shown = re.search(r"dans (\d+) secondes? \(à partir de (\d\d):(\d\d):(\d\d)\)", page)
    assert shown, page
    expected = datetime.now(ZoneInfo("Asia/Kolkata")) + timedelta(seconds=wait)
    hour, minute, second = (int(g) for g in shown.groups()[1:])
    said = expected.replace(hour=hour, minute=minute, second=second)
    gap = abs((said - expected).total_seconds())
    assert min(gap, 86400 - gap) <= 5  # Kolkata's clock, not the server's nor UTC


def test_scores_are_written_as_the_page_language_writes_them(app, article, mod_client):
    held(article, score=0.6)
    french = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert '<span class="score__value">0,60</span>' in french
    english = mod_client.get("/moderation/file/a-moderer?lang=en").get_data(as_text=True)
    assert '<span class="score__value">0.60</span>' in english


def test_the_length_limit_groups_its_digits(client):
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert f"Au plus 2{NNBSP}000 caractères." in page


@pytest.mark.parametrize(
    ("arrived", "french", "english"),
    [
        (0, None, None),
        (1, "1 nouveau commentaire.", "1 new comment."),
        (3, "3 nouveaux commentaires.", "3 new comments."),
    ],
)
def test_new_comments_are_counted_in_words(app, article, mod_client, arrived, french, english):
    newest = held(article, "Le premier").id
    for i in range(arrived):
        held(article, f"Arrivé ensuite {i}")
    url = f"/moderation/file/a-moderer/nouveaux?depuis={newest}"
    answer = mod_client.get(url).get_json()
    assert answer["new"] == arrived
    assert answer["message"] == (french or "0 nouveau commentaire.")  # French: 0 is singular
    assert mod_client.get(url + "&lang=en").get_json()["message"] == (english or "0 new comments.")


def test_bulk_decisions_agree_with_their_count(app, article, mod_client):
    one = held(article, "Seul")
    data = {"csrf_token": token(mod_client), "select": [f"{one.id}:{one.version}"],
            "action": "approve", "next": "/moderation/file/a-moderer"}  # fmt: skip
    assert mod_client.post("/moderation/decisions", data=data).status_code == 303
    page = mod_client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert "1 commentaire approuvé." in page


@pytest.mark.parametrize(("threshold", "why"), [(1, "1 signalement de lecteur"),
                                                (2, "2 signalements de lecteurs")])  # fmt: skip
def test_the_journal_counts_reports_in_words(app, article, mod_client, threshold, why):
    settings.set_value("reports_threshold", threshold)
    comment = add_comment(article, "Limite")
    _reports_from_readers(app, comment, threshold)
    journal = mod_client.get("/moderation/journal").get_data(as_text=True)
    assert f'<td class="table__text" data-label="Pourquoi">{why}</td>' in journal
