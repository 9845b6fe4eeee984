"""The REST endpoints of both flavours: shapes, errors, auth and permissions."""

from __future__ import annotations

import re

import httpx2
import pytest
from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.serialize import jira_datetime
from sandbox_helpers import api_version, auth_headers, basic, client_for
from sandbox_spec_tools import adf_errors

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
NOT_FOUND = {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}


def restricted_user(server: SandboxServer):
    return next(u for u in server.users if u.projects is not None)


# --------------------------------------------------------------------------- instance


def test_server_info(client: httpx2.Client, server: SandboxServer) -> None:
    body = client.get(f"/rest/api/{api_version(server.flavour)}/serverInfo").json()
    assert body["deploymentType"] == ("Cloud" if server.flavour == "cloud" else "Server")
    assert body["baseUrl"] == server.url
    assert TIMESTAMP.match(body["serverTime"])
    assert all(isinstance(n, int) for n in body["versionNumbers"])


def test_myself_cloud(cloud_client: httpx2.Client, cloud: SandboxServer) -> None:
    response = cloud_client.get("/rest/api/3/myself")
    body = response.json()
    user = cloud.default_user
    assert body["accountId"] == user.account_id
    assert body["emailAddress"] == user.email and body["displayName"] == user.display_name
    assert body["active"] is True and body["accountType"] == "atlassian"
    assert body["self"] == f"{cloud.url}/rest/api/3/user?accountId={user.account_id}"
    assert "name" not in body and "key" not in body
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["x-aaccountid"] == user.account_id


def test_myself_dc(dc_client: httpx2.Client, dc: SandboxServer) -> None:
    response = dc_client.get("/rest/api/2/myself")
    body = response.json()
    user = dc.default_user
    assert body["name"] == user.name and body["key"] == user.key
    assert body["self"] == f"{dc.url}/rest/api/2/user?username={user.name}"
    assert "accountId" not in body
    assert response.headers["x-ausername"] == user.name


def test_dc_serves_latest_but_not_v3(dc_client: httpx2.Client) -> None:
    assert dc_client.get("/rest/api/latest/myself").status_code == 200
    response = dc_client.get("/rest/api/3/myself")
    assert response.status_code == 404
    assert "errorMessages" in response.json()


def test_fields(client: httpx2.Client, server: SandboxServer) -> None:
    fields = {f["id"]: f for f in client.get(f"/rest/api/{api_version(server.flavour)}/field").json()}
    assert {"summary", "status", "assignee", "description", "comment", "parent"} <= set(fields)
    assert fields["customfield_10016"]["name"] == "Story Points"
    assert fields["customfield_10016"]["custom"] is True
    assert fields["customfield_10016"]["schema"]["customId"] == 10016
    assert fields["customfield_10020"]["name"] == "Sprint"
    assert fields["summary"]["custom"] is False and fields["summary"]["schema"]["system"] == "summary"
    if server.flavour == "dc":
        assert fields["customfield_10014"]["name"] == "Epic Link"
        assert "key" not in fields["summary"]
    else:
        assert "customfield_10014" not in fields
        assert fields["summary"]["key"] == "summary"


def test_projects(client: httpx2.Client, server: SandboxServer) -> None:
    v = api_version(server.flavour)
    listed = client.get(f"/rest/api/{v}/project").json()
    assert [p["key"] for p in listed] == ["PLAT", "MOB", "OPS"]
    assert all(isinstance(p["id"], str) and p["self"].endswith(f"/rest/api/{v}/project/{p['id']}") for p in listed)
    detail = client.get(f"/rest/api/{v}/project/PLAT").json()
    assert detail["key"] == "PLAT" and detail["name"] == "Platform"
    assert detail["components"] and detail["versions"] and detail["issueTypes"]
    assert client.get(f"/rest/api/{v}/project/{detail['id']}").json()["key"] == "PLAT"
    missing = client.get(f"/rest/api/{v}/project/NOPE")
    assert missing.status_code == 404
    assert missing.json() == {"errorMessages": ["No project could be found with key 'NOPE'."], "errors": {}}


# --------------------------------------------------------------------------- issue


def test_get_issue_cloud_shape(cloud_client: httpx2.Client, cloud: SandboxServer) -> None:
    issue = next(i for i in cloud.state.issues if i.issuetype.name == "Bug" and i.description and i.assignee
                 and i.comments)
    body = cloud_client.get(f"/rest/api/3/issue/{issue.key}").json()
    assert body["id"] == str(issue.id) and body["key"] == issue.key
    assert body["self"] == f"{cloud.url}/rest/api/3/issue/{issue.id}"
    f = body["fields"]
    assert f["summary"] == issue.summary
    assert f["status"]["name"] == issue.status.name and f["status"]["id"] == issue.status.id
    assert f["status"]["statusCategory"]["key"] == issue.status.category.key
    assert {"key", "name"} <= set(f["status"]["statusCategory"])
    assert f["issuetype"] == {**f["issuetype"], "name": "Bug", "id": issue.issuetype.id, "subtask": False}
    assert f["priority"]["name"] == issue.priority.name and isinstance(f["priority"]["id"], str)
    assert f["assignee"]["accountId"] == issue.assignee.account_id
    assert {"displayName", "emailAddress", "active"} <= set(f["assignee"])
    assert f["reporter"]["accountId"] == issue.reporter.account_id
    assert f["project"]["key"] == issue.project_key and isinstance(f["project"]["id"], str)
    assert f["created"] == jira_datetime(issue.created) and TIMESTAMP.match(f["created"])
    assert TIMESTAMP.match(f["updated"])
    assert f["labels"] == issue.labels
    assert [c["name"] for c in f["components"]] == [c.name for c in issue.components]
    assert [v["name"] for v in f["fixVersions"]] == [v.name for v in issue.fix_versions]
    assert f["duedate"] == (issue.duedate.isoformat() if issue.duedate else None)
    # ADF description, valid against the ADF schema
    assert f["description"]["type"] == "doc" and f["description"]["version"] == 1
    assert {n["type"] for n in f["description"]["content"]} >= {"paragraph", "codeBlock", "orderedList"}
    assert adf_errors(f["description"]) == []
    comments = f["comment"]
    assert comments["total"] == len(issue.comments) == len(comments["comments"])
    assert comments["startAt"] == 0 and comments["maxResults"] >= comments["total"]
    first = comments["comments"][0]
    assert first["id"] == issue.comments[0].id and first["body"]["type"] == "doc"
    assert first["author"]["accountId"] == issue.comments[0].author.account_id


def test_get_issue_dc_shape(dc_client: httpx2.Client, dc: SandboxServer) -> None:
    issue = next(i for i in dc.state.issues if i.issuetype.name == "Bug" and i.description and i.assignee)
    body = dc_client.get(f"/rest/api/2/issue/{issue.key}").json()
    assert body["self"] == f"{dc.url}/rest/api/2/issue/{issue.id}"
    f = body["fields"]
    assert isinstance(f["description"], str)
    assert "h3. Steps to reproduce" in f["description"] and "{code:" in f["description"]
    assert "# " in f["description"]
    assert f["assignee"]["name"] == issue.assignee.name and f["assignee"]["key"] == issue.assignee.key
    assert "accountId" not in f["assignee"]
    assert "hierarchyLevel" not in f["issuetype"]
    for comment in f["comment"]["comments"]:
        assert isinstance(comment["body"], str)


def test_cloud_v2_uses_wiki_markup(cloud_client: httpx2.Client, cloud: SandboxServer) -> None:
    issue = next(i for i in cloud.state.issues if i.description)
    body = cloud_client.get(f"/rest/api/2/issue/{issue.key}").json()
    assert isinstance(body["fields"]["description"], str)
    assert body["self"].endswith(f"/rest/api/2/issue/{issue.id}")
    assert "accountId" in body["fields"]["reporter"]


def test_issue_by_id_and_lowercase_key(client: httpx2.Client, server: SandboxServer) -> None:
    v = api_version(server.flavour)
    issue = server.state.issue_by_key("PLAT-1")
    assert client.get(f"/rest/api/{v}/issue/{issue.id}").json()["key"] == "PLAT-1"
    assert client.get(f"/rest/api/{v}/issue/plat-1").json()["key"] == "PLAT-1"


def test_fields_parameter(client: httpx2.Client, server: SandboxServer) -> None:
    url = f"/rest/api/{api_version(server.flavour)}/issue/PLAT-2"
    assert set(client.get(url, params={"fields": "summary"}).json()["fields"]) == {"summary"}
    assert set(client.get(url, params={"fields": "summary,status"}).json()["fields"]) == {"summary", "status"}
    assert set(client.get(url, params=[("fields", "summary"), ("fields", "labels")]).json()["fields"]) == \
        {"summary", "labels"}
    everything = set(client.get(url).json()["fields"])
    assert {"comment", "description", "customfield_10016"} <= everything
    no_comment = set(client.get(url, params={"fields": "*all,-comment"}).json()["fields"])
    assert no_comment == everything - {"comment"}
    navigable = set(client.get(url, params={"fields": "*navigable"}).json()["fields"])
    assert "summary" in navigable and "comment" not in navigable
    minus = set(client.get(url, params={"fields": "-description"}).json()["fields"])
    assert minus == navigable - {"description"}


def test_expand(client: httpx2.Client, server: SandboxServer) -> None:
    issue = next(i for i in server.state.issues if i.status.name == "Done" and i.description and i.comments)
    url = f"/rest/api/{api_version(server.flavour)}/issue/{issue.key}"
    body = client.get(url, params={"expand": "renderedFields,names,changelog,schema,transitions"}).json()
    assert body["renderedFields"]["description"].startswith("<")
    assert "<p>" in body["renderedFields"]["comment"]["comments"][0]["body"]
    assert body["names"]["summary"] == "Summary" and body["names"]["customfield_10016"] == "Story Points"
    assert body["schema"]["created"]["type"] == "datetime"
    histories = body["changelog"]["histories"]
    assert histories and histories[0]["items"][0]["field"] == "status"
    assert histories[0]["items"][0]["toString"] == "Done"
    assert body["changelog"]["total"] == len(histories)
    # The workflow reopens a Done issue to To Do or In Progress.
    assert {t["to"]["name"] for t in body["transitions"]} == {"To Do", "In Progress"}
    plain = client.get(url).json()
    assert not {"renderedFields", "names", "changelog", "transitions"} & set(plain)


def test_parent_and_subtasks(client: httpx2.Client, server: SandboxServer) -> None:
    v = api_version(server.flavour)
    store = server.state
    sub = next(i for i in store.issues if i.issuetype.subtask)
    parent = store.parent_of(sub)
    body = client.get(f"/rest/api/{v}/issue/{sub.key}").json()["fields"]
    assert body["parent"]["key"] == parent.key and body["parent"]["id"] == str(parent.id)
    assert body["parent"]["fields"]["summary"] == parent.summary
    assert body["issuetype"]["subtask"] is True
    parent_body = client.get(f"/rest/api/{v}/issue/{parent.key}").json()["fields"]
    assert sub.key in {s["key"] for s in parent_body["subtasks"]}
    story = next(i for i in store.issues if i.issuetype.name == "Story" and store.parent_of(i))
    epic = store.parent_of(story)
    fields = client.get(f"/rest/api/{v}/issue/{story.key}").json()["fields"]
    if server.flavour == "cloud":
        assert fields["parent"]["key"] == epic.key
        assert fields["parent"]["fields"]["issuetype"]["name"] == "Epic"
    else:  # Data Center links epics through the Epic Link custom field
        assert fields["parent"] is None
        assert fields["customfield_10014"] == epic.key


def test_sprint_field_per_flavour(client: httpx2.Client, server: SandboxServer) -> None:
    issue = next(i for i in server.state.issues if i.sprint_ids)
    value = client.get(f"/rest/api/{api_version(server.flavour)}/issue/{issue.key}",
                       params={"fields": "customfield_10020"}).json()["fields"]["customfield_10020"]
    assert len(value) == len(issue.sprint_ids)
    if server.flavour == "cloud":
        assert value[0]["id"] == issue.sprint_ids[0] and value[0]["state"] in ("closed", "active", "future")
    else:
        assert value[0].startswith("com.atlassian.greenhopper.service.sprint.Sprint@")
        assert f"id={issue.sprint_ids[0]}," in value[0]


def test_issue_not_found(client: httpx2.Client, server: SandboxServer) -> None:
    response = client.get(f"/rest/api/{api_version(server.flavour)}/issue/PLAT-99999")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND
    assert client.get(f"/rest/api/{api_version(server.flavour)}/issue/99999999").status_code == 404


# --------------------------------------------------------------------------- auth


def test_missing_credentials_cloud_is_plain_text(cloud: SandboxServer) -> None:
    for path in ("/rest/api/3/myself", "/rest/api/3/issue/PLAT-1", "/rest/api/3/nope"):
        response = httpx2.get(cloud.url + path)
        assert response.status_code == 401
        assert response.text == "Client must be authenticated to access this resource."
        assert response.headers["content-type"].startswith("text/plain")


def test_missing_credentials_dc_is_json(dc: SandboxServer) -> None:
    response = httpx2.get(dc.url + "/rest/api/2/myself")
    assert response.status_code == 401
    body = response.json()
    assert body["errors"] == {} and "not authenticated" in body["errorMessages"][0]


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_wrong_credentials(flavour: str, request: pytest.FixtureRequest) -> None:
    server: SandboxServer = request.getfixturevalue(flavour)
    user = server.default_user
    other = server.users[1]
    bad = [
        {"Authorization": "Bearer not-a-token"},
        basic(user.email if flavour == "cloud" else user.name, "wrong"),
        basic(user.email if flavour == "cloud" else user.name, other.api_token),  # someone else's secret
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Digest abc"},
    ]
    for headers in bad:
        response = httpx2.get(server.url + f"/rest/api/{api_version(flavour)}/myself", headers=headers)
        assert response.status_code == 401, headers
    if flavour == "dc":
        response = httpx2.get(server.url + "/rest/api/2/myself", headers=bad[0])
        assert response.headers["x-seraph-loginreason"] == "AUTHENTICATED_FAILED"


def test_accepted_credentials_cloud(cloud: SandboxServer) -> None:
    user = cloud.users[1]
    for headers in (basic(user.email, user.api_token), {"Authorization": f"Bearer {user.api_token}"},
                    {"Authorization": f"Bearer {user.personal_token}"}):
        body = httpx2.get(cloud.url + "/rest/api/3/myself", headers=headers).json()
        assert body["accountId"] == user.account_id


def test_accepted_credentials_dc(dc: SandboxServer) -> None:
    user = dc.users[1]
    for headers in (basic(user.name, user.api_token), {"Authorization": f"Bearer {user.personal_token}"}):
        body = httpx2.get(dc.url + "/rest/api/2/myself", headers=headers).json()
        assert body["name"] == user.name
    # Data Center logs in by user name, not email.
    assert httpx2.get(dc.url + "/rest/api/2/myself", headers=basic(user.email, user.api_token)).status_code == 401


# --------------------------------------------------------------------------- permissions


def test_restricted_user_sees_only_granted_projects(server: SandboxServer) -> None:
    user = restricted_user(server)
    assert user.projects == {"MOB", "PLAT"} and user.edit_projects == {"MOB"}
    v = api_version(server.flavour)
    with client_for(server, user) as c:
        assert [p["key"] for p in c.get(f"/rest/api/{v}/project").json()] == ["PLAT", "MOB"]
        assert c.get(f"/rest/api/{v}/project/OPS").status_code == 404
        hidden = c.get(f"/rest/api/{v}/issue/OPS-1")
        assert hidden.status_code == 404 and hidden.json() == NOT_FOUND
        assert c.get(f"/rest/api/{v}/issue/MOB-1").status_code == 200
        assert c.get(f"/rest/api/{v}/issue/PLAT-1").status_code == 200  # read-only, but visible
        hidden_id = server.state.issue_by_key("OPS-1").id
        assert c.get(f"/rest/api/{v}/issue/{hidden_id}").status_code == 404


def test_default_user_sees_everything(client: httpx2.Client, server: SandboxServer) -> None:
    v = api_version(server.flavour)
    for key in ("PLAT-1", "MOB-1", "OPS-1"):
        assert client.get(f"/rest/api/{v}/issue/{key}", params={"fields": "summary"}).status_code == 200


def test_auth_headers_helper_round_trip(server: SandboxServer) -> None:
    response = httpx2.get(server.url + f"/rest/api/{api_version(server.flavour)}/myself",
                          headers=auth_headers(server.flavour, server.users[2]))
    assert response.json()["displayName"] == server.users[2].display_name
