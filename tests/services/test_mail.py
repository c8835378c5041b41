"""Mail goes out through a real SMTP server on loopback (tests/mailbox.py)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from jinja2 import ChoiceLoader, DictLoader

from app.config import ConfigError, mail_settings
from app.services import mail
from tests.mailbox import Mailbox, free_port

TEMPLATE = "Subject: Votre demande  du {{ day }}\n\nBonjour {{ name }},\n\n<b>{{ text }}</b>\n"


@pytest.fixture
def with_template(app: Flask) -> Flask:
    app.jinja_loader = ChoiceLoader([DictLoader({"mail/essai.txt": TEMPLATE}), app.jinja_loader])  # type: ignore[list-item]
    app.jinja_env.loader = app.jinja_loader
    return app


def test_a_mail_reaches_the_server_with_its_subject_body_and_one_recipient(
    with_template: Flask, mailbox: Mailbox
) -> None:
    mail.send("lecteur@example.org", "essai", day="7 décembre", name="Zoé", text="a < b & c")
    [received] = mailbox.to("lecteur@example.org")
    assert received.subject == "Votre demande du 7 décembre"
    assert received.to == "lecteur@example.org"
    assert received.envelope_to == ["lecteur@example.org"]
    assert "Modération" in str(received.message["From"])
    # Plain text: nothing escaped, nothing of HTML added.
    assert received.body == "Bonjour Zoé,\n\n<b>a < b & c</b>\n"


def test_extra_headers_are_sent(with_template: Flask, mailbox: Mailbox) -> None:
    mail.send(
        "lecteur@example.org",
        "essai",
        headers={"List-Unsubscribe": "<https://example.org/u/1>"},
        day="1",
        name="A",
        text="t",
    )
    [received] = mailbox.messages
    assert received.message["List-Unsubscribe"] == "<https://example.org/u/1>"


@pytest.mark.parametrize("config_overrides", [{"MAIL_ENABLED": False, "MAIL_BACKEND": "dummy"}])
def test_without_mail_url_sending_is_refused_in_french(
    with_template: Flask, mailbox: Mailbox
) -> None:
    assert not mail.enabled()
    with pytest.raises(mail.MailError, match="n’envoie pas"):
        mail.send("lecteur@example.org", "essai", day="1", name="A", text="t")
    assert mailbox.messages == []


def _dead_server() -> dict[str, Any]:
    return mail_settings(f"smtp://127.0.0.1:{free_port()}", sender="", timeout=2)


@pytest.mark.parametrize("config_overrides", [_dead_server()])
def test_a_server_that_does_not_answer_is_a_mail_error_and_the_log_has_no_address(
    with_template: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(mail.MailError, match="réessayez"):
        mail.send("lecteur@example.org", "essai", day="1", name="A", text="t")
    assert "mail essai not sent" in caplog.text
    assert "lecteur@example.org" not in caplog.text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://127.0.0.1:2525",
            {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 2525, "MAIL_USE_TLS": False},
        ),
        (
            "smtp://moi%40example.org:p%40ss@smtp.example.org?starttls=1",
            {
                "MAIL_PORT": 587,
                "MAIL_USE_TLS": True,
                "MAIL_USERNAME": "moi@example.org",
                "MAIL_PASSWORD": "p@ss",
            },
        ),
        (
            "smtps://u:p@smtp.example.org",
            {"MAIL_PORT": 465, "MAIL_USE_SSL": True, "MAIL_USE_TLS": False},
        ),
    ],
)
def test_mail_url_gives_flask_mailmans_settings(url: str, expected: dict[str, Any]) -> None:
    settings = mail_settings(url, sender="", timeout=10)
    assert settings["MAIL_ENABLED"] is True
    assert {k: settings[k] for k in expected} == expected


@pytest.mark.parametrize("url", ["http://example.org", "smtp://", "smtp://h:notaport"])
def test_a_bad_mail_url_stops_start_up(url: str) -> None:
    with pytest.raises(ConfigError, match="MAIL_URL"):
        mail_settings(url, sender="", timeout=10)


def test_production_mail_needs_the_public_url_for_the_workers_links(tmp_path: Any) -> None:
    from app.config import load_config

    environ = {
        "APP_ENV": "production",
        "SECRET_KEY": "k9#Qz!7wPq2@Lm5$Xv8&Rt3^Yb6*Nc1d",
        "MAIL_URL": "smtp://127.0.0.1:25",
    }
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        load_config(str(tmp_path), environ=environ)
    config = load_config(str(tmp_path), environ={**environ, "PUBLIC_URL": "https://c.example.fr"})
    assert config["PUBLIC_URL"] == "https://c.example.fr" and config["MAIL_ENABLED"]


def test_links_use_the_public_url_outside_a_request(app: Flask) -> None:
    assert mail.link("reader.index") == "http://localhost/"
    app.config["PUBLIC_URL"] = ""
    with pytest.raises(RuntimeError, match="PUBLIC_URL"):
        mail.link("reader.index")
    with app.test_request_context(base_url="https://lecteurs.example.fr/"):
        assert mail.link("reader.index") == "https://lecteurs.example.fr/"
