"""core.crypto.Vault (MultiFernet with rotation) and core.credentials on a real SQLite database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from core.config import Settings, load_settings
from core.credentials import JIRA, JiraCredential, connected, delete, load_jira, rotate_all, save_jira
from core.crypto import UnreadableSecret, Vault
from core.db.models import AuditEvent, Credential
from core.db.session import Database
from core.users.identity import Profile
from core.users.service import Identity, resolve

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()
OTHER = Fernet.generate_key().decode()
DOC: dict[str, Any] = {"email": "ann@example.com", "token": "s3cr3t-ATATT-token", "n": [1, 2], "none": None}

# --- Vault ---------------------------------------------------------------------------------------------


def test_round_trip_and_ciphertext_hides_the_document() -> None:
    vault = Vault([NEW])
    token = vault.encrypt(DOC)
    assert vault.decrypt(token) == DOC
    assert "s3cr3t" not in token
    assert "ann@example.com" not in token
    assert vault.encrypt(DOC) != token  # fresh IV each time
    assert vault.is_current(token) is True


def test_old_key_token_reads_with_new_then_old_and_rotates() -> None:
    old_token = Vault([OLD]).encrypt(DOC)
    both = Vault([NEW, OLD])
    assert both.decrypt(old_token) == DOC
    assert both.is_current(old_token) is False
    with pytest.raises(UnreadableSecret):
        Vault([NEW]).decrypt(old_token)

    rotated = both.rotate(old_token)
    assert rotated != old_token
    assert both.is_current(rotated) is True
    assert Vault([NEW]).decrypt(rotated) == DOC
    with pytest.raises(UnreadableSecret):
        Vault([OLD]).decrypt(rotated)


def test_new_key_token_is_current_and_rotation_keeps_it_readable() -> None:
    both = Vault([NEW, OLD])
    token = both.encrypt(DOC)
    assert both.is_current(token) is True
    assert Vault([NEW]).decrypt(token) == DOC
    assert Vault([NEW]).decrypt(both.rotate(token)) == DOC


def test_wrong_key_is_unreadable() -> None:
    token = Vault([OLD]).encrypt(DOC)
    wrong = Vault([OTHER])
    with pytest.raises(UnreadableSecret) as caught:
        wrong.decrypt(token)
    assert "connect again" in caught.value.user_message
    with pytest.raises(UnreadableSecret):
        wrong.rotate(token)
    assert wrong.is_current(token) is False


@pytest.mark.parametrize("garbage", ["", "not-a-token", "gAAAAA", "gAAAAABh" + "A" * 80])
def test_garbage_tokens_are_unreadable(garbage: str) -> None:
    vault = Vault([NEW])
    with pytest.raises(UnreadableSecret):
        vault.decrypt(garbage)
    with pytest.raises(UnreadableSecret):
        vault.rotate(garbage)
    assert vault.is_current(garbage) is False


def test_token_of_non_json_plaintext_is_unreadable() -> None:
    token = Fernet(NEW.encode()).encrypt(b"\xff not json").decode()
    with pytest.raises(UnreadableSecret):
        Vault([NEW]).decrypt(token)


def test_vault_needs_a_key() -> None:
    with pytest.raises(ValueError, match="key"):
        Vault([])
    with pytest.raises(ValueError):  # noqa: PT011  (cryptography's own message)
        Vault(["not a fernet key"])


@given(st.text())
def test_decrypt_of_arbitrary_text_only_raises_unreadable(garbage: str) -> None:
    vault = Vault([NEW])
    with pytest.raises(UnreadableSecret):
        vault.decrypt(garbage)
    assert vault.is_current(garbage) is False


@given(st.dictionaries(st.text(max_size=10), st.one_of(st.none(), st.integers(), st.text(max_size=20))))
def test_round_trip_property(document: dict[str, Any]) -> None:
    assert Vault([NEW, OLD]).decrypt(Vault([NEW]).encrypt(document)) == document


# --- credentials ---------------------------------------------------------------------------------------


@pytest.fixture
def settings(clean_env: Path) -> Settings:
    return load_settings(database_url=f"sqlite:///{clean_env}/c.db", agentpm_allowed_domains="example.com")


def person(db: Database, settings: Settings, slack_id: str, email: str) -> Identity:
    with db.session() as session:
        profile = Profile(slack_user_id=slack_id, team_id="T1", email=email, name=email.split("@")[0])
        return resolve(session, profile, settings)


@pytest.fixture
def ann(db: Database, settings: Settings) -> Identity:
    return person(db, settings, "U1", "ann@example.com")


@pytest.fixture
def bob(db: Database, settings: Settings) -> Identity:
    return person(db, settings, "U2", "bob@example.com")


ANN_TOKEN = "ATATT3xFfGF0-ann-super-secret-token"
BOB_TOKEN = "ATATT3xFfGF0-bob-super-secret-token"


def test_save_jira_stores_only_ciphertext(db: Database, ann: Identity) -> None:
    vault = Vault([NEW])
    credential = JiraCredential(email="ann@example.com", token=ANN_TOKEN, account_id="5b10")
    with db.session() as session:
        save_jira(session, vault, ann, credential, "Ann Example")
    with db.session() as session:
        rows = session.execute(text("SELECT * FROM credentials")).mappings().all()
        assert len(rows) == 1
        row = dict(rows[0])
        assert row["kind"] == JIRA
        assert row["label"] == "Ann Example"
        assert row["user_id"] == ann.user_id
        for column, value in row.items():
            assert ANN_TOKEN not in str(value), column
            assert "super-secret" not in str(value), column
        for event in session.scalars(select(AuditEvent)):
            assert ANN_TOKEN not in f"{event.detail} {event.target} {event.action}"
        assert load_jira(session, vault, ann.user_id) == credential
        assert vault.decrypt(row["secret"])["token"] == ANN_TOKEN


def test_load_jira_without_credential_is_none(db: Database, ann: Identity) -> None:
    with db.session() as session:
        assert load_jira(session, Vault([NEW]), ann.user_id) is None
        assert connected(session, ann.user_id) == {}


def test_save_jira_replaces_and_audits_connect_then_replace(db: Database, ann: Identity) -> None:
    vault = Vault([NEW])
    with db.session() as session:
        save_jira(session, vault, ann, JiraCredential(email=None, token="pat-one"), "DC one")
    with db.session() as session:
        save_jira(session, vault, ann, JiraCredential(email=None, token="pat-two"), "DC two")
    with db.session() as session:
        assert len(list(session.scalars(select(Credential)))) == 1
        loaded = load_jira(session, vault, ann.user_id)
        assert loaded == JiraCredential(email=None, token="pat-two")
        assert connected(session, ann.user_id) == {JIRA: "DC two"}
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.target == JIRA)))
    assert [(e.action, e.detail) for e in events] == [
        ("credential.connect", {"account": "DC one"}),
        ("credential.replace", {"account": "DC two"}),
    ]
    assert {e.actor_slack_id for e in events} == {"U1"}


def test_connected_lists_labels_only_per_user(db: Database, ann: Identity, bob: Identity) -> None:
    vault = Vault([NEW])
    with db.session() as session:
        save_jira(session, vault, ann, JiraCredential(email="ann@example.com", token=ANN_TOKEN), "Ann")
    with db.session() as session:
        assert connected(session, ann.user_id) == {"jira": "Ann"}
        assert connected(session, bob.user_id) == {}
        assert load_jira(session, vault, bob.user_id) is None


def test_delete_removes_and_audits(db: Database, ann: Identity) -> None:
    vault = Vault([NEW])
    with db.session() as session:
        save_jira(session, vault, ann, JiraCredential(email="ann@example.com", token=ANN_TOKEN), "Ann")
    with db.session() as session:
        assert delete(session, ann, JIRA) is True
    with db.session() as session:
        assert load_jira(session, vault, ann.user_id) is None
        assert connected(session, ann.user_id) == {}
        assert delete(session, ann, JIRA) is False
    with db.session() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "credential.disconnect")))
    assert [(e.outcome, e.target, e.actor_email) for e in events] == [
        ("ok", JIRA, "ann@example.com"),
        ("nothing_to_do", JIRA, "ann@example.com"),
    ]


def test_rotate_all_counts_and_new_key_reads_everything(
    db: Database, settings: Settings, ann: Identity, bob: Identity
) -> None:
    carl = person(db, settings, "U3", "carl@example.com")
    with db.session() as session:
        save_jira(session, Vault([OLD]), ann, JiraCredential(email="ann@example.com", token=ANN_TOKEN), "A")
        save_jira(session, Vault([OLD]), bob, JiraCredential(email="bob@example.com", token=BOB_TOKEN), "B")
        save_jira(session, Vault([NEW, OLD]), carl, JiraCredential(email=None, token="carl-pat"), "C")
    with db.session() as session:
        assert rotate_all(session, Vault([NEW, OLD])) == (2, 1)
    with db.session() as session:
        only_new = Vault([NEW])
        assert load_jira(session, only_new, ann.user_id) == JiraCredential(
            email="ann@example.com", token=ANN_TOKEN
        )
        assert load_jira(session, only_new, bob.user_id) == JiraCredential(
            email="bob@example.com", token=BOB_TOKEN
        )
        assert load_jira(session, only_new, carl.user_id) == JiraCredential(email=None, token="carl-pat")
        with pytest.raises(UnreadableSecret):
            load_jira(session, Vault([OLD]), ann.user_id)
        assert rotate_all(session, Vault([NEW, OLD])) == (0, 3)
    with db.session() as session:
        events = list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "credential.rotate_keys"))
        )
    assert [e.detail for e in events] == [{"rotated": 2, "current": 1}, {"rotated": 0, "current": 3}]


def test_rotate_all_with_a_lost_key_fails_and_changes_nothing(db: Database, ann: Identity) -> None:
    with db.session() as session:
        save_jira(session, Vault([OLD]), ann, JiraCredential(email=None, token=ANN_TOKEN), "A")
    with pytest.raises(UnreadableSecret), db.session() as session:
        rotate_all(session, Vault([NEW]))
    with db.session() as session:
        assert load_jira(session, Vault([OLD]), ann.user_id) == JiraCredential(email=None, token=ANN_TOKEN)


def test_rotate_all_with_nothing_stored(db: Database) -> None:
    with db.session() as session:
        assert rotate_all(session, Vault([NEW])) == (0, 0)
