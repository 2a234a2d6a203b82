"""Opvolging after a referral that helps: the bot asks consent for one "hoe ging het?" in a
week (web and WhatsApp only) and schedules it (conversations/opvolging.py sends it and reads
the answer)."""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.handover import conversation_of
from conversations.opvolging import CHANNELS, schedule
from core.config import get_settings
from core.db import session_scope
from core.messages import text

log = logging.getLogger(__name__)


def _lang(tracker: Tracker) -> str:
    return "en" if tracker.get_slot("taal") == "en" else "nl"


def offered_services(tracker: Tracker) -> list[str]:
    return [
        item["name"] for item in tracker.get_slot("aangeboden") or [] if isinstance(item, dict) and item.get("name")
    ]


class ActionAskOpvolging(Action):
    """After "yes, this helps": may we ask in a week? Only when services were offered and the
    channel can take a message later; otherwise straight on to "anything else?"."""

    def name(self) -> str:
        return "action_ask_opvolging"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        unsafe = tracker.get_slot("veilig_contact") or tracker.get_slot("handover_reden") == "crisis"
        if tracker.get_slot("channel") not in CHANNELS or not offered_services(tracker) or unsafe:
            # Domestic violence or a crisis: no message later that someone else could read.
            return [FollowupAction("utter_anything_else")]
        lang = _lang(tracker)
        dispatcher.utter_message(
            text=text("opvolging.aanbod", lang),
            buttons=[
                {"title": "Ja, graag" if lang == "nl" else "Yes, please", "payload": "/affirm"},
                {"title": "Nee, hoeft niet" if lang == "nl" else "No, thanks", "payload": "/deny"},
            ],
        )
        return []


class ActionOpvolgingPlannen(Action):
    """The resident said yes: one follow-up in a week, inside opening hours."""

    def name(self) -> str:
        return "action_opvolging_plannen"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain) -> list[dict]:
        try:
            with session_scope() as session:
                conversation = conversation_of(session, tracker)
                follow_up = schedule(session, conversation, offered_services(tracker), get_settings())
        except Exception:  # the resident is not told of a message that will not come
            log.exception("could not schedule a follow-up for conversation %s", tracker.sender_id)
            return []
        if follow_up is not None:
            dispatcher.utter_message(text=text("opvolging.gepland", _lang(tracker)))
        return []
