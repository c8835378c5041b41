"""Site rules and word lists: the reasons, besides the model's scores, to hold or reject.

Pure: plain values in, reasons out. The scoring pipeline and the admins' simulation both call
`reasons_for`, so a rule means the same thing in both places.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.policy import Reason
from app.wordlists import Match, WordLists

RULE_PREMODERATE_ALL = "rule_premoderate_all"
RULE_ARTICLE = "rule_article_premoderated"
RULE_LINKS = "rule_links"
RULE_NEW_READER = "rule_new_reader"
BANNED_WORD = "banned_word"
SUSPECT_WORD = "suspect_word"

# A link: an address with its scheme or « www. », or a name ending in a common domain
# (« exemple.fr », « mon-site.com »). Linear in the text's length: a name is tried only from
# the start of its run of letters, digits and hyphens (the look-behind), and each quantifier
# meets a character it cannot take, so nothing is tried twice (« a-a-a-… » has no dot to find,
# and is given up once).
LINK = re.compile(
    r"(?i)\b(?:https?://|www\.)\S+"
    r"|(?<![\w-])-*\w[\w-]*\.(?:com|fr|org|net|info|io|ly|be|ch)\b"
)


@dataclass(frozen=True)
class Rules:
    premoderate_all: bool = False
    premoderate_links: bool = False
    premoderate_first_n: int = 0
    words: WordLists | None = None


@dataclass(frozen=True)
class Facts:
    """What the rules look at in one comment."""

    body: str
    article_premoderated: bool = False
    author_published_before: int = 0  # the author's published comments before this one


def word_matches(rules: Rules, body: str) -> list[Match]:
    """The word lists' matches in `body` (none without lists)."""
    return rules.words.find(body) if rules.words is not None else []


def reasons_for(
    rules: Rules, facts: Facts, matches: Sequence[Match] | None = None
) -> tuple[list[Reason], list[Reason]]:
    """(hold reasons, reject reasons) for this comment under these rules; `matches`: the word
    lists' matches in `facts.body` when the caller has them already (`word_matches`)."""
    holds: list[Reason] = []
    rejects: list[Reason] = []
    if rules.premoderate_all:
        holds.append(Reason(RULE_PREMODERATE_ALL))
    if facts.article_premoderated:
        holds.append(Reason(RULE_ARTICLE))
    if rules.premoderate_links and LINK.search(facts.body):
        holds.append(Reason(RULE_LINKS))
    if rules.premoderate_first_n and facts.author_published_before < rules.premoderate_first_n:
        holds.append(Reason(RULE_NEW_READER, detail=f"{facts.author_published_before + 1}"))
    if rules.words is not None:
        seen: set[tuple[str, str]] = set()
        for match in word_matches(rules, facts.body) if matches is None else matches:
            if (match.kind, match.entry) in seen:  # one reason per entry, however often
                continue
            seen.add((match.kind, match.entry))
            reason = Reason(
                BANNED_WORD if match.kind == "banned" else SUSPECT_WORD, detail=match.entry
            )
            (rejects if match.kind == "banned" else holds).append(reason)
    return holds, rejects
