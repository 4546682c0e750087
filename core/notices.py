"""What a job says back to Slack, as plain data; the bot decides how it looks (Block Kit views)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class ReplyTarget(BaseModel):
    """Where a job's result goes: a response_url, a thread, or privately to a user in a channel."""

    channel_id: str | None = None
    user_id: str | None = None
    thread_ts: str | None = None
    response_url: str | None = None
    private: bool = True


class ProjectStatus(BaseModel):
    key: str
    name: str = ""
    issues: int = 0
    last_sync: datetime | None = None
    last_outcome: Literal["ok", "error", "running"] | None = None
    last_error: str | None = None


class StatusReport(BaseModel):
    kind: Literal["status"] = "status"
    projects: list[ProjectStatus] = Field(default_factory=list)
    documents: dict[str, int] = Field(default_factory=dict)
    index_backend: Literal["local", "pinecone"] = "local"
    vectors: int = 0
    pending_jobs: int | None = None
    generated_at: datetime


class SyncLine(BaseModel):
    project: str
    fetched: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    total: int | None = None
    seconds: float = 0.0
    outcome: Literal["pending", "running", "ok", "error", "skipped"] = "pending"
    error: str | None = None


class SyncReport(BaseModel):
    """A manual sync: the message kept up to date while it runs, and the summary in its thread."""

    kind: Literal["sync"] = "sync"
    lines: list[SyncLine] = Field(default_factory=list)
    full: bool = False
    done: bool = False
    summary: bool = False  # the thread reply, as opposed to the progress message


class SearchHit(BaseModel):
    key: str | None
    title: str
    url: str | None
    source: str
    snippet: str
    status: str | None = None
    assignee: str | None = None
    updated: datetime | None = None


class SearchState(BaseModel):
    """What a "More results" or "Share" button carries: small, validated, never a split string."""

    q: str = Field(max_length=1000)
    project: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]{0,254}$")
    source: Literal["jira", "slack", "meeting"] | None = None
    since_days: int | None = None
    offset: int = Field(default=0, ge=0, le=1000)
    similar: bool = False  # "Find similar issues" on a message: the query is the message's text


class SearchPage(BaseModel):
    kind: Literal["search"] = "search"
    state: SearchState
    hits: list[SearchHit] = Field(default_factory=list)
    has_more: bool = False
    shared_by: str | None = None
    synced_at: datetime | None = None


class Citation(BaseModel):
    """A numbered source of an answer."""

    number: int
    title: str
    url: str | None = None
    key: str | None = None
    source: str = "jira"
    status: str | None = None
    assignee: str | None = None
    updated: datetime | None = None


class Quote(BaseModel):
    """An extractive answer's line: a passage quoted from one source."""

    number: int
    text: str


class AnswerNotice(BaseModel):
    """`/pm ask` and mentions: first a working indicator, then the answer that replaces it."""

    kind: Literal["answer"] = "answer"
    question: str
    asked_by: str | None = None
    working: bool = False
    mode: Literal["llm", "extractive", "none"] | None = None
    text: str = ""  # the LLM's answer, citing sources as [n]
    quotes: list[Quote] = Field(default_factory=list)  # the extractive answer
    citations: list[Citation] = Field(default_factory=list)
    nearest: list[SearchHit] = Field(default_factory=list)  # when nothing relevant was found
    note: str | None = None
    public: bool = True  # posted where others read it: only what everyone there may see was used
    echo_question: bool = False  # `/pm ask`: nobody saw the question, so the answer repeats it
    synced_at: datetime | None = None
    answer_id: int | None = None


class AnswerVote(BaseModel):
    """What a 👍/👎 button carries."""

    answer_id: int = Field(ge=1)
    vote: Literal[1, -1]


class IssueMove(BaseModel):
    id: str
    name: str
    to_status: str | None = None


class IssueCard(BaseModel):
    """A Jira issue as a link unfurl shows it, with what can be done to it."""

    key: str
    url: str
    summary: str
    status: str | None = None
    assignee: str | None = None
    priority: str | None = None
    updated: datetime | None = None
    transitions: list[IssueMove] = Field(default_factory=list)


class IssueRef(BaseModel):
    """What an unfurl's buttons carry: the issue, and the link that was unfurled (to refresh it)."""

    key: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,254}-[0-9]{1,12}$")
    url: str = Field(max_length=1000)


class DigestItem(BaseModel):
    """One line of a digest: a Jira issue or a TODO, with its link when it has one."""

    title: str
    url: str | None = None
    key: str | None = None  # the Jira issue key
    todo_id: int | None = None
    status: str | None = None
    priority: str | None = None
    assignee: str | None = None
    owner: str | None = None  # a TODO's owner (Slack user ID)
    due: date | None = None
    note: str | None = None  # e.g. "no update for 8 days", "3 days overdue"


DigestSectionName = Literal[
    "blocked_new", "high_priority", "created", "in_progress", "resolved", "blocked", "stale",
    "todos_overdue", "todos_due", "my_issues",
]  # fmt: skip


class DigestSection(BaseModel):
    name: DigestSectionName
    title: str
    items: list[DigestItem] = Field(default_factory=list)
    more: int = 0  # items beyond the section's cap, counted (never cut in half)


class DigestNotice(BaseModel):
    """A channel digest, a personal digest or an overdue-TODO reminder."""

    kind: Literal["digest"] = "digest"
    scope: Literal["channel", "personal", "reminder"]
    title: str
    since: datetime | None = None
    until: datetime
    tz: str = "UTC"
    projects: list[str] = Field(default_factory=list)
    sections: list[DigestSection] = Field(default_factory=list)
    summary: str | None = None  # a short LLM summary on top, when a model is configured
    delivery_id: int | None = None  # a scheduled delivery: carried as Slack message metadata
    requested_by: str | None = None  # `/pm digest now`


class ErrorNotice(BaseModel):
    kind: Literal["error"] = "error"
    message: str
    error_id: str | None = None


class ActionItemLine(BaseModel):
    """One action item of a meeting, as its buttons (Add TODO, Create Jira issue, Dismiss) act on it."""

    id: int
    text: str
    owner_hint: str | None = None  # a Slack user ID, a handle or a name, as the notes say
    due_hint: str | None = None  # "Friday", "2026-12-01", as the notes say
    status: Literal["open", "todo", "jira", "dismissed"] = "open"
    todo_id: int | None = None
    jira_key: str | None = None
    decided_by: str | None = None


class ActionItemsNotice(BaseModel):
    """The action items found in meeting notes, posted in the thread where the notes were shared."""

    kind: Literal["action_items"] = "action_items"
    meeting_id: int
    title: str
    url: str | None = None
    posted_by: str | None = None
    method: Literal["llm", "rules"] = "rules"  # found by the language model, or by rules without one
    note: str | None = None  # e.g. the model's answer was unusable, so rules found these
    items: list[ActionItemLine] = Field(default_factory=list)


class ActionItemRef(BaseModel):
    """What an action item's buttons carry."""

    item_id: int = Field(ge=1)


Notice = (
    StatusReport | SyncReport | SearchPage | AnswerNotice | DigestNotice | ErrorNotice | ActionItemsNotice
)
