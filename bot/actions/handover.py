"""The warm handover after the resident's yes: consent first, then how and when to make
contact and the postcode (handover_form), then the ticket in the inbox. Also acute danger
(a ticket without consent, and the resident is told) and regie op gegevens (what is stored,
and erasing it on request).

The actions run in the app venv and use the app's database directly: the conversation id
is Rasa's sender id (the front door talks to Rasa with conversation.id)."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import AllSlotsReset, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.levensgebieden import fold
from conversations.models import Conversation
from core.bot_contract import Payload
from core.config import get_settings
from core.crisis import crisis_numbers
from core.db import session_scope
from core.messages import options, text
from core.taxonomy import LEVENSGEBIED_CODES, label
from handover.models import BETROKKENE_WEET, MELDER_RELATIONS, MELDING_URGENCY
from handover.regie import what_is_stored
from handover.tickets import HandoverRefused, handover_packet, normalise_postcode, open_handover_ticket

log = logging.getLogger(__name__)

HANDOVER_SLOTS = (
    "handover_toestemming",
    "handover_contact",
    "handover_telefoon",
    "handover_moment",
    "handover_postcode",
)
TOESTEMMING = {"samenvatting_gesprek": ["samenvatting", "gesprek"], "samenvatting": ["samenvatting"]}
# "zelf": the resident gets in touch (domestic violence: no call, message or visit is safe).
CONTACT = ("bellen", "whatsapp", "chat", "huisbezoek", "zelf")
# The way the resident came in is the default way back.
CONTACT_DEFAULT = {"web": "chat", "whatsapp": "whatsapp", "voice": "bellen"}
# A web resident has given us no number: for these, the bot asks for one (the front door keeps it).
NEEDS_NUMBER = ("bellen", "whatsapp", "huisbezoek")
NUMBER_GIVEN = "ontvangen"  # what the front door sends instead of the number
MOMENT_TEXT = {"ochtend": "'s ochtends", "middag": "'s middags", "maakt_niet_uit": None}
SKIP = "overslaan"

# A melding by someone else (handover_reden zorg_om_ander): the questions about the person
# concerned, in this order, then the melder's own contact and whether they want terugkoppeling.
MELDING_SLOTS = ("melding_relatie", "melding_sinds", "melding_weet", "melding_urgentie")
# How the wijkteam can reach a melder, per channel (no home visit for the melder).
MELDER_CONTACT = {"web": ("chat", "bellen", "whatsapp"), "whatsapp": ("whatsapp", "bellen"), "voice": ("bellen",)}
UNKNOWN = "onbekend"
# Every slot of the handover_form: cleared when a new handover starts.
FORM_SLOTS = (*HANDOVER_SLOTS, *MELDING_SLOTS, "melding_terugkoppeling")


def _settings():
    return get_settings()


def _intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def _typed(tracker: Tracker) -> str:
    """The resident's own text, or "" when the answer came from a button payload."""
    text = tracker.latest_message.get("text") or ""
    return "" if text.startswith("/") else text


def _english(tracker: Tracker) -> bool:
    return tracker.get_slot("taal") == "en"


# ------------------------------------------------------------ reading typed answers


def classify_toestemming(text: str, intent: str | None) -> str | None:
    """samenvatting_gesprek | samenvatting | nee, from what the resident typed. Without a
    clear yes nothing is shared: a bare "nee" means nothing at all."""
    t = fold(text)
    if re.search(r"\b(alleen|only|just)\b.*\b(samenvatting|summary)\b", t) or re.search(
        r"\b(niet|geen) (het |dat |dit )?gesprek\b|\bnot the (chat|conversation)\b", t
    ):
        return "samenvatting"
    if re.search(r"\b(niets|niks|nothing|niet delen|liever niet|don'?t share|rather not)\b", t):
        return "nee"
    if re.search(r"\b(beide|allebei|alles|ook het gesprek|both|everything|also the chat)\b", t):
        return "samenvatting_gesprek"
    if intent == "affirm" or re.match(r"\s*(ja|jawel|yes|prima|goed|oke?|ok[eé]|mag|sure)\b", t):
        return "samenvatting_gesprek"
    if intent == "deny" or re.match(r"\s*(nee|neen|no|nope)\b", t):
        return "nee"
    return None


def classify_contact(text: str, intent: str | None, channel: str | None) -> str | None:
    t = fold(text)
    patterns = (
        ("zelf", r"\bzelf\b|ik (bel|neem) (zelf|wel)|niet veilig|not safe|myself|i('ll| will) (call|contact)"),
        ("whatsapp", r"whats\s?app|\bapp(en|je)?\b|\bwa\b"),
        ("huisbezoek", r"huisbezoek|bezoek|langs|thuis|\bvisit|\bhome\b"),
        ("chat", r"\bchat|hier\b|bericht|typen|\bhere\b|message"),
        ("bellen", r"\bbel|telefo|opbellen|\bcall|\bphone|\bring\b"),
    )
    for code, pattern in patterns:
        if re.search(pattern, t):
            return code
    if intent == "affirm" or re.search(r"\b(maakt niet uit|maakt me niet uit|ja|prima|goed|whatever|any|yes)\b", t):
        return CONTACT_DEFAULT.get(channel or "web", "chat")
    return None


_TIME_WORDS = re.compile(
    r"\b(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|morgen|vandaag|overmorgen|"
    r"week|uur|avond|na|voor|tussen|vanaf|monday|tuesday|wednesday|thursday|friday|tomorrow|"
    r"today|evening|after|before|between)\b|\d"
)


def classify_moment(text: str, intent: str | None) -> str | None:
    """ochtend | middag | maakt_niet_uit, or the resident's own words when they name a time."""
    t = fold(text)
    if re.search(
        r"maakt (me )?niet uit|geen voorkeur|altijd|wanneer (ze|jullie) (willen|kunnen)"
        r"|any ?time|whenever|doesn'?t matter",
        t,
    ):
        return "maakt_niet_uit"
    ochtend = re.search(r"ochtend|\bmorgens|morning|\bam\b", t)
    middag = re.search(r"middag|afternoon|\bpm\b", t)
    if ochtend and not middag and not _TIME_WORDS.search(t.replace("ochtend", "")):
        return "ochtend"
    if middag and not ochtend and not _TIME_WORDS.search(t.replace("middag", "")):
        return "middag"
    if ochtend or middag or _TIME_WORDS.search(t):
        return " ".join(text.split())[:80]  # their own words, for the wijkteam
    if intent == "affirm" or re.match(r"\s*(ja|prima|goed|ok|yes)\b", t):
        return "maakt_niet_uit"
    return None


_POSTCODE_IN_TEXT = re.compile(r"\b([1-9]\d{3})\s?([a-zA-Z]{2})?\b")


def classify_postcode(text: str, intent: str | None) -> str | None:
    """'7511 AB', '7511', overslaan, or None (ask again)."""
    m = _POSTCODE_IN_TEXT.search(text)
    if m:
        try:
            return normalise_postcode(m.group(0))
        except HandoverRefused:
            return None
    t = fold(text)
    if intent == "deny" or re.search(
        r"weet (ik )?(het )?niet|geen idee|sla (maar )?over|overslaan|liever niet|\bnee\b|skip|don'?t know|\bno\b", t
    ):
        return SKIP
    return None


_RELATIE = (
    (
        "familie",
        r"\b(moeder|vader|mama|papa|ma|pa|ouders?|zus(je)?|broer(tje)?|oma|opa|tante|oom|neef|nicht|dochter|zoon|"
        r"kind(eren)?|kleinkind\w*|schoon\w+|familie\w*|stief\w+|mother|father|mum|mom|dad|parents?|sister|"
        r"brother|aunt|uncle|cousin|daughter|son|grand\w+|family|in-law)\b",
    ),
    ("buur", r"\bbu(u)?r\w*|\bneighbou?r\w*|naast (mij|ons)|boven (mij|ons)|onder (mij|ons)|next door|flat"),
    ("vriend", r"\bvriend\w*|\bkennis\w*|\bfriend\w*|\bmaat\b|\bmattie|\bacquaintance"),
    (
        "beroep",
        r"werk|beroep\w*|vrijwillig\w*|\bjuf\b|meester|leerkracht|docent|leraar|school|huisarts|wijkagent|"
        r"client|cliënt|leerling|patiënt|patient|thuiszorg|verzorg\w*|taalmaatje|coach|volunteer|teacher|"
        r"professional|colleague|collega|job|pupil|student",
    ),
)


def classify_relatie(text: str) -> str | None:
    """familie | buur | vriend | beroep | anders: who the person concerned is to the melder.
    Any other answer is "anders" (asking again would not help); nothing typed: None."""
    t = fold(text)
    if not t.strip():
        return None
    for code, pattern in _RELATIE:
        if re.search(pattern, t):
            return code
    return "anders"


def classify_sinds(text: str) -> str | None:
    """The melder's own words (at most 120 characters), or onbekend."""
    t = fold(text)
    if not t.strip():
        return None
    if re.search(r"weet (ik )?(het )?niet|geen idee|don'?t know|no idea|not sure|onbekend", t):
        return UNKNOWN
    return " ".join(text.split())[:120]


def classify_weet(text: str, intent: str | None) -> str | None:
    """eens | niet_eens | weet_niet | onbekend: does the person concerned know of the melding, and agree?"""
    t = fold(text)
    if re.search(r"weet ik (het )?niet|^\s*geen idee|(i )?don'?t know|^\s*no idea|i have no idea|not sure", t):
        return UNKNOWN
    if re.search(
        r"wil (het |dat |er )?niet|wil geen|niet mee eens|niet eens|is (er )?tegen|doesn'?t want|does not want|"
        r"refus|disagree|against it|won'?t",
        t,
    ):
        return "niet_eens"
    if re.search(
        r"^\s*(nee|neen|nope|no)\b|weet (het|er|nergens|van) ?(niks|niets|niet)|weet van niets|"
        r"doesn'?t know|does not know|has no idea|niet van (mij|ons)",
        t,
    ):
        return "weet_niet"
    if intent == "affirm" or re.search(
        r"\b(ja|jawel|yes|yeah|weet het|weet ervan|vindt? (het|dat) (goed|prima|ok\w*)|"
        r"mee eens|akkoord|agrees?|knows)\b",
        t,
    ):
        return "eens"
    if intent == "deny":
        return "weet_niet"
    return None


def classify_urgentie(text: str, intent: str | None) -> str | None:
    """vandaag | week | wachten, in the melder's view (a crisis goes through the front door)."""
    t = fold(text)
    if re.search(
        r"kan wachten|geen haast|niet (zo |heel )?(dringend|snel|urgent)|no rush|not urgent|can wait|"
        r"rustig aan|whenever",
        t,
    ):
        return "wachten"
    if re.search(
        r"vandaag|\bnu\b|meteen|zsm|zo snel|dringend|spoed|urgent|asap|as soon as|today|right away|\bnow\b|direct", t
    ):
        return "vandaag"
    if re.search(r"week|paar dagen|binnenkort|snel|soon|days|morgen|tomorrow", t):
        return "week"
    return None


def classify_ja_nee(text: str, intent: str | None) -> str | None:
    t = fold(text)
    if intent == "deny" or re.match(r"\s*(nee|neen|no|nope|hoeft niet|niet nodig|liever niet)\b", t):
        return "nee"
    if intent == "affirm" or re.match(r"\s*(ja|jawel|graag|yes|yeah|please|prima|goed|ok\w*|sure)\b", t):
        return "ja"
    return None


def is_melding(tracker: Tracker) -> bool:
    """The resident reports worry about someone else: the handover becomes a melding."""
    return tracker.get_slot("handover_reden") == "zorg_om_ander"


class ValidateHandoverForm(FormValidationAction):
    """At most three questions after the consent: contact, when (not for the chat), postcode;
    and a phone number when a web resident wants a call or a visit."""

    def name(self) -> str:
        return "validate_handover_form"

    async def required_slots(self, domain_slots, dispatcher, tracker: Tracker, domain) -> list[str]:
        if tracker.get_slot("handover_toestemming") == "nee":
            return ["handover_toestemming"]
        channel = tracker.get_slot("channel")
        if is_melding(tracker):
            # About the person concerned first, then how the wijkteam reaches the melder.
            slots = ["handover_toestemming", *MELDING_SLOTS, "handover_postcode", "handover_contact"]
            if channel == "web" and tracker.get_slot("handover_contact") in NEEDS_NUMBER:
                slots.append("handover_telefoon")
            if channel != "voice":  # the phone line cannot send a message later
                slots.append("melding_terugkoppeling")
            return slots
        slots = list(HANDOVER_SLOTS)
        contact = tracker.get_slot("handover_contact")
        if contact in ("chat", "zelf"):
            slots.remove("handover_moment")  # a chat message waits until the resident looks
        if not (tracker.get_slot("channel") == "web" and contact in NEEDS_NUMBER):
            slots.remove("handover_telefoon")  # WhatsApp and phone residents: we have their number
        return slots

    def validate_handover_toestemming(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        if value is None:
            return {"handover_toestemming": None}
        if value in ("samenvatting_gesprek", "samenvatting", "nee") and not _typed(tracker):
            return {"handover_toestemming": value}
        return {"handover_toestemming": classify_toestemming(str(value), _intent(tracker))}

    def validate_handover_contact(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        if value is None:
            return {"handover_contact": None}
        if value in CONTACT and not _typed(tracker):
            return {"handover_contact": value}
        return {"handover_contact": classify_contact(str(value), _intent(tracker), tracker.get_slot("channel"))}

    def validate_handover_telefoon(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        """The number itself never reaches the bot: the front door stores it encrypted and sends
        NUMBER_GIVEN. Typed text here is a "skip" or no number at all (then: ask again)."""
        if value is None:
            return {"handover_telefoon": None}
        if value in (NUMBER_GIVEN, SKIP) and not _typed(tracker):
            return {"handover_telefoon": value}
        t = fold(str(value))
        if _intent(tracker) == "deny" or re.search(
            r"sla (maar |het )?over|overslaan|liever niet|\bnee\b|geen (telefoon|nummer)|skip|\bno\b", t
        ):
            return {"handover_telefoon": SKIP}
        dispatcher.utter_message(response="utter_telefoon_onbekend")
        return {"handover_telefoon": None}

    def validate_handover_moment(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        if value is None:
            return {"handover_moment": None}
        if value in MOMENT_TEXT and not _typed(tracker):
            return {"handover_moment": value}
        return {"handover_moment": classify_moment(str(value), _intent(tracker))}

    def _melding_answer(self, slot: str, value: Any, tracker: Tracker, classify, allowed) -> dict:
        """A button's code as it is; typed text through `classify` (None: the question comes again)."""
        if value is None:
            return {slot: None}
        if value in allowed and not _typed(tracker):
            return {slot: value}
        return {slot: classify(str(value))}

    def validate_melding_relatie(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        return self._melding_answer("melding_relatie", value, tracker, classify_relatie, MELDER_RELATIONS)

    def validate_melding_sinds(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        return self._melding_answer("melding_sinds", value, tracker, classify_sinds, (UNKNOWN,))

    def validate_melding_weet(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        intent = _intent(tracker)
        return self._melding_answer("melding_weet", value, tracker, lambda t: classify_weet(t, intent), BETROKKENE_WEET)

    def validate_melding_urgentie(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        intent = _intent(tracker)
        return self._melding_answer(
            "melding_urgentie", value, tracker, lambda t: classify_urgentie(t, intent), MELDING_URGENCY
        )

    def validate_melding_terugkoppeling(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        intent = _intent(tracker)
        return self._melding_answer(
            "melding_terugkoppeling", value, tracker, lambda t: classify_ja_nee(t, intent), ("ja", "nee")
        )

    def validate_handover_postcode(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        if value is None:
            return {"handover_postcode": None}
        if value == SKIP and not _typed(tracker):
            return {"handover_postcode": SKIP}
        postcode = classify_postcode(str(value), _intent(tracker))
        if postcode is None:
            dispatcher.utter_message(response="utter_postcode_onbekend")
        return {"handover_postcode": postcode}


# ------------------------------------------------------------------------- the ticket


def handover_summary(tracker: Tracker) -> str:
    """Plain Dutch for the wijkteam: the question and each levensgebied in the resident's
    own words, the signals behind the handover, and their own network."""
    lines = []
    vraag = (tracker.get_slot("vraag_tekst") or "").strip()
    if vraag:
        lines.append(f"Vraag in eigen woorden: \u201c{vraag}\u201d.")
    woorden = tracker.get_slot("levensgebied_woorden") or {}
    delen = [
        label(code).lower() + (" (\u201c" + "\u201d, \u201c".join(words[:3]) + "\u201d)" if words else "")
        for code, words in woorden.items()
        if code in LEVENSGEBIED_CODES
    ]
    if delen:
        lines.append("Speelt op: " + "; ".join(delen) + ".")
    signalen = tracker.get_slot("signalen") or {}
    if signalen.get("regieverlies"):
        lines.append("Overziet het zelf niet meer (\u201c" + signalen["regieverlies"][0] + "\u201d).")
    if signalen.get("zorg_om_ander"):
        lines.append("Maakt zich zorgen om iemand anders (\u201c" + signalen["zorg_om_ander"][0] + "\u201d).")
    eigen = {"ja": "Eigen netwerk helpt.", "soms": "Eigen netwerk helpt soms.", "nee": "Geen eigen netwerk dat helpt."}
    if tracker.get_slot("eigen_kracht") in eigen:
        lines.append(eigen[tracker.get_slot("eigen_kracht")])
    # The reason for the handover is a field of its own on the ticket.
    return " ".join(lines)


def _advised(tracker: Tracker) -> list[dict]:
    out = []
    for item in tracker.get_slot("aangeboden") or []:
        if isinstance(item, dict) and item.get("name"):
            out.append({"name": item["name"], **({"id": item["id"]} if item.get("id") else {})})
        elif isinstance(item, str):
            out.append({"name": item})
    return out


def conversation_of(session, tracker: Tracker) -> Conversation:
    """The conversation this tracker belongs to (Rasa's sender id is the conversation id);
    LookupError when the bot was reached without the front door."""
    conversation = session.get(Conversation, tracker.sender_id)
    if conversation is None:
        raise LookupError(f"no conversation {tracker.sender_id!r} in the database")
    return conversation


def open_ticket(tracker: Tracker, **params) -> dict:
    """Opens (or finds) the ticket for this conversation and returns handover_packet(ticket).
    Raises HandoverRefused, LookupError (no such conversation) or a database error."""
    with session_scope() as session:
        conversation = conversation_of(session, tracker)
        if params.get("contact_preference") is None:
            # The channel slot can be missing (e.g. on a conversation's first message):
            # the conversation itself knows how the resident came in.
            params["contact_preference"] = CONTACT_DEFAULT.get(conversation.channel)
        ticket = open_handover_ticket(session, conversation, **params)
        # In the resident's language, inside the session: it reads the team.
        return handover_packet(ticket, lang="en" if _english(tracker) else "nl")


def _tell_ticket(dispatcher: CollectingDispatcher, tracker: Tracker, packet: dict) -> None:
    dispatcher.utter_message(text=packet["message"])
    dispatcher.utter_message(json_message={Payload.HANDOVER_TICKET: packet["ticket_id"]})


def _contact_details() -> dict:
    s = _settings()
    return {"loket_naam": s.loket_name, "loket_telefoon": s.loket_phone, "loket_uren": s.loket_hours}


class ActionAskHandoverTelefoon(Action):
    """Asks a web resident for a phone number, and tells the front door to expect one: it
    takes the number out of the next message before anything else sees it."""

    def name(self) -> str:
        return "action_ask_handover_telefoon"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        dispatcher.utter_message(response="utter_ask_handover_telefoon")
        dispatcher.utter_message(json_message={Payload.EXPECT_CALLBACK_NUMBER: True})
        return []


class _AskSafelyAfterViolence:
    """Asks `response`; in a conversation about domestic violence (slot veilig_contact) its
    `_veilig` twin, which asks only for what is safe. A mixin, not an Action: rasa-sdk
    registers every Action subclass under its name."""

    response = ""

    def name(self) -> str:
        return "action_ask_" + self.response.removeprefix("utter_ask_")

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        veilig = "_veilig" if tracker.get_slot("veilig_contact") else ""
        dispatcher.utter_message(response=f"{self.response}{veilig}")
        return []


def ask_melding(dispatcher: CollectingDispatcher, tracker: Tracker, question: str, slot: str) -> None:
    """One question of a melding (catalogue melding.ask.<question>), with its buttons."""
    lang = "en" if _english(tracker) else "nl"
    buttons = options(f"melding.ask.{question}.buttons", lang)
    if question == "contact":
        allowed = MELDER_CONTACT.get(tracker.get_slot("channel") or "web", MELDER_CONTACT["web"])
        buttons = {code: title for code, title in buttons.items() if code in allowed}
    values = {"alarm": crisis_numbers(_settings())["acuut_gevaar"]} if question == "urgentie" else {}
    dispatcher.utter_message(
        text=text(f"melding.ask.{question}.text", lang, **values),
        buttons=[
            {
                "title": title,
                "payload": ("/deny" if code in ("nee", SKIP, "weet_niet") else "/affirm") + json.dumps({slot: code}),
            }
            for code, title in buttons.items()
        ],
    )


class _AskMelding:
    """Asks melding.ask.<question> from the catalogue. A mixin (see _AskSafelyAfterViolence)."""

    question = ""

    def name(self) -> str:
        return f"action_ask_melding_{self.question}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        ask_melding(dispatcher, tracker, self.question, f"melding_{self.question}")
        return []


class ActionAskMeldingRelatie(_AskMelding, Action):
    question = "relatie"


class ActionAskMeldingSinds(_AskMelding, Action):
    question = "sinds"


class ActionAskMeldingWeet(_AskMelding, Action):
    question = "weet"


class ActionAskMeldingUrgentie(_AskMelding, Action):
    question = "urgentie"


class ActionAskMeldingTerugkoppeling(_AskMelding, Action):
    question = "terugkoppeling"


class ActionAskHandoverContact(_AskSafelyAfterViolence, Action):
    """How the wijkteam gets in touch; with domestic violence only a way that is safe, or
    none: the resident gets in touch. A melder: how the wijkteam reaches them with questions."""

    response = "utter_ask_handover_contact"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        if is_melding(tracker):
            ask_melding(dispatcher, tracker, "contact", "handover_contact")
            return []
        return await super().run(dispatcher, tracker, domain)


class ActionAskHandoverPostcode(Action):
    """The resident's postcode, for routing; for a melding the postcode of the person concerned
    (the melding goes to their wijkteam, not the melder's)."""

    def name(self) -> str:
        return "action_ask_handover_postcode"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        if is_melding(tracker):
            ask_melding(dispatcher, tracker, "postcode", "handover_postcode")
        else:
            dispatcher.utter_message(response="utter_ask_handover_postcode")
        return []


class ActionAskHandoverMoment(_AskSafelyAfterViolence, Action):
    """When suits the resident; with domestic violence: when it is safe."""

    response = "utter_ask_handover_moment"


def melding_fields(tracker: Tracker) -> dict:
    """The melding's answers as handover.tickets.clean_melding takes them."""
    sinds = tracker.get_slot("melding_sinds")

    def known(slot: str, codes) -> str | None:
        value = tracker.get_slot(slot)
        return value if value in codes else None

    return {
        "relatie": known("melding_relatie", MELDER_RELATIONS),
        "weet": known("melding_weet", BETROKKENE_WEET),
        "urgentie": known("melding_urgentie", MELDING_URGENCY),
        "sinds": None if sinds in (None, UNKNOWN) else sinds,
        "terugkoppeling": tracker.get_slot("melding_terugkoppeling") == "ja",
    }


def contact_preference(tracker: Tracker) -> str | None:
    """The way back the resident chose; a call or WhatsApp without a number becomes the chat."""
    contact = tracker.get_slot("handover_contact") or CONTACT_DEFAULT.get(tracker.get_slot("channel") or "")
    if tracker.get_slot("handover_telefoon") == SKIP and contact in ("bellen", "whatsapp"):
        return "chat"
    return contact


class ActionHandoverTicket(Action):
    """After the handover_form: without consent nothing is shared (the loket's number);
    with consent the ticket is opened and the resident hears who contacts them, how and
    by when."""

    def name(self) -> str:
        return "action_handover_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        scope = TOESTEMMING.get(tracker.get_slot("handover_toestemming") or "")
        if not scope:
            dispatcher.utter_message(response="utter_handover_geen_toestemming", **_contact_details())
            return []
        reden = tracker.get_slot("handover_reden") or "wil_mens"
        postcode = tracker.get_slot("handover_postcode")
        melding = melding_fields(tracker) if is_melding(tracker) else None
        urgency = "hoog" if reden == "crisis" else "normaal"
        if melding and melding["urgentie"]:
            urgency = MELDING_URGENCY[melding["urgentie"]]
        try:
            packet = open_ticket(
                tracker,
                reason=reden,
                urgency=urgency,
                melding=melding,
                consent=scope,
                contact_preference=contact_preference(tracker),
                contact_window=MOMENT_TEXT.get(
                    tracker.get_slot("handover_moment"), tracker.get_slot("handover_moment")
                ),
                postcode=None if postcode in (None, SKIP) else postcode,
                advised=_advised(tracker),
                summary=handover_summary(tracker),
                safe_contact_only=bool(tracker.get_slot("veilig_contact")),
            )
        except HandoverRefused:
            log.warning("handover refused for conversation %s", tracker.sender_id, exc_info=True)
            dispatcher.utter_message(response="utter_handover_mislukt", **_contact_details())
            return []
        except Exception:  # the resident must hear what to do, whatever broke
            log.exception("could not open a handover ticket for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_handover_mislukt", **_contact_details())
            return []
        _tell_ticket(dispatcher, tracker, packet)
        return []


class ActionHandoverAcuut(Action):
    """Acute danger, after the 112 line: the ticket is opened without asking (to protect the
    resident; the ticket says it was shared without consent), and the resident is told so."""

    def name(self) -> str:
        return "action_handover_acuut"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        events = [SlotSet("handover_reden", "crisis"), SlotSet("handover_advies", False)]
        scope = TOESTEMMING.get(tracker.get_slot("handover_toestemming") or "", [])
        try:
            packet = open_ticket(
                tracker,
                reason="crisis",
                urgency="acuut",
                consent=scope,
                acute_danger=True,
                contact_preference=CONTACT_DEFAULT.get(tracker.get_slot("channel") or ""),
                summary=handover_summary(tracker) or "Acuut gevaar gemeld in de chat.",
                advised=_advised(tracker),
            )
        except Exception:
            log.exception("could not open an acute-danger ticket for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_handover_acuut_mislukt", **_contact_details())
            return events
        dispatcher.utter_message(response="utter_handover_acuut")
        _tell_ticket(dispatcher, tracker, packet)
        return events


# ------------------------------------------------------------------- regie op gegevens


def english_stored(stored: dict) -> str:
    n = stored["messages"]
    lines = [f"We keep this chat: {n} message{'' if n == 1 else 's'}."]
    for t in stored["tickets"]:
        lines.append(f"Your question was passed on to {t['team'] or 'the loket'} (reference {t['reference']}).")
    if not any("gesprek" in t["shared"] for t in stored["tickets"]):
        lines.append(
            f"After {_settings().inbox_redact_unconsented_days} days without new messages we "
            "remove the text of the chat."
        )
    lines.append(f"Everything is deleted at the latest {_settings().retention_months} months after the end.")
    lines.append("Do you want us to delete everything now? That is possible.")
    return " ".join(lines)


class ActionWatBewaard(Action):
    """ "Wat weten jullie van mij?": what is stored about this conversation, from the database."""

    def name(self) -> str:
        return "action_wat_bewaard"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        try:
            with session_scope() as session:
                stored = what_is_stored(session, conversation_of(session, tracker))
        except Exception:
            log.exception("could not read what is stored for conversation %s", tracker.sender_id)
            dispatcher.utter_message(response="utter_gegevens_mislukt", **_contact_details())
            return []
        en = _english(tracker)
        dispatcher.utter_message(
            text=english_stored(stored) if en else stored["message"],
            buttons=[
                {"title": "Delete" if en else "Wissen", "payload": "/affirm"},
                {"title": "No, keep it" if en else "Nee, bewaren", "payload": "/deny"},
            ],
        )
        return []


class ActionWisGesprek(Action):
    """The resident confirmed: ask the front door to erase the conversation. It does that
    after storing these replies (handover.regie.forget); erasing here would leave them behind."""

    def name(self) -> str:
        return "action_wis_gesprek"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        dispatcher.utter_message(response="utter_gewist")
        dispatcher.utter_message(json_message={Payload.FORGET_CONVERSATION: True})
        # Nothing the resident said stays in the bot's memory for the rest of the chat.
        return [AllSlotsReset()]
