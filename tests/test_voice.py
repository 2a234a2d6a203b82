"""The phone line: signed webhooks only, valid nl-NL TwiML, keypad digits for choices, repeat
on silence, a person after two misses, the crisis protocol, transfer or callback by hours."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from conversations.models import Conversation, Message, Sender, Status, as_utc
from core.opening_hours import callback_deadline, is_open, parse_hours
from handover.models import HandoverTicket
from tests.twilio_support import db_session, make_channel_app, sign, signed_post, twilio_settings
from webhooks.voice import (
    Line,
    _gather_turn,
    speak_deadline,
    speak_hours,
    speakable,
)

CALLER = "+31612345678"
OPEN_ALWAYS = "ma-zo 00:00-24:00"
_DAYS = ["ma", "di", "wo", "do", "vr", "za", "zo"]
_calls = iter(range(1, 10_000))


def closed_today() -> str:
    """Opening hours that do not include today (in the loket's time zone)."""
    tomorrow = (datetime.now(ZoneInfo("Europe/Amsterdam")).weekday() + 1) % 7
    return f"{_DAYS[tomorrow]} 08:30-17:00"


def make_client(settings, hours: str):
    voice_settings = dataclasses.replace(twilio_settings(settings), loket_hours=hours)
    return make_channel_app(voice_settings).test_client(), voice_settings


@pytest.fixture
def open_line(settings):
    return make_client(settings, OPEN_ALWAYS)


@pytest.fixture
def closed_line(settings):
    return make_client(settings, closed_today())


def twiml(response) -> ElementTree.Element:
    """A valid TwiML answer, every spoken line and every Gather in Dutch."""
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    root = ElementTree.fromstring(response.data)
    assert root.tag == "Response"
    for say in root.iter("Say"):
        assert say.get("language") == "nl-NL" and say.get("voice", "").startswith(("Polly.", "Google.")), (
            ElementTree.tostring(say)
        )
        assert say.text and say.text.strip()
    for gather in root.iter("Gather"):
        assert gather.get("input") == "speech dtmf" and gather.get("language") == "nl-NL"
        assert gather.get("actionOnEmptyResult") == "true" and gather.get("action")
    return root


def spoken(root) -> str:
    return " ".join(say.text for say in root.iter("Say"))


class Call:
    """One phone call, as Twilio would drive it."""

    def __init__(self, client, caller: str = CALLER):
        self.client, self.caller = client, caller
        self.sid = f"CA{next(_calls):032x}"
        self.next_action: str | None = None

    def start(self):
        root = twiml(
            signed_post(
                self.client,
                "/webhooks/twilio/voice",
                {"CallSid": self.sid, "From": self.caller, "To": "+31850000001", "CallStatus": "ringing"},
            )
        )
        self._remember(root)
        return root

    def answer(self, speech: str = "", digits: str = "", action: str | None = None):
        params = {"CallSid": self.sid, "From": self.caller}
        if speech:
            params.update(SpeechResult=speech, Confidence="0.91")
        if digits:
            params["Digits"] = digits
        root = twiml(signed_post(self.client, action or self.next_action, params))
        self._remember(root)
        return root

    def _remember(self, root):
        gather = root.find("Gather")
        self.next_action = gather.get("action") if gather is not None else None
        if self.next_action and "c=" in self.next_action:
            self.conversation_id = parse_qs(urlsplit(self.next_action).query)["c"][0]


def stored(settings, conversation_id: str) -> list[Message]:
    db = db_session(settings)
    try:
        return list(db.scalars(select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)))
    finally:
        db.close()


def callback_tickets(settings, conversation_id: str) -> list[HandoverTicket]:
    db = db_session(settings)
    try:
        return list(db.scalars(select(HandoverTicket).where(HandoverTicket.conversation_id == conversation_id)))
    finally:
        db.close()


def conversation(settings, conversation_id: str) -> Conversation:
    db = db_session(settings)
    try:
        return db.get(Conversation, conversation_id)
    finally:
        db.close()


# --- the call starts ------------------------------------------------------------------------


def test_a_call_gets_valid_dutch_twiml_and_an_encrypted_conversation(open_line):
    client, settings = open_line
    call = Call(client)
    root = call.start()
    assert "U praat met een computer" in spoken(root)
    assert "druk dan op 0" in spoken(root).lower()
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1" and gather.get("speechTimeout") == "3"
    saved = conversation(settings, call.conversation_id)
    assert saved.channel == "voice" and saved.resident_address_hash
    assert "612345678" not in saved.resident_address_encrypted
    # Twilio repeating the start webhook: the same conversation, not a second one.
    first = call.conversation_id
    call.start()
    assert call.conversation_id == first
    db = db_session(settings)
    assert db.scalars(select(Conversation).where(Conversation.channel == "voice")).all().__len__() == 1
    db.close()


def test_forged_and_unsigned_voice_requests_are_all_rejected(open_line):
    client, _ = open_line
    call = Call(client)
    call.start()
    params = {"CallSid": call.sid, "SpeechResult": "hallo"}
    paths = [
        "/webhooks/twilio/voice",
        call.next_action,
        "/webhooks/twilio/voice/status",
        f"/webhooks/twilio/voice/callback?c={call.conversation_id}&m=0",
        f"/webhooks/twilio/voice/after-dial?c={call.conversation_id}&kind=loket",
    ]
    attempts = 0
    for path in paths:
        for headers in ({}, {"X-Twilio-Signature": sign(path, params, token="wrong-token")}):
            attempts += 1
            assert client.post(path, data=params, headers=headers).status_code == 403, path
    # The call's state is in the action URL, and the URL is signed: changing it is forging.
    tampered = call.next_action.replace("m=0", "m=5")
    assert (
        client.post(tampered, data=params, headers={"X-Twilio-Signature": sign(call.next_action, params)}).status_code
        == 403
    )
    assert attempts == 10


# --- turns ------------------------------------------------------------------------------------


def test_silence_is_repeated_once_then_a_person_takes_over(open_line):
    client, settings = open_line
    call = Call(client)
    opening = spoken(call.start())
    root = call.answer()  # no speech, no key
    assert "ik hoorde niets" in spoken(root).lower()
    assert "Wat is uw vraag?" in spoken(root) and "m=1" in call.next_action  # the question again
    assert "Wat is uw vraag?" in opening
    root = call.answer()  # silence again: second miss
    dial = root.find("Dial")
    assert dial is not None and dial.find("Number").text == "+3114053"  # the loket, open now
    assert "medewerker" in spoken(root)
    notes = [m.text for m in stored(settings, call.conversation_id) if m.sender == Sender.SYSTEM]
    assert any("Doorverbonden met het loket" in n for n in notes)


def test_with_the_bot_down_the_caller_is_transferred_during_opening_hours(open_line):
    client, settings = open_line
    call = Call(client)
    call.start()
    root = call.answer(speech="ik heb een vraag over mijn huur")
    assert "niet bereikbaar" in spoken(root)
    assert "1 4, 0 5 3" not in spoken(root)  # not "call the loket": they are calling it
    assert root.find("Dial/Number").text == "+3114053"
    resident = [m.text for m in stored(settings, call.conversation_id) if m.sender == Sender.RESIDENT]
    assert resident == ["ik heb een vraag over mijn huur"]


def test_outside_opening_hours_a_callback_is_offered_and_stored(closed_line):
    from core.opening_hours import is_holiday

    if is_holiday(datetime.now(ZoneInfo("Europe/Amsterdam")).date() + timedelta(days=1)):
        pytest.skip("tomorrow is a public holiday: the test's hours (open tomorrow only) promise a later day")
    client, settings = closed_line
    call = Call(client)
    call.start()
    root = call.answer(speech="ik wil graag iemand spreken over schulden")
    assert root.find("Dial") is None
    assert "gesloten" in spoken(root) and "terugbellen" in spoken(root)
    assert "ziet een medewerker uw nummer" in spoken(root)  # what is shared, before the yes
    action = call.next_action
    root = call.answer(speech="ja graag")
    # The promise: by the end of the next opening window (the test's hours open tomorrow only).
    assert root.find("Hangup") is not None and "bellen u terug op dit nummer, morgen vóór 17 uur" in spoken(root)
    notes = [m.text for m in stored(settings, call.conversation_id) if m.sender == Sender.SYSTEM]
    assert any(n.startswith("Terugbelverzoek") for n in notes)
    # A callback request is a ticket in the inbox, due when the caller was told.
    call.answer(speech="ja graag", action=action)  # Twilio retried: still one note, one ticket
    tickets = callback_tickets(settings, call.conversation_id)
    assert (
        len(tickets) == 1
        and sum(n.startswith("Terugbelverzoek") for n in (m.text for m in stored(settings, call.conversation_id))) == 1
    )
    ticket = tickets[0]
    assert ticket.reasons == ["terugbelverzoek"] and ticket.contact_preference == "bellen"
    assert ticket.consent_scope == ["samenvatting"] and not ticket.transcript_shared
    due = as_utc(ticket.due_at).astimezone(ZoneInfo("Europe/Amsterdam"))
    tomorrow = datetime.now(ZoneInfo("Europe/Amsterdam")).date() + timedelta(days=1)
    assert (due.date(), due.hour, due.minute) == (tomorrow, 17, 0)
    # The call ends: a conversation with a callback request stays open for staff.
    signed_post(
        client, "/webhooks/twilio/voice/status", {"CallSid": call.sid, "CallStatus": "completed", "CallDuration": "64"}
    )
    assert conversation(settings, call.conversation_id).status == Status.BOT


def test_declining_the_callback_gives_the_number_and_hours(closed_line):
    client, settings = closed_line
    call = Call(client)
    call.start()
    call.answer(digits="0")  # "a person" by keypad
    root = call.answer(digits="2")
    assert root.find("Hangup") is not None and "1 4, 0 5 3" in spoken(root)
    assert not any(m.text.startswith("Terugbelverzoek") for m in stored(settings, call.conversation_id))
    assert callback_tickets(settings, call.conversation_id) == []


def test_a_hidden_number_gets_no_callback_offer(closed_line):
    client, settings = closed_line
    call = Call(client, caller="anonymous")
    call.start()
    assert conversation(settings, call.conversation_id).resident_address_hash is None
    root = call.answer(digits="0")
    assert root.find("Gather") is None and root.find("Hangup") is not None
    assert "1 4, 0 5 3" in spoken(root)


@pytest.mark.parametrize(
    "said, number",
    [
        ("ik wil niet meer leven", "+318000113"),
        ("mijn vriend slaat me en ik ben bang", "+318002000"),
        # The nachtopvang number (NIGHT_SHELTER_PHONE; in development its placeholder 0800-0000),
        # no longer the loket's daytime number, which nobody answers at night.
        ("ik weet niet waar ik vannacht moet slapen", "+318000000"),
    ],
)
def test_crisis_is_answered_with_the_number_and_a_dial(open_line, said, number):
    client, settings = open_line
    call = Call(client)
    call.start()
    root = call.answer(speech=said)
    assert root.find("Dial/Number").text == number
    assert root.find("Gather") is None
    first_say = root.find("Say").text
    assert "bel" in first_say.lower()  # the crisis line comes first
    assert any("Crisis" in m.text for m in stored(settings, call.conversation_id) if m.sender == Sender.SYSTEM)


def test_acute_danger_tells_the_caller_to_dial_112_because_twilio_cannot(open_line):
    client, _ = open_line
    call = Call(client)
    call.start()
    root = call.answer(speech="mijn buurman heeft een mes en bedreigt iedereen")
    assert root.find("Dial") is None and root.find("Hangup") is not None
    assert "bel 1 1 2" in spoken(root).lower()


BUTTONS = [
    {"title": "Geld en schulden", "payload": "/kies_levensgebied{\"levensgebied\":\"geld\"}"},
    {"title": "Wonen", "payload": "/kies_levensgebied{\"levensgebied\":\"wonen\"}"},
]


def _offer_choices(settings, conversation_id: str) -> None:
    db = db_session(settings)
    db.add(
        Message(conversation_id=conversation_id, sender=Sender.BOT, text="Waar gaat uw vraag over?", buttons=BUTTONS)
    )
    db.commit()
    db.close()


def test_keypad_digits_and_spoken_words_choose_a_button(open_line):
    client, settings = open_line
    call = Call(client)
    call.start()
    _offer_choices(settings, call.conversation_id)
    action = call.next_action
    root = call.answer(digits="7")  # no such choice
    assert "toets" in spoken(root) and "Kies 1 voor Geld en schulden. Kies 2 voor Wonen." in spoken(root)
    call.answer(digits="2", action=call.next_action)
    _offer_choices(settings, call.conversation_id)
    call.answer(speech="wonen", action=action.replace("t=1", "t=5"))  # any later turn
    resident = [m.text for m in stored(settings, call.conversation_id) if m.sender == Sender.RESIDENT]
    assert resident == [BUTTONS[1]["payload"], BUTTONS[1]["payload"]]


def test_star_repeats_and_a_replayed_turn_is_processed_once(open_line):
    client, settings = open_line
    call = Call(client)
    call.start()
    _offer_choices(settings, call.conversation_id)
    root = call.answer(digits="*")
    assert "Waar gaat uw vraag over?" in spoken(root) and "Kies 2 voor Wonen" in spoken(root)
    action = call.next_action
    first = call.answer(speech="ik heb een vraag", action=action)
    again = call.answer(speech="ik heb een vraag", action=action)
    assert ElementTree.tostring(first) == ElementTree.tostring(again)
    resident = [m for m in stored(settings, call.conversation_id) if m.sender == Sender.RESIDENT]
    assert len(resident) == 1


def test_bot_replies_with_buttons_are_read_as_keypad_choices(open_line):
    client, settings = open_line
    app = client.application
    with app.test_request_context():
        line = Line(settings)
        conv = Conversation(id="f" * 32, channel="voice")
        _gather_turn(
            line, conv, 3, 0, ["Waar gaat uw vraag over? Kijk op https://www.enschede.nl/hulp voor meer."], BUTTONS
        )
        root = twiml(line.twiml())
    gather = root.find("Gather")
    text = spoken(root)
    assert "https" not in text and "Kies 1 voor Geld en schulden. Kies 2 voor Wonen." in text
    assert gather.get("hints") == "Geld en schulden, Wonen"
    assert "t=3" in gather.get("action")


# --- bad input --------------------------------------------------------------------------------


def test_bad_input_on_the_phone_never_gives_a_500(open_line):
    client, settings = open_line
    call = Call(client)
    call.start()
    long = call.answer(speech="schulden " * 1200)  # 10,800 characters of speech
    assert long.find("Dial") is not None  # handled (bot down -> a person), no error
    call2 = Call(client)
    call2.start()
    root = call2.answer(speech="😢😢😢")  # emoji only: passed on like any words
    assert root.find("Say") is not None
    call3 = Call(client)
    call3.start()
    path = call3.next_action
    raw = f"CallSid={call3.sid}&SpeechResult=%FF%FE".encode()
    response = client.post(
        path,
        data=raw,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": sign(path, {"CallSid": call3.sid, "SpeechResult": "%FF%FE"})},
    )
    assert "ik hoorde niets" in spoken(twiml(response)).lower()  # unreadable = nothing heard
    # A signed request for a conversation that does not exist: a Dutch apology, status 200.
    root = twiml(signed_post(client, "/webhooks/twilio/voice/gather?c=" + "0" * 32 + "&t=1&m=0", {"CallSid": "CA1"}))
    assert "ging iets mis" in spoken(root) and root.find("Hangup") is not None
    root = twiml(signed_post(client, "/webhooks/twilio/voice", {"From": CALLER}))  # no CallSid
    assert "ging iets mis" in spoken(root)
    assert stored(settings, call.conversation_id)[-1].sender == Sender.SYSTEM


def test_a_finished_call_closes_a_conversation_with_nothing_left_to_do(open_line):
    client, settings = open_line
    call = Call(client)
    call.start()
    status = {"CallSid": call.sid, "CallStatus": "completed", "CallDuration": "31"}
    for _ in range(2):
        assert signed_post(client, "/webhooks/twilio/voice/status", status).status_code == 204
    assert conversation(settings, call.conversation_id).status == Status.CLOSED
    ends = [m for m in stored(settings, call.conversation_id) if m.text.startswith("Telefoongesprek beëindigd")]
    assert len(ends) == 1 and "31 s" in ends[0].text


def test_failed_transfer_offers_a_callback(open_line):
    client, settings = open_line
    call = Call(client)
    call.start()
    call.answer(digits="0")
    root = twiml(
        signed_post(
            client,
            f"/webhooks/twilio/voice/after-dial?c={call.conversation_id}&kind=loket",
            {"CallSid": call.sid, "DialCallStatus": "no-answer"},
        )
    )
    assert "niemand vrij" in spoken(root) and "terugbellen" in spoken(root)


# --- speech and opening hours ----------------------------------------------------------------


def test_speakable_text():
    text = "**Bel** 113 of 0800-0113 🙂.\nZie https://113.nl of [de site](https://www.113.nl).\n- punt een"
    said = speakable(text)
    assert "http" not in said and "*" not in said and "🙂" not in said
    assert "1 1 3" in said and "0 8 0 0, 0 1 1 3" in said and "de site" in said
    long = speakable("Dit is een zin. " * 200)
    assert len(long) <= 700 and long.endswith(".")


def test_opening_hours():
    spec = "ma-vr 08:30-17:00; za 10:00-12:00"
    assert len(parse_hours(spec)) == 2
    assert is_open(spec, datetime(2025, 3, 3, 8, 30))  # Monday
    assert not is_open(spec, datetime(2025, 3, 3, 8, 29))
    assert not is_open(spec, datetime(2025, 3, 7, 17, 0))  # Friday, closing time
    assert is_open(spec, datetime(2025, 3, 8, 11, 0))  # Saturday
    assert not is_open(spec, datetime(2025, 3, 9, 11, 0))  # Sunday
    assert is_open("ma,wo 9.00-12.00", datetime(2025, 3, 5, 9, 0)) and not is_open(
        "ma,wo 9.00-12.00", datetime(2025, 3, 4, 9, 0)
    )
    assert is_open(OPEN_ALWAYS, datetime(2025, 3, 9, 23, 59))
    assert parse_hours("altijd") == [] and not is_open("altijd", datetime(2025, 3, 3, 12, 0))  # unreadable: closed
    assert speak_hours("ma-vr 08:30-17:00") == "maandag tot en met vrijdag, van 8 uur 30 tot 17 uur"
    assert re.search(r"\d", speak_hours("za 10:00-12:00"))


def test_a_callback_is_promised_by_the_end_of_an_opening_window():
    spec = "ma-vr 08:30-17:00; za 10:00-12:00"
    tz = ZoneInfo("Europe/Amsterdam")
    friday_evening = datetime(2025, 3, 7, 19, 0, tzinfo=tz)
    assert callback_deadline(spec, friday_evening) == datetime(2025, 3, 8, 12, 0, tzinfo=tz)  # Saturday's window
    monday_noon = datetime(2025, 3, 3, 12, 0, tzinfo=tz)
    assert callback_deadline(spec, monday_noon) == datetime(2025, 3, 3, 17, 0, tzinfo=tz)  # busy now: today
    monday_late = datetime(2025, 3, 3, 16, 0, tzinfo=tz)
    assert callback_deadline(spec, monday_late) == datetime(2025, 3, 4, 17, 0, tzinfo=tz)  # too little left today
    assert callback_deadline("altijd", monday_noon) is None
    assert speak_deadline(datetime(2025, 3, 3, 17, 0, tzinfo=tz), monday_noon) == "vandaag vóór 17 uur"
    assert speak_deadline(datetime(2025, 3, 4, 12, 30, tzinfo=tz), monday_noon) == "morgen vóór 12 uur 30"
    assert speak_deadline(datetime(2025, 3, 8, 12, 0, tzinfo=tz), monday_noon) == "op zaterdag 8 maart, vóór 12 uur"
    assert speak_deadline(None, monday_noon) == "op de eerstvolgende werkdag"


def test_answer_turn_speaks_bot_replies_and_offers_their_choices(open_line):
    from conversations.front_door import Outcome
    from webhooks.voice import answer_turn

    client, settings = open_line
    conv = Conversation(id="e" * 32, channel="voice", status=Status.BOT)
    said = Message(sender=Sender.RESIDENT, text="ik heb schulden", bot_delivery="delivered")
    replies = [
        Message(sender=Sender.BOT, text="Vervelend om te horen."),
        Message(
            sender=Sender.BOT,
            text="Wilt u hulp van het wijkteam?",
            buttons=[{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}],
        ),
    ]
    with client.application.test_request_context():
        line = Line(settings)
        answer_turn(line, conv, 4, Outcome(conv, said, replies))
        root = twiml(line.twiml())
    gather = root.find("Gather")
    assert [s.text for s in gather.iter("Say")] == [
        "Vervelend om te horen.",
        "Wilt u hulp van het wijkteam?",
        "Kies 1 voor Ja. Kies 2 voor Nee.",
    ]
    assert "t=5" in gather.get("action") and "m=0" in gather.get("action")
    assert root.find("Dial") is None


def test_drivers_for_the_dialogue_evaluation_speak_signed_http(open_line):
    """`iad eval dialogues --channel whatsapp|voice` drives a running app with these."""
    import threading

    from werkzeug.serving import make_server

    from measure.drivers import VoiceDriver, WhatsAppDriver, digits
    from tests.conftest import free_port

    client, settings = open_line
    port = free_port()
    http = make_server("127.0.0.1", port, client.application, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{port}"
        # The app here believes it is reached at PUBLIC_BASE_URL (as behind a proxy).
        wa = WhatsAppDriver(
            base, settings, summarize=lambda cid: {"conversation_id": cid}, public_base_url=settings.public_base_url
        )
        number = wa.start()
        assert any("niet bereikbaar" in r for r in wa.say(number, "ik heb schulden"))
        cid = wa.summary(number)["conversation_id"]
        assert conversation(settings, cid).channel == "whatsapp"
        phone = VoiceDriver(base, settings, public_base_url=settings.public_base_url)
        cid = phone.start()
        replies = phone.say(cid, "ik wil niet meer leven")
        assert "113" in digits(replies[0]) and replies[-1] == "<Dial +318000113>"
        assert phone.say(cid, "hallo?") == []  # transferred: the call is over
        summary = phone.summary(cid)  # from the database, as the chat API's summary shows it
        assert summary["channel"] == "voice" and summary["crisis"] == "suicide"
    finally:
        http.shutdown()
