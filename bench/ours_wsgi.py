"""Modération's `wsgi:app`, its SQL statements counted as Isso's are (bench/sqlcount.py).

Run by bench/api_vs_isso.py: `gunicorn bench.ours_wsgi:app`, from the repository root.
"""

from bench import sqlcount

sqlcount.install()  # before the app's engine opens its first connection

from wsgi import app as _app  # noqa: E402

app = sqlcount.Counted(_app)
