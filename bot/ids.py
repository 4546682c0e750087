"""Every Slack identifier the bot declares or listens for, in one place."""

from __future__ import annotations

COMMAND = "/pm"

# Shortcuts (callback IDs, as in manifest.yml).
SHORTCUT_CREATE_JIRA_ISSUE = "create_jira_issue"
SHORTCUT_ADD_TODO = "add_todo"
SHORTCUT_FIND_SIMILAR = "find_similar"
SHORTCUT_NEW_JIRA_ISSUE = "new_jira_issue"

# Block IDs and action IDs.
BLOCK_HELP = "pm_help"
BLOCK_STATUS = "pm_status"
BLOCK_ERROR = "pm_error"

# Events the app subscribes to (manifest.yml settings.event_subscriptions.bot_events).
EVENT_APP_HOME_OPENED = "app_home_opened"
EVENT_APP_MENTION = "app_mention"
EVENT_APP_UNINSTALLED = "app_uninstalled"
EVENT_LINK_SHARED = "link_shared"
EVENT_MESSAGE = "message"
EVENT_TOKENS_REVOKED = "tokens_revoked"

# Views (modal callback IDs) and their blocks.
VIEW_CONNECT_JIRA = "connect_jira"
BLOCK_JIRA_EMAIL = "jira_email"
BLOCK_JIRA_TOKEN = "jira_token"  # noqa: S105  (a block ID, not a secret)
ACTION_VALUE = "value"

# Bot scopes requested by the OAuth install; the manifest test checks manifest.yml asks for the same.
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:join",
    "channels:read",
    "chat:write",
    "chat:write.public",
    "commands",
    "files:read",
    "groups:history",
    "groups:read",
    "im:history",
    "im:read",
    "im:write",
    "links:read",
    "links:write",
    "team:read",
    "users:read",
    "users:read.email",
)

# Search result buttons.
ACTION_SEARCH_MORE = "search_more"
ACTION_SEARCH_SHARE = "search_share"
BLOCK_SEARCH_ACTIONS = "search_actions"

# Answer feedback buttons.
ACTION_ANSWER_HELPFUL = "answer_helpful"
ACTION_ANSWER_UNHELPFUL = "answer_unhelpful"
BLOCK_ANSWER_FEEDBACK = "answer_feedback"

# Creating a Jira issue: the modal, its blocks and its external selects.
VIEW_CREATE_ISSUE = "create_issue"
BLOCK_ISSUE_PROJECT = "issue_project"
BLOCK_ISSUE_TYPE = "issue_type"
BLOCK_ISSUE_PRIORITY = "issue_priority"
BLOCK_ISSUE_ASSIGNEE = "issue_assignee"
BLOCK_ISSUE_SUMMARY = "issue_summary"
BLOCK_ISSUE_DESCRIPTION = "issue_description"
BLOCK_ISSUE_DUPLICATES = "issue_duplicates"
ACTION_PICK_PROJECT = "pick_project"
ACTION_PICK_ISSUE_TYPE = "pick_issue_type"
ACTION_PICK_PRIORITY = "pick_priority"
ACTION_PICK_ASSIGNEE = "pick_assignee"

# Acting on an issue from its unfurl.
ACTION_ISSUE_ASSIGN_ME = "issue_assign_me"
ACTION_ISSUE_TRANSITION = "issue_transition"
ACTION_ISSUE_COMMENT = "issue_comment"
BLOCK_ISSUE_ACTIONS = "issue_actions"
VIEW_ISSUE_COMMENT = "issue_comment_modal"
BLOCK_COMMENT = "comment"

# TODOs: the buttons on a TODO, the add/edit forms, and the App Home.
ACTION_TODO_DONE = "todo_done"
ACTION_TODO_SNOOZE = "todo_snooze"
ACTION_TODO_EDIT = "todo_edit"
VIEW_ADD_TODO = "add_todo_form"
VIEW_EDIT_TODO = "edit_todo_form"
BLOCK_TODO_TEXT = "todo_text"
BLOCK_TODO_OWNER = "todo_owner"
BLOCK_TODO_DUE = "todo_due"
ACTION_HOME_PERSONAL_DIGEST = "home_personal_digest"

# Meeting notes: the `/pm meeting` modal and the buttons on each action item.
VIEW_MEETING_NOTES = "meeting_notes"
BLOCK_MEETING_TITLE = "meeting_title"
BLOCK_MEETING_NOTES = "meeting_text"
BLOCK_ACTION_ITEMS = "action_items"
ACTION_ITEM_TODO = "action_item_todo"
ACTION_ITEM_JIRA = "action_item_jira"
ACTION_ITEM_DISMISS = "action_item_dismiss"
