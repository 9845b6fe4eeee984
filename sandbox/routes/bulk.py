"""Jira Cloud's bulk issue move: ``POST /rest/api/3/bulk/issues/move`` and ``GET /rest/api/3/bulk/queue/{taskId}``.

The task itself lives in :mod:`jiraplug.sandbox.moves`. Data Center has no such API: both
paths answer its 404 there. A refused request answers 400 in the bulk operations' own error
shape (``{"errors": [{"message": ...}]}``), not in ``ErrorCollection``.
"""

from __future__ import annotations

from jiraplug.sandbox import moves
from jiraplug.sandbox.web import Call, JiraError, api, json_response, not_found_uri
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]


@api
async def submit_move(call: Call) -> Response:
    """Queue a move of issues to another project and/or issue type: 201 ``{"taskId"}``."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    try:
        try:
            payload = await call.json_any()
        except JiraError as exc:  # unreadable JSON: in this API's error shape too
            raise moves.MoveRequestError(*exc.messages) from None
        task = moves.submit(call.store, call.user, payload)
    except moves.MoveRequestError as exc:
        return json_response({"errors": [{"message": m} for m in exc.messages]}, 400)
    return json_response({"taskId": task.id}, 201)


@api
async def task_progress(call: Call) -> Response:
    """A bulk task's ``BulkOperationProgress``; each poll advances it (see :mod:`jiraplug.sandbox.moves`)."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    task_id = call.request.path_params["task"]
    task = moves.task(call.store, task_id, call.user)
    if task is None:
        raise JiraError(404, f"The task {task_id} does not exist or you do not have permission to view it.")
    moves.advance(call.store, task)
    return json_response(task.body())


def routes() -> list[Route]:
    """The routes of this module."""
    base = "/rest/api/{version}/bulk"
    return [Route(f"{base}/issues/move", submit_move, methods=["POST"]),
            Route(f"{base}/queue/{{task}}", task_progress, methods=["GET"])]
