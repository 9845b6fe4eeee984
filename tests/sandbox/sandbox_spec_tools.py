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

SPEC_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs"
CLOUD_SPEC = "jira-cloud-platform.swagger-v3.v3.json"
DC_SPEC = "jira-software-dc-10.3.openapi.json"
ADF_SCHEMA = "adf-schema-v1-full.json"


def spec_path(name: str) -> Path:
    path = SPEC_DIR.resolve() / name
    if not path.is_file():
        pytest.skip(f"spec {name} not found in {SPEC_DIR.resolve()} (contract checks need ../shared/specs)")
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
