"""In-process fake of the Jira REST API (Cloud or Data Center), served over real HTTP on 127.0.0.1.

Used by ``agentpm try`` (bundled demo issues), by the test suite and by the sync benchmark over ~20k real
issues. It speaks HTTP rather than patching the client so the real request building, pagination, retry and
error handling are exercised. Where Cloud and Data Center differ (search endpoints, pagination style,
description format), each flavour behaves like the real product, including its traps: Cloud's removed
``/search`` answers 410 and its ``nextPageToken`` is tied to the JQL; JQL naming a missing issue key is a 400.

Issues are stored in the REST v2 shape (wiki markup descriptions); v3 answers convert rich text to ADF.
"""

from bot.localjira.common import Flavour, JiraRequest, JsonDict
from bot.localjira.formats import wiki_to_adf
from bot.localjira.server import LocalJira

__all__ = ["Flavour", "JiraRequest", "JsonDict", "LocalJira", "wiki_to_adf"]
