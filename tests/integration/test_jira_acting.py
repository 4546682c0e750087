"""core.jira.acting: the person's connected Jira account when they have one, else the service account."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from cryptography.fernet import Fernet

from bot.localjira import LocalJira
from core.config import Settings, load_settings
from core.credentials import JiraCredential, delete, save_jira
from core.crypto import UnreadableSecret, Vault
from core.db.session import Database, make_engine
from core.errors import InvalidInput
from core.jira.acting import Actor, actor_for
from core.jira.auth import JiraCredentialRejected
from core.jira.issues import NewIssue, add_comment, create_issue, myself
from core.users.identity import Profile
from core.users.service import Identity, resolve
from tests.integration.jira_people import (
    ALICE_EMAIL,
    ALICE_TOKEN,
    SERVICE_EMAIL,
    SERVICE_TOKEN,
    alice_id,
    email_for,
    local_jira,
)

pytestmark = pytest.mark.integration

KEY = Fernet.generate_key().decode()


@pytest_asyncio.fixture(params=["cloud", "datacenter"])
async def jira(request: pytest.FixtureRequest) -> AsyncIterator[LocalJira]:
    async with local_jira(request.param) as server:
        yield server


@pytest.fixture
def settings(jira: LocalJira, migrated_pg: str) -> Settings:
    return load_settings(
        database_url=migrated_pg, jira_base_url=jira.base_url + "/", jira_api_token=SERVICE_TOKEN,
        jira_email=email_for(jira.flavour, SERVICE_EMAIL), agentpm_allowed_domains="northwind.example",
    )  # fmt: skip


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(make_engine(settings))
    yield database
    database.dispose()


@pytest.fixture
def alice(db: Database, settings: Settings) -> Identity:
    with db.session() as session:
        profile = Profile(slack_user_id="U0ALICE", team_id="T1", email=ALICE_EMAIL, name="Alice Example")
        return resolve(session, profile, settings)


def actor(db: Database, settings: Settings, who: Identity, vault: Vault | None = None) -> Actor:
    with db.session() as session:
        return actor_for(session, vault or Vault([KEY]), settings, who.user_id, "Alice Example\n(alice@x)")


async def test_without_a_connection_the_service_account_acts_on_their_behalf(
    jira: LocalJira, db: Database, settings: Settings, alice: Identity
) -> None:
    acting = actor(db, settings, alice)
    assert (acting.as_user, acting.on_behalf_of) == (False, "Alice Example (alice@x)")  # one line
    assert acting.config.base_url == jira.base_url
    assert acting.config.token == SERVICE_TOKEN
    assert acting.config.personal is False
    async with acting.client() as client:
        issue = await create_issue(
            client,
            NewIssue(
                project="PAY", issue_type_id="10000", summary="From Slack", on_behalf_of=acting.on_behalf_of
            ),
        )
    fields = jira.issues[issue.key]["fields"]
    assert fields["reporter"]["displayName"] == "Agent PM"
    assert fields["description"] == "Created from Slack on behalf of Alice Example (alice@x)."


async def test_with_a_connection_the_person_acts(
    jira: LocalJira, db: Database, settings: Settings, alice: Identity
) -> None:
    vault = Vault([KEY])
    credential = JiraCredential(
        email=email_for(jira.flavour, ALICE_EMAIL), token=ALICE_TOKEN, account_id=alice_id(jira.flavour)
    )
    with db.session() as session:
        save_jira(session, vault, alice, credential, "Alice Example")
    acting = actor(db, settings, alice, vault)
    assert (acting.as_user, acting.on_behalf_of) == (True, None)
    assert acting.config.base_url == jira.base_url  # the configured site, never one a person typed
    assert (acting.config.email, acting.config.token, acting.config.personal) == (
        email_for(jira.flavour, ALICE_EMAIL), ALICE_TOKEN, True,
    )  # fmt: skip
    async with acting.client() as client:
        assert (await myself(client)).display_name == "Alice Example"
        await add_comment(client, "PAY-1", "done on my side", acting.on_behalf_of)
    comment = jira.issues["PAY-1"]["fields"]["comment"]["comments"][-1]
    assert (comment["author"]["displayName"], comment["body"]) == ("Alice Example", "done on my side")

    with db.session() as session:  # Alice revokes her token in Jira: she is asked to reconnect
        save_jira(session, vault, alice, credential.model_copy(update={"token": "revoked"}), "Alice Example")
    async with actor(db, settings, alice, vault).client() as client:
        with pytest.raises(JiraCredentialRejected, match="/pm connect jira"):
            await add_comment(client, "PAY-1", "again")

    with pytest.raises(UnreadableSecret):  # the key that sealed it is gone: reconnect, not a silent fallback
        actor(db, settings, alice, Vault([Fernet.generate_key().decode()]))
    with db.session() as session:
        delete(session, alice, "jira")
    assert actor(db, settings, alice, vault).as_user is False


def test_jira_must_be_configured(migrated_pg: str) -> None:
    bare = load_settings(database_url=migrated_pg, jira_base_url=None, jira_api_token=None)
    database = Database(make_engine(bare))
    try:
        with database.session() as session, pytest.raises(InvalidInput, match="not configured"):
            actor_for(session, Vault([KEY]), bare, 1, "Alice")
    finally:
        database.dispose()
