"""Built-in toolset ``forms``: Jira Forms on issues (a Jira Cloud feature).

The Forms REST API lives under ``/jira/forms/cloud/{cloudId}/issue/{key}/form``; the cloud id
comes from the site's ``/_edge/tenant_info``. Questions are keyed by id in the form's design;
answers take the shape of their question's type (text, choices by id, a date...), which
:func:`_answer` builds from plain values so the model can write ``{"1": "text", "2": ["High"]}``.
Data Center has no forms API: every tool says so.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.server.projects_filter import guard_issue
from jiraplug.server.registry import ToolRegistry
from jiraplug.server.toolkit import IssueKey, jira, parse_day
from jiraplug.tool_errors import UserFacingError

__all__ = ["jira_get_form", "jira_list_forms", "jira_update_form"]

FormId = Annotated[str, Field(description="Form id, from jira_list_forms")]
_TEXT, _CHOICE, _DATE = {"ts", "tl", "te", "tu", "pn", "no"}, {"cs", "cm", "cd", "cl"}, {"da", "dt"}
_STATUS = {"o": "open", "s": "submitted", "l": "locked"}


async def _base(issue_key: str) -> tuple[str, str]:
    """``(forms path of the issue, issue key)``; a clear error on Data Center."""
    client = await jira().ready()
    key = guard_issue(issue_key)
    if not client.is_cloud:
        raise UserFacingError("Jira Forms is a Jira Cloud feature; this Jira is Data Center, which has no forms "
                              "API. Use the issue's fields (jira_update_issue) instead")
    tenant = await client.request("GET", "/_edge/tenant_info", operation="forms.tenant") or {}
    return f"/jira/forms/cloud/{tenant.get('cloudId')}/issue/{key}/form", key


async def jira_list_forms(issue_key: IssueKey) -> dict[str, Any]:
    """Forms attached to an issue (Cloud)."""
    base, key = await _base(issue_key)
    found = await jira().request("GET", base, operation="forms.list", subject=key) or []
    return {"issue": key, "forms": [{"id": f.get("id"), "name": f.get("name"), "updated": f.get("updated"),
                                     "submitted": f.get("submitted"), "locked": f.get("lock")} for f in found]}


def _shown(question: dict[str, Any], answer: dict[str, Any] | None) -> Any:
    if not answer:
        return None
    if "choices" in answer:
        labels = {c.get("id"): c.get("label") for c in question.get("choices") or []}
        return [labels.get(c, c) for c in answer["choices"]]
    return next((answer[k] for k in ("text", "date", "time", "users") if k in answer), answer)


async def _read(base: str, key: str, form_id: str, fresh: bool = False) -> dict[str, Any]:
    return await jira().request("GET", f"{base}/{form_id.strip()}", operation="forms.get", subject=key,
                                fresh=fresh) or {}


async def jira_get_form(issue_key: IssueKey, form_id: FormId) -> dict[str, Any]:
    """A form's questions with their answers (Cloud)."""
    base, key = await _base(issue_key)
    return _render(key, await _read(base, key, form_id))


def _render(key: str, form: dict[str, Any]) -> dict[str, Any]:
    design, state = form.get("design") or {}, form.get("state") or {}
    answers = state.get("answers") or {}
    questions = []
    for qid, q in (design.get("questions") or {}).items():
        row = {"id": qid, "label": q.get("label"), "type": q.get("type"),
               "required": bool((q.get("validation") or {}).get("rq")), "answer": _shown(q, answers.get(qid))}
        if q.get("choices"):
            row["choices"] = [c.get("label") for c in q["choices"]]
        questions.append(row)
    return {"issue": key, "id": form.get("id"), "name": (design.get("settings") or {}).get("name"),
            "status": _STATUS.get(str(state.get("status")), state.get("status")), "questions": questions}


def _answer(qid: str, question: dict[str, Any] | None, value: Any) -> dict[str, Any]:
    if question is None:
        raise UserFacingError(f"the form has no question {qid!r}; see jira_get_form for its question ids")
    kind = question.get("type")
    if kind in _CHOICE:
        ids = {str(c.get("label")).casefold(): c.get("id") for c in question.get("choices") or []}
        wanted = value if isinstance(value, list) else [value]
        unknown = [v for v in wanted if str(v).casefold() not in ids]
        if unknown:
            raise UserFacingError(f"question {qid} has no choice {unknown[0]!r}; choices: "
                                  f"{', '.join(c.get('label') for c in question.get('choices') or [])}")
        return {"choices": [ids[str(v).casefold()] for v in wanted]}
    if kind in _DATE:
        return {"date": parse_day(str(value), f"the answer to question {qid}")}
    return {"text": str(value)}


async def jira_update_form(
    issue_key: IssueKey, form_id: FormId,
    answers: Annotated[dict[str, Any] | None, Field(description='By question id: {"1": "text", "2": ["High"]}')] = None,
    action: Annotated[Literal["submit", "reopen"] | None, Field(description="After saving answers")] = None,
) -> dict[str, Any]:
    """Save answers on a form, then submit or reopen it (Cloud)."""
    if not answers and action is None:
        raise UserFacingError("nothing to do: give answers, action or both")
    base, key = await _base(issue_key)
    client, form_id = jira(), form_id.strip()
    if answers:
        questions = ((await _read(base, key, form_id, fresh=True)).get("design") or {}).get("questions") or {}
        body = {"answers": {q: _answer(q, questions.get(q), v) for q, v in answers.items()}}
        await client.request("PUT", f"{base}/{form_id}", operation="forms.answers", json_body=body,
                             touches=(f"issue:{key}",), subject=key)
    if action is not None:
        await client.request("PUT", f"{base}/{form_id}/action/{action}", operation=f"forms.{action}",
                             json_body={}, touches=(f"issue:{key}",), subject=key)
    return _render(key, await _read(base, key, form_id, fresh=True))  # not the copy cached before the write


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    read = {"read_only": True, "idempotent": True}
    registry.add(jira_list_forms, title="List forms", **read)
    registry.add(jira_get_form, title="Get form", **read)
    registry.add(jira_update_form, title="Update form")
