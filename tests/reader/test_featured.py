"""« Choix de la rédaction » (issue 15): a moderator features a published comment from its
card; readers find it first (the block above the comments), in its own tab, with its badge,
on the page and through the API; its author is told by mail; audited."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.actions import AuditAction
from app.extensions import db
from app.models import Article, Comment, CommentStatus, ModerationAction, Role
from app.services import sites
from tests.api.test_stories_api import call, stream
from tests.conftest import ARTICLE_URL, add_comment, csrf_token, login, make_user
from tests.mailbox import Mailbox


def _moderator(app) -> FlaskClient:
    make_user("modo@example.org", display_name="Modo", role=Role.MODERATOR)
    client = app.test_client()
    login(client, "modo@example.org")
    return client


def _choose(moderator: FlaskClient, comment_id: int, action: str = "feature"):
    token = csrf_token(moderator, f"/moderation/commentaires/{comment_id}")
    return moderator.post(
        f"/moderation/commentaires/{comment_id}/selection",
        data={"csrf_token": token, "action": action},
    )


def test_a_featured_comment_is_shown_first_with_its_badge_and_tab(
    app, client: FlaskClient, article: Article, mailbox: Mailbox
) -> None:
    add_comment(article, "Un avis ordinaire, le plus récent.", author_name="Ana")
    chosen = add_comment(article, "Un avis éclairant, choisi par la rédaction.",
                         author_name="Zoé", author_email="zoe@exemple.fr")  # fmt: skip
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert "Choix de la rédaction" not in page

    moderator = _moderator(app)
    card = moderator.get(f"/moderation/commentaires/{chosen.id}").get_data(as_text=True)
    assert 'value="feature"' in card
    done = _choose(moderator, chosen.id)
    assert done.status_code == 303
    assert "mis en avant" in moderator.get(done.headers["Location"]).get_data(as_text=True)
    assert 'value="unfeature"' in moderator.get(f"/moderation/commentaires/{chosen.id}").get_data(
        as_text=True
    )

    page = client.get(ARTICLE_URL).get_data(as_text=True)
    block = page.index('class="featured"')
    assert block < page.index("Un avis ordinaire")  # shown first
    assert page.index("Un avis éclairant") < page.index("Un avis ordinaire")
    assert '<span class="comment__featured">Choix de la rédaction</span>' in page
    tab = client.get(ARTICLE_URL + "?tri=selection").get_data(as_text=True)
    assert "choix de la rédaction (1)" in tab and 'aria-current="true">choix de la rédaction' in tab
    assert "Un avis éclairant" in tab and "Un avis ordinaire" not in tab

    [told] = mailbox.to("zoe@exemple.fr")
    assert "Choix de la rédaction" in told.subject
    assert f"#c{chosen.id}" in told.body and "Zoé" in told.body

    # Featured twice: nothing more (one audit row, one mail).
    _choose(moderator, chosen.id)
    actions = db.session.scalars(
        sa.select(ModerationAction.action).where(ModerationAction.comment_id == chosen.id)
    ).all()
    assert actions.count(AuditAction.FEATURED) == 1 and len(mailbox.to("zoe@exemple.fr")) == 1

    _choose(moderator, chosen.id, "unfeature")
    page = client.get(ARTICLE_URL).get_data(as_text=True)
    assert 'class="featured"' not in page and "comment__featured" not in page
    journal = moderator.get(f"/moderation/journal?commentaire={chosen.id}").get_data(as_text=True)
    assert "Choisi par la rédaction" in journal and "Retiré du choix de la rédaction" in journal


def test_only_a_published_visible_comment_can_be_featured(
    app, client: FlaskClient, article: Article
) -> None:
    held = add_comment(article, "Retenu", status=CommentStatus.HELD)
    moderator = _moderator(app)
    assert 'value="feature"' not in moderator.get(f"/moderation/commentaires/{held.id}").get_data(
        as_text=True
    )
    refused = _choose(moderator, held.id)
    assert "Seul un commentaire publié" in moderator.get(refused.headers["Location"]).get_data(
        as_text=True
    )
    db.session.expire_all()
    assert db.session.get(Comment, held.id).featured_at is None  # type: ignore[union-attr]
    readers = app.test_client()
    make_user("lecteur@example.fr")
    login(readers, "lecteur@example.fr")
    token = csrf_token(readers)
    assert readers.post(f"/moderation/commentaires/{held.id}/selection",
                        data={"csrf_token": token}).status_code == 403  # fmt: skip


def test_the_api_lists_the_featured_and_counts_them(app, client: FlaskClient) -> None:
    sites.create("journal", ["https://www.journal.fr"])
    story = db.session.get(Article, stream(client).get_json()["story"]["id"])
    plain = add_comment(story, "Un avis parmi d’autres.")
    chosen = add_comment(story, "L’avis choisi.")
    _choose(_moderator(app), chosen.id)

    answer = stream(client).get_json()
    assert answer["story"]["counts"] == {"published": 2, "featured": 1}
    flags = {c["body"]: c["featured"] for c in answer["comments"]}
    assert flags == {"Un avis parmi d’autres.": False, "L’avis choisi.": True}
    only = call(client, "GET", f"/api/v1/stories/{story.id}/comments?sort=featured").get_json()
    assert [c["id"] for c in only["comments"]] == [chosen.id]
    assert plain.id
