"""Search: searchable text, keyword ranking (PostgreSQL full-text search or SQLite FTS5), permissions."""
