"""The API's reference page, /api/v1/docs: written on the server from the OpenAPI document,
served from our own origin under the site's strict CSP (no CDN, no script, no inline style),
in French, with every operation, its parameters, body fields and responses, and every schema
with its `$ref`s resolved into links."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

URL = "/api/v1/docs"
METHODS = {"get", "post", "put", "patch", "delete"}


class Page(HTMLParser):
    """What the tests read of the page: elements' attributes, ids, headings, tables' text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: set[str] = set()
        self.headings: list[tuple[str, str]] = []
        self._heading: tuple[str, list[str]] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        self.tags.append((tag, given))
        if given.get("id"):
            self.ids.add(str(given["id"]))
        if tag in ("h1", "h2", "h3", "h4"):
            self._heading = (tag, [])

    def handle_endtag(self, tag: str) -> None:
        if self._heading and tag == self._heading[0]:
            self.headings.append((tag, " ".join("".join(self._heading[1]).split())))
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._heading:
            self._heading[1].append(data)

    def all_text(self) -> str:
        return " ".join("".join(self.text).split())


@pytest.fixture
def document(client):
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def answer(client):
    response = client.get(URL)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    return response


@pytest.fixture
def page(answer):
    parsed = Page()
    parsed.feed(answer.get_data(as_text=True))
    return parsed


def test_every_operation_of_the_document_has_its_heading(page, document):
    headings = {text for level, text in page.headings if level == "h3"}
    for path, item in document["paths"].items():
        for method in set(item) & METHODS:
            assert f"{method.upper()} {path}" in headings
            summary = " ".join(item[method]["summary"].replace("`", "").split())
            assert summary in page.all_text()


def test_one_section_per_tag_and_the_page_is_in_french(page, answer, document):
    h2 = [text for level, text in page.headings if level == "h2"]
    operations = [op for item in document["paths"].values() for op in item.values()]
    tags = {tag for op in operations for tag in op["tags"]}
    assert tags <= set(h2)
    assert {"Sommaire", "Authentification", "Schémas"} <= set(h2)
    assert [level for level, _ in page.headings].count("h1") == 1
    assert ("html", {"lang": "fr"}) in page.tags
    assert "Référence de l’API" in page.all_text()


def test_every_schema_is_shown_and_every_ref_is_a_link_that_leads_to_it(page, document):
    for name in document["components"]["schemas"]:
        assert f"schema-{name}" in page.ids
    links = [attrs["href"] for tag, attrs in page.tags if tag == "a" and attrs.get("href")]
    anchors = [href[1:] for href in links if href.startswith("#")]
    assert "schema-ScoreResponse" in anchors  # a response body's $ref
    assert "schema-TextResult" in anchors  # a $ref inside a list, inside a schema
    assert "schema-ErrorBody" in anchors
    missing = sorted({anchor for anchor in anchors if anchor not in page.ids})
    assert missing == [], "links to nowhere"


def test_fields_show_type_required_description_and_allowed_values(page):
    text = page.all_text()
    # ScoreRequest.format: an enum with its default; ErrorDetail.code: its French docstring.
    assert 'Valeurs : "text", "html". Par défaut : "text".' in text
    assert "Stable : un client peut s’y fier (invalid_field, quota_exceeded…)." in text
    assert "liste de chaînes ou null" in text  # ScoreRequest.texts
    assert "1 élément(s) au moins." in text
    assert "objet (clé chaîne → nombre)" in text  # TextResult.scores
    # A query parameter (POST /api/v1/sso/session's site): where it goes, its bound.
    assert "Dans l’adresse : ?site=…. 64 caractères au plus." in text
    # Required fields are said so, in a table with its column headers.
    headers = [attrs for tag, attrs in page.tags if tag == "th" and attrs.get("scope") == "col"]
    assert headers
    assert "Obligatoire" in text and "oui" in text and "non" in text


def test_responses_list_each_status_with_its_meaning(page, document):
    text = page.all_text()
    for status, answer in document["paths"]["/api/v1/score"]["post"]["responses"].items():
        assert f"{status} {answer['description'].replace('`', '')}" in text


def test_links_to_the_raw_document(page):
    hrefs = {attrs.get("href") for tag, attrs in page.tags if tag == "a"}
    assert "/api/v1/openapi.json" in hrefs


def test_the_site_csp_stays_strict(answer):
    policy = answer.headers["Content-Security-Policy"]
    directives = {
        name: values
        for name, _, values in (d.strip().partition(" ") for d in policy.split(";") if d.strip())
    }
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in policy and "*" not in policy and "http" not in policy


def test_no_external_url_no_script_no_inline_style(page, answer):
    html = answer.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html
    for tag, attrs in page.tags:
        assert tag not in ("script", "style", "iframe"), tag
        assert "style" not in attrs, f"inline style on <{tag}>"
        assert not any(name.startswith("on") for name in attrs), f"inline handler on <{tag}>"
        for name in ("href", "src", "action"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("/", "#")) and not value.startswith("//"), value


def test_text_from_the_document_is_escaped(app, client):
    """A description is text: `<`, `&`, quotes are shown, never interpreted."""
    from app.api.docs import blocks, type_of

    with app.test_request_context():
        shown = str(blocks('Un <script>alert("x")</script> & un `<b>code</b>`.'))
    assert "<script>" not in shown
    assert "&lt;script&gt;" in shown
    assert "<code>&lt;b&gt;code&lt;/b&gt;</code>" in shown
    assert str(type_of({"$ref": '#/components/schemas/A"B'})).count('"') == 2
