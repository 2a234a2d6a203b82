"""Handover tickets: opening them (consent, routing, SLA), and what staff do with them
(claim, reply, hand back, notes, status with closing reason, reassign, assign, export, filter)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from conversations.models import Status, as_utc, utcnow
from core.config import get_settings
from core.opening_hours import is_open
from handover.models import AuditLog, HandoverTicket, TicketStatus
from handover.tickets import HandoverRefused, handover_packet, open_handover_ticket, sla_due
from inbox.tickets import sla_state
from tests.inbox_support import (  # noqa: F401  (fixtures)
    TEST_INBOX_SETTINGS,
    client,
    csrf_from,
    db,
    inbox_app,
    login,
    make_conversation,
    make_ticket,
    post_form,
    world,
)


def _ticket(db, ticket_id) -> HandoverTicket:
    db.expire_all()
    return db.get(HandoverTicket, ticket_id)


# --- opening a ticket -------------------------------------------------------------------


def test_no_consent_means_no_ticket(db, world):
    conversation = make_conversation(db, [("resident", "ik wil hulp")])
    with pytest.raises(HandoverRefused):
        open_handover_ticket(db, conversation, reason="wil_mens", urgency="normaal", consent=False)
    assert db.scalars(select(HandoverTicket)).all() == []


def test_acute_danger_without_consent_is_shared_and_flagged(db, world):
    conversation = make_conversation(
        db,
        [("resident", "mijn buurman ligt op de grond en reageert niet")],
        levensgebieden={"veiligheid": ["ligt op de grond"]},
    )
    ticket = open_handover_ticket(
        db, conversation, reason=["zorg_om_ander", "crisis"], urgency="laag", consent=False, acute_danger=True
    )
    assert ticket.acute_danger and not ticket.consent_given and ticket.urgency == "acuut"
    assert ticket.transcript_shared and ticket.levensgebieden == {"veiligheid": ["ligt op de grond"]}
    assert ticket.team_id == world.loket.id  # no postcode: the default team
    packet = handover_packet(ticket)
    assert packet["message"].startswith("U bent misschien in gevaar. Daarom heb ik ons gesprek doorgegeven")


def test_consent_scope_limits_what_is_shared(db, world, client):
    ticket = make_ticket(db, consent=["samenvatting"])
    assert ticket.summary_shared and not ticket.transcript_shared
    assert ticket.levensgebieden == {"geld": ["de rekeningen"], "wonen": ["de huur"]}
    login(client, "anna")
    html = client.get(f"/inbox/tickets/{ticket.id}").get_data(as_text=True)
    assert "de rekeningen" in html
    assert "Ik kom er niet meer uit" not in html and "3 berichten van vóór de overdracht zijn niet gedeeld" in html
    exported = client.get(f"/inbox/tickets/{ticket.id}/export.json").get_json()
    assert exported["transcript"]["withheld_messages"] == 3 and exported["transcript"]["messages"] == []

    only_transcript = make_ticket(db, consent=["gesprek"])
    assert only_transcript.levensgebieden == {} and only_transcript.summary == ""
    with pytest.raises(HandoverRefused):
        make_ticket(db, consent=["alles"])


def test_routing_by_postcode_and_sla_per_urgency(db, world):
    north = make_ticket(db, postcode="7514ab", urgency="hoog")
    south = make_ticket(db, postcode="7550", urgency="laag")
    elsewhere = make_ticket(db, postcode="1011 AA")
    none = make_ticket(db, postcode=None)
    assert (north.wijk_id, north.team_id, north.postcode) == (world.wijk_a.id, world.team_a.id, "7514 AB")
    assert (south.wijk_id, south.team_id) == (world.wijk_b.id, world.team_b.id)
    assert elsewhere.wijk_id is None and elsewhere.team_id == world.loket.id
    assert none.team_id == world.loket.id
    # The SLA counts opening days of the loket (core/opening_hours.py), not clock hours.
    for ticket in (north, south):
        due = sla_due(ticket.created_at, ticket.urgency, TEST_INBOX_SETTINGS)
        assert abs(as_utc(ticket.due_at) - as_utc(due)) < timedelta(seconds=1)
        assert is_open(
            get_settings().loket_hours, as_utc(due).astimezone(ZoneInfo("Europe/Amsterdam")) - timedelta(minutes=1)
        )
    with pytest.raises(HandoverRefused):
        make_ticket(db, postcode="abc")
    with pytest.raises(HandoverRefused):
        make_ticket(db, reason="zomaar")
    with pytest.raises(HandoverRefused):
        make_ticket(db, urgency="morgen")


def test_a_second_handover_returns_the_open_ticket(db, world):
    ticket = make_ticket(db)
    again = open_handover_ticket(db, ticket.conversation, reason="wil_mens", urgency="hoog", consent=True)
    assert again.id == ticket.id
    assert len(db.scalars(select(HandoverTicket)).all()) == 1


def test_handover_packet_tells_who_how_and_when(db, world):
    ticket = make_ticket(db, contact_preference="bellen", contact_window="dinsdagmiddag", urgency="hoog")
    packet = handover_packet(ticket)
    assert packet["team"] == "Sociaal wijkteam Noord" and packet["phone"] == "053 111 1111"
    assert "Sociaal wijkteam Noord" in packet["message"] and "belt u" in packet["message"]
    assert packet["due_text"] in packet["message"] and ticket.reference in packet["message"]
    assert "dinsdagmiddag" in packet["message"]
    # 'hoog': within 24 hours while the loket is open, so on a Friday evening by Monday.
    waited = as_utc(ticket.due_at) - as_utc(ticket.created_at)
    assert timedelta(0) < waited <= timedelta(days=6)  # a holiday weekend at most
    days = ("vandaag", "morgen", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
    assert any(day in packet["due_text"] for day in days)


def test_they_know_your_story_is_said_only_when_they_can_read_the_conversation(db, world):
    """A summary is not the story: "you need not tell it again" only with the conversation shared."""
    summary_only = handover_packet(make_ticket(db, consent=["samenvatting"], postcode="7512"))["message"]
    assert "korte samenvatting" in summary_only and "niet opnieuw" not in summary_only
    db.query(HandoverTicket).delete()
    both = handover_packet(make_ticket(db, consent=["samenvatting", "gesprek"], postcode="7512"))["message"]
    assert "Zij kunnen ons gesprek lezen. U hoeft uw verhaal niet opnieuw te doen." in both


# --- working a ticket -------------------------------------------------------------------


def test_claim_reply_hand_back_and_close(client, db, world):
    ticket = make_ticket(db)
    login(client, "anna")
    page = f"/inbox/tickets/{ticket.id}"

    assert post_form(client, page, f"{page}/claim", {}).status_code == 302
    t = _ticket(db, ticket.id)
    assert t.status == TicketStatus.OPGEPAKT and t.assigned_user_id == world.anna.id
    assert t.conversation.status == Status.BOT  # claiming alone does not silence the bot

    assert (
        post_form(
            client, page, f"{page}/reply", {"reply-text": "Goedemiddag, ik ben Anna van het wijkteam."}
        ).status_code
        == 302
    )
    t = _ticket(db, ticket.id)
    assert t.status == TicketStatus.IN_CONTACT and t.contacted_at is not None
    assert t.conversation.status == Status.STAFF
    chat = client.get(f"/api/chat/conversations/{ticket.conversation_id}/messages").get_json()
    assert chat["messages"][-1]["sender"] == "staff"
    assert chat["messages"][-1]["text"] == "Goedemiddag, ik ben Anna van het wijkteam."
    assert chat["status"] == "staff"
    assert sla_state(t).kind == "met"

    # While staff have it, the resident's message is not sent to the bot.
    response = client.post(
        f"/api/chat/conversations/{ticket.conversation_id}/messages", json={"text": "Dank u, morgen kan ik bellen."}
    )
    assert response.get_json()["messages"] == []
    assert "Dank u, morgen kan ik bellen." in client.get(page).get_data(as_text=True)

    assert post_form(client, page, f"{page}/hand-back", {}).status_code == 302
    assert _ticket(db, ticket.id).conversation.status == Status.BOT

    # A status must be chosen; closing needs a reason; 'anders' needs an explanation.
    response = post_form(client, page, f"{page}/status", {"status-status": ""})
    assert response.status_code == 400 and "Kies een status" in response.get_data(as_text=True)
    response = post_form(client, page, f"{page}/status", {"status-status": "afgerond", "status-closing_reason": ""})
    assert response.status_code == 400 and "Kies een reden" in response.get_data(as_text=True)
    response = post_form(
        client, page, f"{page}/status", {"status-status": "afgerond", "status-closing_reason": "anders"}
    )
    assert response.status_code == 400 and "toelichting" in response.get_data(as_text=True)
    assert _ticket(db, ticket.id).status == TicketStatus.IN_CONTACT
    response = post_form(
        client, page, f"{page}/status", {"status-status": "afgerond", "status-closing_reason": "hulp_gestart"}
    )
    assert response.status_code == 302
    t = _ticket(db, ticket.id)
    assert (t.status, t.closing_reason) == (TicketStatus.AFGEROND, "hulp_gestart") and t.closed_at is not None
    # A closed ticket takes no replies until reopened.
    response = post_form(client, page, f"{page}/reply", {"reply-text": "nog iets"})
    assert response.status_code == 400
    assert post_form(client, page, f"{page}/status", {"status-status": "in_contact"}).status_code == 302
    t = _ticket(db, ticket.id)
    assert t.status == TicketStatus.IN_CONTACT and t.closing_reason is None

    actions = db.scalars(select(AuditLog.action).where(AuditLog.ticket_id == ticket.id).order_by(AuditLog.id)).all()
    for expected in (
        "ticket_created",
        "ticket_viewed",
        "ticket_claimed",
        "reply_sent",
        "conversation_handed_back",
        "status_changed",
    ):
        assert expected in actions


def test_closing_hands_the_conversation_back_to_the_bot(client, db, world):
    ticket = make_ticket(db)
    login(client, "anna")
    page = f"/inbox/tickets/{ticket.id}"
    post_form(client, page, f"{page}/reply", {"reply-text": "Ik bel u morgen."})
    assert _ticket(db, ticket.id).conversation.status == Status.STAFF
    post_form(client, page, f"{page}/status", {"status-status": "afgerond", "status-closing_reason": "doorverwezen"})
    assert _ticket(db, ticket.id).conversation.status == Status.BOT


def test_notes_reassign_and_assign(client, db, world):
    ticket = make_ticket(db)
    login(client, "anna")
    page = f"/inbox/tickets/{ticket.id}"
    assert post_form(client, page, f"{page}/notes", {"note-text": "Eerst bellen, dan huisbezoek."}).status_code == 302
    assert "Eerst bellen, dan huisbezoek." in client.get(page).get_data(as_text=True)
    response = post_form(client, page, f"{page}/notes", {"note-text": "   "})
    assert response.status_code == 400

    # A medewerker may not assign (coordinators do): 403, audited.
    assert post_form(client, page, f"{page}/assign", {"assign-user": world.anna.id}).status_code == 403

    assert post_form(client, page, f"{page}/team", {"reassign-team": world.team_b.id}).status_code == 302
    t = _ticket(db, ticket.id)
    assert t.team_id == world.team_b.id and t.assigned_user_id is None
    assert client.get(page).status_code == 403  # now team B's ticket

    client.post("/inbox/logout", data={"csrf_token": csrf_from(client.get("/inbox/").get_data(as_text=True))})
    login(client, "cora")
    # The coordinator can only assign members of the ticket's team.
    assert post_form(client, page, f"{page}/assign", {"assign-user": world.anna.id}).status_code == 400
    assert post_form(client, page, f"{page}/assign", {"assign-user": world.bram.id}).status_code == 302
    t = _ticket(db, ticket.id)
    assert t.assigned_user_id == world.bram.id and t.status == TicketStatus.OPGEPAKT


def test_queue_filters(client, db, world):
    money = make_ticket(db, levensgebieden={"geld": ["schulden"]}, postcode="7511")
    house = make_ticket(db, levensgebieden={"wonen": ["huis"]}, postcode="7512")
    south = make_ticket(db, levensgebieden={"geld": ["rood staan"]}, postcode="7545")
    closed = make_ticket(db, levensgebieden={"geld": ["schulden"]}, postcode="7513")
    closed.status, closed.closing_reason = TicketStatus.AFGEROND, "dubbel"
    db.commit()
    login(client, "cora")

    def refs(query):
        html = client.get("/inbox/" + query).get_data(as_text=True)
        return {t.reference for t in (money, house, south, closed) if t.reference in html}

    assert refs("") == {money.reference, house.reference, south.reference}
    assert refs("?levensgebied=geld") == {money.reference, south.reference}
    assert refs("?levensgebied=geld&status=alle") == {money.reference, south.reference, closed.reference}
    assert refs(f"?wijk={world.wijk_b.id}") == {south.reference}
    assert refs(f"?team={world.team_a.id}") == {money.reference, house.reference}
    assert refs("?status=afgerond") == {closed.reference}
    assert refs(f"?q={house.reference}") == {house.reference}
    assert refs("?q=7545") == {south.reference}


def test_overdue_tickets_stand_out(client, db, world):
    late = make_ticket(db, urgency="acuut")
    late.due_at = utcnow() - timedelta(hours=2)
    on_time = make_ticket(db, urgency="laag")
    db.commit()
    login(client, "anna")
    html = client.get("/inbox/").get_data(as_text=True)
    assert "waarvan 1 te laat" in html
    assert html.index(late.reference) < html.index(on_time.reference)  # overdue first
    row = html[html.rindex("<tr", 0, html.index(late.reference)) : html.index(late.reference)]
    assert "sla-overdue" in row and "Te laat: 2 u" in row


def test_export_json_and_pdf(client, db, world):
    ticket = make_ticket(
        db,
        advised=[{"name": "Schuldhulpmaatje", "url": "https://example.org"}, "Formulierenbrigade"],
        messages=[("resident", "Ik durf mijn post niet meer open te maken, ça va pas. Één ding tegelijk.")],
    )
    login(client, "anna")
    response = client.get(f"/inbox/tickets/{ticket.id}/export.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert data["reference"] == ticket.reference and data["team"] == "Sociaal wijkteam Noord"
    assert data["advised"] == [
        {"name": "Schuldhulpmaatje", "url": "https://example.org"},
        {"name": "Formulierenbrigade"},
    ]
    assert data["levensgebieden"][0] == {
        "code": "geld",
        "label": data["levensgebieden"][0]["label"],
        "resident_words": ["de rekeningen"],
    }
    assert data["transcript"]["complete"] and "Één ding" in data["transcript"]["messages"][0]["text"]
    pdf = client.get(f"/inbox/tickets/{ticket.id}/export.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF-")
    formats = db.scalars(select(AuditLog.detail).where(AuditLog.action == "ticket_exported")).all()
    assert [f["format"] for f in formats] == ["json", "pdf"]


def test_pdf_holds_the_words(db, world):
    """Not just a file header: the resident's words are in the PDF's text."""
    import re
    import zlib

    from inbox.export import ticket_pdf

    ticket = make_ticket(db, messages=[("resident", "Een vraag over de huurtoeslag")])
    embedded = ticket_pdf(db, ticket, TEST_INBOX_SETTINGS.pdf_font)
    if Path(TEST_INBOX_SETTINGS.pdf_font).is_file():
        assert b"DejaVuSans" in embedded  # the Unicode font is embedded
    # With the built-in font the text is stored as plain strings we can read back.
    plain = ticket_pdf(db, ticket, "/nonexistent/font.ttf")
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", plain, re.S)
    text = b"".join(zlib.decompress(s) for s in streams)
    assert b"huurtoeslag" in text and ticket.reference.encode() in text
