"""TODOs: parse what people type, store them, and find the overdue ones for digests and reminders."""
