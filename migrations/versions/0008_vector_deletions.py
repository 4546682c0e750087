"""vector deletions outbox

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 21:30:00.000000

A trigger on ``documents`` records every deleted document in ``vector_deletions`` within the deleting
transaction, whichever code deletes it (Jira reconciliation, channel message deletes, ...); the index job
drops those documents' vectors from the external index and then the rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('vector_deletions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vector_deletions'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION documents_vector_deletion() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO vector_deletions (document_id, deleted_at) VALUES (OLD.id, now()); RETURN OLD; END $$"
        )
        op.execute(
            "CREATE TRIGGER documents_vector_deletion AFTER DELETE ON documents "
            "FOR EACH ROW EXECUTE FUNCTION documents_vector_deletion()"
        )
    else:
        op.execute(
            "CREATE TRIGGER documents_vector_deletion AFTER DELETE ON documents BEGIN "
            "INSERT INTO vector_deletions (document_id, deleted_at) VALUES (old.id, CURRENT_TIMESTAMP); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS documents_vector_deletion ON documents")
        op.execute("DROP FUNCTION IF EXISTS documents_vector_deletion()")
    else:
        op.execute("DROP TRIGGER IF EXISTS documents_vector_deletion")
    op.drop_table('vector_deletions')
