"""WhatsApp via Twilio: signed webhooks only, each MessageSid once, numbered choices, clear
answers to bad input, and staff replies through the real twilio client to a local server."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from conversations.addresses import AddressBook, AddressKeyError, address_book, normalise_address, resident_address
from conversations.models import Conversation, Message, Sender, Status, utcnow
from conversations.outbound import DeliveryFailed, Outbound, take_over
from tests.twilio_support import (
    PUBLIC_BASE_URL,
    TEST_AUTH_TOKEN,
    db_session,
    make_channel_app,
    sign,
    signed_post,
    twilio_settings,
)
from webhooks.choices import match_choice
from webhooks.whatsapp import CHUNK_CHARS, make_sender, split_message, whatsapp_texts

PATH = "/webhooks/twilio/whatsapp"
RESIDENT = "whatsapp:+31612345678"
_sids = iter(range(1, 10_000))


def new_sid() -> str:
    # Residents' message ids start with "f": never one the Twilio stand-in gives ours (SM0...1, ...).
    return f"SMf{next(_sids):031x}"


@pytest.fixture
def wa_settings(settings, twilio_api):
    return twilio_settings(settings, twilio_api.url)


@pytest.fixture
def wa_client(wa_settings):
    return make_channel_app(wa_settings).test_client()


TEMPLATE_SID = "HX" + "2" * 32


@pytest.fixture
def template_settings(wa_settings):
    """WhatsApp with an approved template that invites the resident outside the 24-hour window."""
    return dataclasses.replace(wa_settings, whatsapp_template_sid=TEMPLATE_SID)


@pytest.fixture
def template_client(template_settings):
    return make_channel_app(template_settings).test_client()


def send(client, body: str = "", sid: str | None = None, sender: str = RESIDENT, **extra):
    params = {
        "MessageSid": sid or new_sid(),
        "AccountSid": "AC" + "1" * 32,
        "From": sender,
        "To": "whatsapp:+31850000000",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }
    return signed_post(client, PATH, params)


def bodies(response) -> list[str]:
    assert response.status_code == 200, response.data
    root = ElementTree.fromstring(response.data)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


def conversations(settings) -> list[Conversation]:
    db = db_session(settings)
    try:
        return list(db.scalars(select(Conversation).where(Conversation.channel == "whatsapp")))
    finally:
        db.close()


def messages(settings, conversation_id: str) -> list[Message]:
    db = db_session(settings)
    try:
        return list(db.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)))
    finally:
        db.close()


# --- signatures -------------------------------------------------------------------------------


def test_signed_message_is_answered_and_the_number_is_stored_encrypted(wa_client, wa_settings):
    replies = bodies(send(wa_client, "ik heb een vraag over de huur"))
    assert "digitale assistent" in replies[0]  # the first answer says it is a computer
    assert any("niet bereikbaar" in r and wa_settings.loket_phone in r for r in replies)  # bot down: clear message
    [conversation] = conversations(wa_settings)
    assert conversation.channel == "whatsapp" and conversation.status == Status.BOT
    assert "612345678" not in (conversation.resident_address_encrypted or "")
    assert re.fullmatch(r"[0-9a-f]{64}", conversation.resident_address_hash)
    assert resident_address(wa_settings, conversation) == "+31612345678"
    # The same resident writing again lands in the same conversation, without the introduction.
    replies = bodies(send(wa_client, "hallo?"))
    assert not any("digitale assistent van" in r for r in replies)
    assert len(conversations(wa_settings)) == 1


def test_forged_unsigned_and_tampered_requests_are_all_rejected(wa_client, wa_settings):
    params = {"MessageSid": new_sid(), "From": RESIDENT, "Body": "hallo", "NumMedia": "0"}
    good = sign(PATH, params)
    attempts = {
        "unsigned": {},
        "empty signature": {"X-Twilio-Signature": ""},
        "wrong token": {"X-Twilio-Signature": sign(PATH, params, token="not-the-token")},
        "garbage": {"X-Twilio-Signature": "abc=="},
        "signature of another url": {"X-Twilio-Signature": sign("/webhooks/twilio/voice", params)},
    }
    rejected = 0
    for name, headers in attempts.items():
        response = wa_client.post(PATH, data=params, headers=headers)
        rejected += response.status_code == 403
        assert response.status_code == 403, name
    # Tampered body: a valid signature, but the text was changed on the way.
    response = wa_client.post(PATH, data={**params, "Body": "iets anders"}, headers={"X-Twilio-Signature": good})
    assert response.status_code == 403
    rejected += 1
    # Same for the status callback.
    response = wa_client.post(PATH + "/status", data={"MessageSid": "SM1", "MessageStatus": "failed"})
    assert response.status_code == 403
    rejected += 1
    assert rejected == len(attempts) + 2  # 100% of forged or unsigned requests rejected
    assert conversations(wa_settings) == []  # and none of them stored anything
    assert wa_client.post(PATH, data=params, headers={"X-Twilio-Signature": good}).status_code == 200


def test_a_replayed_message_sid_is_processed_once(wa_client, wa_settings):
    sid = new_sid()
    first = bodies(send(wa_client, "ik heb schulden", sid=sid))
    second = bodies(send(wa_client, "ik heb schulden", sid=sid))
    third = bodies(send(wa_client, "ik heb schulden", sid=sid))
    # Twilio only repeats when it did not get our answer: it gets the same answer again.
    assert [b for b in first if "digitale assistent van" not in b] == second == third
    [conversation] = conversations(wa_settings)
    stored = messages(wa_settings, conversation.id)
    assert [m.text for m in stored if m.sender == Sender.RESIDENT] == ["ik heb schulden"]
    assert len([m for m in stored if m.sender != Sender.RESIDENT]) == 1


def test_crisis_numbers_come_first(wa_client):
    replies = bodies(send(wa_client, "ik wil er niet meer zijn, ik wil dood"))
    crisis = [r for r in replies if "113" in r]
    assert crisis and replies.index(crisis[0]) == 1  # right after the introduction
    assert "0800-0113" in crisis[0]


# --- choices ----------------------------------------------------------------------------------

BUTTONS = [
    {"title": "Geld en schulden", "payload": "/kies_levensgebied{\"levensgebied\":\"geld\"}"},
    {"title": "Wonen", "payload": "/kies_levensgebied{\"levensgebied\":\"wonen\"}"},
    {"title": "Iets anders", "payload": "/iets_anders"},
]


def test_buttons_become_numbered_lines():
    [text] = whatsapp_texts(Message(sender=Sender.BOT, text="Waar gaat uw vraag over?", buttons=BUTTONS))
    assert text.startswith("Waar gaat uw vraag over?\n\n1. Geld en schulden\n2. Wonen\n3. Iets anders")
    assert "nummer" in text.splitlines()[-1]


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("1", 0),
        (" 2 ", 1),
        ("3.", 2),
        ("twee", 1),
        ("optie 3", 2),
        ("nummer 1", 0),
        ("de tweede", 1),
        ("Wonen", 1),
        ("wonen!", 1),
        ("geld en schulden", 0),
        ("ja wonen graag", 1),
        ("4", None),
        ("0", None),
        ("ik weet het niet", None),
        ("", None),
        ("🙂", None),
    ],
)
def test_numbers_and_words_map_back_to_the_choice(answer, expected):
    chosen = match_choice(answer, BUTTONS)
    assert chosen == (BUTTONS[expected] if expected is not None else None)


def test_a_numbered_answer_reaches_the_bot_as_the_payload(wa_client, wa_settings):
    send(wa_client, "hallo")
    [conversation] = conversations(wa_settings)
    db = db_session(wa_settings)
    db.add(
        Message(conversation_id=conversation.id, sender=Sender.BOT, text="Waar gaat uw vraag over?", buttons=BUTTONS)
    )
    db.commit()
    db.close()
    send(wa_client, "2")
    send(wa_client, "1")  # no choices pending any more: stays the resident's own text
    resident = [m.text for m in messages(wa_settings, conversation.id) if m.sender == Sender.RESIDENT]
    assert resident == ["hallo", BUTTONS[1]["payload"], "1"]


# --- media, locations, bad input --------------------------------------------------------------


def test_media_and_location_get_a_clear_reply(wa_client, wa_settings):
    photo = bodies(
        send(
            wa_client,
            "",
            NumMedia="1",
            MediaContentType0="image/jpeg",
            MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        )
    )
    assert any("foto" in r and "Typ uw vraag" in r for r in photo)
    voice_note = bodies(send(wa_client, "", NumMedia="1", MediaContentType0="audio/ogg"))
    assert any("spraakbericht" in r for r in voice_note)
    pin = bodies(send(wa_client, "", Latitude="52.2215", Longitude="6.8937", Address="Oude Markt, Enschede"))
    assert any("locatie" in r and "woonplaats" in r for r in pin)
    caption = bodies(send(wa_client, "kijk deze brief", NumMedia="1", MediaContentType0="image/png"))
    assert any("niet bereikbaar" in r for r in caption) and any("foto" in r for r in caption)
    [conversation] = conversations(wa_settings)
    stored = " ".join(m.text for m in messages(wa_settings, conversation.id))
    assert "52.2215" not in stored and "Oude Markt" not in stored  # coordinates are not kept
    assert "(foto gestuurd)" in stored and "(locatie gedeeld)" in stored


def test_bad_input_gets_a_clear_answer_never_a_500(wa_client, wa_settings):
    assert bodies(send(wa_client, "")) == ["Uw bericht is leeg. Typ uw vraag in een paar woorden."]
    assert "leeg" in bodies(send(wa_client, "   \n  "))[-1]
    too_long = bodies(send(wa_client, "a" * 10_000))[-1]
    assert "te lang" in too_long and str(wa_settings.max_message_chars) in too_long
    assert conversations(wa_settings) == []  # nothing worth keeping: no conversation opened
    emoji = bodies(send(wa_client, "🙏😢😢"))
    assert emoji and any("niet bereikbaar" in r for r in emoji)  # a real message: passed on, answered
    assert "niet lezen" in bodies(send(wa_client, "\ufffd\ufffd"))[-1]

    # Invalid UTF-8 in the raw form body (Werkzeug keeps "%FF%FE" as it is; the signature
    # covers that form), read as unreadable characters and cut off.
    sid = new_sid()
    raw = f"MessageSid={sid}&From=whatsapp%3A%2B31612345678&NumMedia=0&Body=%FF%FEhoi".encode()
    decoded = {"MessageSid": sid, "From": RESIDENT, "NumMedia": "0", "Body": "%FF%FEhoi"}
    response = wa_client.post(
        PATH,
        data=raw,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign(PATH, decoded)},
    )
    assert response.status_code == 200 and bodies(response)
    [conversation] = conversations(wa_settings)
    assert "hoi" in [m.text for m in messages(wa_settings, conversation.id) if m.sender == Sender.RESIDENT]

    # Signed, but without sender or id: nobody to answer; a clear 400, not a 500.
    response = signed_post(wa_client, PATH, {"Body": "hallo"})
    assert response.status_code == 400


def test_long_replies_are_split_between_sentences():
    sentence = "Dit is een zin over de hulp die u kunt krijgen bij het loket van de gemeente. "
    text = "Eerste alinea.\n\n" + sentence * 60
    parts = split_message(text)
    assert len(parts) > 1 and all(len(p) <= CHUNK_CHARS for p in parts)
    assert parts[0] == "Eerste alinea." or parts[0].startswith("Eerste alinea.")
    assert all(p.endswith(".") for p in parts)  # cut after a sentence, never inside a word
    assert " ".join(parts).split() == text.split()
    one_word = "x" * (CHUNK_CHARS * 2 + 5)
    assert [len(p) for p in split_message(one_word)] == [CHUNK_CHARS, CHUNK_CHARS, 5]


# --- staff replies through the REST API -----------------------------------------------------


def whatsapp_outbound(settings) -> Outbound:
    """What the app factory sends with: the WhatsApp sender (webhooks/whatsapp.py) registered."""
    return Outbound({"whatsapp": make_sender(settings)})


def _staff_reply(settings, conversation_id: str, text: str) -> Message:
    db = db_session(settings)
    try:
        conversation = db.get(Conversation, conversation_id)
        take_over(db, conversation)
        try:
            outbound = whatsapp_outbound(settings)
            message = outbound.send_staff_reply(db, conversation, text, author="medewerker@gemeente.nl")
        finally:
            db.commit()
        return message
    finally:
        db.close()


def test_each_app_sends_with_its_own_channel_settings(wa_client, wa_settings, twilio_api):
    """Two apps in one process (a region's web workers, the worker beside the web app): each
    sends with the senders its own factory registered, not with whichever app came last."""
    send(wa_client, "ik wil iemand spreken")
    [conversation] = conversations(wa_settings)
    first = wa_client.application
    make_channel_app(dataclasses.replace(wa_settings, twilio_account_sid="AC" + "9" * 32))  # made later
    db = db_session(wa_settings)
    try:
        c = db.get(Conversation, conversation.id)
        take_over(db, c)
        first.extensions["outbound"].send_staff_reply(db, c, "Goedemiddag.", author="sanne")
        db.commit()
    finally:
        db.close()
    [call] = twilio_api.requests
    assert call["path"] == f"/2010-04-01/Accounts/{'AC' + '1' * 32}/Messages.json"


def test_staff_reply_inside_the_window_goes_out_as_free_text(wa_client, wa_settings, twilio_api):
    send(wa_client, "ik wil iemand spreken")
    [conversation] = conversations(wa_settings)
    message = _staff_reply(wa_settings, conversation.id, "Goedemiddag, u spreekt met Sanne van het loket.")
    [call] = twilio_api.requests
    assert call["path"] == f"/2010-04-01/Accounts/{'AC' + '1' * 32}/Messages.json"
    assert call["headers"]["Authorization"].startswith("Basic ")
    assert call["form"]["To"] == RESIDENT and call["form"]["From"] == wa_settings.twilio_whatsapp_from
    assert call["form"]["Body"] == "Goedemiddag, u spreekt met Sanne van het loket."
    assert call["form"]["StatusCallback"] == (
        f"{PUBLIC_BASE_URL}/webhooks/twilio/whatsapp/status?message={message.id}&attempt=1"
    )
    assert message.external_id == "SM" + f"{1:032x}"  # Twilio's id
    assert message.delivery == "queued" and message.delivery_attempts == 1  # handed over, not yet "sent"
    # With the conversation taken over, the bot stays silent on the resident's next message.
    assert bodies(send(wa_client, "dank u")) == []


def _age_window(settings, conversation_id: str, hours: int = 30) -> None:
    db = db_session(settings)
    db.get(Conversation, conversation_id).last_resident_message_at = utcnow() - timedelta(hours=hours)
    db.commit()
    db.close()


def test_outside_the_window_the_template_invites_and_the_text_waits(template_settings, template_client, twilio_api):
    send(template_client, "hallo")
    [conversation] = conversations(template_settings)
    _age_window(template_settings, conversation.id)
    _staff_reply(template_settings, conversation.id, "We hebben een afspraak voor u gemaakt.")
    [call] = twilio_api.requests
    assert call["form"]["ContentSid"] == TEMPLATE_SID and "Body" not in call["form"]
    # The resident answers the invitation: the held staff text comes with our answer.
    replies = bodies(send(template_client, "ok"))
    assert replies[0] == "We hebben een afspraak voor u gemaakt."
    assert bodies(send(template_client, "nog iets")) == []  # delivered once, not again


def test_outside_the_window_without_template_the_text_is_held(wa_client, wa_settings, twilio_api):
    send(wa_client, "hallo")
    [conversation] = conversations(wa_settings)
    _age_window(wa_settings, conversation.id)
    with pytest.raises(DeliveryFailed):
        _staff_reply(wa_settings, conversation.id, "Bericht van het loket.")
    assert twilio_api.requests == []
    stored = [m for m in messages(wa_settings, conversation.id) if m.sender == Sender.STAFF]
    assert [m.text for m in stored] == ["Bericht van het loket."]  # kept, not lost
    assert bodies(send(wa_client, "hallo weer"))[0] == "Bericht van het loket."


def test_a_failed_delivery_report_holds_the_message_again(wa_client, wa_settings, twilio_api):
    send(wa_client, "hallo")
    [conversation] = conversations(wa_settings)
    message = _staff_reply(wa_settings, conversation.id, "Kunt u morgen langskomen?")
    status = {"MessageSid": message.external_id, "MessageStatus": "undelivered", "ErrorCode": "63016"}
    for _ in range(2):  # Twilio may report twice: one note only
        assert signed_post(wa_client, PATH + "/status", status).status_code == 204
    assert (
        signed_post(wa_client, PATH + "/status", {"MessageSid": "SMunknown", "MessageStatus": "delivered"}).status_code
        == 204
    )
    notes = [m.text for m in messages(wa_settings, conversation.id) if m.sender == Sender.SYSTEM and "63016" in m.text]
    assert len(notes) == 1
    assert bodies(send(wa_client, "?"))[0] == "Kunt u morgen langskomen?"


def test_the_rest_api_refusing_raises_delivery_failed_and_keeps_the_message(wa_client, wa_settings, twilio_api):
    send(wa_client, "hallo")
    [conversation] = conversations(wa_settings)
    twilio_api.fail_with = 400
    with pytest.raises(DeliveryFailed):
        _staff_reply(wa_settings, conversation.id, "Test")
    assert len(twilio_api.requests) == 1
    assert [m.text for m in messages(wa_settings, conversation.id) if m.sender == Sender.STAFF] == ["Test"]


# --- addresses ----------------------------------------------------------------------------------


def test_phone_numbers_normalise_and_hidden_numbers_are_none():
    assert normalise_address("whatsapp:+31 6-1234 5678") == "+31612345678"
    assert normalise_address("0031612345678") == "+31612345678"
    for hidden in ("anonymous", "Restricted", "+266696687", "", None, "client:alice"):
        assert normalise_address(hidden) is None


def test_dev_key_is_made_once_private_and_reused(settings):
    book = address_book(settings)
    key_file = settings.data_dir / "secrets" / "phone-encryption.key"
    assert key_file.exists() and stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    token = book.encrypt("+31612345678")
    assert "612345678" not in token
    assert address_book(settings).decrypt(token) == "+31612345678"
    assert AddressBook(key_file.read_bytes()).lookup_hash("+31612345678") == book.lookup_hash("+31612345678")


def test_configured_key_is_used_and_a_bad_key_is_a_clear_error(settings):
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    configured = dataclasses.replace(settings, phone_encryption_key=key)
    token = address_book(configured).encrypt("+31612345678")
    assert AddressBook(key.encode()).decrypt(token) == "+31612345678"
    assert not (settings.data_dir / "secrets").exists()
    other = AddressBook(Fernet.generate_key())
    assert other.decrypt(token) is None  # wrong key: None and a logged error, not a crash
    assert other.lookup_hash("+31612345678") != AddressBook(key.encode()).lookup_hash("+31612345678")
    with pytest.raises(AddressKeyError):
        address_book(dataclasses.replace(settings, phone_encryption_key="not-a-key"))


def test_webhook_urls_are_what_the_readme_says(wa_client):
    rules = {r.rule for r in wa_client.application.url_map.iter_rules()}
    assert {
        "/webhooks/twilio/whatsapp",
        "/webhooks/twilio/whatsapp/status",
        "/webhooks/twilio/voice",
        "/webhooks/twilio/voice/status",
        "/widget/demo",
        "/",
    } <= rules
    assert TEST_AUTH_TOKEN  # the token the signatures in these tests are made with
