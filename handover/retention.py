"""Keep no longer than needed.

- A closed ticket, with its conversation, is deleted RETENTION_MONTHS (default 12) after it
  was closed. A conversation without a ticket is deleted RETENTION_MONTHS after its last
  message: a chat that has been silent that long is over, whatever its status says.
- The transcript of a conversation that nobody agreed to share is redacted 30 days after its
  last message, unless an open ticket still needs it (acute danger, shared without consent).

Rasa's copy of a conversation (its tracker store) goes with it: erased with an erased
conversation, emptied with a redacted one, and retried for erasures on request that could
not reach it. When the tracker store cannot be reached, the run fails as a whole (nothing is
deleted or redacted) and the next run does it all: nothing is lost track of.

The audit log keeps its entries (they hold ids and codes, not residents' words).
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Message, forget_first_deliveries_before, utcnow
from conversations.rasa_tracker import erase_trackers
from core.config import Settings, get_settings
from handover import audit
from handover.models import AuditLog, HandoverTicket, TicketStatus
from sociale_kaart.gaps import forget_unmet_before

REDACTED_TEXT = "[verwijderd: bewaartermijn verlopen, geen toestemming om te delen]"


# Twilio repeats a webhook within minutes; two days is ample.
FIRST_DELIVERY_MEMORY = timedelta(days=2)


def months_before(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.year * 12 + (moment.month - 1) - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _last_activity():
    """conversation id -> its last message time (or its start, without messages)."""
    last_message = (
        select(Message.conversation_id, func.max(Message.created_at).label("last_at"))
        .group_by(Message.conversation_id)
        .subquery()
    )
    last_at = func.coalesce(last_message.c.last_at, Conversation.created_at)
    return last_message, last_at


def erase_conversation(session: Session, conversation: Conversation) -> list[int]:
    """Deletes a conversation with its messages and tickets (and their notes). Returns the ids
    of the tickets deleted."""
    tickets = list(session.scalars(select(HandoverTicket).where(HandoverTicket.conversation_id == conversation.id)))
    for ticket in tickets:
        session.delete(ticket)
    session.flush()
    session.delete(conversation)
    session.flush()
    return [ticket.id for ticket in tickets]


def run_retention(
    session: Session,
    now: datetime | None = None,
    *,
    settings: Settings | None = None,
    retention_months: int | None = None,
    redact_after_days: int | None = None,
) -> dict:
    now = now or utcnow()
    settings = settings or get_settings()
    retention_months = retention_months if retention_months is not None else settings.retention_months
    redact_after_days = redact_after_days if redact_after_days is not None else settings.inbox_redact_unconsented_days
    delete_before = months_before(now, retention_months)
    redact_before = now - timedelta(days=redact_after_days)
    counts = {"tickets_deleted": 0, "conversations_deleted": 0, "conversations_redacted": 0, "messages_redacted": 0}
    erased_ids: list[str] = []
    redacted_ids: list[str] = []

    last_message, last_at = _last_activity()
    base = select(Conversation).outerjoin(last_message, last_message.c.conversation_id == Conversation.id)

    # 1. Closed tickets past the period, with their conversation once nothing else keeps it.
    old_closed = session.scalars(
        select(HandoverTicket).where(
            HandoverTicket.status == TicketStatus.AFGEROND, HandoverTicket.closed_at < delete_before
        )
    ).all()
    for ticket in old_closed:
        conversation_id = ticket.conversation_id
        session.delete(ticket)
        counts["tickets_deleted"] += 1
        session.flush()
        still_kept = session.scalar(
            select(func.count()).select_from(HandoverTicket).where(HandoverTicket.conversation_id == conversation_id)
        )
        if still_kept:
            continue
        conversation = session.scalar(base.where(Conversation.id == conversation_id, last_at < delete_before))
        if conversation is not None:  # no ticket left, so erasing deletes no other ticket
            erased_ids.append(conversation.id)
            erase_conversation(session, conversation)
            counts["conversations_deleted"] += 1

    # 2. Conversations without any ticket, silent for the whole period.
    has_ticket = select(HandoverTicket.id).where(HandoverTicket.conversation_id == Conversation.id).exists()
    for conversation in session.scalars(base.where(~has_ticket, last_at < delete_before)).all():
        erased_ids.append(conversation.id)
        erase_conversation(session, conversation)
        counts["conversations_deleted"] += 1

    # 3. Redact what nobody agreed to keep. A shared transcript is kept (until step 1 removes
    #    it); an open ticket keeps its conversation readable for the colleague handling it.
    open_ticket = (
        select(HandoverTicket.id)
        .where(HandoverTicket.conversation_id == Conversation.id, HandoverTicket.status != TicketStatus.AFGEROND)
        .exists()
    )
    candidates = session.scalars(base.where(~open_ticket, last_at < redact_before)).all()
    for conversation in candidates:
        tickets = session.scalars(select(HandoverTicket).where(HandoverTicket.conversation_id == conversation.id)).all()
        if any(t.consent_given and "gesprek" in (t.consent_scope or []) for t in tickets):
            continue
        redacted = 0
        for message in conversation.messages:
            if message.text != REDACTED_TEXT or message.bot_text:
                message.text, message.buttons, message.redacted = REDACTED_TEXT, None, True
                message.bot_text = None  # what the bot was to hear of it, if it never did
                redacted += 1
        changed = redacted
        if conversation.levensgebieden and any(conversation.levensgebieden.values()):
            conversation.levensgebieden = {code: [] for code in conversation.levensgebieden}
            changed += 1
        for ticket in tickets:
            # Shared in acute danger without consent: once closed, keep codes, drop the words.
            if not ticket.consent_given and (ticket.summary or any((ticket.levensgebieden or {}).values())):
                ticket.summary = ""
                ticket.levensgebieden = {code: [] for code in ticket.levensgebieden or {}}
                changed += 1
        if changed:
            counts["conversations_redacted"] += 1
            counts["messages_redacted"] += redacted
            redacted_ids.append(conversation.id)
            # The bot forgets it too; a resident who comes back starts a fresh bot session.
            conversation.bot_session_started = False

    # 4. Questions the sociale kaart could not answer, kept for the gap view as long as the rest.
    counts["unmet_questions_deleted"] = forget_unmet_before(session, delete_before)

    # 5. Twilio's ids of first messages and calls: needed only while Twilio may repeat one.
    counts["twilio_ids_forgotten"] = forget_first_deliveries_before(session, now - FIRST_DELIVERY_MEMORY)

    # 6. Rasa's copies of all of these (raises, so the caller rolls back, when unreachable).
    session.flush()
    counts["rasa_events_deleted"] = erase_trackers(
        settings, [*erased_ids, *redacted_ids, *_rasa_erasures_to_retry(session)]
    )

    audit.record(
        session,
        "retention_run",
        detail={**counts, "retention_months": retention_months, "redact_after_days": redact_after_days},
    )
    session.flush()
    return counts


def _rasa_erasures_to_retry(session: Session) -> list[str]:
    """Conversations erased on request while Rasa's tracker store was unreachable (the audit
    entry says so). Erasing them again is harmless once it worked."""
    entries = session.scalars(select(AuditLog).where(AuditLog.action == "erased_on_request")).all()
    return [
        e.conversation_id
        for e in entries
        if e.conversation_id and (e.detail or {}).get("rasa_events_deleted", 0) is None
    ]
