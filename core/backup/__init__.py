"""Backup and restore of what cannot be re-derived (`agentpm export` / `agentpm import`); see docs/backup.md.

``export_database`` writes the file, ``parse`` checks all of it, ``import_backup`` writes it in one
transaction. Jira issues and the vector index are not in it: `agentpm sync jira --full` and
`agentpm reindex` rebuild them.
"""

from core.backup.export import ExportResult, export_database
from core.backup.fileformat import Backup, InvalidBackup, parse
from core.backup.restore import ImportRefused, ImportReport, TableCounts, import_backup
from core.backup.tables import FORMAT, NOT_EXPORTED, TABLES, VERSION

__all__ = [
    "FORMAT",
    "NOT_EXPORTED",
    "TABLES",
    "VERSION",
    "Backup",
    "ExportResult",
    "ImportRefused",
    "ImportReport",
    "InvalidBackup",
    "TableCounts",
    "export_database",
    "import_backup",
    "parse",
]
