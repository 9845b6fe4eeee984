"""Jira Forms (Cloud only): ``/jira/forms/cloud/{cloudId}/issue/{issueIdOrKey}/form[/{formId}...]``.

With ``/_edge/tenant_info`` (the site's ``cloudId``, which the Forms API paths carry). Forms
live beside the store (:func:`forms_of`) and are seeded on first use: issues numbered 2, 6,
10... carry one "Change request" form with a required short-text question, a single-choice
question and a date. Answers follow the API: ``{"1": {"text": ...}, "2": {"choices": ["1"]},
"3": {"date": "2026-12-01"}}``; ``state.status`` is ``o`` (open), ``s`` (submitted) or ``l``
(locked). Saving answers on a submitted form is refused, as Jira does; reopen first.
"""

from __future__ import annotations

import uuid
import weakref
from typing import Any

from jiraplug.sandbox.store import Store
from jiraplug.sandbox.web import Call, JiraError, api, json_response, not_found_uri
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["CLOUD_ID", "forms_of", "routes"]

CLOUD_ID = "a436116f-02ce-4520-8fbb-7301462a1674"
BASE = "/jira/forms/cloud/{cloud}/issue/{key}/form"
_FORMS: weakref.WeakKeyDictionary[Store, dict[str, list[dict[str, Any]]]] = weakref.WeakKeyDictionary()
_QUESTIONS = {
    "1": {"type": "ts", "label": "What changes", "validation": {"rq": True}},
    "2": {"type": "cs", "label": "Risk", "choices": [{"id": "1", "label": "Low"}, {"id": "2", "label": "High"}]},
    "3": {"type": "da", "label": "Planned date"},
}


def forms_of(store: Store, key: str) -> list[dict[str, Any]]:
    """The forms on issue ``key`` (seeded on first use)."""
    every = _FORMS.setdefault(store, {})
    if key not in every:
        number = int(key.rsplit("-", 1)[1])
        every[key] = [] if number % 4 != 2 else [{
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)), "updated": "2026-11-20T10:00:00.000Z",
            "design": {"settings": {"name": "Change request", "submit": {"lock": False}}, "questions": _QUESTIONS},
            "state": {"visibility": "e", "status": "o", "answers": {}}}]
    return every[key]


def _issue_forms(call: Call, write: bool = False) -> tuple[str, list[dict[str, Any]]]:
    if call.flavour != "cloud" or call.request.path_params["cloud"] != CLOUD_ID:
        raise JiraError(404, "Not Found")
    issue = call.issue(call.request.path_params["key"], write="edit issues" if write else None)
    return issue.key, forms_of(call.store, issue.key)


def _form(call: Call, write: bool = False) -> dict[str, Any]:
    _, forms = _issue_forms(call, write)
    wanted = call.request.path_params["form"]
    found = next((f for f in forms if f["id"] == wanted), None)
    if found is None:
        raise JiraError(404, f"Form {wanted} not found on this issue.")
    return found


def _listed(form: dict[str, Any]) -> dict[str, Any]:
    status = form["state"]["status"]
    return {"id": form["id"], "name": form["design"]["settings"]["name"], "updated": form["updated"],
            "submitted": status != "o", "lock": status == "l", "internal": form["state"]["visibility"] == "i"}


@api
async def tenant_info(call: Call) -> Response:
    """The site's cloud id (Cloud only)."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    return json_response({"cloudId": CLOUD_ID})


@api
async def list_forms(call: Call) -> Response:
    """The forms on an issue."""
    return json_response([_listed(f) for f in _issue_forms(call)[1]])


@api
async def get_form(call: Call) -> Response:
    """A form's design (questions) and state (answers)."""
    return json_response(_form(call))


@api
async def save_answers(call: Call) -> Response:
    """``PUT`` answers (merged into the saved ones); refused once submitted."""
    form = _form(call, write=True)
    if form["state"]["status"] != "o":
        raise JiraError(400, "The form is submitted; reopen it before changing answers.")
    answers = (await call.json_body()).get("answers")
    if not isinstance(answers, dict) or any(k not in _QUESTIONS for k in answers):
        raise JiraError(400, "answers must map question ids of this form to answers.")
    form["state"]["answers"].update(answers)
    return json_response(form)


@api
async def act(call: Call) -> Response:
    """``PUT .../action/submit`` (required questions answered) or ``.../action/reopen``."""
    form = _form(call, write=True)
    action, state = call.request.path_params["action"], form["state"]
    if action == "submit":
        missing = [q["label"] for k, q in _QUESTIONS.items() if q.get("validation", {}).get("rq")
                   and not state["answers"].get(k)]
        if missing:
            raise JiraError(400, f"Required questions are not answered: {', '.join(missing)}.")
        state["status"] = "l" if form["design"]["settings"]["submit"]["lock"] else "s"
    elif action == "reopen":
        state["status"] = "o"
    else:
        raise JiraError(404, "Not Found")
    return json_response({"status": state["status"]})


def routes() -> list[Route]:
    """The routes of this module."""
    return [Route("/_edge/tenant_info", tenant_info, methods=["GET"]),
            Route(BASE, list_forms, methods=["GET"]),
            Route(f"{BASE}/{{form}}", get_form, methods=["GET"]),
            Route(f"{BASE}/{{form}}", save_answers, methods=["PUT"]),
            Route(f"{BASE}/{{form}}/action/{{action}}", act, methods=["PUT"])]
