"""Settings: read once, from the environment and an optional `.env` file, in the factory.

Every key read here is documented in `.env.example`. Other code reads `current_app.config`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from app.scoring import DEFAULT_RUNTIME, available_runtimes


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def _env(values: Mapping[str, str | None], key: str, default: str | None = None) -> str | None:
    value = values.get(key)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def _int(values: Mapping[str, str | None], key: str, default: int, minimum: int = 0) -> int:
    raw = _env(values, key)
    if raw is None:
        return default
    try:
        number = int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {raw!r}") from None
    if number < minimum:
        raise ConfigError(f"{key} must be at least {minimum}, got {number}")
    return number


def _float(values: Mapping[str, str | None], key: str, default: float, minimum: float = 0) -> float:
    raw = _env(values, key)
    if raw is None:
        return default
    try:
        number = float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number, got {raw!r}") from None
    if number < minimum:
        raise ConfigError(f"{key} must be at least {minimum}, got {number}")
    return number


def _bool(values: Mapping[str, str | None], key: str, default: bool) -> bool:
    raw = _env(values, key)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{key} must be true or false, got {raw!r}")


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(values: Mapping[str, str | None], instance_path: Path, env: str) -> str:
    key = _env(values, "SECRET_KEY")
    if key:
        if env == "production":
            _check_secret_key(key)
        return key
    if env == "production":
        raise ConfigError("SECRET_KEY must be set when APP_ENV=production")
    # Development: one random key, generated once into the instance folder (never a constant).
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY_MIN_BYTES = 32
SECRET_KEY_MIN_DISTINCT = 8


def _check_secret_key(key: str) -> None:
    """Production keys sign the sessions: at least 32 bytes, not a pattern a person typed
    (too few distinct characters, or a group repeated over half the key or more)."""
    advice = 'generate one with: python -c "import secrets; print(secrets.token_hex(32))"'
    if len(key.encode()) < SECRET_KEY_MIN_BYTES:
        raise ConfigError(
            f"SECRET_KEY must be at least {SECRET_KEY_MIN_BYTES} bytes when APP_ENV=production "
            f"(got {len(key.encode())}); {advice}"
        )
    repeated = any(key[p:] == key[:-p] for p in range(1, len(key) // 2 + 1))  # a period
    if len(set(key)) < SECRET_KEY_MIN_DISTINCT or repeated:
        raise ConfigError(f"SECRET_KEY is a repetitive string, easy to guess; {advice}")


def load_config(instance_path: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the application's settings from `.env` (if any) overlaid by the real environment."""
    values: dict[str, str | None] = {}
    if environ is None:
        if Path(".env").exists():
            values.update(dotenv_values(".env"))
        environ = os.environ
    values.update(environ)
    instance = Path(instance_path)
    env = (_env(values, "APP_ENV", "development") or "development").lower()
    if env not in {"development", "production"}:
        raise ConfigError(f"APP_ENV must be development or production, got {env!r}")

    default_db = f"sqlite:///{instance / 'moderation.db'}"
    rate_limit = _env(values, "COMMENT_RATE_LIMIT", "5 per minute") or "5 per minute"
    _check_rate_limit(rate_limit)
    signup_limit = _env(values, "SIGNUP_RATE_LIMIT", "10 per hour") or "10 per hour"
    _check_rate_limit(signup_limit, "SIGNUP_RATE_LIMIT")
    signin_limit = _env(values, "SIGNIN_RATE_LIMIT", "10 per 15 minutes") or "10 per 15 minutes"
    _check_rate_limit(signin_limit, "SIGNIN_RATE_LIMIT")

    force_https = _bool(values, "FORCE_HTTPS", env == "production")
    site_timezone = _env(values, "SITE_TIMEZONE", "Europe/Paris") or "Europe/Paris"
    _check_timezone(site_timezone)
    if env == "production" and _env(values, "MAIL_URL") and not _env(values, "PUBLIC_URL"):
        # The statements of reasons of the model's decisions are mailed by the workers, outside
        # any request: their links need the site's address.
        raise ConfigError("PUBLIC_URL must be set with MAIL_URL when APP_ENV=production")
    return {
        "APP_ENV": env,
        "SECRET_KEY": _secret_key(values, instance, env),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            _env(values, "DATABASE_URL", default_db) or default_db
        ),
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(values),
        # Every date and time a person reads is in this zone (create_app gives it to Babel).
        "SITE_TIMEZONE": site_timezone,
        # Comments
        "COMMENT_MAX_LENGTH": _int(values, "COMMENT_MAX_LENGTH", 2000, minimum=1),
        "DUPLICATE_WINDOW_MINUTES": _int(values, "DUPLICATE_WINDOW_MINUTES", 10),
        # Minutes after sending during which its author may edit a comment (0: never);
        # deleting one's comment is always possible.
        "EDIT_WINDOW_MINUTES": _int(values, "EDIT_WINDOW_MINUTES", 10),
        "COMMENT_RATE_LIMIT": rate_limit,
        # Readers' « Signaler »: per reader (account or session), and per network address.
        "REPORT_RATE_LIMIT": _rate_limit(values, "REPORT_RATE_LIMIT", "5 per hour"),
        "REPORT_ADDRESS_RATE_LIMIT": _rate_limit(
            values, "REPORT_ADDRESS_RATE_LIMIT", "20 per hour"
        ),
        # Readers' « J'aime »: per reader (or browser) and per network address.
        "LIKE_RATE_LIMIT": _rate_limit(values, "LIKE_RATE_LIMIT", "60 per minute; 600 per day"),
        # Drafts scored while the reader types (services/drafts), per reader and per address.
        "DRAFT_RATE_LIMIT": _rate_limit(values, "DRAFT_RATE_LIMIT", "30 per minute; 600 per hour"),
        # Notices of illegal content (Art. 16 DSA) sent from one network address.
        "NOTICE_RATE_LIMIT": _rate_limit(values, "NOTICE_RATE_LIMIT", "5 per hour; 20 per day"),
        "COMMENTS_PER_PAGE": _int(values, "COMMENTS_PER_PAGE", 20, minimum=1),
        # Scoring (Detoxify)
        **_scoring_config(values, instance),
        # Requests larger than this are refused with 413 before they are parsed.
        "MAX_CONTENT_LENGTH": _int(values, "MAX_REQUEST_BYTES", 64 * 1024, minimum=1024),
        # Rate-limit counters: in memory for one process, Redis when several share the load.
        "RATELIMIT_STORAGE_URI": _env(values, "RATELIMIT_STORAGE_URI", "memory://"),
        # Always set: Flask-Limiter's one `limiter` keeps the last app's switch and gives it
        # to the next app whose config lacks it (one app with it off turned every later one's
        # quotas off, tests included). Off only for benchmarks.
        "RATELIMIT_ENABLED": _bool(values, "RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down: Flask-Limiter's own limits (sign-in per address, sign-up) count in this
        # process until it answers, as the quotas of app/services/quotas.py do; never a 500.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # Accounts: sign-up attempts per address; sign-in attempts per account, from any address.
        "SIGNUP_RATE_LIMIT": signup_limit,
        "SIGNIN_RATE_LIMIT": signin_limit,
        # Proxies in front of the app whose X-Forwarded-For/-Proto are believed (0: none).
        "TRUSTED_PROXIES": _int(values, "TRUSTED_PROXIES", 0),
        # /metrics for a scraper that sends `Authorization: Bearer <token>` (empty: staff only).
        "METRICS_TOKEN": _env(values, "METRICS_TOKEN", "") or "",
        # Security
        "FORCE_HTTPS": force_https,
        "SESSION_COOKIE_SECURE": force_https,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": force_https,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_DURATION": timedelta(
            days=_int(values, "REMEMBER_COOKIE_DAYS", 30, minimum=1)
        ),
        "WTF_CSRF_TIME_LIMIT": _int(values, "CSRF_TIME_LIMIT_SECONDS", 8 * 3600, minimum=60),
        # Single sign-on: hours a reader session (`s.…`, POST /api/v1/sso/session) lasts.
        "SSO_SESSION_HOURS": _int(values, "SSO_SESSION_HOURS", 24, minimum=1),
        # /api/v1/score: texts per call, UTF-8 bytes per text, bytes per request (this endpoint
        # only: MAX_REQUEST_BYTES stays the limit of every other one).
        "API_SCORE_MAX_TEXTS": _int(values, "API_SCORE_MAX_TEXTS", 100, minimum=1),
        "API_TEXT_MAX_BYTES": _int(values, "API_TEXT_MAX_BYTES", 20480, minimum=100),
        "API_MAX_REQUEST_BYTES": _int(values, "API_MAX_REQUEST_BYTES", 1024 * 1024, minimum=1024),
        # API clients' calls and errors are counted in memory and written at most this often
        # (seconds), one upsert per client; 0 writes every call.
        # At least 0.1 s: one thread then writes at a time. Writing on every call made each
        # request open a second connection while holding its own, and 20 simultaneous calls
        # emptied the pool (30 s waits, then 500s). The tests write on every call (0).
        "API_USAGE_FLUSH_SECONDS": _float(values, "API_USAGE_FLUSH_SECONDS", 1.0, minimum=0.1),
        # Retention (services/retention.py), in days; 0 keeps forever. A guest's address on
        # their comments, counted from the comment; a rejected comment's text, from the
        # decision; a guest's address on a sanction, from its end (lifted or expired).
        "GUEST_EMAIL_RETENTION_DAYS": _int(values, "GUEST_EMAIL_RETENTION_DAYS", 365),
        "REJECTED_TEXT_RETENTION_DAYS": _int(values, "REJECTED_TEXT_RETENTION_DAYS", 90),
        "RESTRICTION_EMAIL_RETENTION_DAYS": _int(values, "RESTRICTION_EMAIL_RETENTION_DAYS", 365),
        # The scoring sweep starts a retention run when the last one is this old (hours).
        "RETENTION_INTERVAL_HOURS": _float(values, "RETENTION_INTERVAL_HOURS", 24.0, minimum=0.01),
        # Readers' data rights (services/rights.py): what erasure does with a reader's
        # published comments (« remove »: removed, a placeholder where answered; « anonymise »:
        # kept under « Anonyme »), how long a guest's mailed link is valid (hours), and how
        # many links one network address may ask for.
        "ERASED_COMMENTS": _erased_comments(values),
        "DATA_LINK_HOURS": _int(values, "DATA_LINK_HOURS", 24, minimum=1),
        "DATA_REQUEST_RATE_LIMIT": _rate_limit(
            values, "DATA_REQUEST_RATE_LIMIT", "3 per hour; 10 per day"
        ),
        # Reply notifications (services/notifications.py): how long the first reply to a
        # reader waits for others, to go in one mail (minutes; 0: at the next sweep), and how
        # many confirmation mails one guest address, or one network address, may be sent.
        "REPLY_MAIL_DELAY_MINUTES": _int(values, "REPLY_MAIL_DELAY_MINUTES", 5),
        "REPLY_CONFIRM_RATE_LIMIT": _rate_limit(
            values, "REPLY_CONFIRM_RATE_LIMIT", "3 per hour; 10 per day"
        ),
    }


ERASED_COMMENTS_CHOICES = ("remove", "anonymise")


def _erased_comments(values: Mapping[str, str | None]) -> str:
    value = (_env(values, "ERASED_COMMENTS", "remove") or "remove").lower()
    if value not in ERASED_COMMENTS_CHOICES:
        raise ConfigError(
            f"ERASED_COMMENTS must be one of {', '.join(ERASED_COMMENTS_CHOICES)}, got {value!r}"
        )
    return value


SCORING_BACKENDS = ("thread", "celery")
PERSPECTIVE_STORE_CHOICES = ("nothing", "scores", "text")
DETOXIFY_MODELS = ("original", "unbiased", "multilingual", "original-small", "unbiased-small")


def _instance_threads(values: Mapping[str, str | None], threads: str | None) -> int | None:
    """Each model instance's threads: DETOXIFY_THREADS (else the machine's cores when there
    are several instances) divided between SCORING_MODEL_INSTANCES, at least one."""
    instances = _int(values, "SCORING_MODEL_INSTANCES", 1, minimum=1)
    total = _int(values, "DETOXIFY_THREADS", 0, minimum=1) if threads else None
    if instances == 1:
        return total
    return max(1, (total or os.cpu_count() or 1) // instances)


def _scoring_config(values: Mapping[str, str | None], instance: Path) -> dict[str, Any]:
    model = (_env(values, "DETOXIFY_MODEL", "multilingual") or "multilingual").lower()
    if model not in DETOXIFY_MODELS:
        raise ConfigError(
            f"DETOXIFY_MODEL must be one of {', '.join(DETOXIFY_MODELS)}, got {model!r}"
        )
    backend = (_env(values, "SCORING_BACKEND", "thread") or "thread").lower()
    if backend not in SCORING_BACKENDS:
        raise ConfigError(
            f"SCORING_BACKEND must be one of {', '.join(SCORING_BACKENDS)}, got {backend!r}"
        )
    runtime = (_env(values, "DETOXIFY_RUNTIME", DEFAULT_RUNTIME) or DEFAULT_RUNTIME).lower()
    runtimes = available_runtimes()  # the scoring registry's: whatever registered itself
    if runtime not in runtimes:
        raise ConfigError(f"DETOXIFY_RUNTIME must be one of {', '.join(runtimes)}, got {runtime!r}")
    redis_url = _env(values, "REDIS_URL", "redis://127.0.0.1:6379/0") or ""
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"REDIS_URL must be a redis:// URL, got {redis_url!r}")
    device = _env(values, "DETOXIFY_DEVICE", "cpu") or "cpu"
    if not (device == "cpu" or device.startswith("cuda")):
        raise ConfigError(f"DETOXIFY_DEVICE must be cpu or cuda[:N], got {device!r}")
    if runtime == "onnx" and device != "cpu":
        raise ConfigError(
            f"DETOXIFY_RUNTIME=onnx runs on the CPU only; DETOXIFY_DEVICE is {device!r} "
            "(use DETOXIFY_RUNTIME=torch on a GPU)"
        )
    model_dir = Path(_env(values, "MODEL_DIR", str(instance / "models")) or instance / "models")
    checkpoint = _env(values, "DETOXIFY_CHECKPOINT")
    hf_config = _env(values, "DETOXIFY_HF_CONFIG")
    for key, path in (("DETOXIFY_CHECKPOINT", checkpoint), ("DETOXIFY_HF_CONFIG", hf_config)):
        if path and not Path(path).exists():
            raise ConfigError(f"{key} points to {path}, which does not exist")
    if hf_config and not checkpoint:
        raise ConfigError("DETOXIFY_HF_CONFIG needs DETOXIFY_CHECKPOINT")
    threads = _env(values, "DETOXIFY_THREADS")
    store = (_env(values, "PERSPECTIVE_STORE", "scores") or "scores").lower()
    if store not in PERSPECTIVE_STORE_CHOICES:
        raise ConfigError(
            f"PERSPECTIVE_STORE must be one of {', '.join(PERSPECTIVE_STORE_CHOICES)}, "
            f"got {store!r}"
        )
    onnx_dir = _env(values, "DETOXIFY_ONNX_DIR") or str(model_dir / f"{model}-onnx-int8")
    return {
        "DETOXIFY_MODEL": model,
        "DETOXIFY_CHECKPOINT": checkpoint,
        "DETOXIFY_HF_CONFIG": hf_config,
        "DETOXIFY_DEVICE": device,
        "DETOXIFY_THREADS": _instance_threads(values, threads),
        # The thread backend's model instances, each in a thread of its own with its share of
        # DETOXIFY_THREADS (bench/instances.py); with Celery, run one worker per instance.
        "SCORING_MODEL_INSTANCES": _int(values, "SCORING_MODEL_INSTANCES", 1, minimum=1),
        # Long texts are scored in windows of DETOXIFY_WINDOW_TOKENS tokens sharing
        # DETOXIFY_WINDOW_STRIDE tokens; a forward pass takes at most DETOXIFY_MAX_BATCH
        # windows and DETOXIFY_MAX_BATCH_TOKENS padded positions (app/scoring/base.py).
        "DETOXIFY_WINDOW_TOKENS": _int(values, "DETOXIFY_WINDOW_TOKENS", 512, minimum=8),
        "DETOXIFY_WINDOW_STRIDE": _int(values, "DETOXIFY_WINDOW_STRIDE", 128),
        "DETOXIFY_MAX_BATCH": _int(values, "DETOXIFY_MAX_BATCH", 32, minimum=1),
        "DETOXIFY_MAX_BATCH_TOKENS": _int(values, "DETOXIFY_MAX_BATCH_TOKENS", 512, minimum=16),
        "MODEL_DIR": str(model_dir),
        "DETOXIFY_RUNTIME": runtime,
        "DETOXIFY_ONNX_DIR": onnx_dir,
        # ONNX Runtime's threads spin-wait for the next operation after each one (and for a
        # while after a call): faster on a scoring machine of its own, but on cores shared with
        # web processes the spinning takes their time (bench/production.py).
        "DETOXIFY_ONNX_SPINNING": _bool(values, "DETOXIFY_ONNX_SPINNING", False),
        "ONNX_MAX_SCORE_DIFF": _float(values, "ONNX_MAX_SCORE_DIFF", 0.05),
        "SCORING_BACKEND": backend,
        "REDIS_URL": redis_url,
        "WORKER_METRICS_PORT": _int(values, "WORKER_METRICS_PORT", 0),
        "WORKER_METRICS_HOST": _env(values, "WORKER_METRICS_HOST", "127.0.0.1"),
        "SCORING_WAIT_SECONDS": _float(values, "SCORING_WAIT_SECONDS", 3.0),
        "SCORING_BATCH_SIZE": _int(values, "SCORING_BATCH_SIZE", 16, minimum=1),
        "SCORING_BATCH_WAIT_MS": _float(values, "SCORING_BATCH_WAIT_MS", 2.0),
        "SCORING_TIMEOUT_SECONDS": _float(values, "SCORING_TIMEOUT_SECONDS", 30.0, minimum=1),
        "SCORING_LEASE_SECONDS": _float(values, "SCORING_LEASE_SECONDS", 120.0, minimum=1),
        "SCORING_RETRY_BASE_SECONDS": _float(values, "SCORING_RETRY_BASE_SECONDS", 5.0),
        "SCORING_RETRY_MAX_SECONDS": _float(values, "SCORING_RETRY_MAX_SECONDS", 600.0),
        "SCORING_SWEEP_SECONDS": _float(values, "SCORING_SWEEP_SECONDS", 5.0, minimum=0.05),
        "SCORING_LOAD_RETRY_SECONDS": _float(values, "SCORING_LOAD_RETRY_SECONDS", 30.0),
        # How often a scoring process looks whether an admin promoted another model in
        # « Essai » (or went back to the server's): it switches between two batches.
        "MODEL_FOLLOW_SECONDS": _float(values, "MODEL_FOLLOW_SECONDS", 5.0),
        # « Essai » (shadow mode): the scoring worker (or Celery's sweep) scores the candidate
        # in the background when no live comment waits; 0: only `flask shadow run` does.
        "SHADOW_BACKGROUND": _bool(values, "SHADOW_BACKGROUND", True),
        "API_SCORING_WAIT_SECONDS": _float(values, "API_SCORING_WAIT_SECONDS", 0.7, minimum=0.01),
        "CORAL_SCORING_WAIT_SECONDS": _float(
            values, "CORAL_SCORING_WAIT_SECONDS", 5.0, minimum=0.01
        ),
        "CORAL_RETENTION_DAYS": _int(values, "CORAL_RETENTION_DAYS", 30, minimum=1),
        "NUDGE_EXPIRY_MINUTES": _float(values, "NUDGE_EXPIRY_MINUTES", 60.0),
        # Drafts scored while the reader types (services/drafts): how long a draft's scores
        # are kept for its sending (DRAFT_RATE_LIMIT: how many a reader may score).
        "DRAFT_SCORE_MINUTES": _float(values, "DRAFT_SCORE_MINUTES", 10.0, minimum=0.1),
        "PERSPECTIVE_STORE": store,
        "PERSPECTIVE_RETENTION_DAYS": _int(values, "PERSPECTIVE_RETENTION_DAYS", 30, minimum=1),
        "PUBLIC_URL": _public_url(values),
        **mail_settings(
            _env(values, "MAIL_URL", "") or "",
            sender=_env(values, "MAIL_FROM", "") or "",
            timeout=_float(values, "MAIL_TIMEOUT_SECONDS", 10.0, minimum=1),
        ),
    }


def _public_url(values: Mapping[str, str | None]) -> str:
    """The site's address as readers reach it (`https://commentaires.example.fr`), for the links
    in mails sent outside a request; empty: the address of the request that sends them."""
    url = (_env(values, "PUBLIC_URL", "") or "").rstrip("/")
    parts = urlsplit(url)
    if url and (parts.scheme not in {"http", "https"} or not parts.netloc or parts.path):
        raise ConfigError(f"PUBLIC_URL must be like https://example.org, got {url!r}")
    return url


MAIL_SCHEMES = {"smtp": False, "smtps": True}  # scheme -> implicit TLS (port 465)


def mail_settings(url: str, *, sender: str, timeout: float) -> dict[str, Any]:
    """Flask-Mailman's settings from one `MAIL_URL`: `smtp://user:password@host:587?starttls=1`
    (STARTTLS), `smtps://user:password@host` (TLS from the start, port 465), or
    `smtp://127.0.0.1:25` (a local relay). Empty: no mail is sent (MAIL_ENABLED false), and
    the features that need one say so instead of failing."""
    if not url:
        return {"MAIL_ENABLED": False, "MAIL_BACKEND": "dummy", "MAIL_DEFAULT_SENDER": sender}
    parts = urlsplit(url)
    if parts.scheme not in MAIL_SCHEMES or not parts.hostname:
        raise ConfigError("MAIL_URL must be like smtp://user:password@host:587?starttls=1")
    query = parse_qs(parts.query)
    starttls = (query.get("starttls") or ["0"])[0].lower() in {"1", "true", "yes", "on"}
    implicit_tls = MAIL_SCHEMES[parts.scheme]
    try:
        port = parts.port or (465 if implicit_tls else 587 if starttls else 25)
    except ValueError as error:
        raise ConfigError(f"MAIL_URL has a bad port: {error}") from None
    return {
        "MAIL_ENABLED": True,
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": parts.hostname,
        "MAIL_PORT": port,
        "MAIL_USERNAME": unquote(parts.username) if parts.username else None,
        "MAIL_PASSWORD": unquote(parts.password) if parts.password else None,
        "MAIL_USE_TLS": starttls and not implicit_tls,
        "MAIL_USE_SSL": implicit_tls,
        "MAIL_TIMEOUT": timeout,
        "MAIL_DEFAULT_SENDER": sender or "Modération <ne-pas-repondre@localhost>",
    }


def _engine_options(values: Mapping[str, str | None]) -> dict[str, Any]:
    """SQLAlchemy's pool: every connection to a database server is checked before use
    (`pool_pre_ping`), so that a database restart costs one reconnect instead of an error;
    PostgreSQL pools are sized per process (web: gunicorn workers x threads; a Celery worker
    needs two)."""
    # hide_parameters: SQLAlchemy's errors and logs never show a statement's values
    # (comments, names, addresses, tokens).
    url = _env(values, "DATABASE_URL", "") or ""
    # A SQLite file (the default without DATABASE_URL) is never restarted under the app: no
    # ping, which costs a statement per transaction.
    network = bool(url) and not url.startswith("sqlite")
    options: dict[str, Any] = {"pool_pre_ping": network, "hide_parameters": True}
    if url.startswith(("postgres", "postgresql")):
        options.update(
            pool_size=_int(values, "DATABASE_POOL_SIZE", 5, minimum=1),
            max_overflow=_int(values, "DATABASE_MAX_OVERFLOW", 5),
            pool_timeout=_float(values, "DATABASE_POOL_TIMEOUT", 10.0, minimum=1),
            pool_recycle=_int(values, "DATABASE_POOL_RECYCLE", 1800, minimum=60),
        )
    return options


def _rate_limit(values: dict[str, str | None], name: str, default: str) -> str:
    value = _env(values, name, default) or default
    _check_rate_limit(value, name)
    return value


def _check_rate_limit(value: str, name: str = "COMMENT_RATE_LIMIT") -> None:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(
            f"{name} must use Flask-Limiter's notation (e.g. '5 per minute'), got {value!r}"
        ) from None


def _check_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigError(
            f"SITE_TIMEZONE must be an IANA time zone (e.g. 'Europe/Paris'), got {value!r}"
        ) from None


def testing_config(database_url: str, instance_path: str) -> dict[str, Any]:
    """Settings for the test suite: a given database, CSRF on (tests fetch real tokens)."""
    config = load_config(
        instance_path,
        environ={"DATABASE_URL": database_url, "SECRET_KEY": "test-secret"},
    )
    # API usage written at every call: no count of one test's app is left to a timer that
    # would write it into the next test's tables.
    config.update(TESTING=True, RATELIMIT_STORAGE_URI="memory://", API_USAGE_FLUSH_SECONDS=0)
    return config
