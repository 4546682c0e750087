"""Channel digests, personal digests and reminders, each delivered exactly once."""
