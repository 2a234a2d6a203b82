"""The warm handover as the action server runs it: real rasa_sdk objects, the real inbox
code and a real (temporary) SQLite database. Consent decides what the ticket holds; no
consent means no ticket; acute danger opens a flagged ticket without consent; regie op
gegevens reads the database and leaves the erasing to the front door."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.actions.actions import ActionHandoverAccept, ActionOfferHandover
from bot.actions.handover import (
    ActionAskHandoverContact,
    ActionAskHandoverMoment,
    ActionAskHandoverTelefoon,
    ActionHandoverAcuut,
    ActionHandoverTicket,
    ActionWatBewaard,
    ActionWisGesprek,
    ValidateHandoverForm,
    classify_contact,
    classify_moment,
    classify_postcode,
    classify_toestemming,
)

SLOTS = {
    "taal": "nl",
    "channel": "web",
    "crisis_handled": None,
    "levensgebieden": ["geld", "wonen"],
    "levensgebied_woorden": {"geld": ["rekeningen stapelen zich op"], "wonen": ["huurachterstand"]},
    "signalen": {"regieverlies": ["ik maak de post niet meer open"]},
    "vraag_tekst": "de rekeningen stapelen zich op en ik heb een huurachterstand",
    "eigen_kracht": "soms",
    "handover_reden": "regieverlies",
    "aangeboden": [{"id": "sk:1", "name": "Schuldhulpmaatjes"}, {"id": "sk:2", "name": "Formulierenbrigade"}],
    "handover_toestemming": None,
    "handover_contact": None,
    "handover_telefoon": None,
    "handover_moment": None,
    "handover_postcode": None,
}


@pytest.fixture
def database(tmp_path, monkeypatch):
    """The action server's own database (DATABASE_URL), with two wijkteams."""
    from core import config
    from core.db import Base, get_engine, session_scope
    from iad.tables import import_all_models

    monkeypatch.setenv("IAD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'iad.db'}")
    config.get_settings.cache_clear()
    import_all_models()
    Base.metadata.create_all(get_engine())
    from handover.models import PostcodeRange, Team, Wijk

    with session_scope() as session:
        noord = Team(name="Sociaal wijkteam Noord", phone="053 111 1111")
        session.add_all(
            [
                noord,
                Team(name="IAD-loket", is_default=True),
                Wijk(name="Noord", team=noord, postcode_ranges=[PostcodeRange(start=7511, end=7515)]),
            ]
        )
    yield session_scope
    get_engine().dispose()
    config.get_settings.cache_clear()


def conversation(session_scope, channel="web") -> str:
    from conversations.models import Conversation, Message

    with session_scope() as session:
        c = Conversation(
            channel=channel,
            gemeente="Enschede",
            levensgebieden={"geld": ["rekeningen stapelen zich op"], "wonen": ["huurachterstand"]},
        )
        session.add(c)
        session.flush()
        session.add(Message(conversation=c, sender="resident", text=SLOTS["vraag_tekst"]))
        return c.id


def tracker(sender: str, slots: dict | None = None, text="", intent="affirm", active_loop=None) -> Tracker:
    s = dict(SLOTS)
    s.update(slots or {})
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}}
    return Tracker(sender, s, latest, [], False, None, active_loop or {}, "action_listen")


def run(action, t: Tracker):
    d = CollectingDispatcher()
    events = asyncio.run(action.run(d, t, {}))
    return d.messages, events


def tickets(session_scope) -> list:
    from handover.models import HandoverTicket

    with session_scope() as session:
        rows = list(session.scalars(select(HandoverTicket)))
        for t in rows:  # load what the assertions read before the session closes
            _ = (t.team, t.consent_scope, t.advised)
        session.expunge_all()
        return rows


# ------------------------------------------------------------------------ the ticket


def test_consent_for_summary_and_chat_opens_a_ticket_with_both(database):
    cid = conversation(database)
    slots = {
        "handover_toestemming": "samenvatting_gesprek",
        "handover_contact": "bellen",
        "handover_moment": "ochtend",
        "handover_postcode": "7512 AB",
    }
    msgs, _ = run(ActionHandoverTicket(), tracker(cid, slots))
    [ticket] = tickets(database)
    assert ticket.consent_scope == ["samenvatting", "gesprek"] and ticket.consent_given
    assert not ticket.acute_danger
    assert ticket.reasons == ["regieverlies"] and ticket.urgency == "normaal"
    assert ticket.contact_preference == "bellen" and ticket.contact_window == "'s ochtends"
    assert ticket.postcode == "7512 AB" and ticket.team.name == "Sociaal wijkteam Noord"
    assert [a["name"] for a in ticket.advised] == ["Schuldhulpmaatjes", "Formulierenbrigade"]
    # The summary is plain Dutch with the resident's own words for each levensgebied.
    assert "huurachterstand" in ticket.summary and "rekeningen stapelen zich op" in ticket.summary
    assert "Geld" in ticket.summary or "geld" in ticket.summary
    # The resident hears who calls, and by when; the front door gets the ticket id.
    text = msgs[0]["text"]
    assert "Sociaal wijkteam Noord" in text and "belt u" in text and "vóór" in text and ticket.reference in text
    assert {"handover_ticket": ticket.id} in [m.get("custom") for m in msgs]


def test_consent_for_the_summary_only(database):
    cid = conversation(database, channel="whatsapp")
    slots = {
        "channel": "whatsapp",
        "handover_toestemming": "samenvatting",
        "handover_contact": None,
        "handover_postcode": "overslaan",
        "handover_reden": "crisis",
    }
    msgs, _ = run(ActionHandoverTicket(), tracker(cid, slots))
    [ticket] = tickets(database)
    assert ticket.consent_scope == ["samenvatting"]
    assert ticket.urgency == "hoog"  # a crisis is at least hoog
    assert ticket.postcode is None and ticket.team.name == "IAD-loket"  # no postcode: the default team
    assert ticket.contact_preference == "whatsapp"  # the channel's default
    assert msgs[0]["text"].startswith("Ik heb uw vraag doorgegeven aan IAD-loket")


def test_no_consent_no_ticket_but_the_loket_number(database):
    from core.config import get_settings

    cid = conversation(database)
    msgs, _ = run(ActionHandoverTicket(), tracker(cid, {"handover_toestemming": "nee"}))
    assert tickets(database) == []
    assert msgs == [{**msgs[0], "response": "utter_handover_geen_toestemming"}]
    assert msgs[0]["loket_telefoon"] == get_settings().loket_phone
    assert not any(m.get("custom") for m in msgs)


def test_acute_danger_opens_a_flagged_ticket_without_consent_and_says_so(database):
    cid = conversation(database)
    # No channel slot (as on a conversation's first message): the conversation's channel counts.
    msgs, events = run(
        ActionHandoverAcuut(), tracker(cid, {"handover_reden": "crisis", "channel": None}, intent="crisis_acuut_gevaar")
    )
    [ticket] = tickets(database)
    assert ticket.acute_danger and not ticket.consent_given and ticket.urgency == "acuut"
    assert ticket.contact_preference == "chat"
    assert ticket.reasons == ["crisis"]
    assert msgs[0]["response"] == "utter_handover_acuut"
    assert msgs[1]["text"].startswith("U bent misschien in gevaar. Daarom heb ik ons gesprek doorgegeven")
    assert {"handover_ticket": ticket.id} in [m.get("custom") for m in msgs]
    assert {"event": "slot", "name": "handover_advies", "value": False} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]


def test_front_door_acute_danger_goes_to_the_acute_ticket_not_an_offer():
    msgs, events = run(ActionOfferHandover(), tracker("x", {"crisis_handled": "acuut_gevaar"}, intent="hulpvraag"))
    assert msgs == []
    assert {"event": "followup", "name": "action_handover_acuut"} in [
        {"event": e["event"], "name": e.get("name")} for e in events
    ]


def test_english_resident_hears_it_in_english(database):
    cid = conversation(database)
    msgs, _ = run(
        ActionHandoverTicket(),
        tracker(
            cid,
            {
                "taal": "en",
                "handover_toestemming": "samenvatting",
                "handover_contact": "chat",
                "handover_postcode": "7511",
            },
        ),
    )
    assert msgs[0]["text"].startswith("I passed your question on to Sociaal wijkteam Noord.")
    assert "before" in msgs[0]["text"]


def test_database_trouble_gives_a_clear_message_not_a_crash(database, monkeypatch):
    # A conversation the database does not know (the bot was reached without the front door).
    msgs, _ = run(ActionHandoverTicket(), tracker("unknown-conversation", {"handover_toestemming": "samenvatting"}))
    assert msgs[0]["response"] == "utter_handover_mislukt" and msgs[0]["loket_telefoon"]
    # The database itself is gone.
    monkeypatch.setenv("DATABASE_URL", "sqlite:////nonexistent-dir/iad.db")
    from core import config

    config.get_settings.cache_clear()
    msgs, _ = run(ActionHandoverTicket(), tracker("x", {"handover_toestemming": "samenvatting"}))
    assert msgs[0]["response"] == "utter_handover_mislukt"
    msgs, _ = run(ActionHandoverAcuut(), tracker("x"))
    assert msgs[0]["response"] == "utter_handover_acuut_mislukt"


def test_the_resident_messages_are_b1(database):
    from bot.readability import measure, problems

    cid = conversation(database)
    msgs, _ = run(
        ActionHandoverTicket(),
        tracker(
            cid,
            {
                "handover_toestemming": "samenvatting",
                "handover_contact": "bellen",
                "handover_moment": "middag",
                "handover_postcode": "7512",
            },
        ),
    )
    measured = [measure("packet", "nl", msgs[0]["text"])]
    msgs, _ = run(ActionHandoverTicket(), tracker(cid, {"taal": "en", "handover_toestemming": "samenvatting"}))
    measured.append(measure("packet_en", "en", msgs[0]["text"]))
    per_response = [p for p in problems(measured) if not p.startswith(("Dutch responses average",))]
    assert per_response == []


# ------------------------------------------------------------------- the questions


def test_after_yes_the_form_starts_afresh():
    msgs, events = run(ActionHandoverAccept(), tracker("x", {"handover_toestemming": "nee"}))
    assert msgs == [{**msgs[0], "custom": {"handover_accepted": True}}]
    values = {e["name"]: e["value"] for e in events}
    assert values["handover_toestemming"] is None and values["handover_geaccepteerd"] is True


def test_at_most_three_questions_after_consent_and_none_after_no():
    """Four only when a web resident wants a call or a visit: then we need a number."""
    form = ValidateHandoverForm()

    def required(**slots):
        return asyncio.run(form.required_slots([], CollectingDispatcher(), tracker("x", slots), {}))

    assert required() == ["handover_toestemming", "handover_contact", "handover_moment", "handover_postcode"]
    assert required(handover_toestemming="nee") == ["handover_toestemming"]
    assert required(handover_toestemming="samenvatting", handover_contact="chat") == [
        "handover_toestemming",
        "handover_contact",
        "handover_postcode",
    ]
    assert required(handover_toestemming="samenvatting", handover_contact="bellen") == [
        "handover_toestemming",
        "handover_contact",
        "handover_telefoon",
        "handover_moment",
        "handover_postcode",
    ]
    assert "handover_telefoon" not in required(channel="whatsapp", handover_contact="bellen")  # we have the number
    assert "handover_telefoon" not in required(channel="voice", handover_contact="bellen")


def test_the_number_question_tells_the_front_door_and_the_bot_never_sees_the_number():
    msgs, _ = run(ActionAskHandoverTelefoon(), tracker("x"))
    assert msgs[0]["response"] == "utter_ask_handover_telefoon"
    assert {"expect_callback_number": True} in [m.get("custom") for m in msgs]
    form = ValidateHandoverForm()

    def validate(value, text="", intent="affirm"):
        d = CollectingDispatcher()
        result = form.validate_handover_telefoon(value, d, tracker("x", text=text, intent=intent), {})
        return result["handover_telefoon"], [m.get("response") for m in d.messages]

    assert validate("ontvangen") == ("ontvangen", [])  # the front door's payload
    assert validate("overslaan") == ("overslaan", [])  # the skip button
    assert validate("sla maar over", text="sla maar over", intent="hulpvraag") == ("overslaan", [])
    assert validate("ontvangen", text="ontvangen", intent="hulpvraag") == (
        None,
        ["utter_telefoon_onbekend"],
    )  # typed, not given
    assert validate("weet ik niet uit mijn hoofd", text="weet ik niet uit mijn hoofd", intent="hulpvraag") == (
        None,
        ["utter_telefoon_onbekend"],
    )


def test_a_call_without_a_number_becomes_a_chat_message(database):
    cid = conversation(database)
    slots = {
        "handover_toestemming": "samenvatting",
        "handover_contact": "bellen",
        "handover_telefoon": "overslaan",
        "handover_moment": "ochtend",
        "handover_postcode": "overslaan",
    }
    msgs, _ = run(ActionHandoverTicket(), tracker(cid, slots))
    [ticket] = tickets(database)
    assert ticket.contact_preference == "chat" and "stuurt u hier een bericht" in msgs[0]["text"]


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("ja", "affirm", "samenvatting_gesprek"),
        ("ja hoor, dat mag", "affirm", "samenvatting_gesprek"),
        ("alleen de samenvatting", "hulpvraag", "samenvatting"),
        ("niet het gesprek", "deny", "samenvatting"),
        ("nee", "deny", "nee"),
        ("nee liever niet", "deny", "nee"),
        ("only the summary please", "hulpvraag", "samenvatting"),
        ("hoe bedoel je", "nlu_fallback", None),
    ],
)
def test_consent_from_typed_words(text, intent, expected):
    assert classify_toestemming(text, intent) == expected


@pytest.mark.parametrize(
    "text, channel, expected",
    [
        ("bel me maar", "web", "bellen"),
        ("via whatsapp graag", "web", "whatsapp"),
        ("kom maar langs", "web", "huisbezoek"),
        ("hier in de chat", "whatsapp", "chat"),
        ("maakt niet uit", "whatsapp", "whatsapp"),
        ("ja", "voice", "bellen"),
        ("ja", "web", "chat"),
        ("tja", "web", None),
        ("ik bel zelf wel", "web", "zelf"),
        ("bellen is niet veilig", "whatsapp", "zelf"),
    ],
)
def test_contact_from_typed_words_with_the_channel_as_default(text, channel, expected):
    assert classify_contact(text, "hulpvraag" if text != "ja" else "affirm", channel) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("'s ochtends", "ochtend"),
        ("liefst in de middag", "middag"),
        ("maakt niet uit", "maakt_niet_uit"),
        ("dinsdag na 3 uur", "dinsdag na 3 uur"),
        ("banaan", None),
    ],
)
def test_time_window_from_typed_words(text, expected):
    assert classify_moment(text, "hulpvraag") == expected


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("7512ab", "nlu_fallback", "7512 AB"),
        ("mijn postcode is 7545 AA", "hulpvraag", "7545 AA"),
        ("7511", "nlu_fallback", "7511"),
        ("weet ik niet", "deny", "overslaan"),
        ("sla over", "hulpvraag", "overslaan"),
        ("0123 AB", "hulpvraag", None),
        ("in de binnenstad", "hulpvraag", None),
    ],
)
def test_postcode_from_typed_words(text, intent, expected):
    assert classify_postcode(text, intent) == expected


def test_a_wrong_postcode_is_asked_again_with_a_hint():
    form = ValidateHandoverForm()
    d = CollectingDispatcher()
    t = tracker("x", text="ergens in Noord", intent="hulpvraag", active_loop={"name": "handover_form"})
    assert form.validate_handover_postcode("ergens in Noord", d, t, {}) == {"handover_postcode": None}
    assert d.messages[0]["response"] == "utter_postcode_onbekend"
    # A button payload is trusted as it is.
    t = tracker("x", text='/affirm{"handover_contact": "huisbezoek"}', intent="affirm")
    assert form.validate_handover_contact("huisbezoek", CollectingDispatcher(), t, {}) == {
        "handover_contact": "huisbezoek"
    }


# ---------------------------------------------------------------- regie op gegevens


def test_what_is_stored_comes_from_the_database(database):
    cid = conversation(database)
    run(ActionHandoverTicket(), tracker(cid, {"handover_toestemming": "samenvatting"}))
    msgs, _ = run(ActionWatBewaard(), tracker(cid, intent="vraag_gegevens"))
    text = msgs[0]["text"]
    assert text.startswith("We bewaren dit gesprek: 1 bericht.")
    assert "IAD-loket" in text and "Wilt u dat we alles nu wissen?" in text
    assert [b["payload"] for b in msgs[0]["buttons"]] == ["/affirm", "/deny"]


def test_erasing_is_left_to_the_front_door(database):
    from conversations.models import Conversation

    cid = conversation(database)
    msgs, events = run(ActionWisGesprek(), tracker(cid, intent="affirm"))
    assert msgs[0]["response"] == "utter_gewist"
    assert {"forget_conversation": True} in [m.get("custom") for m in msgs]
    assert events == [{"event": "reset_slots", "timestamp": None}]
    with database() as session:  # still there: the front door erases it after storing the replies
        assert session.get(Conversation, cid) is not None


# --- domestic violence: a safe way of contact, or none (issue 11, item 5) ---------------


def test_with_domestic_violence_the_contact_question_asks_what_is_safe():
    """Rasa picks at random among matching conditional variants, so the safe question is
    its own response, chosen by the ask action (not a condition beside the usual ones)."""
    asked = lambda **slots: [m["response"] for m in run(action, tracker("x", slots))[0]]  # noqa: E731
    action = ActionAskHandoverContact()
    assert asked() == ["utter_ask_handover_contact"]
    assert asked(veilig_contact=True) == ["utter_ask_handover_contact_veilig"]
    action = ActionAskHandoverMoment()
    assert asked() == ["utter_ask_handover_moment"]
    assert asked(veilig_contact=True) == ["utter_ask_handover_moment_veilig"]


def test_the_safe_contact_question_offers_no_contact_at_all_and_snel_weg_on_the_web():
    import yaml

    from core.config import PROJECT_ROOT

    responses = yaml.safe_load((PROJECT_ROOT / "bot" / "domain" / "handover.yml").read_text())["responses"]
    variants = responses["utter_ask_handover_contact_veilig"]
    for variant in variants:
        payloads = [b["payload"] for b in variant["buttons"]]
        assert '/affirm{"handover_contact": "zelf"}' in payloads
    web = [
        v
        for v in variants
        if {"name": "channel", "value": "web", "type": "slot"} in (v.get("condition") or []) or not v.get("condition")
    ]
    assert web and all("Snel weg" in v["text"] for v in web)
    # The conditions exclude each other: (taal, channel) pairs are unique.
    keys = [tuple(sorted((c["name"], c["value"]) for c in v.get("condition") or [])) for v in variants]
    assert len(keys) == len(set(keys))


def test_getting_in_touch_oneself_asks_nothing_more_and_the_ticket_warns_colleagues(database):
    form = ValidateHandoverForm()
    required = asyncio.run(
        form.required_slots(
            [],
            CollectingDispatcher(),
            tracker("x", {"handover_toestemming": "samenvatting", "handover_contact": "zelf", "veilig_contact": True}),
            {},
        )
    )
    assert required == ["handover_toestemming", "handover_contact", "handover_postcode"]

    cid = conversation(database)
    slots = {
        "handover_toestemming": "samenvatting",
        "handover_contact": "zelf",
        "handover_postcode": "overslaan",
        "veilig_contact": True,
        "handover_reden": "crisis",
    }
    msgs, _ = run(ActionHandoverTicket(), tracker(cid, slots))
    [ticket] = tickets(database)
    assert ticket.contact_preference == "zelf"
    assert ticket.summary.startswith("Let op, huiselijk geweld")
    told = msgs[0]["text"]
    assert "Wij bellen, appen en schrijven u niet" in told and "0800-2000" in told


def test_a_safe_call_keeps_the_warning_for_colleagues(database):
    cid = conversation(database)
    slots = {
        "handover_toestemming": "samenvatting",
        "handover_contact": "bellen",
        "handover_telefoon": "ontvangen",
        "handover_moment": "ochtend",
        "handover_postcode": "overslaan",
        "veilig_contact": True,
    }
    run(ActionHandoverTicket(), tracker(cid, slots))
    [ticket] = tickets(database)
    assert ticket.contact_preference == "bellen" and ticket.contact_window == "'s ochtends"
    assert "Stuur niets anders" in ticket.summary


def test_a_geweld_crisis_or_veiligheid_makes_the_contact_question_a_safe_one():
    from bot.actions.actions import ActionExtractSignals

    def slot_set(**slots):
        _, events = run(
            ActionExtractSignals(), tracker("x", {"levensgebieden": [], **slots}, text="ja", intent="affirm")
        )
        return [e["value"] for e in events if e.get("name") == "veilig_contact"]

    assert slot_set(crisis_handled="geweld") == [True]
    assert slot_set(levensgebieden=["veiligheid"]) == [True]
    assert slot_set(crisis_handled="suicide") == []
    assert slot_set(crisis_handled="geweld", veilig_contact=True) == []  # set once
