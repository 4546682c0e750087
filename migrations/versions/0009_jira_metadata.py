"""jira metadata: issue types per project and priorities, for the create-issue modal

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 21:22:24.631882
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('jira_priorities',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jira_priorities'))
    )
    op.create_table('jira_issue_types',
    sa.Column('project_key', sa.String(length=32), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('subtask', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['project_key'], ['projects.key'], name=op.f('fk_jira_issue_types_project_key_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_key', 'id', name=op.f('pk_jira_issue_types'))
    )


def downgrade() -> None:
    op.drop_table('jira_issue_types')
    op.drop_table('jira_priorities')
