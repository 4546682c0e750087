"""What the create modal sends is checked before Jira sees it; the metadata queries behind the modal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from core.db.jira_meta_tables import JiraIssueType, JiraPriority
from core.db.models import Project
from core.db.session import Database
from core.errors import InvalidInput
from core.jira.issues import FieldErrors, NewIssue, issue_key, with_note
from core.jira.meta import issue_types, priorities, projects


def test_a_new_issue_is_normalised() -> None:
    new = NewIssue(project=" pay ", issue_type_id="10001", summary="  Refunds stall  ", on_behalf_of=" Ann ")
    assert (new.project, new.summary, new.on_behalf_of) == ("PAY", "Refunds stall", "Ann")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"summary": "two\nlines"}, "one line"),
        ({"summary": "   "}, "must not be empty"),
        ({"summary": "x" * 256}, "at most 255"),
        ({"project": 'PAY" OR 1=1'}, "not a Jira project key"),
        ({"issue_type_id": "10001/../x"}, "pattern"),
        ({"priority_id": "high"}, "pattern"),
        ({"description": "x" * 30_001}, "at most 30000"),
        ({"on_behalf_of": "Ann\nEvil"}, "one line"),
    ],
)
def test_a_new_issue_is_refused(fields: dict[str, str], message: str) -> None:
    values = {"project": "PAY", "issue_type_id": "10001", "summary": "ok", **fields}
    with pytest.raises(ValidationError, match=message):
        NewIssue.model_validate(values)


@given(st.text(max_size=300))
def test_any_summary_is_accepted_or_refused_cleanly(summary: str) -> None:
    try:
        new = NewIssue(project="PAY", issue_type_id="1", summary=summary)
    except ValidationError:
        return
    assert new.summary == new.summary.strip()
    assert 1 <= len(new.summary) <= 255
    assert "\n" not in new.summary
    assert "\r" not in new.summary


@pytest.mark.parametrize("key", ["pay-12", " PAY-12 "])
def test_issue_keys(key: str) -> None:
    assert issue_key(key) == "PAY-12"


@pytest.mark.parametrize("key", ["PAY-0", "PAY", "PAY-1/comment", "../PAY-1", "PAY-1?x=1", ""])
def test_bad_issue_keys(key: str) -> None:
    with pytest.raises(InvalidInput):
        issue_key(key)


def test_the_note_is_the_last_paragraph() -> None:
    assert with_note("Body\n\n", "Created by X.") == "Body\n\nCreated by X."
    assert with_note("  ", "Created by X.") == "Created by X."
    assert with_note("Body", None) == "Body"


def test_field_errors_message() -> None:
    error = FieldErrors({"summary": "You must specify a summary of the issue."}, ["Oops."])
    assert error.errors == {"summary": "You must specify a summary of the issue."}
    assert (
        error.user_message
        == "Jira did not accept that: Oops.; summary: You must specify a summary of the issue."
    )
    assert isinstance(error, InvalidInput)
    assert FieldErrors({}, []).user_message == "Jira did not accept that."


def test_metadata_queries(db: Database) -> None:
    with db.session() as session:
        session.add_all([
            Project(key="PAY", name="Payments Service"), Project(key="WEB", name="Web Storefront"),
            Project(key="OPS", name="Operations (pay_ops)"), Project(key="APAY", name="Apple Pay"),
        ])  # fmt: skip
        session.flush()
        session.add_all([
            JiraIssueType(project_key="PAY", id="3", name="Task", subtask=False, position=1),
            JiraIssueType(project_key="PAY", id="1", name="Bug", subtask=False, position=0),
            JiraIssueType(project_key="PAY", id="5", name="Sub-task", subtask=True, position=2),
            JiraIssueType(project_key="WEB", id="3", name="Task", subtask=False, position=0),
            JiraPriority(id="3", name="Medium", position=1), JiraPriority(id="1", name="Highest", position=0),
        ])  # fmt: skip
    with db.session() as session:
        assert issue_types(session, "pay") == [("1", "Bug"), ("3", "Task")]
        assert priorities(session) == [("1", "Highest"), ("3", "Medium")]
        # a key prefix first, then any other match, by key
        assert projects(session, "PAY") == [
            ("PAY", "Payments Service"), ("APAY", "Apple Pay"), ("OPS", "Operations (pay_ops)"),
        ]  # fmt: skip
        assert projects(session, "stor") == [("WEB", "Web Storefront")]
        assert projects(session, "_") == [("OPS", "Operations (pay_ops)")]  # `_` is not a wildcard
        assert projects(session, "web st") == [("WEB", "Web Storefront")]
        assert [k for k, _ in projects(session)] == ["APAY", "OPS", "PAY", "WEB"]
        assert len(projects(session, "", limit=2)) == 2
