"""Isso's WSGI app as `isso.run` builds it, its SQL statements counted (bench/sqlcount.py).

Run by bench/api_vs_isso.py with Isso's own interpreter (`.bench/isso-venv`), never the
project's: `gunicorn bench.isso_wsgi:application`, ISSO_SETTINGS naming its configuration.
"""

import os

from bench import sqlcount

sqlcount.install()  # before Isso opens its first connection

from isso import config, make_app  # noqa: E402

application = sqlcount.Counted(
    make_app(config.load(config.default_file(), os.environ["ISSO_SETTINGS"]), multiprocessing=True)
)
