"""LocalJira's write endpoints over raw HTTP: Jira's shapes, statuses and error bodies, both flavours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.localjira import LocalJira
from bot.localjira.writes import IssueType
from core.jira.markup import text_to_adf, text_to_wiki
from core.jira.text import adf_to_text
from tests.integration.jira_people import (
    ALICE_EMAIL,
    ALICE_TOKEN,
    SERVICE_EMAIL,
    SERVICE_TOKEN,
    alice_id,
    header,
    local_jira,
    maya_id,
)


@pytest_asyncio.fixture(params=["cloud", "datacenter"])
async def jira(request: pytest.FixtureRequest) -> AsyncIterator[LocalJira]:
    async with local_jira(request.param) as server:
        yield server


@pytest_asyncio.fixture
async def http(jira: LocalJira) -> AsyncIterator[aiohttp.ClientSession]:
    auth = header(jira.flavour, SERVICE_EMAIL, SERVICE_TOKEN)
    async with aiohttp.ClientSession(headers={"Authorization": auth}) as session:
        yield session


def api(jira: LocalJira) -> str:
    return f"{jira.base_url}/rest/api/{'3' if jira.flavour == 'cloud' else '2'}"


async def call(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.request(method, url, **kwargs) as response:
        text = await response.text()
        return response.status, (None if not text else await response.json())


def body(jira: LocalJira, text: str) -> Any:
    return text_to_adf(text) if jira.flavour == "cloud" else text_to_wiki(text)


async def test_create_validates_like_jira_and_reports_every_field(
    jira: LocalJira, http: aiohttp.ClientSession
) -> None:
    wrong_body = "plain string" if jira.flavour == "cloud" else {"type": "doc", "version": 1, "content": []}
    subtask = "Subtask" if jira.flavour == "cloud" else "Sub-task"
    fields = {
        "project": {"key": "PAY"}, "issuetype": {"name": subtask},
        "summary": "x" * 256, "description": wrong_body, "priority": {"id": "9"},
        "assignee": {"accountId" if jira.flavour == "cloud" else "name": "ghost"}, "customfield_1": 1,
    }  # fmt: skip
    status, answer = await call(http, "POST", f"{api(jira)}/issue", json={"fields": fields})
    assert status == 400
    assert answer["errorMessages"] == []
    assert answer["errors"] == {
        "customfield_1": (
            "Field 'customfield_1' cannot be set. It is not on the appropriate screen, or unknown."
        ),
        "parent": "Issue type is a sub-task but parent issue key or id not specified.",
        "summary": "Summary must be less than 255 characters.",
        "description": (
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            if jira.flavour == "cloud"
            else "Operation value must be a string"
        ),
        "priority": "The priority selected is invalid.",
        "assignee": "User 'ghost' cannot be assigned issues.",
    }
    for summary, message in [
        ("", "You must specify a summary of the issue."),
        ("two\nlines", "The summary is invalid because it contains newline characters."),
    ]:
        fields = {"project": {"key": "PAY"}, "issuetype": {"id": "10000"}, "summary": summary}
        status, answer = await call(http, "POST", f"{api(jira)}/issue", json={"fields": fields})
        assert (status, answer["errors"]) == (400, {"summary": message})
    assert len(jira.issues) == 5


async def test_create_answers_201_and_the_issue_reads_back_in_both_versions(
    jira: LocalJira, http: aiohttp.ClientSession
) -> None:
    fields = {
        "project": {"key": "PAY"}, "issuetype": {"id": "10000"}, "summary": "Epic work",
        "description": body(jira, "See <https://x.example/a|the doc>, *not bold*."), "labels": ["slack"],
    }  # fmt: skip
    status, created = await call(http, "POST", f"{api(jira)}/issue", json={"fields": fields})
    assert status == 201
    assert created == {"id": created["id"], "key": "PAY-6", "self": f"{api(jira)}/issue/{created['id']}"}
    stored = jira.issues["PAY-6"]["fields"]
    assert (
        stored["description"] == r"See [the doc|https://x.example/a], \*not bold\*."
    )  # wiki, as v2 shows it
    assert stored["status"]["name"] == "To Do"
    assert stored["labels"] == ["slack"]
    if jira.flavour == "cloud":  # the v3 read gives an ADF document with the link as a link
        _, issue = await call(http, "GET", f"{api(jira)}/issue/PAY-6", params={"fields": "description"})
        assert adf_to_text(issue["fields"]["description"]) == "See the doc (https://x.example/a), *not bold*."


async def test_createmeta_and_priorities_in_each_flavours_shape(
    jira: LocalJira, http: aiohttp.ClientSession
) -> None:
    url = f"{api(jira)}/issue/createmeta/PAY/issuetypes"
    status, page = await call(http, "GET", url, params={"startAt": "1", "maxResults": "2"})
    assert status == 200
    values = page["issueTypes"] if jira.flavour == "cloud" else page["values"]
    assert [v["name"] for v in values] == ["Bug", "Story"]
    assert (page["startAt"], page["maxResults"], page["total"]) == (1, 2, 5)
    if jira.flavour == "datacenter":
        assert page["isLast"] is False
    assert (await call(http, "GET", f"{api(jira)}/issue/createmeta/NOPE/issuetypes"))[0] == 404
    jira.set_issue_types("PAY", [IssueType("7", "Incident")])
    _, page = await call(http, "GET", url)
    assert [(v["id"], v["name"], v["subtask"]) for v in page.get("issueTypes") or page["values"]] == [
        ("7", "Incident", False)
    ]
    jira.forbid(header(jira.flavour, SERVICE_EMAIL, SERVICE_TOKEN), "create")
    _, page = await call(http, "GET", url)
    assert page["total"] == 0  # Jira shows nothing rather than refusing
    status, priorities = await call(http, "GET", f"{jira.base_url}/rest/api/2/priority")
    assert status == 200
    assert [(p["id"], p["name"]) for p in priorities] == [
        ("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest"),
    ]  # fmt: skip


async def test_transitions_endpoint(jira: LocalJira, http: aiohttp.ClientSession) -> None:
    url = f"{api(jira)}/issue/PAY-1/transitions"
    status, listed = await call(http, "GET", url)
    assert status == 200
    assert [(t["id"], t["to"]["name"]) for t in listed["transitions"]] == [
        ("11", "To Do"), ("41", "In Review"), ("51", "Blocked"), ("31", "Done"),
    ]  # fmt: skip
    assert listed["transitions"][3]["to"]["statusCategory"]["key"] == "done"
    status, answer = await call(http, "POST", url, json={"transition": {"id": "61"}})
    assert (status, answer["errorMessages"]) == (400, ["Transition id '61' is not valid for this issue."])
    assert (await call(http, "POST", url, json={}))[0] == 400
    before = jira.issues["PAY-1"]["fields"]["updated"]
    assert await call(http, "POST", url, json={"transition": {"id": "31"}}) == (204, None)
    fields = jira.issues["PAY-1"]["fields"]
    assert (fields["status"]["name"], fields["resolution"]["name"]) == ("Done", "Done")
    assert fields["updated"] > before
    assert await call(http, "POST", url, json={"transition": {"id": "61"}}) == (204, None)
    fields = jira.issues["PAY-1"]["fields"]
    assert (fields["status"]["name"], fields["resolution"], fields["resolutiondate"]) == (
        "Reopened",
        None,
        None,
    )
    assert (await call(http, "GET", f"{api(jira)}/issue/PAY-99/transitions"))[0] == 404


async def test_assignee_endpoint(jira: LocalJira, http: aiohttp.ClientSession) -> None:
    url = f"{api(jira)}/issue/PAY-1/assignee"
    by = "accountId" if jira.flavour == "cloud" else "name"
    assert await call(http, "PUT", url, json={by: alice_id(jira.flavour)}) == (204, None)
    assert jira.issues["PAY-1"]["fields"]["assignee"]["displayName"] == "Alice Example"
    assert await call(http, "PUT", url, json={by: None}) == (204, None)
    assert jira.issues["PAY-1"]["fields"]["assignee"] is None
    status, answer = await call(http, "PUT", url, json={by: "nobody"})
    assert (status, answer["errors"]) == (400, {"assignee": "User 'nobody' cannot be assigned issues."})
    if jira.flavour == "cloud":  # GDPR strict mode: usernames are gone
        status, answer = await call(http, "PUT", url, json={"name": "maya"})
        assert status == 400
        assert "accountId" in answer["errorMessages"][0]


async def test_comment_endpoint(jira: LocalJira, http: aiohttp.ClientSession) -> None:
    url = f"{api(jira)}/issue/PAY-2/comment"
    status, comment = await call(http, "POST", url, json={"body": body(jira, "First!")})
    assert status == 201
    assert comment["author"]["displayName"] == "Agent PM"
    if jira.flavour == "cloud":
        assert adf_to_text(comment["body"]) == "First!"
    else:
        assert comment["body"] == "First!"
    status, answer = await call(http, "POST", url, json={"body": body(jira, " ")})
    assert status == 400
    assert "comment" in answer["errors"]
    _, listed = await call(http, "GET", url)
    assert listed["total"] == 1


async def test_forbid_answers_403_and_allow_restores(jira: LocalJira, http: aiohttp.ClientSession) -> None:
    service = header(jira.flavour, SERVICE_EMAIL, SERVICE_TOKEN)
    jira.forbid(service, "comment")
    url = f"{api(jira)}/issue/PAY-2/comment"
    status, answer = await call(http, "POST", url, json={"body": body(jira, "hi")})
    assert (status, answer) == (
        403, {"errorMessages": ["You do not have permission to comment on this issue."], "errors": {}}
    )  # fmt: skip
    jira.allow(service, "comment")
    assert (await call(http, "POST", url, json={"body": body(jira, "hi")}))[0] == 201
    jira.forbid(service, "browse")
    assert (await call(http, "GET", f"{api(jira)}/issue/PAY-2"))[0] == 404
    with pytest.raises(ValueError, match="unknown action"):
        jira.forbid(service, "delete")  # type: ignore[arg-type]
    alice = header(jira.flavour, ALICE_EMAIL, ALICE_TOKEN)
    async with aiohttp.ClientSession(headers={"Authorization": alice}) as as_alice:
        assert (await call(as_alice, "GET", f"{api(jira)}/issue/PAY-2"))[0] == 200  # only the service account


async def test_assignable_user_search(jira: LocalJira, http: aiohttp.ClientSession) -> None:
    url = f"{api(jira)}/user/assignable/search"
    text = "query" if jira.flavour == "cloud" else "username"
    status, users = await call(http, "GET", url, params={"project": "PAY", text: "chen"})
    assert status == 200
    assert [u["displayName"] for u in users] == ["Maya Chen"]
    user_id = users[0]["accountId"] if jira.flavour == "cloud" else users[0]["name"]
    assert user_id == maya_id(jira.flavour)
    assert (await call(http, "GET", url, params={text: "x"}))[0] == 400
    assert (await call(http, "GET", url, params={"project": "NOPE"}))[0] == 404
    if jira.flavour == "cloud":
        assert (await call(http, "GET", url, params={"project": "PAY", "username": "maya"}))[0] == 400
