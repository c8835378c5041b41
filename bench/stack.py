"""The production shape as real processes on loopback: Redis (our own, on a free port),
gunicorn with two web processes, Celery workers and Celery beat, all on one database.

Every process runs the commands the README gives an operator (`flask db upgrade`, `seed`,
`gunicorn wsgi:app`, `celery --app wsgi:celery_app worker|beat`); only the environment is
the caller's. Readers are plain HTTP clients (urllib) that load the article page and post the
form as a browser does.

Used by the system tests (tests/system) and by bench/production.py: it lives here, outside
tests/, so that no benchmark imports test code; tests may import it as they import app/.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
# What a browser reads from the article page's form (the tests read them the same way).
CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
FORM_TOKEN_RE = re.compile(r'name="form_token" type="hidden" value="([^"]+)"')
BIN = Path(sys.executable).parent
ARTICLE = "/articles/raqqa-al-mayadeen"
COMMENT_ID_RE = re.compile(r"(?:#c|commentaire=)(\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


# What the stack's Prometheus scraper sends (`Authorization: Bearer …`).
METRICS_TOKEN = "system-test-scraper"


@dataclass
class Stack:
    folder: Path
    database_url: str
    model: Any  # a bench.tiny_checkpoints.TinyCheckpoint
    settings: dict[str, str] = field(default_factory=dict)
    redis_port: int = field(default_factory=free_port)
    web_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "TEST_", "COV"))}
        env.update(
            APP_ENV="development",
            SECRET_KEY="system-test",
            DATABASE_URL=self.database_url,
            SCORING_BACKEND="celery",
            REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            DETOXIFY_CHECKPOINT=str(self.model.checkpoint),
            DETOXIFY_HF_CONFIG=str(self.model.hf_config),
            HF_HUB_OFFLINE="1",
            TRANSFORMERS_OFFLINE="1",
            COMMENT_RATE_LIMIT="100000 per minute",
            DUPLICATE_WINDOW_MINUTES="0",
            SCORING_WAIT_SECONDS="3",
            SCORING_SWEEP_SECONDS="1",
            SCORING_TIMEOUT_SECONDS="2",
            SCORING_LEASE_SECONDS="3",
            SCORING_RETRY_BASE_SECONDS="1",
            SCORING_RETRY_MAX_SECONDS="2",
            DATABASE_POOL_SIZE="3",
            DATABASE_MAX_OVERFLOW="3",
            DETOXIFY_THREADS="1",
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="8",
            PYTHONUNBUFFERED="1",
            METRICS_TOKEN=METRICS_TOKEN,
        )
        env.update(self.settings)
        return env

    # Processes -------------------------------------------------------------------------------

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def spawn(self, name: str, *command: str) -> subprocess.Popen[bytes]:
        with open(self.folder / f"{name}.log", "ab") as log:  # the child keeps its own copy
            process = subprocess.Popen(
                command, cwd=ROOT, env=self.env(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.processes[name] = process
        return process

    def start_redis(self) -> None:
        self.spawn(
            "redis", "redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no",
        )  # fmt: skip
        assert wait_until(self._redis_answers, 10), "Redis did not start"

    def _redis_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop_redis(self) -> None:
        self.stop("redis")

    def start_web(self) -> None:
        self.spawn(
            "web", str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.web_port}", "wsgi:app",
        )  # fmt: skip
        assert wait_until(lambda: self.get("/healthz")[0] in (200, 503), 30), self.log("web")

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        process = self.spawn(
            name, str(BIN / "celery"), "--app", "wsgi:celery_app", "worker",
            "--hostname", f"{name}@%h", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle",
        )  # fmt: skip
        return process

    def start_beat(self) -> None:
        self.spawn(
            "beat", str(BIN / "celery"), "--app", "wsgi:celery_app", "beat",
            "--schedule", str(self.folder / "beat-schedule"), "--loglevel", "INFO",
        )  # fmt: skip

    def start(self, workers: int = 1) -> None:
        self.run("db", "upgrade")
        self.run("seed")
        self.start_redis()
        for i in range(workers):
            self.start_worker(f"worker{i + 1}")
        self.start_beat()
        self.start_web()
        assert wait_until(lambda: self.ready_workers() >= workers, 60), self.log("worker1")

    def ready_workers(self) -> int:
        status, body = self.get("/healthz")
        if not body.startswith("{"):
            return 0
        workers = json.loads(body)["scoring"].get("workers", [])
        return sum(w["model"] == "ready" for w in workers)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.processes[name].send_signal(sig)
        self.processes[name].wait(10)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(10)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)

    def close(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    # Readers -------------------------------------------------------------------------------

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except OSError:
            return 0, ""

    def post_comment(self, body: str, name: str = "Camille") -> int | None:
        """Post as a new guest; the new comment's id, or None when the site did not accept it
        (a connection cut, an error page)."""
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
        try:
            with opener.open(self.base + ARTICLE, timeout=10) as page:
                html = page.read().decode()
            form = {
                "csrf_token": CSRF_RE.search(html).group(1),  # type: ignore[union-attr]
                "form_token": FORM_TOKEN_RE.search(html).group(1),  # type: ignore[union-attr]
                "body": body,
                "name": name,
                "email": f"{name.lower()}@example.fr",
                "parent_id": "",
            }
            data = urllib.parse.urlencode(form).encode()
            opener.open(self.base + ARTICLE + "/commentaires", data=data, timeout=30)
        except urllib.error.HTTPError as error:
            if error.code != 303:
                return None
            match = COMMENT_ID_RE.search(error.headers.get("Location", ""))
            return int(match.group(1)) if match else None
        except OSError:
            return None
        return None

    # The database, as the site's operator would query it -----------------------------------

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(sa.text(sql))]
        finally:
            engine.dispose()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
