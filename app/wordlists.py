"""Banned, suspect and allowed words: the matching engine behind the admins' word lists.

Pure: no Flask, no database. `WordLists` is compiled once from the three lists and is then
immutable, so one instance may serve every request and thread.

Normalisation (`normalise`) is applied to comments and list entries alike, one character at a
time, so that every normalised character remembers where it came from in the original text (a
`Match` span always points into the text as the reader wrote it):

1. invisible characters are removed: format characters (Unicode category Cf: zero-width space
   and joiners U+200B/C/D, word joiner U+2060, BOM U+FEFF, soft hyphen U+00AD, bidi controls…)
   and Hangul fillers;
2. compatibility decomposition (NFKD: fullwidth ｃ, mathematical 𝐜, circled ⓒ, ligature ﬁ
   become plain letters), then combining marks are dropped, so accents go
   (« cönnàrd » → « connard »); with step 1 this is NFKC followed by accent stripping;
3. letters of other scripts that imitate Latin ones become that letter (Cyrillic с, Greek ο,
   small capitals ᴄ…: see `CONFUSABLES`), œ/æ become oe/ae, and the text is case-folded;
4. typographic apostrophes (’ ‘ ʼ ` ´ ′) become « ' ».

Matching then works on *words*: runs of letters and digits, where @ $ € ! | count as letters
inside a word. Each word is reduced to its *skeleton*:

5. when the word has at least one letter, digits and symbols are read as letters: 0→o, 1→i or
   l, 3→e, 4→a, 5→s, 7→t, 8→b, @→a, $→s, €→e, !→i, |→i or l; a capital I also reads as i or l
   (« saIope »). An ambiguous character yields every reading (up to 16 per word) and the word
   matches when one of them does. A word of digits only stays as it is (« 88 »);
6. runs of one repeated letter collapse (« connnnaaard » → « conard »). Entries collapse too
   (« connard » → « conard »), so genuine doubles keep working.

Word rules:

* whole words only: « con » never matches « contexte », « déconner », « Macron », « icône »; a
  word also matches with a final plural s or x (« connards », « culs »);
* the apostrophe separates words, so elisions are understood (« l'con », « qu’con »);
* a phrase (« sale race ») matches consecutive words separated by spaces or punctuation, but
  not across a line break or the end of a sentence (« . », « ! », « ? », « … », « ; » followed
  by a space); a phrase glued into one word matches as well (« filsdepute »);
* spaced-out letters: a run of two or more one-character words is also read glued together
  (« c o n n a r d », « c.o.n.n.a.r.d », « c-o-n », « c_o_n » all read « connard »/« con »),
  except an elided letter (c' d' j' l' m' n' s' t'); a leading « a » or « y » (à, a, y) may be
  left out of the run (« t'es à c o n »). Words of two letters or more are never glued, so
  « le con texte » is « le », « con », « texte »;
* symbols at the edges of a word are tried both as letters and as punctuation (« con! »,
  « $alope », « @connard »), and a word of single letters joined by symbols is read without
  them (« c!o!n »);
* allow-list: an occurrence of a banned or suspect entry that lies inside an occurrence of an
  allowed entry is not reported (banned « con », allowed « chili con carne »).

Known limits, left to the moderators: letters split inside a word (« co nnard »), masked letters
(« c*nnard »), mirrored or upside-down text, and Cyrillic or Greek words that happen to look like
a listed Latin word.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, cast

from markupsafe import Markup, escape

__all__ = [
    "CONFUSABLES",
    "HEADER",
    "Kind",
    "Match",
    "WordLists",
    "entry_key",
    "format_list",
    "highlight",
    "normalise",
    "parse_list",
    "stored_match",
    "stored_matches",
]

Kind = Literal["banned", "suspect"]
_KINDS: tuple[Kind, ...] = ("banned", "suspect")
_ALLOWED = "allowed"

# A capital I is read as « i or l »: it travels through matching as this stand-in (a dotless i,
# which the confusables map turns into a plain i when it appears in a text).
_AMBIGUOUS_I = "ı"

CONFUSABLES: dict[str, str] = {
    # Latin capital I (also after NFKD: Ｉ, 𝐈, Ⅰ) and its look-alikes: i or l.
    "I": _AMBIGUOUS_I, "Ι": _AMBIGUOUS_I, "І": _AMBIGUOUS_I, "Ӏ": _AMBIGUOUS_I,
    "ӏ": _AMBIGUOUS_I, "ǀ": _AMBIGUOUS_I,
    # Cyrillic.
    "а": "a", "А": "a", "в": "b", "В": "b", "с": "c", "С": "c", "ԁ": "d", "е": "e", "Е": "e",
    "һ": "h", "Һ": "h", "н": "h", "Н": "h", "і": "i", "ј": "j", "Ј": "j", "к": "k", "К": "k",
    "м": "m", "М": "m", "п": "n", "о": "o", "О": "o", "р": "p", "Р": "p", "ԛ": "q", "ѕ": "s",
    "Ѕ": "s", "т": "t", "Т": "t", "ѵ": "v", "Ѵ": "v", "ԝ": "w", "Ԝ": "w", "х": "x", "Х": "x",
    "у": "y", "У": "y", "ь": "b", "Ь": "b",
    # Greek.
    "α": "a", "Α": "a", "β": "b", "Β": "b", "ϲ": "c", "Ϲ": "c", "ε": "e", "Ε": "e", "η": "n",
    "Η": "h", "ι": "i", "ϳ": "j", "κ": "k", "Κ": "k", "Μ": "m", "μ": "u", "ν": "v", "Ν": "n",
    "ο": "o", "Ο": "o", "ρ": "p", "Ρ": "p", "τ": "t", "Τ": "t", "υ": "u", "Υ": "y", "ω": "w",
    "χ": "x", "Χ": "x", "γ": "y", "Ζ": "z",
    # Latin letters with a stroke, ligatures, and the small capitals of « fancy text ».
    "ı": "i", "ȷ": "j", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ð": "d",
    "Ð": "d", "ħ": "h", "ŧ": "t", "ƀ": "b", "ɨ": "i", "ɩ": "i", "ɑ": "a", "ɡ": "g", "ʉ": "u",
    "œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae",
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i",
    "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s",
    "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
}  # fmt: skip

_APOSTROPHES = frozenset("'’‘‛ʼʹ`´′＇")
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")  # Hangul fillers (category Lo)

# Digits and symbols read as letters, inside a word that has at least one letter.
_LEET: dict[str, tuple[str, ...]] = {
    "0": ("o",), "1": ("i", "l"), "3": ("e",), "4": ("a",), "5": ("s",), "7": ("t",),
    "8": ("b",), "@": ("a",), "$": ("s",), "€": ("e",), "!": ("i",), "|": ("i", "l"),
    _AMBIGUOUS_I: ("i", "l"),
}  # fmt: skip
_SYMBOLS = "@$€!|"
_SYMBOL_SET = frozenset(_SYMBOLS)
_MAX_READINGS = 16
_ELIDED = frozenset("cdjlmnst")
_DROPPABLE_RUN_START = frozenset("ay")

_WORD = re.compile(r"(?:[^\W_]|[@$€!|])+")
_REPEATS = re.compile(r"(.)\1+")
_PHRASE_BREAK = re.compile(r"[.!?…;]\s|[\n\r\u2028\u2029]")
_SPACES = re.compile(r"\s+")


# --- normalisation -------------------------------------------------------------------------


def _normalise_char(char: str) -> str:
    """Steps 1 to 4 of the module docstring for one character ("" when it disappears)."""
    if char in _APOSTROPHES:
        return "'"
    if char in _INVISIBLE_LETTERS or unicodedata.category(char) == "Cf":
        return ""
    out: list[str] = []
    for part in unicodedata.normalize("NFKD", char):
        if unicodedata.category(part).startswith("M") or part in _INVISIBLE_LETTERS:
            continue
        mapped = CONFUSABLES.get(part)
        if mapped is None:
            mapped = "".join(CONFUSABLES.get(c, c) for c in part.casefold())
        out.append(mapped)
    return "".join(out)


class _CharTable(dict[int, str]):
    """`str.translate` table filled on first sight of each character (bounded in size)."""

    limit = 50_000

    def __missing__(self, code: int) -> str:
        value = _normalise_char(chr(code))
        if len(self) < self.limit:
            self[code] = value
        return value


_TABLE = _CharTable()


@dataclass(frozen=True, slots=True)
class _Normalised:
    """Normalised text, with the original span of every normalised character."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]


def _normalise(text: str) -> _Normalised:
    norm = text.translate(_TABLE)
    odd = [c for c in set(text) if len(_TABLE[ord(c)]) != 1]
    if not odd:  # one character for one: spans are the identity
        return _Normalised(norm, range(len(text)), range(1, len(text) + 1))
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    for m in re.finditer("|".join(map(re.escape, odd)), text):
        i = m.start()
        starts.extend(range(pos, i))
        ends.extend(range(pos + 1, i + 1))
        value = _TABLE[ord(m.group())]
        if value:
            starts.extend([i] * len(value))
            ends.extend([i + 1] * len(value))
        elif ends and ends[-1] == i and unicodedata.category(m.group()).startswith("M"):
            ends[-1] = i + 1  # a combining mark stays with its letter (for highlighting)
        pos = i + 1
    starts.extend(range(pos, len(text)))
    ends.extend(range(pos + 1, len(text) + 1))
    return _Normalised(norm, starts, ends)


def normalise(text: str) -> str:
    """`text` after steps 1 to 4 of the module docstring: no invisible characters, no accents,
    Latin look-alikes mapped, case-folded, apostrophes unified (« Ｃönnàrd’ » → « connard' »).

    Digit swaps and repeated letters are handled later, word by word (see `entry_key`).
    """
    return _normalise(text).text.replace(_AMBIGUOUS_I, "i")


# --- skeletons -----------------------------------------------------------------------------


# Words up to this length are remembered (the caches' memory stays bounded: 65,536 short
# words); a longer one, rare and possibly made up to fill the caches, is worked out each time.
_CACHED_WORD = 32


def _readings(word: str) -> tuple[str, ...]:
    return _cached_readings(word) if len(word) <= _CACHED_WORD else _word_readings(word)


def _text_keys(word: str) -> tuple[str, ...]:
    return _cached_text_keys(word) if len(word) <= _CACHED_WORD else _word_text_keys(word)


def _word_readings(word: str) -> tuple[str, ...]:
    """Skeletons of one normalised word (steps 5 and 6): every reading, collapsed."""
    if not any(c.isalpha() for c in word):
        return (word,)  # digits only (or symbols only): literal
    if not any(c in _LEET for c in word):
        return (_REPEATS.sub(r"\1", word),)
    options = [_LEET.get(c, (c,)) for c in word]
    readings: dict[str, None] = {}
    for combo in itertools.islice(itertools.product(*options), _MAX_READINGS):
        readings[_REPEATS.sub(r"\1", "".join(combo))] = None
    return tuple(readings)


def _word_text_keys(word: str) -> tuple[str, ...]:
    """Keys under which a word of a comment is looked up: its skeletons, then the same without
    a final plural s or x."""
    keys = dict.fromkeys(_readings(word))
    for key in list(keys):
        if len(key) >= 3 and key[-1] in "sx" and key[-2].isalpha():
            keys.setdefault(key[:-1])
    return tuple(keys)


_cached_readings = functools.lru_cache(maxsize=65_536)(_word_readings)
_cached_text_keys = functools.lru_cache(maxsize=65_536)(_word_text_keys)


def _entry_words(entry: str) -> list[str]:
    return [w for w in _WORD.findall(normalise(entry)) if any(c not in _SYMBOL_SET for c in w)]


def entry_key(entry: str) -> str:
    """The canonical form of a list entry: its words' skeletons (first reading), one space apart.

    Two entries with the same key are duplicates (« Connard », « cönnard », « conard »,
    « c0nnard » all give « conard »); an entry whose key is empty can match nothing.
    """
    return " ".join(_readings(word)[0] for word in _entry_words(entry))


# --- words of a comment --------------------------------------------------------------------

_Span = tuple[int, int]
# A unit is one word of a comment, or one run of spaced-out letters read glued together:
# (start, end) in the original text, its lookup keys, and None when every key spans the whole
# unit, else each key's own span (a reading without the symbols at the edges, without a
# leading « a »…). Plain tuples: a comment has hundreds of units.
_Unit = tuple[int, int, tuple[str, ...], "dict[str, _Span] | None"]


class _Token(NamedTuple):
    """A word that is not plain letters and digits, or that has one character."""

    start: int  # normalised indices of the whole token
    end: int
    core_start: int  # without the symbols at its edges (core_start == core_end: symbols only)
    core_end: int
    text: str
    elided: bool  # one of c d j l m n s t, followed by an apostrophe


def _token(chars: str, word: str, start: int, end: int) -> _Token:
    core_start, core_end = start, end
    while core_start < core_end and chars[core_start] in _SYMBOL_SET:
        core_start += 1
    while core_end > core_start and chars[core_end - 1] in _SYMBOL_SET:
        core_end -= 1
    elided = word in _ELIDED and chars.startswith("'", end)
    return _Token(start, end, core_start, core_end, word, elided)


def _variants(tok: _Token) -> Iterator[tuple[str, int, int]]:
    """(reading, normalised start, normalised end) of a token: symbols at the edges read as
    letters or as punctuation, and symbols left out altogether."""
    text = tok.text
    lead = tok.core_start - tok.start
    trail = tok.end - tok.core_end
    yield text, tok.start, tok.end
    if trail:
        yield text[: len(text) - trail], tok.start, tok.core_end
    if lead:
        yield text[lead:], tok.core_start, tok.end
    if lead and trail:
        yield text[lead : len(text) - trail], tok.core_start, tok.core_end
    yield "".join(c for c in text if c not in _SYMBOL_SET), tok.core_start, tok.core_end


def _joinable(tok: _Token) -> bool:
    """May this token be part of a run of spaced-out letters?"""
    if tok.core_end == tok.core_start:
        return tok.end - tok.start == 1  # a lone symbol (« c @ n »)
    return tok.core_end - tok.core_start == 1 and not tok.elided


def _runs(special: dict[int, _Token]) -> list[list[int]]:
    """Token indices of each run of spaced-out letters: two letters or more in consecutive
    tokens; lone symbols may sit inside a run (« c @ n »), not at its ends (« con ! »)."""
    runs: list[list[int]] = []

    def close(run: list[int]) -> None:
        first, last = 0, len(run)
        while first < last and special[run[first]].core_end == special[run[first]].core_start:
            first += 1
        while last > first and special[run[last - 1]].core_end == special[run[last - 1]].core_start:
            last -= 1
        if last - first >= 2:
            runs.append(run[first:last])

    run: list[int] = []
    for index, tok in special.items():
        if not _joinable(tok) or (run and run[-1] != index - 1):
            close(run)
            run = []
        if _joinable(tok):
            run.append(index)
    close(run)
    return runs


class _Comment:
    """One comment, normalised, cut into units."""

    def __init__(self, text: str) -> None:
        norm = _normalise(text)
        self.chars, self.starts, self.ends = norm.text, norm.starts, norm.ends

    def span(self, start: int, end: int) -> _Span:
        return self.starts[start], self.ends[end - 1]

    def token_unit(self, tok: _Token) -> _Unit:
        span = self.span(tok.start, tok.end)
        if tok.text.isalnum():  # one letter or digit
            return (*span, _text_keys(tok.text), None)
        spans: dict[str, _Span] = {}
        for reading, start, end in _variants(tok):
            if reading:
                for key in _text_keys(reading):
                    spans.setdefault(key, self.span(start, end))
        return (*span, tuple(spans), spans)

    def run_unit(self, run: list[_Token]) -> _Unit:
        """Spaced-out letters read glued together, also without one or two leading a/y."""
        letters = [self.chars[t.core_start] if t.core_end > t.core_start else t.text for t in run]
        end = run[-1].core_end  # a run starts and ends with letters, never a lone symbol
        spans: dict[str, _Span] = {}
        for skip in range(3):
            if skip and (len(run) - skip < 2 or letters[skip - 1] not in _DROPPABLE_RUN_START):
                break
            span = self.span(run[skip].core_start, end)
            for key in _text_keys("".join(letters[skip:])):
                spans.setdefault(key, span)
        return (*self.span(run[0].start, run[-1].end), tuple(spans), spans)

    def units(self) -> tuple[list[_Unit], list[_Unit] | None]:
        """(one unit per word; the same with each run of spaced-out letters as one unit, or None
        when the comment has no such run)."""
        chars, starts, ends = self.chars, self.starts, self.ends
        units: list[_Unit | None] = []  # one per token; None: a lone symbol
        special: dict[int, _Token] = {}  # token index → token, for all but plain words
        for m in _WORD.finditer(chars):
            word = m.group()
            start, end = m.span()
            if len(word) > 1 and word.isalnum():  # the common case
                units.append((starts[start], ends[end - 1], _text_keys(word), None))
                continue
            tok = _token(chars, word, start, end)
            special[len(units)] = tok
            units.append(self.token_unit(tok) if tok.core_end > tok.core_start else None)
        words = [u for u in units if u is not None]
        runs = _runs(special)
        if not runs:
            return words, None
        glued: list[_Unit] = []
        pos = 0
        for run in runs:
            glued.extend(u for u in units[pos : run[0]] if u is not None)
            glued.append(self.run_unit([special[i] for i in run]))
            pos = run[-1] + 1
        glued.extend(u for u in units[pos:] if u is not None)
        return words, glued


# --- the lists -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """One occurrence of a list entry in a comment.

    `start`/`end` index the original text (`text == comment[start:end]`), whatever invisible
    characters or look-alikes came before.
    """

    kind: Kind
    entry: str  # the list entry as the admin wrote it (trimmed)
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str  # "banned", "suspect" or "allowed"
    entry: str
    words: tuple[frozenset[str], ...]  # skeletons of each word


def _glue(words: tuple[str, ...]) -> str:
    """The skeleton of a phrase written as one word (« fils de pute » → « filsdepute »)."""
    glued = "".join(words)
    return _REPEATS.sub(r"\1", glued) if any(c.isalpha() for c in glued) else glued


def _clean_entry(raw: str) -> str:
    return _SPACES.sub(" ", raw).strip()


class WordLists:
    """The three lists, compiled once; `find` is then a few dictionary look-ups per word.

    Phrases live in a trie of words (`_Node`), walked from each word of the comment for as
    long as the following words continue some phrase: the cost of `find` grows with the
    comment's length times the words of the longest phrase that actually continues there,
    never with the number of entries (1,000 phrases « le … » cost one look-up per « le »).

    Immutable after construction: share one instance between threads. An entry in both lists
    (same `entry_key`) counts as banned; duplicates and entries with nothing to match are
    ignored.
    """

    __slots__ = ("_entries", "_phrases", "_single")

    def __init__(
        self, banned: Iterable[str], suspect: Iterable[str], allowed: Iterable[str] = ()
    ) -> None:
        single: dict[str, list[_Entry]] = {}
        root = _Node()
        entries: dict[str, list[str]] = {"banned": [], "suspect": [], _ALLOWED: []}
        seen: dict[str, set[str]] = {"listed": set(), _ALLOWED: set()}
        for kind, raws in (("banned", banned), ("suspect", suspect), (_ALLOWED, allowed)):
            group = seen[_ALLOWED if kind == _ALLOWED else "listed"]
            for raw in raws:
                entry = _clean_entry(raw)
                words = _entry_words(entry)
                key = entry_key(entry)
                if not words or key in group:
                    continue
                group.add(key)
                entries[kind].append(entry)
                compiled = _Entry(kind, entry, tuple(frozenset(_readings(w)) for w in words))
                # the whole entry as one word: itself, or a phrase glued together
                combos = itertools.islice(itertools.product(*compiled.words), _MAX_READINGS)
                for glued in dict.fromkeys(_glue(combo) for combo in combos):
                    single.setdefault(glued, []).append(compiled)
                if len(words) > 1:
                    root.add(compiled)
        # key → the entries that this one word matches
        self._single: dict[str, tuple[_Entry, ...]] = {
            key: tuple(values) for key, values in single.items()
        }
        self._phrases = root.freeze()
        self._entries = {kind: tuple(values) for kind, values in entries.items()}

    @property
    def banned(self) -> tuple[str, ...]:
        return self._entries["banned"]

    @property
    def suspect(self) -> tuple[str, ...]:
        return self._entries["suspect"]

    @property
    def allowed(self) -> tuple[str, ...]:
        return self._entries[_ALLOWED]

    def __repr__(self) -> str:
        return (
            f"WordLists({len(self.banned)} banned, {len(self.suspect)} suspect, "
            f"{len(self.allowed)} allowed)"
        )

    def find(self, text: str) -> list[Match]:
        """Every banned or suspect entry in `text`, not inside an allowed one, sorted by
        position. The same entry is reported once per occurrence."""
        if not (self.banned or self.suspect):
            return []
        words, glued = _Comment(text).units()
        found: dict[_Found, None] = {}
        self._scan(text, words, found)
        if glued is not None:
            self._scan(text, glued, found)
        allowed = [(s, e) for (s, e, kind, _) in found if kind == _ALLOWED]
        matches = [
            Match(cast(Kind, kind), entry, s, e, text[s:e])
            for (s, e, kind, entry) in found
            if kind != _ALLOWED and not any(a <= s and e <= b for a, b in allowed)
        ]
        matches.sort(key=lambda m: (m.start, m.end, _KINDS.index(m.kind), m.entry))
        return matches

    def _scan(self, text: str, units: list[_Unit], found: dict[_Found, None]) -> None:
        single, root = self._single, self._phrases
        # breaks[j]: a line break or the end of a sentence between units j - 1 and j
        breaks = [False] + [
            _PHRASE_BREAK.search(text, a[1], b[0]) is not None for a, b in itertools.pairwise(units)
        ]
        for i, (unit_start, unit_end, keys, spans) in enumerate(units):
            # the phrases' first words: the nodes reached, each with the starts that reach it
            active: dict[_Node, list[int]] = {}
            for key in keys:
                entries = single.get(key)
                children = root.children.get(key)
                if entries is None and children is None:
                    continue
                start, end = (unit_start, unit_end) if spans is None else spans[key]
                for entry in entries or ():
                    found[(start, end, entry.kind, entry.entry)] = None
                for child in children or ():
                    starts = active.setdefault(child, [])
                    if start not in starts:
                        starts.append(start)
            j = i + 1
            while active and j < len(units) and not breaks[j]:
                _, last_end, next_keys, next_spans = units[j]
                reached: dict[_Node, tuple[list[int], int]] = {}
                for key in next_keys:
                    end = last_end if next_spans is None else next_spans[key][1]
                    for node, starts in active.items():
                        for child in node.children.get(key, ()):
                            previous = reached.get(child)
                            if previous is None or previous[1] < end:
                                reached[child] = (starts, end)
                active = {}
                for node, (starts, end) in reached.items():
                    for entry in node.entries:
                        for start in starts:
                            found[(start, end, entry.kind, entry.entry)] = None
                    if node.children:
                        active[node] = starts
                j += 1


_Found = tuple[int, int, str, str]  # start, end, kind, entry


class _Node:
    """One step of the phrase trie: the phrases' words so far, as sets of readings.

    A child stands for one word of an entry (a set of skeletons, « l1 » → {li, ll}) and is
    reached from every skeleton in that set; `entries` are the phrases that end there. Nodes
    are compared by identity, so that two entries share a path only where their words have
    the same readings.
    """

    __slots__ = ("_by_words", "children", "entries")

    def __init__(self) -> None:
        self._by_words: dict[frozenset[str], _Node] = {}
        self.children: dict[str, tuple[_Node, ...]] = {}
        self.entries: tuple[_Entry, ...] = ()

    def add(self, entry: _Entry) -> None:
        node = self
        for readings in entry.words:
            child = node._by_words.get(readings)
            if child is None:
                child = node._by_words[readings] = _Node()
            node = child
        node.entries = (*node.entries, entry)

    def freeze(self) -> _Node:
        """Index the children by skeleton (after the last `add`)."""
        stack = [self]
        while stack:
            node = stack.pop()
            by_key: dict[str, list[_Node]] = {}
            for readings, child in node._by_words.items():
                for key in readings:
                    by_key.setdefault(key, []).append(child)
                stack.append(child)
            node.children = {key: tuple(nodes) for key, nodes in by_key.items()}
        return self


# --- import, export, display ---------------------------------------------------------------

HEADER = (
    "Une entrée par ligne : un mot ou une courte expression. Les lignes commençant par #\n"
    "sont ignorées. Majuscules, accents, sosies Unicode, lettres espacées ou répétées et\n"
    "chiffres à la place de lettres (0→o, 1→i/l, 3→e, 4→a, @→a, $→s…) sont reconnus d’office."
)


def parse_list(text: str) -> list[str]:
    """Entries from an imported or typed list, in order.

    One entry per line; from « # » to the end of a line is a comment; spaces are trimmed and
    runs of spaces become one; blank lines and lines with nothing to match (« !!! ») are
    skipped; duplicates by `entry_key` (« Connard » after « connard ») keep the first.
    """
    entries: list[str] = []
    seen: set[str] = set()
    for line in text.splitlines():
        entry = _clean_entry(line.split("#", 1)[0])
        key = entry_key(entry)
        if key and key not in seen:
            seen.add(key)
            entries.append(entry)
    return entries


def format_list(entries: Iterable[str], header: str = HEADER) -> str:
    """A list for export or for the admins' text box: `header` as « # » comments, then one
    entry per line, sorted by normalised form, without duplicates.

    `parse_list(format_list(entries))` gives the entries back (sorted, deduplicated). A « # »
    or a line break inside an entry becomes a space, which matches the same comments.
    """
    cleaned = parse_list("\n".join(_clean_entry(e.replace("#", " ")) for e in entries))
    cleaned.sort(key=lambda e: (normalise(e), e))
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    return "\n".join([*lines, *cleaned]) + "\n"


def stored_match(match: Match) -> dict[str, object]:
    """A match as the comment stores it (JSON): its kind, entry and span, not its text."""
    return {"kind": match.kind, "entry": match.entry, "start": match.start, "end": match.end}


def stored_matches(text: str, stored: Iterable[object]) -> list[Match]:
    """The matches a comment stored (`stored_match`) back as `Match` values on its `text`;
    anything malformed or outside the text is left out."""
    matches: list[Match] = []
    for raw in stored:
        if not isinstance(raw, dict):
            continue
        kind, entry, start, end = (raw.get(k) for k in ("kind", "entry", "start", "end"))
        if (
            kind in _KINDS
            and isinstance(entry, str)
            and isinstance(start, int)
            and isinstance(end, int)
            and 0 <= start < end <= len(text)
        ):
            matches.append(Match(cast(Kind, kind), entry, start, end, text[start:end]))
    return matches


_TITLES = {"banned": "interdit", "suspect": "suspect"}


def highlight(text: str, matches: Sequence[Match]) -> Markup:
    """`text` escaped for HTML, each match wrapped in
    ``<mark class="match match--banned|suspect" title="interdit : connard">``.

    Overlapping matches share one mark: the most severe kind, every entry in the title.
    Matches whose span does not fit in `text` are left out.
    """
    spans = sorted((m for m in matches if 0 <= m.start < m.end <= len(text)), key=lambda m: m.start)
    groups: list[list[Match]] = []
    group_end = -1
    for m in spans:
        if groups and m.start < group_end:
            groups[-1].append(m)
            group_end = max(group_end, m.end)
        else:
            groups.append([m])
            group_end = m.end
    out: list[str] = []
    pos = 0
    for group in groups:
        start, end = group[0].start, max(m.end for m in group)
        kind = "banned" if any(m.kind == "banned" for m in group) else "suspect"
        group.sort(key=lambda m: (_KINDS.index(m.kind), m.start))
        title = " · ".join(dict.fromkeys(f"{_TITLES[m.kind]} : {m.entry}" for m in group))
        out.append(escape(text[pos:start]))
        out.append(
            Markup('<mark class="match match--{}" title="{}">{}</mark>').format(
                kind, title, text[start:end]
            )
        )
        pos = end
    out.append(escape(text[pos:]))
    return Markup("").join(out)
