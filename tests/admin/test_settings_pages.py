"""Admin settings: access, validation of every setting, saving with history, restoring."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import CategoryThreshold, Role, SettingChange
from app.services import settings
from tests.admin.conftest import post_form, threshold_form
from tests.conftest import CSRF_RE, login, make_user

ADMIN_PAGES = [
    "/admin/", "/admin/seuils", "/admin/regles", "/admin/mots", "/admin/articles",
    "/admin/historique", "/admin/calibration", "/admin/mots/banned_words.txt", "/admin/clients",
    "/admin/sites", "/admin/transparence", "/admin/essai",
]  # fmt: skip


@pytest.mark.parametrize("url", ADMIN_PAGES)
@pytest.mark.parametrize("role", ["anonymous", Role.READER, Role.MODERATOR, Role.ADMIN], ids=str)
def test_admin_pages_are_for_admins_only(app, url, role):
    client = app.test_client()
    if role != "anonymous":
        make_user(email=f"{role}@example.fr", role=role)
        login(client, f"{role}@example.fr")
    response = client.get(url)
    expected = {"anonymous": 302, Role.READER: 403, Role.MODERATOR: 403, Role.ADMIN: 200}[role]
    assert response.status_code == expected


def test_every_admin_route_is_covered(app):
    routes = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/admin")}
    assert routes == {
        "/admin/", "/admin/seuils", "/admin/regles", "/admin/mots", "/admin/mots/<name>.txt",
        "/admin/articles", "/admin/historique", "/admin/historique/<id:change_id>/restaurer",
        "/admin/calibration", "/admin/clients", "/admin/clients/<name>/revoquer",
        "/admin/clients/<name>/secret-coral", "/admin/sites", "/admin/sites/<name>",
        "/admin/sites/<name>/secret-sso", "/admin/transparence", "/admin/essai",
        "/admin/essai/arreter", "/admin/essai/promouvoir", "/admin/essai/modele-serveur",
    }  # fmt: skip


def test_thresholds_are_saved_and_recorded(app, admin_client):
    response = post_form(admin_client, "/admin/seuils", threshold_form(
        {"insult-hold": "0,6", "insult-reject": "0.95", "threat-enabled": None}))  # fmt: skip
    assert response.status_code == 303
    db.session.expire_all()
    insult = db.session.get(CategoryThreshold, "insult")
    assert (insult.hold, insult.reject) == (0.6, 0.95)
    assert db.session.get(CategoryThreshold, "threat").enabled is False
    changes = {c.key: c for c in db.session.query(SettingChange)}
    assert set(changes) == {"threshold:insult", "threshold:threat"}
    assert changes["threshold:insult"].old_value["hold"] == 0.5
    assert changes["threshold:insult"].new_value["hold"] == 0.6
    assert changes["threshold:insult"].actor == "Chef Claire"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"insult-hold": "1.2"}, "insult-hold", "Indiquez un nombre entre 0 et 1"),
        ({"insult-hold": "beaucoup"}, "insult-hold", "Indiquez un nombre entre 0 et 1"),
        ({"insult-nudge": "-0.1"}, "insult-nudge", "Indiquez un nombre entre 0 et 1"),
        ({"insult-hold": "0.8", "insult-reject": "0.7"}, "insult-reject",
         "Le seuil de rejet doit être supérieur ou égal au seuil de modération."),
    ],
)  # fmt: skip
def test_invalid_thresholds_are_refused_and_named(app, admin_client, overrides, field, message):
    response = post_form(admin_client, "/admin/seuils", threshold_form(overrides))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-erreur">{message}' in page
    assert db.session.get(CategoryThreshold, "insult").hold == 0.5  # nothing saved
    assert db.session.query(SettingChange).count() == 0


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"premoderate_first_n": "-1"}, "premoderate_first_n", "entre 0 et 1000"),
        ({"premoderate_first_n": "trois"}, "premoderate_first_n", "entre 0 et 1000"),
        ({"max_comment_length": "10"}, "max_comment_length", "entre 50 et 20000"),
        (
            {"comment_rate_limit-count": "beaucoup"},
            "comment_rate_limit",
            "Limite de publication : indiquez un nombre entier entre 1 et",
        ),
        ({"comment_rate_limit-count": "0"}, "comment_rate_limit", "Limite de publication"),
        (
            {"comment_rate_limit-count": "5", "comment_rate_limit-period": "week"},
            "comment_rate_limit",
            "choisissez une période (minute, heure ou jour)",
        ),
        ({"reports_threshold": "0"}, "reports_threshold", "entre 1 et 1000"),
        ({"nudge_sent_anyway": "jamais"}, "nudge_sent_anyway", "l’une des valeurs proposées"),
    ],
)
def test_invalid_rules_are_refused_and_named(app, admin_client, data, field, message):
    form = {"premoderate_first_n": "0", "reports_threshold": "3", "action": "enregistrer", **data}
    response = post_form(admin_client, "/admin/regles", form)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True).split(f'id="{field}-erreur">')[1][:200]
    assert db.session.query(SettingChange).count() == 0


def test_history_restores_an_old_value(app, admin_client):
    post_form(admin_client, "/admin/seuils", threshold_form({"insult-hold": "0.7"}))
    change = db.session.query(SettingChange).one()
    page = admin_client.get("/admin/historique").get_data(as_text=True)
    assert "Seuils : insultes" in page and "Chef Claire" in page
    assert "modération 0,50 · rejet 0,90 · invitation" in page  # the value, in words
    token_page = admin_client.get("/admin/historique").get_data(as_text=True)
    response = admin_client.post(
        f"/admin/historique/{change.id}/restaurer",
        data={"csrf_token": CSRF_RE.search(token_page).group(1)},
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(CategoryThreshold, "insult").hold == 0.5
    assert db.session.query(SettingChange).count() == 2  # the restore is a change too
    assert settings.thresholds()["insult"].hold == 0.5


def _before_after(history_page, setting):
    """The « Avant » and « Après » cells of the history row whose setting reads `setting`."""
    row = history_page.split(f"{setting}</td>")[1].split("</tr>")[0]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in row.split("</td>")][:2]


def test_what_sending_anyway_does_is_chosen_on_the_rules_page_and_recorded(app, admin_client):
    page = admin_client.get("/admin/regles").get_data(as_text=True)
    assert 'value="moderator" checked' in page  # « relu par un modérateur », the default
    form = {"premoderate_first_n": "0", "reports_threshold": "3", "nudge_enabled": "on",
            "guests_allowed": "on", "nudge_sent_anyway": "thresholds",
            "action": "enregistrer"}  # fmt: skip
    assert post_form(admin_client, "/admin/regles", form).status_code == 303
    assert settings.get("nudge_sent_anyway") == "thresholds"
    page = admin_client.get("/admin/regles").get_data(as_text=True)
    assert 'value="thresholds" checked' in page
    change = db.session.query(SettingChange).one()
    assert (change.key, change.old_value, change.new_value) == (
        "nudge_sent_anyway", "moderator", "thresholds")  # fmt: skip
    history = admin_client.get("/admin/historique").get_data(as_text=True)
    assert "Chef Claire" in history and "nudge_sent_anyway" not in history
    row = history.split("au-delà d’un seuil de rejet, est</td>")[1].split("</tr>")[0]
    cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in row.split("</td>")][:2]
    assert cells == [
        "relu par un modérateur (ce que promet l’invitation)",
        "refusé selon les seuils",
    ]


def test_the_rate_limit_is_a_number_and_a_period(app, admin_client):
    page = admin_client.get("/admin/regles").get_data(as_text=True)
    assert 'name="comment_rate_limit-count"' in page and 'type="text"' not in page
    assert '<option value="minute" selected>par minute</option>' in page
    assert '<option value="hour" >par heure</option>' in page
    assert '<option value="day" >par jour</option>' in page
    form = {"premoderate_first_n": "0", "reports_threshold": "3", "action": "enregistrer"}
    response = post_form(admin_client, "/admin/regles", {
        **form, "comment_rate_limit-count": "12", "comment_rate_limit-period": "hour"})  # fmt: skip
    assert response.status_code == 303
    assert settings.get("comment_rate_limit") == "12 per hour"  # as Flask-Limiter reads it
    page = admin_client.get("/admin/regles").get_data(as_text=True)
    assert 'name="comment_rate_limit-count" min="1" max="10000" value="12"' in page
    assert '<option value="hour" selected>par heure</option>' in page
    history = admin_client.get("/admin/historique").get_data(as_text=True)
    assert "Limite de publication" in history and "12 par heure" in history
    response = post_form(admin_client, "/admin/regles", {
        **form, "comment_rate_limit-count": "", "comment_rate_limit-period": "hour"})  # fmt: skip
    assert response.status_code == 303
    page = admin_client.get("/admin/regles").get_data(as_text=True)  # empty: the server's limit
    assert 'name="comment_rate_limit-count" min="1" max="10000" value=""' in page
    assert (
        "the server’s limit" not in page
        and "la limite du serveur s’applique (5 par minute)" in page
    )


def test_history_says_settings_in_words(app, admin_client):
    form = {"premoderate_first_n": "0", "reports_threshold": "3", "action": "enregistrer"}
    post_form(admin_client, "/admin/regles", {**form, "premoderate_links": "on"})
    page = admin_client.get("/admin/historique").get_data(as_text=True)
    assert _before_after(page, "Pré-modérer les commentaires contenant un lien") == ["non", "oui"]
    assert "premoderate_links" not in page and "false" not in page
    page = admin_client.get("/admin/historique?lang=en").get_data(as_text=True)
    assert "Pre-moderate comments containing a link</td>" in page
    assert _before_after(page, "Pre-moderate comments containing a link") == ["no", "yes"]
