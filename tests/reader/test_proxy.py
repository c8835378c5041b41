"""TRUSTED_PROXIES: behind nginx every request comes from the proxy's address; the reader's
is the one the proxy appended to X-Forwarded-For. With 0 that header is ignored."""

from __future__ import annotations

import pytest

from tests.conftest import Reader, comments_in_db

NGINX = "127.0.0.1"  # what the app sees as the peer behind a local proxy


def _reader(app, forwarded_for: str) -> Reader:
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR=forwarded_for)
    return Reader(client)


def _post_until_limited(reader: Reader, label: str) -> int:
    """Comments accepted (each from a new guest address) before the address limit refuses."""
    for i in range(5):
        if reader.post(body=f"{label} {i}", email=f"{label}{i}@example.fr").status_code == 429:
            return i
    return 5


@pytest.mark.parametrize(
    "config_overrides", [{"TRUSTED_PROXIES": 1, "COMMENT_RATE_LIMIT": "3 per minute"}]
)
def test_behind_a_trusted_proxy_readers_are_limited_separately(app):
    first, second = _reader(app, "198.51.100.1"), _reader(app, "198.51.100.2")
    assert _post_until_limited(first, "a") == 3
    assert _post_until_limited(second, "b") == 3  # not blocked by the first reader's comments
    assert len(comments_in_db()) == 6


@pytest.mark.parametrize(
    "config_overrides", [{"TRUSTED_PROXIES": 0, "COMMENT_RATE_LIMIT": "3 per minute"}]
)
def test_without_a_trusted_proxy_a_forged_header_changes_nothing(app):
    first, forger = _reader(app, "198.51.100.1"), _reader(app, "198.51.100.2")
    assert _post_until_limited(first, "a") == 3
    assert _post_until_limited(forger, "b") == 0  # same peer address: same limit
    assert len(comments_in_db()) == 3


@pytest.mark.parametrize(
    ("config_overrides", "redirected"),
    [
        ({"TRUSTED_PROXIES": 0, "FORCE_HTTPS": True}, True),
        ({"TRUSTED_PROXIES": 1, "FORCE_HTTPS": True}, False),
    ],
)
def test_a_forged_forwarded_scheme_does_not_skip_the_https_redirect(app, redirected):
    """Only a trusted proxy says the reader came over HTTPS."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=NGINX)
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    if redirected:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("https://")
    else:
        assert response.headers.get("Location", "").startswith("https://") is False
