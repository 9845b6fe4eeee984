"""Leaner tool schemas: what pydantic generates, minus keys that tell a client nothing.

Every client pays for ``tools/list`` once per session, and the model pays for it in its
context on every request, so the schemas keep what a client needs (every property, type,
constraint, description, ``required`` list) and drop what pydantic adds on top:

- titles derived from names: ``issue_key`` -> ``"Issue Key"``, ``jira_get_issueArguments``
  (titles that differ from the name, set on purpose, stay);
- ``"additionalProperties": true``, which JSON Schema implies anyway;
- in *arguments* only, the null branch of an optional parameter whose default is ``None``:
  ``{"anyOf": [{"type": "string"}, {"type": "null"}], "default": null}`` becomes
  ``{"type": "string"}``. Leaving the argument out means the same as sending null, and the
  server still accepts an explicit null (it validates with the pydantic model, not with this
  schema). Output schemas keep their null branches: a result may really contain null.
"""

from __future__ import annotations

from typing import Any

# Keywords whose value maps names to subschemas, and keywords whose value is a subschema
# (or a list of them). Everything else is kept as it is.
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SUBSCHEMAS = ("anyOf", "oneOf", "allOf", "items", "prefixItems", "additionalProperties", "not")
_NULL = {"type": "null"}


def lean_schema(schema: dict[str, Any], *, arguments: bool) -> dict[str, Any]:
    """``schema`` as ``tools/list`` sends it: see the module docstring for what goes.

    ``arguments``: ``schema`` describes a tool's arguments (its ``inputSchema``), where an
    optional parameter defaulting to ``None`` needs no null branch.
    """
    return without_implied_keys(without_generated_titles(schema), arguments=arguments)


def _generated(title: Any, name: str | None) -> bool:
    if not isinstance(title, str):
        return False
    if name is None:
        return True  # a model's own title ("...Arguments", "...Output") or a $defs entry's
    return title.replace(" ", "").lower() == name.replace("_", "").lower()


def without_generated_titles(schema: Any, name: str | None = None) -> Any:
    """A copy of JSON schema ``schema`` without the titles pydantic derived from names.

    ``name`` is the property the schema describes (``None`` for a model or a definition).
    Property *names* are never touched, so a property called ``title`` survives.
    """
    if isinstance(schema, list):
        return [without_generated_titles(item, name) for item in schema]
    if not isinstance(schema, dict):
        return schema
    lean: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and _generated(value, name):
            continue
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            owner_is_model = key != "properties"
            lean[key] = {prop: without_generated_titles(sub, None if owner_is_model else prop)
                         for prop, sub in value.items()}
        elif key in _SUBSCHEMAS:
            lean[key] = without_generated_titles(value, name)
        else:
            lean[key] = value
    return lean


def without_implied_keys(schema: Any, *, arguments: bool) -> Any:
    """A copy of ``schema`` without ``additionalProperties: true`` and, if ``arguments``,
    without the null branch of parameters that default to ``None``.

    Property names are never touched; a schema of ``additionalProperties: false`` stays.
    """
    if isinstance(schema, list):
        return [without_implied_keys(item, arguments=arguments) for item in schema]
    if not isinstance(schema, dict):
        return schema
    lean: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            lean[key] = {prop: without_implied_keys(sub, arguments=arguments) for prop, sub in value.items()}
        elif key == "additionalProperties" and value is True:
            continue
        elif key in _SUBSCHEMAS:
            lean[key] = without_implied_keys(value, arguments=arguments)
        else:
            lean[key] = value
    return _without_null_default(lean) if arguments else lean


def _without_null_default(schema: dict[str, Any]) -> dict[str, Any]:
    """``{"anyOf": [X, {"type": "null"}], "default": null, ...}`` -> ``{**X, ...}``.

    Anything else (a null default with several other branches, keys of X that clash with
    the outer ones, a default other than ``None``) is left as it is.
    """
    options = schema.get("anyOf")
    if "default" not in schema or schema["default"] is not None or not isinstance(options, list):
        return schema
    kept = [option for option in options if option != _NULL]
    if len(kept) != 1 or len(options) != 2 or not isinstance(kept[0], dict):
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "default")}
    if set(kept[0]) & set(rest):
        return schema
    return {**kept[0], **rest}
