"""The link rule's pattern: what counts as a link, and a cost linear in the text's length."""

from __future__ import annotations

import pytest

from app.rules import LINK, Facts, Rules, reasons_for

LINKS = [
    "voir https://exemple.fr/article",
    "http://a.b",
    "ou www.exemple.com aussi",
    "mon-site.com",
    "--a--.fr",
    "a.b.org, c'est tout",
    "WWW.EXEMPLE.NET",
    "é-té.ch",
]
NOT_LINKS = [
    "rien à signaler",
    "---.com",
    "exemple.company",
    "fin de phrase.Commence",
    "a.comfort",
    "3.14 et 2.5",
    "le site . com",
]


@pytest.mark.parametrize("text", LINKS)
def test_links_are_found(text: str) -> None:
    assert LINK.search(text)


@pytest.mark.parametrize("text", NOT_LINKS)
def test_other_text_is_not_a_link(text: str) -> None:
    assert LINK.search(text) is None


# 200,000 characters each. The old pattern (`\b[\w-]+\.(?:com|…)\b`) retried the whole run of
# letters and hyphens from every word boundary: « a- » × 10,000 took 5.5 s, and these inputs
# would take it many minutes; read once from the start of each run, they take milliseconds.
ADVERSARIAL = {
    "a-a-a-": ("a-" * 100_000, False),
    "------": ("-" * 200_000, False),
    "______": ("_" * 200_000, False),
    "-a-a-a": ("-a" * 100_000, False),
    "a.a.a.": ("a." * 100_000, False),
    "a-.a-.": ("a-." * 66_666, False),
    "wwwwww": ("www" * 66_666, False),
    "a-…a.fr": ("a-" * 100_000 + ".fr", True),
    "a-…a.com!": ("a-" * 99_998 + "a.com!", True),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_text_gets_its_answer(name: str) -> None:
    text, is_link = ADVERSARIAL[name]
    assert bool(LINK.search(text)) is is_link
    holds, _ = reasons_for(Rules(premoderate_links=True), Facts(body=text))
    assert [r.code for r in holds] == (["rule_links"] if is_link else [])
