"""Attachments (real files), issue links, remote links and watchers."""

from __future__ import annotations

import json
import struct
import zlib

import httpx2
import pytest
from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.routes import attachments as routes_attachments
from jiraplug.sandbox.files import PNG_SIGNATURE
from sandbox_helpers import client_for, create_issue, rest, rich, user_named
from sandbox_spec_tools import spec_checked_client

NO_CHECK = {"X-Atlassian-Token": "no-check"}


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking its signature and IHDR CRC."""
    assert data.startswith(PNG_SIGNATURE)
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    header, crc = data[16:29], struct.unpack(">I", data[29:33])[0]
    assert zlib.crc32(b"IHDR" + header) & 0xFFFFFFFF == crc
    assert data.endswith(b"IEND\xaeB`\x82")
    return struct.unpack(">II", header[:8])


# --------------------------------------------------------------------------- attachments


def test_seeded_files_are_real(client: httpx2.Client, server: SandboxServer) -> None:
    attachments = [a for i in server.state.issues for a in i.attachments]
    kinds = {a.mime_type for a in attachments}
    assert {"image/png", "text/plain", "application/json"} <= kinds
    png = next(a for a in attachments if a.mime_type == "image/png")
    assert png_size(png.content) == (48, 32)
    json.loads(next(a for a in attachments if a.mime_type == "application/json").content)
    assert "INFO" in next(a for a in attachments if a.mime_type == "text/plain").content.decode()
    issue = next(i for i in server.state.issues if i.attachments)
    field = client.get(f"{rest(server)}/issue/{issue.key}", params={"fields": "attachment"}).json()["fields"]
    listed = field["attachment"][0]
    assert listed["filename"] == issue.attachments[0].filename and listed["size"] == issue.attachments[0].size
    meta = client.get(f"{rest(server)}/attachment/{listed['id']}").json()
    assert meta["content"] == listed["content"] and meta["mimeType"] == issue.attachments[0].mime_type
    assert client.get(f"{rest(server)}/attachment/meta").json() == {"enabled": True, "uploadLimit": 10485760}


def test_download_per_flavour(client: httpx2.Client, server: SandboxServer) -> None:
    attachment = next(a for i in server.state.issues for a in i.attachments if a.mime_type == "image/png")
    content_url = client.get(f"{rest(server)}/attachment/{attachment.id}").json()["content"]
    if server.flavour == "cloud":
        assert content_url == f"{server.url}/rest/api/3/attachment/content/{attachment.id}"
        redirect = client.get(content_url)
        assert redirect.status_code == 303
        media = httpx2.get(redirect.headers["location"])  # a signed URL: no credentials needed
        assert media.status_code == 200 and media.content == attachment.content
        assert media.headers["content-type"] == "image/png"
        direct = client.get(content_url, params={"redirect": "false"})
        assert direct.content == attachment.content
        forged = httpx2.get(redirect.headers["location"].split("?")[0] + "?token=forged")
        assert forged.status_code == 403
    else:
        assert content_url == f"{server.url}/secure/attachment/{attachment.id}/{attachment.filename}"
        assert client.get("/rest/api/2/attachment/content/1").status_code == 404
    secure = client.get(f"/secure/attachment/{attachment.id}/{attachment.filename}")
    assert secure.status_code == 200 and secure.content == attachment.content
    assert "attachment; filename*=UTF-8''" in secure.headers["content-disposition"]
    assert httpx2.get(f"{server.url}/secure/attachment/{attachment.id}/{attachment.filename}").status_code == 401
    assert client.get(f"/secure/attachment/{attachment.id}/other.png").status_code == 404


def test_upload_and_delete(jira: httpx2.Client, wserver: SandboxServer) -> None:
    key = create_issue(jira, wserver)
    url = f"{rest(wserver)}/issue/{key}/attachments"
    files = [("file", ("notes.txt", b"line one\n", "text/plain")),
             ("file", ("dir/trace.json", b'{"ok": true}', "application/octet-stream"))]
    refused = jira.post(url, files=files)
    assert refused.status_code == 403 and refused.text == "XSRF check failed"
    response = jira.post(url, files=files, headers=NO_CHECK)
    assert response.status_code == 200
    uploaded = response.json()
    assert [(a["filename"], a["mimeType"], a["size"]) for a in uploaded] == [
        ("notes.txt", "text/plain", 9), ("trace.json", "application/json", 12)]
    issue = wserver.state.issue_by_key(key)
    assert [a.content for a in wserver.state.attachments_of(key)] == [b"line one\n", b'{"ok": true}']
    assert [i.to_string for h in issue.changelog for i in h.items if i.field == "Attachment"] == \
        ["notes.txt", "trace.json"]
    listed = jira.get(f"{rest(wserver)}/issue/{key}", params={"fields": "attachment"}).json()["fields"]["attachment"]
    assert [a["id"] for a in listed] == [a["id"] for a in uploaded]
    assert jira.get(f"/secure/attachment/{uploaded[0]['id']}/notes.txt").content == b"line one\n"
    assert jira.post(url, headers=NO_CHECK, data={"other": "x"}, files={"x": ("a", b"a")}).status_code == 400
    assert jira.delete(f"{rest(wserver)}/attachment/{uploaded[0]['id']}").status_code == 204
    assert jira.get(f"{rest(wserver)}/attachment/{uploaded[0]['id']}").status_code == 404
    assert [a.filename for a in issue.attachments] == ["trace.json"]


def test_upload_limits_and_permissions(jira: httpx2.Client, wserver: SandboxServer,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes_attachments, "UPLOAD_LIMIT", 16)
    key = create_issue(jira, wserver, project="MOB")
    url = f"{rest(wserver)}/issue/{key}/attachments"
    big = jira.post(url, headers=NO_CHECK, files={"file": ("big.bin", b"x" * 17)})
    assert big.status_code == 413 and "too large" in big.json()["errorMessages"][0]
    alice_file = jira.post(url, headers=NO_CHECK, files={"file": ("a.txt", b"alice")}).json()[0]
    with spec_checked_client(wserver, user_named(wserver, "erin")) as client:
        assert client.post(f"{rest(wserver)}/issue/PLAT-6/attachments", headers=NO_CHECK,
                           files={"file": ("e.txt", b"e")}).status_code == 403
        assert client.delete(f"{rest(wserver)}/attachment/{alice_file['id']}").status_code == 403
        own = client.post(url, headers=NO_CHECK, files={"file": ("e.txt", b"erin")}).json()[0]
        assert client.delete(f"{rest(wserver)}/attachment/{own['id']}").status_code == 204
        hidden = next(a for i in wserver.state.issues if i.project_key == "OPS" for a in i.attachments)
        assert client.get(f"{rest(wserver)}/attachment/{hidden.id}").status_code == 404


# --------------------------------------------------------------------------- issue links


def test_link_types(client: httpx2.Client, server: SandboxServer) -> None:
    types = client.get(f"{rest(server)}/issueLinkType").json()["issueLinkTypes"]
    blocks = next(t for t in types if t["name"] == "Blocks")
    assert (blocks["inward"], blocks["outward"]) == ("is blocked by", "blocks")
    assert client.get(f"{rest(server)}/issueLinkType/{blocks['id']}").json() == blocks


def test_link_lifecycle(jira: httpx2.Client, wserver: SandboxServer) -> None:
    source, target = create_issue(jira, wserver, summary="Blocker"), create_issue(jira, wserver, summary="Blocked")
    payload = {"type": {"name": "Blocks"}, "outwardIssue": {"key": source}, "inwardIssue": {"key": target},
               "comment": {"body": rich(wserver, "Linked by the test")}}
    response = jira.post(f"{rest(wserver)}/issueLink", json=payload)
    assert response.status_code == 201 and response.content == b""
    link_url = response.headers["location"]
    assert jira.post(f"{rest(wserver)}/issueLink", json=payload).status_code == 201  # no duplicate link
    store = wserver.state
    assert len(store.issue_by_key(source).links) == 1 and len(store.issue_by_key(source).comments) == 2
    from_source = jira.get(f"{rest(wserver)}/issue/{source}").json()["fields"]["issuelinks"]
    from_target = jira.get(f"{rest(wserver)}/issue/{target}").json()["fields"]["issuelinks"]
    assert from_source[0]["outwardIssue"]["key"] == target  # "Blocker blocks Blocked"
    assert from_target[0]["inwardIssue"]["key"] == source  # "Blocked is blocked by Blocker"
    link = jira.get(link_url).json()
    assert link["outwardIssue"]["key"] == source and link["inwardIssue"]["key"] == target
    found = jira.post("/rest/api/3/search/jql", json={"jql": f"issue in linkedIssues({source})",
                                                      "fields": ["key"]}).json()["issues"] \
        if wserver.flavour == "cloud" else \
        jira.get("/rest/api/2/search", params={"jql": f"issue in linkedIssues({source})"}).json()["issues"]
    assert [i["key"] for i in found] == [target]
    assert jira.delete(link_url).status_code == 204
    assert jira.get(link_url).status_code == 404 and store.issue_by_key(target).links == []
    assert [i.field for h in store.issue_by_key(target).changelog for i in h.items] == ["Link", "Link"]


def test_link_errors(jira: httpx2.Client, wserver: SandboxServer) -> None:
    url = f"{rest(wserver)}/issueLink"
    unknown = jira.post(url, json={"type": {"name": "Causes"}, "outwardIssue": {"key": "PLAT-1"},
                                   "inwardIssue": {"key": "PLAT-2"}})
    assert unknown.status_code == 404 and "Causes" in unknown.json()["errorMessages"][0]
    missing = jira.post(url, json={"type": {"name": "Blocks"}, "outwardIssue": {"key": "PLAT-1"},
                                   "inwardIssue": {"key": "PLAT-99999"}})
    assert missing.status_code == 404
    assert jira.post(url, json={"outwardIssue": {"key": "PLAT-1"}, "inwardIssue": {"key": "PLAT-2"}}).status_code \
        == 400
    with spec_checked_client(wserver, user_named(wserver, "erin")) as client:
        assert client.post(url, json={"type": {"name": "Relates"}, "outwardIssue": {"key": "PLAT-1"},
                                      "inwardIssue": {"key": "MOB-1"}}).status_code == 403
        assert client.post(url, json={"type": {"name": "Relates"}, "outwardIssue": {"key": "MOB-1"},
                                      "inwardIssue": {"key": "OPS-1"}}).status_code == 404


# --------------------------------------------------------------------------- remote links


def test_remote_links(jira: httpx2.Client, wserver: SandboxServer) -> None:
    seeded = next(i for i in wserver.state.issues if i.remote_links)
    listed = jira.get(f"{rest(wserver)}/issue/{seeded.key}/remotelink").json()
    assert listed[0]["object"]["url"] == seeded.remote_links[0].url
    key = create_issue(jira, wserver)
    url = f"{rest(wserver)}/issue/{key}/remotelink"
    payload = {"globalId": "github=example/plat/pull/7", "relationship": "mentioned in",
               "application": {"type": "com.github", "name": "GitHub"},
               "object": {"url": "https://github.com/example/plat/pull/7", "title": "PR #7"}}
    created = jira.post(url, json=payload)
    assert created.status_code == 201 and created.json()["self"].endswith(f"/remotelink/{created.json()['id']}")
    payload["object"]["title"] = "PR #7 (rebased)"
    again = jira.post(url, json=payload)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]  # upsert by globalId
    one = jira.get(f"{url}/{created.json()['id']}").json()
    assert one["object"]["title"] == "PR #7 (rebased)" and one["application"]["name"] == "GitHub"
    assert jira.get(url, params={"globalId": payload["globalId"]}).json()["id"] == created.json()["id"]
    bad = jira.post(url, json={"object": {"url": "https://x"}})
    assert bad.status_code == 400 and bad.json()["errors"] == {"title": "'title' is required."}
    second = jira.post(url, json={"object": {"url": "https://y", "title": "Y"}}).json()
    assert jira.delete(url, params={"globalId": payload["globalId"]}).status_code == 204
    assert jira.delete(f"{url}/{second['id']}").status_code == 204
    assert jira.get(url).json() == [] and jira.get(f"{url}/{second['id']}").status_code == 404


# --------------------------------------------------------------------------- watchers


def test_watchers(jira: httpx2.Client, wserver: SandboxServer) -> None:
    key = create_issue(jira, wserver, project="MOB")
    url = f"{rest(wserver)}/issue/{key}/watchers"
    issue = wserver.state.issue_by_key(key)
    stamp = issue.updated
    carol, erin = user_named(wserver, "carol"), user_named(wserver, "erin")
    ident = (lambda u: u.account_id) if wserver.flavour == "cloud" else (lambda u: u.name)
    param = "accountId" if wserver.flavour == "cloud" else "username"
    assert jira.post(url, json=ident(carol)).status_code == 204
    body = jira.get(url).json()
    assert body["watchCount"] == 2 and body["isWatching"] is True
    assert [w["displayName"] for w in body["watchers"]] == ["Alice Nguyen", "Carol Díaz"]
    assert jira.delete(url, params={param: ident(wserver.default_user)}).status_code == 204
    assert jira.get(url).json()["isWatching"] is False and issue.updated == stamp  # watching is not an edit
    assert jira.post(url, content=b"").status_code == 204 and wserver.state.watchers_of(key)[-1].name == "alice"
    assert jira.post(url, json={"accountId": "x"}).status_code == 400
    assert jira.post(url, json="nobody").status_code == 404
    assert jira.delete(url).status_code == 400
    with spec_checked_client(wserver, erin) as client:
        plat = f"{rest(wserver)}/issue/PLAT-7/watchers"
        assert client.post(plat, content=b"").status_code == 204  # watching needs only browse
        assert client.post(plat, json=ident(carol)).status_code == 403
        assert client.delete(plat, params={param: ident(erin)}).status_code == 204
    ops_issue = f"{rest(wserver)}/issue/OPS-7/watchers"
    refused = jira.post(ops_issue, json=ident(erin))
    assert refused.status_code == 400 and "permission to view" in refused.json()["errorMessages"][0]


def test_watch_count_is_per_issue_and_viewer(server: SandboxServer) -> None:
    issue = next(i for i in server.state.issues if len(i.watchers) >= 2)
    watcher = issue.watchers[1]
    with client_for(server, watcher) as c:
        watches = c.get(f"{rest(server)}/issue/{issue.key}", params={"fields": "watches"}).json()["fields"]["watches"]
    assert watches["watchCount"] == len(issue.watchers) and watches["isWatching"] is True
