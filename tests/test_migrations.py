"""Migrations build the schema on an empty database, and it matches the models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db
from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parents[1]


def _flask(args, database_url, tmp_path):
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "x"}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _empty_database(tmp_path):
    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp_path / 'migrated.db'}", None
    from app.config import normalise_database_url

    url = normalise_database_url(TEST_DATABASE_URL)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA IF EXISTS migration_check CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA migration_check"))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3Dmigration_check", "migration_check"


def test_upgrade_on_empty_database_matches_models_and_seed_is_idempotent(tmp_path):
    url, _schema = _empty_database(tmp_path)
    upgraded = _flask(["db", "upgrade"], url, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    engine.dispose()
    assert diff == [], diff
    first = _flask(["seed"], url, tmp_path)
    second = _flask(["seed"], url, tmp_path)
    assert "1 created" in first.stdout, first.stderr
    assert "0 created, 1 already present" in second.stdout, second.stderr
