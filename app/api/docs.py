"""The API's documentation page, written by the site from its OpenAPI document.

A plain page of the site's layout (no script, nothing from a CDN): every operation
with its parameters, body and answers, then every schema, then the problem types.
It reads the document flask-smorest serves, so it shows what the code validates.
"""

import re
from typing import Any

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _

from app.api.problems import TYPES
from app.api.spec import PREFIX

bp = Blueprint("api_docs", __name__, url_prefix=PREFIX)

METHODS = ("get", "post", "put", "patch", "delete")
REF = "#/components/schemas/"


def anchor(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", " ".join(parts).lower()).strip("-")


def schema_text(schema: dict[str, Any]) -> str:
    """A schema in a few words: "integer, 1 to 100", "array of Post", "string or null"."""
    if "$ref" in schema:
        return schema["$ref"].removeprefix(REF)
    if "anyOf" in schema:
        return " or ".join(schema_text(option) for option in schema["anyOf"])
    kinds = schema.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    words = " or ".join(
        "array of " + schema_text(schema.get("items", {})) if kind == "array" else kind
        for kind in kinds
    )
    bounds = []
    if "minimum" in schema or "maximum" in schema:
        bounds.append(f"{schema.get('minimum', '…')} to {schema.get('maximum', '…')}")
    if "minLength" in schema or "maxLength" in schema:
        bounds.append(f"{schema.get('minLength', 0)} to {schema.get('maxLength', '…')} characters")
    if "format" in schema:
        bounds.append(schema["format"])
    if "default" in schema:
        bounds.append(f"default {schema['default']!r}")
    return ", ".join([words, *bounds])


def body_schema(part: dict[str, Any]) -> tuple[str, str] | None:
    """The media type and schema of a request body or response, if it has one."""
    for media_type, content in part.get("content", {}).items():
        return media_type, schema_text(content.get("schema", {}))
    return None


def resolved(document: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """A response, its reference to the document's components followed."""
    if "$ref" not in part:
        return part
    return document["components"]["responses"][part["$ref"].rpartition("/")[2]]


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            responses = operation.get("responses", {})
            found.append(
                {
                    "anchor": anchor(method, path),
                    "method": method.upper(),
                    "path": path,
                    "tag": (operation.get("tags") or [""])[0],
                    "summary": operation.get("summary", ""),
                    "description": operation.get("description", ""),
                    "security": next(iter((operation.get("security") or document["security"])[0])),
                    "parameters": [*item.get("parameters", []), *operation.get("parameters", [])],
                    "body": operation.get("requestBody") and body_schema(operation["requestBody"]),
                    "responses": [
                        (status, answer.get("description", ""), body_schema(answer))
                        for status, answer in (
                            (status, resolved(document, answer))
                            # By status, "default" (any other) last.
                            for status, answer in sorted(
                                responses.items(), key=lambda item: (item[0] == "default", item[0])
                            )
                        )
                    ],
                }
            )
    return found


def document() -> dict[str, Any]:
    """The OpenAPI document of this app, as flask-smorest serves it."""
    return current_app.extensions["microblog_api"].spec.to_dict()


@bp.route("/docs")
def page() -> str:
    spec = document()
    return render_template(
        "api/docs.html",
        title=_("API"),
        spec=spec,
        operations=operations(spec),
        schemas=spec["components"]["schemas"],
        problem_types=[(type_.partition("#")[2], text) for type_, text in TYPES.items()],
        schema_text=schema_text,
    )
