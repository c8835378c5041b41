"""Test fixtures: a real app on a real database, fresh for every test.

SQLite (a temporary file) by default; PostgreSQL when TEST_DATABASE_URL is set. A set but
unreachable TEST_DATABASE_URL fails the run: it never silently falls back to SQLite.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.globals import _cv_app
from flask.testing import FlaskClient

from app import create_app
from app.config import mail_settings, normalise_database_url, testing_config
from app.extensions import db, limiter
from app.models import Article, Comment, CommentStatus, Role, User
from app.services import accounts, articles, quotas, settings
from bench.stack import CSRF_RE, FORM_TOKEN_RE
from tests.mailbox import Mailbox, SmtpServer

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
ARTICLE_SLUG = "raqqa-al-mayadeen"
ARTICLE_URL = f"/articles/{ARTICLE_SLUG}"
POST_URL = f"{ARTICLE_URL}/commentaires"


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + TEST_DATABASE_URL if TEST_DATABASE_URL else 'SQLite'}"


def postgres_schema_url(schema: str) -> str:
    """TEST_DATABASE_URL with a fresh, empty schema of its own first on the search path, so
    that parallel runs (xdist workers, system stacks, two test runs at once on one database)
    never share tables. The schema's name ends with this process's id."""
    assert TEST_DATABASE_URL is not None
    schema = f"{schema}_{os.getpid()}"
    url = normalise_database_url(TEST_DATABASE_URL)
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:  # set but unreachable: fail, never skip
        pytest.exit(f"TEST_DATABASE_URL is set but unreachable: {error}", returncode=3)
    finally:
        engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    url = postgres_schema_url(f"test_{worker_id}")
    yield url
    drop_postgres_schema(url)


def drop_postgres_schema(url: str) -> None:
    """Drop the schema of a `postgres_schema_url` (the end of a test session)."""
    assert TEST_DATABASE_URL is not None
    schema = url.rsplit("search_path%3D", 1)[1].split("&", 1)[0]
    engine = sa.create_engine(normalise_database_url(TEST_DATABASE_URL))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '5s'"))
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    except sa.exc.OperationalError:  # a transaction still open elsewhere: left behind
        pass
    finally:
        engine.dispose()


def make_config(database_url: str, instance_path: str, **overrides: Any) -> dict[str, Any]:
    config = testing_config(database_url, instance_path)
    config.update(overrides)
    return config


# The tiny model every app in the tests scores with: a real Detoxify-format checkpoint, loaded
# through the production code, whose scores follow chosen words (bench/tiny_checkpoints.py).
TRIGGERS = {
    "connard": {"toxicity": 0.95, "insult": 0.92},  # over the reject thresholds
    "idiot": {"insult": 0.7},  # over hold (0.5) and nudge (0.5), under reject (0.9)
    "merde": {"obscene": 0.65},  # over hold (0.6), under reject (0.95)
}
NEUTRAL = 0.01


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from bench.tiny_checkpoints import build_word_checkpoint

    with pytest.MonkeyPatch.context() as patch:
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
            patch.setenv(name, "1")
        yield build_word_checkpoint(
            tmp_path_factory.mktemp("tiny-model"), triggers=TRIGGERS, neutral=NEUTRAL
        )


@pytest.fixture(scope="session")
def tiny_scorer(tiny_model: Any) -> Any:
    """One loaded scorer shared by every test app (loading is the slow part)."""
    from app.scoring import ScorerSettings, get_scorer

    scorer = get_scorer(
        ScorerSettings(checkpoint=str(tiny_model.checkpoint), hf_config=str(tiny_model.hf_config))
    )
    scorer.load()
    return scorer


@dataclass(frozen=True)
class OnnxExport:
    """What `flask model export` of the tiny model left: its folder, exit code and output."""

    folder: Any
    exit_code: int
    output: str


def run_export(tiny_model: Any, root: Any, *args: str, **config: Any) -> Any:
    """`flask model export ARGS` run in-process by an app configured with the tiny model."""
    app = create_app(
        make_config(
            f"sqlite:///{root / 'export.db'}",
            str(root / "instance"),
            DETOXIFY_CHECKPOINT=str(tiny_model.checkpoint),
            DETOXIFY_HF_CONFIG=str(tiny_model.hf_config),
            **config,
        )
    )
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
            patch.setenv(name, "1")
        return app.test_cli_runner().invoke(args=["model", "export", *args])


@pytest.fixture(scope="session")
def onnx_export(tiny_model: Any, tmp_path_factory: pytest.TempPathFactory) -> OnnxExport:
    """`flask model export` of the tiny model, run once: its int8 folder (DETOXIFY_ONNX_DIR)."""
    root = tmp_path_factory.mktemp("onnx-export")
    result = run_export(tiny_model, root, DETOXIFY_ONNX_DIR=str(root / "onnx"))
    output = result.output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        output += f"\n{result.exception!r}"
    return OnnxExport(root / "onnx", result.exit_code, output)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback, one per test process: every test app sends to it."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server: SmtpServer) -> Mailbox:
    """What the SMTP server received during this test (emptied at its start)."""
    smtp_server.mailbox.clear()
    return smtp_server.mailbox


@pytest.fixture
def config_overrides() -> dict[str, Any]:
    """Override in a test module (or with `@pytest.mark.parametrize`) to change settings."""
    return {}


class IsolatedClient(FlaskClient):
    """Each request gets its own app context (fresh `g`, fresh database session), as in
    production, even while the test itself holds one to prepare and inspect rows."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        token = _cv_app.set(None)  # type: ignore[arg-type]
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)


@pytest.fixture
def scorer(tiny_scorer: Any) -> Any:
    """The scorer of the test's app; override to test another (a broken one, say)."""
    return tiny_scorer


@pytest.fixture
def app(
    database_url: str,
    tmp_path: Any,
    config_overrides: dict[str, Any],
    scorer: Any,
    smtp_server: SmtpServer,
) -> Iterator[Flask]:
    mail = mail_settings(
        smtp_server.url, sender="Modération <ne-pas-repondre@example.org>", timeout=5
    )
    # The test client's host: links in mails sent outside a request (the worker's statements).
    mail["PUBLIC_URL"] = "http://localhost"
    app = create_app(
        make_config(database_url, str(tmp_path / "instance"), **{**mail, **config_overrides}),
        scorer=scorer,
    )
    app.test_client_class = IsolatedClient
    with contextlib.suppress(Exception):  # a test may point the storage at a dead Redis
        limiter.reset()  # rate-limit counters live in memory: start each test at zero
    quotas.reset_fallback()
    with app.app_context():
        db.drop_all()
        db.create_all()
        articles.seed()
        settings.ensure_defaults()
        yield app
        app.extensions["scoring"].stop()
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf_token(client: FlaskClient, url: str = ARTICLE_URL) -> str:
    page = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


@dataclass
class Reader:
    """Drives the article page as a reader would: load the form, fill it in, send it."""

    client: FlaskClient

    def post(
        self,
        body: str = "Un commentaire argumenté.",
        name: str | None = "Camille",
        email: str | None = "camille@example.fr",
        parent_id: int | str | None = None,
        url: str = POST_URL,
        form_token: str | None = None,
        **extra: Any,
    ) -> Any:
        page = self.client.get(ARTICLE_URL).get_data(as_text=True)
        csrf = CSRF_RE.search(page)
        token = FORM_TOKEN_RE.search(page)
        data = {
            # A page without the form (comments closed) still lets a crafted post through CSRF.
            "csrf_token": csrf.group(1) if csrf else csrf_token(self.client, "/compte/connexion"),
            "form_token": form_token or (token.group(1) if token else ""),
            "body": body,
            "parent_id": "" if parent_id is None else str(parent_id),
            **extra,
        }
        if name is not None:
            data["name"] = name
        if email is not None:
            data["email"] = email
        return self.client.post(url, data=data)


@pytest.fixture
def reader(client: FlaskClient) -> Reader:
    return Reader(client)


@pytest.fixture
def article(app: Flask) -> Article:
    found = db.session.scalar(sa.select(Article).where(Article.slug == ARTICLE_SLUG))
    assert found is not None
    return found


def make_user(
    email: str = "lecteur@example.fr",
    password: str = "motdepasse-solide",
    display_name: str = "Lecteur Fidèle",
    role: Role = Role.READER,
) -> User:
    return accounts.register(display_name, email, password, role=role)


def login(client: FlaskClient, email: str, password: str = "motdepasse-solide") -> Any:
    token = csrf_token(client, "/compte/connexion")
    return client.post(
        "/compte/connexion", data={"csrf_token": token, "email": email, "password": password}
    )


def add_comment(
    article: Article,
    body: str = "Commentaire publié",
    status: CommentStatus = CommentStatus.PUBLISHED,
    parent: Comment | None = None,
    author_name: str = "Dominique",
    **fields: Any,
) -> Comment:
    """A stored comment, as if decided already (for building pages and threads)."""
    from app.services.comments import body_hash

    comment = Comment(
        article_id=article.id,
        parent_id=parent.id if parent else None,
        thread_id=(parent.thread_id or parent.id) if parent else None,
        depth=min(parent.depth + 1, Comment.MAX_DEPTH) if parent else 0,
        author_name=author_name,
        body=body,
        body_hash=body_hash(body),
        status=status,
        **{"author_email": "dominique@example.fr", "awaiting_score": False, **fields},
    )
    db.session.add(comment)
    db.session.commit()
    return comment


def comments_in_db() -> list[Comment]:
    db.session.expire_all()  # requests ran in their own sessions
    return list(db.session.scalars(sa.select(Comment).order_by(Comment.id)))


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app served by a real threaded server on a free port: for tests that send
    truly simultaneous requests. Yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@dataclass(frozen=True)
class LiveResponse:
    status: int
    text: str
    headers: Any


class LiveBrowser:
    """One browser against `live_server`: its own cookie jar, redirects not followed."""

    def __init__(self, base_url: str, cookies: Any = None) -> None:
        import copy
        import http.cookiejar
        import urllib.request

        class _NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        for cookie in cookies or []:
            self.cookies.set_cookie(copy.copy(cookie))
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def clone(self) -> LiveBrowser:
        """Another browser holding the same cookies (the same session sent twice)."""
        return LiveBrowser(self.base_url, self.cookies)

    def request(self, path: str, data: dict[str, str] | None = None) -> LiveResponse:
        import urllib.error
        import urllib.parse

        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self._opener.open(self.base_url + path, data=body, timeout=60) as response:
                return LiveResponse(response.status, response.read().decode(), response.headers)
        except urllib.error.HTTPError as error:
            with error:
                return LiveResponse(error.code, error.read().decode(), error.headers)

    def form(self, path: str = ARTICLE_URL) -> dict[str, str]:
        """The CSRF and form tokens of the comment form on `path`."""
        page = self.request(path).text
        fields = {"csrf_token": CSRF_RE.search(page).group(1)}  # type: ignore[union-attr]
        token = FORM_TOKEN_RE.search(page)
        if token:
            fields["form_token"] = token.group(1)
        return fields


def simultaneously(calls: list[Any]) -> list[Any]:
    """Run every call in its own thread, all released at the same instant; their results."""
    import threading

    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def live_redis_url(worker_id: str, module: int) -> str:
    """The machine's Redis (127.0.0.1:6379) on a database number of this test worker's and
    this module's own (`module`: 0 or 1), so that two test workers, or two modules, never
    share a database: the Celery tests' queues are plain Redis lists, and a worker's task run
    by one test would take another test's calls. Databases 4 to 15: six workers at once."""
    index = int(worker_id[2:]) if worker_id.startswith("gw") else 0
    return f"redis://127.0.0.1:6379/{4 + (2 * index + module) % 12}"


def live_redis_db(url: str) -> Iterator[redis.Redis]:
    """That Redis database, emptied before and after: the body of a test module's
    `live_redis` fixture."""
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError:
        pytest.fail("Redis must answer on 127.0.0.1:6379 (see README: « Services »)")
    client.flushdb()
    yield client
    client.flushdb()
