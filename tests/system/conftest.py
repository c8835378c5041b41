"""System tests: the production processes for real (see stack.py), one stack per test.

They run in the normal suite (and so in CI), on SQLite or, with TEST_DATABASE_URL, on a
PostgreSQL schema of their own. Each test is bounded: a stuck stack fails it, never hangs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.stack import Stack
from tests.conftest import TEST_DATABASE_URL, drop_postgres_schema, postgres_schema_url

pytestmark = pytest.mark.system


def _database(folder: Path, worker_id: str) -> str:
    if not TEST_DATABASE_URL:
        return f"sqlite:///{folder / 'site.db'}"
    # The stack's own connections carry a name: a test cuts them, and only them.
    return f"{postgres_schema_url(f'system_{worker_id}')}&application_name=moderation-{worker_id}"


@pytest.fixture
def stack_settings() -> dict[str, str]:
    return {}


@pytest.fixture
def stack(
    tmp_path: Path, worker_id: str, tiny_model: Any, stack_settings: dict[str, str]
) -> Iterator[Stack]:
    database = _database(tmp_path, worker_id)
    running = Stack(tmp_path, database, tiny_model, stack_settings)
    try:
        yield running
    finally:
        running.close()
        if TEST_DATABASE_URL:
            drop_postgres_schema(database)
