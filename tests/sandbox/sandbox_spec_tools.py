"""Validate sandbox responses against Atlassian's OpenAPI component schemas.

OpenAPI 3.0 schemas are JSON-Schema-like; ``nullable: true`` is turned into a ``null``
alternative, and ``$ref``s resolve inside the spec document itself.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.shared_inputs import shared_specs

SPEC_DIR = shared_specs()
CLOUD_SPEC = "jira-cloud-platform.swagger-v3.v3.json"
DC_SPEC = "jira-software-dc-10.3.openapi.json"
ADF_SCHEMA = "adf-schema-v1-full.json"


def spec_path(name: str) -> Path:
    path = SPEC_DIR.resolve() / name
    if not path.is_file():
        from tests.conftest import missing_shared_input

        missing_shared_input(f"spec {name} not found in {SPEC_DIR.resolve()} (contract checks need ../shared/specs)")
    return path


def _nullable(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _nullable(v) for k, v in node.items()}
        if node.pop("nullable", False) and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        return node
    if isinstance(node, list):
        return [_nullable(v) for v in node]
    return node


@functools.cache
def load_spec(name: str) -> dict[str, Any]:
    spec = _nullable(json.loads(spec_path(name).read_text(encoding="utf-8")))
    if name == DC_SPEC:
        # Known quirk of the DC spec: IssueBean.fields / renderedFields declare every value as an
        # *object*, yet the spec's own example carries strings, lists and numbers there.
        issue = spec["components"]["schemas"]["IssueBean"]["properties"]
        for key in ("fields", "renderedFields"):
            issue[key]["additionalProperties"] = {}
    return spec


@functools.cache
def _component_validator(spec_name: str, component: str) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    spec = load_spec(spec_name)
    root = {"$ref": f"#/components/schemas/{component}", "components": copy.deepcopy(spec["components"])}
    return jsonschema.Draft7Validator(root)


@functools.cache
def _adf_validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    return jsonschema.Draft4Validator(json.loads(spec_path(ADF_SCHEMA).read_text(encoding="utf-8")))


def schema_errors(spec_name: str, component: str, instance: Any) -> list[str]:
    """Messages of every violation of ``#/components/schemas/<component>``."""
    validator = _component_validator(spec_name, component)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(instance)]


def adf_errors(document: Any) -> list[str]:
    """Violations of the ADF JSON schema (draft-04)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _adf_validator().iter_errors(document)]


# --------------------------------------------------------------------------- per-operation validation

AGILE_SPEC = "jira-software-cloud.swagger.v3.json"


def _spec_quirks(name: str, spec: dict[str, Any]) -> None:
    """Known gaps between the specs and the real Jira responses they describe.

    Changelog items (``ChangeDetails`` / ``ChangeItemBean``): real Jira sends ``null`` for the
    empty side of a change (``from`` when a field was unset), both specs type them as strings.
    """
    if name == CLOUD_SPEC:
        # ``JqlQueryClause`` (the ``where`` of ``/jql/parse``) is an ``anyOf`` of the clause kinds
        # with ``additionalProperties: false`` beside it and no ``properties``: read literally, it
        # refuses every clause (Jira's own example included). The ``anyOf`` is what it means.
        spec["components"]["schemas"]["JqlQueryClause"].pop("additionalProperties", None)
        # ``BulkOperationProgress`` types ``created``/``started``/``updated`` as date-time strings, while
        # the operation's description and example (and Jira) send epoch milliseconds.
        progress = spec["components"]["schemas"]["BulkOperationProgress"]["properties"]
        for key in ("created", "started", "updated"):
            progress[key] = {"type": "integer", "format": "int64"}
    if name == DC_SPEC:
        # ``AutoCompleteResponseBean`` types each field and function entry as a string, while its
        # own example (and Jira) sends objects ({"value", "displayName", "operators", ...}).
        bean_properties = spec["components"]["schemas"]["AutoCompleteResponseBean"]["properties"]
        for key in ("visibleFieldNames", "visibleFunctionNames"):
            bean_properties[key]["items"] = {"type": "object"}
    bean = {CLOUD_SPEC: "ChangeDetails", DC_SPEC: "ChangeItemBean"}.get(name)
    if bean is not None:
        items = spec["components"]["schemas"][bean]["properties"]
        for key in ("from", "fromString", "to", "toString"):
            items[key]["type"] = ["string", "null"]


@functools.cache
def _patched_spec(name: str) -> dict[str, Any]:
    spec = copy.deepcopy(load_spec(name))
    _spec_quirks(name, spec)
    return spec


def _spec_for(flavour: str, path: str) -> tuple[str, str]:
    """``(spec file, path as the spec writes it)`` for a request path of ``flavour``."""
    if flavour == "dc":
        return DC_SPEC, path.removeprefix("/rest").replace("/api/latest/", "/api/2/")
    if path.startswith("/rest/agile/"):
        return AGILE_SPEC, path
    return CLOUD_SPEC, path.replace("/rest/api/2/", "/rest/api/3/", 1)


@functools.cache
def _templates(name: str) -> list[tuple[Any, str]]:
    import re

    out = []
    for template in load_spec(name)["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        out.append((re.compile(pattern), template))
    # Literal segments win over parameters (/project/search before /project/{key}).
    out.sort(key=lambda item: (item[1].count("{"), -len(item[1])))
    return out


def find_operation(flavour: str, method: str, path: str) -> tuple[str, str, dict[str, Any]]:
    """``(spec file, path template, operation)`` matching a request; fails the test if the spec has none."""
    name, spec_path = _spec_for(flavour, path)
    for pattern, template in _templates(name):
        if pattern.match(spec_path):
            operation = load_spec(name)["paths"][template].get(method.lower())
            if operation is not None:
                return name, template, operation
    raise AssertionError(f"{name} has no operation for {method} {spec_path}")


def _response_schema(operation: dict[str, Any], status: int) -> tuple[Any, Any]:
    """``(schema, example)`` of the operation's response for ``status`` (either may be None)."""
    response = operation.get("responses", {}).get(str(status)) or {}
    for media in (response.get("content") or {}).values():
        example = media.get("example")
        if isinstance(example, str):
            try:
                example = json.loads(example)
            except json.JSONDecodeError:
                example = None
        return media.get("schema"), example
    return None, None


#: Agile (Cloud) operations whose 200 has no schema and a misleading example (a single issue):
#: they return the same ``SearchResults`` as ``GET /board/{boardId}/issue``.
_SCHEMA_FALLBACKS = {
    (AGILE_SPEC, "/rest/agile/1.0/sprint/{sprintId}/issue"): {"$ref": "#/components/schemas/SearchResults"},
    (AGILE_SPEC, "/rest/agile/1.0/board/{boardId}/sprint/{sprintId}/issue"):
        {"$ref": "#/components/schemas/SearchResults"},
}


@functools.cache
def _operation_validator(name: str, template: str, method: str, status: int) -> Any:
    jsonschema = pytest.importorskip("jsonschema")
    operation = _patched_spec(name)["paths"][template][method.lower()]
    schema, _ = _response_schema(operation, status)
    if schema is None and 200 <= status < 300:
        schema = _SCHEMA_FALLBACKS.get((name, template))
    if schema is None:
        return None
    root = dict(schema)
    root["components"] = _patched_spec(name)["components"]
    return jsonschema.Draft7Validator(root)


def response_errors(flavour: str, method: str, path: str, status: int, body: Any) -> list[str]:
    """Violations of the spec's response schema for this request (both flavours, incl. Agile).

    When the spec gives no schema but an example object, the response may only use keys
    the example shows. Error bodies (4xx/5xx) are checked against ``ErrorCollection`` (a 404
    for a path the spec does not have is fine: that is what Jira answers too).

    Known quirk: for list endpoints the DC spec (and Cloud's ``GET .../remotelink``) names the
    element bean as the response; a JSON array is then checked item by item.
    """
    if status >= 400:
        try:
            name, template, _ = find_operation(flavour, method, path)
        except AssertionError:
            name = template = ""
        validator = _operation_validator(name, template, method, status) if template else None
        if validator is not None:
            return [f"{template} {'/'.join(map(str, e.absolute_path))}: {e.message}"
                    for e in validator.iter_errors(body)]
        errors = schema_errors(DC_SPEC if flavour == "dc" else CLOUD_SPEC, "ErrorCollection", body)
        # Bulk operations answer a total failure in their result shape (e.g. IssuesCreateResponse).
        success = _operation_validator(name, template, method, 201) if errors and template else None
        if success is not None and not list(success.iter_errors(body)):
            return []
        return errors
    name, template, operation = find_operation(flavour, method, path)
    validator = _operation_validator(name, template, method, status)
    if validator is not None:
        items = body if isinstance(body, list) and validator.schema.get("type") != "array" else [body]
        return [f"{template} {'/'.join(map(str, e.absolute_path))}: {e.message}"
                for item in items for e in validator.iter_errors(item)]
    _, example = _response_schema(operation, status)
    samples = body.get("values", [body]) if isinstance(body, dict) else body if isinstance(body, list) else []
    if isinstance(example, dict):
        allowed = set(example) | set().union(*(v for v in (example.get("values") or []) if isinstance(v, dict)))
        return [f"{template}: key {key!r} is not in the spec's example" for item in [body, *samples]
                if isinstance(item, dict) for key in item if key not in allowed]
    return []


def spec_checked_client(server: Any, user: Any = None, **kwargs: Any) -> Any:
    """An authenticated client whose every JSON response is validated against the spec.

    A response that violates its operation's response schema raises ``AssertionError`` from
    the request call itself, naming the operation and the violations.
    """
    from sandbox_helpers import client_for

    flavour = server.flavour

    def check(response: Any) -> None:
        response.read()
        if not response.headers.get("content-type", "").startswith("application/json") or not response.content:
            return
        request = response.request
        errors = response_errors(flavour, request.method, request.url.path, response.status_code, response.json())
        if errors:
            raise AssertionError(f"{request.method} {request.url.path} -> {response.status_code} violates the "
                                 f"{flavour} spec:\n" + "\n".join(errors[:10]))

    client = client_for(server, user, **kwargs)
    client.event_hooks["response"].append(check)
    return client
