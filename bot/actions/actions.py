"""Custom actions of the IAD loket assistant (run by rasa-sdk in the app venv).

Every resident message first passes action_extract_signals (the custom slot mapping of
the levensgebieden slots), so the conversation keeps every levensgebied heard, in the
resident's own words, whatever the intent was.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import zoeken
from bot.actions.handover import FORM_SLOTS, _intent, _settings
from bot.actions.levensgebieden import (
    detect_language,
    detect_signalen,
    fold,
    levensgebieden_for_message,
)
from bot.training_data import bot_crisis_code
from core.bot_contract import BOT_HANDOVER_REASONS, Payload
from core.crisis import crisis_reply
from core.db import session_scope
from core.taxonomy import LEVENSGEBIED_CODES, merge_words
from sociale_kaart.gaps import record_unmet

log = logging.getLogger(__name__)

# "Ik wil een mens spreken" is acted on (an offer, reason wil_mens) only when the NLU is
# sure; below this the bot asks what the resident means. Measured: an English "do you
# speak English?" came out as ask_human at 0.55; real requests for a person at >= 0.99.
ASK_HUMAN_MIN_CONFIDENCE = 0.8
# At most this many clarifying questions per conversation: one per levensgebied heard,
# but a resident with many problems should not get a questionnaire; the wijkteam asks
# further (Haarlem cluster D: "diepere vraagverkenning").
MAX_VRAGEN = 2


# Inside the vraagverheldering every message counts as an answer, except these (the
# rules stop the form for them).
NO_ANSWER_INTENTS = frozenset({"ask_human", "vraag_gegevens", "verwijder_gegevens"})


def _confidence(tracker: Tracker) -> float:
    return float((tracker.latest_message.get("intent") or {}).get("confidence") or 0.0)


def crisis_code(tracker: Tracker) -> str | None:
    """The crisis the bot's own NLU saw in the latest message and that the bot acts on:
    the front door (slot crisis_handled, set before every message) is the primary
    detector; a crisis only the NLU sees needs a high confidence (bot_crisis_code)."""
    return bot_crisis_code(_intent(tracker), _confidence(tracker), tracker.get_slot("crisis_handled"))


def wants_person(tracker: Tracker) -> bool:
    """The resident explicitly asked for a person (ask_human with a sure NLU)."""
    return _intent(tracker) == "ask_human" and _confidence(tracker) >= ASK_HUMAN_MIN_CONFIDENCE


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def report_levensgebieden(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Tell the front door every levensgebied heard so far, with the resident's words (a
    custom payload, not shown). Rasa 3.6 drops messages from slot-mapping actions, so
    action_extract_signals cannot send it; the form's validation (every answer), the
    handover offer (every crisis turn too) and the clarification send it instead. The
    list is cumulative: the front door merges it into the conversation."""
    woorden = tracker.get_slot("levensgebied_woorden") or {}
    if woorden:
        dispatcher.utter_message(json_message={Payload.LEVENSGEBIEDEN: woorden})


def handover_advice(tracker: Tracker) -> tuple[bool, str | None]:
    """Should the bot offer a warm handover, and why? The one place of this decision.

    Following the IAD order a resident first hears about their own network and the
    algemene voorzieningen; the wijkteam comes in when
    - crisis: the front door or the bot's NLU (sure) saw one;
    - regieverlies: the resident is losing grip (signal regieverlies), or is an
      overloaded mantelzorger (signal overbelast together with levensgebied mantelzorg);
    - zorg_om_ander: worry about a third person (signal zorg_om_ander: worry words about
      a neighbour, friend, relative...; a practical request for a relative is not one);
    - meerdere_levensgebieden: three or more levensgebieden, or two with regieverlies
      or without a network that helps (asked in the eigen-kracht question).
    "wil_mens" (an explicit request) and "helpt_niet" come from the resident's answer,
    not from here (ActionOfferHandover.reden)."""
    if tracker.get_slot("crisis_handled") or tracker.get_slot("handover_reden") == "crisis":
        return True, "crisis"
    # Once accepted, or once offered for the same reason, the resident is not asked again
    # (they can always ask for a person themselves).
    if tracker.get_slot("handover_geaccepteerd"):
        return False, None
    eerder = set(tracker.get_slot("handover_aangeboden") or [])
    signalen = tracker.get_slot("signalen") or {}
    codes = tracker.get_slot("levensgebieden") or []
    eigen = tracker.get_slot("eigen_kracht")
    overbelaste_mantelzorger = bool(signalen.get("overbelast")) and "mantelzorg" in codes
    if (signalen.get("regieverlies") or overbelaste_mantelzorger) and "regieverlies" not in eerder:
        return True, "regieverlies"
    if signalen.get("zorg_om_ander") and "zorg_om_ander" not in eerder:
        return True, "zorg_om_ander"
    # Two levensgebieden without a network that helps: only once the eigen-kracht
    # question was answered (eigen is None before).
    breed = (len(codes) >= 3 and eigen != "ja") or (len(codes) >= 2 and eigen in ("nee", "onbekend"))
    # After any offer the breadth alone does not bring a second one (the resident can
    # still say yes, or ask for a person).
    if breed and not eerder:
        return True, "meerdere_levensgebieden"
    return False, None


# ----------------------------------------------------------------------------- signals


class ActionExtractSignals(Action):
    """Runs after every resident message (custom slot mapping): language, levensgebieden
    with the resident's own words, handover signals, and the loket's contact details."""

    def name(self) -> str:
        return "action_extract_signals"

    async def run(self, dispatcher, tracker: Tracker, domain: dict) -> list[dict]:
        text = _text(tracker)
        events: list[dict] = []
        lang = detect_language(text)
        if lang and lang != tracker.get_slot("taal"):
            events.append(SlotSet("taal", lang))
        loop = (tracker.active_loop or {}).get("name")
        # Inside the vraagverheldering an answer counts whatever intent the NLU gave it.
        # Answers in the handover form are contact details ("bellen", "7511 AB"): no signals.
        # A request for a person stops the form (rule): it is no answer.
        intent = _intent(tracker)
        if loop == "vraagverheldering_form" and intent not in NO_ANSWER_INTENTS:
            intent = None
        found = {} if loop == "handover_form" else levensgebieden_for_message(text, intent)
        if found:
            woorden = merge_words(tracker.get_slot("levensgebied_woorden"), found)
            order = list(tracker.get_slot("levensgebieden") or [])
            order += [c for c in woorden if c not in order]
            events += [SlotSet("levensgebied_woorden", woorden), SlotSet("levensgebieden", order)]
            # The codes of the question being clarified now (a conversation can hold
            # several questions; action_nieuwe_vraag starts a new list).
            vraag = list(tracker.get_slot("vraag_codes") or [])
            vraag += [c for c in found if c not in vraag]
            events.append(SlotSet("vraag_codes", vraag))
        codes_now = (tracker.get_slot("levensgebieden") or []) + list(found)
        if not tracker.get_slot("veilig_contact") and (
            tracker.get_slot("crisis_handled") == "geweld" or "veiligheid" in codes_now
        ):
            events.append(SlotSet("veilig_contact", True))
        signalen = {} if loop == "handover_form" else detect_signalen(text)
        if signalen:
            events.append(SlotSet("signalen", merge_words(tracker.get_slot("signalen"), signalen)))
        if not tracker.get_slot("loket_telefoon"):
            s = _settings()
            events += [
                SlotSet("loket_naam", s.loket_name),
                SlotSet("loket_telefoon", s.loket_phone),
                SlotSet("loket_uren", s.loket_hours),
            ]
        return events


# ---------------------------------------------------------------------- vraagverheldering


def new_question_events(tracker: Tracker) -> list[dict]:
    """The latest message as a new question: the answers to the previous one are cleared;
    what was heard in the conversation (levensgebieden, signals) stays."""
    text = _text(tracker)
    return [SlotSet(f"vv_{c}", None) for c in LEVENSGEBIED_CODES] + [
        SlotSet("vraag_tekst", text),
        SlotSet("vraag_codes", list(levensgebieden_for_message(text, "hulpvraag"))),
        SlotSet("onderwerp", None),
        SlotSet("eigen_kracht", None),
        SlotSet("eigen_kracht_woorden", None),
        SlotSet("aangeboden", []),
    ]


class ActionNieuweVraag(Action):
    """A new question starts a new vraagverheldering: the answers to the previous one are
    cleared; what was heard in the conversation (levensgebieden, signals) stays."""

    def name(self) -> str:
        return "action_nieuwe_vraag"

    async def run(self, dispatcher, tracker: Tracker, domain: dict) -> list[dict]:
        return new_question_events(tracker)


def classify_eigen_kracht(text: str) -> str:
    """ja | soms | nee from the resident's answer about their own network."""
    t = fold(text or "")
    partial = re.search(r"\b(soms|beetje|af en toe|niet altijd|niet meer|maar|sometimes|a bit)\b", t)
    neg = re.search(r"\b(nee|niemand|geen|niet|no|nobody|no one|alleen)\b", t)
    pos = re.search(
        r"\b(ja|jawel|wel|helpt|helpen|zus|broer|moeder|vader|buur\w*|vriend\w*|familie|"
        r"dochter|zoon|kinderen|partner|man|vrouw|yes|sister|brother|mother|father|friend\w*)\b",
        t,
    )
    if partial or (pos and neg):
        return "soms"
    if neg:
        return "nee"
    if pos:
        return "ja"
    return "onbekend"


class ValidateVraagverheldering(FormValidationAction):
    def name(self) -> str:
        return "validate_vraagverheldering_form"

    async def required_slots(self, domain_slots, dispatcher, tracker: Tracker, domain) -> list[str]:
        codes = tracker.get_slot("vraag_codes") or []
        slots: list[str] = []
        reden = handover_advice(tracker)[1]
        if not codes and reden != "zorg_om_ander":  # a melding asks about the person instead
            slots.append("onderwerp")
        asked = [c for c in codes if tracker.get_slot(f"vv_{c}") is not None]
        todo = [c for c in codes if c not in asked]
        # Losing grip: no questionnaire, go to eigen kracht and a warm handover (unless that
        # handover was already offered in this conversation).
        # Likewise with worry about someone else (or an overloaded mantelzorger).
        # Three or more levensgebieden: the offer does not depend on the network, the
        # wijkteam asks further; the form ends now and action_zoek_hulp offers the handover.
        if reden == "meerdere_levensgebieden" and len(tracker.get_slot("levensgebieden") or []) >= 3 and codes:
            return [f"vv_{c}" for c in asked] + (["eigen_kracht"] if tracker.get_slot("eigen_kracht") else [])
        shortcut = reden in ("regieverlies", "zorg_om_ander")
        budget = 0 if shortcut else max(0, MAX_VRAGEN - len(asked))
        slots += [f"vv_{c}" for c in asked] + [f"vv_{c}" for c in todo[:budget]]
        # The eigen-kracht question is about the resident's own network: not for someone who
        # worries about another person (the melding asks about that person instead).
        if reden != "zorg_om_ander":
            slots.append("eigen_kracht")
        return slots

    async def run(self, dispatcher, tracker: Tracker, domain: dict) -> list[dict]:
        # The front door answered a crisis with numbers: stop asking questions;
        # action_zoek_hulp then offers the warm handover.
        if tracker.get_slot("crisis_handled"):
            report_levensgebieden(dispatcher, tracker)
            return [
                SlotSet("handover_reden", "crisis"),
                SlotSet("requested_slot", None),
                ActiveLoop(None),
            ]
        report_levensgebieden(dispatcher, tracker)
        events = await super().run(dispatcher, tracker, domain)
        if any(e.get("name") == "handover_reden" and e.get("value") == "crisis" for e in events):
            events += [SlotSet("requested_slot", None), ActiveLoop(None)]
        return events

    def validate_eigen_kracht(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        text = _text(tracker)
        if value in ("ja", "soms", "nee"):
            return {"eigen_kracht": value}
        return {"eigen_kracht": classify_eigen_kracht(str(value)), "eigen_kracht_woorden": text}

    def validate_vv_veiligheid(self, value: Any, dispatcher, tracker: Tracker, domain) -> dict:
        t = fold(str(value))
        unsafe = _intent(tracker) == "deny" or re.search(r"\b(nee|niet veilig|onveilig|bang|no|not safe)\b", t)
        if unsafe and not re.search(r"\b(ja|wel veilig|yes)\b", t):
            _utter_crisis(dispatcher, tracker, "geweld")
            return {"vv_veiligheid": "nee", "handover_reden": "crisis"}
        return {"vv_veiligheid": "ja" if value == "/affirm" else value}


# ------------------------------------------------------------------------------ search


class ActionZoekHulp(Action):
    """After the vraagverheldering: 2-3 services from the sociale kaart with how to reach
    them, then either 'does this help?' (rule) or a handover offer (handover_advies)."""

    def name(self) -> str:
        return "action_zoek_hulp"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        advies, reden = handover_advice(tracker)
        if reden == "crisis":
            return [SlotSet("handover_advies", True), SlotSet("handover_reden", "crisis")]
        eigen = tracker.get_slot("eigen_kracht")
        if eigen in ("ja", "soms", "nee"):
            dispatcher.utter_message(response=f"utter_eigen_kracht_{eigen}")

        codes = list(tracker.get_slot("vraag_codes") or [])
        woorden = tracker.get_slot("levensgebied_woorden") or {}
        antwoorden = {c: tracker.get_slot(f"vv_{c}") for c in codes if tracker.get_slot(f"vv_{c}")}
        hulpvraag = tracker.get_slot("vraag_tekst") or ""
        onderwerp = tracker.get_slot("onderwerp")
        if onderwerp and not onderwerp.startswith("/"):
            hulpvraag = f"{hulpvraag} {onderwerp}".strip()
        queries = zoeken.build_queries(hulpvraag, codes, woorden, antwoorden, english=tracker.get_slot("taal") == "en")
        gemeente = tracker.get_slot("gemeente") or _settings().gemeente
        age = zoeken.parse_age(tracker.get_slot("vv_opvoeden"))
        try:
            offers = zoeken.find_offers(queries, gemeente, age=age) if queries else []
        except Exception:  # the resident must get an answer, whatever broke
            log.exception("search failed")
            dispatcher.utter_message(response="utter_zoeken_kapot")
            return [SlotSet("handover_advies", True), SlotSet("handover_reden", reden or "helpt_niet")]
        if not offers:
            _record_gap(hulpvraag, gemeente, codes)
            # Nothing fits: say so, with the loket's number. The wijkteam only when there is
            # a reason for it (handover_advice); a resident who asked for a club or a form
            # has the lighter help of the loket (chosen on eval/tuning: two wrong offers).
            dispatcher.utter_message(response="utter_geen_match")
            if advies:
                return [SlotSet("handover_advies", True), SlotSet("handover_reden", reden)]
            # No "does this help?" after nothing was found: the next question, then listen.
            dispatcher.utter_message(response="utter_anything_else")
            return [
                SlotSet("handover_advies", False),
                SlotSet("handover_reden", reden),
                FollowupAction("action_listen"),
            ]
        dispatcher.utter_message(response="utter_hulp_intro")
        for i, offer in enumerate(offers, start=1):
            dispatcher.utter_message(
                response="utter_hulp_item",
                nummer=i,
                naam=offer.name,
                wat=offer.line(english=tracker.get_slot("taal") == "en"),
                contact=f" {offer.contact}" if offer.contact else "",
            )
        return [
            # For the handover ticket ("what was already advised"): what the resident saw.
            SlotSet("aangeboden", [{"id": o.id, "name": o.name} for o in offers]),
            SlotSet("handover_advies", advies),
            SlotSet("handover_reden", reden),
        ]


def _record_gap(question: str, gemeente: str | None, codes: list[str]) -> None:
    """A question the sociale kaart had nothing for, kept for the municipality's gap view
    (sociale_kaart/gaps.py). Never costs the resident their answer."""
    if not question.strip():
        return
    try:
        with session_scope() as session:
            record_unmet(session, question, gemeente, codes)
    except Exception:
        log.exception("could not record an unmet question")


# ------------------------------------------------------------------------------- crisis


def _utter_crisis(dispatcher: CollectingDispatcher, tracker: Tracker, code: str) -> None:
    dispatcher.utter_message(
        response=f"utter_crisis_{code}", contact=crisis_reply(code, tracker.get_slot("taal"), _settings())
    )


class ActionCrisis(Action):
    """The right number first. When the front door already sent this crisis's numbers in
    this turn (slot crisis_handled), they are not repeated; the handover offer follows."""

    def name(self) -> str:
        return "action_crisis"

    async def run(self, dispatcher, tracker: Tracker, domain) -> list[dict]:
        code = crisis_code(tracker)
        if code is None:
            # Only the bot's NLU saw a crisis, and not surely (the front door saw none):
            # no crisis flow; the message is handled as a normal one.
            return self._not_a_crisis(tracker)
        if tracker.get_slot("crisis_handled") != code:
            _utter_crisis(dispatcher, tracker, code)
        return [SlotSet("handover_reden", "crisis")]

    @staticmethod
    def _not_a_crisis(tracker: Tracker) -> list[dict]:
        """Continue as if the message were a hulpvraag or, when the crisis rule stopped the
        vraagverheldering, an answer to the question that was asked."""
        asked = None
        # The slot requested before this message (the rule set requested_slot to null).
        seen_user = False
        for e in reversed(tracker.events):
            if e.get("event") == "user":
                if seen_user:
                    break
                seen_user = True
            if seen_user and e.get("event") == "slot" and e.get("name") == "requested_slot":
                asked = e.get("value")
                break
        loop = (tracker.active_loop or {}).get("name")
        if loop:
            # Another form (the handover) is still running: it asks its question again.
            return [FollowupAction(loop)]
        if asked and (asked.startswith("vv_") or asked in ("eigen_kracht", "onderwerp")):
            # Back into the form with the answer; its validation handles it as usual.
            return [SlotSet(asked, _text(tracker)), FollowupAction("vraagverheldering_form")]
        return new_question_events(tracker) + [FollowupAction("vraagverheldering_form")]


# ----------------------------------------------------------------------------- handover


class ActionOfferHandover(Action):
    """Offer a warm handover to the wijkteam and record why (slot handover_reden). A yes
    starts the handover_form (consent first); in acute danger there is no offer: the
    ticket is opened at once (action_handover_acuut)."""

    def name(self) -> str:
        return "action_offer_handover"

    async def run(self, dispatcher, tracker: Tracker, domain) -> list[dict]:
        if _intent(tracker) == "ask_human" and not wants_person(tracker) and not tracker.get_slot("handover_advies"):
            # Not surely a request for a person ("do you speak English?"): ask what the
            # resident means instead of offering the wijkteam.
            return [FollowupAction("action_clarify")]
        reden = self.reden(tracker)
        if tracker.get_slot("crisis_handled") == "acuut_gevaar" or crisis_code(tracker) == "acuut_gevaar":
            # The front door saw acute danger that our NLU read as something else: the same
            # path as the crisis_acuut_gevaar rule, whatever rule brought us here.
            return [
                SlotSet("handover_reden", "crisis"),
                SlotSet("handover_advies", False),
                FollowupAction("action_handover_acuut"),
            ]
        dispatcher.utter_message(response=f"utter_handover_aanbod_{reden}")
        # For the front door: the conversation records that a handover was offered, and why.
        dispatcher.utter_message(json_message={Payload.HANDOVER_OFFERED: reden})
        report_levensgebieden(dispatcher, tracker)
        eerder = list(tracker.get_slot("handover_aangeboden") or [])
        return [
            SlotSet("handover_reden", reden),
            SlotSet("handover_advies", False),
            SlotSet("handover_aangeboden", eerder + [reden] if reden not in eerder else eerder),
        ]

    @staticmethod
    def reden(tracker: Tracker) -> str:
        intent = _intent(tracker)
        if crisis_code(tracker) or tracker.get_slot("crisis_handled"):
            return "crisis"
        # An action (search, form, clarify) asked for this offer and said why.
        pending = tracker.get_slot("handover_reden")
        if tracker.get_slot("handover_advies") and pending in BOT_HANDOVER_REASONS:
            return pending
        if wants_person(tracker):
            return "wil_mens"
        if intent == "deny":
            return "helpt_niet"
        return handover_advice(tracker)[1] or "wil_mens"


class ActionHandoverAccept(Action):
    """The resident said yes to the offer: tell the front door, and start the handover_form
    afresh (answers from an earlier handover in this conversation do not count)."""

    def name(self) -> str:
        return "action_handover_accept"

    async def run(self, dispatcher, tracker: Tracker, domain) -> list[dict]:
        dispatcher.utter_message(json_message={Payload.HANDOVER_ACCEPTED: True})
        return [SlotSet("handover_geaccepteerd", True)] + [SlotSet(slot, None) for slot in FORM_SLOTS]


# ---------------------------------------------------------------------------- fallback


class ActionClarify(Action):
    """Low NLU confidence: ask what the resident means instead of guessing. The second
    time in a row, point to a person. With a crisis answered by the front door, offer the
    warm handover instead."""

    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher, tracker: Tracker, domain) -> list[dict]:
        report_levensgebieden(dispatcher, tracker)
        if tracker.get_slot("crisis_handled"):
            return [SlotSet("handover_advies", True), SlotSet("handover_reden", "crisis")]
        if handover_advice(tracker)[1] == "zorg_om_ander":
            # Worry about someone else is clear enough, however it was worded: offer the melding.
            return [SlotSet("handover_advies", True), SlotSet("handover_reden", "zorg_om_ander")]
        if self._previous_was_clarify(tracker):
            dispatcher.utter_message(response="utter_clarify_again")
        else:
            dispatcher.utter_message(response="utter_clarify")
        return [SlotSet("handover_advies", False)]

    @staticmethod
    def _previous_was_clarify(tracker: Tracker) -> bool:
        bot_actions = [
            e.get("name")
            for e in tracker.events
            if e.get("event") == "action" and e.get("name") not in ("action_listen", "action_extract_slots", None)
        ]
        return bool(bot_actions) and bot_actions[-1] == "action_clarify"
