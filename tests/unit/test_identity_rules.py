"""core.users.identity: who may use the bot at all, from the Slack profile (the email alone counts)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.identity import profile_from_slack
from core.config import Role
from core.users.identity import Profile, Refusal, check_profile, check_role, domain_allowed, email_domain

ALLOWED = ["example.com"]
TEAM = "T0001"


@pytest.mark.parametrize("email", ["a@example.com", "A@EXAMPLE.COM", "first.last+tag@Example.Com"])
def test_domain_allowed_accepts_exact_domain_case_insensitively(email: str) -> None:
    assert email_domain(email) == "example.com"
    assert domain_allowed(email, ALLOWED) is True
    assert check_profile(Profile(slack_user_id="U1", team_id=TEAM, email=email), TEAM, ALLOWED) is None


def test_allowed_domains_list_is_matched_case_insensitively() -> None:
    assert domain_allowed("a@example.com", ["  EXAMPLE.com "]) is True
    assert domain_allowed("a@example.com", ["other.org", "example.com"]) is True
    assert domain_allowed("a@example.com", []) is False


@pytest.mark.parametrize(
    "email",
    [
        "a@evil-example.com",
        "a@example.com.evil.org",
        "a@sub.example.com",  # exact domains only, no subdomains
        "example.com@evil.org",
        "a@example.com@evil.org",
        "a b@example.com",
        "a @example.com",
        "a@ example.com",
        "a@example .com",
        "a@exam\tple.com",
        '"a@example.com"@evil.org',
        '"a"@example.com',
        "<a@example.com>",
        "a@example.com>",
        "a@example.com,b@evil.org",
        "a@example.com;b@evil.org",
        "a@example.com\\",
        "",
        None,
        "a@",
        "@example.com",
        "@",
        "a@example..com",
        "a@.example.com",
        "a@example.com.",
        "example.com",
    ],
)
def test_domain_allowed_refuses_lookalikes_and_malformed_addresses(email: str | None) -> None:
    assert domain_allowed(email, ALLOWED) is False
    if email is not None and email_domain(email) is not None:
        assert email_domain(email) != "example.com"
    profile = Profile(slack_user_id="U1", team_id=TEAM, email=email)
    assert check_profile(profile, TEAM, ALLOWED) in {Refusal.OUTSIDE_DOMAIN, Refusal.NO_EMAIL}


@pytest.mark.parametrize(
    ("email", "domain"),
    [
        ("a@Example.COM", "example.com"),
        ("  a@example.com  ", "example.com"),
        ("a@sub.example.com", "sub.example.com"),
        ("a@b@c", None),
        ("a@", None),
        ("@b", None),
        ("a@b..c", None),
        ("no-at-sign", None),
    ],
)
def test_email_domain(email: str, domain: str | None) -> None:
    assert email_domain(email) == domain


def test_display_name_that_looks_like_an_allowed_email_does_not_count() -> None:
    profile = Profile(slack_user_id="U1", team_id=TEAM, name="boss@example.com", email="x@evil.org")
    assert check_profile(profile, TEAM, ALLOWED) is Refusal.OUTSIDE_DOMAIN
    no_email = Profile(slack_user_id="U1", team_id=TEAM, name="boss@example.com", email=None)
    assert check_profile(no_email, TEAM, ALLOWED) is Refusal.NO_EMAIL


# --- check_profile: each refusal, in order -------------------------------------------------------------

WORST: dict[str, Any] = {
    "is_bot": True,
    "deleted": True,
    "is_restricted": True,
    "is_ultra_restricted": True,
    "team_id": "T_OTHER",
    "email": None,
}


def _profile(**fields: Any) -> Profile:
    return Profile(slack_user_id="U1", name="Someone", **fields)


def test_check_profile_reports_refusals_in_order() -> None:
    """Fixing one problem at a time reveals the next: bot, deactivated, guest, workspace, email, domain."""
    fields = dict(WORST)
    assert check_profile(_profile(**fields), TEAM, ALLOWED) is Refusal.BOT
    fields["is_bot"] = False
    assert check_profile(_profile(**fields), TEAM, ALLOWED) is Refusal.DEACTIVATED
    fields["deleted"] = False
    assert check_profile(_profile(**fields), TEAM, ALLOWED) is Refusal.GUEST
    fields["is_restricted"] = False
    assert check_profile(_profile(**fields), TEAM, ALLOWED) is Refusal.GUEST  # still ultra-restricted
    fields["is_ultra_restricted"] = False
    assert check_profile(_profile(**fields), TEAM, ALLOWED) is Refusal.OTHER_WORKSPACE
    fields["team_id"] = TEAM
    assert check_profile(_profile(**fields), TEAM, ALLOWED) is Refusal.NO_EMAIL
    fields["email"] = "someone@evil.org"
    assert check_profile(_profile(**fields), TEAM, ALLOWED) is Refusal.OUTSIDE_DOMAIN
    fields["email"] = "someone@example.com"
    assert check_profile(_profile(**fields), TEAM, ALLOWED) is None


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        ({"is_bot": True}, Refusal.BOT),
        ({"deleted": True}, Refusal.DEACTIVATED),
        ({"is_restricted": True}, Refusal.GUEST),
        ({"is_ultra_restricted": True}, Refusal.GUEST),
        ({"team_id": "T_OTHER"}, Refusal.OTHER_WORKSPACE),
        ({"email": None}, Refusal.NO_EMAIL),
        ({"email": ""}, Refusal.NO_EMAIL),
        ({"email": "a@evil.org"}, Refusal.OUTSIDE_DOMAIN),
        ({}, None),
    ],
)
def test_check_profile_single_problem(fields: dict[str, Any], refusal: Refusal | None) -> None:
    base: dict[str, Any] = {"team_id": TEAM, "email": "a@example.com"}
    base.update(fields)
    assert check_profile(_profile(**base), TEAM, ALLOWED) is refusal


def test_check_profile_without_request_team_skips_the_workspace_check() -> None:
    profile = _profile(team_id="T_OTHER", email="a@example.com")
    assert check_profile(profile, None, ALLOWED) is None
    assert check_profile(profile, "T_OTHER", ALLOWED) is None


def test_check_profile_with_no_allowed_domains_refuses_everyone() -> None:
    assert check_profile(_profile(team_id=TEAM, email="a@example.com"), TEAM, []) is Refusal.OUTSIDE_DOMAIN


# --- check_role ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "needed", "refusal"),
    [
        (Role.ADMIN, Role.USER, None),
        (Role.ADMIN, Role.ADMIN, None),
        (Role.USER, Role.USER, None),
        (Role.USER, Role.ADMIN, Refusal.ROLE_TOO_LOW),
        (Role.NO_ACCESS, Role.USER, Refusal.NO_ACCESS),
        (Role.NO_ACCESS, Role.ADMIN, Refusal.NO_ACCESS),
        (Role.NO_ACCESS, Role.NO_ACCESS, Refusal.NO_ACCESS),
    ],
)
def test_check_role_matrix(role: Role, needed: Role, refusal: Refusal | None) -> None:
    assert check_role(role, needed) is refusal


# --- properties ----------------------------------------------------------------------------------------

_TRICKY = st.text(alphabet='aAeE@. \t"<>,;:\\\n', max_size=30)
_SUFFIXES = st.sampled_from(
    ["example.com", "EXAMPLE.COM", "example.com.", "sub.example.com", "example.com.evil.org", "example..com"]
)
EMAILS = st.one_of(
    st.text(),
    st.emails(),
    _TRICKY,
    st.builds(lambda local, domain: f"{local}@{domain}", st.text(max_size=20), _SUFFIXES),
    st.builds(lambda local, tail: f"{local}@example.com{tail}", st.text(max_size=10), st.text(max_size=10)),
)


@given(EMAILS)
def test_domain_allowed_is_true_only_for_a_single_at_and_the_exact_domain(email: str) -> None:
    allowed = domain_allowed(email, ALLOWED)  # never raises
    email_domain(email)
    if allowed:
        normalised = email.lower().strip()
        assert normalised.endswith("@example.com")
        assert email.count("@") == 1
        assert not any(ch.isspace() for ch in normalised)


@given(st.from_regex(r"\A[a-z0-9][a-z0-9._+-]{0,30}\Z"))
def test_domain_allowed_accepts_plain_local_parts(local: str) -> None:
    assert domain_allowed(f"{local}@example.com", ALLOWED) is True
    assert domain_allowed(f"{local}@evil.org", ALLOWED) is False


# --- bot.identity.profile_from_slack on users.info payloads --------------------------------------------


def slack_user(**overrides: Any) -> dict[str, Any]:
    """A users.info ``user`` object shaped like Slack's documentation example."""
    user: dict[str, Any] = {
        "id": "U012AB3CD",
        "team_id": TEAM,
        "name": "spengler",
        "deleted": False,
        "color": "9f69e7",
        "real_name": "Egon Spengler",
        "tz": "America/Los_Angeles",
        "tz_label": "Pacific Daylight Time",
        "tz_offset": -25200,
        "profile": {
            "avatar_hash": "ge3b51ca72de",
            "status_text": "Print is dead",
            "real_name": "Egon Spengler",
            "display_name": "spengler",
            "real_name_normalized": "Egon Spengler",
            "display_name_normalized": "spengler",
            "email": "spengler@example.com",
            "team": TEAM,
        },
        "is_admin": True,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": False,
        "is_app_user": False,
        "updated": 1502138686,
        "has_2fa": False,
    }
    user.update(overrides)
    return user


def test_profile_from_slack_normal_member() -> None:
    profile = profile_from_slack(slack_user())
    assert profile == Profile(
        slack_user_id="U012AB3CD",
        team_id=TEAM,
        email="spengler@example.com",
        name="spengler",
        tz="America/Los_Angeles",
    )
    assert check_profile(profile, TEAM, ALLOWED) is None


def test_profile_from_slack_name_falls_back_to_real_name_then_handle() -> None:
    user = slack_user()
    user["profile"]["display_name"] = ""
    assert profile_from_slack(user).name == "Egon Spengler"
    user["profile"]["real_name"] = ""
    assert profile_from_slack(user).name == "spengler"


def test_profile_from_slack_email_comes_from_profile_not_display_name() -> None:
    user = slack_user()
    user["profile"].update(display_name="boss@example.com", email="x@evil.org")
    profile = profile_from_slack(user)
    assert profile.name == "boss@example.com"
    assert profile.email == "x@evil.org"
    assert check_profile(profile, TEAM, ALLOWED) is Refusal.OUTSIDE_DOMAIN


@pytest.mark.parametrize(
    ("user", "refusal"),
    [
        (slack_user(is_restricted=True), Refusal.GUEST),
        (slack_user(is_restricted=True, is_ultra_restricted=True), Refusal.GUEST),
        (
            slack_user(
                id="U0BOT0001",
                name="jira_cloud",
                is_bot=True,
                profile={"bot_id": "B0001", "real_name": "Jira Cloud", "always_active": True},
            ),
            Refusal.BOT,
        ),
        (
            slack_user(id="USLACKBOT", name="slackbot", is_bot=False, profile={"real_name": "Slackbot"}),
            Refusal.BOT,
        ),
        (slack_user(deleted=True), Refusal.DEACTIVATED),
        (slack_user(team_id="T_OTHER"), Refusal.OTHER_WORKSPACE),
        (slack_user(profile={"real_name": "No Mail", "display_name": "nomail"}), Refusal.NO_EMAIL),
        (slack_user(profile={"email": "", "display_name": "blank"}), Refusal.NO_EMAIL),
        ({k: v for k, v in slack_user().items() if k != "profile"}, Refusal.NO_EMAIL),
        (slack_user(profile=None), Refusal.NO_EMAIL),
    ],
    ids=[
        "guest",
        "single-channel-guest",
        "bot",
        "slackbot",
        "deleted",
        "other-team",
        "no-email",
        "empty-email",
        "no-profile",
        "null-profile",
    ],
)
def test_profile_from_slack_refusals(user: dict[str, Any], refusal: Refusal) -> None:
    assert check_profile(profile_from_slack(user), TEAM, ALLOWED) is refusal


def test_profile_from_slack_flags_and_missing_fields() -> None:
    bot = profile_from_slack(slack_user(id="USLACKBOT", is_bot=False))
    assert bot.is_bot is True
    deleted = profile_from_slack(slack_user(deleted=True, tz=None))
    assert deleted.deleted is True
    assert deleted.tz is None
    guest = profile_from_slack(slack_user(is_ultra_restricted=True))
    assert guest.is_ultra_restricted is True
    assert guest.is_restricted is False
    bare = profile_from_slack({})
    assert bare == Profile(slack_user_id="", team_id=None, email=None, name="", tz=None)
