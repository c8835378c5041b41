"""The word-list engine, table-driven: no app, no database.

Each case names the comment, the entry that must (or must not) be found, and the exact text the
match must cover in the original comment, so that spans are checked everywhere.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest
from markupsafe import Markup

from app.wordlists import (
    Match,
    WordLists,
    entry_key,
    format_list,
    highlight,
    normalise,
    parse_list,
)

BANNED = [
    "con",
    "connard",
    "connasse",
    "pute",
    "fils de pute",
    "nègre",
    "enculé",
    "salope",
    "merde",
    "bite",
    "cul",
    "PD",
    "sale race",
    "88",
]
SUSPECT = ["abruti", "débile", "ferme ta gueule"]
ALLOWED = ["chili con carne", "Conan"]

LISTS = WordLists(BANNED, SUSPECT, ALLOWED)


def found(text: str, lists: WordLists = LISTS) -> list[tuple[str, str, str]]:
    """(kind, entry, matched text) of every match, after checking each span."""
    matches = lists.find(text)
    for m in matches:
        assert m.text == text[m.start : m.end], m
    return [(m.kind, m.entry, m.text) for m in matches]


# --- evasions: each must be caught, with the right span -------------------------------------

EVASIONS = [
    # (comment, entry, text covered by the match)
    ("Quel connard !", "connard", "connard"),
    ("QUEL CONNARD", "connard", "CONNARD"),
    ("quel cönnàrd", "connard", "cönnàrd"),  # accents
    ("quel c\u0301onnard", "connard", "c\u0301onnard"),  # combining accent stays inside
    ("quel \u0441onnard", "connard", "\u0441onnard"),  # Cyrillic с
    ("quel c\u03bfnnard", "connard", "c\u03bfnnard"),  # Greek ο
    ("quel ｃｏｎｎａｒｄ", "connard", "ｃｏｎｎａｒｄ"),  # fullwidth
    ("quel 𝐜𝐨𝐧𝐧𝐚𝐫𝐝", "connard", "𝐜𝐨𝐧𝐧𝐚𝐫𝐝"),  # mathematical bold
    ("quel ᴄᴏɴɴᴀʀᴅ", "connard", "ᴄᴏɴɴᴀʀᴅ"),  # small capitals
    ("ⓒⓞⓝ", "con", "ⓒⓞⓝ"),  # circled letters
    ("quel con\u200bnard", "connard", "con\u200bnard"),  # zero-width space
    ("quel co\u00adnnard", "connard", "co\u00adnnard"),  # soft hyphen
    ("quel c\u200co\u200dnna\u2060rd\ufeff", "connard", "c\u200co\u200dnna\u2060rd"),
    ("quel c o n n a r d", "connard", "c o n n a r d"),  # spaced out
    ("quel c.o.n.n.a.r.d.", "connard", "c.o.n.n.a.r.d"),
    ("quel c-o-n-n-a-r-d", "connard", "c-o-n-n-a-r-d"),
    ("c_o_n", "con", "c_o_n"),
    ("quel c\no\nn", "con", "c\no\nn"),
    ("quel connnnaaard", "connard", "connnnaaard"),  # repeated letters
    ("merdeeeee", "merde", "merdeeeee"),
    ("c0nn4rd", "connard", "c0nn4rd"),  # digits for letters
    ("s4l0p3", "salope", "s4l0p3"),
    ("$alope", "salope", "$alope"),
    ("m€rd€", "merde", "m€rd€"),
    ("3ncul3", "enculé", "3ncul3"),
    ("put3", "pute", "put3"),
    ("b1te", "bite", "b1te"),  # 1 read as i…
    ("gros cu1", "cul", "cu1"),  # … or as l
    ("b!te", "bite", "b!te"),
    ("8ite", "bite", "8ite"),
    ("saIope", "salope", "saIope"),  # capital I for l
    ("espèce de @connard", "connard", "connard"),  # a mention: the @ is not a letter here
    ("con!", "con", "con"),
    ("merde!!!", "merde", "merde"),
    ("c!o!n", "con", "c!o!n"),
    ("c 0 n n @ r d", "connard", "c 0 n n @ r d"),
    ("l'con", "con", "con"),  # elisions
    ("d'con", "con", "con"),
    ("qu'con", "con", "con"),
    ("t’es un con", "con", "con"),
    ("c'est un con.", "con", "con"),
    ("l’c o n", "con", "c o n"),  # an elided letter is not glued to the run
    ("t'es à c o n", "con", "c o n"),  # nor is a leading « à »
    ("ces connards", "connard", "connards"),  # plural
    ("les nègres", "nègre", "nègres"),
    ("NÈGRE", "nègre", "NÈGRE"),
    ("des culs", "cul", "culs"),
    ("enculée", "enculé", "enculée"),  # « ée » collapses to « e »
    ("fils de pute", "fils de pute", "fils de pute"),  # phrases
    ("fils-de-pute", "fils de pute", "fils-de-pute"),
    ("filsdepute", "fils de pute", "filsdepute"),
    ("f.i.l.s d.e p.u.t.e", "fils de pute", "f.i.l.s d.e p.u.t.e"),
    ("Fiiils de  PUTE", "fils de pute", "Fiiils de  PUTE"),
    ("sales races", "sale race", "sales races"),
    ("s a l e  r a c e", "sale race", "s a l e  r a c e"),
    ("les PD", "PD", "PD"),
    ("P.D.", "PD", "P.D"),
    ("des PDs", "PD", "PDs"),
    ("88", "88", "88"),  # an entry of digits stays digits
    ("va te faire, sale c\u200bul", "cul", "c\u200bul"),
]


@pytest.mark.parametrize(("text", "entry", "covered"), EVASIONS)
def test_evasion_is_caught_with_its_span(text: str, entry: str, covered: str) -> None:
    matches = found(text)
    assert ("banned", entry, covered) in matches, matches


def test_there_are_enough_evasion_cases() -> None:
    assert len(EVASIONS) >= 30


# --- innocent sentences: nothing to report ---------------------------------------------------

INNOCENT = [
    "Le contexte politique reste tendu.",
    "Il faut connaître l'histoire de la région.",
    "Arrête de déconner avec ces chiffres.",  # decision: « déconner » is another word
    "Emmanuel Macron s'est exprimé hier soir.",
    "Elle est arrivée seconde, lui second.",
    "Une icône du cinéma français.",
    "Un cône de glace à la vanille.",
    "Une leçon de français pour un garçon poli.",
    "Il habite à Lyon depuis dix ans.",
    "Le bitume fond au soleil.",
    "Un satellite en orbite, un bitcoin en chute.",
    "La culture n'est pas un luxe.",
    "Il ne faut jamais reculer.",
    "Un calcul simple, un cumul de mandats.",
    "Des culottes courtes et un véhicule particulier.",
    "Le PDG de l'entreprise a démissionné.",  # decision: « PDG » is not « PD »
    "Le P.D.G. a démissionné.",
    "Une réputation solide, des députés réputés.",
    "Une dispute entre voisins, rien d'imputable.",
    "Le Niger, le Nigeria et le Monténégro.",
    "La négritude de Senghor.",
    "Il a été acculé, puis a basculé.",
    "Une salopette bleue.",
    "La mer est démontée, mercredi.",
    "C'est qu'on verra bien, qu'on se le dise.",  # « c'on », « qu'on » are not « con »
    "Il y a du monde à la Une.",  # single letters glued: « ya », nothing listed
    "La S.N.C.F. annonce des retards.",
    "Le 1er mai, la 3e voie, un 4x4 et un A380.",
    "Il fait un temps sale. Race ou pas, le chien reste dehors.",  # a phrase stops at « . »
    "C'est sale\nrace à part",  # … and at a line break
    "Un chili con carne, s'il vous plaît.",  # allow-list
    "Conan le Barbare repasse ce soir.",
    "En 1988, il avait 8 ans.",  # « 88 » is a whole word only
    "Sa femme est débilitée par la maladie.",
    "On a fermé la gueule du four.",  # a phrase needs its words in order
    "Le mot « connaissance » et le « conformisme ».",
    "Les Putin et les sputniks.",
    "Un c @ n @ r d laqué, un c.a.n.a.r.d.",  # spaced-out « canard », not « connard »
]


@pytest.mark.parametrize("text", INNOCENT)
def test_innocent_sentence_is_left_alone(text: str) -> None:
    assert found(text) == []


def test_there_are_enough_innocent_sentences() -> None:
    assert len(INNOCENT) >= 30


# --- decisions on ambiguous cases ------------------------------------------------------------


@pytest.mark.parametrize(
    ("lists", "text", "expected"),
    [
        # « cul-de-sac »: the hyphen separates words, so « cul » is found; the admins allow the
        # compound when it turns up (as for « chili con carne »).
        (WordLists(["cul"], []), "une impasse, un cul-de-sac", [("banned", "cul", "cul")]),
        (WordLists(["cul"], [], ["cul-de-sac"]), "une impasse, un cul-de-sac", []),
        (
            WordLists(["cul"], [], ["cul-de-sac"]),
            "un cul-de-sac, quel cul",
            [("banned", "cul", "cul")],
        ),
        # « bitte » (d'amarrage) collapses to « bite »: found unless allowed.
        (WordLists(["bite"], []), "une bitte d'amarrage", [("banned", "bite", "bitte")]),
        (WordLists(["bite"], [], ["bitte d'amarrage"]), "une bitte d'amarrage", []),
        # a plural s is read as the listed word: « cons » is found
        (WordLists(["con"], []), "les cons", [("banned", "con", "cons")]),
        # words of two letters or more are never glued together
        (WordLists(["connard"], []), "co nnard", []),
        (WordLists(["contexte"], []), "le con texte", []),
        # « 1 » is i or l, but a real l is not an i: « pine » does not catch « pile »
        (WordLists(["pine"], []), "une pile", []),
        (WordLists(["pine"], []), "une p1ne", [("banned", "pine", "p1ne")]),
        (WordLists(["pile"], []), "une p1le", [("banned", "pile", "p1le")]),
        # entries are normalised like comments
        (WordLists(["CÖNNARD"], []), "connard", [("banned", "CÖNNARD", "connard")]),
        (WordLists(["c0nnard"], []), "conard", [("banned", "c0nnard", "conard")]),
        (WordLists(["  sale   race "], []), "sale race", [("banned", "sale race", "sale race")]),
        # numbers: literal, whole words, no plural, no collapsing
        (WordLists(["88"], []), "8 888 1988 88", [("banned", "88", "88")]),
        # a phrase may cross commas, not a sentence end
        (WordLists(["sale race"], []), "sale, race", [("banned", "sale race", "sale, race")]),
        (WordLists(["sale race"], []), "sale ! Race", []),
        # suspect entries are reported as such
        (LISTS, "quel abruti", [("suspect", "abruti", "abruti")]),
        (LISTS, "Ferme ta gueule", [("suspect", "ferme ta gueule", "Ferme ta gueule")]),
        # the allow-list only covers what lies inside its own occurrences
        (LISTS, "chili con carne, gros con", [("banned", "con", "con")]),
    ],
)
def test_decisions(lists: WordLists, text: str, expected: list[tuple[str, str, str]]) -> None:
    assert found(text, lists) == expected


def test_every_occurrence_is_reported_in_order() -> None:
    text = "con, merde et re-con"
    assert [(m.entry, m.start, m.end) for m in LISTS.find(text)] == [
        ("con", 0, 3),
        ("merde", 5, 10),
        ("con", 17, 20),
    ]


def test_overlapping_entries_are_all_reported() -> None:
    lists = WordLists(["con"], ["sale con"])
    assert found("espèce de sale con", lists) == [
        ("suspect", "sale con", "sale con"),
        ("banned", "con", "con"),
    ]


# --- spans map back to the original text -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("\u200b\u200b\u200bconnard", 3, 10),
        ("\u0441\u043e\u200bn\u200bnard !", 0, 9),  # Cyrillic с, о and zero-widths inside
        ("œuvre de connard", 9, 16),  # œ becomes two letters before the match
        ("Bof… ﬁni, connard", 10, 17),  # … and ﬁ too
        ("e\u0301te\u0301 : connard", 8, 15),  # combining accents before
        ("ｃｏｎ ｅｔ ｃｏｎｎａｒｄ", 7, 14),
        ("😀👍🏽 connard", 4, 11),  # astral characters and a skin-tone modifier
        ("t’es un c\u200b o\u00ad n n a r d !", 8, 23),
    ],
)
def test_span_points_into_the_original_text(text: str, start: int, end: int) -> None:
    [match] = [m for m in LISTS.find(text) if m.entry == "connard"]
    assert (match.start, match.end) == (start, end)
    assert match.text == text[start:end]


def test_spans_always_fit_the_text() -> None:
    """Random soup of the awkward characters: every span is inside the text and highlightable."""
    rng = random.Random(20)
    pool = [*"conardmeputbilsgé ’'.-_!@$€|01345789Iı", "\u200b", "\u00ad", "\u0301", "\u0441"]
    pool += ["\u043e", "ｃ", "𝐜", "œ", "ﬁ", "…", "\n", "😀", "👍🏽", "<", "&"]
    for _ in range(2000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 30)))
        matches = LISTS.find(text)
        for m in matches:
            assert 0 <= m.start < m.end <= len(text) and m.text == text[m.start : m.end]
        assert "<" not in highlight(text, matches).replace("<mark", "").replace("</mark", "")


def test_match_is_a_frozen_value() -> None:
    [match] = LISTS.find("merde")
    assert match == Match("banned", "merde", 0, 5, "merde")
    with pytest.raises(AttributeError):
        match.start = 1  # type: ignore[misc]


# --- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cönnàrd", "connard"),
        ("ÉLYSÉE", "elysee"),
        ("con\u200b\u200c\u200d\u2060\ufeff\u00adnard", "connard"),
        ("\u0441\u043e\u043d", "coh"),  # Cyrillic « сон » reads c, o, h
        ("ｃｏｎ 𝐜𝐨𝐧 ᴄᴏɴ ⓒⓞⓝ", "con con con con"),
        ("œuvre, Æsope, Straße, ﬁn", "oeuvre, aesope, strasse, fin"),
        ("t’es l‘ami ʼ", "t'es l'ami '"),
        ("Il", "il"),
        ("c0nn4rd", "c0nn4rd"),  # digits are read word by word, not here
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ("Connard", "conard"),
        ("c0nnard", "conard"),
        ("  Sale   RACE ", "sale race"),
        ("fils d’pute", "fils d pute"),
        ("88", "88"),
        ("!!!", ""),
    ],
)
def test_entry_key(entry: str, key: str) -> None:
    assert entry_key(entry) == key


# --- the lists themselves --------------------------------------------------------------------


def test_an_entry_in_both_lists_is_banned_and_duplicates_are_dropped() -> None:
    lists = WordLists(["Connard", "connard", "cönnard"], ["CONNARD", "abruti"], ["Conan"])
    assert lists.banned == ("Connard",)
    assert lists.suspect == ("abruti",)
    assert lists.allowed == ("Conan",)
    assert found("connard", lists) == [("banned", "Connard", "connard")]
    assert repr(lists) == "WordLists(1 banned, 1 suspect, 1 allowed)"


@pytest.mark.parametrize(
    "lists",
    [WordLists([], []), WordLists([], [], ["con"]), WordLists(["", "  ", "!!!"], ["#"])],
)
def test_empty_lists_find_nothing(lists: WordLists) -> None:
    assert lists.find("con connard merde") == []


def test_empty_comment() -> None:
    assert LISTS.find("") == []
    assert LISTS.find("   \u200b ") == []


def test_a_compiled_list_is_shared_between_threads() -> None:
    texts = [text for text, _, _ in EVASIONS] * 5
    expected = [LISTS.find(text) for text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(LISTS.find, texts)) == expected


# --- import and export -----------------------------------------------------------------------


def test_parse_list() -> None:
    text = (
        "# Mots interdits\n"
        "\n"
        "  connard  \n"
        "Connard\n"  # duplicate once normalised
        "cönnard   # accents do not make a new entry\n"
        "sale   race\n"
        "\r\n"
        "merde\r\n"
        "!!!\n"  # nothing to match
        "   # indented comment\n"
        "abruti\n"
    )
    assert parse_list(text) == ["connard", "sale race", "merde", "abruti"]


def test_parse_list_of_nothing() -> None:
    assert parse_list("") == []
    assert parse_list("# rien\n\n   \n") == []


def test_format_list_sorts_dedups_and_starts_with_a_header() -> None:
    text = format_list(["merde", "Élysée", "abruti", "Merde", "con"])
    lines = text.splitlines()
    header = [line for line in lines if line.startswith("#")]
    assert header and lines[: len(header)] == header
    assert lines[len(header) :] == ["abruti", "con", "Élysée", "merde"]
    assert text.endswith("\n")


@pytest.mark.parametrize(
    "entries",
    [
        [],
        ["con"],
        ["merde", "Élysée", "abruti", "Merde", "sale race", "88"],
        ["con#nard", "sale\nrace", "  spaced   out  "],
    ],
)
def test_format_then_parse_round_trips(entries: list[str]) -> None:
    exported = format_list(entries)
    imported = parse_list(exported)
    assert format_list(imported) == exported
    assert parse_list(format_list(imported)) == imported
    # the same comments match before and after the round trip
    before, after = WordLists(entries, []), WordLists(imported, [])
    for text in ["con nard", "sale race", "merde", "88", "spaced out"]:
        assert [m.text for m in before.find(text)] == [m.text for m in after.find(text)]


def test_format_list_with_a_custom_header() -> None:
    assert format_list(["b", "a"], header="Liste A\nLigne 2") == "# Liste A\n# Ligne 2\na\nb\n"


# --- highlighting ----------------------------------------------------------------------------


def test_highlight_escapes_everything_and_marks_the_matches() -> None:
    text = "<script>alert('x')</script> Quel c\u200bonnard & quel abruti"
    html = highlight(text, LISTS.find(text))
    assert isinstance(html, Markup)
    assert "<script>" not in html
    assert html == Markup(
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Quel "
        '<mark class="match match--banned" title="interdit : connard">c\u200bonnard</mark>'
        " &amp; quel "
        '<mark class="match match--suspect" title="suspect : abruti">abruti</mark>'
    )


def test_highlight_without_matches_is_just_escaped() -> None:
    assert highlight("a < b", []) == Markup("a &lt; b")


def test_highlight_merges_overlapping_matches_under_the_most_severe_kind() -> None:
    lists = WordLists(["con"], ["sale con"])
    text = "sale con"
    assert highlight(text, lists.find(text)) == Markup(
        '<mark class="match match--banned" title="interdit : con · suspect : sale con">'
        "sale con</mark>"
    )


def test_highlight_escapes_the_entry_in_the_title() -> None:
    lists = WordLists(['sale "race"'], [])
    html = highlight("sale race", lists.find("sale race"))
    assert 'title="interdit : sale &#34;race&#34;"' in html


# --- phrases: the trie gives what the lists say, at a cost that does not grow with them -----


def _found(lists: WordLists, text: str) -> list[tuple[str, str, str]]:
    return [(m.kind, m.entry, m.text) for m in lists.find(text)]


def test_phrases_sharing_words_each_match_where_they_end() -> None:
    lists = WordLists(["sale race", "sale race de chien"], ["sale type", "race"])
    text = "Quelle sale race de chien, ce sale type."
    assert _found(lists, text) == [
        ("banned", "sale race", "sale race"),
        ("banned", "sale race de chien", "sale race de chien"),
        ("suspect", "race", "race"),
        ("suspect", "sale type", "sale type"),
    ]


def test_a_phrase_word_with_two_readings_matches_either() -> None:
    # « l1 » reads « li » or « ll » (→ « l »): each entry keeps its own readings in the trie
    lists = WordLists(["va l1 bas"], ["va li haut"])
    assert _found(lists, "va l bas, va li haut, va li bas") == [
        ("banned", "va l1 bas", "va l bas"),
        ("suspect", "va li haut", "va li haut"),
        ("banned", "va l1 bas", "va li bas"),
    ]


def test_a_phrase_stops_at_the_end_of_a_sentence_at_every_depth() -> None:
    lists = WordLists(["le le le fin"], [])
    assert _found(lists, "le le. le fin") == []
    assert _found(lists, "le le le le fin") == [("banned", "le le le fin", "le le le fin")]


def test_thousands_of_phrases_on_a_long_comment_of_their_first_word() -> None:
    """10,000 « le X » and 300 30-word « le le … X » phrases against 20,000 characters of
    « le le le … »: the old matcher tried every phrase at every « le » (about 10⁸ steps, many
    minutes); the trie walks each « le » once per phrase word it continues."""
    short = [f"le mot{i}" for i in range(10_000)]
    long = [" ".join(["le"] * 29 + [f"fin{i}"]) for i in range(300)]
    lists = WordLists(short, long)
    text = "le " * 6_600 + "mot4242 " + "le " * 40 + "fin7 le"
    found = _found(lists, text)
    assert found == [
        ("banned", "le mot4242", "le mot4242"),
        ("suspect", long[7], " ".join(["le"] * 29 + ["fin7"])),
    ]


def test_long_made_up_words_do_not_fill_the_caches() -> None:
    """Each word's readings are cached; a flood of comments made of long unique words
    (2,000 characters each) must not stay there: 65,536 of them would hold gigabytes."""
    from app import wordlists

    lists = WordLists(["connard"], [])
    caches = (wordlists._cached_text_keys, wordlists._cached_readings)
    lists.find("connard")
    before = [cache.cache_info().currsize for cache in caches]
    rng = random.Random(7)
    for _ in range(50):
        word = "".join(rng.choice("abcdefgh1") for _ in range(2_000))
        assert [m.entry for m in lists.find(f"{word} connard")] == ["connard"]
    assert [cache.cache_info().currsize for cache in caches] == before
