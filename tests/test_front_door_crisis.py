"""Crisis at the front door: the two tiers, the safety question and its answer, the
resident's language, a conversation staff hold, a bot that hangs, and the start-up check
of the crisis numbers. The detector itself is tested in test_crisis.py; here its verdict is
set, so that each path is tested on purpose."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from conversations import front_door as front_door_module
from conversations.front_door import FrontDoor
from conversations.models import BotDelivery, Conversation, Message, Sender, Status, conversation_summary
from conversations.rasa_client import BotReply
from core.config import ConfigError
from core.crisis import POSSIBLE, SURE, crisis_reply, safety_question
from tests.test_callback_number import RecordingBot, db  # noqa: F401  (db is a fixture)
from understanding.crisis import NO_CRISIS, CrisisVerdict


@pytest.fixture
def verdicts(monkeypatch):
    """The detector's verdict per message text (none for anything else)."""
    table: dict[str, CrisisVerdict] = {}
    monkeypatch.setattr(front_door_module, "detect_crisis", lambda text: table.get(text, NO_CRISIS))
    return table


def door_with(db, settings, replies=None, **kwargs):  # noqa: F811
    bot = RecordingBot(replies or [BotReply(text="Waar gaat uw vraag over?")])
    door = FrontDoor(settings, bot, **kwargs)
    conversation = door.start_conversation(db, "web")
    db.commit()
    return bot, door, conversation


HELD = "het heeft allemaal geen zin meer met die schulden"


def test_a_possible_crisis_asks_the_safety_question_and_holds_the_message(db, settings, verdicts):  # noqa: F811
    verdicts[HELD] = CrisisVerdict("suicide", POSSIBLE, 0.8, "model")
    bot, door, conversation = door_with(db, settings)
    outcome = door.receive(db, conversation, HELD)
    assert outcome.asks_safety and bot.heard == []  # one question this turn: the safety question
    [question] = outcome.replies
    assert question.text == safety_question("suicide", "nl", settings) and "113" in question.text
    assert [b["payload"] for b in question.buttons] == ["/affirm", "/deny"]
    assert outcome.message.crisis is None and conversation.crisis is None


WORRY = "mijn buurvrouw zegt steeds dat het voor haar niet meer hoeft"


@pytest.mark.parametrize("worry_in", ["this message", "the message before"])
def test_about_someone_else_the_safety_question_asks_about_that_person(db, settings, verdicts, monkeypatch, worry_in):  # noqa: F811
    """A neighbour who worries is asked about the neighbour, never "denkt u erover om uzelf
    iets aan te doen?"."""
    worried = WORRY if worry_in == "this message" else "ik maak me zorgen om mijn buurvrouw"
    monkeypatch.setattr(front_door_module, "detect_signals", lambda t: {"zorg_om_ander": [t]} if t == worried else {})
    verdicts[WORRY] = CrisisVerdict("suicide", POSSIBLE, 0.8, "model")
    bot, door, conversation = door_with(db, settings)
    if worry_in == "the message before":
        door.receive(db, conversation, worried)
    outcome = door.receive(db, conversation, WORRY)
    [question] = outcome.replies
    assert question.text == safety_question("suicide", "nl", settings, about_someone_else=True)
    assert "deze persoon" in question.text and "uzelf" not in question.text and "113" in question.text


@pytest.mark.parametrize("code", ["suicide", "geweld", "acuut_gevaar", "dakloos_vannacht", "verward"])
@pytest.mark.parametrize("lang", ["nl", "en"])
def test_every_safety_question_about_someone_else_names_the_number_and_not_the_resident(settings, code, lang):
    from core.crisis import crisis_help

    question = safety_question(code, lang, settings, about_someone_else=True)
    assert crisis_help(code, settings).number in question
    assert not any(word in question for word in ("uzelf", " u kunt slapen", "yourself", "you can sleep", "you or "))


@pytest.mark.parametrize("answer", ["ja", "eh ja", "weet ik niet", "/affirm"])
def test_yes_or_doubt_to_the_safety_question_gives_the_numbers_first(db, settings, verdicts, answer):  # noqa: F811
    verdicts[HELD] = CrisisVerdict("suicide", POSSIBLE, 0.8, "model")
    bot, door, conversation = door_with(db, settings)
    held = door.receive(db, conversation, HELD).message
    outcome = door.receive(db, conversation, answer)
    assert outcome.replies[0].sender == Sender.SYSTEM
    assert outcome.replies[0].text == crisis_reply("suicide", "nl", settings)
    assert outcome.message.crisis == "suicide" and conversation.crisis == "suicide"
    assert bot.heard == [HELD]  # the bot hears the question the resident came with
    assert held.bot_delivery == BotDelivery.DELIVERED


def test_no_to_the_safety_question_carries_on_with_the_held_message(db, settings, verdicts):  # noqa: F811
    verdicts[HELD] = CrisisVerdict("suicide", POSSIBLE, 0.8, "model")
    bot, door, conversation = door_with(db, settings)
    held = door.receive(db, conversation, HELD).message
    outcome = door.receive(db, conversation, "nee hoor")
    assert outcome.replies[0].sender == Sender.SYSTEM and "verder" in outcome.replies[0].text
    assert outcome.replies[-1].text == "Waar gaat uw vraag over?"
    assert outcome.message.crisis is None and conversation.crisis is None
    assert bot.heard == [HELD] and held.bot_delivery == BotDelivery.DELIVERED
    assert conversation.safety_check is None  # asked once


def test_another_message_after_the_question_is_heard_with_the_held_one(db, settings, verdicts):  # noqa: F811
    verdicts[HELD] = CrisisVerdict("suicide", POSSIBLE, 0.8, "model")
    bot, door, conversation = door_with(db, settings)
    door.receive(db, conversation, HELD)
    door.receive(db, conversation, "de deurwaarder komt morgen")
    assert bot.heard == [f"{HELD}\nde deurwaarder komt morgen"]


def test_a_sure_crisis_is_answered_in_the_residents_language(db, settings, verdicts):  # noqa: F811
    text = "I am going to the railway tonight and I will not come back"
    verdicts[text] = CrisisVerdict("suicide", SURE, 0.99, "model")
    _, door, conversation = door_with(db, settings)
    outcome = door.receive(db, conversation, text)
    assert outcome.replies[0].text == crisis_reply("suicide", "en", settings)
    assert outcome.replies[0].text.startswith("I am glad") and "113" in outcome.replies[0].text


def test_a_crisis_while_staff_hold_the_conversation_raises_the_ticket(db, settings, verdicts):  # noqa: F811
    from handover.models import TicketNote
    from handover.tickets import open_handover_ticket, raise_for_crisis

    text = "hij staat weer voor de deur en hij heeft een mes"
    verdicts[text] = CrisisVerdict("acuut_gevaar", SURE, 0.99, "model")
    bot, door, conversation = door_with(db, settings, on_crisis=raise_for_crisis)
    ticket = open_handover_ticket(db, conversation, reason="meerdere_levensgebieden", urgency="normaal", consent=True)
    conversation.status = Status.STAFF
    db.commit()
    outcome = door.receive(db, conversation, text)
    assert outcome.replies[0].text == crisis_reply("acuut_gevaar", "nl", settings)  # numbers go out
    assert bot.heard == []  # the bot stays paused for staff
    db.refresh(ticket)
    assert ticket.urgency == "acuut" and "crisis" in ticket.reasons and ticket.acute_danger
    assert db.query(TicketNote).filter_by(ticket_id=ticket.id).count() == 1


class HangingBot(RecordingBot):
    """A bot that answers only when released (Rasa stopped with SIGSTOP, then continued)."""

    def __init__(self):
        super().__init__([BotReply(text="Wilt u dat iemand van het wijkteam contact met u opneemt?")])
        self.release = threading.Event()

    def send(self, conversation_id, text, *, message_id=None):
        self.release.wait(10)
        return super().send(conversation_id, text, message_id=message_id)


def test_crisis_numbers_do_not_wait_for_a_hanging_bot(db, settings, verdicts, monkeypatch):  # noqa: F811
    from core.db import get_engine, session_factory

    monkeypatch.setattr(front_door_module, "CRISIS_BOT_WAIT_SECONDS", 0.2)
    text = "ik heb de pillen al klaarliggen"
    verdicts[text] = CrisisVerdict("suicide", SURE, 0.99, "model")
    bot = HangingBot()
    door = FrontDoor(settings, bot, session_factory=session_factory(get_engine(settings.database_url)))
    conversation = door.start_conversation(db, "web")
    db.commit()
    outcome = door.receive(db, conversation, text)
    assert [m.text for m in outcome.replies] == [crisis_reply("suicide", "nl", settings)]
    assert conversation_summary(conversation)["bot_answering"]  # the widget knows more is coming
    bot.release.set()  # the bot answers after all: its reply is stored for the widget to fetch
    for _ in range(100):
        db.expire_all()
        late = db.query(Message).filter_by(conversation_id=conversation.id, sender=Sender.BOT).all()
        if late:
            break
        time.sleep(0.05)
    assert [m.text for m in late] == ["Wilt u dat iemand van het wijkteam contact met u opneemt?"]
    assert late[0].in_reply_to == outcome.message.id
    assert not conversation_summary(db.get(Conversation, conversation.id))["bot_answering"]


def test_outside_development_a_placeholder_crisis_number_refuses_to_start(settings):
    production = dataclasses.replace(settings, environment="production")
    with pytest.raises(ConfigError, match="NIGHT_SHELTER_PHONE"):
        production.check_crisis_numbers()
    with pytest.raises(ConfigError):  # the loket's own number is no nachtopvang either
        dataclasses.replace(
            production, night_shelter_phone=settings.loket_phone, crisis_dial_dakloos=settings.loket_phone
        ).check_crisis_numbers()
    dataclasses.replace(
        production, night_shelter_phone="053-4800800", crisis_dial_dakloos="053-4800800"
    ).check_crisis_numbers()
    settings.check_crisis_numbers()  # development: the placeholder is allowed


def test_a_typed_button_title_counts_as_the_click():
    from webhooks.choices import match_choice

    choices = [
        {"title": "Geld", "payload": "/geld"},
        {"title": "Wonen", "payload": "/wonen"},
        {"title": "Allebei", "payload": "/allebei"},
    ]
    assert match_choice("allebij", choices)["payload"] == "/allebei"
    assert match_choice("Allebei!", choices)["payload"] == "/allebei"
    assert match_choice("ik weet het niet", choices) is None


def test_a_ticket_opened_without_an_offer_counts_as_a_handover(db, settings, verdicts):  # noqa: F811
    """In acute danger the bot opens the ticket without asking (action_handover_acuut): the
    conversation records that a handover happened, with the reason crisis."""
    text = "mijn vader ligt op de grond en reageert niet"
    verdicts[text] = CrisisVerdict("acuut_gevaar", SURE, 0.99, "model")
    _, door, conversation = door_with(
        db, settings, [BotReply(text="Ik geef dit ook door aan het wijkteam."), BotReply(custom={"handover_ticket": 7})]
    )
    door.receive(db, conversation, text)
    assert conversation.handover_reason == "crisis"


def test_outside_development_the_public_default_secrets_are_refused(settings):
    from core.config import ConfigError

    production = dataclasses.replace(
        settings, environment="production", night_shelter_phone="053-4800800", crisis_dial_dakloos="053-4800800"
    )
    with pytest.raises(ConfigError, match="SECRET_KEY.*RASA_TOKEN.*PHONE_ENCRYPTION_KEY"):
        production.check_secrets()
    strong = dataclasses.replace(production, secret_key="s" * 32, rasa_token="r" * 32, phone_encryption_key="k" * 44)
    strong.check_secrets()
    settings.check_secrets()  # development: the defaults are allowed


def test_a_web_only_deployment_mounts_no_twilio_routes(settings):
    from core.db import Base, get_engine
    from iad.app import create_app
    from iad.tables import import_all_models

    import_all_models()
    Base.metadata.create_all(get_engine(settings.database_url))
    production = dataclasses.replace(
        settings,
        environment="production",
        night_shelter_phone="053-4800800",
        crisis_dial_dakloos="053-4800800",
        secret_key="s" * 32,
        rasa_token="r" * 32,
        phone_encryption_key="k" * 44,
    )
    routes = {rule.rule for rule in create_app(production).url_map.iter_rules()}
    assert not any("twilio" in r for r in routes) and "/api/chat/conversations" in routes
    configured = dataclasses.replace(production, twilio_auth_token="t" * 32)
    assert any("twilio" in r.rule for r in create_app(configured).url_map.iter_rules())
