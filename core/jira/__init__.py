"""Jira: mapping the REST shapes to rows, and storing them."""
