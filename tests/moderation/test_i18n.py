"""Staff pages speak French first, English on request; readers' pages are always French.

The English catalog (app/translations/en) must translate every msgid: those the templates and
routes pass to `_()`, and the labels of app/labels.py (`lazy_gettext`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app import labels
from app.models import CommentStatus, Role
from tests.conftest import ARTICLE_URL, add_comment, login, make_user

ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIR = ROOT / "app" / "translations" / "en" / "LC_MESSAGES"
QUEUE_URL = "/moderation/file/a-moderer"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")
STAFF_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

LABEL_DICTS = {
    name: getattr(labels, name)
    for name in dir(labels)
    if name.isupper()
    and isinstance(getattr(labels, name), dict)
    # Proper names (IMPORT_FORMATS: « WordPress », « Disqus ») are plain strings, not translated.
    and not all(type(value) is str for value in getattr(labels, name).values())
}


def _po():
    with open(CATALOG_DIR / "messages.po", "rb") as f:
        return read_po(f, locale="en")


def _mo():
    with open(CATALOG_DIR / "messages.mo", "rb") as f:
        return read_mo(f)


@pytest.fixture
def held_comment(app, client, article):
    """`client` signed in as a moderator, with one comment waiting in « À modérer »."""
    make_user(email="modo-i18n@example.fr", display_name="Modo", role=Role.MODERATOR)
    assert login(client, "modo-i18n@example.fr").status_code == 303
    return add_comment(article, "Un avis tranché sur le sujet.", status=CommentStatus.HELD)


def _page(client, url, **headers):
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# --- Through HTTP --------------------------------------------------------------------------


def test_staff_pages_are_french_by_default(client, held_comment):
    page = _page(client, QUEUE_URL)
    assert '<html lang="fr">' in page
    assert "À modérer" in page
    assert "Approuver <kbd>a</kbd>" in page
    assert "Rejeter <kbd>r</kbd>" in page
    assert ">insultes ou attaques personnelles</option>" in page
    assert ">English</a>" in page
    assert "Pending review" not in page


def test_lang_en_switches_the_staff_pages_to_english(client, held_comment):
    page = _page(client, f"{QUEUE_URL}?lang=en")
    assert '<html lang="en">' in page
    for queue in ("Pending review", "Reported", "Rejected", "Approved", "All", "Audit log"):
        assert f'{queue} <span class="count"' in page or f">{queue}</a>" in page, queue
    assert "<h1>Pending review" in page
    assert "Approve <kbd>a</kbd>" in page
    assert "Reject <kbd>r</kbd>" in page
    assert "Approve selected" in page
    for reason in ("insults or personal attacks", "spam or advertising", "other reason"):
        assert f">{reason}</option>" in page, reason
    assert ">Newest first</option>" in page  # sorts
    assert ">toxic language</option>" in page  # categories
    assert "Keyboard shortcuts" in page
    assert ">Français</a>" in page
    for french in ("À modérer", "Approuver", "Rejeter", "insultes ou attaques personnelles"):
        assert french not in page, french


def test_the_choice_is_remembered_on_the_next_staff_page(client, held_comment):
    _page(client, f"{QUEUE_URL}?lang=en")
    page = _page(client, "/moderation/journal")
    assert '<html lang="en">' in page
    assert "<h1>Moderation audit log</h1>" in page
    assert ">Export as CSV</a>" in page
    page = _page(client, f"/moderation/commentaires/{held_comment.id}")
    assert '<html lang="en">' in page
    assert "<h1>Comment #" in page
    # and back to French the same way
    page = _page(client, f"{QUEUE_URL}?lang=fr")
    assert '<html lang="fr">' in page
    assert '<html lang="fr">' in _page(client, "/moderation/journal")


def test_flash_messages_follow_the_staff_language(client, held_comment):
    page = _page(client, f"{QUEUE_URL}?lang=en")
    token = STAFF_CSRF.search(page)
    assert token
    response = client.post(
        f"/moderation/commentaires/{held_comment.id}/decision",
        data={
            "csrf_token": token.group(1),
            "version": held_comment.version,
            "action": "approve",
            "next": QUEUE_URL,
        },
    )
    assert response.status_code == 303
    page = _page(client, QUEUE_URL)
    assert f"Comment #{held_comment.id} approved and published." in page


def test_an_english_browser_gets_english_staff_pages(client, held_comment):
    page = _page(client, QUEUE_URL, **{"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in page
    assert "Pending review" in page
    assert "Approve <kbd>a</kbd>" in page
    # an explicit choice wins over the browser, and is remembered
    page = _page(client, f"{QUEUE_URL}?lang=fr", **{"Accept-Language": "en"})
    assert '<html lang="fr">' in page
    assert '<html lang="fr">' in _page(client, QUEUE_URL, **{"Accept-Language": "en"})


def test_a_french_or_unknown_browser_gets_french_staff_pages(client, held_comment):
    for language in ("fr-FR,fr;q=0.9", "de-DE"):
        page = _page(client, QUEUE_URL, **{"Accept-Language": language})
        assert '<html lang="fr">' in page, language
        assert "À modérer" in page


def test_readers_pages_stay_french(client, held_comment):
    _page(client, f"{QUEUE_URL}?lang=en")  # a moderator who reads the workspace in English
    page = _page(client, f"{ARTICLE_URL}?lang=en", **{"Accept-Language": "en"})
    assert '<html lang="fr">' in page
    assert "Les commentaires sont relus selon nos règles de publication." in page
    assert ">Modération</a>" in page and ">Se déconnecter</button>" in page
    assert "Comments are reviewed" not in page
    assert "Sign out" not in page


def test_anonymous_readers_pages_stay_french(client):
    page = _page(client, f"{ARTICLE_URL}?lang=en", **{"Accept-Language": "en"})
    assert '<html lang="fr">' in page
    assert "Les commentaires sont relus selon nos règles de publication." in page


# --- The catalog ---------------------------------------------------------------------------


def test_every_msgid_has_an_english_translation():
    catalog = _po()
    assert not catalog.fuzzy
    messages = [m for m in catalog if m.id]
    assert messages
    for message in messages:
        assert not message.fuzzy, f"fuzzy: {message.id!r}"
        # A plural (ngettext) entry: English has two forms, each with the msgid's placeholders.
        ids = message.id if message.pluralizable else (message.id,)
        strings = message.string if message.pluralizable else (message.string,)
        assert len(strings) == len(ids), f"forms: {message.id!r} -> {message.string!r}"
        for msgid, string in zip(ids, strings, strict=True):
            assert string and string.strip(), f"untranslated: {msgid!r}"
            assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(string)), (
                f"placeholders differ: {msgid!r} -> {string!r}"
            )
    assert not list(catalog.check())


def test_the_compiled_catalog_matches_the_po_file():
    """messages.mo is what the app reads: recompile (`pybabel compile`) after editing the .po."""

    def forms(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    po = {forms(m.id): forms(m.string) for m in _po() if m.id}
    mo = {forms(m.id): forms(m.string) for m in _mo() if m.id}
    assert mo == po


@pytest.mark.parametrize("name", sorted(LABEL_DICTS))
def test_every_label_that_templates_translate_is_in_the_catalog(name):
    catalog, compiled = _po(), _mo()
    for lazy in LABEL_DICTS[name].values():
        label = lazy._args[0]  # the msgid (French)
        message = catalog.get(label)
        assert message is not None and message.string, f"{name}: no English for {label!r}"
        assert compiled.get(label) is not None, f"{name}: {label!r} missing from messages.mo"


def test_the_catalog_has_every_msgid_in_the_sources():
    """A `_()` or `lazy_gettext()` added to a template, a route or app/labels.py without
    re-extracting and translating fails here."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    catalog = _po()
    missing = []
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None},
    ):
        msgid = message if isinstance(message, str) else message[0]
        entry = catalog.get(msgid)
        if entry is None or not entry.string:
            missing.append(f"{filename}:{lineno}: {msgid!r}")
    assert not missing, "not in the English catalog:\n" + "\n".join(missing)
