"""Rich text off the event loop: the time limit, the worker slots, and the cap on text arguments."""

from __future__ import annotations

import contextvars
import threading
from typing import Any

import pytest

from jiraplug.jira.offload import MarkupTooSlow, OffloadLimits, off_loop
from jiraplug.sandbox import SandboxServer
from tests.tools.helpers import call, call_error, connect

pytestmark = pytest.mark.anyio

_caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="nobody")


async def test_the_work_runs_on_another_thread_in_the_callers_context() -> None:
    _caller.set("alice")
    here = threading.get_ident()
    thread, caller = await off_loop(lambda: (threading.get_ident(), _caller.get()), what="text")
    assert thread != here and caller == "alice"


async def test_overrunning_the_time_limit_is_a_tool_error_and_the_slot_stays_taken_until_the_work_ends() -> None:
    started, release = threading.Event(), threading.Event()

    def stuck() -> str:
        started.set()
        release.wait(30)
        return "late"

    one_slot = OffloadLimits(workers=1, timeout_seconds=0.2)
    try:
        with pytest.raises(MarkupTooSlow, match=r"converting body took longer than 0\.2 s \(tools\.markup_timeout_seconds\)"):
            await off_loop(stuck, what="body", limits=one_slot)
        assert started.is_set()
        # The abandoned thread still runs, so it still holds the only slot: the next one waits in vain.
        with pytest.raises(MarkupTooSlow, match="converting comment"):
            await off_loop(lambda: "quick", what="comment", limits=one_slot)
    finally:
        release.set()
    # Once that thread ends, its slot is free again.
    assert await off_loop(lambda: "quick", what="comment", limits=OffloadLimits(workers=1, timeout_seconds=30)) == "quick"


@pytest.fixture(params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    with SandboxServer(flavour=request.param, seed=5, port=0) as sb:
        yield sb


async def test_text_arguments_over_the_cap_are_refused_naming_the_argument(sandbox: Any) -> None:
    async with connect(sandbox, JIRAPLUG_TOOLS__MAX_TEXT_CHARS="5000") as client:
        before = len(sandbox.state.comments_of("PLAT-1"))
        long_body = "word " * 1001  # 5,005 characters
        refused = await call_error(client, "jira_add_comment", issue_key="PLAT-1", body=long_body)
        assert "body is 5,005 characters long; the limit is 5,000 (tools.max_text_chars)" in refused
        assert len(sandbox.state.comments_of("PLAT-1")) == before  # nothing reached Jira
        refused = await call_error(client, "jira_create_issue", project_key="PLAT", summary="s",
                                   description=long_body)
        assert "description is 5,005 characters" in refused
        refused = await call_error(client, "jira_update_issue", issue_key="PLAT-1",
                                   fields={"description": long_body})
        assert "fields['Description'] is 5,005 characters" in refused
        # At the cap, and above the size converted in place, the text goes through whole.
        added = await call(client, "jira_add_comment", issue_key="PLAT-1", body="word " * 999 + "end")
        assert added["body"].endswith("word end")


async def test_a_small_answer_is_rendered_in_place_and_a_large_one_on_a_worker(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jiraplug.jira.offload import INLINE_RENDER_BYTES
    from jiraplug.plugins.toolsets import issues

    rendered_on: list[int] = []
    render = issues._render_issue

    def spy(*args: Any) -> Any:
        rendered_on.append(threading.get_ident())
        return render(*args)

    monkeypatch.setattr(issues, "_render_issue", spy)
    here = threading.get_ident()
    async with connect(sandbox) as client:
        key = (await call(client, "jira_create_issue", project_key="PLAT", summary="quiet issue"))["key"]
        await call(client, "jira_get_issue", issue_key=key)
        assert rendered_on == [here]  # a few KB read: quicker in place than a trip to a thread
        # The issue stays small; its latest comments, read by a task of their own, are large.
        paragraph = "A long paragraph of a comment, " * 200
        for _ in range(6):
            await call(client, "jira_add_comment", issue_key=key, body=paragraph)
        assert len(paragraph) * 6 > INLINE_RENDER_BYTES
        got = await call(client, "jira_get_issue", issue_key=key)
        assert len(got["comment"]) == 6
        assert rendered_on[1] != here  # the comments' bytes count too: a worker renders them
