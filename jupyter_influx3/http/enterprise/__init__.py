"""Enterprise-only endpoints, one module per noun (backups.py: backup and restore). Every route is
admin-only; errors are JSON ``{"error": …}`` (the spec's ErrorMessage)."""

from .backups import BACKUP_ROUTES

ENTERPRISE_ROUTES = [*BACKUP_ROUTES]
