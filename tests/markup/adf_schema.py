"""Validate ADF documents against Atlassian's published JSON schema (draft-04).

The schema is test data kept outside the repository (``../shared/specs/``); tests that
need it skip with a clear reason when it is absent.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import pytest

from tests.conftest import missing_shared_input
from tests.shared_inputs import shared_specs

SCHEMA_PATH = shared_specs() / "adf-schema-v1-full.json"


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft4Validator

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def require_schema() -> None:
    """Skip the calling test when the ADF schema file is not available."""
    if not SCHEMA_PATH.is_file():
        missing_shared_input(f"ADF schema not found at {SCHEMA_PATH} (see ../shared/specs/SOURCES.md)")


def adf_errors(doc: dict[str, Any]) -> list[str]:
    """Schema violations in ``doc``, as readable lines (empty when valid)."""
    require_schema()
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errors]


def assert_valid_adf(doc: dict[str, Any]) -> None:
    """Fail with every violation listed when ``doc`` is not valid ADF."""
    errors = adf_errors(doc)
    assert not errors, "invalid ADF:\n" + "\n".join(errors[:10]) + "\n" + json.dumps(doc)[:2000]
