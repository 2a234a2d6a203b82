"""A web resident who wants to be called back gives a phone number in the chat. The front
door takes it out of the message before anything else sees it: stored encrypted as the
resident's address, never as text, and the bot only hears that a number was given."""

from __future__ import annotations

import pytest

from conversations.addresses import find_phone_number, resident_address
from conversations.front_door import CALLBACK_NUMBER_GIVEN, PHONE_PLACEHOLDER, FrontDoor
from conversations.models import Message
from conversations.privacy import PHONE_PLACEHOLDER as REDACTED_PHONE
from conversations.rasa_client import BotReply


class RecordingBot:
    """Stands in for the Rasa server's HTTP API in these front-door tests (the e2e tests use a
    real one): it records what the bot would hear and answers with the given replies."""

    def __init__(self, replies=None):
        self.heard: list[str] = []
        self.replies = replies or []

    def check_actions(self):
        pass

    def set_slots(self, conversation_id, slots, *, new_session=False):
        pass

    def send(self, conversation_id, text, *, message_id=None):
        self.heard.append(text)
        return list(self.replies)


@pytest.fixture
def db(settings):
    from core.db import Base, get_engine, session_factory
    from iad.tables import import_all_models

    import_all_models()
    Base.metadata.create_all(get_engine(settings.database_url))
    session = session_factory(get_engine(settings.database_url))()
    yield session
    session.close()


def open_door(db, settings, *, awaiting: bool, replies=None):
    """A front door with a recording bot, and a web conversation that does (not) await a number."""
    bot = RecordingBot(replies)
    door = FrontDoor(settings, bot)
    conversation = door.start_conversation(db, "web")
    conversation.awaiting_callback_number = awaiting
    db.commit()
    return bot, door, conversation


@pytest.mark.parametrize(
    "typed, number",
    [
        ("06-12345678", "+31612345678"),
        ("bel me op 06 1234 5678 graag", "+31612345678"),
        ("+31 6 12345678", "+31612345678"),
        ("0031612345678", "+31612345678"),
        ("053 123 4567", "+31531234567"),
        ("+31 (0)53 1234567", "+31531234567"),
    ],
)
def test_dutch_numbers_as_residents_type_them(typed, number):
    assert find_phone_number(typed)[1] == number


@pytest.mark.parametrize("text", ["1234567890", "ik heb 3 kinderen", "0800-0113", "7511 AB", "06-1234", ""])
def test_no_number_is_no_number(text):
    assert find_phone_number(text) is None


def test_the_number_is_kept_encrypted_and_the_bot_hears_only_that_it_was_given(db, settings):
    bot, door, conversation = open_door(db, settings, awaiting=True)
    outcome = door.receive(db, conversation, "bel me maar op 06-12345678 na drieën")
    assert bot.heard == [CALLBACK_NUMBER_GIVEN]
    db.expire_all()
    stored = db.get(Message, outcome.message.id)
    assert stored.text == f"bel me maar op {PHONE_PLACEHOLDER} na drieën" and "12345678" not in stored.text
    assert conversation.resident_address_encrypted and "12345678" not in conversation.resident_address_encrypted
    assert resident_address(settings, conversation) == "+31612345678"
    assert conversation.awaiting_callback_number is False


def test_without_being_asked_a_number_is_cut_out_and_not_kept(db, settings):
    bot, door, conversation = open_door(db, settings, awaiting=False)
    outcome = door.receive(db, conversation, "de woningcorporatie heeft nummer 053 123 4567")
    assert bot.heard == [f"de woningcorporatie heeft nummer {REDACTED_PHONE}"]
    assert conversation.resident_address_encrypted is None
    assert "123 4567" not in outcome.message.text and "telefoonnummer" in outcome.replies[0].text


def test_a_crisis_is_never_taken_for_the_number(db, settings):
    bot, door, conversation = open_door(db, settings, awaiting=True)
    outcome = door.receive(db, conversation, "ik wil niet meer leven 0612345678")
    assert outcome.replies[0].sender == "system" and "113" in outcome.replies[0].text
    assert bot.heard == [f"ik wil niet meer leven {REDACTED_PHONE}"] and conversation.resident_address_encrypted is None
    assert conversation.awaiting_callback_number is False


def test_the_bot_asking_for_a_number_makes_the_front_door_expect_one(db, settings):
    bot, door, conversation = open_door(
        db,
        settings,
        awaiting=False,
        replies=[
            BotReply(text="Op welk telefoonnummer kunnen we u bereiken?"),
            BotReply(text="", custom={"expect_callback_number": True}),
        ],
    )
    outcome = door.receive(db, conversation, "bellen graag")
    assert conversation.awaiting_callback_number is True
    assert [r.text for r in outcome.replies] == ["Op welk telefoonnummer kunnen we u bereiken?"]
    bot.replies = []
    door.receive(db, conversation, "dat weet ik niet uit mijn hoofd")  # no number: the bot asks again
    assert bot.heard[-1] == "dat weet ik niet uit mijn hoofd" and conversation.awaiting_callback_number is False


def test_after_wis_alles_the_resident_hears_that_a_safety_report_is_kept(db, settings):
    from handover.regie import forget
    from handover.tickets import open_handover_ticket

    bot = RecordingBot([BotReply(text="Goed. We wissen dit gesprek."), BotReply(custom={"forget_conversation": True})])
    door = FrontDoor(settings, bot, forget=forget)
    conversation = door.start_conversation(db, "web")
    db.commit()
    open_handover_ticket(db, conversation, reason="crisis", urgency="acuut", consent=False, acute_danger=True)
    db.commit()
    outcome = door.receive(db, conversation, "wis alles")
    texts = [r.text for r in outcome.replies]
    assert texts[0] == "Goed. We wissen dit gesprek." and "melding over uw veiligheid" in texts[-1]
