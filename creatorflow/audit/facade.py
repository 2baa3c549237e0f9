"""What other apps use of the audit log: write entries from services, set context in tasks."""

from .context import AuditContext, audit_context, current_context
from .services import audit_log, diff, snapshot

__all__ = ["AuditContext", "audit_context", "audit_log", "current_context", "diff", "snapshot"]
