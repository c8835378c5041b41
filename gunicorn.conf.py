"""gunicorn's settings for Modération; gunicorn reads this file by itself when started from
the repository root (`gunicorn wsgi:app`). Every value can be overridden on the command line
(`gunicorn -w 8 -b 0.0.0.0:8000 wsgi:app`) or with GUNICORN_CMD_ARGS.

With SCORING_BACKEND=celery a web process loads no model: it stores the comment, queues it
and waits (bounded) for the decision, so threads, not processes, absorb that wait.
"""

import os
import shutil
import tempfile

from dotenv import dotenv_values

# Like the app: the environment first, then `.env` (see .env.example, « gunicorn »).
_dotenv = dotenv_values(".env") if os.path.exists(".env") else {}


def _setting(key: str, default: str) -> str:
    return os.environ.get(key) or _dotenv.get(key) or default


bind = _setting("GUNICORN_BIND", "127.0.0.1:8000")
# Processes: WEB_CONCURRENCY, else two per core.
workers = int(_setting("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1))))
worker_class = "gthread"
threads = int(_setting("GUNICORN_THREADS", "8"))
timeout = 30  # a request never waits longer than SCORING_WAIT_SECONDS for the model
graceful_timeout = 20
accesslog = "-"
# No query string and no referrer: they can hold a reader's address (?email=, ?auteur=, ?q=).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'

# /metrics adds up every web process's counters: Prometheus' multiprocess mode, whose files
# live in PROMETHEUS_MULTIPROC_DIR (set before any worker imports prometheus_client).
_own_metrics_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="moderation-metrics-")


def on_starting(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    """Start from empty counters: files of an earlier run would be added to this one's."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        os.remove(os.path.join(folder, name))


def child_exit(server, worker):  # noqa: ANN001, ANN201
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ANN001, ANN201
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
