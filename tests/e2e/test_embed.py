"""The comments embedded in a newsroom's page, in Chromium: the page is served from another
origin than ours with a strict CSP that names only our origin (`script-src`, `connect-src`),
and the site allowing that origin is made through `sites.create`, as `flask sites create` does.

A guest posts, replies, is nudged and answers the nudge both ways, sees their own held comment
after a reload (their token in the page's localStorage, no cookie), and another reader reports
a comment; a double click and a retry after a lost answer store one comment; a signed-in
newsroom reader (SSO) posts under their name; an origin no site allows gets a clear refusal and
nothing is created. No console error, no CSP violation.

The tiny model's scores follow trigger words (tests/conftest.py): « idiot » insult 0.7 (past
nudge and hold), anything else is published.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Article, Comment, CommentReport, CommentStatus, Site
from app.services import sites
from tests.e2e.conftest import WAIT_MS
from tests.e2e.embed_host import WATCH_CSP, HostSite, serve_host

pytestmark = pytest.mark.browser

STORY_PATH = "/article-42"
TITLE = "Le pont de l’île rouvre à la circulation"
OUTCOME = ".outcome"  # the live region (role=status) where outcomes are said
# Chromium logs every 4xx answer of fetch() as a console error; these ones are expected.
EXPECTED_HTTP = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


class Watch:
    """A page's console errors, uncaught errors and CSP violations (recorded in the page by an
    init script); `problems()` lists them, expected 4xx network lines aside."""

    def __init__(self, expected: re.Pattern[str] = EXPECTED_HTTP) -> None:
        self.expected = expected
        self.lines: list[str] = []
        self.pages: list[Any] = []

    def page(self, context: Any, who: str) -> Any:
        page = context.new_page()
        page.on("console", lambda m: self._console(who, m))
        page.on("pageerror", lambda e: self._add(f"{who} pageerror: {e}"))
        self.pages.append((who, page))
        return page

    def _console(self, who: str, message: Any) -> None:
        url = message.location.get("url") or ""
        if message.type != "error" or url.endswith("/favicon.ico"):
            return
        if self.expected.search(message.text):
            print(f"{who} (expected) {message.text} {url}")
            return
        self._add(f"{who} console.error: {message.text} ({url})")

    def _add(self, line: str) -> None:
        print(line)
        self.lines.append(line)

    def problems(self) -> list[str]:
        found = list(self.lines)
        for who, page in self.pages:
            if not page.is_closed():
                found += [f"{who} CSP: {v}" for v in page.evaluate("window.__cspViolations || []")]
        return found


@pytest.fixture
def host(live_server: str) -> Iterator[HostSite]:
    with serve_host(live_server) as site:
        yield site


@pytest.fixture
def readers(browser: Any) -> Iterator[Any]:
    """`readers()`: a new reader (a browser context of its own, French, CSP violations
    recorded); closed after the test."""
    opened: list[Any] = []

    def new_context(**options: Any) -> Any:
        context = browser.new_context(locale="fr-FR", **options)
        context.set_default_timeout(WAIT_MS)
        context.add_init_script(WATCH_CSP)
        opened.append(context)
        return context

    yield new_context
    for context in opened:
        context.close()


@pytest.fixture
def journal(app: Flask, host: HostSite) -> Site:
    return sites.create("journal", [host.origin]).site


def _comment(body: str) -> Comment:
    db.session.expire_all()  # the server's requests committed in their own sessions
    found = db.session.scalar(sa.select(Comment).where(Comment.body == body))
    assert found is not None, body
    return found


def _post(page: Any, body: str, name: str | None = "Camille") -> None:
    page.get_by_label("Commentaire", exact=True).fill(body)
    if name is not None:
        page.get_by_label("Nom").fill(name)
        page.get_by_label("Adresse de messagerie").fill("camille@example.fr")
    page.get_by_role("button", name="Publier le commentaire").click()


def _item(page: Any, body: str) -> Any:
    return page.locator("li.comment", has=page.locator(".comment__body", has_text=body)).last


def test_a_guest_posts_replies_answers_the_nudge_and_a_reader_reports(
    app: Flask, journal: Site, host: HostSite, readers: Any, live_server: str
) -> None:
    from playwright.sync_api import expect

    watch = Watch()
    url = host.add(STORY_PATH, TITLE)
    guest_context = readers()
    guest = watch.page(guest_context, "guest")
    guest.goto(url)

    # The section replaces the newsroom's link; the story is created with the page's title.
    expect(guest.get_by_role("heading", name="Votre commentaire")).to_be_visible()
    expect(guest.get_by_text("Lire les commentaires et réagir")).to_have_count(0)
    expect(guest.locator(".comments__count")).to_have_text("0 commentaire")
    expect(guest.get_by_text("Aucun commentaire pour l’instant.")).to_be_visible()
    story = db.session.scalar(sa.select(Article).where(Article.url == url))
    assert story is not None and story.title == TITLE and story.site_id == journal.id

    # The page's loud styles do not reach the section.
    heading = guest.get_by_role("heading", name="Votre commentaire")
    assert heading.evaluate("e => getComputedStyle(e).color") != "rgb(200, 0, 0)"
    button = guest.get_by_role("button", name="Publier le commentaire")
    assert button.evaluate("e => getComputedStyle(e).textTransform") == "none"

    # An empty form: the API's message next to the field, the field marked invalid.
    button.click()
    body = guest.get_by_label("Commentaire", exact=True)
    expect(body).to_have_attribute("aria-invalid", "true")
    error = guest.locator("#commentaire-erreur")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    expect(body).to_be_focused()

    # A first comment: published, announced, counted; the guest's token kept by the page.
    _post(guest, "Un pont bien utile pour tout le quartier.")
    expect(guest.locator(OUTCOME)).to_have_text("Merci ! Votre commentaire est publié.")
    first = _item(guest, "Un pont bien utile")
    expect(first.locator(".comment__author")).to_have_text("Camille")
    expect(first.locator(".comment__status")).to_have_count(0)
    expect(guest.locator(".comments__count")).to_have_text("1 commentaire")
    stored = guest.evaluate("Object.keys(localStorage)")
    assert any(key.endswith(":guest") for key in stored), stored
    assert guest_context.cookies(live_server) == []  # no cookie of ours, first- or third-party

    # A reply, from the keyboard: « Répondre » moves the form under the comment.
    first.get_by_role("button", name="Répondre à Camille").press("Enter")
    expect(body).to_be_focused()
    expect(guest.get_by_text("En réponse à Camille")).to_be_visible()
    _post(guest, "Et les cyclistes y ont enfin leur voie.")
    reply = first.locator(".comment-list--replies li.comment", has_text="Et les cyclistes")
    expect(reply).to_be_visible()
    assert (
        _comment("Et les cyclistes y ont enfin leur voie.").parent_id
        == _comment("Un pont bien utile pour tout le quartier.").id
    )

    # Nudged, then rewritten: published.
    _post(guest, "Quel idiot, ce ministre des transports.")
    nudge = guest.get_by_role("heading", name="Avant d’envoyer votre commentaire…")
    expect(nudge).to_be_visible()
    expect(nudge).to_be_focused()
    expect(guest.locator(".nudge__text")).to_contain_text("insultes")
    guest.get_by_label("Votre commentaire, reformulé").fill("Quel ministre maladroit.")
    guest.get_by_role("button", name="Envoyer la version modifiée").click()
    expect(guest.locator(OUTCOME)).to_have_text("Merci ! Votre commentaire est publié.")
    expect(_item(guest, "Quel ministre maladroit.")).to_be_visible()
    assert _comment("Quel ministre maladroit.").status == CommentStatus.PUBLISHED

    # Nudged, then sent as it is: held, and only its author sees it.
    held_body = "Encore un idiot qui décide pour nous."
    _post(guest, held_body)
    expect(nudge).to_be_visible()
    guest.get_by_role("button", name="Envoyer tel quel").click()
    held = _item(guest, held_body)
    expect(held.locator(".comment__status")).to_contain_text("vous seul le voyez")
    expect(guest.locator(OUTCOME)).to_contain_text("en attente de modération")
    assert _comment(held_body).status == CommentStatus.HELD

    guest.reload()  # the token in the page's localStorage: still theirs
    expect(_item(guest, held_body).locator(".comment__status")).to_contain_text(
        "vous seul le voyez"
    )
    expect(guest.locator(".comments__count")).to_have_text("3 commentaires")

    # Another reader: no held comment; reports Camille's first comment.
    other = watch.page(readers(), "other")
    other.goto(url)
    expect(_item(other, "Un pont bien utile")).to_be_visible()
    expect(other.get_by_text(held_body)).to_have_count(0)
    reported = other.locator("article", has_text="Un pont bien utile")
    reported.get_by_role("button", name="Signaler le commentaire de Camille").click()
    expect(other.get_by_role("radio", name="Insulte")).to_be_focused()
    other.get_by_role("button", name="Envoyer le signalement").click()
    expect(other.locator("#signalement-erreur")).to_be_visible()  # no reason chosen
    other.get_by_role("radio", name="Spam").check()
    other.get_by_role("button", name="Envoyer le signalement").click()
    expect(other.locator(OUTCOME)).to_have_text(
        "Merci : votre signalement a été transmis à l’équipe de modération."
    )
    expect(other.get_by_role("button", name="Envoyer le signalement")).to_have_count(0)
    db.session.expire_all()
    reports = db.session.scalars(sa.select(CommentReport)).all()
    assert [(r.comment_id, r.reason) for r in reports] == [
        (_comment("Un pont bien utile pour tout le quartier.").id, "spam")
    ]

    assert watch.problems() == []


def test_a_double_click_and_a_retry_after_a_lost_answer_store_one_comment(
    app: Flask, journal: Site, host: HostSite, readers: Any, live_server: str
) -> None:
    from playwright.sync_api import expect

    watch = Watch(re.compile(f"{EXPECTED_HTTP.pattern}|net::ERR_CONNECTION_RESET"))
    url = host.add(STORY_PATH, TITLE)
    guest = watch.page(readers(), "guest")
    lost: list[str] = []

    def lose_the_answer(route: Any) -> None:
        """The first post reaches the server, its answer never reaches the page."""
        if route.request.method == "POST" and not lost:
            route.fetch()
            lost.append(route.request.post_data_json["idempotency_key"])
            route.abort("connectionreset")
        else:
            route.continue_()

    guest.route(re.compile(r".*/api/v1/stories/\d+/comments$"), lose_the_answer)
    guest.goto(url)
    _post(guest, "Un avis envoyé une fois, même par une connexion qui flanche.")
    expect(guest.locator(".form-errors")).to_contain_text("ne répond pas")
    guest.get_by_role("button", name="Publier le commentaire").click()  # the retry
    expect(guest.locator(OUTCOME)).to_contain_text("Votre commentaire")
    expect(guest.locator("li.comment")).to_have_count(1)

    guest.get_by_label("Commentaire", exact=True).fill("Un second avis, cliqué deux fois.")
    guest.get_by_role("button", name="Publier le commentaire").dblclick()
    expect(_item(guest, "Un second avis")).to_be_visible()
    guest.wait_for_timeout(500)  # time for a second request that must not store anything

    db.session.expire_all()
    bodies = db.session.scalars(sa.select(Comment.body).order_by(Comment.id)).all()
    assert bodies == [
        "Un avis envoyé une fois, même par une connexion qui flanche.",
        "Un second avis, cliqué deux fois.",
    ]
    assert lost and watch.problems() == []


def _sso_token(site: Site, user_id: str, username: str) -> str:
    """A token as a newsroom's CMS signs it (Coral's SSO claims)."""
    now = int(time.time())
    claims = {
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 300,
        "user": {"id": user_id, "email": f"{user_id}@journal.fr", "username": username},
    }
    assert site.sso_secret
    return jwt.encode(claims, site.sso_secret, algorithm="HS256")


def test_a_signed_in_newsroom_reader_posts_under_their_name(
    app: Flask, journal: Site, host: HostSite, readers: Any
) -> None:
    from playwright.sync_api import expect

    watch = Watch()
    url = host.add(STORY_PATH, TITLE, sso_token=_sso_token(journal, "u-42", "Claire Dupont"))
    reader = watch.page(readers(), "sso")
    reader.goto(url)

    expect(reader.locator(".comment-form__as")).to_have_text(
        "Vous publiez en tant que Claire Dupont."
    )
    expect(reader.get_by_label("Nom")).to_have_count(0)
    _post(reader, "Je signe de mon nom de lectrice abonnée.", name=None)
    mine = _item(reader, "Je signe de mon nom")
    expect(mine.locator(".comment__author")).to_have_text("Claire Dupont")
    comment = _comment("Je signe de mon nom de lectrice abonnée.")
    assert comment.author_name == "Claire Dupont" and comment.user_id is not None

    reader.reload()  # the same token in the page: not exchanged again (no replay refusal)
    expect(reader.locator(".comment-form__as")).to_contain_text("Claire Dupont")

    reader.evaluate("ModerationEmbed.logout()")
    expect(reader.get_by_label("Nom")).to_be_visible()
    token = _sso_token(journal, "u-42", "Claire Dupont")
    assert reader.evaluate("t => ModerationEmbed.login(t).then(r => r.name)", token) == (
        "Claire Dupont"
    )
    expect(reader.locator(".comment-form__as")).to_contain_text("Claire Dupont")
    assert watch.problems() == []


def test_an_origin_no_site_allows_is_refused_and_nothing_is_created(
    app: Flask, host: HostSite, readers: Any
) -> None:
    from playwright.sync_api import expect

    sites.create("journal", ["https://www.journal.fr"])  # not the host page's origin
    watch = Watch()
    url = host.add(STORY_PATH, TITLE)
    page = watch.page(readers(), "elsewhere")
    page.goto(url)
    expect(page.get_by_role("alert")).to_have_text(
        "Ce site n’est pas autorisé à afficher ces commentaires."
    )
    expect(page.get_by_role("button", name="Publier le commentaire")).to_have_count(0)
    db.session.expire_all()
    assert db.session.scalar(sa.select(Article).where(Article.url == url)) is None
    assert watch.problems() == []


def test_a_block_added_after_the_script_ran_gets_its_comments(
    app: Flask, journal: Site, host: HostSite, readers: Any
) -> None:
    from playwright.sync_api import expect

    watch = Watch()
    url = host.add(STORY_PATH, TITLE)
    page = watch.page(readers(), "reader")
    page.goto(url)
    expect(page.get_by_role("heading", name="Votre commentaire")).to_have_count(1)
    page.evaluate(
        """(url) => {
          const block = document.createElement('div');
          block.dataset.moderationStory = url;
          block.dataset.title = 'Un second article';
          document.querySelector('main').append(block);
        }""",
        host.origin + "/article-43",
    )
    expect(page.get_by_role("heading", name="Votre commentaire")).to_have_count(2)
    expect(page.locator(".comments__count")).to_have_count(2)  # both stories answered
    db.session.expire_all()
    titles = db.session.scalars(sa.select(Article.title).where(Article.site_id == journal.id))
    assert sorted(titles) == sorted([TITLE, "Un second article"])
    assert watch.problems() == []


def test_a_guest_edits_then_deletes_their_comment_and_another_likes_it_in_the_embed(
    app: Flask, journal: Site, host: HostSite, readers: Any
) -> None:
    """« Modifier » (within the window): the text is checked again, « (modifié) » shown;
    « Supprimer »: a placeholder where it was answered. Nobody else gets either button."""
    from playwright.sync_api import expect

    watch = Watch()
    url = host.add(STORY_PATH, TITLE)
    guest = watch.page(readers(), "guest")
    guest.goto(url)
    _post(guest, "Le pont rouvre enfin, après deux ans.")
    first = _item(guest, "Le pont rouvre enfin")
    expect(first.get_by_role("button", name="Modifier")).to_be_visible()

    first.get_by_role("button", name="Modifier").click()
    field = guest.get_by_role("textbox", name="Votre commentaire, modifié")
    expect(field).to_be_focused()
    field.fill("Le pont rouvre enfin, après trois ans.")
    guest.get_by_role("button", name="Enregistrer la modification").click()
    expect(guest.locator(OUTCOME)).to_have_text("Merci ! Votre commentaire est publié.")
    edited = _item(guest, "après trois ans")
    expect(edited.locator(".comment__edited")).to_have_text("(modifié)")
    assert _comment("Le pont rouvre enfin, après trois ans.").edited_at is not None

    other = watch.page(readers(), "other")
    other.goto(url)
    expect(_item(other, "après trois ans")).to_be_visible()
    expect(other.get_by_role("button", name="Modifier")).to_have_count(0)
    expect(other.get_by_role("button", name="Supprimer")).to_have_count(0)
    # « J'aime »: another reader's, counted once, taken back by a second press.
    heart = _item(other, "après trois ans").get_by_role("button", name="J’aime le commentaire")
    heart.click()
    expect(heart).to_have_attribute("aria-pressed", "true")
    expect(heart).to_have_text("J’aime · 1")
    assert _comment("Le pont rouvre enfin, après trois ans.").like_count == 1
    heart.click()
    expect(heart).to_have_attribute("aria-pressed", "false")
    expect(heart).to_have_text("J’aime")
    heart.click()
    expect(heart).to_have_text("J’aime · 1")
    expect(edited.get_by_role("button", name="J’aime le commentaire")).to_have_count(0)  # own

    # Answered, then deleted: the placeholder keeps the answer.
    edited.get_by_role("button", name="Répondre à Camille").click()
    _post(guest, "Et il est plus large qu’avant.")
    expect(_item(guest, "plus large")).to_be_visible()
    edited = _item(guest, "après trois ans")
    edited.locator(":scope > article").get_by_role("button", name="Supprimer").click()
    guest.get_by_role("button", name="Oui, supprimer").click()
    expect(guest.locator(OUTCOME)).to_have_text("Votre commentaire est supprimé.")
    expect(guest.get_by_text("Commentaire supprimé à la demande de son auteur.")).to_be_visible()
    expect(guest.get_by_text("après trois ans")).to_have_count(0)
    expect(_item(guest, "plus large")).to_be_visible()
    late = watch.page(readers(), "late")  # a fresh browser (another's copy may be cached)
    late.goto(url)
    expect(late.get_by_text("Commentaire supprimé à la demande de son auteur.")).to_be_visible()
    expect(late.get_by_text("après trois ans")).to_have_count(0)

    assert watch.problems() == []


def test_the_newsrooms_pick_is_shown_first_with_its_tab(
    app: Flask, journal: Site, host: HostSite, readers: Any
) -> None:
    from playwright.sync_api import expect

    from app.models import utcnow
    from tests.conftest import add_comment

    watch = Watch()
    url = host.add(STORY_PATH, TITLE)
    reader = watch.page(readers(), "reader")
    reader.goto(url)
    expect(reader.get_by_role("heading", name="Votre commentaire")).to_be_visible()
    # The story exists once the stream has answered (the heading comes before it).
    expect(reader.locator(".comments__count")).to_have_text("0 commentaire")
    story = db.session.scalar(sa.select(Article).where(Article.url == url))
    assert story is not None
    add_comment(story, "Un avis parmi d’autres.")
    add_comment(story, "L’avis que la rédaction a choisi.", featured_at=utcnow())

    reader = watch.page(readers(), "later")  # a fresh browser: the first one's copy is cached
    reader.goto(url)
    block = reader.locator("section.featured")
    expect(block.get_by_role("heading", name="Choix de la rédaction")).to_be_visible()
    expect(block).to_contain_text("L’avis que la rédaction a choisi.")
    expect(_item(reader, "L’avis que la rédaction").locator(".comment__featured")).to_be_visible()
    reader.get_by_role("button", name="Choix de la rédaction (1)").click()
    expect(reader.locator("ol li.comment")).to_have_count(1)
    expect(_item(reader, "Un avis parmi d’autres.")).to_have_count(0)
    assert watch.problems() == []


def test_a_guest_asks_to_be_told_of_replies_in_the_embed(
    app: Flask, journal: Site, host: HostSite, readers: Any, mailbox: Any
) -> None:
    from playwright.sync_api import expect

    watch = Watch()
    url = host.add(STORY_PATH, TITLE)
    guest = watch.page(readers(), "guest")
    guest.goto(url)
    box = guest.get_by_role("checkbox", name="Me prévenir par courriel des réponses")
    expect(box).not_to_be_checked()
    box.check()
    _post(guest, "Un pont bien utile, prévenez-moi des réponses.")
    expect(guest.locator(OUTCOME)).to_contain_text("Merci ! Votre commentaire est publié.")
    expect(guest.locator(OUTCOME)).to_contain_text("confirmez votre adresse")
    deadline = time.monotonic() + 5
    while not mailbox.to("camille@example.fr") and time.monotonic() < deadline:
        time.sleep(0.05)
    [confirmation] = mailbox.to("camille@example.fr")
    assert "/notifications/confirmer/" in confirmation.body
    assert watch.problems() == []
