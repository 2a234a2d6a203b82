"""Opvolging (issue 15): with a controlled clock the follow-up is scheduled and sent only
while the loket is open (holidays too), answers are counted per service, "stop" stops it,
the phone line is never asked, and the front door reads the answer without the bot."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from conversations.front_door import FrontDoor
from conversations.models import Conversation, Message, Sender
from conversations.opvolging import FollowUp, Status, answer, claim, read_answer, report, schedule, send_due
from conversations.rasa_client import BotReply
from core.opening_hours import is_open
from tests.test_bot_handover import database  # noqa: F401  (a fixture)
from tests.test_callback_number import RecordingBot, db  # noqa: F401  (db is a fixture)

AMS = ZoneInfo("Europe/Amsterdam")
HOURS = "ma-vr 08:30-17:00; za 10:00-12:00"


@pytest.fixture
def loket(settings):
    return dataclasses.replace(settings, loket_hours=HOURS)


def conversation(db, channel="web"):  # noqa: F811
    c = Conversation(channel=channel, gemeente="Enschede", levensgebieden={})
    db.add(c)
    db.flush()
    return c


def at(*args) -> datetime:
    return datetime(*args, tzinfo=AMS)


def test_every_follow_up_falls_inside_opening_hours_over_a_week_of_start_times_and_holidays(db, loket):  # noqa: F811
    c = conversation(db)
    start = at(2026, 12, 14, 0, 0)  # a week later falls on Kerst and the weekend after it
    for hour in range(0, 7 * 24, 5):
        db.query(FollowUp).delete()
        follow_up = schedule(db, c, ["Geldcafé"], loket, now=start + timedelta(hours=hour))
        due = follow_up.due_at.astimezone(AMS)
        assert is_open(HOURS, due), due
        assert due >= start + timedelta(hours=hour, days=7)
    db.query(FollowUp).delete()
    # Scheduled on Friday 18 December: a week later is Kerst (25th), then the weekend: Monday 28th.
    follow_up = schedule(db, c, ["Geldcafé"], loket, now=at(2026, 12, 18, 14, 0))
    assert follow_up.due_at.astimezone(AMS) == at(2026, 12, 28, 8, 30)


def test_sent_only_while_open_then_answered_and_counted_per_service(db, loket):  # noqa: F811
    c = conversation(db)
    schedule(db, c, ["Geldcafé", "Schuldhulpmaatje"], loket, now=at(2026, 12, 1, 10, 0))
    delivered = []
    # Due on Tuesday 8 December 10:00; at 22:00 that evening nothing goes out, the next morning it does.
    assert send_due(db, loket, lambda s, conv, m: delivered.append(m), now=at(2026, 12, 8, 9, 0)) == 0
    assert send_due(db, loket, lambda s, conv, m: delivered.append(m), now=at(2026, 12, 8, 22, 0)) == 0
    assert send_due(db, loket, lambda s, conv, m: delivered.append(m), now=at(2026, 12, 9, 8, 45)) == 1
    [message] = delivered
    assert "Is het gelukt met Geldcafé of Schuldhulpmaatje?" in message.text and "stop" in message.text
    assert [b["payload"] for b in message.buttons] == ["1", "2", "3"]
    assert send_due(db, loket, lambda s, conv, m: delivered.append(m), now=at(2026, 12, 9, 9, 0)) == 0  # once
    assert answer(db, c, "2") == "nog_niet"
    other = conversation(db, "whatsapp")
    schedule(db, other, ["Geldcafé"], loket, now=at(2026, 12, 1, 10, 0))
    held = []
    send_due(db, loket, lambda s, conv, m: held.append(m), now=at(2026, 12, 9, 9, 0))
    # WhatsApp held the question (outside the 24-hour window: not handed to Twilio yet): a "ja" to
    # the template's invitation is no answer to a question the resident has not seen.
    assert answer(db, other, "ja") is None
    held[0].delivery = "queued"  # handed to Twilio with our next answer
    assert answer(db, other, "ja het is gelukt") == "gelukt"
    counts = report(db)
    assert counts["Geldcafé"] == {
        "verstuurd": 2,
        "gelukt": 1,
        "nog_niet": 1,
        "hulp": 0,
        "geen_antwoord": 0,
        "gestopt": 0,
    }
    assert counts["Schuldhulpmaatje"]["nog_niet"] == 1


def test_stop_stops_it_and_nothing_is_sent_after(db, loket):  # noqa: F811
    c = conversation(db)
    schedule(db, c, ["Geldcafé"], loket, now=at(2026, 12, 1, 10, 0))
    assert answer(db, c, "STOP") == "stop"
    assert send_due(db, loket, lambda *a: pytest.fail("sent after stop"), now=at(2026, 12, 9, 10, 0)) == 0
    assert db.query(FollowUp).one().status == Status.GESTOPT


def test_the_phone_line_is_never_asked(db, loket):  # noqa: F811
    assert schedule(db, conversation(db, "voice"), ["Geldcafé"], loket) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", "gelukt"),
        ("Ja", "gelukt"),
        ("2", "nog_niet"),
        ("nog niet helaas", "nog_niet"),
        ("3", "hulp"),
        ("ik wil hulp", "hulp"),
        ("stop", "stop"),
        ("Stop!", "stop"),
        ("ik heb een nieuwe vraag over mijn huur en de verhuurder doet moeilijk", None),
    ],
)
def test_reading_the_answer(text, expected):
    assert read_answer(text) == expected


def test_the_front_door_answers_without_the_bot_and_hulp_goes_to_the_bot_as_a_request_for_a_person(db, loket):  # noqa: F811
    bot = RecordingBot([BotReply(text="Wilt u dat een medewerker contact opneemt?")])
    door = FrontDoor(loket, bot)
    c = door.start_conversation(db, "web")
    schedule(db, c, ["Geldcafé"], loket, now=at(2026, 12, 1, 10, 0))
    send_due(db, loket, lambda *a: None, now=at(2026, 12, 9, 9, 0))
    db.commit()
    outcome = door.receive(db, c, "2")
    assert bot.heard == [] and outcome.replies[0].text.startswith("Dank u wel. Het lukt soms niet meteen.")
    # A second follow-up, answered "3": the bot hears a request for a person.
    db.query(FollowUp).delete()
    schedule(db, c, ["Geldcafé"], loket, now=at(2026, 12, 1, 10, 0))
    send_due(db, loket, lambda *a: None, now=at(2026, 12, 9, 9, 0))
    db.commit()
    outcome = door.receive(db, c, "3")
    assert bot.heard == ["/ask_human"]
    assert [m.sender for m in outcome.replies] == [Sender.SYSTEM, Sender.BOT]
    # Without a follow-up waiting, "stop" or "1" is an ordinary message for the bot.
    outcome = door.receive(db, c, "1")
    assert bot.heard[-1] == "1"
    assert db.query(Message).filter(Message.conversation_id == c.id, Message.sender == Sender.RESIDENT).count() == 3


def test_erasing_the_conversation_erases_its_follow_ups(db, loket):  # noqa: F811
    from handover.regie import forget

    c = conversation(db)
    schedule(db, c, ["Geldcafé"], loket, now=at(2026, 12, 1, 10, 0))
    db.commit()
    forget(db, c, settings=loket)
    db.commit()
    assert db.query(FollowUp).count() == 0


def test_the_bot_asks_consent_only_after_a_referral_on_a_channel_that_can_take_a_message(database):  # noqa: F811
    from bot.actions.opvolging import ActionAskOpvolging, ActionOpvolgingPlannen
    from tests.test_bot_handover import conversation as bot_conversation
    from tests.test_bot_handover import run, tracker

    offered = {"aangeboden": [{"id": "sk:1", "name": "Geldcafé"}]}
    msgs, _ = run(ActionAskOpvolging(), tracker("x", offered))
    assert "over een week" in msgs[0]["text"] and [b["payload"] for b in msgs[0]["buttons"]] == ["/affirm", "/deny"]
    for slots in ({**offered, "channel": "voice"}, {"aangeboden": []}):
        msgs, events = run(ActionAskOpvolging(), tracker("x", slots))
        assert msgs == [] and events[0]["name"] == "utter_anything_else"
    cid = bot_conversation(database)
    msgs, _ = run(ActionOpvolgingPlannen(), tracker(cid, offered))
    assert "Over een week stuur ik u een bericht" in msgs[0]["text"]
    with database() as session:
        [follow_up] = session.query(FollowUp).all()
        assert follow_up.services == ["Geldcafé"] and follow_up.status == Status.GEPLAND


def test_a_short_reply_to_something_else_is_not_taken_as_the_answer(db, loket):  # noqa: F811
    c = conversation(db)
    schedule(db, c, ["Geldcafé"], loket, now=at(2026, 12, 1, 10, 0))
    send_due(db, loket, lambda *a: None, now=at(2026, 12, 9, 9, 0))
    db.add(Message(conversation=c, sender=Sender.BOT, text="Zal ik u doorverbinden?"))
    db.flush()
    assert answer(db, c, "ja", now=at(2026, 12, 9, 10, 0)) is None  # the bot asked something since
    assert read_answer("hulp bij mijn huur") is None  # a new question, for the bot


def test_two_job_runners_never_send_the_same_follow_up_twice(db, loket):  # noqa: F811
    from core.db import get_engine, session_factory

    c = conversation(db)
    schedule(db, c, ["Geldcafé"], loket, now=at(2026, 12, 1, 10, 0))
    db.commit()
    other = session_factory(get_engine(loket.database_url))()
    mine, theirs = db.scalars(select(FollowUp)).one(), other.scalars(select(FollowUp)).one()  # both read it
    assert claim(db, mine, at(2026, 12, 9, 9, 0)) is True
    assert claim(other, theirs, at(2026, 12, 9, 9, 0)) is False
    other.close()
