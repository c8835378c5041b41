"""Every reader and staff page, with data on it, for the browser checks that visit them all
(the phone widths, the accessibility check).

`seed` fills the test's database through the app's own HTTP routes and services: cards of every
kind (held with scores and word matches, reported, rejected, a reply, long unbroken words,
URLs and author names), journal rows, a sanction, settings history and moderator decisions for
the calibration. `staff_pages` lists the staff pages; `test_every_staff_route_is_listed`
(in test_phone_widths.py) checks the list against the blueprints' routes, so a new page cannot
be forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from app.extensions import db
from app.models import Article, CommentStatus, Role
from app.services import settings
from tests.conftest import ARTICLE_URL, CSRF_RE, add_comment, login, make_user

PASSWORD = "motdepasse-solide"
MODERATOR_EMAIL = "moderatrice@example.fr"
ADMIN_EMAIL = "admin@example.fr"
LONG_WORD = "anticonstitutionnellement" * 6  # 150 letters, no break opportunity
LONG_URL = "https://www.exemple-de-site-tres-long.fr/" + "chemin/" * 12 + "?q=" + "x" * 60
LONG_NAME = "Jean-Baptiste-Emmanuel" + "Z" * 50  # an author name without a space
LONG_EMAIL = "adresse.vraiment.tres.longue.sans.espace." + "y" * 40 + "@exemple.fr"

# Staff GET routes that are not HTML pages of their own.
NOT_PAGES = {
    "moderation.index",  # redirects to « À modérer »
    "moderation.queue_news",  # JSON polled by the queue page
    "admin.export_words",  # a word list as text/plain
    "moderation.reader_data",  # a reader's data, as a JSON file
}


@dataclass(frozen=True)
class Page:
    """A page to open: `path`, as `role` (None: a visitor), then `then` (a click, say)."""

    name: str
    path: str
    endpoint: str
    role: Role | None = None
    then: Callable[[Any], None] | None = field(default=None, compare=False)


def _csrf(client: Any, url: str) -> str:
    match = CSRF_RE.search(client.get(url).get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def _post(client: Any, url: str, data: dict[str, Any], form_url: str | None = None) -> Any:
    response = client.post(url, data={"csrf_token": _csrf(client, form_url or url), **data})
    assert response.status_code in (200, 302, 303), (url, response.status_code)
    return response


def seed(app: Flask) -> dict[str, Any]:
    """Staff accounts and a day's work; returns the ids the page list needs."""
    from tests.admin.conftest import threshold_form
    from tests.moderation.conftest import held

    make_user(email=MODERATOR_EMAIL, password=PASSWORD, display_name="Modératrice",
              role=Role.MODERATOR)  # fmt: skip
    make_user(email=ADMIN_EMAIL, password=PASSWORD, display_name="Admin Alex", role=Role.ADMIN)
    reader = make_user(email="lectrice@example.fr", password=PASSWORD, display_name=LONG_NAME)
    settings.set_value("suspect_words", ["idiot", "ministre"])
    settings.set_value("banned_words", ["connard"])
    settings.set_value("reports_threshold", 1)
    settings.set_value("comment_rate_limit", "2 per hour")
    article = db.session.scalars(db.select(Article)).first()
    assert article is not None

    long_held = held(article, f"Quel idiot ce ministre {LONG_WORD} voyez {LONG_URL}",
                     score=0.72, author_name=LONG_NAME, author_email=LONG_EMAIL)  # fmt: skip
    parent = add_comment(article, "Le premier avis, publié, auquel on répond.")
    reply = held(article, "Quel idiot, vraiment.", score=0.66, parent=parent, user_id=reader.id,
                 author_name=reader.display_name, author_email=reader.email)  # fmt: skip
    for i in range(3):
        held(article, f"Encore un idiot, le n° {i}. {LONG_WORD}", score=0.55 + i * 0.1)
    add_comment(article, f"Un avis rejeté {LONG_WORD}", status=CommentStatus.REJECTED,
                status_reason="Insulte", author_name=LONG_NAME)  # fmt: skip
    reported = add_comment(article, f"Un avis publié puis signalé {LONG_URL}",
                           author_name=LONG_NAME, author_email=LONG_EMAIL)  # fmt: skip

    report_url = f"{ARTICLE_URL}/commentaires/{reported.id}/signaler"
    for reason in ("insulte", "haine", "spam", "autre"):  # guests' reports weigh less than one
        note = {"note": f"Insultant {LONG_WORD}"} if reason == "insulte" else {}
        _post(app.test_client(), report_url, {"reason": reason, **note})
    db.session.refresh(reported)
    assert reported.flagged_at is not None, "the reported comment should be in « Signalés »"

    moderator = app.test_client()
    login(moderator, MODERATOR_EMAIL)
    queue = "/moderation/file/a-moderer"
    for comment, action, reason in ((long_held, "approve", None), (reply, "reject", "insulte")):
        data = {"action": action, "version": comment.version, "note": f"Vu {LONG_WORD}"}
        if reason:
            data["reason"] = reason
        _post(moderator, f"/moderation/commentaires/{comment.id}/decision", data, queue)
    sanction = {"email": LONG_EMAIL, "kind": "suspend", "days": "7",
                "reason": f"Récidive {LONG_URL}"}  # fmt: skip
    guest_page = f"/moderation/lecteurs?email={LONG_EMAIL}"
    _post(moderator, "/moderation/lecteurs/sanctions", sanction, guest_page)

    # A statement of reasons and a complaint against it (DSA: « Réclamations », the statement).
    settings.set_value("dsa_online_platform", True)
    contested = held(article, f"Quel idiot ce ministre, contesté {LONG_WORD}", score=0.6)
    _post(moderator, f"/moderation/commentaires/{contested.id}/decision",
          {"action": "reject", "version": contested.version, "reason": "insultes",
           "ground": "injure"}, queue)  # fmt: skip
    from app.models import DsaStatement
    from app.services import complaints, notifications, rights, statements

    statement = db.session.scalars(db.select(DsaStatement)).first()
    assert statement is not None, "the rejection should have issued a statement of reasons"
    complaints.lodge(statement, f"Je critiquais une politique, pas une personne. {LONG_URL}")

    _coral_decisions(app)
    notice, reference = _dsa_notice(app, reported.id, LONG_URL)
    admin = app.test_client()
    login(admin, ADMIN_EMAIL)
    _post(admin, "/admin/seuils", threshold_form({"insult-hold": "0.55"}))
    _api_clients()
    _sites()
    # A story with a long title in a surge: its banner on every staff page.
    from datetime import timedelta

    from app.models import utcnow

    surging = db.select(Article).where(Article.title.startswith("Un article"))
    story = db.session.scalars(surging).one()
    story.surge_until, story.surge_started_at = utcnow() + timedelta(minutes=45), utcnow()
    db.session.commit()
    link = f"/motifs/{statement.puid}?cle={statements.key(statement.puid)}"  # the mail's
    return {"held": long_held.id, "reply": reply.id, "reader": reader.id,
            "article": article.id, "reported": reported.id, "notice": notice,
            "notice_reference": reference, "statement": link,
            "data_link": f"/mes-donnees/{rights.token_for(LONG_EMAIL)}",
            "reply_confirm": _path(notifications.confirm_link(LONG_EMAIL)),
            "reply_unsubscribe": _path(notifications.unsubscribe_link(
                notifications.Recipient(email=LONG_EMAIL)))}  # fmt: skip


def _path(link: str) -> str:
    """A mailed (absolute) link's path, to open on the test server."""
    return "/" + link.split("://", 1)[1].split("/", 1)[1]


def _api_clients() -> None:
    """Two API clients, one revoked, one with calls and errors (« Clients de l’API »)."""
    from app.services import clients

    cms = clients.create("cms-" + LONG_WORD[:55], quota="100 per minute; 5000 per day").client
    clients.create("coral-ancien", coral_secret="ss_secret")
    clients.revoke("coral-ancien")
    for status, error in ((200, None), (429, "quota_exceeded"), (503, "scoring_unavailable")):
        clients.record_call(cms, status, error)
    clients.flush_usage()


def _sites() -> None:
    """A site with long origins and its own settings, and a story with a long URL (« Sites »,
    « Articles »)."""
    from app.services import sites

    origins = ["https://www.journal.fr", "https://" + "m" * 60 + ".journal.fr"]
    site = sites.create("journal-" + LONG_WORD[:50], origins).site
    sites.update(site, origins, {"guests_allowed": False, "max_comment_length": 800}, "seed")
    sites.ensure_story(site, "https://www.journal.fr/" + "chemin/" * 12 + "article",
                       f"Un article {LONG_WORD}")  # fmt: skip


def _coral_decisions(app: Flask) -> None:
    """Coral's phase asked about three comments (a long story URL, a long word, a reply)."""
    from app.services import clients
    from tests.compat.coral_reader import coral_signature_header, external_request_body

    secret = "empsec_" + "c3" * 32
    clients.create("coral-lemonde", coral_secret=secret)
    for text, parent in (("Quel connard.", None), (f"Quel idiot {LONG_WORD}", "d79b787f"),
                         ("Un avis posé.", None)):  # fmt: skip
        body = external_request_body({
            "action": "NEW", "comment": {"body": f"<p>{text}</p>", "parentID": parent},
            "author": {"id": "baf4e943-3594-4fcc-b2ba-3e8de7a76352", "role": "COMMENTER"},
            "story": {"id": "245b3856", "url": LONG_URL}, "site": {"id": "a4bede88"},
            "tenantID": "19ba5794", "tenantDomain": "coral.example.fr",
        })  # fmt: skip
        signature = coral_signature_header([secret], body)
        response = app.test_client().post("/coral/moderation/coral-lemonde", data=body.encode(),
                                          headers={"X-Coral-Signature": signature})  # fmt: skip
        assert response.status_code in (200, 204), response.get_data(as_text=True)


def _dsa_notice(app: Flask, comment_id: int, long_text: str) -> tuple[int, str]:
    """A notice of illegal content sent through the readers' form (« Signalements (DSA) »)."""
    from app.models import DsaNotice

    form = f"/contenus-illicites/signaler?commentaire={comment_id}"
    _post(app.test_client(), "/contenus-illicites/signaler", {
        "location": f"http://localhost{ARTICLE_URL}#c{comment_id}",
        "explanation": f"Diffamation d’un élu, loi de 1881 {long_text}",
        "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "name": LONG_NAME,
        "email": LONG_EMAIL, "good_faith": "y"}, form)  # fmt: skip
    notice = db.session.scalars(db.select(DsaNotice).order_by(DsaNotice.id.desc())).first()
    assert notice is not None
    return notice.id, notice.reference


def _simulate(page: Any) -> None:
    """« Simuler »: the page then shows the simulation's results."""
    page.get_by_role("button", name=re.compile("^(Simuler|Simulate)$")).click()
    page.locator("#simulation").wait_for()


def staff_pages(ids: dict[str, Any]) -> list[Page]:
    """Every staff page, each as the least role that may open it."""
    mod, admin = Role.MODERATOR, Role.ADMIN
    from app.services.moderation import QUEUES

    pages = [
        Page(f"file {slug}", f"/moderation/file/{slug}", "moderation.queue", mod) for slug in QUEUES
    ]
    return pages + [
        Page("file filtrée", "/moderation/file/tous?q=idiot&tri=score", "moderation.queue", mod),
        Page("commentaire", f"/moderation/commentaires/{ids['held']}", "moderation.comment", mod),
        Page("réponse", f"/moderation/commentaires/{ids['reply']}", "moderation.comment", mod),
        Page("lecteur invité", f"/moderation/lecteurs?email={LONG_EMAIL}",
             "moderation.reader", mod),
        Page("lecteur compte", f"/moderation/lecteurs?compte={ids['reader']}",
             "moderation.reader", mod),
        Page("journal", "/moderation/journal", "moderation.journal", mod),
        Page("coral", "/moderation/coral", "moderation.coral_decisions", mod),
        Page("signalements DSA", "/moderation/dsa", "moderation.notices_list", mod),
        Page("notification DSA", f"/moderation/dsa/{ids.get('notice', 1)}",
             "moderation.notice", mod),


        Page("réclamations", "/moderation/reclamations", "moderation.complaints", mod),
        Page("tableau de bord", "/admin/", "admin.index", admin),
        Page("seuils", "/admin/seuils", "admin.thresholds", admin),
        Page("seuils simulés", "/admin/seuils", "admin.thresholds", admin, _simulate),
        Page("règles", "/admin/regles", "admin.rules", admin),
        Page("règles simulées", "/admin/regles", "admin.rules", admin, _simulate),
        Page("mots", "/admin/mots", "admin.words", admin),
        Page("mots simulés", "/admin/mots", "admin.words", admin, _simulate),
        Page("articles", "/admin/articles", "admin.articles", admin),
        Page("calibration", "/admin/calibration", "admin.calibration", admin),
        Page("essai", "/admin/essai", "admin.shadow_page", admin),
        Page("historique", "/admin/historique", "admin.history", admin),
        Page("clients de l’API", "/admin/clients", "admin.api_clients", admin),
        Page("clé créée", "/admin/clients", "admin.create_client", admin, _new_client),
        Page("sites", "/admin/sites", "admin.sites_page", admin),
        Page("secret SSO créé", "/admin/sites", "admin.create_site", admin, _new_site),
        Page("transparence", "/admin/transparence", "admin.transparency_page", admin),
    ]  # fmt: skip


def _new_client(page: Any) -> None:
    """An admin creates a client: the page answering shows its key, once."""
    page.locator("#name").fill("cms-" + LONG_WORD[:40])
    page.get_by_role("button", name=re.compile("^(Créer le client|Create the client)")).click()
    page.locator(".new-key").wait_for()


def _new_site(page: Any) -> None:
    """An admin creates a site: the page answering shows its SSO secret, once."""
    page.locator("#name").fill("site-" + LONG_WORD[:40])
    page.locator("#origins").fill("https://www.exemple.fr\nhttps://m.exemple.fr")
    page.get_by_role("button", name=re.compile("^(Créer le site|Create the site)")).click()
    page.locator(".new-key").wait_for()


def _form_error(page: Any) -> None:
    """The comment form sent empty: the page comes back with its errors."""
    page.get_by_role("button", name="Publier le commentaire").click()
    page.locator(".form-errors, .field__error").first.wait_for()


def _too_many(page: Any) -> None:
    """Past the site's posting limit (two an hour, set by `seed`): the 429 page."""
    for i in range(4):
        page.goto(ARTICLE_URL)
        page.locator("#body").fill(f"Un avis de plus, le n° {i}.")
        page.locator("#name").fill("Camille")
        page.locator("#email").fill("camille@example.fr")
        with page.expect_navigation():
            page.get_by_role("button", name="Publier le commentaire").click()
        if page.locator("#titre-erreur").count():
            return
    raise AssertionError("no 429 page after four comments")


def _own_comment(page: Any) -> None:
    """The author posts: the article shows their own comment, marked as awaiting a decision."""
    page.locator("#body").fill(f"Mon avis, avec un lien {LONG_URL}")
    page.locator("#name").fill(LONG_NAME)
    page.locator("#email").fill("auteur@example.fr")
    page.get_by_role("button", name="Publier le commentaire").click()
    page.locator("li.comment", has_text="Mon avis, avec un lien").first.wait_for()


def _edit_own(page: Any) -> None:
    """From the article, the author's « Modifier » on the comment « son commentaire » posted."""
    own = page.locator("li.comment", has_text="Mon avis, avec un lien").first
    own.get_by_role("link", name="Modifier votre commentaire").click()
    page.get_by_role("heading", name="Modifier votre commentaire").wait_for()


def _delete_own(page: Any) -> None:
    """The same comment's « Supprimer »: its confirmation page."""
    own = page.locator("li.comment", has_text="Mon avis, avec un lien").first
    own.get_by_role("link", name="Supprimer votre commentaire").click()
    page.get_by_role("heading", name="Supprimer votre commentaire ?").wait_for()


def reader_pages(ids: dict[str, Any]) -> list[Page]:
    """The readers' pages (always French)."""
    return [
        Page("article", ARTICLE_URL, "reader.article"),
        Page("formulaire en erreur", ARTICLE_URL, "reader.post_comment", then=_form_error),
        Page("son commentaire", ARTICLE_URL, "reader.article", then=_own_comment),
        Page("modifier son commentaire", ARTICLE_URL, "reader.edit_comment", then=_edit_own),
        Page("supprimer son commentaire", ARTICLE_URL, "reader.delete_comment", then=_delete_own),
        Page("signaler", f"{ARTICLE_URL}/commentaires/{ids['reported']}/signaler", "reader.report"),
        Page(
            "signaler un contenu illicite",
            f"/contenus-illicites/signaler?commentaire={ids['reported']}",
            "reader.notice",
        ),
        Page(
            "notification reçue",
            f"/contenus-illicites/{ids.get('notice_reference', 'x')}",
            "reader.notice_received",
        ),
        Page("connexion", "/compte/connexion", "auth.login"),
        Page("inscription", "/compte/inscription", "auth.register"),
        Page("404", "/articles/cet-article-n-existe-pas", "reader.article"),
        Page("429", ARTICLE_URL, "reader.post_comment", then=_too_many),
        Page("référence de l’API", "/api/v1/docs", "api.v1.reference_page"),
        # The mail's signed link, opened by a visitor with no session.
        Page("exposé des motifs", str(ids.get("statement", "/motifs/inconnu")), "reader.statement"),
        Page("vos données", "/mes-donnees", "reader.my_data"),
        Page("lien envoyé", "/mes-donnees/envoye", "reader.my_data_sent"),
        # The mail's signed link, for a guest who commented.
        Page(
            "vos données (lien)", str(ids.get("data_link", "/mes-donnees/x")), "reader.my_data_page"
        ),  # fmt: skip
        # The reply notifications' mailed links: a guest's confirmation, the unsubscription.
        Page(
            "réponses : confirmer",
            str(ids.get("reply_confirm", "/notifications/confirmer/x")),
            "reader.reply_mails_confirm",
        ),
        Page(
            "réponses : se désabonner",
            str(ids.get("reply_unsubscribe", "/notifications/desabonner/x")),
            "reader.reply_mails_unsubscribe",
        ),
        # Last: it signs the visitor in as a reader.
        Page("mon compte", "/compte", "reader.account", then=_reader_account),
    ]


def _reader_account(page: Any) -> None:
    """From the sign-in page /compte sent a visitor to, as the reader, back to « Mon compte »."""
    page.locator("#email").fill("lectrice@example.fr")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    page.get_by_role("heading", name="Mon compte", exact=True).wait_for()


def sign_in(page: Any, role: Role) -> None:
    from playwright.sync_api import expect

    page.goto("/compte/connexion")
    page.locator("#email").fill(MODERATOR_EMAIL if role == Role.MODERATOR else ADMIN_EMAIL)
    page.locator("#password").fill(PASSWORD)
    page.locator("#password").press("Enter")
    expect(page.locator(".account-nav__who")).to_be_visible()


def staff_get_routes(app: Flask) -> set[str]:
    """The endpoints of the staff blueprints that answer GET, less those that are not pages."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in {"moderation", "admin"}
        and "GET" in (rule.methods or ())
        and rule.endpoint not in NOT_PAGES
    }
