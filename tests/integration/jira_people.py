"""Who is who in the Jira write tests: the service account, Alice (who connects her own account), Maya."""

from __future__ import annotations

from typing import Any

from bot.localjira import Flavour, LocalJira
from core.jira.auth import auth_header
from core.jira.client import JiraConfig
from tests.fakes.jira import make_issues

SERVICE_EMAIL, SERVICE_TOKEN = "bot@northwind.example", "service-token"
ALICE_EMAIL, ALICE_TOKEN = "alice@northwind.example", "alice-token"


def email_for(flavour: Flavour, email: str) -> str | None:
    """Cloud signs in with email + API token, Data Center with a personal access token alone."""
    return email if flavour == "cloud" else None


def header(flavour: Flavour, email: str, token: str) -> str:
    return auth_header(email_for(flavour, email), token)["Authorization"]


def account(flavour: Flavour, user_id: str, name: str, email: str) -> dict[str, Any]:
    if flavour == "cloud":
        return {"accountId": user_id, "displayName": name, "emailAddress": email, "active": True}
    return {"name": user_id, "key": f"JIRAUSER-{user_id}", "displayName": name, "emailAddress": email}


def alice_id(flavour: Flavour) -> str:
    return "712020:alice-0001" if flavour == "cloud" else "alice"


def maya_id(flavour: Flavour) -> str:
    return "712020:maya-0002" if flavour == "cloud" else "maya"


def service_id(flavour: Flavour) -> str:
    return "712020:service-0000" if flavour == "cloud" else "agentpm"


def local_jira(flavour: Flavour, issues: int = 5) -> LocalJira:
    """PAY-1..N; the service account and Alice can sign in; Maya and a departed user exist."""
    accounts = {
        header(flavour, SERVICE_EMAIL, SERVICE_TOKEN): account(
            flavour, service_id(flavour), "Agent PM", SERVICE_EMAIL
        ),
        header(flavour, ALICE_EMAIL, ALICE_TOKEN): account(
            flavour, alice_id(flavour), "Alice Example", ALICE_EMAIL
        ),
    }
    jira = LocalJira(make_issues("PAY", issues), flavour=flavour, accounts=accounts)
    jira.add_user(maya_id(flavour), "Maya Chen", "maya@northwind.example")
    jira.add_user("gone" if flavour == "datacenter" else "712020:gone", "Marc Gone", active=False)
    return jira


def service(jira: LocalJira) -> JiraConfig:
    return JiraConfig(jira.base_url, email_for(jira.flavour, SERVICE_EMAIL), SERVICE_TOKEN)


def alice(jira: LocalJira) -> JiraConfig:
    return JiraConfig(jira.base_url, email_for(jira.flavour, ALICE_EMAIL), ALICE_TOKEN, personal=True)
