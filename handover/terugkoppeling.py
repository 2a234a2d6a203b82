"""Terugkoppeling: a melder who asked for it hears, once, that their melding was picked up,
on the channel they wrote on, in their language, without a word about the person concerned.
Sent when staff close the melding (inbox.tickets.change_status)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from conversations.models import Message, Sender, utcnow
from conversations.outbound import Outbound
from core.config import get_settings
from core.messages import text
from handover import audit
from handover.models import HandoverTicket

log = logging.getLogger(__name__)


def tell_melder(session: Session, ticket: HandoverTicket, outbound: Outbound) -> Message | None:
    """Stores the message in the melder's conversation and delivers it (WhatsApp outside the
    24-hour window goes through the approved template, see webhooks/whatsapp.py; the web widget
    shows it when the melder comes back). None when there is nothing to send: not a melding, not
    asked for, already sent, or a phone call (the phone line cannot send a message later)."""
    melding = ticket.melding or {}
    conversation = ticket.conversation
    if not melding.get("terugkoppeling") or ticket.terugkoppeling_at is not None or conversation is None:
        return None
    if conversation.channel == "voice":
        return None
    message = Message(
        conversation=conversation,
        # As a staff message: WhatsApp holds it like a staff reply until the melder answers the
        # template, and the widget shows it as a message from the team.
        sender=Sender.STAFF,
        author=get_settings().loket_name,
        text=text("melding.picked_up", conversation.language, reference=ticket.reference),
    )
    session.add(message)
    session.flush()
    ticket.terugkoppeling_at = utcnow()
    audit.record(session, "terugkoppeling_sent", ticket=ticket, detail={"message_id": message.id})
    try:
        outbound.deliver(session, conversation, message)
    except Exception:  # stored all the same: the melder sees it when they come back to the chat
        log.warning("terugkoppeling for ticket %s not delivered on %s", ticket.id, conversation.channel, exc_info=True)
    return message
