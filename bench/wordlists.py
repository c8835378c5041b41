"""How much do the word lists and the link rule cost per comment, whatever they hold?

    .venv/bin/python -m bench.wordlists [--quick]

1. `WordLists.find` per comment, for lists of 10, 1,000 and 10,000 entries (single words, words
   spread over the banned, suspect and allowed lists,
   « le X » phrases, 30-word « le le … X » phrases) against comments of 200, 2,000 and 20,000
   characters of five shapes: French prose, « le le le … », repeated letters, spaced letters,
   and hostile prose (look-alike Cyrillic letters, zero-width spaces).
2. The link rule's pattern on adversarial shapes (« a- » × N…), beside the pattern it replaced.
3. Through the app's HTTP interface (temporary SQLite file): the moderation queue « Tous »
   with six 2,000-character « le le … » cards among 36, with no list, with 1,000 « le X »
   phrases (matches stored at decision time), and with the same comments stored without
   matches (matched again at each render); and « Simuler » of 1,000 « le X » phrases and of
   500 30-word phrases (the most the admin form's 64 KB take).

Prints milliseconds (median of several runs) and the ratio to a baseline measured in the same
run: 10 single words against 200 characters of prose.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable

from app.rules import LINK
from app.wordlists import WordLists, stored_match
from bench.common import NoScorer

# The link pattern before it was made linear (kept here only to measure the difference).
OLD_LINK = re.compile(
    r"(?i)\b(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|fr|org|net|info|io|ly|be|ch)\b"
)
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
PROSE = (
    "Le Président a été reçu à l’Élysée, où il a déclaré que la réforme des retraites "
    "serait examinée dès la rentrée ; l’opposition dénonce une « manœuvre ». Franchement, "
    "quel connard ce ministre, mais c'est un débat légitime. 2024, 4x4, A380.\n"
)
SHAPES: dict[str, str] = {
    "prose": PROSE,
    "le le le": "le ",
    "repeated letters": "connnnnaaaaaard aaaaaaaaaaaa ",
    "spaced letters": "c o n n a r d l e m o t 1 ",
    # Look-alike Cyrillic letters and zero-width spaces, as someone dodging the lists writes.
    "hostile": PROSE.replace("o", "о").replace("e", "e\u200b"),
}
LENGTHS = (200, 2_000, 20_000)
SIZES = (10, 1_000, 10_000)


def per_call_ms(call: Callable[[], object], budget_s: float = 0.2, runs: int = 3) -> float:
    """Median milliseconds of one call, over `runs` rounds of as many calls as fit `budget_s`."""
    call()  # warm the caches
    started = time.perf_counter()
    call()
    once = time.perf_counter() - started
    repeat = max(1, int(budget_s / max(once, 1e-6)))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(repeat):
            call()
        times.append((time.perf_counter() - started) / repeat * 1000)
    return statistics.median(times)


def text(shape: str, length: int) -> str:
    unit = SHAPES[shape]
    return (unit * (length // len(unit) + 1))[:length]


def lists(kind: str, size: int) -> WordLists:
    rng = random.Random(size)
    letters = "abcdefghijklmnopqrstuvwxyzéèàç"
    made = {"".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(size)}
    if kind == "words":
        return WordLists(["connard", *sorted(made)[: size - 1]], [])
    if kind == "banned, suspect, allowed":  # the three lists filled 60 / 30 / 10
        listed = ["connard", *sorted(made)[: size - 1]]
        a, b = size * 6 // 10, size * 9 // 10
        return WordLists(listed[:a], listed[a:b], listed[b:])
    if kind == "« le X » phrases":
        return WordLists([f"le mot{i}" for i in range(size)], [])
    return WordLists([" ".join(["le"] * 29 + [f"mot{i}"]) for i in range(size)], [])


def bench_matching(sizes: tuple[int, ...], lengths: tuple[int, ...]) -> float:
    baseline_lists = lists("words", 10)
    baseline_text = text("prose", 200)
    baseline = per_call_ms(lambda: baseline_lists.find(baseline_text))
    print(f"baseline: 10 words, 200 characters of prose: {baseline:.3f} ms per comment\n")
    print("1. WordLists.find, ms per comment (ratio to the baseline)")
    header = "".join(f"{n:>22,} ch" for n in lengths)
    print(f"{'list':<26}{'entries':>8}  {'comment':<18}{header}   compile ms")
    for kind in ("words", "banned, suspect, allowed", "« le X » phrases", "30-word phrases"):
        for size in sizes:
            started = time.perf_counter()
            compiled = lists(kind, size)
            compile_ms = (time.perf_counter() - started) * 1000
            for shape in SHAPES:
                cells = []
                for length in lengths:
                    body = text(shape, length)
                    ms = per_call_ms(lambda c=compiled, b=body: c.find(b))
                    cells.append(f"{ms:>12.3f} ({ms / baseline:>6.0f}×)")
                print(f"{kind:<26}{size:>8,}  {shape:<18}{''.join(cells)}   {compile_ms:9.0f}")
    print()
    return baseline


def bench_links(lengths: tuple[int, ...], baseline: float, old: bool) -> None:
    print("2. link rule, ms per comment (ratio to the baseline); old: the pattern it replaced")
    shapes = {"a-a-a-…": "a-", "------…": "-", "a.a.a.…": "a.", "prose": PROSE}
    header = "".join(f"{n:>13,} ch new{n:>11,} ch old" for n in lengths)
    print(f"{'comment':<12}{header}")
    for name, unit in shapes.items():
        cells = []
        for length in lengths:
            body = (unit * (length // len(unit) + 1))[:length]
            new = per_call_ms(lambda b=body: LINK.search(b))
            if old and length <= 20_000:
                started = time.perf_counter()
                OLD_LINK.search(body)
                was = f"{(time.perf_counter() - started) * 1000:>14.1f}"
            else:
                was = f"{'-':>14}"
            cells.append(f"{new:>9.3f} ({new / baseline:>4.0f}×){was}")
        print(f"{name:<12}{''.join(cells)}")
    print()


def bench_pages(baseline: float, runs: int) -> None:
    from app import create_app
    from app.config import testing_config
    from app.extensions import db
    from app.models import Article, Comment, CommentStatus, Role
    from app.services import accounts, articles, settings

    phrases = [f"le mot{i}" for i in range(1_000)]
    long_body = text("le le le", 1_990) + " mot7"
    print("3. pages through HTTP, ms (median of", runs, "runs; ratio to the baseline)")
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            testing_config(f"sqlite:///{tmp}/bench.db", f"{tmp}/instance"), scorer=NoScorer()
        )
        with app.app_context():
            db.create_all()
            articles.seed()
            settings.ensure_defaults()
            accounts.register("Admin", "admin@example.fr", "motdepasse-solide", Role.ADMIN)
            article = db.session.scalar(db.select(Article))
            stored = [stored_match(m) for m in WordLists(phrases, []).find(long_body)]
            for i in range(36):
                body = long_body if i % 6 == 0 else f"Un commentaire court, le numéro {i}."
                db.session.add(
                    Comment(
                        article_id=article.id, author_name="a", author_email=f"a{i}@example.fr",
                        body=body, body_hash=str(i), status=CommentStatus.HELD, reasons=[],
                        awaiting_score=False, word_matches=stored if body is long_body else [],
                    )
                )  # fmt: skip
            db.session.commit()
        client = app.test_client()
        page = client.get("/compte/connexion").get_data(as_text=True)
        client.post("/compte/connexion", data={"csrf_token": CSRF.search(page).group(1),
                    "email": "admin@example.fr", "password": "motdepasse-solide"})  # fmt: skip

        def timed(call: Callable[[], object]) -> float:
            call()
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) * 1000)
            return statistics.median(times)

        def queue() -> object:
            response = client.get("/moderation/file/tous")
            assert response.status_code == 200 and response.text.count("data-comment=") == 25
            return response

        rows = [("« Tous », 25 cards (six of 2,000 characters), no list", timed(queue))]
        with app.app_context():
            settings.set_value("banned_words", phrases)
        rows.append(("« Tous », 1,000 « le X » phrases, stored matches", timed(queue)))
        with app.app_context():
            db.session.execute(db.update(Comment).values(word_matches=None))
            db.session.commit()
        rows.append(("« Tous », 1,000 « le X » phrases, matched at render", timed(queue)))
        token = CSRF.search(client.get("/admin/mots").text).group(1)

        def simulate(entries: list[str]) -> Callable[[], object]:
            form = {"csrf_token": token, "action": "simuler", "banned_words": "\n".join(entries),
                    "suspect_words": "", "allowed_words": ""}  # fmt: skip

            def call() -> object:
                response = client.post("/admin/mots", data=form)
                assert response.status_code == 200 and "changerai" in response.text  # -t or -ent
                return response

            return call

        # (the admin form takes at most 64 KB: 500 phrases of 30 words)
        long_phrases = [" ".join(["le"] * 29 + [f"mot{i}"]) for i in range(500)]
        rows.append(("« Simuler » 1,000 « le X » phrases, 36 comments", timed(simulate(
            [f"le mot{i}" for i in range(1, 1_001)]))))  # fmt: skip
        rows.append(("« Simuler » 500 30-word phrases, 36 comments", timed(simulate(
            long_phrases))))  # fmt: skip
        for label, ms in rows:
            print(f"{label:<58}{ms:>9.1f} ms ({ms / baseline:>7.0f}×)")
        with app.app_context():
            db.drop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, no old pattern")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    sizes = SIZES[:2] if args.quick else SIZES
    lengths = LENGTHS[:2] if args.quick else LENGTHS
    baseline = bench_matching(sizes, lengths)
    bench_links(lengths, baseline, old=not args.quick)
    bench_pages(baseline, args.runs)


if __name__ == "__main__":
    main()
