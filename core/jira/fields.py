"""Jira's field catalogue: names to ids, and tool-friendly values to Jira's field shapes.

Tools accept fields by name ("Story Points") or id ("customfield_10016") and plain values
("High", ["backend"], "alice"); :class:`FieldCatalog` turns them into what Jira expects for
each field's schema ({"name": "High"}, [{"name": "backend"}], {"accountId": ...}).
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jiraplug.jira.errors import JiraError, JiraUnavailable
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
        schema = raw.get("schema") if isinstance(raw.get("schema"), dict) else {}
        return cls(
            id=str(raw["id"]),
            name=str(raw.get("name") or raw["id"]),
            custom=bool(raw.get("custom")),
            type=_text(schema.get("type")),
            items=_text(schema.get("items")),
            custom_type=_text(schema.get("custom")),
        )


# Fields whose values are objects referred to by name.
_BY_NAME = {"priority", "issuetype", "resolution", "component", "version", "status", "securitylevel"}


class FieldCatalog:
    """The fields of one Jira site, loaded once per client."""

    _by_client: weakref.WeakKeyDictionary[JiraClient, FieldCatalog] = weakref.WeakKeyDictionary()

    def __init__(self, fields: list[FieldInfo]) -> None:
        self.fields = fields
        self._by_id = {field.id: field for field in fields}
        self._by_name: dict[str, list[FieldInfo]] = {}
        for field in fields:
            self._by_name.setdefault(field.name.strip().lower(), []).append(field)

    @classmethod
    async def of(cls, jira: JiraClient) -> FieldCatalog:
        """The catalogue of ``jira``'s site (fetched on first use, then kept)."""
        raw = await jira.field_list()  # fetched once per client
        catalog = cls._by_client.get(jira)
        if catalog is None or len(catalog.fields) != len(raw):
            catalog = cls([FieldInfo.from_json(item) for item in raw])
            cls._by_client[jira] = catalog
        return catalog

    def find(self, name_or_id: str, *, argument: str | None = None) -> FieldInfo:
        """A field by id or (case-insensitive) name.

        An unknown name is a clear error naming close matches; a name several fields share
        (real sites have more than one "Team" or "Story Points") is one listing their ids.
        """
        field = self._by_id.get(name_or_id.strip())
        if field is not None:
            return field
        named = self._by_name.get(name_or_id.strip().lower(), [])
        if len(named) == 1:
            return named[0]
        prefix = f"{argument}: " if argument else ""
        if named:
            ids = ", ".join(f"{f.id} ({(f.custom_type or '').rpartition(':')[2] or f.type or 'system'})" for f in named)
            raise UserFacingError(f"{prefix}several fields are named {name_or_id!r}: {ids}; "
                                  "give the id of the one you mean")
        hint = did_you_mean(name_or_id, {f.name for f in self.fields} | set(self._by_id), n=3)
        raise UserFacingError(f"{prefix}unknown field {name_or_id!r}{hint} (jira_search_fields lists fields)")

    def ids_for(self, names_or_ids: Sequence[str], *, argument: str = "fields") -> list[str]:
        """The ids of a ``fields`` selection: names resolved, ids and ``*all``/``*navigable`` kept.

        ``-name`` (leave a field out) is resolved the same way.
        """
        ids = []
        for item in (entry.strip() for entry in names_or_ids):
            if not item:
                continue
            if item.startswith("*") or _is_id(item.lstrip("-")):
                ids.append(item)
            elif item.startswith("-") and len(item) > 1:
                ids.append("-" + self.find(item[1:], argument=argument).id)
            else:
                ids.append(self.find(item, argument=argument).id)
        return list(dict.fromkeys(ids))

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


# System field ids asked for so often that resolving them needs no field list.
_WELL_KNOWN_IDS = frozenset({
    "summary", "status", "issuetype", "priority", "assignee", "reporter", "creator", "labels", "created", "updated",
    "duedate", "parent", "description", "environment", "comment", "worklog", "attachment", "issuelinks",
    "subtasks", "project", "components", "fixVersions", "versions", "resolution", "resolutiondate",
    "timetracking", "votes", "watches", "security", "key", "id",
})
_CUSTOM_ID = re.compile(r"customfield_\d+")


async def field_ids(jira: JiraClient, names_or_ids: Sequence[str] | None, *, argument: str = "fields"
                    ) -> list[str] | None:
    """The field ids to ask Jira for, from a tool's ``fields`` argument of names and/or ids.

    Jira understands ids only: a name sent as is is silently ignored. Names resolve
    case-insensitively through the site's field list (read once per credential, see
    :meth:`JiraClient.field_list`); ids pass unchanged, without reading it. When the field
    list cannot be read, the selection goes to Jira as given.
    """
    if not names_or_ids:
        return None
    items = [item.strip() for item in names_or_ids if item.strip()]
    if all(item.startswith("*") or _is_id(item.lstrip("-")) for item in items):
        return items
    try:
        catalog = await FieldCatalog.of(jira)
    except (JiraError, JiraUnavailable):
        return items  # no field list (permissions, outage): Jira gets the selection as given
    return catalog.ids_for(items, argument=argument)


def _is_id(item: str) -> bool:
    """Whether ``item`` is certainly a field id (a custom field's, or a common system field's)."""
    return item in _WELL_KNOWN_IDS or _CUSTOM_ID.fullmatch(item) is not None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
