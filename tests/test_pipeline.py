"""Messages the bot could not answer are answered when it is back: in order, once each, on
the resident's own channel, and crisis numbers never wait for it (conversations/pipeline.py)."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from conversations import front_door as front_door_module
from conversations import pipeline
from conversations.models import BotDelivery, Conversation, Message, Sender, utcnow
from conversations.rasa_client import BotUnavailable, RasaClient
from tests.rasa_support import StandInRasa
from tests.twilio_support import db_session, make_channel_app, signed_post, twilio_settings

LATER = timedelta(minutes=10)  # past every back-off step


@pytest.fixture
def rasa(settings):
    server = StandInRasa(secret=settings.rasa_token)
    yield server
    server.stop()


@pytest.fixture
def stack_settings(settings, rasa, twilio_api):
    return dataclasses.replace(
        twilio_settings(settings, twilio_api.url), rasa_url=rasa.url, action_server_url=rasa.url, rasa_timeout_seconds=1
    )


@pytest.fixture
def app(stack_settings):
    return make_channel_app(stack_settings)


@pytest.fixture
def client(app):
    return app.test_client()


def start(client) -> str:
    return client.post("/api/chat/conversations", json={}).get_json()["conversation_id"]


def say(client, cid: str, text: str) -> list[dict]:
    response = client.post(f"/api/chat/conversations/{cid}/messages", json={"text": text})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["messages"]


def worker_round(app, stack_settings, later: timedelta = LATER, tell: bool = False) -> dict:
    session = db_session(stack_settings)
    try:
        front_door = app.extensions["front_door"]
        return pipeline.run_round(
            session,
            front_door.answer_pending,
            front_door.call_seconds,
            now=utcnow() + later,
            gave_up=front_door.tell_gave_up if tell else None,
        )
    finally:
        session.close()


def history(stack_settings, cid: str) -> list[tuple[str, str, int | None]]:
    session = db_session(stack_settings)
    try:
        rows = session.scalars(select(Message).where(Message.conversation_id == cid).order_by(Message.id))
        return [(m.sender, m.text, m.in_reply_to) for m in rows]
    finally:
        session.close()


def test_messages_sent_while_the_bot_is_down_are_answered_in_order_once_it_is_back(client, app, rasa, stack_settings):
    cid = start(client)
    rasa.down = True
    first = say(client, cid, "ik heb een vraag over huurtoeslag")
    assert "bewaard" in first[0]["text"] and "zodra de assistent weer werkt" in first[0]["text"]
    assert stack_settings.loket_phone in first[0]["text"]  # and who to call meanwhile
    second = say(client, cid, "en ook over de energietoeslag")  # waits behind the first, the bot is not asked
    assert len(second) == 1 and "bewaard" in second[0]["text"] and "niet bereikbaar" in second[0]["text"]
    # still down: later again
    assert worker_round(app, stack_settings) == {"answered": 0, "still_waiting": 1, "given_up": 0}

    rasa.down = False
    after_back_off = 2 * LATER
    one = {"answered": 1, "still_waiting": 0, "given_up": 0}
    assert worker_round(app, stack_settings, after_back_off) == one  # the first
    assert worker_round(app, stack_settings, after_back_off) == one  # then its turn
    assert worker_round(app, stack_settings, after_back_off) == {"answered": 0, "still_waiting": 0, "given_up": 0}
    assert rasa.heard_texts(cid) == ["ik heb een vraag over huurtoeslag", "en ook over de energietoeslag"]
    bot = [(text, to) for sender, text, to in history(stack_settings, cid) if sender == Sender.BOT]
    resident_ids = [
        m["id"]
        for m in client.get(f"/api/chat/conversations/{cid}/messages").get_json()["messages"]
        if m["sender"] == "resident"
    ]
    assert bot == [
        ("Antwoord op: ik heb een vraag over huurtoeslag", resident_ids[0]),
        ("Antwoord op: en ook over de energietoeslag", resident_ids[1]),
    ]
    # The widget finds the answers (with their buttons) when it polls.
    polled = client.get(f"/api/chat/conversations/{cid}/messages?after={resident_ids[1]}").get_json()["messages"]
    assert polled[-1]["buttons"] == [{"title": "Ja", "payload": "/affirm"}]
    # And a new message goes to the bot at once again.
    assert say(client, cid, "dank u")[-1]["text"] == "Antwoord op: dank u"


def test_a_message_rasa_took_but_whose_reply_was_lost_is_not_asked_again(client, app, rasa, stack_settings):
    cid = start(client)
    rasa.slow_seconds = 1.5  # takes the message, answers after our 1 s timeout
    replies = say(client, cid, "hoe vraag ik bijzondere bijstand aan")
    assert "bewaard" in replies[0]["text"]
    rasa.slow_seconds = 0
    deadline = time.monotonic() + 5
    while not rasa.heard_texts(cid) and time.monotonic() < deadline:  # Rasa finishes the turn
        time.sleep(0.05)
    assert worker_round(app, stack_settings)["answered"] == 1
    assert rasa.heard_texts(cid) == ["hoe vraag ik bijzondere bijstand aan"]  # heard once
    bot = [text for sender, text, _ in history(stack_settings, cid) if sender == Sender.BOT]
    assert bot == ["Antwoord op: hoe vraag ik bijzondere bijstand aan"]  # read from Rasa's own record


def test_crisis_numbers_do_not_wait_behind_the_queue(client, app, rasa, stack_settings):
    cid = start(client)
    rasa.down = True
    say(client, cid, "ik zoek hulp bij de administratie")
    started = time.monotonic()
    crisis = say(client, cid, "ik wil niet meer leven")
    assert time.monotonic() - started < 1.0
    assert "113" in crisis[0]["text"]
    rasa.down = False
    worker_round(app, stack_settings)
    worker_round(app, stack_settings)
    assert rasa.heard_texts(cid) == ["ik zoek hulp bij de administratie", "ik wil niet meer leven"]


def test_two_workers_never_take_the_same_message(client, app, rasa, stack_settings):
    cid = start(client)
    rasa.down = True
    say(client, cid, "vraag over de wmo")
    one, two = db_session(stack_settings), db_session(stack_settings)
    now = utcnow() + LATER
    seen_by_one, seen_by_two = pipeline.due(one, now), pipeline.due(two, now)
    assert [m.id for m in seen_by_one] == [m.id for m in seen_by_two]  # both see it...
    assert pipeline.claim(one, seen_by_one[0], now, 60) is True
    assert pipeline.claim(two, seen_by_two[0], now, 60) is False  # ...only one takes it
    # A worker that died holding it leaves it to a round after the lease.
    assert pipeline.due(two, now + timedelta(seconds=59)) == []
    assert len(pipeline.due(two, now + timedelta(seconds=61))) == 1
    one.close(), two.close()


def test_a_message_older_than_a_day_is_given_up_and_the_resident_hears_so(client, app, rasa, stack_settings):
    cid = start(client)
    rasa.down = True
    say(client, cid, "vraag over schulden")
    say(client, cid, "en over de huur")
    rasa.down = False
    late = pipeline.GIVE_UP_AFTER + timedelta(minutes=1)
    result = worker_round(app, stack_settings, later=late, tell=True)
    assert result["answered"] == 0 and result["given_up"] == 1  # one notice per conversation
    assert rasa.heard_texts(cid) == []
    # The promise "you will get an answer here" is not left hanging: one notice, with whom to call.
    notices = [text for sender, text, _ in history(stack_settings, cid) if "niet gelukt" in text]
    assert len(notices) == 1 and stack_settings.loket_phone in notices[0]
    assert worker_round(app, stack_settings, later=late, tell=True)["given_up"] == 0  # told once
    session = db_session(stack_settings)
    message = session.scalar(select(Message).where(Message.conversation_id == cid, Message.sender == "resident"))
    assert message.bot_delivery == BotDelivery.PENDING  # kept, and shown to staff as not answered
    assert message.bot_retry_at is None and message.bot_text is None
    session.close()
    # A new message does not wait behind it: the bot answers it at once.
    assert say(client, cid, "hallo")[-1]["text"] == "Antwoord op: hallo"


def test_the_same_words_twice_while_the_bot_is_down_are_two_answers(client, app, rasa, stack_settings):
    """Residents repeat themselves when nothing answers: each message gets its own answer."""
    cid = start(client)
    rasa.down = True
    say(client, cid, "hallo")
    say(client, cid, "hallo")
    rasa.down = False
    for _ in range(3):
        worker_round(app, stack_settings, later=2 * LATER)
    assert rasa.heard_texts(cid) == ["hallo", "hallo"]
    bot = [to for sender, _, to in history(stack_settings, cid) if sender == Sender.BOT]
    assert len(bot) == 2 and bot[0] != bot[1]  # one answer to each message


def test_once_staff_take_over_the_bot_does_not_answer_what_waited(client, app, rasa, stack_settings):
    from conversations.outbound import take_over

    cid = start(client)
    rasa.down = True
    say(client, cid, "ik wil een medewerker spreken over mijn schulden")
    session = db_session(stack_settings)
    take_over(session, session.get(Conversation, cid))
    session.commit()
    session.close()
    rasa.down = False
    assert worker_round(app, stack_settings)["answered"] == 0
    assert rasa.heard_texts(cid) == []


def test_back_off_grows_and_stays_bounded():
    now = utcnow()
    delays = [(pipeline.next_attempt(n, now) - now).total_seconds() for n in range(1, 10)]
    assert delays == sorted(delays) and delays[0] == 5 and delays[-1] == 300


# --- WhatsApp: the webhook never waits for a slow bot ------------------------------------


def whatsapp(client, body: str, sid: str):
    params = {
        "MessageSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": "whatsapp:+31612345678",
        "To": "whatsapp:+31850000000",
        "Body": body,
        "NumMedia": "0",
    }
    return signed_post(client, "/webhooks/twilio/whatsapp", params)


def test_a_slow_bot_answers_whatsapp_through_the_rest_api_after_the_webhook_returned(
    client, app, rasa, twilio_api, stack_settings, monkeypatch
):
    monkeypatch.setattr(front_door_module, "BOT_WAIT_SECONDS", 0.3)
    whatsapp(client, "hallo", "SM" + "a" * 32)  # opens the conversation (bot answers fast)
    sent_before = len(twilio_api.requests)
    rasa.slow_seconds = 0.8  # slower than the webhook waits, within the bot's timeout
    started = time.monotonic()
    response = whatsapp(client, "ik zoek een schuldhulpmaatje", "SM" + "b" * 32)
    assert time.monotonic() - started < 0.8
    assert "Een ogenblik" in response.get_data(as_text=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(twilio_api.requests) == sent_before:
        time.sleep(0.05)
    bodies = [r["form"].get("Body", "") for r in twilio_api.requests[sent_before:]]
    assert any("Antwoord op: ik zoek een schuldhulpmaatje" in b for b in bodies)
    # Answered once: the worker finds nothing left, and the repeated webhook is answered from the store.
    rasa.slow_seconds = 0
    assert worker_round(app, stack_settings)["answered"] == 0
    session = db_session(stack_settings)
    conversation = session.scalar(select(Conversation).where(Conversation.channel == "whatsapp"))
    assert len(rasa.heard_texts(conversation.id)) == 2
    session.close()


def test_a_message_right_after_a_crisis_turn_goes_to_the_bot_not_into_the_queue(client, app, rasa, stack_settings):
    """On a crisis turn the bot's answer is awaited only briefly; its call is still in flight
    when the resident writes again, and that next message is not held back behind it."""
    cid = start(client)
    rasa.slow_seconds = 0.8
    crisis = say(client, cid, "ik wil niet meer leven")
    assert "113" in crisis[0]["text"]
    rasa.slow_seconds = 0
    after = say(client, cid, "ik woon alleen")
    assert after[-1]["text"] == "Antwoord op: ik woon alleen"
    deadline = time.monotonic() + 5
    while len(rasa.heard_texts(cid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the crisis turn's late answer is stored
    bot = [text for sender, text, _ in history(stack_settings, cid) if sender == Sender.BOT]
    assert sorted(bot) == ["Antwoord op: ik wil niet meer leven", "Antwoord op: ik woon alleen"]
    assert worker_round(app, stack_settings)["answered"] == 0  # nothing left over


def test_while_the_worker_answers_an_earlier_message_a_new_one_waits_its_turn(client, app, rasa, stack_settings):
    cid = start(client)
    rasa.down = True
    say(client, cid, "eerste vraag")
    rasa.down = False
    session = db_session(stack_settings)
    now = utcnow() + LATER
    [waiting] = pipeline.due(session, now)
    assert pipeline.claim(session, waiting, utcnow(), 60)  # the worker has it, has not asked Rasa yet
    queued = say(client, cid, "tweede vraag")
    assert "bewaard" in queued[-1]["text"] and rasa.heard_texts(cid) == []  # not ahead of the first
    front_door = app.extensions["front_door"]
    front_door.answer_pending(session, waiting)
    session.close()
    worker_round(app, stack_settings)
    assert rasa.heard_texts(cid) == ["eerste vraag", "tweede vraag"]


def test_rasa_api_calls_carry_a_signed_token_in_a_header_never_in_the_url(client, rasa, stack_settings):
    cid = start(client)
    assert say(client, cid, "hallo")[-1]["text"] == "Antwoord op: hallo"
    assert any(url.startswith(f"/conversations/{cid}/tracker/events") for url in rasa.urls)  # let in
    assert not [url for url in rasa.urls if "token" in url or stack_settings.rasa_token in url]
    assert RasaClient(stack_settings).status()["model_file"]
    # A client with another secret is refused: the stand-in checks like Rasa does.
    other = RasaClient(dataclasses.replace(stack_settings, rasa_token="another-secret-0000"))
    with pytest.raises(BotUnavailable):
        other.status()


def test_with_two_rasa_servers_a_conversation_keeps_its_own_and_moves_only_when_that_one_is_down(settings):
    first, second = StandInRasa(secret=settings.rasa_token), StandInRasa(secret=settings.rasa_token)
    try:
        client = RasaClient(dataclasses.replace(settings, rasa_url=f"{first.url},{second.url}", rasa_timeout_seconds=1))
        cids = [f"{n:032x}" for n in range(40)]
        for cid in cids:
            client.send(cid, "hallo")
        heard_first = {cid for cid, _ in first.heard}
        assert heard_first and len(heard_first) < len(cids)  # spread over both
        assert all(client.servers_for(cid)[0] == first.url for cid in heard_first)
        # A hung server that took the connection is not replaced: it may still answer.
        own = next(cid for cid in cids if client.servers_for(cid)[0] == second.url)
        second.slow_seconds = 3
        with pytest.raises(BotUnavailable):
            client.send(own, "ben je er?")
        assert (own, "ben je er?") not in first.heard
        # A server that is down (nothing listens) is: the other takes the conversation.
        second.slow_seconds = 0
        second.stop()
        assert client.send(own, "nu wel?")[0].text == "Antwoord op: nu wel?"
        assert (own, "nu wel?") in first.heard
        assert client.status()["model_file"]  # the bot is up while one of its servers is
    finally:
        first.stop()


def test_messages_given_up_in_different_rounds_get_one_notice(client, app, rasa, stack_settings):
    cid = start(client)
    rasa.down = True
    say(client, cid, "eerste vraag")
    say(client, cid, "tweede vraag")
    session = db_session(stack_settings)
    second = session.scalars(select(Message).where(Message.conversation_id == cid, Message.sender == "resident")).all()[
        1
    ]
    second.created_at = utcnow() + timedelta(hours=2)  # sent two hours later
    session.commit()
    session.close()
    # Rasa stays down: the first is given up a round before the second.
    first_round = worker_round(app, stack_settings, later=pipeline.GIVE_UP_AFTER + timedelta(minutes=1), tell=True)
    second_round = worker_round(app, stack_settings, later=pipeline.GIVE_UP_AFTER + timedelta(hours=3), tell=True)
    assert first_round["given_up"] == 1 and second_round["given_up"] == 1
    notices = [text for _, text, _ in history(stack_settings, cid) if "niet gelukt" in text]
    assert len(notices) == 1


def test_with_the_action_server_down_a_message_is_kept_not_answered_without_its_actions(
    client, app, rasa, stack_settings
):
    """Rasa answers without the action server, but without services, handover or often any
    reply at all: the message must wait for the action server like for a Rasa that is down."""
    cid = start(client)
    rasa.actions_down = True
    replies = say(client, cid, "ik heb schulden")
    assert rasa.heard_texts(cid) == []  # not sent to a bot that cannot act on it
    assert "bewaard" in replies[-1]["text"] and stack_settings.loket_phone in replies[-1]["text"]
    rasa.actions_down = False
    assert worker_round(app, stack_settings)["answered"] == 1
    assert rasa.heard_texts(cid) == ["ik heb schulden"]
