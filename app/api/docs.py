"""`/api/v1/docs`: the API's reference page, rendered on the server from the OpenAPI document
(`app.api.spec.document()`), so that it can never say something the document does not.

Served from our own origin with the site's strict CSP: no CDN, no script, no inline style (a
Swagger UI or Redoc page would need all three). Each `$ref` is resolved into a link to its
schema, each schema into a table of its fields (type, required, description, constraints).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flask import render_template
from markupsafe import Markup, escape

from app.api.spec import document
from app.api.v1 import bp

METHODS = ("get", "post", "put", "patch", "delete")
REF_PREFIX = "#/components/schemas/"

# JSON Schema's types, as the page names them.
TYPE_NAMES = {
    "string": "chaîne",
    "integer": "entier",
    "number": "nombre",
    "boolean": "booléen",
    "null": "null",
    "object": "objet",
    "array": "liste",
}
# ... and in a list (« liste de chaînes »).
PLURALS = {
    "string": "chaînes",
    "integer": "entiers",
    "number": "nombres",
    "boolean": "booléens",
    "object": "objets",
    "array": "listes",
}
# Where a parameter goes, with its name (`?site=…`, `{story_id}`, `X-Reader-Token: …`).
LOCATIONS = {
    "query": "Dans l’adresse : <code>?%s=…</code>.",
    "path": "Dans le chemin : <code>{%s}</code>.",
    "header": "En-tête <code>%s: …</code>.",
    "cookie": "Cookie <code>%s</code>.",
}


def inline(text: str | None) -> Markup:
    """A description's text on one line, escaped, with its `code` spans kept."""
    escaped = str(escape(" ".join((text or "").split())))
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))


def blocks(text: str | None) -> Markup:
    """A description as paragraphs (blank lines between them), with its `code` spans kept."""
    parts = [p for p in re.split(r"\n\s*\n", (text or "").strip()) if p.strip()]
    return Markup("").join(Markup("<p>%s</p>") % inline(p) for p in parts)


def schema_anchor(name: str) -> str:
    return f"schema-{name}"


def type_of(schema: dict[str, Any]) -> Markup:
    """A schema's type in words, each `$ref` a link to its schema on the page."""
    if "$ref" in schema:
        name = str(schema["$ref"]).removeprefix(REF_PREFIX)
        return Markup('<a href="#%s"><code>%s</code></a>') % (schema_anchor(name), name)
    for combined in ("anyOf", "oneOf"):
        if combined in schema:
            return Markup(" ou ").join(type_of(part) for part in schema[combined])
    if "allOf" in schema:
        return Markup(" et ").join(type_of(part) for part in schema["allOf"])
    if "const" in schema:
        return Markup("<code>%s</code>") % _json(schema["const"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return Markup(" ou ").join(type_of({**schema, "type": one}) for one in kind)
    if kind == "array":
        items = schema.get("items")
        if not items:
            return Markup("liste")
        plain = items.get("type")
        if isinstance(plain, str) and plain in PLURALS and len(items) == 1:
            return Markup("liste de %s") % PLURALS[plain]
        return Markup("liste de %s") % type_of(items)
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        value = type_of(schema["additionalProperties"])
        return Markup("objet (clé chaîne → %s)") % value
    if kind is None:
        return Markup("toute valeur JSON")
    words = TYPE_NAMES.get(str(kind), str(kind))
    if "format" in schema:
        return Markup("%s (<code>%s</code>)") % (words, schema["format"])
    return Markup(words)


def _json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _code_list(values: list[Any]) -> Markup:
    return Markup(", ").join(Markup("<code>%s</code>") % _json(v) for v in values)


def constraints(schema: dict[str, Any]) -> list[Markup]:
    """What a value must be, beyond its type: allowed values, lengths, bounds, default."""
    notes: list[Markup] = []
    for part in [schema, *schema.get("anyOf", []), *schema.get("oneOf", [])]:
        if "enum" in part:
            notes.append(Markup("Valeurs : %s.") % _code_list(part["enum"]))
        low, high = part.get("minLength"), part.get("maxLength")
        if low is not None and high is not None:
            notes.append(Markup("De %s à %s caractères.") % (low, high))
        elif high is not None:
            notes.append(Markup("%s caractères au plus.") % high)
        elif low is not None:
            notes.append(Markup("%s caractère(s) au moins.") % low)
        if part.get("minItems") is not None:
            notes.append(Markup("%s élément(s) au moins.") % part["minItems"])
        if part.get("maxItems") is not None:
            notes.append(Markup("%s éléments au plus.") % part["maxItems"])
        for key, words in (
            ("minimum", "Au moins"),
            ("exclusiveMinimum", "Plus de"),
            ("maximum", "Au plus"),
            ("exclusiveMaximum", "Moins de"),
        ):
            if part.get(key) is not None:
                notes.append(Markup("%s %s.") % (words, part[key]))
        if part.get("pattern"):
            notes.append(Markup("Motif : <code>%s</code>.") % part["pattern"])
    if "default" in schema:
        notes.append(Markup("Par défaut : %s.") % _code_list([schema["default"]]))
    return notes


@dataclass(frozen=True)
class FieldDoc:
    name: str
    type: Markup
    required: bool
    description: Markup
    notes: list[Markup]


@dataclass(frozen=True)
class SchemaDoc:
    name: str
    anchor: str
    description: Markup
    fields: list[FieldDoc]
    type: Markup  # for a schema that is not an object with fields
    closed: bool  # additionalProperties false: an unknown field is refused


@dataclass(frozen=True)
class ResponseDoc:
    status: str
    description: Markup
    body: Markup | None
    error: bool


@dataclass(frozen=True)
class BodyDoc:
    type: Markup
    required: bool
    schema: SchemaDoc | None


@dataclass(frozen=True)
class OperationDoc:
    method: str
    path: str
    anchor: str
    summary: Markup
    description: Markup
    security: list[str]
    parameters: list[FieldDoc]
    body: BodyDoc | None
    responses: list[ResponseDoc]


@dataclass
class TagDoc:
    name: str
    anchor: str
    description: Markup
    operations: list[OperationDoc] = field(default_factory=list)


def _fields(schema: dict[str, Any]) -> list[FieldDoc]:
    required = set(schema.get("required", []))
    return [
        FieldDoc(
            name=name,
            type=type_of(prop),
            required=name in required,
            description=inline(prop.get("description")),
            notes=constraints(prop),
        )
        for name, prop in schema.get("properties", {}).items()
    ]


def _schema_doc(name: str, schema: dict[str, Any]) -> SchemaDoc:
    return SchemaDoc(
        name=name,
        anchor=schema_anchor(name),
        description=blocks(schema.get("description")),
        fields=_fields(schema),
        type=type_of({k: v for k, v in schema.items() if k != "properties"}),
        closed=schema.get("additionalProperties") is False,
    )


def _json_schema(content: dict[str, Any] | None) -> dict[str, Any] | None:
    for media_type, given in (content or {}).items():
        if media_type.endswith("json"):
            return dict(given.get("schema") or {})
    return None


def _operation(
    method: str, path: str, given: dict[str, Any], schemas: dict[str, SchemaDoc]
) -> OperationDoc:
    body: BodyDoc | None = None
    request_body = given.get("requestBody")
    if request_body:
        sent = _json_schema(request_body.get("content")) or {}
        name = str(sent.get("$ref", "")).removeprefix(REF_PREFIX)
        body = BodyDoc(type_of(sent), bool(request_body.get("required")), schemas.get(name))
    responses = []
    for status, answer in sorted(given.get("responses", {}).items()):
        schema = _json_schema(answer.get("content"))
        responses.append(
            ResponseDoc(
                status=status,
                description=inline(answer.get("description")),
                body=type_of(schema) if schema else None,
                error=status[:1] in ("4", "5"),
            )
        )
    parameters = [
        FieldDoc(
            name=p["name"],
            type=type_of(p.get("schema", {})),
            required=bool(p.get("required")),
            description=inline(p.get("description") or p.get("schema", {}).get("description")),
            notes=[_location(p), *constraints(p.get("schema", {}))],
        )
        for p in given.get("parameters", [])
    ]
    operation_id = given.get("operationId") or f"{method}-{path}"
    return OperationDoc(
        method=method.upper(),
        path=path,
        anchor="op-" + re.sub(r"[^A-Za-z0-9_-]+", "-", operation_id).strip("-"),
        summary=blocks(given.get("summary")),
        description=blocks(given.get("description")),
        security=sorted({name for need in given.get("security", []) for name in need}),
        parameters=parameters,
        body=body,
        responses=responses,
    )


def _location(parameter: dict[str, Any]) -> Markup:
    where = LOCATIONS.get(str(parameter.get("in")), "%s")
    return Markup(where) % parameter["name"]


def reference(spec: dict[str, Any]) -> dict[str, Any]:
    """What the page shows, read from the OpenAPI document: its operations grouped by tag
    (in the document's order), every schema, the authentication schemes."""
    components = spec.get("components", {})
    schemas = {
        name: _schema_doc(name, schema)
        for name, schema in sorted(components.get("schemas", {}).items())
    }
    tags: dict[str, TagDoc] = {}
    for declared in spec.get("tags", []):
        tags[declared["name"]] = TagDoc(
            declared["name"],
            "tag-" + _slug(declared["name"]),
            blocks(declared.get("description")),
        )
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if method not in item:
                continue
            given = item[method]
            for name in given.get("tags") or ["Autres"]:
                tag = tags.setdefault(name, TagDoc(name, "tag-" + _slug(name), Markup("")))
                tag.operations.append(_operation(method, path, given, schemas))
    security = {
        name: scheme for name, scheme in sorted(components.get("securitySchemes", {}).items())
    }
    return {
        "info": spec.get("info", {}),
        "intro": blocks(spec.get("info", {}).get("description")),
        "version": spec.get("openapi", ""),
        "tags": [tag for tag in tags.values() if tag.operations],
        "schemas": list(schemas.values()),
        "security": security,
    }


def _slug(name: str) -> str:
    """`Modération` -> `moderation`: an anchor made of plain letters."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "api"


@bp.get("/docs")
def reference_page() -> str:
    """The API's reference page (HTML, French), from the OpenAPI document."""
    return render_template("api/docs.html", **reference(document()), describe=inline)
