"""One way into the audit log: `record`. There is no way out (see models.AuditLog)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from handover.models import AuditLog, HandoverTicket, StaffUser


def record(
    session: Session,
    action: str,
    *,
    user: StaffUser | None = None,
    username: str | None = None,
    ticket: HandoverTicket | None = None,
    ticket_id: int | None = None,
    conversation_id: str | None = None,
    detail: dict | None = None,
    ip: str | None = None,
) -> AuditLog:
    """`detail` takes codes and ids, never what a resident wrote."""
    entry = AuditLog(
        action=action,
        user_id=user.id if user else None,
        username=user.username if user else username,
        ticket_id=ticket.id if ticket is not None else ticket_id,
        conversation_id=ticket.conversation_id if ticket is not None else conversation_id,
        detail=detail or {},
        ip=ip,
    )
    session.add(entry)
    session.flush()
    return entry
