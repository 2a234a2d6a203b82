"""Regie op gegevens, for the resident in the conversation: what is stored about them, and
deleting it on request. The bot calls these; the answer is B1 Dutch plus the facts as data."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Message
from conversations.opvolging import FollowUp
from conversations.rasa_tracker import erase_trackers
from core.config import Settings, get_settings
from core.taxonomy import label
from handover import audit
from handover.models import CONSENT_SCOPES, STATUSES, HandoverTicket
from handover.retention import erase_conversation

log = logging.getLogger(__name__)


def what_is_stored(session: Session, conversation: Conversation) -> dict:
    messages = (
        session.scalar(select(func.count()).select_from(Message).where(Message.conversation_id == conversation.id)) or 0
    )
    tickets = list(
        session.scalars(
            select(HandoverTicket).where(HandoverTicket.conversation_id == conversation.id).order_by(HandoverTicket.id)
        )
    )
    topics = [label(code).lower() for code in (conversation.levensgebieden or {})]
    settings = get_settings()
    lines = [f"We bewaren dit gesprek: {messages} bericht{'' if messages == 1 else 'en'}."]
    if topics:
        lines.append("Het gaat over: " + ", ".join(topics) + ".")
    if conversation.channel == "web" and conversation.resident_address_encrypted:
        lines.append("We bewaren ook het telefoonnummer dat u gaf, versleuteld.")
    for ticket in tickets:
        who = ticket.team.name if ticket.team else settings.loket_name
        lines.append(f"Uw vraag is doorgegeven aan {who} (nummer {ticket.reference}).")
        if ticket.consent_scope:
            lines.append("Zij zien " + " en ".join(CONSENT_SCOPES[s] for s in ticket.consent_scope) + ".")
        elif ticket.acute_danger:
            lines.append("Omdat u misschien in gevaar was, zien zij het hele gesprek.")
    if not any(t.consent_given and "gesprek" in (t.consent_scope or []) for t in tickets):
        days = settings.inbox_redact_unconsented_days
        lines.append(f"Na {days} dagen zonder nieuwe berichten halen we de tekst van het gesprek weg.")
    lines.append(f"Alles wordt uiterlijk {settings.retention_months} maanden na afloop gewist.")
    if any(t.acute_danger for t in tickets):
        lines.append("De melding over uw veiligheid blijft bewaard, ook als u de rest laat wissen.")
    lines.append("Wilt u dat we alles nu wissen? Dat kan.")
    return {
        "messages": messages,
        "levensgebieden": sorted(conversation.levensgebieden or {}),
        "tickets": [
            {
                "reference": t.reference,
                "team": t.team.name if t.team else None,
                "status": STATUSES[t.status],
                "shared": list(t.consent_scope or []),
            }
            for t in tickets
        ],
        "message": " ".join(lines),
    }


def forget(session: Session, conversation: Conversation, *, settings: Settings | None = None) -> dict:
    """Deletes the conversation, its messages and its tickets, and Rasa's copy of it, at the
    resident's request. The audit log keeps that it happened (ids only), not what was said.
    When Rasa's tracker store cannot be reached, the next retention run erases its copy.

    One thing survives: a ticket opened because of acute danger. Someone holding the
    resident's phone must not be able to erase a safety report. Its conversation stays as an
    empty shell (the ticket belongs to it, and so does the number to reach the resident);
    every message and every other ticket goes, and the resident is told what is kept and
    for how long (`kept_ticket_ids`, `message`)."""
    settings = settings or get_settings()
    conversation_id = conversation.id
    tickets = list(session.scalars(select(HandoverTicket).where(HandoverTicket.conversation_id == conversation_id)))
    kept = [t for t in tickets if t.acute_danger]
    if kept:
        ticket_ids = [t.id for t in tickets if not t.acute_danger]
        for ticket in tickets:
            if not ticket.acute_danger:
                session.delete(ticket)
        for message in session.scalars(select(Message).where(Message.conversation_id == conversation_id)):
            session.delete(message)
        for follow_up in session.scalars(select(FollowUp).where(FollowUp.conversation_id == conversation_id)):
            session.delete(follow_up)  # no "hoe ging het?" after "wis alles"
        conversation.levensgebieden = {}
        conversation.forget_requested = False
        session.flush()
    else:
        ticket_ids = erase_conversation(session, conversation)
    try:
        rasa_events = erase_trackers(settings, [conversation_id])
    except Exception as exc:
        log.error("Rasa's copy of conversation %s not erased now (the retention run will): %s", conversation_id, exc)
        rasa_events = None
    detail: dict = {"ticket_ids": ticket_ids, "rasa_events_deleted": rasa_events}
    if kept:
        detail["kept_ticket_ids"] = [t.id for t in kept]
    audit.record(session, "erased_on_request", conversation_id=conversation_id, detail=detail)
    if kept:
        who = kept[0].team.name if kept[0].team else settings.loket_name
        return {
            "deleted_tickets": len(ticket_ids),
            "kept_ticket_ids": [t.id for t in kept],
            "message": f"Ons gesprek is gewist. Eén ding bewaren we wel: de melding over uw veiligheid bij {who}. "
            f"Die blijft {settings.retention_months} maanden, zodat zij u kunnen helpen. "
            f"Wilt u daarover praten? Bel {settings.loket_name}: {settings.loket_phone}.",
        }
    return {
        "deleted_tickets": len(ticket_ids),
        "message": "Uw gesprek en alles wat u ons vertelde is gewist. Wilt u later weer iets "
        "vragen? Dan begint u een nieuw gesprek.",
    }
