"""The first WhatsApp message or phone call of a conversation, delivered twice at the same
moment, opens one conversation and is handled once (conversations.models.claim_first_delivery)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from conversations.models import Conversation, InboundDelivery, Message, claim_first_delivery, utcnow
from handover.retention import run_retention
from tests.twilio_support import db_session, make_channel_app, signed_post, twilio_settings


@pytest.fixture
def channel_settings(settings, twilio_api):
    return twilio_settings(settings, twilio_api.url)


@pytest.fixture
def app(channel_settings):
    return make_channel_app(channel_settings)


def at_once(app, path: str, params: dict, n: int = 4) -> list:
    """n requests with the same signed body, released together."""
    barrier = threading.Barrier(n)
    responses: list = [None] * n

    def post(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        responses[i] = signed_post(client, path, params)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return responses


def counts(settings) -> tuple[int, int]:
    session = db_session(settings)
    try:
        conversations = session.scalar(select(func.count()).select_from(Conversation))
        resident = session.scalar(select(func.count()).select_from(Message).where(Message.sender == "resident"))
        return conversations, resident
    finally:
        session.close()


def test_the_same_first_whatsapp_message_at_once_opens_one_conversation(app, channel_settings):
    params = {
        "MessageSid": "SM" + "c" * 32,
        "AccountSid": "AC" + "1" * 32,
        "From": "whatsapp:+31612345670",
        "To": "whatsapp:+31850000000",
        "Body": "ik heb een vraag over de wmo",
        "NumMedia": "0",
    }
    responses = at_once(app, "/webhooks/twilio/whatsapp", params)
    assert all(r is not None and r.status_code == 200 for r in responses)
    assert counts(channel_settings) == (1, 1)
    # Exactly one of them answered with the bot-down message; the others stayed silent.
    answered = [r for r in responses if "niet bereikbaar" in r.get_data(as_text=True)]
    assert len(answered) == 1


def test_the_same_call_at_once_opens_one_conversation(app, channel_settings):
    params = {"CallSid": "CA" + "d" * 32, "From": "+31612345671", "To": "+31850000001", "CallStatus": "ringing"}
    responses = at_once(app, "/webhooks/twilio/voice", params)
    assert all(r is not None and r.status_code == 200 for r in responses)
    assert all("<Gather" in r.get_data(as_text=True) for r in responses)  # every caller leg gets the greeting
    assert counts(channel_settings)[0] == 1


def test_a_claim_is_had_once_and_forgotten_after_two_days(app, channel_settings):
    session = db_session(channel_settings)
    assert claim_first_delivery(session, "whatsapp", "SM1") is True
    session.commit()  # as the channel does, with the conversation it opens
    assert claim_first_delivery(session, "whatsapp", "SM1") is False
    assert claim_first_delivery(session, "voice", "SM1") is True  # per channel
    session.commit()
    session.query(InboundDelivery).update({"created_at": utcnow() - timedelta(days=3)})
    session.commit()
    assert run_retention(session, settings=channel_settings)["twilio_ids_forgotten"] == 2
    session.close()


def test_a_first_message_that_fails_on_the_way_can_be_delivered_again(app, channel_settings, monkeypatch):
    """The claim is committed with the conversation it opens: when opening fails, Twilio's
    next try of the same message is handled, not silently dropped."""
    import webhooks.whatsapp as whatsapp

    params = {
        "MessageSid": "SM" + "e" * 32,
        "AccountSid": "AC" + "1" * 32,
        "From": "whatsapp:+31612345672",
        "To": "whatsapp:+31850000000",
        "Body": "hallo",
        "NumMedia": "0",
    }
    client = app.test_client()
    original = whatsapp.set_resident_address
    monkeypatch.setattr(whatsapp, "set_resident_address", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("x")))
    failed = signed_post(client, "/webhooks/twilio/whatsapp", params)
    assert "Er ging iets mis" in failed.get_data(as_text=True)
    assert counts(channel_settings) == (0, 0)
    monkeypatch.setattr(whatsapp, "set_resident_address", original)
    again = signed_post(client, "/webhooks/twilio/whatsapp", params)
    assert "niet bereikbaar" in again.get_data(as_text=True)
    assert counts(channel_settings) == (1, 1)
