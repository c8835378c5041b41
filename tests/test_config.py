"""Settings: read from the environment, checked, with safe development defaults."""

from __future__ import annotations

import pytest

from app.config import ConfigError, load_config


def test_development_key_is_generated_once_into_the_instance_folder(tmp_path):
    first = load_config(str(tmp_path), environ={})
    second = load_config(str(tmp_path), environ={})
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert len(first["SECRET_KEY"]) >= 32
    assert (tmp_path / "secret_key").read_text().strip() == first["SECRET_KEY"]


def test_production_refuses_to_start_without_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(str(tmp_path), environ={"APP_ENV": "production"})


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("court", "at least 32 bytes"),
        ("x" * 64, "repetitive"),
        ("abcd" * 16, "repetitive"),
        ("changeme-changeme-changeme-changeme", "repetitive"),
    ],
)
def test_production_refuses_a_weak_secret_key(tmp_path, key, message):
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(str(tmp_path), environ={"APP_ENV": "production", "SECRET_KEY": key})
    assert "SECRET_KEY" in str(raised.value) and "secrets.token_hex(32)" in str(raised.value)
    assert key not in str(raised.value)  # the key itself is never printed


def test_production_accepts_a_generated_secret_key(tmp_path):
    import secrets

    key = secrets.token_hex(32)
    config = load_config(str(tmp_path), environ={"APP_ENV": "production", "SECRET_KEY": key})
    assert config["SECRET_KEY"] == key
    short = load_config(str(tmp_path), environ={"SECRET_KEY": "dev"})  # development: any key
    assert short["SECRET_KEY"] == "dev"


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path):
    config = load_config(str(tmp_path), environ={})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'moderation.db'}"


def test_postgres_urls_use_psycopg3(tmp_path):
    config = load_config(str(tmp_path), environ={"DATABASE_URL": "postgresql://u@h/db"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("COMMENT_RATE_LIMIT", "beaucoup"),
        ("COMMENT_MAX_LENGTH", "deux mille"),
        ("COMMENT_MAX_LENGTH", "0"),
        ("FORCE_HTTPS", "peut-être"),
        ("APP_ENV", "staging"),
        ("SCORING_BACKEND", "rq"),
        ("DETOXIFY_RUNTIME", "tensorrt"),
        ("DETOXIFY_ONNX_SPINNING", "parfois"),
        ("API_USAGE_FLUSH_SECONDS", "0"),
        ("REDIS_URL", "127.0.0.1:6379"),
        ("WORKER_METRICS_PORT", "neuf mille"),
        ("SITE_TIMEZONE", "Paris"),
        ("SITE_TIMEZONE", "../../etc/passwd"),
    ],
)
def test_malformed_settings_are_named(tmp_path, key, value):
    with pytest.raises(ConfigError, match=key):
        load_config(str(tmp_path), environ={key: value})


def test_every_setting_read_is_documented_in_env_example():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    source = (root / "app" / "config.py").read_text()
    read = set(re.findall(r'_(?:env|int|float|bool)\(values, "([A-Z_]+)"', source))
    documented = set(re.findall(r"^#? ?([A-Z_]+)=", (root / ".env.example").read_text(), re.M))
    assert read, "no setting found: the pattern no longer matches config.py"
    assert read <= documented, read - documented


def test_postgres_pools_are_sized_and_checked_before_use(tmp_path):
    environ = {"DATABASE_URL": "postgresql://u@h/db", "DATABASE_POOL_SIZE": "3"}
    options = load_config(str(tmp_path), environ=environ)["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options == {
        "pool_pre_ping": True,  # a restarted database costs one reconnect, not an error
        "hide_parameters": True,  # no comment, name or address in errors and logs
        "pool_size": 3,
        "max_overflow": 5,
        "pool_timeout": 10.0,
        "pool_recycle": 1800,
    }
    sqlite = load_config(str(tmp_path), environ={})["SQLALCHEMY_ENGINE_OPTIONS"]
    assert sqlite == {"pool_pre_ping": False, "hide_parameters": True}  # a file: no ping
    named = {"DATABASE_URL": f"sqlite:///{tmp_path / 'site.db'}"}
    assert load_config(str(tmp_path), environ=named)["SQLALCHEMY_ENGINE_OPTIONS"] == sqlite


def test_the_onnx_runtime_refuses_a_gpu_at_start_up(tmp_path):
    environ = {"DETOXIFY_RUNTIME": "onnx", "DETOXIFY_DEVICE": "cuda"}
    with pytest.raises(ConfigError, match="DETOXIFY_RUNTIME=onnx runs on the CPU only"):
        load_config(str(tmp_path), environ=environ)


def test_model_instances_share_the_threads(tmp_path):
    import os

    one = load_config(str(tmp_path), environ={"DETOXIFY_THREADS": "8"})
    assert (one["SCORING_MODEL_INSTANCES"], one["DETOXIFY_THREADS"]) == (1, 8)
    two = load_config(str(tmp_path), environ={"DETOXIFY_THREADS": "8",
                                              "SCORING_MODEL_INSTANCES": "2"})  # fmt: skip
    assert (two["SCORING_MODEL_INSTANCES"], two["DETOXIFY_THREADS"]) == (2, 4)
    many = load_config(str(tmp_path), environ={"DETOXIFY_THREADS": "2",
                                               "SCORING_MODEL_INSTANCES": "3"})  # fmt: skip
    assert many["DETOXIFY_THREADS"] == 1  # at least one each
    cores = load_config(str(tmp_path), environ={"SCORING_MODEL_INSTANCES": "2"})
    assert cores["DETOXIFY_THREADS"] == max(1, (os.cpu_count() or 1) // 2)
    with pytest.raises(ConfigError, match="SCORING_MODEL_INSTANCES"):
        load_config(str(tmp_path), environ={"SCORING_MODEL_INSTANCES": "0"})
