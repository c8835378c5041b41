"""English mode is complete: the catalog translates every msgid the sources hold, and every staff
page, rendered in English with data that makes reasons, actors, validation errors and the
settings' history appear, shows no French outside what readers and staff wrote themselves.

What is legitimately French on an English page is marked up as such and left out of the check:
names (`<bdi>`), readers' own text and what readers are told (`lang="fr"`), technical details
(`<code>`), and the data this test stored (comment bodies, the article's title)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.extensions import db
from app.models import CommentReport, CommentStatus, Role, utcnow
from app.policy import CATEGORY_HOLD, NUDGE_IGNORED, SCORING_UNAVAILABLE, Reason
from app.services import audit, settings
from tests.admin.conftest import post_form, threshold_form
from tests.conftest import CSRF_RE, add_comment, login, make_user

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
STORY_URL = "https://www.journal.fr/article-42"


def _pybabel(*args: str, cwd: Path) -> None:
    command = [sys.executable, "-m", "babel.messages.frontend", *args]
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_every_extracted_msgid_has_an_english_msgstr(tmp_path):
    """The README's commands, run on a copy: extract, then update the English catalog. Every
    msgid must come out translated (a fuzzy guess counts as missing)."""
    extract = next(line for line in README.splitlines() if line.startswith("pybabel -q extract"))
    assert "-k lazy_gettext" in extract
    shutil.copytree(ROOT / "app" / "translations", tmp_path / "translations")
    pot = tmp_path / "messages.pot"
    _pybabel("-q", "extract", "-F", "babel.cfg", "-k", "lazy_gettext", "-o", str(pot), "app",
             cwd=ROOT)  # fmt: skip
    _pybabel("-q", "update", "-i", str(pot), "-d", str(tmp_path / "translations"), "-l", "en",
             "--no-fuzzy-matching", "--ignore-obsolete", cwd=ROOT)  # fmt: skip
    with open(tmp_path / "translations" / "en" / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f, locale="en")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if message.pluralizable else (message.string,)
        if message.fuzzy or not all(s and s.strip() for s in strings):
            where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
            missing.append(f"{message.id!r} ({where})")
    assert not missing, f"{len(missing)} without English:\n" + "\n".join(missing)


# --- Every staff page, in English ------------------------------------------------------------

FRENCH_MARKERS = re.compile(
    r"\b(commentaires?|seuils?|modérateurs?|modération|lecteurs?|système|signalements?|les|des|"
    r"une|est|pas|pour|avec|entre|nombre|indiquez|jours?)\b|[éèêàçû]| [:;!?»]|« ",
    re.IGNORECASE,
)
SKIPPED = {"script", "style", "bdi", "code", "textarea", "title"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip
SHOWN_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


class _VisibleText(HTMLParser):
    """The text a staff member reads or hears, without what is marked as not ours to translate."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []  # the open tags since a skipped one started

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            if not self._skipping:
                self.parts += [v for k, v in attrs if k in SHOWN_ATTRIBUTES and v]
                if tag == "input" and dict(attrs).get("type") in ("submit", "button"):
                    self.parts.append(dict(attrs).get("value") or "")
            return
        skip = tag in SKIPPED or dict(attrs).get("lang") == "fr" and tag != "html"
        if self._skipping or skip:
            self._skipping.append(tag)
            return
        self.parts += [v for k, v in attrs if k in SHOWN_ATTRIBUTES and v]

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and tag in VOID:
            return
        if self._skipping:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping and data.strip():
            self.parts.append(data.strip())


def french_on(page: str, data: list[str]) -> list[str]:
    """The bits of visible text that look French, once the stored `data` is taken out."""
    parser = _VisibleText()
    parser.feed(page)
    found = []
    for part in parser.parts:
        for stored in data:  # the whole text, or its start (a title cut short)
            start = next((stored[:n] for n in range(len(stored), 19, -1) if stored[:n] in part), "")
            part = part.replace(start or stored, "")
        if part.strip() in ("Français",):  # the language switch names its language
            continue
        if FRENCH_MARKERS.search(part):
            found.append(part)
    return found


BODIES = [
    "Quel idiot ce ministre",
    "Un avis tranché sur le sujet.",
    "Encore une réponse envoyée telle quelle.",
    "Un texte noté sans modèle.",
    "Un commentaire publié puis signalé.",
]


@pytest.fixture
def staff_data(app, article, reader):
    """Comments with every kind of reason and audit row, a sanction, reports and settings
    changes; returns the admin's client (in English) and the stored texts to leave out."""
    settings.set_value("nudge_enabled", False)
    reader.post(body=BODIES[0], name="Dédé", email="dede@example.fr")  # held by the model
    add_comment(article, BODIES[1], status=CommentStatus.HELD, author_name="Dédé",
                reasons=[Reason(CATEGORY_HOLD, "toxicity", 0.6, 0.5).as_dict(),
                         Reason("rule_new_reader", detail="2").as_dict(),
                         Reason("banned_word", detail="zut").as_dict()])  # fmt: skip
    ignored = add_comment(article, BODIES[2], status=CommentStatus.HELD,
                          reasons=[Reason(NUDGE_IGNORED).as_dict()])  # fmt: skip
    error = "URLError: <urlopen error [Errno -2] Name or service not known>"
    unscored = add_comment(
        article,
        BODIES[3],
        status=CommentStatus.HELD,
        reasons=[Reason(SCORING_UNAVAILABLE, detail=error).as_dict()],
    )
    reported = add_comment(article, BODIES[4], flagged_at=utcnow(), report_count=2,
                           report_weight=2.0)  # fmt: skip
    for n, code in enumerate(("spam", "insulte")):
        db.session.add(CommentReport(comment_id=reported.id, reporter_key=f"session:{n}",
                                     reason=code, weight=1.0))  # fmt: skip
    audit.record("sent_anyway", actor=audit.reader_actor("Dédé"), comment_id=ignored.id,
                 from_status="nudged", to_status="held", reason_code=NUDGE_IGNORED,
                 reasons=[Reason(NUDGE_IGNORED)])  # fmt: skip
    audit.record("scoring_failed", actor=audit.SYSTEM, comment_id=unscored.id,
                 from_status="pending", to_status="held", reason_code=SCORING_UNAVAILABLE,
                 reasons=unscored.reasons)  # fmt: skip
    audit.record(
        "revised",
        actor=audit.reader_actor("Dédé"),
        comment_id=ignored.id,
        reason="L’auteur a reformulé son commentaire.",
    )  # a row stored as text only
    db.session.commit()

    admin = make_user(email="chef@example.fr", display_name="Chef Claire", role=Role.ADMIN)
    client = app.test_client()
    login(client, admin.email)
    client.get("/moderation/file/a-moderer?lang=en")
    page = client.get(f"/moderation/commentaires/{reported.id}").get_data(as_text=True)
    client.post(f"/moderation/commentaires/{reported.id}/decision", data={
        "csrf_token": CSRF_RE.search(page).group(1), "version": reported.version,
        "action": "keep"})  # fmt: skip
    page = client.get(f"/moderation/commentaires/{ignored.id}").get_data(as_text=True)
    client.post(f"/moderation/commentaires/{ignored.id}/decision", data={
        "csrf_token": CSRF_RE.search(page).group(1), "version": ignored.version,
        "action": "reject", "reason": "spam"})  # fmt: skip
    page = client.get("/moderation/lecteurs?email=dede@example.fr").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    client.post("/moderation/lecteurs/sanctions", data={
        "csrf_token": token, "email": "dede@example.fr", "kind": "suspend", "days": "7",
        "reason": "Repeated spam"})  # fmt: skip
    post_form(client, "/admin/seuils", threshold_form({"insult-hold": "0.6"}))
    post_form(client, "/admin/regles", {"premoderate_first_n": "2", "reports_threshold": "3",
        "premoderate_links": "on", "comment_rate_limit-count": "12",
        "comment_rate_limit-period": "hour", "action": "enregistrer"})  # fmt: skip
    post_form(client, "/admin/clients", {"name": "cms-ouest", "quota-count": "10",
        "quota-period": "second", "coral_secret": "ss_secret"})  # fmt: skip
    post_form(client, "/admin/sites", {"name": "journal", "origins": "https://www.journal.fr"})
    page = client.get("/admin/sites").get_data(as_text=True)
    client.post("/admin/sites/journal", data={
        "csrf_token": CSRF_RE.search(page).group(1), "origins": "https://www.journal.fr",
        "guests_allowed": "off", "max_comment_length": "800"})  # fmt: skip
    from app.services import clients, sites

    sites.ensure_story(sites.get("journal"), f"{STORY_URL}", "Un article du journal")
    cms = clients.find("cms-ouest")
    clients.record_call(cms, 200)
    clients.record_call(cms, 429, "quota_exceeded")
    clients.flush_usage()
    return client, [*BODIES, article.title, article.slug, "Dédé", "Chef Claire", "Camille",
                    "Un article du journal"]  # fmt: skip


STAFF_PAGES = [
    "/moderation/file/a-moderer", "/moderation/file/signales", "/moderation/file/rejetes",
    "/moderation/file/approuves", "/moderation/file/tous", "/moderation/journal",
    "/moderation/lecteurs?email=dede@example.fr", "/admin/", "/admin/seuils", "/admin/regles",
    "/admin/mots", "/admin/articles", "/admin/historique", "/admin/calibration", "/admin/clients",
    "/admin/sites", "/admin/articles?site=journal", "/moderation/reclamations",
    "/admin/transparence",
]  # fmt: skip

# Forms sent wrong on purpose: the page that answers names the refused fields, in English.
REFUSED_FORMS = [
    ("/admin/seuils", threshold_form({"insult-hold": "2", "toxicity-hold": "0.9",
                                      "toxicity-reject": "0.5"})),
    ("/admin/regles", {"premoderate_first_n": "-1", "reports_threshold": "0",
                       "max_comment_length": "3", "comment_rate_limit-count": "many",
                       "nudge_sent_anyway": "never", "action": "enregistrer"}),
    ("/admin/mots", {"banned_words": "x" * 101, "action": "enregistrer"}),
    ("/admin/clients", {"name": "Pas un slug", "quota-count": "0", "quota-period": "second"}),
    ("/admin/sites", {"name": "Pas un slug", "origins": "https://www.journal.fr"}),
    ("/admin/sites", {"name": "ouest", "origins": "ftp://ouest.fr", "action": "origins"}),
    ("/admin/seuils", threshold_form({"insult-hold": "0.2"}, action="simuler")),
]  # fmt: skip


def test_every_staff_page_is_english(staff_data):
    client, data = staff_data
    comments = client.get("/moderation/file/tous").get_data(as_text=True)
    ids = sorted(set(re.findall(r'data-comment="(\d+)"', comments)))
    assert len(ids) == 5
    pages = {url: client.get(url) for url in STAFF_PAGES}
    pages |= {f"/moderation/commentaires/{i}": client.get(f"/moderation/commentaires/{i}")
              for i in ids}  # fmt: skip
    for url, form in REFUSED_FORMS:
        pages[f"POST {url} {form.get('action')}"] = post_form(client, url, form)
    problems = []
    for url, response in pages.items():
        page = response.get_data(as_text=True)
        assert response.status_code in (200, 422), (url, response.status_code)
        assert '<html lang="en">' in page, url
        problems += [f"{url}: {text!r}" for text in french_on(page, data)]
    assert not problems, "French on English staff pages:\n" + "\n".join(problems)
    # and what the data was there to show, in English
    journal = pages["/moderation/journal"].get_data(as_text=True)
    for english in ("reader <bdi>Dédé</bdi>", "system", "model <bdi>detoxify",
                    "insults: score 0.70 ≥ review threshold 0.50", "Rejected: spam or advertising",
                    "Kept: 2 reports dismissed", "Reader suspended for 7 days",
                    "The author was asked to rephrase"):  # fmt: skip
        assert english in journal, english
    history = pages["/admin/historique"].get_data(as_text=True)
    assert "Thresholds: insults" in history and "review 0.60 · rejection 0.90 · prompt" in history
    assert "12 per hour" in history
    assert "Site “journal”" in history and "origins: https://www.journal.fr · SSO: yes" in history
    sites_page = pages["/admin/sites"].get_data(as_text=True)
    assert (
        "as on the default site (no)" in sites_page
        and "<code>https://www.journal.fr</code>" in sites_page
    )


def test_moderators_read_plain_words_where_admins_get_the_error(staff_data, app):
    client, _data = staff_data
    page = client.get("/moderation/file/a-moderer").get_data(as_text=True)
    assert "Errno -2" in page  # admins see the model's error
    make_user(email="modo@example.fr", display_name="Modo Marie", role=Role.MODERATOR)
    moderator = app.test_client()
    login(moderator, "modo@example.fr")
    for url in ("/moderation/file/a-moderer", "/moderation/journal"):
        page = moderator.get(url).get_data(as_text=True)
        assert "Score indisponible : le modèle n’a pas pu noter ce commentaire" in page
        assert "Errno -2" not in page and "URLError" not in page, url


class TestBannerInEnglish:
    @pytest.fixture
    def scorer(self, tmp_path):
        from app.scoring import ScorerSettings, get_scorer

        checkpoint = tmp_path / "broken.ckpt"
        checkpoint.write_bytes(b"not a checkpoint")
        return get_scorer(ScorerSettings(checkpoint=str(checkpoint)))

    def test_the_scoring_banner_speaks_the_staff_language(self, app, reader):
        reader.post(body="Un avis")  # makes the worker try the model
        make_user(email="modo@example.fr", display_name="Modo Marie", role=Role.MODERATOR)
        client = app.test_client()
        login(client, "modo@example.fr")
        page = client.get("/moderation/file/a-moderer?lang=en").get_data(as_text=True)
        assert "Scoring unavailable." in page
        assert "The scoring model could not be loaded." in page
        assert "To do: an administrator" in page
        assert "broken.ckpt" not in page
        assert "You are signed in." in page  # the sign-in page's message, on a staff page
        assert not french_on(page, ["Un avis", "Camille", "Le ministère de la Défense russe"])
