"""The OpenAPI document at /api/v1/openapi.json: valid OpenAPI 3.1, complete (every `/api/v1`
route of the app is in it), and every operation says what it does and documents its refusals
with the one error shape (ErrorBody)."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from werkzeug.routing import Rule

# Not operations of the API: the document itself and its reference page.
META = {"/api/v1/openapi.json", "/api/v1/docs"}
ERROR_REF = "#/components/schemas/ErrorBody"
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method.upper() in METHODS:
                yield f"{method.upper()} {path}", operation


def openapi_path(rule: Rule) -> str:
    """`/api/v1/stories/<id:story_id>/comments` -> `/api/v1/stories/{story_id}/comments`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    validate(document, cls=OpenAPIV31SpecValidator)  # raises, naming the first problem


def test_an_invalid_document_is_refused_by_the_validator(document):
    """The validator does fail (so that the test above can): a response without its
    required description."""
    broken = {**document, "paths": {"/x": {"get": {"responses": {"200": {}}}}}}
    with pytest.raises(Exception, match="description"):
        validate(broken, cls=OpenAPIV31SpecValidator)


def test_every_api_route_of_the_app_is_documented(app, document):
    served = {
        f"{method} {openapi_path(rule)}"
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule not in META
        for method in (rule.methods or set()) & METHODS
    }
    documented = {name for name, _ in operations(document)}
    assert served, "no /api/v1 route found"
    assert served - documented == set(), "served but not in the OpenAPI document"
    assert documented - served == set(), "in the OpenAPI document but not served"


def test_every_operation_says_what_it_does(document):
    ids = []
    for name, operation in operations(document):
        assert operation.get("summary", "").strip(), f"{name}: no summary"
        assert operation.get("description", "").strip(), f"{name}: no description"
        assert operation.get("tags"), f"{name}: no tag (the reference page groups by tag)"
        ids.append(operation.get("operationId"))
    assert len(ids) == len(set(ids)), "operationIds must be unique (the page's anchors)"


def test_every_error_status_is_documented_with_the_error_shape(document):
    for name, operation in operations(document):
        responses = operation["responses"]
        errors = [status for status in responses if status[:1] in ("4", "5")]
        assert any(s.startswith("2") for s in responses), f"{name}: no success documented"
        assert "500" in errors, f"{name}: 500 not documented"
        for status in errors:
            content = responses[status].get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            assert schema.get("$ref") == ERROR_REF, f"{name} {status}: not an ErrorBody"
            assert responses[status].get("description", "").strip(), f"{name} {status}"
        if operation.get("requestBody") or operation.get("parameters"):
            assert "422" in errors, f"{name}: its input is validated, 422 not documented"
        if operation.get("requestBody"):
            assert "400" in errors, f"{name}: a body that is not JSON, 400 not documented"
        if operation.get("security"):
            assert "401" in errors, f"{name}: needs a key, 401 not documented"
        # The statuses the endpoint's docstring lists are documented responses too.
        said = set(re.findall(r"\b([1-5]\d\d)\b", operation.get("description", "")))
        assert said <= set(responses), f"{name}: {sorted(said - set(responses))} undocumented"


def test_every_schema_describes_itself_and_its_fields_in_french(document):
    """Models' and fields' docstrings are the document's descriptions (schemas.ApiModel)."""
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert detail["properties"]["code"]["description"].startswith("Stable : un client")
    for name, schema in document["components"]["schemas"].items():
        assert schema.get("description", "").strip(), f"{name}: no description"


def test_every_security_scheme_used_is_declared(document):
    declared = set(document["components"].get("securitySchemes", {}))
    for name, operation in operations(document):
        for requirement in operation.get("security", []):
            assert set(requirement) <= declared, name
