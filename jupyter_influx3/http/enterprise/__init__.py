"""Enterprise-only endpoints, one module per noun (backups.py: backup and restore;
concurrency.py: the query concurrency limit). Every route is
admin-only; errors are JSON ``{"error": …}`` (the spec's ErrorMessage)."""

from .backups import BACKUP_ROUTES
from .concurrency import CONCURRENCY_ROUTES

ENTERPRISE_ROUTES = [*BACKUP_ROUTES, *CONCURRENCY_ROUTES]
