"""Replies from the inbox reach the resident on the channel they came from: a WhatsApp
resident gets the reply through the real twilio client (to a local stand-in for Twilio's
API); a refused delivery is kept, audited and told to the employee."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from conversations.models import Conversation, Message, Sender
from handover.models import AuditLog, HandoverTicket
from handover.tickets import open_handover_ticket
from tests.inbox_support import TEST_INBOX_SETTINGS, login, make_world, post_form
from tests.twilio_support import PUBLIC_BASE_URL, db_session, make_channel_app, signed_post, twilio_settings

RESIDENT = "whatsapp:+31612345678"


@pytest.fixture
def wa(settings, twilio_api):
    import inbox

    wa_settings = twilio_settings(settings, twilio_api.url)
    app = make_channel_app(wa_settings)
    if "inbox" not in app.blueprints:
        inbox.init_app(app, TEST_INBOX_SETTINGS)
    db = db_session(wa_settings)
    make_world(db)
    yield app, db
    db.close()


def _whatsapp_ticket(app, db, **kwargs):
    client = app.test_client()
    params = {
        "MessageSid": "SM" + "a" * 32,
        "AccountSid": "AC" + "1" * 32,
        "From": RESIDENT,
        "To": "whatsapp:+31850000000",
        "Body": "ik wil graag iemand spreken over mijn schulden",
        "NumMedia": "0",
    }
    assert signed_post(client, "/webhooks/twilio/whatsapp", params).status_code == 200
    conversation = db.scalars(select(Conversation).where(Conversation.channel == "whatsapp")).one()
    ticket = open_handover_ticket(
        db, conversation, reason="wil_mens", urgency="normaal", postcode="7512", contact_preference="whatsapp", **kwargs
    )
    db.commit()
    return ticket


def test_reply_goes_out_on_whatsapp(wa, twilio_api):
    app, db = wa
    ticket = _whatsapp_ticket(app, db, consent=True)
    staff = app.test_client()
    login(staff, "anna")
    page = f"/inbox/tickets/{ticket.id}"
    assert "+31612345678" in staff.get(page).get_data(as_text=True)  # for calling back: consent given
    response = post_form(
        staff, page, f"{page}/reply", {"reply-text": "Dag, met Anna van het wijkteam. Wanneer kan ik u bellen?"}
    )
    assert response.status_code == 302
    [call] = twilio_api.requests
    assert call["form"]["To"] == RESIDENT
    assert call["form"]["Body"] == "Dag, met Anna van het wijkteam. Wanneer kan ik u bellen?"
    # The ticket says how far it got, from Twilio's delivery reports.
    assert "bij WhatsApp in de wachtrij" in staff.get(page).get_data(as_text=True)
    callback = call["form"]["StatusCallback"].removeprefix(PUBLIC_BASE_URL)
    assert signed_post(app.test_client(), callback, {"MessageSid": "SMx", "MessageStatus": "read"}).status_code == 204
    assert "gelezen" in staff.get(page).get_data(as_text=True)


def test_refused_delivery_is_kept_and_said(wa, twilio_api):
    app, db = wa
    ticket = _whatsapp_ticket(app, db, consent=["samenvatting"])
    twilio_api.fail_with = 400
    staff = app.test_client()
    login(staff, "anna")
    page = f"/inbox/tickets/{ticket.id}"
    assert "+31612345678" in staff.get(page).get_data(as_text=True)
    response = post_form(staff, page, f"{page}/reply", {"reply-text": "Bent u er nog?"})
    assert response.status_code == 302
    assert "kon nu niet worden afgeleverd" in staff.get(response.location).get_data(as_text=True)
    db.expire_all()
    staff_messages = db.scalars(
        select(Message.text).where(Message.conversation_id == ticket.conversation_id, Message.sender == Sender.STAFF)
    ).all()
    assert staff_messages == ["Bent u er nog?"]
    entry = db.scalars(select(AuditLog).where(AuditLog.action == "reply_sent", AuditLog.ticket_id == ticket.id)).one()
    assert entry.detail == {"channel": "whatsapp", "delivered": False}
    refreshed = db.get(HandoverTicket, ticket.id)
    assert refreshed.contacted_at is None and refreshed.status == "opgepakt"  # no contact yet: the SLA clock runs on


def test_acute_danger_shows_the_number_and_says_it_was_shared_without_consent(wa):
    app, db = wa
    ticket = _whatsapp_ticket(app, db, consent=False, acute_danger=True)
    staff = app.test_client()
    login(staff, "anna")
    html = staff.get(f"/inbox/tickets/{ticket.id}").get_data(as_text=True)
    assert "Gedeeld zonder toestemming vanwege acuut gevaar" in html and "+31612345678" in html
