"""A melding by someone else (issue 15): the bot asks about the person concerned, the ticket
is a signaal routed to that person's wijkteam with melder and person apart, nothing is
promised about the person, and the melder who asks for it hears once, without details, that
the melding was picked up. Real rasa_sdk objects, the real inbox code, a temporary SQLite."""

from __future__ import annotations

import asyncio

import pytest

from bot.actions.handover import (
    ActionAskHandoverContact,
    ActionAskHandoverPostcode,
    ActionAskMeldingUrgentie,
    ActionAskMeldingWeet,
    ActionHandoverTicket,
    ValidateHandoverForm,
    classify_relatie,
    classify_sinds,
    classify_urgentie,
    classify_weet,
)
from conversations.outbound import Outbound
from tests.test_bot_handover import conversation, database, run, tickets, tracker  # noqa: F401 (fixture)

MELDING = {
    "handover_reden": "zorg_om_ander",
    "signalen": {"zorg_om_ander": ["mijn buurvrouw komt de deur niet meer uit"]},
    "vraag_tekst": "mijn buurvrouw komt de deur niet meer uit en de post stapelt zich op",
    "handover_toestemming": "samenvatting",
    "melding_relatie": "buur",
    "melding_sinds": "een week of drie",
    "melding_weet": "weet_niet",
    "melding_urgentie": "week",
    "handover_postcode": "7512 AB",
    "handover_contact": "chat",
    "melding_terugkoppeling": "ja",
}


def required(slots: dict) -> list[str]:
    t = tracker("x", slots)
    return asyncio.run(ValidateHandoverForm().required_slots([], None, t, {}))


def test_a_melding_asks_about_the_person_concerned_then_the_melders_contact():
    slots = {**{k: None for k in MELDING if k.startswith(("melding_", "handover_"))}, "handover_reden": "zorg_om_ander"}
    assert required(slots) == [
        "handover_toestemming",
        "melding_relatie",
        "melding_sinds",
        "melding_weet",
        "melding_urgentie",
        "handover_postcode",
        "handover_contact",
        "melding_terugkoppeling",
    ]
    # No time window; a web melder who wants a call is asked for a number; the phone line
    # cannot send terugkoppeling later, so it is not offered there.
    assert "handover_telefoon" in required({**slots, "handover_contact": "bellen"})
    assert "melding_terugkoppeling" not in required({**slots, "channel": "voice"})
    # A resident's own question keeps the usual form.
    assert "melding_relatie" not in required({**slots, "handover_reden": "regieverlies"})


def test_the_melding_questions_are_about_that_person_with_buttons_and_the_alarm_number():
    from core.crisis import crisis_numbers

    msgs, _ = run(ActionAskHandoverPostcode(), tracker("x", MELDING))
    assert "postcode van die persoon" in msgs[0]["text"]
    msgs, _ = run(ActionAskHandoverPostcode(), tracker("x", {"handover_reden": "regieverlies"}))
    assert msgs[0]["response"] == "utter_ask_handover_postcode"
    msgs, _ = run(ActionAskMeldingWeet(), tracker("x", MELDING))
    assert [b["payload"] for b in msgs[0]["buttons"]][0] == '/affirm{"melding_weet": "eens"}'
    assert all(len(b["title"]) <= 20 for b in msgs[0]["buttons"])  # WhatsApp's limit
    msgs, _ = run(ActionAskMeldingUrgentie(), tracker("x", MELDING))
    assert crisis_numbers()["acuut_gevaar"] in msgs[0]["text"]
    msgs, _ = run(ActionAskMeldingUrgentie(), tracker("x", {**MELDING, "taal": "en"}))
    assert msgs[0]["text"].startswith("How soon")
    # The melder's contact: no home visit, and on WhatsApp no chat button.
    msgs, _ = run(ActionAskHandoverContact(), tracker("x", {**MELDING, "channel": "whatsapp"}))
    assert [b["title"] for b in msgs[0]["buttons"]] == ["WhatsApp", "Bellen"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mijn moeder", "familie"),
        ("ze is mijn schoonmoeder", "familie"),
        ("de buurvrouw van boven", "buur"),
        ("she's my neighbour", "buur"),
        ("een vriendin van vroeger", "vriend"),
        ("ik ben zijn juf", "beroep"),
        ("ik ben vrijwilliger bij de voedselbank", "beroep"),
        ("ken hem van de kerk", "anders"),
    ],
)
def test_who_the_person_is_from_typed_words(text, expected):
    assert classify_relatie(text) == expected


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("nee ze weet het niet", "deny", "weet_niet"),
        ("nee", "deny", "weet_niet"),
        ("ja en ze vindt het goed", "affirm", "eens"),
        ("ja maar hij wil het niet", "affirm", "niet_eens"),
        ("weet ik niet", "deny", "onbekend"),
        ("no she has no idea", "deny", "weet_niet"),
        ("yes, she agrees", "affirm", "eens"),
    ],
)
def test_does_the_person_know_from_typed_words(text, intent, expected):
    assert classify_weet(text, intent) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("vandaag nog graag", "vandaag"),
        ("het is niet dringend", "wachten"),
        ("deze week zou fijn zijn", "week"),
        ("as soon as possible", "vandaag"),
        ("blauw", None),
    ],
)
def test_how_soon_from_typed_words(text, expected):
    assert classify_urgentie(text, None) == expected


def test_since_when_keeps_the_melders_words_or_unknown():
    assert classify_sinds("sinds de zomer ongeveer") == "sinds de zomer ongeveer"
    assert classify_sinds("geen idee eigenlijk") == "onbekend"


def test_the_melding_ticket_goes_to_the_persons_wijkteam_and_promises_nothing_about_them(database):
    cid = conversation(database)
    msgs, _ = run(ActionHandoverTicket(), tracker(cid, MELDING))
    [ticket] = tickets(database)
    assert ticket.is_melding and ticket.reasons == ["zorg_om_ander"]
    assert ticket.melding == {
        "relatie": "buur",
        "weet": "weet_niet",
        "urgentie": "week",
        "sinds": "een week of drie",
        "terugkoppeling": True,
    }
    assert ticket.team.name == "Sociaal wijkteam Noord"  # the person's postcode routes it
    text = msgs[0]["text"]
    assert "melding doorgegeven aan Sociaal wijkteam Noord" in text and "niet beloven" in text
    assert "vóór" not in text  # no deadline promised about another person
    assert "Zij kunnen ons gesprek lezen" not in text  # only the summary was shared
    assert ticket.reference in text


def test_how_soon_sets_the_urgency(database):
    cid = conversation(database)
    run(ActionHandoverTicket(), tracker(cid, {**MELDING, "melding_urgentie": "vandaag"}))
    [ticket] = tickets(database)
    assert ticket.urgency == "hoog"


def test_closing_the_melding_tells_the_melder_once_without_details(database):
    from conversations.models import Conversation, Message, Sender
    from handover.models import HandoverTicket, StaffUser
    from inbox.tickets import change_status

    cid = conversation(database)
    run(ActionHandoverTicket(), tracker(cid, MELDING))
    with database() as session:
        ticket = session.query(HandoverTicket).one()
        user = StaffUser(username="els", display_name="Els", password_hash="x", role="medewerker")
        session.add(user)
        session.flush()
        change_status(session, ticket, user, "afgerond", closing_reason="hulp_gestart", outbound=Outbound())
        change_status(session, ticket, user, "opgepakt", outbound=Outbound())  # reopened
        change_status(session, ticket, user, "afgerond", closing_reason="hulp_gestart", outbound=Outbound())
        sent = [m for m in session.get(Conversation, cid).messages if m.sender == Sender.STAFF]
        assert len(sent) == 1 and ticket.terugkoppeling_at is not None
        assert ticket.reference in sent[0].text and "Over de persoon zelf kunnen wij niets vertellen" in sent[0].text
        assert "buurvrouw" not in sent[0].text and "post" not in sent[0].text
        assert isinstance(sent[0], Message)


def test_no_terugkoppeling_when_not_asked_for(database):
    from conversations.models import Conversation, Sender
    from handover.models import HandoverTicket, StaffUser
    from inbox.tickets import change_status

    cid = conversation(database)
    run(ActionHandoverTicket(), tracker(cid, {**MELDING, "melding_terugkoppeling": "nee"}))
    with database() as session:
        ticket = session.query(HandoverTicket).one()
        user = StaffUser(username="els", display_name="Els", password_hash="x", role="medewerker")
        session.add(user)
        session.flush()
        change_status(session, ticket, user, "afgerond", closing_reason="vraag_beantwoord", outbound=Outbound())
        assert not [m for m in session.get(Conversation, cid).messages if m.sender == Sender.STAFF]
        assert ticket.terugkoppeling_at is None


def test_an_english_melder_hears_it_in_english(database):
    cid = conversation(database)
    msgs, _ = run(ActionHandoverTicket(), tracker(cid, {**MELDING, "taal": "en"}))
    assert msgs[0]["text"].startswith("I passed your report on to Sociaal wijkteam Noord.")
