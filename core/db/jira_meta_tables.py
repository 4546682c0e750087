"""Jira metadata the create-issue modal offers: issue types per project and the site's priorities.

Synced with the issues (``core.jira.meta``), so opening the modal reads the database instead of waiting on
Jira inside Slack's three seconds.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db.base import Base


class JiraIssueType(Base):
    """An issue type one can create in a project, in Jira's order."""

    __tablename__ = "jira_issue_types"

    project_key: Mapped[str] = mapped_column(ForeignKey("projects.key", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    subtask: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class JiraPriority(Base):
    """A priority of the Jira site (priorities are site-wide), in Jira's order (highest first)."""

    __tablename__ = "jira_priorities"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=0)
