"""Single sign-on (issue 13): `POST /api/v1/sso/session` exchanges a token a site's CMS signed
(Coral's SSO token: HS256 with the site's secret, claims `jti`, `iat`, `exp`, `user.id`,
`user.email`, `user.username`) for a reader session `s.…`.

The site and its secret come from `flask sites create`, as a newsroom gets them; the tokens are
signed by PyJWT, as a Python CMS signs them (the refused algorithms are written by hand: PyJWT
will not sign `none`, and RS256 needs a key pair)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from app.extensions import db
from app.models import Comment, SsoIdentity, SsoTokenUse, User, utcnow
from app.services import accounts, sso
from tests.conftest import login, make_user, simultaneously

URL = "/api/v1/sso/session"
CORAL_FIXTURES = Path(__file__).parents[1] / "fixtures" / "coral"
ORIGIN = "https://www.journal.fr"


def create_site(app: Any, name: str = "journal", origin: str = ORIGIN) -> str:
    """`flask sites create NAME --origin ORIGIN`: the SSO secret it prints, on its last line."""
    result = app.test_cli_runner().invoke(args=["sites", "create", name, "--origin", origin])
    assert result.exit_code == 0, result.output
    return str(result.output.strip().splitlines()[-1])


@pytest.fixture
def secret(app: Any) -> str:
    return create_site(app)


def claims(
    user_id: Any = "628bdc61-6616-4add-bfec-dd79156715d4",
    username: Any = "Bob Martin",
    email: Any = "bob@example.com",
    *,
    issued: float | None = None,
    lifetime: float = 300,
    **extra: Any,
) -> dict[str, Any]:
    """Claims shaped as Coral's documentation shows them."""
    iat = int(time.time() if issued is None else issued)
    return {
        "jti": str(uuid.uuid4()),
        "iat": iat,
        "exp": iat + int(lifetime),
        "user": {"id": user_id, "email": email, "username": username},
        **extra,
    }


def sign(payload: dict[str, Any], secret: str) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(payload: dict[str, Any], alg: str, secret: str | None) -> str:
    """A JWT written by hand: `alg` in its header, an HMAC with `secret` (SHA-256 for every
    alg but HS512) or no signature at all."""
    signing_input = ".".join(
        b64(json.dumps(part).encode()) for part in ({"alg": alg, "typ": "JWT"}, payload)
    )
    if secret is None:
        return signing_input + "."
    digest = hashlib.sha512 if alg == "HS512" else hashlib.sha256
    mac = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(mac)}"


def exchange(client: Any, token: Any, origin: str | None = ORIGIN, **kwargs: Any) -> Any:
    headers = {"Origin": origin} if origin else {}
    return client.post(URL, json={"token": token}, headers=headers, **kwargs)


def assert_error(response: Any, status: int, code: str, field: str | None = "token") -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert body["error"]["field"] == field
    assert body["error"]["message"]
    return str(body["error"]["message"])


def sso_users() -> list[User]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(User).join(SsoIdentity, SsoIdentity.user_id == User.id).order_by(User.id)
        )
    )


def identity(user: User) -> SsoIdentity:
    found = db.session.scalar(sa.select(SsoIdentity).where(SsoIdentity.user_id == user.id))
    assert found is not None
    return found


# --- A good token ------------------------------------------------------------------------------


def test_a_good_token_makes_one_reader_and_a_session(client, secret):
    response = exchange(client, sign(claims(), secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"reader_token", "reader", "expires_at"}
    assert body["reader"] == {"name": "Bob Martin"}
    assert body["reader_token"].startswith("s.")
    assert body["expires_at"].endswith("+00:00")
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.headers["Vary"]
    assert "no-store" in response.headers["Cache-Control"]
    assert "bob@example.com" not in response.get_data(as_text=True)  # no address in answers

    [user] = sso_users()
    assert user.role == "reader" and user.active and user.display_name == "Bob Martin"
    assert user.email.endswith("@sso.invalid")  # the CMS's address is the identity's
    found = identity(user)
    assert found.external_id == "628bdc61-6616-4add-bfec-dd79156715d4"
    assert found.email == "bob@example.com"
    assert sso.reader_from_session_token(body["reader_token"]).id == user.id


def test_a_second_token_for_the_same_user_is_the_same_reader_renamed(client, secret):
    first = exchange(client, sign(claims(issued=time.time() - 60), secret))
    assert first.status_code == 200
    renamed = claims(username="  Robert   Martin ", email="Robert@Example.com")
    second = exchange(client, sign(renamed, secret))
    assert second.status_code == 200
    assert second.get_json()["reader"] == {"name": "Robert Martin"}
    [user] = sso_users()
    assert user.display_name == "Robert Martin"
    assert identity(user).email == "robert@example.com"
    # Both sessions name the one account.
    for answer in (first, second):
        assert sso.reader_from_session_token(answer.get_json()["reader_token"]).id == user.id


def test_an_older_token_does_not_undo_a_newer_name(client, secret):
    assert exchange(client, sign(claims(username="Nouveau nom"), secret)).status_code == 200
    older = claims(username="Ancien nom", issued=time.time() - 120)
    assert exchange(client, sign(older, secret)).status_code == 200
    [user] = sso_users()
    assert user.display_name == "Nouveau nom"


def test_a_numeric_user_id_is_taken_as_the_cms_numbers_it(client, secret):
    assert exchange(client, sign(claims(user_id=42), secret)).status_code == 200
    assert exchange(client, sign(claims(user_id="42"), secret)).status_code == 200
    [user] = sso_users()
    assert identity(user).external_id == "42"


def test_the_same_user_id_on_another_site_is_another_reader(app, client, secret):
    other_secret = create_site(app, "magazine", "https://mag.journal.fr")
    same = {"user_id": "7", "username": "Camille"}
    assert exchange(client, sign(claims(**same), secret)).status_code == 200
    response = exchange(client, sign(claims(**same), other_secret), origin="https://mag.journal.fr")
    assert response.status_code == 200
    users = sso_users()
    assert len(users) == 2 and users[0].id != users[1].id
    assert identity(users[0]).site_id != identity(users[1]).site_id
    assert {identity(user).external_id for user in users} == {"7"}
    # One site's secret does not sign for the other.
    crossed = exchange(client, sign(claims(**same), secret), origin="https://mag.journal.fr")
    assert_error(crossed, 401, "invalid_token")


def test_an_address_that_an_account_has_is_still_another_reader(client, secret):
    existing = make_user(email="bob@example.com", display_name="Bob d’ici")
    response = exchange(client, sign(claims(email="BOB@example.com"), secret))
    assert response.status_code == 200
    [user] = sso_users()
    assert user.id != existing.id
    db.session.expire_all()
    mine = db.session.get(User, existing.id)
    assert mine.display_name == "Bob d’ici" and mine.email == "bob@example.com"
    assert sso.reader_from_session_token(response.get_json()["reader_token"]).id == user.id


def test_an_sso_reader_has_no_password_to_sign_in_with(client, secret):
    assert exchange(client, sign(claims(), secret)).status_code == 200
    [user] = sso_users()
    for password in ("sso", "", "motdepasse-solide"):
        login(client, user.email, password)
        page = client.get("/compte/connexion").get_data(as_text=True)
        assert "Bob Martin" not in page
    assert accounts.authenticate(user.email, "sso") is None


def test_coral_documented_claims_are_taken_as_they_are(client, secret):
    """Coral's documentation's example claims (tests/fixtures/coral/), signed HS256 as it says:
    accepted once their dates are today's; as printed (expired in 2019, valid 115 days),
    refused."""
    example = json.loads((CORAL_FIXTURES / "sso_token_claims_docs_example.json").read_text())
    as_printed = exchange(client, sign(example, secret))
    assert_error(as_printed, 401, "expired_token")
    now = int(time.time())
    response = exchange(client, sign({**example, "iat": now, "exp": now + 600}, secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["reader"] == {"name": "bob"}
    [user] = sso_users()
    assert identity(user).external_id == example["user"]["id"]


# --- Refused tokens ------------------------------------------------------------------------------


def test_an_expired_token_is_refused(client, secret):
    old = claims(issued=time.time() - 3600, lifetime=600)
    assert_error(exchange(client, sign(old, secret)), 401, "expired_token")
    assert sso_users() == []


def test_a_token_issued_in_the_future_is_refused(client, secret):
    future = claims(issued=time.time() + 600)
    message = assert_error(exchange(client, sign(future, secret)), 401, "invalid_token")
    assert "futur" in message
    # A little clock skew is fine.
    assert exchange(client, sign(claims(issued=time.time() + 20), secret)).status_code == 200


def test_a_token_valid_more_than_a_day_is_refused(client, secret):
    long_lived = claims(lifetime=2 * 24 * 3600)
    message = assert_error(exchange(client, sign(long_lived, secret)), 401, "invalid_token")
    assert "24 heures" in message


def test_a_bad_signature_is_refused(client, secret):
    forged = sign(claims(), "un-autre-secret-de-trente-deux-octets-au-moins")
    message = assert_error(exchange(client, forged), 401, "invalid_token")
    assert "signature" in message
    # A valid token with one letter of its signature changed.
    token = sign(claims(), secret)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert_error(exchange(client, flipped), 401, "invalid_token")
    assert sso_users() == []


@pytest.mark.parametrize(
    "alg, signed",
    [
        ("none", False),  # no signature at all
        ("HS512", True),  # another HMAC, with the right secret
        ("RS256", True),  # a public-key algorithm « verified » with the secret as its key
        ("HS384", True),
    ],
)
def test_every_algorithm_but_hs256_is_refused(client, secret, alg, signed):
    token = handmade(claims(), alg, secret if signed else None)
    message = assert_error(exchange(client, token), 401, "invalid_token")
    assert "HS256" in message
    assert sso_users() == []
    # The same claims, the same secret, HS256: accepted (the test can fail).
    assert exchange(client, handmade(claims(), "HS256", secret)).status_code == 200


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda c: c.pop("jti"), "jti"),
        (lambda c: c.pop("exp"), "exp"),
        (lambda c: c.pop("iat"), "iat"),
        (lambda c: c.pop("user"), "user"),
        (lambda c: c["user"].pop("id"), "user.id"),
        (lambda c: c["user"].update(id=""), "user.id"),
        (lambda c: c["user"].update(id=True), "user.id"),
        (lambda c: c["user"].pop("username"), "user.username"),
        (lambda c: c["user"].update(username="   "), "user.username"),
        (lambda c: c["user"].pop("email"), "user.email"),
        (lambda c: c.update(jti=12), "jti"),
    ],
)
def test_a_missing_or_malformed_claim_is_refused_by_name(client, secret, change, words):
    payload = claims()
    change(payload)
    message = assert_error(exchange(client, sign(payload, secret)), 401, "invalid_token")
    assert words in message


@pytest.mark.parametrize(
    "username, code",
    [
        ("x" * 81, "too_long"),
        ("Bob\u202eniloc", "invalid_name"),  # a bidi override: reads as another name
        ("Bo\u0301\u0301\u0301\u0301b", "invalid_name"),  # a pile of accents
        ("Bob\x00", "invalid_name"),  # a control character (PostgreSQL refuses NUL)
    ],
)
def test_a_name_our_readers_could_not_take_is_refused(client, secret, username, code):
    response = exchange(client, sign(claims(username=username), secret))
    message = assert_error(response, 422, code)
    assert "user.username" in message
    assert sso_users() == []


def test_a_bad_address_is_refused(client, secret):
    for email in ("pas-une-adresse", "a b@example.com", "x@" + "e" * 260 + ".fr"):
        response = exchange(client, sign(claims(email=email), secret))
        assert_error(response, 422, "invalid_email")


def test_a_token_is_taken_once(client, secret):
    token = sign(claims(), secret)
    assert exchange(client, token).status_code == 200
    message = assert_error(exchange(client, token), 401, "replayed_token")
    assert "déjà servi" in message
    assert len(sso_users()) == 1


def test_two_uses_of_one_token_at_the_same_moment_give_one_session(app, secret, live_server):
    token = sign(claims(), secret)

    def post() -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            live_server + URL,
            data=json.dumps({"token": token}).encode(),
            headers={"Content-Type": "application/json", "Origin": ORIGIN},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read())

    results = simultaneously([post] * 4)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 401, 401, 401], results
    assert all(
        body["error"]["code"] == "replayed_token" for status, body in results if status != 200
    )
    assert len(sso_users()) == 1


def test_first_tokens_of_one_reader_at_the_same_moment_make_one_account(app, secret, live_server):
    tokens = [sign(claims(user_id="99"), secret) for _ in range(3)]

    def post(token: str) -> Any:
        request = urllib.request.Request(
            live_server + URL,
            data=json.dumps({"token": token}).encode(),
            headers={"Content-Type": "application/json", "Origin": ORIGIN},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status

    assert simultaneously([lambda t=t: post(t) for t in tokens]) == [200, 200, 200]
    assert len(sso_users()) == 1


def test_used_tokens_are_forgotten_once_expired(client, secret):
    assert exchange(client, sign(claims(), secret)).status_code == 200
    db.session.expire_all()
    [kept] = db.session.scalars(sa.select(SsoTokenUse))
    site_id = kept.site_id
    db.session.add(
        SsoTokenUse(site_id=site_id, jti_hash="0" * 64, expires_at=utcnow() - timedelta(hours=2))
    )
    db.session.commit()
    assert exchange(client, sign(claims(), secret)).status_code == 200
    db.session.expire_all()
    hashes = set(db.session.scalars(sa.select(SsoTokenUse.jti_hash)))
    assert len(hashes) == 2 and "0" * 64 not in hashes


# --- Sites and origins ---------------------------------------------------------------------------


def test_a_site_without_sso_secret_refuses(client):
    # No Origin, no ?site=: the default site, which has no SSO secret.
    response = exchange(client, "a.b.c", origin=None)
    assert_error(response, 403, "sso_not_configured", None)


def test_the_site_of_a_call_without_origin_is_named_in_the_query(client, secret):
    token = sign(claims(), secret)
    response = client.post(f"{URL}?site=journal", json={"token": token})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    unknown = client.post(f"{URL}?site=inconnu", json={"token": token})
    assert_error(unknown, 422, "invalid_field", "site")


def test_an_origin_no_site_allows_is_refused_and_nothing_is_made(client, secret):
    response = exchange(client, sign(claims(), secret), origin="https://pirate.example")
    assert_error(response, 403, "origin_not_allowed", "origin")
    assert response.headers["Access-Control-Allow-Origin"] == "https://pirate.example"  # readable
    assert sso_users() == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SsoTokenUse)) == 0


def test_refusals_are_readable_by_the_allowed_origin(client, secret):
    response = exchange(client, "pas un jeton")
    assert_error(response, 401, "invalid_token")
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_preflight_answers_allowed_origins_only(client, secret):
    allowed = client.options(
        URL,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in allowed.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    refused = client.options(
        URL,
        headers={"Origin": "https://pirate.example", "Access-Control-Request-Method": "POST"},
    )
    assert_error(refused, 403, "origin_not_allowed", "origin")


def test_bad_requests_get_the_one_error_shape(client, secret):
    not_json = client.post(URL, data="{", content_type="application/json")
    assert_error(not_json, 400, "invalid_json", None)
    missing = client.post(URL, json={}, headers={"Origin": ORIGIN})
    assert_error(missing, 422, "invalid_field", "token")
    extra = client.post(URL, json={"token": "x", "user": 1}, headers={"Origin": ORIGIN})
    assert_error(extra, 422, "invalid_field", "user")
    empty = client.post(URL, json={"token": "  "}, headers={"Origin": ORIGIN})
    assert "vide" in assert_error(empty, 422, "invalid_field", "token")
    huge = client.post(URL, json={"token": "x" * 9000}, headers={"Origin": ORIGIN})
    assert_error(huge, 422, "invalid_field", "token")


def test_the_endpoint_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/api/v1/sso/session"]["post"]
    assert {"200", "401", "403", "422"} <= set(operation["responses"])
    assert "options" not in document["paths"]["/api/v1/sso/session"]


# --- Reader sessions ------------------------------------------------------------------------------


def session_of(client: Any, secret: str, **claim: Any) -> str:
    response = exchange(client, sign(claims(**claim), secret))
    assert response.status_code == 200
    return str(response.get_json()["reader_token"])


def test_a_deactivated_readers_sessions_end_and_no_new_one_opens(client, secret):
    token = session_of(client, secret)
    [user] = sso_users()
    assert sso.reader_from_session_token(token).id == user.id
    accounts.deactivate(user.email)
    assert sso.reader_from_session_token(token) is None
    again = exchange(client, sign(claims(), secret))
    assert_error(again, 403, "account_disabled", None)


def test_ending_an_accounts_sessions_ends_its_sso_sessions(client, secret):
    token = session_of(client, secret)
    [user] = sso_users()
    accounts.sign_out(user)
    assert sso.reader_from_session_token(token) is None
    assert sso.reader_from_session_token(session_of(client, secret)).id == user.id


def test_a_tampered_or_foreign_session_token_is_refused(app, client, secret):
    token = session_of(client, secret)
    [user] = sso_users()
    payload, signature = token[2:].rsplit(".", 1)
    other = make_user(email="autre@example.fr")
    # The payload of another account under the first one's signature.
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=sso.SESSION_SALT)
    foreign_payload = serializer.dumps({"u": other.id, "v": 0}).rsplit(".", 2)[0]
    for tampered in (
        # The signature's first character changed (its last one may differ only in base64's
        # padding bits, which decode to the same bytes: a valid token, once in CI).
        f"{token[: -len(signature)]}{'A' if signature[0] != 'A' else 'B'}{signature[1:]}",
        f"s.{foreign_payload}.{token.rsplit('.', 2)[1]}.{signature}",
        token[2:],  # without its prefix
        "s."
        + URLSafeTimedSerializer("une-autre-cle", salt=sso.SESSION_SALT).dumps(
            {"u": user.id, "v": 0}
        ),
        "s."
        + URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="autre").dumps(
            {"u": user.id, "v": 0}
        ),
        "s.",
        "",
        "un-jeton-d-invite",
    ):
        assert sso.reader_from_session_token(tampered) is None, tampered
    assert sso.reader_from_session_token(token).id == user.id


def test_a_session_token_lasts_sso_session_hours(app, client, secret):
    session_of(client, secret)
    [user] = sso_users()

    def signed_ago(hours: float) -> str:
        class Then(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time() - hours * 3600)

        serializer = URLSafeTimedSerializer(
            app.config["SECRET_KEY"], salt=sso.SESSION_SALT, signer=Then
        )
        return "s." + serializer.dumps({"u": user.id, "v": user.session_version})

    assert app.config["SSO_SESSION_HOURS"] == 24
    assert sso.reader_from_session_token(signed_ago(23)).id == user.id
    assert sso.reader_from_session_token(signed_ago(25)) is None


def test_an_sso_reader_posts_under_their_name_and_sees_their_own_comment(client, secret):
    """The whole path a newsroom's signed-in reader takes: the CMS's token exchanged, then the
    session token sent as `X-Reader-Token` to post and to read."""
    session = exchange(client, sign(claims(username="Bob Martin"), secret))
    assert session.status_code == 200
    reader_token = session.get_json()["reader_token"]
    headers = {"Origin": ORIGIN, "X-Reader-Token": reader_token}
    stream = client.get(
        "/api/v1/stream",
        query_string={"url": f"{ORIGIN}/article-42", "title": "Le budget"},
        headers=headers,
    )
    assert stream.status_code == 200, stream.get_data(as_text=True)
    assert stream.get_json()["viewer"] == {"name": "Bob Martin", "signed_in": True, "warnings": []}
    assert stream.headers["Cache-Control"] == "private, no-cache"
    story_id = stream.get_json()["story"]["id"]
    posted = client.post(
        f"/api/v1/stories/{story_id}/comments",
        json={"body": "Un avis argumenté sur le budget."},
        headers=headers,
    )
    assert posted.status_code == 201, posted.get_data(as_text=True)
    answer = posted.get_json()
    assert answer["comment"]["author"] == {"name": "Bob Martin"}
    assert answer["comment"]["own"] is True
    assert answer["reader_token"] is None  # an SSO reader keeps their session token
    [user] = sso_users()
    comment = db.session.get(Comment, answer["comment"]["id"])
    assert comment is not None and comment.user_id == user.id and comment.guest_token is None
    forged = client.post(
        f"/api/v1/stories/{story_id}/comments",
        json={"body": "Un autre avis."},
        headers={"Origin": ORIGIN, "X-Reader-Token": reader_token + "x"},
    )
    assert forged.status_code == 401
    assert forged.get_json()["error"]["code"] == "invalid_reader_token"
