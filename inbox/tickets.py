"""What staff can do with a ticket. Views call these; each change is audited here, so no
path can change a ticket without leaving a trace. Messages to the resident go through
conversations.outbound (the channel's own sender), never from here directly."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from conversations.addresses import resident_address
from conversations.models import Message, Status, as_utc, utcnow
from conversations.outbound import DeliveryFailed, Outbound, hand_back, take_over
from core.timefmt import duration
from handover import audit
from handover.models import (
    CLOSING_REASONS,
    CONTACTED_STATUSES,
    OPEN_STATUSES,
    STATUSES,
    HandoverTicket,
    StaffUser,
    Team,
    TicketNote,
    TicketStatus,
)
from handover.terugkoppeling import tell_melder

MAX_TEXT = 4000
log = logging.getLogger(__name__)


class TicketError(ValueError):
    """A change that is not allowed, with a message for the employee (Dutch)."""


# --- who sees what ----------------------------------------------------------------------


def can_see(user: StaffUser, ticket: HandoverTicket) -> bool:
    if user.sees_all_queues:
        return True
    return ticket.team_id is not None and ticket.team_id in user.team_ids


def visible_tickets(user: StaffUser) -> Select:
    query = select(HandoverTicket)
    if not user.sees_all_queues:
        query = query.where(HandoverTicket.team_id.in_(sorted(user.team_ids) or [-1]))
    return query


@dataclass
class Filters:
    team: str = ""  # team id, or "geen" for tickets without a team
    wijk: str = ""
    status: str = "open"  # a status code, "open" or "alle"
    levensgebied: str = ""
    mine: bool = False
    q: str = ""


def filtered(user: StaffUser, f: Filters) -> Select:
    query = visible_tickets(user)
    if f.team == "geen":
        query = query.where(HandoverTicket.team_id.is_(None))
    elif f.team.isdigit():
        query = query.where(HandoverTicket.team_id == int(f.team))
    if f.wijk.isdigit():
        query = query.where(HandoverTicket.wijk_id == int(f.wijk))
    if f.status == "open":
        query = query.where(HandoverTicket.status.in_(OPEN_STATUSES))
    elif f.status in STATUSES:
        query = query.where(HandoverTicket.status == f.status)
    if f.levensgebied:
        query = query.where(HandoverTicket.levensgebied_codes.contains(f",{f.levensgebied},", autoescape=True))
    if f.mine:
        query = query.where(HandoverTicket.assigned_user_id == user.id)
    q = f.q.strip()
    if q:
        number = q.upper().removeprefix("IAD-").lstrip("0")
        conditions = [
            HandoverTicket.summary.icontains(q, autoescape=True),
            HandoverTicket.postcode.icontains(q, autoescape=True),
        ]
        if number.isdigit():
            conditions.append(HandoverTicket.id == int(number))
        query = query.where(or_(*conditions))
    # Overdue and most urgent first: the SLA deadline is what orders the work.
    return query.order_by(HandoverTicket.due_at, HandoverTicket.id).limit(500)


# --- the SLA clock ----------------------------------------------------------------------


@dataclass
class SlaState:
    kind: str  # "open", "overdue", "met", "late"
    text: str


def sla_state(ticket: HandoverTicket, now: datetime | None = None) -> SlaState:
    """The SLA counts until first contact with the resident."""
    now = now or utcnow()
    due = as_utc(ticket.due_at)
    if ticket.contacted_at is not None:
        contacted = as_utc(ticket.contacted_at)
        if contacted <= due:
            return SlaState("met", "Op tijd contact")
        return SlaState("late", f"Contact {duration(contacted - due)} te laat")
    if ticket.status == TicketStatus.AFGEROND:
        return SlaState("met", "Afgerond")
    if now > due:
        return SlaState("overdue", f"{duration(now - due)} te laat")
    return SlaState("open", f"nog {duration(due - now)}")


# --- changes ----------------------------------------------------------------------------


def _ensure_open(ticket: HandoverTicket) -> None:
    if not ticket.is_open:
        raise TicketError("Deze melding is afgerond. Heropen hem eerst via de status.")


def _clean(text: str, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise TicketError(f"{what} is leeg.")
    if len(text) > MAX_TEXT:
        raise TicketError(f"{what} is te lang (maximaal {MAX_TEXT} tekens).")
    return text


def claim(session: Session, ticket: HandoverTicket, user: StaffUser, ip: str | None = None) -> None:
    _ensure_open(ticket)
    previous = ticket.assigned_user_id
    ticket.assigned_user = user
    if ticket.status == TicketStatus.NIEUW:
        ticket.status = TicketStatus.OPGEPAKT
    audit.record(session, "ticket_claimed", user=user, ticket=ticket, detail={"previous_user_id": previous}, ip=ip)


def assign(
    session: Session, ticket: HandoverTicket, actor: StaffUser, assignee: StaffUser, ip: str | None = None
) -> None:
    """A coordinator gives the ticket to a colleague of the ticket's team."""
    _ensure_open(ticket)
    if not assignee.active:
        raise TicketError("Deze medewerker is niet actief.")
    if not can_see(assignee, ticket):
        raise TicketError("Deze medewerker zit niet in het team van de melding. Wijs eerst het team toe.")
    ticket.assigned_user = assignee
    if ticket.status == TicketStatus.NIEUW:
        ticket.status = TicketStatus.OPGEPAKT
    audit.record(session, "ticket_assigned", user=actor, ticket=ticket, detail={"assigned_user_id": assignee.id}, ip=ip)


def reassign_team(session: Session, ticket: HandoverTicket, user: StaffUser, team: Team, ip: str | None = None) -> None:
    _ensure_open(ticket)
    if not team.active:
        raise TicketError("Dit team is niet actief.")
    previous = ticket.team_id
    if previous == team.id:
        raise TicketError("De melding zit al bij dit team.")
    ticket.team = team
    ticket.assigned_user = None  # the new team picks it up from its queue
    audit.record(
        session,
        "ticket_team_changed",
        user=user,
        ticket=ticket,
        detail={"from_team_id": previous, "to_team_id": team.id},
        ip=ip,
    )


def add_note(session: Session, ticket: HandoverTicket, user: StaffUser, text: str, ip: str | None = None) -> TicketNote:
    note = TicketNote(ticket=ticket, author=user, text=_clean(text, "De notitie"))
    session.add(note)
    session.flush()
    audit.record(session, "note_added", user=user, ticket=ticket, detail={"note_id": note.id}, ip=ip)
    return note


def change_status(
    session: Session,
    ticket: HandoverTicket,
    user: StaffUser,
    status: str,
    *,
    closing_reason: str | None = None,
    closing_note: str | None = None,
    ip: str | None = None,
    outbound: Outbound,
) -> None:
    """outbound: the app's channel senders, for the terugkoppeling to a melder."""
    if status not in STATUSES:
        raise TicketError("Onbekende status.")
    if status == ticket.status:
        raise TicketError("De melding heeft deze status al.")
    previous = ticket.status
    now = utcnow()
    detail: dict = {"from": previous, "to": status}
    if status == TicketStatus.AFGEROND:
        if closing_reason not in CLOSING_REASONS:
            raise TicketError("Kies een reden om af te ronden.")
        closing_note = (closing_note or "").strip() or None
        if closing_reason == "anders" and not closing_note:
            raise TicketError("Geef bij 'Anders' een korte toelichting.")
        ticket.closing_reason, ticket.closing_note, ticket.closed_at = closing_reason, closing_note, now
        detail["closing_reason"] = closing_reason
        # The bot takes the conversation back, so the resident is never left without an answer.
        if ticket.conversation.status == Status.STAFF:
            hand_back(session, ticket.conversation)
            detail["conversation_handed_back"] = True
    elif previous == TicketStatus.AFGEROND:
        ticket.closing_reason = ticket.closing_note = ticket.closed_at = None
        detail["reopened"] = True
    if status in CONTACTED_STATUSES and ticket.contacted_at is None and status != TicketStatus.AFGEROND:
        ticket.contacted_at = now
    if status != TicketStatus.NIEUW and ticket.assigned_user_id is None and status != TicketStatus.AFGEROND:
        ticket.assigned_user = user
    ticket.status = status
    audit.record(session, "status_changed", user=user, ticket=ticket, detail=detail, ip=ip)
    if status == TicketStatus.AFGEROND and ticket.is_melding:
        tell_melder(session, ticket, outbound)  # only when the melder asked for it, and only once


def reply(
    session: Session, ticket: HandoverTicket, user: StaffUser, text: str, ip: str | None = None, *, outbound: Outbound
) -> Message:
    """Sends a message to the resident on their channel; the bot pauses for this conversation.
    Raises conversations.outbound.DeliveryFailed when the channel refused (the message is kept)."""
    _ensure_open(ticket)
    text = _clean(text, "Het bericht")
    conversation = ticket.conversation
    if conversation.channel == "voice":
        raise TicketError("Deze inwoner belde. Bel terug; een bericht kan niet via de telefoonlijn.")
    if conversation.status != Status.STAFF:
        take_over(session, conversation)
    if ticket.assigned_user_id is None:
        ticket.assigned_user = user
    if ticket.status == TicketStatus.NIEUW:
        ticket.status = TicketStatus.OPGEPAKT
    try:
        message = outbound.send_staff_reply(session, conversation, text, author=user.display_name)
    except DeliveryFailed:
        # Stored but not delivered: audited, and the SLA clock keeps running.
        audit.record(
            session,
            "reply_sent",
            user=user,
            ticket=ticket,
            detail={"channel": conversation.channel, "delivered": False},
            ip=ip,
        )
        raise
    if ticket.status == TicketStatus.OPGEPAKT:
        ticket.status = TicketStatus.IN_CONTACT
    if ticket.contacted_at is None:
        ticket.contacted_at = utcnow()
    audit.record(
        session,
        "reply_sent",
        user=user,
        ticket=ticket,
        detail={"channel": conversation.channel, "delivered": True},
        ip=ip,
    )
    return message


def return_to_bot(session: Session, ticket: HandoverTicket, user: StaffUser, ip: str | None = None) -> None:
    if ticket.conversation.status != Status.STAFF:
        raise TicketError("Het gesprek is niet bij een medewerker.")
    hand_back(session, ticket.conversation)
    audit.record(session, "conversation_handed_back", user=user, ticket=ticket, ip=ip)


def resident_phone(settings, ticket: HandoverTicket) -> str | None:
    """The number the resident wrote or called from (or, on the web, gave to be called back
    on), for calling back: only with their consent (or in acute danger). Decrypted on demand;
    the view that shows it is audited."""
    if not (ticket.consent_given or ticket.acute_danger):
        return None
    try:
        return resident_address(settings, ticket.conversation)
    except Exception:  # a wrong or missing key must not take the ticket page down
        log.warning("phone number of conversation %s could not be decrypted", ticket.conversation_id)
        return None


def transcript(session: Session, ticket: HandoverTicket) -> tuple[list[Message], int]:
    """The messages staff may read, and how many earlier ones are withheld: without consent
    to share the conversation, only what came after the handover is shown."""
    query = select(Message).where(Message.conversation_id == ticket.conversation_id).order_by(Message.id)
    messages = list(session.scalars(query))
    if ticket.transcript_shared:
        return messages, 0
    created = as_utc(ticket.created_at)
    shown = [m for m in messages if as_utc(m.created_at) >= created]
    return shown, len(messages) - len(shown)
