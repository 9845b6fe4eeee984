"""Leaner tool schemas: pydantic's generated titles dropped from what ``tools/list`` sends.

pydantic titles every property after its name (``issue_key`` -> ``"Issue Key"``) and every
schema after its model (``jira_get_issueArguments``). Clients read the property names and
descriptions; the titles repeat them, and every client pays for them in ``tools/list`` and in
the model's context on every request. Titles that differ from the name (set on purpose) stay.
"""

from __future__ import annotations

from typing import Any


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
        if key in ("properties", "$defs", "definitions", "patternProperties") and isinstance(value, dict):
            owner_is_model = key != "properties"
            lean[key] = {prop: without_generated_titles(sub, None if owner_is_model else prop)
                         for prop, sub in value.items()}
        elif key in ("anyOf", "oneOf", "allOf", "items", "prefixItems", "additionalProperties", "not"):
            lean[key] = without_generated_titles(value, name)
        else:
            lean[key] = value
    return lean
