"""End-to-end fixtures: the test app behind a real HTTP server on loopback, and Debian's
Chromium driven by Playwright (never Playwright's own browser download).

Without /usr/bin/chromium the browser tests are skipped locally and fail on CI (CI=true).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests may run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
HOST = "127.0.0.1"  # loopback only
WAIT_MS = 10_000  # Playwright's auto-waiting (actions and `expect`), at most this long


def _on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install -y chromium); "
            "Playwright's own browser download is not used"
        )
        if _on_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return str(CHROMIUM)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """One headless Chromium per test module (each test opens its own contexts)."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
            expect.set_options(timeout=None)  # back to Playwright's default


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The test's app served over real HTTP on a free loopback port; yields its base URL."""
    server = make_server(HOST, 0, app, threaded=True)  # port 0: the system picks a free one
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
