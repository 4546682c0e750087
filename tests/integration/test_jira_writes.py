"""core.jira.issues with the real JiraClient against LocalJira over HTTP, Cloud and Data Center."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.localjira import LocalJira
from core.config import load_settings
from core.db.models import Document, JiraIssue
from core.db.session import Database, make_engine
from core.errors import InvalidInput
from core.jira.auth import JiraAuthError, JiraCredentialRejected
from core.jira.client import JiraClient, JiraConfig
from core.jira.issues import (
    SERVICE_FORBIDDEN,
    FieldErrors,
    JiraForbidden,
    JiraUser,
    NewIssue,
    TransitionUnavailable,
    add_comment,
    assign_issue,
    assignable_users,
    create_issue,
    get_issue,
    list_transitions,
    myself,
    store_issue,
    transition_issue,
)
from core.jira.store import parse_jira_time
from core.jira.sync import ProjectSync
from core.search.service import SearchFilters, Viewer, search
from tests.integration.jira_people import (
    ALICE_EMAIL,
    ALICE_TOKEN,
    SERVICE_EMAIL,
    SERVICE_TOKEN,
    alice,
    alice_id,
    header,
    local_jira,
    maya_id,
    service,
)

pytestmark = pytest.mark.integration

BEHALF = "Bob Builder (bob@northwind.example)"


@pytest_asyncio.fixture(params=["cloud", "datacenter"])
async def jira(request: pytest.FixtureRequest) -> AsyncIterator[LocalJira]:
    async with local_jira(request.param) as server:
        yield server


def writes(jira: LocalJira, method: str) -> list[Any]:
    return [r for r in jira.requests if r.method == method]


def comments(jira: LocalJira, key: str) -> list[dict[str, Any]]:
    return list((jira.issues[key]["fields"].get("comment") or {}).get("comments") or [])


async def test_create_sends_the_flavours_body_and_reads_the_issue_back(jira: LocalJira) -> None:
    new = NewIssue(
        project="pay", issue_type_id="10002" if jira.flavour == "cloud" else "1",
        summary="  Refund webhook retries forever  ",
        description="Seen in <https://logs.example/q|the logs>.",
        priority_id="2", assignee=maya_id(jira.flavour), on_behalf_of=BEHALF,
    )  # fmt: skip
    async with JiraClient(service(jira)) as client:
        issue = await create_issue(client, new)
    assert issue.key == "PAY-6"  # the next number in the project
    assert (issue.summary, issue.status, issue.status_category) == (
        "Refund webhook retries forever",
        "To Do",
        "new",
    )
    assert (issue.priority, issue.assignee, issue.assignee_id) == ("High", "Maya Chen", maya_id(jira.flavour))
    assert issue.issue_type == "Bug"
    assert issue.project == "PAY"
    assert issue.url == f"{jira.base_url}/browse/PAY-6"
    assert issue.updated is not None
    assert abs(issue.updated - datetime.now(UTC)) < timedelta(minutes=1)
    post = writes(jira, "POST")[0]
    fields = post.body["fields"]
    if jira.flavour == "cloud":
        assert post.path == "/rest/api/3/issue"
        assert fields["description"]["type"] == "doc"
        assert fields["assignee"] == {"accountId": maya_id("cloud")}
    else:
        assert post.path == "/rest/api/2/issue"
        assert fields["description"] == (
            f"Seen in [the logs|https://logs.example/q].\n\nCreated from Slack on behalf of {BEHALF}."
        )
        assert fields["assignee"] == {"name": "maya"}
    stored = jira.issues["PAY-6"]["fields"]
    assert stored["description"].endswith(f"Created from Slack on behalf of {BEHALF}.")
    assert stored["reporter"]["displayName"] == "Agent PM"  # the account that signed in


async def test_a_person_creates_as_themselves(jira: LocalJira) -> None:
    new = NewIssue(project="PAY", issue_type_id="10001" if jira.flavour == "cloud" else "3", summary="Mine")
    async with JiraClient(alice(jira)) as client:
        issue = await create_issue(client, new)
    stored = jira.issues[issue.key]["fields"]
    assert stored["reporter"]["displayName"] == "Alice Example"
    assert stored["description"] is None  # nothing typed and nobody to name
    assert issue.priority == "Medium"  # Jira's default


async def test_field_errors_come_back_by_field(jira: LocalJira) -> None:
    async with JiraClient(service(jira)) as client:
        with pytest.raises(FieldErrors) as caught:
            await create_issue(
                client,
                NewIssue(
                    project="PAY", issue_type_id="99999", summary="x", priority_id="77", assignee="nobody"
                ),
            )
        assert set(caught.value.errors) == {"issuetype", "priority", "assignee"}
        assert caught.value.errors["assignee"] == "User 'nobody' cannot be assigned issues."
        assert "The issue type selected is invalid." in caught.value.user_message
        with pytest.raises(FieldErrors) as unknown:
            await create_issue(client, NewIssue(project="NOPE", issue_type_id="1", summary="x"))
        assert unknown.value.errors == {"project": "Specify a valid project ID or key"}
    assert "PAY-6" not in jira.issues


async def test_transitions_follow_the_workflow(jira: LocalJira) -> None:
    async with JiraClient(service(jira)) as client:
        issue = await create_issue(client, NewIssue(project="PAY", issue_type_id="10000", summary="Flow"))
        first = await list_transitions(client, issue.key)
        assert [(t.name, t.to_status) for t in first] == [("Start Progress", "In Progress"), ("Done", "Done")]
        await transition_issue(client, issue.key, first[0].id)
        moved = await get_issue(client, issue.key)
        assert (moved.status, moved.status_category) == ("In Progress", "indeterminate")
        assert [t.to_status for t in await list_transitions(client, issue.key)] == [
            "To Do", "In Review", "Blocked", "Done",
        ]  # fmt: skip
        with pytest.raises(TransitionUnavailable):
            await transition_issue(client, issue.key, "61")  # Reopen: not from In Progress
        with pytest.raises(TransitionUnavailable):
            await transition_issue(client, issue.key, "21; DROP")
        await transition_issue(client, issue.key, "31", on_behalf_of=BEHALF)
        done = await get_issue(client, issue.key)
        assert (done.status, done.status_category) == ("Done", "done")
    assert jira.issues[issue.key]["fields"]["resolution"]["name"] == "Done"
    assert comments(jira, issue.key)[-1]["body"] == f"Status changed from Slack on behalf of {BEHALF}."


async def test_assign_and_unassign(jira: LocalJira) -> None:
    async with JiraClient(service(jira)) as client:
        await assign_issue(client, "pay-2", maya_id(jira.flavour))
        assigned = await get_issue(client, "PAY-2")
        assert (assigned.assignee, assigned.assignee_id) == ("Maya Chen", maya_id(jira.flavour))
        await assign_issue(client, "PAY-2", None, on_behalf_of=BEHALF)
        unassigned = await get_issue(client, "PAY-2")
        assert (unassigned.assignee, unassigned.assignee_id) == (None, None)
        with pytest.raises(FieldErrors) as caught:
            await assign_issue(client, "PAY-2", "gone" if jira.flavour == "datacenter" else "712020:gone")
        assert "cannot be assigned" in caught.value.errors["assignee"]
    put = writes(jira, "PUT")[0]
    version = "3" if jira.flavour == "cloud" else "2"
    assert put.path == f"/rest/api/{version}/issue/PAY-2/assignee"
    assert put.body == ({"accountId": maya_id("cloud")} if jira.flavour == "cloud" else {"name": "maya"})
    assert comments(jira, "PAY-2")[-1]["body"] == f"Unassigned from Slack on behalf of {BEHALF}."


async def test_comment_as_adf_or_wiki_and_it_bumps_updated(jira: LocalJira) -> None:
    before = jira.issues["PAY-3"]["fields"]["updated"]
    async with JiraClient(service(jira)) as client:
        await add_comment(client, "PAY-3", "Seen again at *14:02*,\nsee <https://x.example/a|trace>", BEHALF)
        with pytest.raises(InvalidInput, match="needs some text"):
            await add_comment(client, "PAY-3", "  \n")
    assert jira.issues["PAY-3"]["fields"]["updated"] > before
    body = writes(jira, "POST")[0].body["body"]
    assert isinstance(body, dict if jira.flavour == "cloud" else str)
    stored = comments(jira, "PAY-3")[-1]
    assert stored["author"]["displayName"] == "Agent PM"
    assert stored["body"] == (
        "Seen again at \\*14:02\\*,\nsee [trace|https://x.example/a]\n\n"
        f"Posted from Slack on behalf of {BEHALF}."
    )


async def test_forbidden_is_not_bad_credentials(jira: LocalJira) -> None:
    alice_header = header(jira.flavour, ALICE_EMAIL, ALICE_TOKEN)
    jira.forbid(alice_header, "transition")
    jira.forbid(alice_id(jira.flavour), "comment")  # by account id works too
    jira.forbid(alice_header, "create")
    jira.forbid(alice_header, "assign")
    async with JiraClient(alice(jira)) as client:
        assert await list_transitions(client, "PAY-1") == []  # Jira lists only what you may do
        for attempt in (
            transition_issue(client, "PAY-1", "21"),
            add_comment(client, "PAY-1", "hi"),
            assign_issue(client, "PAY-1", None),
            create_issue(client, NewIssue(project="PAY", issue_type_id="10001", summary="x")),
        ):
            with pytest.raises(JiraForbidden) as caught:
                await attempt
            assert caught.value.user_message == "Jira says you do not have permission to do that."
    jira.forbid(header(jira.flavour, SERVICE_EMAIL, SERVICE_TOKEN), "comment")
    version = "3" if jira.flavour == "cloud" else "2"
    async with JiraClient(service(jira)) as client:
        jira.fail_next(f"/rest/api/{version}/issue/PAY-1", 403)  # a read Jira refuses (some sites do)
        with pytest.raises(JiraForbidden) as read:
            await get_issue(client, "PAY-1")
        assert read.value.user_message == SERVICE_FORBIDDEN
        with pytest.raises(JiraForbidden):
            await add_comment(client, "PAY-1", "hi")
        jira.fail_next("/rest/api/2/myself", 403)
        with pytest.raises(JiraAuthError):  # calls without their own mapping (the sync's) keep the old one
            await client.request("GET", "/rest/api/2/myself")


async def test_a_revoked_personal_token_asks_to_reconnect(jira: LocalJira) -> None:
    revoked = JiraConfig(jira.base_url, "alice@northwind.example", "revoked-token", personal=True)
    async with JiraClient(revoked) as client:
        with pytest.raises(JiraCredentialRejected) as caught:
            await get_issue(client, "PAY-1")
    assert "/pm connect jira" in caught.value.user_message
    broken_service = JiraConfig(jira.base_url, "bot@northwind.example", "wrong")
    async with JiraClient(broken_service) as client:
        with pytest.raises(JiraAuthError) as service_error:
            await get_issue(client, "PAY-1")
    assert not isinstance(service_error.value, JiraCredentialRejected)


async def test_browsing_forbidden_looks_like_not_found(jira: LocalJira) -> None:
    from core.jira.client import JiraNotFound

    jira.forbid(alice_id(jira.flavour), "browse")
    async with JiraClient(alice(jira)) as client:
        with pytest.raises(JiraNotFound):
            await get_issue(client, "PAY-1")


async def test_myself_and_assignable_people(jira: LocalJira) -> None:
    async with JiraClient(alice(jira)) as client:
        assert await myself(client) == JiraUser(
            account_id=alice_id(jira.flavour), display_name="Alice Example", email=ALICE_EMAIL
        )
        found = await assignable_users(client, "pay", "MA")
        email = "maya@northwind.example"
        maya = JiraUser(account_id=maya_id(jira.flavour), display_name="Maya Chen", email=email)
        assert maya in found
        assert all(u.display_name != "Marc Gone" for u in await assignable_users(client, "PAY", "marc"))
        assert len(await assignable_users(client, "PAY", "", limit=2)) == 2
    search = next(r for r in jira.requests if r.path.endswith("/user/assignable/search"))
    if jira.flavour == "cloud":
        assert search.path == "/rest/api/3/user/assignable/search"
        assert search.query == {"project": "PAY", "query": "MA", "maxResults": "20"}
    else:
        assert search.path == "/rest/api/2/user/assignable/search"
        assert search.query == {"project": "PAY", "username": "MA", "maxResults": "20"}


@pytest.fixture
def db(migrated_pg: str) -> Database:
    database = Database(make_engine(load_settings(database_url=migrated_pg)))
    yield database  # type: ignore[misc]
    database.dispose()


async def test_store_issue_makes_a_new_issue_searchable_at_once(jira: LocalJira, db: Database) -> None:
    summary = "Quokka ledger drift after settlement"
    async with JiraClient(service(jira)) as client:
        issue = await create_issue(
            client,
            NewIssue(
                project="PAY", issue_type_id="10001" if jira.flavour == "cloud" else "3", summary=summary,
                description="Nightly *zeppelin* job", on_behalf_of=BEHALF,
            ),
        )  # fmt: skip
        await store_issue(db, client, issue.key, jira.base_url)
        with db.session() as session:
            hits = search(session, "quokka zeppelin", Viewer(), SearchFilters(source="jira"))
            assert [h.key for h in hits] == [issue.key]
            document = session.scalar(select(Document).where(Document.external_id == issue.key))
            assert document is not None
            assert document.indexed_at is None  # the index job embeds it next
            assert "Nightly *zeppelin* job" in document.body
            assert f"on behalf of {BEHALF}" in document.body
        await transition_issue(client, issue.key, "31")
        await store_issue(db, client, issue.key, jira.base_url)
    with db.session() as session:
        stored = session.scalar(select(JiraIssue).where(JiraIssue.key == issue.key))
        assert stored is not None
        assert (stored.status, stored.resolution) == ("Done", "Done")


async def test_an_incremental_sync_sees_every_write(jira: LocalJira, db: Database) -> None:
    async with JiraClient(service(jira)) as client:
        first = await ProjectSync(db, client, jira.base_url).run("PAY")
        assert first.fetched == 5
        created = await create_issue(
            client, NewIssue(project="PAY", issue_type_id="10000", summary="New one")
        )
        await transition_issue(client, "PAY-1", "41")  # In Progress (as generated) → In Review
        await assign_issue(client, "PAY-2", alice_id(jira.flavour))
        await add_comment(client, "PAY-4", "noted")
        second = await ProjectSync(db, client, jira.base_url).run("PAY")
    assert {"PAY-1", "PAY-2", created.key} <= set(second.changed_keys)
    with db.session() as session:  # a comment changes `updated` (read again), not the searchable text
        commented = session.scalar(select(JiraIssue).where(JiraIssue.key == "PAY-4"))
        assert commented is not None
        assert commented.updated == parse_jira_time(jira.issues["PAY-4"]["fields"]["updated"])
