"""Every resident message, from any channel, passes here: it is stored with its
conversation, cleaned of BSN/IBAN, checked for crisis, and passed to the bot while the
conversation is with the bot. Whatever fails after storing, the message is kept."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.addresses import find_phone_number, set_resident_address
from conversations.crisis import detect_crisis
from conversations.models import BotDelivery, Conversation, Message, Sender, Status, utcnow
from conversations.privacy import redact
from conversations.rasa_client import BotUnavailable, RasaClient
from iad.config import Settings
from iad.taxonomy import crisis_contact, merge_words

log = logging.getLogger(__name__)

PHONE_PLACEHOLDER = "[telefoonnummer, versleuteld bewaard]"
# What the bot hears instead of the number (the handover form's slot, as a button would set it).
CALLBACK_NUMBER_GIVEN = '/affirm{"handover_telefoon": "ontvangen"}'


@dataclass
class Outcome:
    conversation: Conversation
    message: Message
    replies: list[Message]
    duplicate: bool = False


class FrontDoor:
    def __init__(self, settings: Settings, rasa: RasaClient, forget: Callable[..., object] | None = None):
        self.settings = settings
        self.rasa = rasa
        # Erases a conversation at the resident's request (the inbox owns what else goes with it):
        # forget(session, conversation, settings=...).
        self.forget = forget

    def start_conversation(self, session: Session, channel: str, *, gemeente: str | None = None) -> Conversation:
        conversation = Conversation(channel=channel, gemeente=gemeente or self.settings.gemeente, levensgebieden={})
        session.add(conversation)
        session.flush()
        return conversation

    def receive(self, session: Session, conversation: Conversation, text: str, *, external_id: str | None = None) -> Outcome:
        if external_id:
            earlier = session.scalar(
                select(Message).where(Message.conversation_id == conversation.id, Message.external_id == external_id)
            )
            if earlier is not None:  # a repeated delivery: answer with what we answered then
                replies = session.scalars(select(Message).where(Message.in_reply_to == earlier.id).order_by(Message.id))
                return Outcome(conversation, earlier, list(replies), duplicate=True)

        clean_text, removed = redact(text)
        crisis = detect_crisis(clean_text)
        text_for_bot = clean_text
        if conversation.awaiting_callback_number:
            conversation.awaiting_callback_number = False
            given = None if crisis else find_phone_number(clean_text)
            if given is not None:
                # Stored encrypted, never as text; the bot only hears that a number was given.
                typed, number = given
                set_resident_address(self.settings, conversation, number)
                clean_text = clean_text.replace(typed, PHONE_PLACEHOLDER)
                text_for_bot = CALLBACK_NUMBER_GIVEN
        message = Message(
            conversation=conversation,
            sender=Sender.RESIDENT,
            text=clean_text,
            external_id=external_id,
            crisis=crisis,
            redacted=bool(removed),
            bot_delivery=BotDelivery.PENDING if conversation.status != Status.STAFF else BotDelivery.NOT_FOR_BOT,
        )
        conversation.last_resident_message_at = utcnow()
        if conversation.status == Status.CLOSED:
            conversation.status = Status.BOT
        session.add(message)
        session.commit()  # stored before anything else can fail

        replies: list[Message] = []

        def reply(sender: str, body: str, buttons: list | None = None) -> None:
            replies.append(Message(conversation=conversation, sender=sender, text=body, buttons=buttons or None, in_reply_to=message.id))

        # Crisis numbers come before anything else, whoever is handling the conversation.
        if crisis:
            conversation.crisis = crisis
            reply(Sender.SYSTEM, crisis_contact(crisis, self.settings))
        if removed:
            reply(Sender.SYSTEM, "Ik heb een BSN of rekeningnummer uit uw bericht gehaald. Dat bewaren we niet. Deel het hier liever niet.")

        if conversation.status == Status.BOT:
            try:
                self.rasa.set_slots(conversation.id, self._slots(conversation, crisis),
                                    new_session=not conversation.bot_session_started)
                conversation.bot_session_started = True
                for bot_reply in self.rasa.send(conversation.id, text_for_bot):
                    if bot_reply.custom:
                        self._apply_bot_signals(conversation, bot_reply.custom)
                    if bot_reply.text or bot_reply.buttons:
                        reply(Sender.BOT, bot_reply.text, bot_reply.buttons)
                message.bot_delivery = BotDelivery.DELIVERED
            except BotUnavailable as exc:
                log.warning("bot unavailable for conversation %s: %s", conversation.id, exc)
                reply(
                    Sender.SYSTEM,
                    "De digitale assistent is even niet bereikbaar. Uw bericht is bewaard. "
                    f"Wilt u nu iemand spreken? Bel {self.settings.loket_name}: {self.settings.loket_phone} ({self.settings.loket_hours}).",
                )

        session.add_all(replies)
        session.commit()
        if conversation.forget_requested and self.forget is not None:
            # Only now: the replies confirming the erasure are sent, then nothing is kept.
            self.forget(session, conversation, settings=self.settings)
            session.commit()
        return Outcome(conversation, message, replies)

    def _apply_bot_signals(self, conversation: Conversation, custom: dict) -> None:
        """The bot reports what it heard and decided through a custom payload (not shown)."""
        if custom.get("handover_offered"):
            conversation.handover_reason = str(custom["handover_offered"])[:40]
        if custom.get("forget_conversation"):
            conversation.forget_requested = True
        if custom.get("expect_callback_number"):
            conversation.awaiting_callback_number = True
        if isinstance(custom.get("levensgebieden"), dict):
            conversation.levensgebieden = merge_words(conversation.levensgebieden, custom["levensgebieden"])

    def _slots(self, conversation: Conversation, crisis: str | None) -> dict:
        # The bot hears the levensgebieden itself and reports them back in a custom payload.
        return {"channel": conversation.channel, "gemeente": conversation.gemeente, "crisis_handled": crisis}
