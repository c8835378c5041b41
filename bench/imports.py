"""Imports: how fast a WordPress export goes in, how much memory the import takes as the file
grows, and how long the background scoring of the imported comments takes on one worker.

    .venv/bin/python -m bench.imports [--sizes 10000,40000] [--scored 64] [--threads 2]
        [--runtime torch|onnx]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

(a) For each size, a WXR 1.2 file of that many comments is generated (posts of 50 comments,
one in three a reply, some deeper; 5 % pending, 3 % spam, HTML paragraphs and links; French
texts from :mod:`bench.comments`), then imported by `flask import wordpress`'s own service
(`services.imports.run`) into a fresh SQLite database (or a fresh schema of the PostgreSQL
database `--database-url` names), in a child process of its own: its
comments per second, and its peak resident memory (`ru_maxrss`) beside the same process's
before the import. The file streams: what grows with the file is the threads' shape (a few
ids per comment), never the texts.

(b) `--scored` comments are imported, then scored in the background exactly as a worker does
(`BatchScorer.process_background`, batches of SCORING_BATCH_SIZE), by the full-size
random-weights stand-in of Detoxify's multilingual model (:mod:`bench.model`, XLM-R base
architecture, ~278 M parameters) on the CPU with `--threads` torch threads: the time for N,
and that time extrapolated to 100,000 comments (the model's time is linear in the number of
comments of the same lengths). The model's loading is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.comments import comments as bench_comments

POSTS_OF = 50  # comments per post
HEADER = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0"
	xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:wp="http://wordpress.org/export/1.2/"
>
<channel>
	<title>Bench</title>
	<link>https://www.journal.fr</link>
	<wp:wxr_version>1.2</wp:wxr_version>
	<wp:base_site_url>https://www.journal.fr</wp:base_site_url>
	<wp:base_blog_url>https://www.journal.fr</wp:base_blog_url>
"""


def write_wxr(path: Path, count: int, seed: int = 0) -> int:
    """A WXR file of `count` comments; returns its size in bytes."""
    rng = random.Random(seed)
    texts = bench_comments(256, seed)
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        written = 0
        post = 0
        while written < count:
            post += 1
            out.write(
                f"\t<item>\n\t\t<title><![CDATA[Article {post}]]></title>\n"
                f"\t\t<link>https://www.journal.fr/{post // 1000}/article-{post}/</link>\n"
                f"\t\t<content:encoded><![CDATA[<p>{texts[post % 256]}</p>]]></content:encoded>\n"
                f"\t\t<wp:post_id>{post}</wp:post_id>\n\t\t<wp:post_type>post</wp:post_type>\n"
            )
            first = written + 1
            for _ in range(min(POSTS_OF, count - written)):
                written += 1
                parent = 0
                if written > first and rng.random() < 0.33:
                    parent = rng.randrange(first, written)
                roll = rng.random()
                approved = "0" if roll < 0.05 else "spam" if roll < 0.08 else "1"
                text = texts[written % 256]
                body = f"<p>{text}</p>"
                if written % 7 == 0:
                    body += (
                        '<p>Voir <a href="https://www.insee.fr/fr/statistiques">l’Insee</a>.</p>'
                    )
                minute = written % 60
                out.write(
                    "\t\t<wp:comment>\n"
                    f"\t\t\t<wp:comment_id>{written}</wp:comment_id>\n"
                    f"\t\t\t<wp:comment_author><![CDATA[Lecteur {written % 997}]]>"
                    "</wp:comment_author>\n"
                    f"\t\t\t<wp:comment_author_email>lecteur{written % 997}@example.fr"
                    "</wp:comment_author_email>\n"
                    f"\t\t\t<wp:comment_date>2024-03-18 10:{minute:02d}:00</wp:comment_date>\n"
                    f"\t\t\t<wp:comment_date_gmt>2024-03-18 09:{minute:02d}:00"
                    "</wp:comment_date_gmt>\n"
                    f"\t\t\t<wp:comment_content><![CDATA[{body}]]></wp:comment_content>\n"
                    f"\t\t\t<wp:comment_approved>{approved}</wp:comment_approved>\n"
                    "\t\t\t<wp:comment_type>comment</wp:comment_type>\n"
                    f"\t\t\t<wp:comment_parent>{parent}</wp:comment_parent>\n"
                    "\t\t\t<wp:commentmeta><wp:meta_key>akismet_history</wp:meta_key>"
                    '<wp:meta_value><![CDATA[a:2:{s:4:"time";d:1710749112.5;s:5:"event";'
                    's:9:"check-ham";}]]></wp:meta_value></wp:commentmeta>\n'
                    "\t\t</wp:comment>\n"
                )
            out.write("\t</item>\n")
        out.write("</channel>\n</rss>\n")
    return path.stat().st_size


def _database(folder: Path, database_url: str | None) -> str:
    """A fresh database for one run: SQLite in `folder`, or a new schema of PostgreSQL."""
    if not database_url:
        return f"sqlite:///{folder / 'bench.db'}"
    import sqlalchemy as sa

    from app.config import normalise_database_url

    url = normalise_database_url(database_url)
    schema = f"bench_imports_{folder.name.replace('-', '_')}_{os.getpid()}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def _drop(url: str) -> None:
    if "search_path%3D" not in url:
        return
    import sqlalchemy as sa

    base, schema = url.split("?")[0], url.rsplit("search_path%3D", 1)[1]
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def _app(folder: Path, database_url: str, **config: Any) -> Any:
    from app import create_app
    from app.config import testing_config
    from app.extensions import db

    settings = testing_config(database_url, str(folder / "instance"))
    settings.update(config)
    scorer = None
    if "DETOXIFY_CHECKPOINT" not in config:
        from bench.common import NoScorer

        scorer = NoScorer()
    app = create_app(settings, scorer=scorer)  # type: ignore[arg-type]
    with app.app_context():
        db.create_all()
    return app


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(wxr: Path, folder: Path, database_url: str) -> None:
    """Import `wxr` into a fresh database; print the figures as JSON (one line)."""
    from app.importers import get_importer
    from app.services import imports, sites

    app = _app(folder, database_url)
    with app.app_context():
        site = sites.default_site()
        before = _rss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        summary = imports.run(get_importer("wordpress"), wxr, site)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        json.dumps(
            {
                "comments": summary.written,
                "stories": summary.stories_new,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "rss_before_mb": before,
                "rss_peak_mb": _rss_mb(),
            }
        )
    )


def measure_import(count: int, folder: Path, database_url: str | None) -> dict[str, Any]:
    wxr = folder / f"export-{count}.xml"
    size = write_wxr(wxr, count)
    run = folder / f"run-{count}"
    run.mkdir()
    url = _database(run, database_url)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.imports", "--child", str(wxr), str(run), url],
            capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
    finally:
        _drop(url)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["bytes"] = size
    wxr.unlink()
    return figures


def measure_scoring(count: int, threads: int, folder: Path, runtime: str) -> dict[str, Any]:
    from app.extensions import db
    from app.importers import get_importer
    from app.scoring import backend
    from app.services import imports, scoring, sites
    from bench.model import ensure_model

    checkpoint, hf = ensure_model()
    extra: dict[str, Any] = {}
    if runtime == "onnx":  # the int8 export `flask model export` makes, as production runs it
        from bench.scorer import ensure_onnx_model

        onnx_dir, _ = ensure_onnx_model(checkpoint, hf, threads=threads)
        extra = {"DETOXIFY_RUNTIME": "onnx", "DETOXIFY_ONNX_DIR": str(onnx_dir)}
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    wxr = folder / "scored.xml"
    write_wxr(wxr, count, seed=1)
    app = _app(
        folder,
        f"sqlite:///{folder / 'scored.db'}",
        DETOXIFY_CHECKPOINT=str(checkpoint),
        DETOXIFY_HF_CONFIG=str(hf),
        DETOXIFY_THREADS=threads,
        **extra,
    )
    with app.app_context():
        imports.run(get_importer("wordpress"), wxr, sites.default_site())
        waiting = scoring.background_count()
        runner = backend().runner  # type: ignore[attr-defined]
        runner.load()  # not counted
        batch = app.config["SCORING_BATCH_SIZE"]
        started, cpu = time.perf_counter(), time.process_time()
        done = 0
        while taken := runner.process_background(batch):
            done += taken
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        left = scoring.background_count()
        db.session.remove()
    return {"comments": waiting, "scored": done, "left": left, "seconds": seconds,
            "cpu_seconds": cpu, "batch": batch, "threads": threads,
            "runtime": runtime}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,40000", help="comments per file")
    parser.add_argument("--scored", type=int, default=64, help="comments scored in (b)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of the worker")
    parser.add_argument("--database-url", help="PostgreSQL for (a) (default: SQLite)")
    parser.add_argument(
        "--runtime", choices=("torch", "onnx"), default="torch",
        help="the model's runtime in (b): torch, or the int8 ONNX export (DETOXIFY_RUNTIME=onnx)",
    )  # fmt: skip
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), args.child[2])
        return
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as tmp:
        folder = Path(tmp)
        engine = "PostgreSQL" if args.database_url else "SQLite"
        print(f"(a) import of a generated WXR 1.2 file into {engine}, one process per size")
        print(f"  {'comments':>9} {'file MB':>8} {'seconds':>8} {'CPU s':>6} {'comments/s':>10} "
              f"{'RSS before':>10} {'RSS peak':>9} {'import own':>10}")  # fmt: skip
        rows = []
        for count in (int(s) for s in args.sizes.split(",")):
            row = measure_import(count, folder, args.database_url)
            rows.append(row)
            own = row["rss_peak_mb"] - row["rss_before_mb"]
            print(
                f"  {row['comments']:>9} {row['bytes'] / 2**20:>8.1f} {row['seconds']:>8.1f} "
                f"{row['cpu_seconds']:>6.1f} {row['comments'] / row['seconds']:>10.0f} "
                f"{row['rss_before_mb']:>8.0f} MB "
                f"{row['rss_peak_mb']:>6.0f} MB {own:>7.0f} MB"
            )
        if len(rows) >= 2:
            small, large = rows[0], rows[-1]
            ratio = large["bytes"] / small["bytes"]
            grown = (large["rss_peak_mb"] - large["rss_before_mb"]) - (
                small["rss_peak_mb"] - small["rss_before_mb"]
            )
            print(f"  file ×{ratio:.1f}: the import's own memory grew by {grown:.0f} MB "
                  f"({grown * 2**20 / max(1, large['comments'] - small['comments']):.0f} bytes "
                  "per more comment: the threads' shape; texts are never held)")  # fmt: skip
        if not args.scored:
            return
        print()
        print(
            f"(b) background scoring of {args.scored} imported comments on one worker "
            f"(full-size random-weights XLM-R base, CPU, {args.threads} threads, "
            f"runtime {args.runtime})"
        )
        scored = measure_scoring(args.scored, args.threads, folder, args.runtime)
        per = scored["seconds"] / max(1, scored["scored"])
        print(f"  N = {scored['scored']} scored (of {scored['comments']} waiting, "
              f"{scored['left']} left), batches of {scored['batch']}: {scored['seconds']:.1f} s, "
              f"{per * 1000:.0f} ms per comment, {1 / per:.1f} comments/s")  # fmt: skip
        hours = per * 100_000 / 3600
        print(f"  100,000 imported comments: about {hours:.1f} h on this worker "
              f"({per * 100_000:.0f} s, extrapolated from N = {scored['scored']})")  # fmt: skip
        # On a shared machine the wall time includes waiting for a core: the process's CPU
        # time over its torch threads is what an idle machine of that many cores would take.
        idle = scored["cpu_seconds"] / scored["threads"] / max(1, scored["scored"])
        print(f"  CPU time {scored['cpu_seconds']:.1f} s over {scored['threads']} threads: "
              f"{idle * 1000:.0f} ms per comment on an idle {scored['threads']}-core worker, "
              f"100,000 in about {idle * 100_000 / 3600:.1f} h; load average now "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip


if __name__ == "__main__":
    main()
