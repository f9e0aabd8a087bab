"""Enterprise-only endpoints, one module per noun (backups.py: backup and restore;
concurrency.py: the query concurrency limit; nodes.py: node stop;
deletes.py: row-delete requests; transfer.py: bulk import and export;
fileindex.py: the file index). Every route is
admin-only; errors are JSON ``{"error": …}`` (the spec's ErrorMessage)."""

from .backups import BACKUP_ROUTES
from .concurrency import CONCURRENCY_ROUTES
from .deletes import DELETE_ROUTES
from .fileindex import FILE_INDEX_ROUTES
from .nodes import NODE_ROUTES
from .transfer import TRANSFER_ROUTES

ENTERPRISE_ROUTES = [*BACKUP_ROUTES, *CONCURRENCY_ROUTES, *NODE_ROUTES, *DELETE_ROUTES, *TRANSFER_ROUTES,
                     *FILE_INDEX_ROUTES]
