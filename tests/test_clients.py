"""API clients and their keys, driven through the CLI as an operator would, against the real
database; the key is then checked by the service the API endpoints call."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import ApiClient, Role, SettingChange, as_utc, utcnow
from app.services import clients, quotas
from tests.conftest import CSRF_RE, login, make_config, make_user

KEY_RE = re.compile(r"mod_[A-Za-z0-9_-]{43}")


def _cli(app, *args):
    return app.test_cli_runner().invoke(args=["clients", *args])


def _create(app, name="coral-lemonde", *options):
    result = _cli(app, "create", name, *options)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[-1]


def _row(name):
    db.session.expire_all()
    return db.session.scalar(select(ApiClient).where(ApiClient.name == name))


def test_create_prints_the_key_once_alone_on_its_line_and_stores_only_its_hash(app):
    result = _cli(app, "create", "coral-lemonde", "--coral-secret", "coral-signing-secret")
    assert result.exit_code == 0, result.output
    sentence, key = result.output.splitlines()
    assert "will not be shown again" in sentence
    assert KEY_RE.fullmatch(key), key
    row = _row("coral-lemonde")
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(row.key_prefix) and len(row.key_prefix) == 12
    assert key not in repr([getattr(row, c.key) for c in ApiClient.__table__.columns])
    assert (row.quota, row.coral_secret, row.created_by) == (
        "10 per second", "coral-signing-secret", "ligne de commande",
    )  # fmt: skip
    assert clients.authenticate(key).name == "coral-lemonde"


def test_list_shows_each_client_but_never_its_key_or_secret(app):
    key = _create(app, "coral-lemonde", "--coral-secret", "coral-signing-secret")
    _create(app, "cms-ouest", "--quota", "100 per minute; 5000 per day")
    _cli(app, "revoke", "cms-ouest")
    result = _cli(app, "list")
    assert result.exit_code == 0, result.output
    header, cms, coral = result.output.splitlines()
    assert header.split()[:5] == ["name", "prefix", "quota", "scopes", "created"]
    assert cms.startswith("cms-ouest ") and "100 per minute; 5000 per day" in cms
    assert coral.startswith("coral-lemonde ") and key[:12] in coral
    assert coral.rstrip().endswith(" -")  # not revoked
    assert not cms.rstrip().endswith(" -")  # revoked: its date
    assert key not in result.output and "coral-signing-secret" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "coral-lemonde"], "Un client porte déjà ce nom."),
        (["create", "autre", "--quota", "dix par seconde"], "Quota illisible"),
        (["create", "autre", "--quota", ""], "Quota illisible"),
        (["create", "Pas un slug!"], "Nom invalide"),
        (["create", "autre", "--coral-secret", " "], "Le secret Coral est vide."),
        (["revoke", "inconnu"], "Aucun client ne porte ce nom."),
    ],
)
def test_refusals_say_why_and_exit_2(app, args, message):
    _create(app, "coral-lemonde")
    result = _cli(app, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert db.session.scalar(select(ApiClient).where(ApiClient.name == "autre")) is None


def test_a_second_revoke_is_refused(app):
    _create(app)
    assert _cli(app, "revoke", "coral-lemonde").exit_code == 0
    result = _cli(app, "revoke", "coral-lemonde")
    assert result.exit_code == 2 and "déjà révoqué" in result.output


@pytest.mark.parametrize("key", [None, "", "mod_", "mod_inconnue", "pas-une-cle"])
def test_a_missing_or_unknown_key_is_refused(app, key):
    _create(app)
    with pytest.raises(clients.KeyRefused):
        clients.authenticate(key)


def test_a_key_with_the_right_prefix_and_a_wrong_rest_is_refused(app):
    key = _create(app)
    with pytest.raises(clients.KeyRefused):
        clients.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B"))


def test_a_revoked_key_is_refused_at_once_in_another_process(app, database_url, tmp_path, scorer):
    key = _create(app)
    other = create_app(make_config(database_url, str(tmp_path / "other")), scorer=scorer)
    with other.app_context():  # another worker process: its own app and connections
        assert clients.authenticate(key).name == "coral-lemonde"
        db.session.remove()
    result = _cli(app, "revoke", "coral-lemonde")
    assert result.exit_code == 0 and "refused from now on" in result.output
    with other.app_context():
        with pytest.raises(clients.KeyRefused, match="révoquée"):
            clients.authenticate(key)
        db.session.remove()
        db.engine.dispose()
        other.extensions["scoring"].stop()


def test_last_use_is_noted_at_most_once_a_minute(app):
    key = _create(app)
    assert _row("coral-lemonde").last_used_at is None
    clients.authenticate(key)
    first = _row("coral-lemonde").last_used_at
    assert first is not None
    clients.authenticate(key)
    assert _row("coral-lemonde").last_used_at == first  # within the minute: not written
    row = _row("coral-lemonde")
    row.last_used_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    clients.authenticate(key)
    assert as_utc(_row("coral-lemonde").last_used_at) > utcnow() - timedelta(minutes=1)


def test_take_call_counts_each_client_on_its_own_quota(app):
    tight = clients.authenticate(_create(app, "tight", "--quota", "2 per minute"))
    other = clients.authenticate(_create(app, "other", "--quota", "2 per minute"))
    clients.take_call(tight)
    clients.take_call(tight)
    with pytest.raises(quotas.QuotaExceeded) as refused:
        clients.take_call(tight)
    assert 1 <= refused.value.retry_after <= 60
    clients.take_call(other)  # another client's calls are its own


def test_creation_and_revocation_are_in_the_settings_history_and_not_restorable(app):
    key = _create(app, "coral-lemonde", "--coral-secret", "coral-signing-secret")
    _cli(app, "revoke", "coral-lemonde")
    changes = list(db.session.scalars(select(SettingChange).order_by(SettingChange.id)))
    expected = ("client:coral-lemonde", "ligne de commande")
    assert [(c.key, c.actor) for c in changes] == [expected, expected]
    assert changes[1].new_value == {"quota": "10 per second", "coral": True, "revoked": True}
    make_user(email="chef@example.fr", display_name="Chef Claire", role=Role.ADMIN)
    browser = app.test_client()
    login(browser, "chef@example.fr")
    page = browser.get("/admin/historique").get_data(as_text=True)
    assert "Client d’API « coral-lemonde »" in page
    assert "révoqué · quota 10 par seconde" in page
    assert key not in page and "coral-signing-secret" not in page
    response = browser.post(
        f"/admin/historique/{changes[1].id}/restaurer",
        data={"csrf_token": CSRF_RE.search(page).group(1)},
        follow_redirects=True,
    )
    assert "Un client d’API ne se rétablit pas" in response.get_data(as_text=True)
    assert _row("coral-lemonde").revoked_at is not None


def test_the_coral_secret_is_set_and_replaced_without_echo(app):
    _create(app)
    result = app.test_cli_runner().invoke(
        args=["clients", "coral-secret", "coral-lemonde"], input="ss_premier\n"
    )
    assert result.exit_code == 0, result.output
    assert "ss_premier" not in result.output  # asked without echo
    assert _row("coral-lemonde").coral_secret == "ss_premier"
    assert _cli(app, "coral-secret", "coral-lemonde", "--secret", "ss_second").exit_code == 0
    assert _row("coral-lemonde").coral_secret == "ss_second"
    last = db.session.scalars(select(SettingChange).order_by(SettingChange.id.desc())).first()
    assert last.new_value == {"quota": "10 per second", "coral": True, "revoked": False,
                              "coral_secret_changed": True}  # fmt: skip
    refused = _cli(app, "coral-secret", "inconnu", "--secret", "x")
    assert refused.exit_code == 2 and "Aucun client ne porte ce nom." in refused.output
