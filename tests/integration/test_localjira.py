"""LocalJira driven over real HTTP with aiohttp, so the fake stays faithful to Jira's wire behaviour."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.localjira import Flavour, LocalJira, wiki_to_adf

BASE = datetime(2026, 10, 2, 9, 0, 0, tzinfo=UTC)
HADOOP = Path(__file__).resolve().parents[3] / "shared" / "data" / "apache-hadoop-jira.jsonl.gz"
CLOUD_SEARCH = "/rest/api/3/search/jql"
DC_SEARCH = "/rest/api/2/search"
ORDERED = "ORDER BY updated ASC, key ASC"
FLAVOURS: tuple[Flavour, ...] = ("cloud", "datacenter")


def stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def issue(
    key: str, updated: datetime, *, description: str | None = "text", issue_id: int = 0
) -> dict[str, Any]:
    project, number = key.split("-")
    return {
        "id": str(issue_id or 20000 + int(number)),
        "key": key,
        "fields": {
            "summary": f"Summary of {key}",
            "description": description,
            "created": stamp(BASE - timedelta(days=30)),
            "updated": stamp(updated),
            "status": {"name": "Open"},
            "project": {"key": project, "name": f"Project {project}"},
        },
    }


def generated(count: int, project: str = "GEN") -> list[dict[str, Any]]:
    """Issues whose ``updated`` values tie in groups of three within the same second."""
    return [issue(f"{project}-{n}", BASE + timedelta(seconds=n // 3)) for n in range(1, count + 1)]


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture
async def cloud() -> AsyncIterator[LocalJira]:
    async with LocalJira(generated(250)) as server:
        yield server


@pytest_asyncio.fixture
async def dc() -> AsyncIterator[LocalJira]:
    async with LocalJira(generated(250), flavour="datacenter") as server:
        yield server


async def call(
    http: aiohttp.ClientSession, jira: LocalJira, method: str, path: str, **kwargs: Any
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with http.request(method, jira.base_url + path, **kwargs) as resp:
        return resp.status, await resp.json(), resp


async def page_cloud(
    http: aiohttp.ClientSession, jira: LocalJira, jql: str, size: int = 100, fields: Any = "*all"
) -> tuple[list[dict[str, Any]], int]:
    issues: list[dict[str, Any]] = []
    token: str | None = None
    pages = 0
    while True:
        body: dict[str, Any] = {"jql": jql, "maxResults": size, "fields": fields}
        if token:
            body["nextPageToken"] = token
        status, page, _ = await call(http, jira, "POST", CLOUD_SEARCH, json=body)
        assert status == 200, page
        assert "total" not in page
        issues += page["issues"]
        pages += 1
        token = page.get("nextPageToken")
        assert page["isLast"] is (token is None)
        if page["isLast"]:
            return issues, pages


async def page_dc(
    http: aiohttp.ClientSession, jira: LocalJira, jql: str, size: int = 100, fields: str = "*all"
) -> tuple[list[dict[str, Any]], int]:
    issues: list[dict[str, Any]] = []
    pages = 0
    while True:
        params = {"jql": jql, "startAt": str(len(issues)), "maxResults": str(size), "fields": fields}
        status, page, _ = await call(http, jira, "GET", DC_SEARCH, params=params)
        assert status == 200, page
        assert page["startAt"] == len(issues)
        issues += page["issues"]
        pages += 1
        if not page["issues"] or len(issues) >= page["total"]:
            assert len(issues) == page["total"]
            return issues, pages


def order_key(found: dict[str, Any]) -> tuple[str, int]:
    return found["fields"]["updated"], int(found["key"].split("-")[1])


@pytest.mark.parametrize("flavour", FLAVOURS)
async def test_pages_through_250_issues_exactly_once(http: aiohttp.ClientSession, flavour: Flavour) -> None:
    async with LocalJira(generated(250), flavour=flavour) as jira:
        pager = page_cloud if flavour == "cloud" else page_dc
        found, pages = await pager(http, jira, f'project = "GEN" {ORDERED}')
        base_url = jira.base_url
    keys = [i["key"] for i in found]
    assert pages == 3
    assert len(keys) == 250
    assert len(set(keys)) == 250
    assert found == sorted(found, key=order_key)
    api = "3" if flavour == "cloud" else "2"
    assert found[0]["self"] == f"{base_url}/rest/api/{api}/issue/{found[0]['id']}"


async def test_get_search_and_default_key_order(http: aiohttp.ClientSession, cloud: LocalJira) -> None:
    params = {"jql": "project = gen", "maxResults": "5", "fields": "summary"}
    status, page, _ = await call(http, cloud, "GET", CLOUD_SEARCH, params=params)
    assert status == 200
    assert [i["key"] for i in page["issues"]] == ["GEN-1", "GEN-2", "GEN-3", "GEN-4", "GEN-5"]
    params["nextPageToken"] = page["nextPageToken"]
    status, page, _ = await call(http, cloud, "GET", CLOUD_SEARCH, params=params)
    assert page["issues"][0]["key"] == "GEN-6"


async def test_updated_filter_at_millisecond_precision_with_ties_across_pages(
    http: aiohttp.ClientSession,
) -> None:
    tied = BASE + timedelta(hours=1)
    issues = [issue(f"TIE-{n}", tied) for n in range(1, 13)]  # 12 issues in the same millisecond
    issues += [
        issue("TIE-13", tied + timedelta(milliseconds=1)),
        issue("TIE-14", tied - timedelta(seconds=1)),
    ]
    for flavour in FLAVOURS:
        async with LocalJira(issues, flavour=flavour) as jira:
            pager = page_cloud if flavour == "cloud" else page_dc
            found, pages = await pager(
                http, jira, f"project = TIE AND updated >= {ms(tied)} {ORDERED}", size=5
            )
            assert pages == 3
            assert [i["key"] for i in found] == [f"TIE-{n}" for n in range(1, 14)]  # TIE-2 before TIE-10
            found, _ = await pager(http, jira, f"project = TIE AND updated > {ms(tied)} {ORDERED}")
            assert [i["key"] for i in found] == ["TIE-13"]
            found, _ = await pager(http, jira, f"project = TIE AND updated < {ms(tied)} ORDER BY updated ASC")
            assert [i["key"] for i in found] == ["TIE-14"]
            jql = f"project in (TIE) AND updated <= {ms(tied)} AND updated >= {ms(tied)} ORDER BY key ASC"
            found, _ = await pager(http, jira, jql)
            assert len(found) == 12


async def test_old_cloud_search_is_gone_and_dc_has_no_v3(
    http: aiohttp.ClientSession, cloud: LocalJira, dc: LocalJira
) -> None:
    for method, path in (("GET", "/rest/api/3/search"), ("POST", "/rest/api/3/search"), ("GET", DC_SEARCH)):
        status, body, _ = await call(http, cloud, method, path, params={"jql": "project = GEN"})
        assert status == 410
        assert "/rest/api/3/search/jql" in body["errorMessages"][0]
    status, _, _ = await call(http, dc, "GET", "/rest/api/3/serverInfo")
    assert status == 404
    status, _, _ = await call(http, dc, "GET", "/rest/api/2/search/jql", params={"jql": "project = GEN"})
    assert status == 404
    status, info, _ = await call(http, dc, "GET", "/rest/api/2/serverInfo")
    assert (info["deploymentType"], info["version"], info["baseUrl"]) == ("Server", "9.12.4", dc.base_url)
    status, info, _ = await call(http, cloud, "GET", "/rest/api/3/serverInfo")
    assert (info["deploymentType"], info["version"]) == ("Cloud", "1001.0.0-SNAPSHOT")


async def test_bulkfetch(http: aiohttp.ClientSession, cloud: LocalJira) -> None:
    cloud.move("GEN-3", "NEW-1", "NEW")
    body = {"issueIdsOrKeys": ["GEN-1", "20002", "GEN-3", "GEN-999", "gen-1"], "fields": ["summary"]}
    status, result, _ = await call(http, cloud, "POST", "/rest/api/3/issue/bulkfetch", json=body)
    assert status == 200
    assert [i["key"] for i in result["issues"]] == ["GEN-1", "GEN-2", "NEW-1"]
    assert result["issues"][0]["fields"] == {"summary": "Summary of GEN-1"}
    assert result["issueErrors"] == []  # like Cloud, missing issues are just absent
    too_many = {"issueIdsOrKeys": [f"GEN-{n}" for n in range(1, 102)]}
    status, _, _ = await call(http, cloud, "POST", "/rest/api/3/issue/bulkfetch", json=too_many)
    assert status == 400


async def test_fields_selection(http: aiohttp.ClientSession, cloud: LocalJira, dc: LocalJira) -> None:
    found, _ = await page_cloud(http, cloud, "project = GEN", fields=["key"])
    assert len(found) == 250
    assert all(i["fields"] == {} and i["key"] and i["id"] for i in found)
    found, _ = await page_dc(http, dc, "project = GEN", fields="key")
    assert all(i["fields"] == {} for i in found)
    found, _ = await page_dc(http, dc, "project = GEN", size=10, fields="summary,status,nothing")
    assert set(found[0]["fields"]) == {"summary", "status"}
    status, page, _ = await call(http, dc, "GET", DC_SEARCH, params={"jql": "key = GEN-1"})
    assert status == 200
    assert page["issues"][0]["fields"]["description"] == "text"  # missing fields -> all, wiki markup


@pytest.mark.parametrize(
    "jql",
    [
        "project = GEN OR project = GEN",
        "status = Open",
        "project = GEN AND updated >= '2026-10-02'",
        "project =",
        "project in (GEN",
        "project = GEN ORDER BY summary",
        "project != GEN",
        "project = GEN garbage",
        "key = 'not a key'",
    ],
)
async def test_bad_jql_is_a_400(
    http: aiohttp.ClientSession, cloud: LocalJira, dc: LocalJira, jql: str
) -> None:
    for jira, path in ((cloud, CLOUD_SEARCH), (dc, DC_SEARCH)):
        status, body, _ = await call(http, jira, "POST", path, json={"jql": jql})
        assert status == 400, (jql, body)
        assert body["errorMessages"]
        assert "JQL" in body["errorMessages"][0] or "key" in body["errorMessages"][0]


async def test_unknown_project_and_missing_key_are_400s(
    http: aiohttp.ClientSession, cloud: LocalJira, dc: LocalJira
) -> None:
    status, body, _ = await call(http, cloud, "POST", CLOUD_SEARCH, json={"jql": 'project = "NOPE"'})
    assert status == 400
    assert body["errorMessages"] == ["The value 'NOPE' does not exist for the field 'project'."]
    status, body, _ = await call(http, dc, "GET", DC_SEARCH, params={"jql": "key in (GEN-1, GEN-999)"})
    assert status == 400
    assert body["errorMessages"] == ["An issue with key 'GEN-999' does not exist for field 'key'."]
    params = {"jql": "key in (GEN-1, GEN-999)", "validateQuery": "warn"}
    status, body, _ = await call(http, dc, "GET", DC_SEARCH, params=params)
    assert (status, body["total"], len(body["warningMessages"])) == (200, 1, 1)
    status, body, _ = await call(http, cloud, "POST", CLOUD_SEARCH, json={"jql": f"{ORDERED}"})
    assert status == 400
    assert "Unbounded" in body["errorMessages"][0]
    status, body, _ = await call(
        http, dc, "POST", DC_SEARCH, json={"jql": "project = GEN", "nextPageToken": "x"}
    )
    assert status == 400
    assert "Unrecognized field" in body["errorMessages"][0]


async def test_page_token_is_bound_to_its_jql(http: aiohttp.ClientSession, cloud: LocalJira) -> None:
    status, page, _ = await call(http, cloud, "POST", CLOUD_SEARCH, json={"jql": "project = GEN"})
    assert status == 200
    assert len(page["issues"]) == 50  # Jira's default page size
    other = {"jql": "project = GEN ORDER BY key ASC", "nextPageToken": page["nextPageToken"]}
    status, body, _ = await call(http, cloud, "POST", CLOUD_SEARCH, json=other)
    assert (status, body["errorMessages"]) == (400, ["The provided next page token is invalid or expired."])
    status, _, _ = await call(
        http, cloud, "POST", CLOUD_SEARCH, json={"jql": "project = GEN", "nextPageToken": "!"}
    )
    assert status == 400


async def test_auth_and_myself(http: aiohttp.ClientSession) -> None:
    account = {"accountId": "abc", "displayName": "Sync Bot"}
    async with LocalJira(generated(3), accounts={"Basic c2VjcmV0": account}) as jira:
        status, body, _ = await call(http, jira, "GET", "/rest/api/3/myself")
        assert status == 401
        assert body["errorMessages"]
        status, _, _ = await call(
            http, jira, "GET", "/rest/api/3/myself", headers={"Authorization": "Basic x"}
        )
        assert status == 401
        ok = {"Authorization": "Basic c2VjcmV0"}
        status, body, _ = await call(http, jira, "GET", "/rest/api/2/myself", headers=ok)
        assert (status, body) == (200, account)
        status, _, _ = await call(http, jira, "GET", "/rest/api/3/serverInfo")  # anonymous is allowed
        assert status == 200
    async with LocalJira() as jira:
        status, body, _ = await call(http, jira, "GET", "/rest/api/3/myself")
        assert status == 200
        assert body["accountId"]


async def test_fail_next_with_retry_after(http: aiohttp.ClientSession, cloud: LocalJira) -> None:
    cloud.fail_next("/rest/api/3/search", 429, retry_after=1.5, times=2)
    cloud.fail_next("/rest/api/3/myself", 503)
    for _ in range(2):
        status, body, resp = await call(http, cloud, "POST", CLOUD_SEARCH, json={"jql": "project = GEN"})
        assert status == 429
        assert resp.headers["Retry-After"] == "1.5"
        assert body["errorMessages"]
    status, _, resp = await call(http, cloud, "POST", CLOUD_SEARCH, json={"jql": "project = GEN"})
    assert status == 200
    status, _, resp = await call(http, cloud, "GET", "/rest/api/3/myself")
    assert status == 503
    assert "Retry-After" not in resp.headers
    recorded = cloud.requests
    assert [(r.path, r.status) for r in recorded[:3]] == [(CLOUD_SEARCH, 429)] * 2 + [(CLOUD_SEARCH, 200)]
    assert recorded[0].body == {"jql": "project = GEN"}
    cloud.clear_requests()
    assert cloud.requests == []


async def test_touch_moves_an_issue_to_the_end_while_paging(
    http: aiohttp.ClientSession, cloud: LocalJira
) -> None:
    jql = f"project = GEN {ORDERED}"
    status, first, _ = await call(http, cloud, "POST", CLOUD_SEARCH, json={"jql": jql, "maxResults": 100})
    assert status == 200
    cloud.touch("GEN-200", summary="Edited")
    cloud.touch("GEN-1", updated=BASE + timedelta(days=1))
    body = {"jql": jql, "maxResults": 100, "nextPageToken": first["nextPageToken"]}
    status, second, _ = await call(http, cloud, "POST", CLOUD_SEARCH, json=body)
    keys = [i["key"] for i in second["issues"]]
    assert keys[0] == "GEN-102"  # GEN-1 left the first page, so the window shifted by one
    status, page, _ = await call(http, cloud, "POST", CLOUD_SEARCH, json={"jql": "key = GEN-200"})
    assert page["issues"][0]["fields"]["summary"] == "Edited"
    found, _ = await page_cloud(http, cloud, jql)
    assert [i["key"] for i in found[-2:]] == ["GEN-1", "GEN-200"]
    assert cloud.issues["GEN-1"]["fields"]["updated"] == "2026-10-03T09:00:00.000+0000"


async def test_move_and_delete(http: aiohttp.ClientSession, cloud: LocalJira) -> None:
    cloud.upsert(issue("OPS-1", BASE))
    cloud.move("GEN-7", "OPS-2", "OPS")
    cloud.delete("GEN-8")
    found, _ = await page_cloud(http, cloud, "project = GEN")
    keys = {i["key"] for i in found}
    assert len(keys) == 248
    assert not keys & {"GEN-7", "GEN-8"}
    found, _ = await page_cloud(http, cloud, f"project = OPS {ORDERED}")
    assert [i["key"] for i in found] == ["OPS-1", "OPS-2"]  # the move bumped updated
    assert found[1]["id"] == "20007"
    assert found[1]["fields"]["project"]["key"] == "OPS"
    status, page, _ = await call(http, cloud, "POST", CLOUD_SEARCH, json={"jql": "key in (GEN-7)"})
    assert [i["key"] for i in page["issues"]] == ["OPS-2"]  # Jira resolves a moved issue's old key
    status, page, _ = await call(http, cloud, "POST", CLOUD_SEARCH, json={"jql": "key in (GEN-8)"})
    assert status == 400
    status, page, _ = await call(http, cloud, "GET", "/rest/api/3/issue/GEN-7")
    assert (status, page["key"]) == (200, "OPS-2")
    assert "GEN-7" not in cloud.issues
    with pytest.raises(KeyError):
        cloud.delete("GEN-8")


async def test_projects(http: aiohttp.ClientSession, cloud: LocalJira) -> None:
    cloud.upsert(issue("ABC-1", BASE))
    status, projects, _ = await call(http, cloud, "GET", "/rest/api/2/project")
    assert status == 200
    assert [(p["key"], p["name"]) for p in projects] == [("ABC", "Project ABC"), ("GEN", "Project GEN")]
    params = {"startAt": "1", "maxResults": "1"}
    status, page, _ = await call(http, cloud, "GET", "/rest/api/3/project/search", params=params)
    assert (page["total"], page["isLast"], [p["key"] for p in page["values"]]) == (2, True, ["GEN"])


DESCRIPTION = (
    "First line\nsecond line\n\n{code:java}\nint x = 1;\n\nreturn x;\n{code}\n"
    "After.\n\n{noformat}raw{noformat}"
)


async def test_v3_descriptions_are_adf(http: aiohttp.ClientSession) -> None:
    expected = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "First line"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "second line"},
                ],
            },
            {
                "type": "codeBlock",
                "attrs": {"language": "java"},
                "content": [{"type": "text", "text": "int x = 1;\n\nreturn x;"}],
            },
            {"type": "paragraph", "content": [{"type": "text", "text": "After."}]},
            {"type": "codeBlock", "content": [{"type": "text", "text": "raw"}]},
        ],
    }
    issues = [issue("DOC-1", BASE, description=DESCRIPTION), issue("DOC-2", BASE, description=None)]
    async with LocalJira(issues) as jira:
        found, _ = await page_cloud(http, jira, f"project = DOC {ORDERED}", fields="description")
        assert found[0]["fields"]["description"] == expected
        assert found[1]["fields"]["description"] is None
        status, v2, _ = await call(http, jira, "GET", "/rest/api/2/search/jql", params={"jql": "key = DOC-1"})
        assert status == 200
        assert v2["issues"][0]["fields"]["description"] == DESCRIPTION
    assert wiki_to_adf("  \n") is None


@pytest.mark.skipif(not HADOOP.exists(), reason="the shared Apache Hadoop Jira dump is not present")
async def test_pages_through_real_hdfs_issues(http: aiohttp.ClientSession, capsys: Any) -> None:
    with gzip.open(HADOOP, "rt", encoding="utf-8") as lines:
        issues = [json.loads(line) for line in lines if line.strip()]
    hdfs = sum(1 for i in issues if i["fields"]["project"]["key"] == "HDFS")
    started = time.perf_counter()
    jira = LocalJira(issues)
    loaded = time.perf_counter()
    async with jira:
        found, pages = await page_cloud(http, jira, f"project = HDFS {ORDERED}", size=100)
    done = time.perf_counter()
    assert len(found) == hdfs
    assert len({i["key"] for i in found}) == hdfs
    assert pages == -(-hdfs // 100)
    with capsys.disabled():
        print(
            f"\nLocalJira: {len(issues)} issues loaded in {loaded - started:.2f}s; "
            f"{hdfs} HDFS issues paged in {pages} pages in {done - loaded:.2f}s"
        )
