"""A ticket for the wijkteam's own system: JSON (for import) or PDF (for a person).
Both hold exactly what the inbox shows: what the resident agreed to share."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from sqlalchemy.orm import Session

from conversations.models import as_utc
from core.taxonomy import label
from core.timefmt import dutch_datetime
from handover.models import (
    BETROKKENE_WEET,
    CLOSING_REASONS,
    CONSENT_SCOPES,
    CONTACT_PREFERENCES,
    MELDER_RELATIONS,
    REASONS,
    STATUSES,
    URGENCY_LABELS,
    HandoverTicket,
)
from inbox.tickets import transcript

# fpdf2's font subsetting logs every glyph at INFO; the app logs at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)

SENDER_LABELS = {"resident": "Inwoner", "bot": "Assistent", "staff": "Medewerker", "system": "Systeem"}
# How far one of our WhatsApp messages got (conversations/outbox.py).
DELIVERY_LABELS = {
    "held": "wacht op een bericht van de inwoner",
    "queued": "bij WhatsApp in de wachtrij",
    "sent": "verstuurd",
    "delivered": "afgeleverd",
    "read": "gelezen",
    "failed": "niet afgeleverd",
}


def _iso(moment):
    return as_utc(moment).isoformat() if moment else None


def ticket_export(session: Session, ticket: HandoverTicket, *, phone: str | None = None) -> dict:
    messages, withheld = transcript(session, ticket)
    return {
        "format": "iad-handover-ticket/1",
        "reference": ticket.reference,
        "created_at": _iso(ticket.created_at),
        "due_at": _iso(ticket.due_at),
        "contacted_at": _iso(ticket.contacted_at),
        "closed_at": _iso(ticket.closed_at),
        "status": {"code": ticket.status, "label": STATUSES[ticket.status]},
        "closing_reason": {
            "code": ticket.closing_reason,
            "label": CLOSING_REASONS[ticket.closing_reason],
            "note": ticket.closing_note,
        }
        if ticket.closing_reason
        else None,
        "reasons": [{"code": r, "label": REASONS[r]} for r in ticket.reasons],
        "urgency": ticket.urgency,
        "consent": {
            "given": ticket.consent_given,
            "scope": [{"code": s, "label": CONSENT_SCOPES[s]} for s in ticket.consent_scope or []],
            "shared_without_consent_because_of_acute_danger": ticket.acute_danger and not ticket.consent_given,
            "acute_danger": ticket.acute_danger,
        },
        "summary": ticket.summary,
        "levensgebieden": [
            {"code": code, "label": label(code), "resident_words": words}
            for code, words in (ticket.levensgebieden or {}).items()
        ],
        "advised": ticket.advised or [],
        "contact": {
            "preference": ticket.contact_preference,
            "preference_label": CONTACT_PREFERENCES.get(ticket.contact_preference)
            if ticket.contact_preference
            else None,
            "window": ticket.contact_window,
            "channel": ticket.conversation.channel,
            "phone": phone,
        },
        # A melding by someone else: the contact above is the melder's, the postcode and wijk
        # below are the person's concerned.
        "melding": {
            **ticket.melding,
            "terugkoppeling_at": _iso(ticket.terugkoppeling_at),
        }
        if ticket.is_melding
        else None,
        "postcode": ticket.postcode,
        "wijk": ticket.wijk.name if ticket.wijk else None,
        "team": ticket.team.name if ticket.team else None,
        "assigned_to": ticket.assigned_user.display_name if ticket.assigned_user else None,
        "notes": [
            {"author": n.author.display_name if n.author else None, "at": _iso(n.created_at), "text": n.text}
            for n in ticket.notes
        ],
        "transcript": {
            "complete": withheld == 0,
            "withheld_messages": withheld,
            "messages": [
                {
                    "sender": m.sender,
                    "author": m.author if m.sender == "staff" else None,
                    "at": _iso(m.created_at),
                    "text": m.text,
                }
                for m in messages
            ],
        },
    }


class _Pdf(FPDF):
    def __init__(self, font_path: str):
        super().__init__(format="A4")
        self.set_margins(18, 18, 18)
        self.set_auto_page_break(True, 18)
        font = Path(font_path)
        bold = font.with_name(font.stem + "-Bold" + font.suffix)
        if font.is_file():
            self.add_font("body", "", str(font))
            self.add_font("body", "B", str(bold if bold.is_file() else font))
            self._family, self._unicode = "body", True
        else:  # no TTF font here: the built-in Helvetica covers Latin-1 (Dutch) only
            self._family, self._unicode = "helvetica", False

    def latin(self, value: str) -> str:
        return value if self._unicode else value.encode("latin-1", "replace").decode("latin-1")

    def heading(self, value: str, size: int = 13) -> None:
        self.ln(2)
        self.set_font(self._family, "B", size)
        self.multi_cell(0, 7, self.latin(value), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self._family, "", 10)

    def para(self, value: str) -> None:
        self.set_font(self._family, "", 10)
        self.multi_cell(0, 5, self.latin(value), new_x="LMARGIN", new_y="NEXT")

    def field(self, name: str, value: str | None) -> None:
        self.set_font(self._family, "B", 10)
        self.multi_cell(0, 5, self.latin(name), new_x="LMARGIN", new_y="NEXT")
        self.para(value or "—")


def ticket_pdf(session: Session, ticket: HandoverTicket, font_path: str, *, phone: str | None = None) -> bytes:
    data = ticket_export(session, ticket, phone=phone)
    pdf = _Pdf(font_path)
    pdf.set_title(f"Overdracht {ticket.reference}")
    pdf.set_creator("IAD-loket")
    pdf.add_page()
    pdf.heading(f"Overdracht {ticket.reference}", 16)
    pdf.para(f"Gemaakt op {dutch_datetime(ticket.created_at)}. Status: {data['status']['label']}.")
    if ticket.acute_danger and not ticket.consent_given:
        pdf.heading("Gedeeld zonder toestemming vanwege acuut gevaar", 11)
    pdf.field("Reden", ", ".join(r["label"] for r in data["reasons"]))
    pdf.field("Urgentie", URGENCY_LABELS.get(ticket.urgency, ticket.urgency))
    pdf.field("Contact binnen", dutch_datetime(ticket.due_at))
    pdf.field("Toestemming", "; ".join(s["label"] for s in data["consent"]["scope"]) or "geen")
    pdf.field(
        "Contactvoorkeur",
        " — ".join(x for x in (data["contact"]["preference_label"], ticket.contact_window) if x) or None,
    )
    pdf.field("Kanaal", ticket.conversation.channel + (f", telefoon {phone}" if phone else ""))
    pdf.field("Wijk / team", " / ".join(x for x in (data["wijk"], data["team"]) if x) or None)
    if ticket.melding is not None:
        melding = ticket.melding
        pdf.heading("Signaal: melding door iemand anders", 11)
        pdf.field("Melder is", MELDER_RELATIONS.get(melding.get("relatie") or "", "onbekend"))
        pdf.field("Betrokkene weet ervan", BETROKKENE_WEET.get(melding.get("weet") or "", "onbekend"))
        pdf.field("Sinds", melding.get("sinds") or "onbekend")
    if data["closing_reason"]:
        pdf.field(
            "Afgerond", data["closing_reason"]["label"] + (f": {ticket.closing_note}" if ticket.closing_note else "")
        )
    pdf.heading("Samenvatting")
    pdf.para(ticket.summary or "Niet gedeeld.")
    pdf.heading("Levensgebieden, in de woorden van de inwoner")
    for item in data["levensgebieden"]:
        words = ", ".join(f"“{w}”" for w in item["resident_words"])
        pdf.para(f"• {item['label']}" + (f": {words}" if words else ""))
    if not data["levensgebieden"]:
        pdf.para("Niet gedeeld.")
    pdf.heading("Al geadviseerd")
    for item in data["advised"]:
        pdf.para("• " + item.get("name", "") + (f" ({item['url']})" if item.get("url") else ""))
    if not data["advised"]:
        pdf.para("Niets vastgelegd.")
    if data["notes"]:
        pdf.heading("Notities van medewerkers")
        for note in data["notes"]:
            pdf.field(f"{note['author'] or 'onbekend'}, {dutch_datetime(as_utc_from_iso(note['at']))}", note["text"])
    pdf.heading("Gesprek")
    if data["transcript"]["withheld_messages"]:
        pdf.para(
            f"{data['transcript']['withheld_messages']} berichten van vóór de overdracht zijn "
            "niet gedeeld: geen toestemming."
        )
    for m in data["transcript"]["messages"]:
        who = SENDER_LABELS.get(m["sender"], m["sender"]) + (f" ({m['author']})" if m["author"] else "")
        pdf.field(f"{who}, {dutch_datetime(as_utc_from_iso(m['at']))}", m["text"])
    return bytes(pdf.output())


def as_utc_from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
