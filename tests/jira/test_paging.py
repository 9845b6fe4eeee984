"""One search shape for both deployments, multi-page search with progress, and offset lists."""

from __future__ import annotations

from typing import Any

import pytest

from jiraplug.jira.errors import JiraError
from jiraplug.jira.paging import decode_cloud_search, decode_dc_search, decode_offset_page
from tests.jira.conftest import direct_client

pytestmark = pytest.mark.anyio

JQL = "project = PLAT ORDER BY key ASC"


def sandbox_of(flavour: str, cloud_sandbox: Any, dc_sandbox: Any) -> Any:
    return cloud_sandbox if flavour == "cloud" else dc_sandbox


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
async def test_search_all_walks_pages_and_continues_exactly(flavour: str, cloud_sandbox: Any, dc_sandbox: Any) -> None:
    sandbox = sandbox_of(flavour, cloud_sandbox, dc_sandbox)
    reported: list[tuple[int, int | None]] = []

    async def progress(done: int, total: int | None) -> None:
        reported.append((done, total))

    async with direct_client(sandbox) as jira:
        everything = await jira.search_all(JQL, 1000, fields=["summary"], page_size=40)
        first = await jira.search_all(JQL, 25, fields=["summary"], page_size=10, progress=progress)
        rest = await jira.search_all(JQL, 1000, fields=["summary"], page_size=50, page_token=first.next_page_token)
    keys = [issue["key"] for issue in everything.issues]
    assert everything.next_page_token is None and len(keys) == len(set(keys)) > 50
    # 25 issues in pages of 10, 10, 5; the token continues right after the 25th.
    assert [issue["key"] for issue in first.issues] == keys[:25]
    assert [issue["key"] for issue in rest.issues] == keys[25:]
    expected_total = len(keys) if flavour == "dc" else None  # Cloud's enhanced search has no total
    assert reported == [(10, expected_total), (20, expected_total), (25, expected_total)]
    assert first.next_page_token is not None and everything.total == expected_total


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
async def test_search_pages_share_one_shape(flavour: str, cloud_sandbox: Any, dc_sandbox: Any) -> None:
    sandbox = sandbox_of(flavour, cloud_sandbox, dc_sandbox)
    async with direct_client(sandbox) as jira:
        page = await jira.search(JQL, fields=["summary", "status"], limit=5)
        empty = await jira.search("project = PLAT AND summary ~ zzzzzzzz-nothing", fields=["summary"], limit=5)
    assert len(page.issues) == 5 and page.next_page_token
    assert all(set(issue["fields"]) == {"summary", "status"} for issue in page.issues)
    assert empty.issues == [] and empty.next_page_token is None


async def test_a_foreign_page_token_is_refused_clearly(dc_sandbox: Any) -> None:
    async with direct_client(dc_sandbox) as jira:
        with pytest.raises(JiraError, match="page token 'abc' is not valid here"):
            await jira.search(JQL, page_token="abc")


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
async def test_paginate_walks_offset_lists_to_the_limit(flavour: str, cloud_sandbox: Any, dc_sandbox: Any) -> None:
    sandbox = sandbox_of(flavour, cloud_sandbox, dc_sandbox)
    async with direct_client(sandbox) as jira:
        everything = await jira.paginate(f"{jira.agile}/board", operation="board.list", limit=100)
        first = await jira.paginate(f"{jira.agile}/board", operation="board.list", limit=3, page_size=2)
        rest = await jira.paginate(f"{jira.agile}/board", operation="board.list", limit=100,
                                   start_at=first.next_start_at or 0, page_size=1)
        comments = await jira.paginate(f"{jira.api}/issue/PLAT-5/comment", operation="comment.list",
                                       items_key="comments", limit=1)
    ids = [board["id"] for board in everything.items]
    assert everything.next_start_at is None and len(ids) >= 4 and everything.total == len(ids)
    assert [b["id"] for b in first.items] == ids[:3] and first.next_start_at == 3
    assert [b["id"] for b in rest.items] == ids[3:] and rest.next_start_at is None
    assert len(comments.items) == 1 and comments.next_start_at == 1 and comments.total and comments.total > 1


def test_offset_pages_end_by_is_last_then_total_then_a_short_page() -> None:
    assert decode_offset_page({"values": [1, 2], "isLast": False, "total": 2}, "values", 0, 2).next_start_at == 2
    assert decode_offset_page({"values": [1, 2], "total": 9, "startAt": 5}, "values", 5, 2).next_start_at == 7
    assert decode_offset_page({"values": [1, 2], "total": 7, "startAt": 5}, "values", 5, 2).next_start_at is None
    assert decode_offset_page({"issues": [1, 2]}, "issues", 0, 2).next_start_at == 2
    assert decode_offset_page({"issues": [1]}, "issues", 0, 2).next_start_at is None
    assert decode_offset_page({"values": [], "isLast": False}, "values", 0, 2).next_start_at is None  # no loop
    with pytest.raises(JiraError, match="'values' as str, not a list"):
        decode_offset_page({"values": "oops"}, "values", 0, 2)


def test_search_decoding_takes_is_last_over_a_stray_token() -> None:
    assert decode_cloud_search({"issues": [{"id": "1"}], "nextPageToken": "t", "isLast": True}).next_page_token is None
    assert decode_cloud_search({"issues": [{"id": "1"}], "nextPageToken": "t", "isLast": False}).next_page_token == "t"
    assert decode_dc_search({"issues": [{"id": "1"}] * 5, "startAt": 10, "total": 20}, 10).next_page_token == "15"
    assert decode_dc_search({"issues": [{"id": "1"}] * 5, "startAt": 15, "total": 20}, 15).next_page_token is None
