"""Ten simultaneous sign-ups with one address, against a real threaded server: one account,
nine clear refusals on the address field, no error page."""

from __future__ import annotations

import http.cookiejar
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app.extensions import db
from app.models import User
from tests.conftest import CSRF_RE

TAKEN = "Un compte existe déjà avec cette adresse de messagerie."
READERS = 10


@pytest.fixture
def config_overrides():
    return {"SIGNUP_RATE_LIMIT": "1000 per hour"}


@pytest.fixture
def signup_server(app) -> Iterator[str]:
    """The test's app served by Werkzeug on a free loopback port, one thread per request."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def test_simultaneous_sign_ups_with_one_address_make_one_account(app, signup_server):
    ready = threading.Barrier(READERS)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def sign_up(n: int) -> None:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
        with opener.open(f"{signup_server}/compte/inscription", timeout=30) as page:
            token = CSRF_RE.search(page.read().decode()).group(1)  # type: ignore[union-attr]
        form = urllib.parse.urlencode(
            {
                "csrf_token": token,
                "display_name": f"Jeanne {n}",
                "email": "jeanne@example.fr",
                "password": "un-mot-de-passe-long",
                "confirm": "un-mot-de-passe-long",
            }
        ).encode()
        ready.wait(timeout=30)  # all ten send at once
        try:
            with opener.open(f"{signup_server}/compte/inscription", data=form, timeout=60) as r:
                answer = (r.status, r.read().decode())
        except urllib.error.HTTPError as error:
            answer = (error.code, error.read().decode(errors="replace"))
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [303] + [422] * (READERS - 1)
    assert all(TAKEN in body for status, body in answers if status == 422)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
