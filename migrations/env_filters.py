"""What schema comparisons leave out.

Full-text search objects are created by migrations in the dialect's own terms (a generated tsvector column
on PostgreSQL, an FTS5 table on SQLite); the models do not describe them.
"""

from __future__ import annotations

UNMANAGED = ("documents_fts", "search_vector", "ix_documents_search_vector")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (name or "").startswith(UNMANAGED)
