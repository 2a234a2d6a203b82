"""The warm handover: the bot calls `open_handover_ticket` once the resident said yes (or in
acute danger), then tells the resident what `handover_packet` says: who will contact them,
how, and by when. The ticket lands in the queue of the wijkteam for the resident's wijk."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.models import Conversation, as_utc, utcnow
from core.config import get_settings
from core.crisis import crisis_numbers
from core.messages import text
from core.opening_hours import sla_deadline
from core.taxonomy import LEVENSGEBIED_CODES, label
from core.timefmt import deadline_text, loket_zone
from handover import audit
from handover.models import (
    BETROKKENE_WEET,
    CONSENT_SCOPES,
    CONTACT_PREFERENCES,
    MELDER_RELATIONS,
    MELDING_URGENCY,
    OPEN_STATUSES,
    REASONS,
    HandoverTicket,
    PostcodeRange,
    Team,
    TicketNote,
    Wijk,
)
from handover.routing import RoutingRulesInvalid, load_rules, team_by_rules
from handover.settings import URGENCIES, InboxSettings, load_inbox_settings

log = logging.getLogger(__name__)

_POSTCODE = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})?\s*$")


class HandoverRefused(ValueError):
    """The ticket cannot be opened as asked (no consent, unknown code, bad postcode)."""


def normalise_postcode(postcode: str | None) -> str | None:
    """'7511ab' -> '7511 AB'; '7511' stays '7511'. Raises HandoverRefused when it is no postcode."""
    if postcode is None or not postcode.strip():
        return None
    match = _POSTCODE.match(postcode)
    if not match:
        raise HandoverRefused(f"not a Dutch postcode: {postcode!r}")
    digits, letters = match.groups()
    return f"{digits} {letters.upper()}" if letters else digits


def find_wijk(session: Session, postcode: str | None) -> Wijk | None:
    if not postcode:
        return None
    pc4 = int(postcode[:4])
    return session.scalar(
        select(Wijk).join(PostcodeRange).where(PostcodeRange.start <= pc4, PostcodeRange.end >= pc4).order_by(Wijk.id)
    )


def route(session: Session, postcode: str | None) -> tuple[Wijk | None, Team | None]:
    """The wijk's own team; else the team marked as default; else none (coordinators assign)."""
    wijk = find_wijk(session, postcode)
    if wijk is not None and wijk.team is not None and wijk.team.active:
        return wijk, wijk.team
    default = session.scalar(select(Team).where(Team.is_default.is_(True), Team.active.is_(True)).order_by(Team.id))
    return wijk, default


def _consent_scope(consent: bool | Iterable[str]) -> list[str]:
    if consent is True:
        return list(CONSENT_SCOPES)
    if consent is False or consent is None:
        return []
    scope = [s for s in CONSENT_SCOPES if s in set(consent)]
    unknown = set(consent) - set(CONSENT_SCOPES)
    if unknown:
        raise HandoverRefused(f"unknown consent scope {sorted(unknown)}; known: {sorted(CONSENT_SCOPES)}")
    return scope


def _known_levensgebieden(conversation: Conversation) -> dict[str, list[str]]:
    """The conversation's levensgebieden (our codes only) with the resident's own words."""
    return {
        code: list(words) for code, words in (conversation.levensgebieden or {}).items() if code in LEVENSGEBIED_CODES
    }


def _concerns(levensgebieden: dict) -> list[str]:
    """'Zorgen over: geld, wonen.' as a list of at most one sentence."""
    return ["Zorgen over: " + ", ".join(label(code).lower() for code in levensgebieden) + "."] if levensgebieden else []


def _default_summary(
    reasons: Sequence[str], levensgebieden: dict, contact_preference: str | None, contact_window: str | None
) -> str:
    """Plain Dutch for colleagues, from codes only: the resident's own words stay in their own field."""
    parts = ["Reden: " + ", ".join(REASONS[r].lower() for r in reasons) + ".", *_concerns(levensgebieden)]
    if contact_preference:
        contact = CONTACT_PREFERENCES[contact_preference].lower()
        parts.append(f"Wil contact via: {contact}" + (f" ({contact_window})." if contact_window else "."))
    return " ".join(parts)


# First line of the summary when the conversation is about domestic violence (the resident
# chose a safe way of contact, see bot/actions/handover.py).
SAFE_CONTACT_WARNING = (
    "Let op, huiselijk geweld: neem alleen contact op op de manier en het moment die de "
    "inwoner koos. Stuur niets anders: geen brief, sms, WhatsApp of mail."
)


def open_handover_ticket(
    session: Session,
    conversation: Conversation,
    *,
    reason: str | Sequence[str],
    urgency: str,
    consent: bool | Iterable[str],
    acute_danger: bool = False,
    contact_preference: str | None = None,
    contact_window: str | None = None,
    postcode: str | None = None,
    advised: Sequence[str | dict] | None = None,
    summary: str | None = None,
    due_at: datetime | None = None,
    safe_contact_only: bool = False,
    melding: dict | None = None,
    inbox_settings: InboxSettings | None = None,
    now: datetime | None = None,
) -> HandoverTicket:
    """Opens the ticket (or returns the conversation's ticket that is still open).

    reason: one code of REASONS or several ("crisis", "meerdere_levensgebieden", ...).
    urgency: acuut, hoog, normaal or laag; acute danger is always acuut, a crisis at least hoog.
    consent: True (everything in CONSENT_SCOPES), False, or the scopes agreed to, e.g. ["samenvatting"].
      Without consent nothing is shared and HandoverRefused is raised, unless acute_danger:
      then everything is shared and the ticket says it was shared without consent.
    contact_preference: bellen, whatsapp, chat or huisbezoek; contact_window: the resident's words ("morgenochtend").
    advised: services already shown: names, or {"name": ..., "url": ...}.
    due_at: a promise already made to the resident (a callback on the next opening day);
      without it, the SLA of the urgency sets the deadline.
    safe_contact_only: domestic violence: the resident chose the one way of contact that is
      safe (or "zelf": none); the summary starts with that warning for colleagues.
    melding: a melding by someone else about the resident concerned (see clean_melding); the
      conversation is the melder's, the postcode is the concerned person's.
    """
    reasons = [reason] if isinstance(reason, str) else list(dict.fromkeys(reason))
    if not reasons or any(r not in REASONS for r in reasons):
        raise HandoverRefused(f"reason must be one or more of {sorted(REASONS)}, got {reasons}")
    if urgency not in URGENCIES:
        raise HandoverRefused(f"urgency must be one of {URGENCIES}, got {urgency!r}")
    if contact_preference is not None and contact_preference not in CONTACT_PREFERENCES:
        raise HandoverRefused(
            f"contact_preference must be one of {sorted(CONTACT_PREFERENCES)}, got {contact_preference!r}"
        )
    scope = _consent_scope(consent)
    if not scope and not acute_danger:
        raise HandoverRefused(
            "no consent: nothing personal may be shared (give the resident information and the loket's number)"
        )
    postcode = normalise_postcode(postcode)
    melding = clean_melding(melding) if melding is not None else None

    # The conversation's open ticket of the same kind: a melding about someone else and the
    # melder's own question (or their own acute danger) are two tickets, never one.
    existing = next(
        (
            t
            for t in session.scalars(
                select(HandoverTicket)
                .where(HandoverTicket.conversation_id == conversation.id, HandoverTicket.status.in_(OPEN_STATUSES))
                .order_by(HandoverTicket.id.desc())
            )
            if t.is_melding == (melding is not None)
        ),
        None,
    )
    if existing is not None:
        return existing

    if acute_danger:
        # Without consent, everything is shared to protect the resident, and the ticket says so
        # (consent_scope stays as the resident gave it; see HandoverTicket.transcript_shared).
        urgency = "acuut"
    elif "crisis" in reasons and URGENCIES.index(urgency) > URGENCIES.index("hoog"):
        urgency = "hoog"

    shares_summary = acute_danger or "samenvatting" in scope
    levensgebieden = _known_levensgebieden(conversation) if shares_summary else {}
    advised_items = [a if isinstance(a, dict) else {"name": str(a)} for a in (advised or [])] if shares_summary else []
    if shares_summary:
        summary_text = (summary or "").strip() or _default_summary(
            reasons, levensgebieden, contact_preference, contact_window
        )
    else:
        summary_text = ""
    if safe_contact_only:
        summary_text = " ".join([SAFE_CONTACT_WARNING, summary_text]).strip()

    inbox_settings = inbox_settings or load_inbox_settings()
    now = now or utcnow()
    wijk, team = route(session, postcode)
    # The municipality's routing rules (handover/routing.py) may send it to another team. A
    # rules file that cannot be read never stops a ticket (an acute one least of all).
    try:
        rules = load_rules(get_settings().routing_rules_file)
    except RoutingRulesInvalid:
        log.exception("routing rules not used; the ticket goes by postcode")
        rules = ()
    team = (
        team_by_rules(
            session,
            rules,
            urgency=urgency,
            reasons=reasons,
            levensgebieden=list(_known_levensgebieden(conversation)),
            melding=melding is not None,
        )
        or team
    )
    ticket = HandoverTicket(
        conversation=conversation,
        reasons=reasons,
        urgency=urgency,
        consent_given=bool(scope),
        consent_scope=scope,
        acute_danger=acute_danger,
        summary=summary_text,
        levensgebieden=levensgebieden,
        levensgebied_codes="," + "".join(f"{code}," for code in levensgebieden),
        advised=advised_items,
        contact_preference=contact_preference,
        contact_window=(contact_window or "").strip()[:200] or None,
        postcode=postcode,
        wijk=wijk,
        team=team,
        melding=melding,
        created_at=now,
        # Stored in UTC, as every time is (SQLite keeps no time zone).
        due_at=as_utc(due_at or sla_due(now, urgency, inbox_settings)).astimezone(timezone.utc),
    )
    session.add(ticket)
    session.flush()
    audit.record(
        session,
        "ticket_created",
        ticket=ticket,
        detail={
            "reasons": reasons,
            "urgency": urgency,
            "consent_scope": scope,
            "acute_danger": acute_danger,
            "team_id": team.id if team else None,
            "wijk_id": wijk.id if wijk else None,
            "melding": melding is not None,
        },
    )
    return ticket


def clean_melding(melding: dict) -> dict:
    """The melding's fields, checked: relatie (MELDER_RELATIONS), weet (BETROKKENE_WEET),
    urgentie (MELDING_URGENCY), sinds (the melder's words, at most 120 characters) and
    terugkoppeling (the melder wants to hear that it was picked up). Unknown keys are refused."""
    unknown = set(melding) - {"relatie", "weet", "urgentie", "sinds", "terugkoppeling"}
    if unknown:
        raise HandoverRefused(f"unknown melding fields: {sorted(unknown)}")
    for key, allowed in (("relatie", MELDER_RELATIONS), ("weet", BETROKKENE_WEET), ("urgentie", MELDING_URGENCY)):
        if melding.get(key) is not None and melding[key] not in allowed:
            raise HandoverRefused(f"melding {key} must be one of {sorted(allowed)}, got {melding[key]!r}")
    return {
        "relatie": melding.get("relatie"),
        "weet": melding.get("weet"),
        "urgentie": melding.get("urgentie"),
        "sinds": " ".join(str(melding.get("sinds") or "").split())[:120] or None,
        "terugkoppeling": bool(melding.get("terugkoppeling")),
    }


def open_callback_ticket(
    session: Session, conversation: Conversation, why: str, *, due_at: datetime | None = None
) -> HandoverTicket:
    """A caller said yes to "shall we call you back? Then a colleague sees your number and
    what your question is about" (the loket was closed or busy): a ticket to call them back,
    with the summary (not the transcript) shared, by the moment the phone line promised."""
    summary = " ".join(
        [
            f"Wil teruggebeld worden ({why}).",
            *_concerns(_known_levensgebieden(conversation)),
            "Bel terug op het nummer waarmee de inwoner belde.",
        ]
    )
    return open_handover_ticket(
        session,
        conversation,
        reason=["terugbelverzoek"],
        urgency="normaal",
        consent=["samenvatting"],
        contact_preference="bellen",
        summary=summary,
        due_at=due_at,
    )


def sla_due(now: datetime, urgency: str, inbox_settings: InboxSettings) -> datetime:
    """When the ticket is due: acute danger in clock hours (someone is on duty for it, and
    the resident has had the crisis numbers); every other urgency in opening days of the
    loket (core/opening_hours.py), so the promise never falls on a night, a weekend or a
    holiday ("maandag vóór 17:00", not "zaterdag vóór 06:00")."""
    hours = inbox_settings.sla_hours[urgency]
    if urgency == "acuut":
        return now + timedelta(hours=hours)
    local_now = as_utc(now).astimezone(loket_zone())
    return sla_deadline(get_settings().loket_hours, local_now, hours) or now + timedelta(hours=hours)


def handover_packet(ticket: HandoverTicket, *, lang: str = "nl", now: datetime | None = None) -> dict:
    """What the bot tells the resident (B1, from the message catalogue, in `lang`), plus the
    same facts as data. A melding by someone else promises nothing about the person concerned."""
    settings = get_settings()
    who = ticket.team.name if ticket.team else settings.loket_name
    by_when = deadline_text(ticket.due_at, lang, now)
    shared = [CONSENT_SCOPES[s] for s in ticket.consent_scope or []]
    phone = ticket.team.phone if ticket.team and ticket.team.phone else settings.loket_phone
    veilig_thuis = crisis_numbers(settings)["geweld"]

    def say(key: str, **values: object) -> None:
        lines.append(text(key, lang, **values))

    lines: list[str] = []
    if ticket.is_melding:
        say("melding.passed_on", team=who)
        say("melding.no_promise")
        say("melding.questions")
        if (ticket.melding or {}).get("terugkoppeling"):
            web = ticket.conversation is not None and ticket.conversation.channel == "web"
            say("melding.terugkoppeling_web" if web else "melding.terugkoppeling")
    else:
        if ticket.acute_danger and not ticket.consent_given:
            say("handover.passed_on_danger", team=who)
        else:
            say("handover.passed_on", team=who)
        say("handover.how." + (ticket.contact_preference or "onbekend"))
        if ticket.contact_preference == "zelf":
            say("handover.call_when_safe", veilig_thuis=veilig_thuis)
        else:
            say("handover.when", by_when=by_when)
        if ticket.contact_window:
            say("handover.window", window=ticket.contact_window)
        # "They know what you told me" only when they can read it: a summary is not the story.
        if ticket.transcript_shared:
            say("handover.conversation_shared")
        elif ticket.summary_shared:
            say("handover.summary_shared")
    say("handover.reference", reference=ticket.reference)
    say("handover.sooner", phone=phone)
    return {
        "ticket_id": ticket.id,
        "reference": ticket.reference,
        "team": who,
        "phone": phone,
        "contact_preference": ticket.contact_preference,
        "contact_preference_label": CONTACT_PREFERENCES.get(ticket.contact_preference)
        if ticket.contact_preference
        else None,
        "contact_window": ticket.contact_window,
        "due_at": as_utc(ticket.due_at).isoformat(),
        "due_text": by_when,
        "urgency": ticket.urgency,
        "consent_given": ticket.consent_given,
        "shared": shared,
        "acute_danger": ticket.acute_danger,
        "melding": ticket.is_melding,
        "veilig_thuis": veilig_thuis,
        "message": " ".join(lines),
    }


def raise_for_crisis(session: Session, conversation: Conversation, code: str) -> list[HandoverTicket]:
    """A crisis in a conversation that already has an open ticket (often one a colleague
    holds): the ticket goes to acuut, due now, with a note and an alert in the inbox. The
    resident got the numbers from the front door already."""
    tickets = list(
        session.scalars(
            select(HandoverTicket).where(
                HandoverTicket.conversation_id == conversation.id, HandoverTicket.status.in_(OPEN_STATUSES)
            )
        )
    )
    settings = get_settings()
    for ticket in tickets:
        ticket.urgency = "acuut"
        if "crisis" not in (ticket.reasons or []):
            ticket.reasons = list(ticket.reasons or []) + ["crisis"]
        ticket.acute_danger = ticket.acute_danger or code == "acuut_gevaar"
        due = utcnow() + timedelta(hours=settings.inbox_sla_hours["acuut"])
        ticket.due_at = min(as_utc(ticket.due_at), due) if ticket.due_at else due
        session.add(
            TicketNote(
                ticket=ticket,
                text=f"Crisissignaal in het gesprek ({code}). De inwoner kreeg "
                "meteen de crisisnummers. De urgentie is nu acuut.",
            )
        )
        audit.record(session, "crisis_raised", ticket=ticket, detail={"crisis": code})
    session.flush()
    return tickets
