"""Block Kit builders: pure functions of plain data; nothing here reads a database or calls an API."""
