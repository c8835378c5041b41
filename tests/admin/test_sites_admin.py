"""« Réglages › Sites », as an admin uses it: create a site and see its SSO secret once, edit its
origins and its own settings, replace its secret; bad input refused beside its field; every
change in the settings history, never a secret; moderators kept out. And a site's own settings
applied to the comments posted on its stories."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Article, CommentStatus, Role, SettingChange, Site
from app.services import admin, settings, sites
from tests.admin.conftest import post_form
from tests.conftest import ARTICLE_URL, CSRF_RE, comments_in_db, login, make_user

PAGE = "/admin/sites"
SECRET_RE = re.compile(r'id="secret-sso"[^>]* value="([A-Za-z0-9_-]{43})"')
STORY_URL = "https://www.journal.fr/politique/article-42"


def _site(name):
    db.session.expire_all()
    return db.session.scalar(select(Site).where(Site.name == name))


def _create(admin_client, name="journal", origins="https://www.journal.fr\nhttp://localhost:8001"):
    return post_form(admin_client, PAGE, {"name": name, "origins": origins})


def _post_site(admin_client, name, action="", **data):
    page = admin_client.get(PAGE).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    return admin_client.post(f"{PAGE}/{name}{action}", data={"csrf_token": token, **data})


def _changes(key):
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(SettingChange).where(SettingChange.key == key).order_by(SettingChange.id)
        )
    )


def _field_error(page, field_id):
    """The error shown beside a field: its paragraph, referenced by the field itself."""
    match = re.search(rf'<p class="field__error" id="{re.escape(field_id)}-erreur">([^<]*)</p>',
                      page)  # fmt: skip
    assert match, f"no error beside {field_id}"
    name = re.escape(field_id)
    pointer = rf'id="{name}"[^>]*aria-describedby="[^"]*{name}-erreur"'
    assert re.search(pointer, page), "the field does not point to it"
    return match.group(1)


def test_the_page_is_in_the_admin_nav(admin_client):
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert f'href="{PAGE}"' in page and ">Sites</a>" in page


def test_the_default_site_is_listed_with_its_articles(admin_client, article):
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "<bdi>default</bdi></a> (par défaut)" in page
    assert 'href="/admin/articles?site=default">1</a>' in page
    assert "non configurée" in page  # the default site has no SSO secret


def test_a_new_site_shows_its_secret_once_and_stores_it(admin_client, admin_user):
    response = _create(admin_client, origins="HTTPS://www.Journal.fr/une\n\nhttp://localhost:8001")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    secret = SECRET_RE.search(page).group(1)
    assert "il ne sera plus jamais affiché" in page
    site = _site("journal")
    assert site.sso_secret == secret
    assert site.origins == ["http://localhost:8001", "https://www.journal.fr"]
    again = admin_client.get(PAGE).get_data(as_text=True)
    assert secret not in again and "<code>https://www.journal.fr</code>" in again
    assert "configurée" in again
    [change] = _changes("site:journal")
    assert change.old_value is None and change.actor == "Chef Claire"
    assert change.new_value == {"origins": site.origins, "sso": True, "overrides": {}}
    assert secret not in str(change.new_value)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"origins": "ftp://www.journal.fr"}, "origins", "invalide : « ftp://www.journal.fr »"),
        ({"origins": "www.journal.fr"}, "origins", "attendu : https://www.exemple.fr"),
        ({"origins": "https://jour nal.fr"}, "origins", "Origine invalide : « nal.fr »"),
        ({"origins": "https://user:pw@journal.fr"}, "origins", "Origine invalide"),
        ({"origins": "https://journal.fr:99999"}, "origins", "Origine invalide"),
        ({"origins": ""}, "origins", "Indiquez au moins une origine"),
        ({"name": "Le Journal"}, "name", "lettres minuscules, chiffres"),
        ({"name": "default"}, "name", "Un site s’appelle déjà « default »."),
    ],
)  # fmt: skip
def test_bad_input_is_refused_beside_its_field(admin_client, data, field, message):
    form = {"name": "journal", "origins": "https://www.journal.fr", **data}
    response = post_form(admin_client, PAGE, form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in _field_error(page, field)
    assert not SECRET_RE.search(page)
    assert f">{form['origins']}</textarea>" in page  # what was typed, kept
    assert _site("journal") is None and _changes("site:journal") == []


def test_international_host_names_are_stored_as_browsers_send_them(admin_client):
    _create(admin_client, origins="https://www.économie.fr")
    assert _site("journal").origins == ["https://www.xn--conomie-9xa.fr"]


def test_origins_and_own_settings_are_saved_and_recorded(admin_client):
    _create(admin_client)
    response = _post_site(admin_client, "journal", origins="https://www.journal.fr\nhttps://m.journal.fr",
                          guests_allowed="off", nudge_enabled="", premoderate_all="on",
                          max_comment_length="800")  # fmt: skip
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{PAGE}#site-journal")
    site = _site("journal")
    assert site.origins == ["https://m.journal.fr", "https://www.journal.fr"]
    assert site.overrides == {"guests_allowed": False, "premoderate_all": True,
                              "max_comment_length": 800}  # fmt: skip
    created, edited = _changes("site:journal")
    assert edited.old_value == created.new_value
    assert edited.new_value["overrides"] == site.overrides
    assert edited.new_value["origins"] == site.origins
    page = admin_client.get(PAGE).get_data(as_text=True)
    assert "Site « journal » enregistré." in page
    assert '<option value="off" selected>non</option>' in page
    history = admin_client.get("/admin/historique").get_data(as_text=True)
    assert "Site « journal »" in history
    assert "Les visiteurs sans compte peuvent commenter : non" in history
    # the same values again: nothing to record
    _post_site(admin_client, "journal", origins="https://m.journal.fr https://www.journal.fr",
               guests_allowed="off", premoderate_all="on", max_comment_length="800")  # fmt: skip
    assert len(_changes("site:journal")) == 2


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"guests_allowed": "peut-être"}, "guests_allowed", "Choisissez l’une des valeurs"),
        ({"max_comment_length": "10"}, "max_comment_length", "entre 50 et 20000"),
        ({"max_comment_length": "beaucoup"}, "max_comment_length", "entre 50 et 20000"),
        ({"origins": "javascript:alert(1)"}, "origins", "Origine invalide"),
    ],
)
def test_a_refused_edit_names_its_field_and_changes_nothing(admin_client, data, field, message):
    _create(admin_client)
    form = {"origins": "https://www.journal.fr", **data}
    response = _post_site(admin_client, "journal", **form)
    assert response.status_code == 422
    assert message in _field_error(response.get_data(as_text=True), f"journal-{field}")
    site = _site("journal")
    assert site.overrides == {} and site.origins == [
        "http://localhost:8001",
        "https://www.journal.fr",
    ]
    assert len(_changes("site:journal")) == 1


def test_the_default_site_keeps_the_rules_pages_settings(admin_client):
    default = sites.default_site()
    response = _post_site(admin_client, default.name, origins="https://www.exemple.fr",
                          guests_allowed="off")  # fmt: skip
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "se changent dans « Règles »" in page
    assert 'id="default-guests_allowed-erreur"' in page
    response = _post_site(admin_client, default.name, origins="https://www.exemple.fr")
    assert response.status_code == 303
    assert _site("default").origins == ["https://www.exemple.fr"]
    assert _site("default").overrides == {}


def test_a_new_secret_is_shown_once_and_the_old_one_is_gone(admin_client):
    first = SECRET_RE.search(_create(admin_client).get_data(as_text=True)).group(1)
    unticked = _post_site(admin_client, "journal", "/secret-sso")
    assert unticked.status_code == 422
    assert "Cochez « Je confirme »" in _field_error(unticked.get_data(as_text=True),
                                                    "journal-confirm")  # fmt: skip
    assert _site("journal").sso_secret == first
    response = _post_site(admin_client, "journal", "/secret-sso", confirm="on")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    second = SECRET_RE.search(page).group(1)
    assert second != first and _site("journal").sso_secret == second
    assert "l’ancien est refusé dès maintenant" in page
    rotated = _changes("site:journal")[-1]
    assert rotated.new_value["sso_rotated"] is True
    for change in _changes("site:journal"):
        assert first not in str(change.old_value) + str(change.new_value)
        assert second not in str(change.old_value) + str(change.new_value)
    history = admin_client.get("/admin/historique").get_data(as_text=True)
    assert "nouveau secret SSO" in history and second not in history


def test_restoring_a_site_change_puts_its_origins_and_settings_back(admin_client):
    _create(admin_client)
    _post_site(admin_client, "journal", origins="https://autre.fr", guests_allowed="off")
    _post_site(admin_client, "journal", "/secret-sso", confirm="on")
    created, edited, rotated = _changes("site:journal")
    for change, message in ((rotated, "Un secret SSO ne se rétablit pas"),
                            (created, "Un site ne se supprime pas")):  # fmt: skip
        page = admin_client.get("/admin/historique").get_data(as_text=True)
        token = CSRF_RE.search(page).group(1)
        response = admin_client.post(f"/admin/historique/{change.id}/restaurer",
                                     data={"csrf_token": token}, follow_redirects=True)  # fmt: skip
        assert message in response.get_data(as_text=True)
    page = admin_client.get("/admin/historique").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = admin_client.post(f"/admin/historique/{edited.id}/restaurer",
                                 data={"csrf_token": token})  # fmt: skip
    assert response.status_code == 303
    site = _site("journal")
    assert site.origins == ["http://localhost:8001", "https://www.journal.fr"]
    assert site.overrides == {}


def test_an_unknown_site_is_a_404(admin_client):
    assert _post_site(admin_client, "inconnu", origins="https://a.fr").status_code == 404
    assert _post_site(admin_client, "inconnu", "/secret-sso", confirm="on").status_code == 404


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.READER], ids=str)
def test_only_admins_manage_sites(app, admin_client, role):
    _create(admin_client)
    make_user(email="staff@example.fr", role=role)
    client = app.test_client()
    login(client, "staff@example.fr")
    assert client.get(PAGE).status_code == 403
    token = CSRF_RE.search(client.get(ARTICLE_URL).get_data(as_text=True)).group(1)
    for url, data in ((PAGE, {"name": "pirate", "origins": "https://pirate.fr"}),
                      (f"{PAGE}/journal", {"origins": "https://pirate.fr"}),
                      (f"{PAGE}/journal/secret-sso", {"confirm": "on"})):  # fmt: skip
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 403
    site = _site("journal")
    assert site.origins == ["http://localhost:8001", "https://www.journal.fr"]
    assert _site("pirate") is None and len(_changes("site:journal")) == 1


def test_forms_need_their_csrf_token(admin_client):
    response = admin_client.post(PAGE, data={"name": "journal", "origins": "https://a.fr"})
    assert response.status_code == 400 and _site("journal") is None


# --- A site's own settings, applied -----------------------------------------------------------


def _story(admin_client, **overrides):
    """A site made on the page, with its own settings, and a story of it."""
    _create(admin_client)
    response = _post_site(admin_client, "journal", origins="https://www.journal.fr", **overrides)
    assert response.status_code == 303
    story, created = sites.ensure_story(_site("journal"), STORY_URL, "Article 42")
    assert created
    return story


def _post_on(reader, story, body="Un avis mesuré sur la question.", **extra):
    return reader.post(body=body, url=f"/articles/{story.slug}/commentaires", **extra)


def test_a_site_that_refuses_guests_while_the_default_site_allows_them(admin_client, reader):
    story = _story(admin_client, guests_allowed="off")
    assert settings.get("guests_allowed") is True
    page = reader.client.get(f"/articles/{story.slug}").get_data(as_text=True)
    assert 'name="email"' not in page  # no guest form on that site's story
    refused = _post_on(reader, story)
    assert refused.status_code == 403
    assert "Connectez-vous ou créez un compte" in refused.get_data(as_text=True)
    assert comments_in_db() == []
    assert reader.post(body="Un avis mesuré sur la question.").status_code == 303  # default site
    [comment] = comments_in_db()
    assert comment.article_id != story.id


def test_a_site_that_allows_guests_while_the_default_site_refuses_them(admin_client, reader):
    settings.set_value("guests_allowed", False)
    story = _story(admin_client, guests_allowed="on")
    assert _post_on(reader, story).status_code == 303
    [comment] = comments_in_db()
    assert comment.article_id == story.id and comment.status == CommentStatus.PUBLISHED
    assert reader.post(body="Un autre avis.").status_code == 403


def test_a_site_without_nudges_holds_a_borderline_comment_instead(admin_client, reader):
    story = _story(admin_client, nudge_enabled="off")
    assert _post_on(reader, story, body="Quel idiot ce ministre").status_code == 303
    assert reader.post(body="Quel idiot ce ministre").status_code == 303  # the bundled article
    by_article = {c.article_id: c for c in comments_in_db()}
    assert by_article[story.id].status == CommentStatus.HELD
    bundled = next(c for a, c in by_article.items() if a != story.id)
    assert bundled.status == CommentStatus.NUDGED


def test_a_site_that_premoderates_everything(admin_client, reader):
    story = _story(admin_client, premoderate_all="on")
    _post_on(reader, story)
    reader.post(body="Un avis mesuré sur la question.")
    statuses = {c.article_id == story.id: c.status for c in comments_in_db()}
    assert statuses == {True: CommentStatus.HELD, False: CommentStatus.PUBLISHED}


def test_a_site_s_longest_comment(admin_client, reader):
    story = _story(admin_client, max_comment_length="60")
    body = "Un avis un peu long, qui dépasse les soixante caractères permis ici."
    response = _post_on(reader, story, body=body)
    assert response.status_code == 422
    assert "le maximum est de 60" in response.get_data(as_text=True)
    assert 'maxlength="60"' in reader.client.get(f"/articles/{story.slug}").get_data(as_text=True)
    assert reader.post(body=body).status_code == 303  # the bundled article keeps its limit
    assert len(comments_in_db()) == 1


# --- « Articles »: stories with their site ----------------------------------------------------


def _stories(n, site_name="journal"):
    site = _site(site_name) or sites.create(site_name, ["https://www.journal.fr"]).site
    return [
        sites.ensure_story(site, f"https://www.journal.fr/article-{i}", f"Article n° {i}")[0]
        for i in range(n)
    ]


def test_stories_show_their_site_and_url_and_filter_by_site(admin_client, article):
    [story] = _stories(1)
    page = admin_client.get("/admin/articles").get_data(as_text=True)
    assert "Article n° 0" in page and article.title in page
    assert 'href="https://www.journal.fr/article-0"' in page
    assert "Site <bdi>journal</bdi>" in page and "Site <bdi>default</bdi>" in page
    assert f'href="/articles/{story.slug}"' in page
    only = admin_client.get("/admin/articles?site=journal").get_data(as_text=True)
    assert "Article n° 0" in only and article.title not in only
    assert '<option value="journal" selected>' in only
    default = admin_client.get("/admin/articles?site=default").get_data(as_text=True)
    assert "Article n° 0" not in default and article.title in default
    assert admin_client.get("/admin/articles?site=inconnu").status_code == 404


def test_many_stories_are_paginated(admin_client):
    stories = _stories(admin.ARTICLES_PER_PAGE + 5)
    first = admin_client.get("/admin/articles?site=journal").get_data(as_text=True)
    assert first.count('class="article-settings"') == admin.ARTICLES_PER_PAGE
    assert "page 1 sur 2" in first and 'href="/admin/articles?site=journal&amp;page=2"' in first
    second = admin_client.get("/admin/articles?site=journal&page=2").get_data(as_text=True)
    assert second.count('class="article-settings"') == 5
    shown = set(re.findall(r'id="article-(\d+)"', first + second))
    assert shown == {str(s.id) for s in stories}
    assert "Page précédente" in second and "Page suivante" not in second


def test_a_story_s_settings_are_saved_and_the_page_stays_where_it_was(admin_client):
    stories = _stories(admin.ARTICLES_PER_PAGE + 1)
    url = "/admin/articles?site=journal&page=2"
    page = admin_client.get(url).get_data(as_text=True)
    [shown] = re.findall(r'id="article-(\d+)"', page)
    story = next(s for s in stories if str(s.id) == shown)
    token = CSRF_RE.search(page).group(1)
    response = admin_client.post(url, data={
        "csrf_token": token, "article": story.id, f"a{story.id}-premoderated": "on",
        f"a{story.id}-close_after_days": "30"})  # fmt: skip
    assert response.status_code == 303
    assert response.headers["Location"].endswith(
        f"/admin/articles?site=journal&page=2#article-{story.id}"
    )
    db.session.expire_all()
    saved = db.session.get(Article, story.id)
    assert (saved.comments_open, saved.premoderated, saved.close_after_days) == (False, True, 30)
    assert _changes(f"article:{story.slug}")[-1].new_value["premoderated"] is True


@pytest.mark.parametrize(
    "overrides",
    [{"guests_allowed": "non"}, {"max_comment_length": "800"}, {"max_comment_length": 10},
     {"reports_threshold": 1}],
)  # fmt: skip
def test_the_service_keeps_only_overrides_of_their_kind(app, overrides):
    site = sites.create("journal", ["https://www.journal.fr"]).site
    with pytest.raises(sites.SiteError) as refused:
        sites.update(site, site.origins, overrides, "test")
    assert refused.value.field == next(iter(overrides))
    assert _site("journal").overrides == {}
