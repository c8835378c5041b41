"""Site rules and word lists: the reasons, besides the model's scores, to hold or reject.

Pure: plain values in, reasons out. The scoring pipeline and the admins' simulation both call
`reasons_for`, so a rule means the same thing in both places.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.policy import TRUSTED_READER, Reason
from app.surge import SurgeRule
from app.wordlists import Match, WordLists

RULE_PREMODERATE_ALL = "rule_premoderate_all"
RULE_ARTICLE = "rule_article_premoderated"
RULE_LINKS = "rule_links"
RULE_NEW_READER = "rule_new_reader"
RULE_READER_HISTORY = "rule_reader_history"
RULE_SURGE = "rule_surge"
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
    # Trust and history: a signed-in reader with `trust_after_published` published comments
    # (0: off) and no rejection in the last `history_days` is trusted (see `trust`); a reader
    # with at least `distrust_min_rejections` rejections in those days, making at least
    # `distrust_percent` % (0: off) of their decided comments there, is pre-moderated.
    trust_after_published: int = 0
    history_days: int = 30
    distrust_percent: int = 0
    distrust_min_rejections: int = 3
    surge: SurgeRule = SurgeRule(multiple=0)

    @property
    def reads_history(self) -> bool:
        """Whether a rule counts the author's past comments."""
        return bool(self.premoderate_first_n or self.trust_after_published or self.distrust_percent)


@dataclass(frozen=True)
class Facts:
    """What the rules look at in one comment."""

    body: str
    article_premoderated: bool = False
    author_published_before: int = 0  # the author's published comments before this one
    # In the `history_days` before it: the author's published and rejected comments.
    author_recent_published: int = 0
    author_recent_rejected: int = 0
    author_signed_in: bool = False  # an account (or SSO reader): an address typed is not
    article_surge: bool = False  # the story is pre-moderated by the surge rule


def trust(rules: Rules, facts: Facts) -> Reason | None:
    """The trust a reader has earned (None: none): signed in, at least
    `trust_after_published` published comments and no rejection in the last `history_days`.
    A guest's typed address proves nothing: guests are never trusted."""
    if (
        rules.trust_after_published
        and facts.author_signed_in
        and facts.author_published_before >= rules.trust_after_published
        and facts.author_recent_rejected == 0
    ):
        return Reason(TRUSTED_READER, detail=str(facts.author_published_before))
    return None


def distrusted(rules: Rules, facts: Facts) -> bool:
    """Whether the author's recent rejections pass the rate that pre-moderates them."""
    rejected = facts.author_recent_rejected
    decided = rejected + facts.author_recent_published
    return bool(
        rules.distrust_percent
        and rejected >= max(rules.distrust_min_rejections, 1)
        and rejected * 100 >= rules.distrust_percent * decided
    )


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
    if facts.article_surge:
        holds.append(Reason(RULE_SURGE))
    if distrusted(rules, facts):
        decided = facts.author_recent_rejected + facts.author_recent_published
        holds.append(
            Reason(RULE_READER_HISTORY, detail=f"{facts.author_recent_rejected}/{decided}")
        )
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
