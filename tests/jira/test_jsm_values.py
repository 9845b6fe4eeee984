"""Service Management values and Cloud's app noise in compact issues (issue 14, points 4 and 5).

Bodies are shaped as real Cloud and Data Center sites send them in ``/rest/api/{v}/issue``:
each value is rendered by the field's schema ``custom`` type when the field list gave it, and
by its shape when not (the same result both ways).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from jiraplug.jira.compact import compact_issue, render_field
from jiraplug.jira.errors import JiraError
from jiraplug.jira import status_names
from jiraplug.jira.errors import JiraUnavailable
from jiraplug.jira.status_names import StatusNames, status_labels
from tests.jira.conftest import direct_client

SD = "com.atlassian.servicedesk:"
UNKNOWN = None  # no schema: the value's shape decides


def _date(iso: str, millis: int) -> dict[str, Any]:
    return {"iso8601": iso, "jira": iso.replace("+0000", ".000+0000"), "friendly": "Today 10:00 AM",
            "epochMillis": millis}


def _span(millis: int, friendly: str) -> dict[str, Any]:
    return {"millis": millis, "friendly": friendly}


# Time to resolution, as Cloud's issue API sends it: a breached cycle done, a paused one running.
SLA = {
    "id": "2", "name": "Time to resolution",
    "_links": {"self": "https://acme.atlassian.net/rest/servicedeskapi/request/10010/sla/2"},
    "completedCycles": [
        {"startTime": _date("2026-11-18T09:00:00+0000", 1), "stopTime": _date("2026-11-18T15:00:00+0000", 2),
         "breachTime": _date("2026-11-18T13:00:00+0000", 3), "breached": True,
         "goalDuration": _span(14400000, "4h"), "elapsedTime": _span(21600000, "6h"),
         "remainingTime": _span(-7200000, "-2h")},
        {"startTime": _date("2026-11-19T09:00:00+0000", 4), "stopTime": _date("2026-11-19T10:00:00+0000", 5),
         "breachTime": _date("2026-11-19T13:00:00+0000", 6), "breached": False,
         "goalDuration": _span(14400000, "4h"), "elapsedTime": _span(3600000, "1h"),
         "remainingTime": _span(10800000, "3h")},
    ],
    "ongoingCycle": {"startTime": _date("2026-11-20T09:00:00+0000", 7),
                     "breachTime": _date("2026-11-20T13:00:00+0000", 8), "breached": False, "paused": True,
                     "withinCalendarHours": True, "goalDuration": _span(14400000, "4h"),
                     "elapsedTime": _span(5400000, "1h 30m"), "remainingTime": _span(9000000, "2h 30m")},
    "slaDisplayFormat": "NEW_SLA_FORMAT",
}
APPROVALS = [{
    "id": "1", "name": "Waiting for approval", "finalDecision": "declined", "canAnswerApproval": False,
    "approvers": [{"approver": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Carol Díaz",
                                "emailAddress": "carol@example.com", "active": True}, "approverDecision": "declined"},
                  {"approver": {"name": "bob", "key": "JIRAUSER10001", "displayName": "Bob Okafor"},
                   "approverDecision": "pending"}],
    "createdDate": _date("2026-11-20T09:00:00+0000", 1), "completedDate": _date("2026-11-20T10:00:00+0000", 2),
    "_links": {"self": "https://acme.atlassian.net/rest/servicedeskapi/request/10010/approval/1"},
}]
REQUEST_TYPE = {
    "_links": {"jiraRest": "https://acme.atlassian.net/rest/api/2/issue/10010",
               "web": "https://acme.atlassian.net/servicedesk/customer/portal/1/HELP-1",
               "agent": "https://acme.atlassian.net/browse/HELP-1"},
    "requestType": {"_expands": ["field"], "id": "10", "name": "Get IT help", "description": "Ask for help",
                    "helpText": "", "issueTypeId": "10003", "serviceDeskId": "1", "groupIds": ["1"],
                    "icon": {"id": "10533", "_links": {"iconUrls": {"48x48": "https://acme.atlassian.net/x.png"}}}},
    "currentStatus": {"status": "Waiting for support", "statusCategory": "NEW",
                      "statusDate": _date("2026-11-20T09:00:00+0000", 1)},
}
PARTICIPANTS = [{"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Frank Moreau", "active": True,
                 "avatarUrls": {"48x48": "https://x"}, "self": "https://acme.atlassian.net/rest/api/3/user"}]
ORGANIZATIONS = [{"id": 1, "name": "Acme Corp", "_links": {"self": "https://acme.atlassian.net/rest/x/1"}},
                 {"id": 2, "name": "Globex", "_links": {"self": "https://acme.atlassian.net/rest/x/2"}}]

# The Development field: Cloud's Java map then JSON; Data Center's SummaryBean dump then JSON.
DEV_CLOUD = ('{pullrequest={dataType=pullrequest, state=OPEN, stateCount=2}, json={"cachedValue":{"errors":[],'
             '"summary":{"pullrequest":{"overall":{"count":2,"lastUpdated":"2026-11-20T10:00:00.000+0000",'
             '"stateCount":2,"state":"OPEN","dataType":"pullrequest","open":true},"byInstanceType":{"bitbucket":'
             '{"count":2,"name":"Bitbucket Cloud"}}},"repository":{"overall":{"count":5,"dataType":"repository"},'
             '"byInstanceType":{}},"branch":{"overall":{"count":1,"dataType":"branch"},"byInstanceType":{}}}},'
             '"isStale":false}}')
DEV_DC = ('{summaryBean=com.atlassian.jira.plugin.devstatus.rest.SummaryBean@6ba2df5f[summary={pullrequest='
          'com.atlassian.jira.plugin.devstatus.rest.SummaryItemBean@53d2d5a2[overall=PullRequestOverallBean'
          "{stateCount=1, state='MERGED', details=PullRequestOverallDetails{openCount=0, mergedCount=1, "
          "declinedCount=0}},byInstanceType={}]}],errors=[],configErrors=[]], devSummaryJson="
          '{"cachedValue":{"errors":[],"configErrors":[],"summary":{"pullrequest":{"overall":{"count":1,'
          '"stateCount":1,"state":"MERGED","dataType":"pullrequest","open":false},"byInstanceType":{}},'
          '"build":{"overall":{"count":3,"dataType":"build","failedBuildCount":1},"byInstanceType":{}}}},'
          '"isStale":false}}')
TIME_IN_STATUS = "10000_*:*_1_*:*_0_*|*_3_*:*_2_*:*_2412345_*|*_10001_*:*_1_*:*_90061000"
PARENT_LINK_UNLICENSED = {"hasEpicLinkFieldDependency": False, "showField": False, "nonEditableReason": {
    "reason": "PLUGIN_LICENSE_ERROR", "message": "The Parent Link is only available to Jira Premium users."}}
SERVICE_DESK_ERROR = {"errorMessage": "The service project you are trying to view does not exist.",
                      "i18nErrorMessage": {"i18nKey": "sd.admin.servicedesk.notfound", "parameters": []}}


@pytest.mark.parametrize("custom_type", [SD + "sd-sla-field", UNKNOWN])
def test_an_sla_keeps_its_goal_remaining_time_breach_pause_and_cycles(custom_type: str | None) -> None:
    assert render_field("customfield_10032", SLA, custom_type) == {
        "goal": "4h", "remaining": "2h 30m", "breached": False, "paused": True,
        "completed_cycles": 2, "breached_cycles": 1}


def test_a_completed_sla_shows_its_elapsed_time_and_a_fresh_one_that_it_has_not_started() -> None:
    done = {**SLA, "ongoingCycle": None, "completedCycles": SLA["completedCycles"][:1]}
    assert render_field("customfield_10031", done, SD + "sd-sla-field") == {
        "goal": "4h", "elapsed": "6h", "breached": True, "completed_cycles": 1, "breached_cycles": 1}
    fresh = {"id": "1", "name": "Time to first response", "completedCycles": [], "_links": {}}
    assert render_field("customfield_10031", fresh, SD + "sd-sla-field") == "not started"


def test_an_sla_without_friendly_texts_counts_from_the_milliseconds() -> None:
    cycle = {"breached": True, "goalDuration": {"millis": 28800000}, "remainingTime": {"millis": -5400000},
             "withinCalendarHours": False}
    assert render_field("customfield_10032", {"ongoingCycle": cycle}) == {
        "goal": "8h", "remaining": "-1h 30m", "breached": True, "outside_calendar_hours": True}


@pytest.mark.parametrize("custom_type", [SD + "sd-approvals", UNKNOWN])
def test_approvals_keep_the_final_decision_and_each_approvers(custom_type: str | None) -> None:
    assert render_field("customfield_10033", APPROVALS, custom_type) == [
        {"name": "Waiting for approval", "decision": "declined",
         "approvers": {"Carol Díaz": "declined", "Bob Okafor": "pending"}}]


@pytest.mark.parametrize("custom_type", [SD + "vp-origin", UNKNOWN])
def test_the_request_type_shows_its_name_and_the_customers_status(custom_type: str | None) -> None:
    assert render_field("customfield_10010", REQUEST_TYPE, custom_type) == {
        "name": "Get IT help", "status": "Waiting for support"}
    no_status = {k: v for k, v in REQUEST_TYPE.items() if k != "currentStatus"}
    assert render_field("customfield_10010", no_status, custom_type) == "Get IT help"


@pytest.mark.parametrize("custom_type", [SD + "sd-request-feedback", UNKNOWN])
def test_satisfaction_is_a_rating_with_its_comment(custom_type: str | None) -> None:
    assert render_field("customfield_10035", {"rating": 4, "comment": "Quick fix"}, custom_type) == "4/5: Quick fix"
    assert render_field("customfield_10035", {"rating": 2, "comment": {"body": "slow"}}, custom_type) == "2/5: slow"
    assert render_field("customfield_10035", {"rating": 5}, custom_type) == "5/5"


@pytest.mark.parametrize("custom_type", [SD, UNKNOWN])
def test_participants_and_organizations_are_names(custom_type: str | None) -> None:
    participants = custom_type and custom_type + "sd-request-participants"
    organizations = custom_type and custom_type + "sd-customer-organizations"
    assert render_field("customfield_10034", PARTICIPANTS, participants) == ["Frank Moreau"]
    assert render_field("customfield_10036", ORGANIZATIONS, organizations) == ["Acme Corp", "Globex"]


@pytest.mark.parametrize("value", [PARENT_LINK_UNLICENSED, SERVICE_DESK_ERROR, "0|i0000f:", "0|hzzzzz:i"])
@pytest.mark.parametrize("custom_type", ["known", UNKNOWN])
def test_noise_is_left_out(value: Any, custom_type: str | None) -> None:
    types = {str: "com.pyxis.greenhopper.jira:gh-lexo-rank", dict: SD + "sd-sla-field"}
    if value is PARENT_LINK_UNLICENSED:
        types[dict] = "com.atlassian.jpo:jpo-custom-field-parent"
    assert render_field("customfield_10050", value, custom_type and types[type(value)]) is None


def test_an_issue_restriction_is_left_out_unless_it_restricts() -> None:
    assert render_field("issuerestriction", {"issuerestrictions": {}, "shouldDisplay": False}) is None
    restricted = {"issuerestrictions": {"projectrole": [{"id": 10002, "name": "Developers"}]}, "shouldDisplay": True}
    assert "Developers" in json.dumps(render_field("issuerestriction", restricted))


def test_a_premium_parent_link_shows_its_issue() -> None:
    linked = {"hasEpicLinkFieldDependency": False, "showField": True,
              "data": {"id": 10100, "issueKey": "PLAN-3", "keyNum": 3, "title": "Initiative A", "isDone": False}}
    assert render_field("customfield_10050", linked, "com.atlassian.jpo:jpo-custom-field-parent") == \
        "PLAN-3: Initiative A"
    assert render_field("customfield_10050", linked) == "PLAN-3: Initiative A"


@pytest.mark.parametrize("custom_type", [
    "com.atlassian.jira.plugins.jira-development-integration-plugin:devsummarycf", UNKNOWN])
def test_the_development_string_becomes_counts(custom_type: str | None) -> None:
    assert render_field("customfield_10000", DEV_CLOUD, custom_type) == {
        "pull_requests": 2, "pull_request_state": "open", "commits": 5, "branches": 1}
    assert render_field("customfield_10000", "{}", custom_type) is None
    just_the_map = "{pullrequest={dataType=pullrequest, state=DECLINED, stateCount=1}, json=not json}"
    assert render_field("customfield_10000", just_the_map, custom_type) == {
        "pull_requests": 1, "pull_request_state": "declined"}


def test_data_centers_development_string_becomes_counts() -> None:
    dc_type = "com.atlassian.jira.plugins.jira-development-integration-plugin:devsummary"
    expected = {"pull_requests": 1, "pull_request_state": "merged", "builds": 3}
    assert render_field("customfield_10000", DEV_DC, dc_type) == expected == render_field("customfield_10000", DEV_DC)


@pytest.mark.parametrize("custom_type", ["com.atlassian.jira.ext.charting:timeinstatus", UNKNOWN])
def test_time_in_status_is_time_per_status(custom_type: str | None) -> None:
    assert render_field("customfield_10040", TIME_IN_STATUS, custom_type) == {
        "status 10000": "0s (entered 1×)", "status 3": "40m (entered 2×)", "status 10001": "1d 1h 1m (entered 1×)"}


@pytest.mark.parametrize("custom_type", ["com.atlassian.jira.ext.charting:timeinstatus", UNKNOWN])
def test_time_in_status_names_the_statuses_it_knows(custom_type: str | None) -> None:
    # Two statuses named "To Do" (team-managed projects each have their own): each label means one
    # status in every issue, so both carry their id, whichever of them an issue went through.
    labels = status_labels([{"id": "10000", "name": "To Do"}, {"id": "3", "name": "In Progress"},
                            {"id": "10001", "name": "To Do"}, {"id": "7"}, "noise"])
    assert labels == {"10000": "To Do (status 10000)", "3": "In Progress", "10001": "To Do (status 10001)"}
    assert render_field("customfield_10040", TIME_IN_STATUS, custom_type, labels) == {
        "To Do (status 10000)": "0s (entered 1×)", "In Progress": "40m (entered 2×)",
        "To Do (status 10001)": "1d 1h 1m (entered 1×)"}
    assert render_field("customfield_10040", TIME_IN_STATUS, custom_type, {"3": "In Progress"}) == {
        "status 10000": "0s (entered 1×)", "In Progress": "40m (entered 2×)", "status 10001": "1d 1h 1m (entered 1×)"}


STATUSES = [{"id": "3", "name": "In Progress"}]


@pytest.mark.anyio
async def test_the_status_list_is_read_once_by_concurrent_calls() -> None:
    reads = []

    async def read() -> Any:
        reads.append(1)
        await anyio.sleep(0.05)
        return STATUSES

    names = StatusNames()
    async with anyio.create_task_group() as tasks:
        for _ in range(5):
            tasks.start_soon(names.get, read)
    assert await names.get(read) == {"3": "In Progress"} and len(reads) == 1


@pytest.mark.anyio
async def test_a_failed_read_keeps_the_names_read_before_and_is_retried_later(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    outage = [False]

    async def read() -> Any:
        reads.append("read")
        if outage[0]:
            raise JiraUnavailable("Jira did not answer")
        return STATUSES

    names = StatusNames()
    assert await names.get(read) == {"3": "In Progress"}
    monkeypatch.setattr(status_names, "STATUS_LIST_TTL_SECONDS", 0.0)  # stale at once
    outage[0] = True
    assert await names.get(read) == {"3": "In Progress"}, "the names read before were dropped"
    assert await names.get(read) == {"3": "In Progress"} and len(reads) == 2, "retried on every call"
    monkeypatch.setattr(status_names, "RETRY_AFTER_FAILURE_SECONDS", 0.0)  # the retry delay has passed
    outage[0] = False
    assert await names.get(read) == {"3": "In Progress"} and len(reads) == 3


@pytest.mark.anyio
async def test_an_unreadable_status_list_leaves_the_ids() -> None:
    async def refused() -> Any:
        raise JiraError("You do not have permission", status=403)

    assert await StatusNames().get(refused) == {}


def test_a_text_field_that_looks_like_noise_is_kept_when_its_type_says_so() -> None:
    text_field = "com.atlassian.jira.plugin.system.customfieldtypes:textfield"
    assert render_field("customfield_10099", "0|i0000f:", text_field) == "0|i0000f:"
    assert render_field("customfield_10099", "{}", text_field) == "{}"


def test_the_issue_schema_decides_and_noise_disappears_from_a_cloud_issue() -> None:
    raw = {"key": "HELP-1", "fields": {
        "summary": "VPN drops", "customfield_10032": SLA, "customfield_10033": APPROVALS,
        "customfield_10010": REQUEST_TYPE, "customfield_10019": "0|i0000f:",
        "customfield_10050": PARENT_LINK_UNLICENSED,
        "customfield_10041": SERVICE_DESK_ERROR, "issuerestriction": {"issuerestrictions": {}, "shouldDisplay": False},
        "customfield_10000": "{}", "customfield_10040": TIME_IN_STATUS},
        "names": {"customfield_10032": "Time to resolution", "customfield_10033": "Approvals",
                  "customfield_10010": "Request Type", "customfield_10019": "Rank", "customfield_10050": "Parent Link",
                  "customfield_10041": "Satisfaction", "customfield_10000": "Development",
                  "customfield_10040": "Time in Status"},
        "schema": {"customfield_10032": {"type": "sd-servicelevelagreement", "custom": SD + "sd-sla-field"},
                   "customfield_10019": {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-lexo-rank"}}}
    issue = compact_issue(raw, "https://acme.atlassian.net")
    assert set(issue) == {"key", "url", "summary", "Time to resolution", "Approvals", "Request Type", "Time in Status"}
    assert issue["Time to resolution"]["breached_cycles"] == 1 and issue["Request Type"]["name"] == "Get IT help"
    assert issue["Approvals"][0]["approvers"]["Carol Díaz"] == "declined"


def test_odd_values_of_known_types_never_break_the_rendering() -> None:
    for custom_type in ("sd-sla-field", "sd-approvals", "vp-origin", "sd-request-participants",
                        "sd-request-feedback", "sd-customer-organizations"):
        for value in ("text", 3, True, [], [1, None], {"x": 1}, {"ongoingCycle": [1]}, {"requestType": "x"},
                      [{"approvers": "x", "finalDecision": 2}], {"rating": {"x": 1}, "comment": [1]}):
            render_field("customfield_1", value, SD + custom_type)
    for value in ("{json={broken", "{x=1}", 5, {"data": "x", "showField": True}, "1_*:*_x"):
        render_field("customfield_1", value)


@pytest.mark.anyio
@pytest.mark.parametrize("flavour", ["cloud", "dc"])
async def test_the_client_gives_issues_the_types_of_their_custom_fields(
    flavour: str, cloud_sandbox: Any, dc_sandbox: Any
) -> None:
    """Read once from the field list, the types ride along as ``expand=schema`` would bring them."""
    sandbox = cloud_sandbox if flavour == "cloud" else dc_sandbox
    async with direct_client(sandbox) as jira:
        raw = await jira.get_issue("HELP-1", fields=["summary", "customfield_10032", "customfield_10010"])
        page = await jira.search("key = PLAT-1", fields=["summary", "customfield_10019"], limit=1)
    assert raw["schema"] == {"customfield_10032": {"custom": SD + "sd-sla-field"},
                             "customfield_10010": {"custom": SD + "vp-origin"}}
    assert page.issues[0]["schema"] == {"customfield_10019": {"custom": "com.pyxis.greenhopper.jira:gh-lexo-rank"}}
