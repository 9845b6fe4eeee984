"""Jira's field catalogue: names to ids, and tool-friendly values to Jira's field shapes.

Tools accept fields by name ("Story Points") or id ("customfield_10016") and plain values
("High", ["backend"], "alice"); :class:`FieldCatalog` turns them into what Jira expects for
each field's schema ({"name": "High"}, [{"name": "backend"}], {"accountId": ...}).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jiraplug.suggest import did_you_mean
from jiraplug.tool_errors import UserFacingError

if TYPE_CHECKING:
    from jiraplug.jira.client import JiraClient


@dataclass(frozen=True)
class FieldInfo:
    """One field as Jira describes it in ``GET /field``."""

    id: str
    name: str
    custom: bool
    type: str | None
    items: str | None
    custom_type: str | None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FieldInfo:
        schema = raw.get("schema") or {}
        return cls(
            id=str(raw["id"]),
            name=str(raw.get("name") or raw["id"]),
            custom=bool(raw.get("custom")),
            type=schema.get("type"),
            items=schema.get("items"),
            custom_type=schema.get("custom"),
        )


# Fields whose values are objects referred to by name.
_BY_NAME = {"priority", "issuetype", "resolution", "component", "version", "status", "securitylevel"}


class FieldCatalog:
    """The fields of one Jira site, loaded once per client."""

    _by_client: weakref.WeakKeyDictionary[JiraClient, FieldCatalog] = weakref.WeakKeyDictionary()

    def __init__(self, fields: list[FieldInfo]) -> None:
        self.fields = fields
        self._by_id = {field.id: field for field in fields}
        self._by_name: dict[str, FieldInfo] = {}
        for field in fields:
            self._by_name.setdefault(field.name.lower(), field)

    @classmethod
    async def of(cls, jira: JiraClient) -> FieldCatalog:
        """The catalogue of ``jira``'s site (fetched on first use, then kept)."""
        raw = await jira.field_list()  # fetched once per client
        catalog = cls._by_client.get(jira)
        if catalog is None or len(catalog.fields) != len(raw):
            catalog = cls([FieldInfo.from_json(item) for item in raw])
            cls._by_client[jira] = catalog
        return catalog

    def find(self, name_or_id: str) -> FieldInfo:
        """A field by id or (case-insensitive) name; a clear error naming close matches."""
        field = self._by_id.get(name_or_id) or self._by_name.get(name_or_id.strip().lower())
        if field is not None:
            return field
        hint = did_you_mean(name_or_id, {f.name for f in self.fields}, n=3)
        raise UserFacingError(f"unknown field {name_or_id!r}{hint} (use jira_search_fields to list fields)")

    def name_of(self, field_id: str) -> str:
        field = self._by_id.get(field_id)
        return field.name if field else field_id

    async def to_jira(self, jira: JiraClient, field: FieldInfo, value: Any, *, argument: str = "fields") -> Any:
        """Convert a plain value into the shape Jira expects for ``field``.

        ``argument`` names the tool argument the value came from, in errors.
        """
        if value is None:
            return None
        if field.type == "array":
            values = value if isinstance(value, list) else [value]
            return [await self._item(jira, field, field.items, item, argument) for item in values]
        return await self._item(jira, field, field.type, value, argument)

    async def _item(self, jira: JiraClient, field: FieldInfo, kind: str | None, value: Any, argument: str) -> Any:
        if isinstance(value, dict):
            return value  # already in Jira's shape
        if kind == "user":
            return jira.user_ref(str(value))
        if kind == "option" or (field.custom_type or "").endswith(("select", "radiobuttons", "multicheckboxes")):
            return {"value": str(value)}
        if kind in _BY_NAME:
            return {"name": str(value)}
        if kind == "issuelink" or field.id == "parent":
            return {"key": str(value)}
        if kind == "number":
            try:
                return float(value) if "." in str(value) else int(value)
            except ValueError:
                raise UserFacingError(f"field {field.name!r} needs a number, not {value!r}") from None
        if (kind == "string" and field.id in ("description", "environment")) or kind == "doc":
            return await jira.text_to_jira(str(value), argument=f"{argument}[{field.name!r}]")
        return value
