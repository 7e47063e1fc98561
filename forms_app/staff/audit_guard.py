"""The audit log is append-only: the ORM refuses to update or delete an `AuditLog` row.

(Deleting a request still sets `audit_log.request_id` to NULL in the database, by the foreign
key's ON DELETE SET NULL; the entry itself stays.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from ..models import AuditLog


class AuditLogIsAppendOnly(RuntimeError):
    pass


def _refuse(_mapper: Any, _connection: Any, target: AuditLog) -> None:
    raise AuditLogIsAppendOnly(f"audit_log row {target.id} may not be changed or deleted")


if not event.contains(AuditLog, "before_update", _refuse):
    event.listen(AuditLog, "before_update", _refuse)
    event.listen(AuditLog, "before_delete", _refuse)
