"""Sites and stories (issue 13): `flask sites create`, origins, stories made on first sight."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.models import Article, Site
from app.services import sites


def test_the_bundled_article_belongs_to_the_default_site(app: Flask) -> None:
    article = db.session.scalar(sa.select(Article).where(Article.url.is_(None)))
    assert article is not None
    default = sites.default_site()
    assert default.is_default and article.site_id == default.id
    assert sites.site_of(article).id == default.id


def test_cli_creates_a_site_and_prints_its_secret_once_on_its_own_line(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["sites", "create", "journal", "--origin", "HTTPS://www.Journal.fr:443/",
              "--origin", "http://localhost:8001"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    secret = lines[-1]
    assert len(secret) >= 40 and " " not in secret
    site = db.session.scalar(sa.select(Site).where(Site.name == "journal"))
    assert site is not None and site.sso_secret == secret
    assert site.origins == ["http://localhost:8001", "https://www.journal.fr"]
    again = runner.invoke(args=["sites", "create", "journal", "--origin", "https://a.fr"])
    assert again.exit_code == 2 and "déjà" in again.output
    bad = runner.invoke(args=["sites", "create", "autre", "--origin", "ftp://a.fr"])
    assert bad.exit_code == 2 and "Origine invalide" in bad.output
    listed = runner.invoke(args=["sites", "list"]).output
    assert "journal: http://localhost:8001, https://www.journal.fr" in listed
    assert secret not in listed


def test_a_story_is_made_once_per_url_on_an_allowed_origin_only(app: Flask) -> None:
    site = sites.create("journal", ["https://www.journal.fr"]).site
    story, created = sites.ensure_story(
        site, "https://WWW.journal.fr/article-42#commentaires", "  Un   titre ", external_id="42"
    )
    assert created and story.url == "https://www.journal.fr/article-42"
    assert story.title == "Un titre" and story.site_id == site.id
    same, created = sites.ensure_story(site, "https://www.journal.fr/article-42", "Autre")
    assert not created and same.id == story.id and same.title == "Un titre"
    by_id = sites.find_story(site, external_id="42")
    assert by_id is not None and by_id.id == story.id
    with pytest.raises(sites.SiteError) as refused:
        sites.ensure_story(site, "https://pirate.example/article-42", "Copie")
    assert refused.value.code == "origin_not_allowed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Article)) == 2
    assert sites.site_for_origin("https://www.journal.fr").id == site.id  # type: ignore[union-attr]
    assert sites.site_for_origin("https://pirate.example") is None
    assert sites.site_for_origin("null") is None
