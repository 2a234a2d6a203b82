"""The outbox on WhatsApp (conversations/outbox.py): every message of ours, in TwiML or sent
with Twilio's REST API (the real twilio client against a local stand-in), carries a status
callback; a message is marked handed over only once Twilio has it; delivery reports move it
on and never back; a failed message is held for the next answer once, then stays failed;
a reply the REST API refused goes with the next answer. The bot is down here: the front
door's own messages are what the resident gets."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException

from conversations import outbox
from conversations.models import Conversation, Delivery, Message, Sender, utcnow
from conversations.outbound import DeliveryFailed
from tests.test_whatsapp import (  # noqa: F401  (wa_client, wa_settings, template_*: fixtures)
    PATH,
    _age_window,
    _staff_reply,
    bodies,
    conversations,
    send,
    template_client,
    template_settings,
    wa_client,
    wa_settings,
    whatsapp_outbound,
)
from tests.twilio_support import db_session, signed_post


def actions(response) -> list[str | None]:
    root = ElementTree.fromstring(response.data)
    return [m.get("action") for m in root.findall("Message")]


def ours(settings, conversation_id: str) -> list[Message]:
    db = db_session(settings)
    try:
        return list(
            db.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.sender != Sender.RESIDENT)
                .order_by(Message.id)
            )
        )
    finally:
        db.close()


def report(client, callback_url: str, status: str, error: str = "", sid: str = "SMx"):
    """A signed delivery report from Twilio to the URL the message carried."""
    parts = urlsplit(callback_url)
    path = f"{parts.path}?{parts.query}"
    form = {"MessageSid": sid, "MessageStatus": status, **({"ErrorCode": error} if error else {})}
    response = signed_post(client, path, form)
    assert response.status_code == 204
    return response


def test_our_twiml_answer_carries_a_status_callback_and_reports_move_it_on_never_back(wa_client, wa_settings):
    response = send(wa_client, "hallo")
    [conversation] = conversations(wa_settings)
    stored = {m.id: m for m in ours(wa_settings, conversation.id) if m.delivery}
    assert stored and all(m.delivery == Delivery.QUEUED and m.delivery_attempts == 1 for m in stored.values())
    urls = [url for url in actions(response) if url]
    assert urls, "no status callback on our stored messages"
    for url in urls:
        query = parse_qs(urlsplit(url).query)
        assert int(query["message"][0]) in stored and query["attempt"] == ["1"]
    url = urls[-1]
    message_id = int(parse_qs(urlsplit(url).query)["message"][0])
    for status, expected in (("sent", "sent"), ("delivered", "delivered"), ("sent", "delivered"), ("read", "read")):
        report(wa_client, url, status)
        [now] = [m for m in ours(wa_settings, conversation.id) if m.id == message_id]
        assert now.delivery == expected  # a late "sent" after "delivered" changes nothing


def test_a_failed_message_is_held_once_then_stays_failed_and_the_staff_see_both(wa_client, wa_settings, twilio_api):
    send(wa_client, "hallo")
    [conversation] = conversations(wa_settings)
    message = _staff_reply(wa_settings, conversation.id, "Kunt u morgen om 10 uur bellen?")
    first_url = twilio_api.requests[-1]["form"]["StatusCallback"]
    for _ in range(2):  # Twilio may report a failure twice: one note
        report(wa_client, first_url, "undelivered", "63016")
    [staff] = [m for m in ours(wa_settings, conversation.id) if m.id == message.id]
    assert staff.delivery == Delivery.HELD and staff.delivery_error == "63016"
    # The resident writes again: the held message goes first, as attempt 2.
    response = send(wa_client, "ik ben er weer")
    assert bodies(response)[0] == "Kunt u morgen om 10 uur bellen?"
    second_url = actions(response)[0]
    assert parse_qs(urlsplit(second_url).query)["attempt"] == ["2"]
    report(wa_client, first_url, "failed", "30008")  # late news about attempt 1: ignored
    [staff] = [m for m in ours(wa_settings, conversation.id) if m.id == message.id]
    assert staff.delivery == Delivery.QUEUED
    report(wa_client, second_url, "failed", "63024")
    [staff] = [m for m in ours(wa_settings, conversation.id) if m.id == message.id]
    assert staff.delivery == Delivery.FAILED and staff.delivery_error == "63024"
    # Not again with every answer; the staff have two notes, the second says it stopped.
    assert "Kunt u morgen om 10 uur bellen?" not in bodies(send(wa_client, "hallo?"))
    notes = [m.text for m in ours(wa_settings, conversation.id) if m.in_reply_to == message.id]
    assert len(notes) == 2 and "63016" in notes[0] and "tweede keer" in notes[1] and "63024" in notes[1]


def test_a_reply_the_rest_api_refused_is_held_and_goes_with_the_next_answer(wa_client, wa_settings, twilio_api):
    send(wa_client, "hallo")
    [conversation] = conversations(wa_settings)
    db = db_session(wa_settings)
    try:
        late = Message(conversation_id=conversation.id, sender=Sender.BOT, text="Hier is het antwoord op uw vraag.")
        db.add(late)
        db.flush()
        twilio_api.fail_with = 500
        with pytest.raises(TwilioRestException):
            whatsapp_outbound(wa_settings).deliver(db, db.get(Conversation, conversation.id), late)
        db.commit()
        late_id = late.id
    finally:
        db.close()
    [stored] = [m for m in ours(wa_settings, conversation.id) if m.id == late_id]
    assert stored.delivery == Delivery.HELD and stored.delivery_attempts == 1  # tried once, not handed over
    twilio_api.fail_with = None
    assert bodies(send(wa_client, "en?"))[0] == "Hier is het antwoord op uw vraag."
    [stored] = [m for m in ours(wa_settings, conversation.id) if m.id == late_id]
    assert stored.delivery == Delivery.QUEUED


def test_outside_the_window_one_invitation_for_several_waiting_messages(template_settings, template_client, twilio_api):
    send(template_client, "hallo")
    [conversation] = conversations(template_settings)
    _age_window(template_settings, conversation.id)
    _staff_reply(template_settings, conversation.id, "Eerste bericht.")
    _staff_reply(template_settings, conversation.id, "Tweede bericht.")
    assert [bool(call["form"].get("ContentSid")) for call in twilio_api.requests] == [True]
    replies = bodies(send(template_client, "ok"))
    assert replies[:2] == ["Eerste bericht.", "Tweede bericht."]


def test_a_delivery_report_for_someone_elses_message_or_a_resident_message_changes_nothing(wa_client, wa_settings):
    send(wa_client, "hallo")
    [conversation] = conversations(wa_settings)
    db = db_session(wa_settings)
    try:
        resident = db.scalar(select(Message).where(Message.sender == Sender.RESIDENT))
        web = Conversation(channel="web")
        db.add(web)
        db.flush()
        on_web = Message(conversation_id=web.id, sender=Sender.BOT, text="web", delivery=Delivery.QUEUED)
        db.add(on_web)
        db.commit()
        ids = resident.id, on_web.id
    finally:
        db.close()
    for message_id in ids:
        report(wa_client, f"{PATH}/status?message={message_id}&attempt=0", "failed", "1")
    db = db_session(wa_settings)
    try:
        assert db.get(Message, ids[0]).delivery is None
        assert db.get(Message, ids[1]).delivery == Delivery.QUEUED
        assert db.scalar(select(Message).where(Message.text.like("WhatsApp kon%"))) is None
    finally:
        db.close()


def test_a_held_message_goes_out_in_one_answer_when_the_resident_sends_several_at_once(wa_client, wa_settings):
    send(wa_client, "hallo")
    [conversation] = conversations(wa_settings)
    db = db_session(wa_settings)
    try:
        db.add(Message(conversation_id=conversation.id, sender=Sender.STAFF, author="anna", text="Wacht op mij."))
        db.commit()
    finally:
        db.close()
    answers: list[list[str]] = []
    barrier = threading.Barrier(6)

    def resident(n: int) -> None:
        client = wa_client.application.test_client()
        barrier.wait()
        answers.append(bodies(send(client, f"bericht {n}")))

    threads = [threading.Thread(target=resident, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 6
    assert sum(answer.count("Wacht op mij.") for answer in answers) == 1, answers


def test_a_failure_reported_before_the_rest_call_returned_is_not_overwritten(wa_client, wa_settings):
    db = db_session(wa_settings)
    try:
        conversation = Conversation(channel="whatsapp")
        db.add(conversation)
        db.flush()
        message = Message(conversation_id=conversation.id, sender=Sender.STAFF, text="Snel terug?")
        db.add(message)
        db.commit()
        assert message.delivery == Delivery.HELD  # stored held: nothing is lost if we die now
        attempt = outbox.reserve(db, message)
        assert attempt == 1 and message.delivery == Delivery.SENDING
        # Twilio's report arrives on another connection while our REST call has not returned yet.
        other = db_session(wa_settings)
        outbox.record_status(other, other.get(Message, message.id), "undelivered", "63003", attempt)
        other.close()
        outbox.sent(db, message, attempt, "SM" + "9" * 32)
        assert message.delivery == Delivery.HELD and message.delivery_error == "63003"
        assert outbox.reserve(db, message) == 2  # the next try is a new attempt
        assert outbox.reserve(db, message) is None  # and only one caller gets it
    finally:
        db.close()


def test_an_invitation_goes_out_even_when_an_earlier_message_was_held_for_another_reason(
    template_settings, template_client, twilio_api
):
    send(template_client, "hallo")
    [conversation] = conversations(template_settings)
    twilio_api.fail_with = 500  # Twilio is down: held, no invitation needed (inside the window)
    with pytest.raises(DeliveryFailed):
        _staff_reply(template_settings, conversation.id, "Eerste.")
    twilio_api.fail_with = None
    _age_window(template_settings, conversation.id)
    _staff_reply(template_settings, conversation.id, "Tweede.")
    _staff_reply(template_settings, conversation.id, "Derde.")
    invitations = [call for call in twilio_api.requests if call["form"].get("ContentSid")]
    assert len(invitations) == 1
    assert bodies(send(template_client, "ja?"))[:3] == ["Eerste.", "Tweede.", "Derde."]


def _stored(settings, **fields) -> tuple[object, Message]:
    db = db_session(settings)
    conversation = Conversation(channel="whatsapp")
    db.add(conversation)
    db.flush()
    message = Message(conversation_id=conversation.id, sender=Sender.BOT, text="Een antwoord.", **fields)
    db.add(message)
    db.commit()
    return db, message


def test_an_answer_that_never_reached_twilio_is_held_again_once(wa_client, wa_settings):
    db, message = _stored(wa_settings)
    try:
        [claimed] = outbox.claim(db, [message])  # in a TwiML answer that Twilio never got
        assert claimed.delivery == Delivery.QUEUED
        assert outbox.sweep(db) == 0  # not yet: Twilio reports within seconds
        later = utcnow() + outbox.STUCK_AFTER + timedelta(minutes=1)
        assert outbox.sweep(db, later) == 1
        db.refresh(message)
        assert message.delivery == Delivery.HELD
        outbox.claim(db, [message])  # attempt 2, again no word from Twilio: left as it is
        assert outbox.sweep(db, later + outbox.STUCK_AFTER * 2) == 0
        db.refresh(message)
        assert message.delivery == Delivery.QUEUED and message.delivery_attempts == 2
    finally:
        db.close()


def test_a_report_after_a_timed_out_rest_call_means_twilio_has_it(wa_client, wa_settings):
    db, message = _stored(wa_settings)
    try:
        attempt = outbox.reserve(db, message)
        outbox.not_sent(db, message, attempt)  # our call timed out, but Twilio had taken it
        outbox.record_status(db, message, "sent", "", attempt)
        db.refresh(message)
        assert message.delivery == Delivery.SENT  # not sent again with the next answer
    finally:
        db.close()


def test_a_repeated_webhook_does_not_carry_again_what_the_rest_api_sent(wa_client, wa_settings):
    db, message = _stored(wa_settings)
    try:
        attempt = outbox.reserve(db, message)
        outbox.sent(db, message, attempt, "SM" + "7" * 32)
        assert outbox.claim(db, [message], again=True) == []
    finally:
        db.close()
