"""Every resident message, from any channel, passes here: it is stored with its
conversation, cleaned of BSN/IBAN, checked for crisis, and passed to the bot while the
conversation is with the bot. Whatever fails after storing, the message is kept.

Crisis comes first and never waits for the bot. The learned detector (understanding.crisis)
gives two tiers: `sure` sends the numbers at once; `possible` asks one direct safety
question with the number, holds the message, and the answer decides (yes: the numbers,
then the bot hears the message as a crisis; no: the bot hears it as it was)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from conversations import opvolging, pipeline
from conversations.addresses import find_phone_number, set_resident_address
from conversations.models import BotDelivery, Conversation, Message, Sender, Status, utcnow
from conversations.privacy import redact, removed_notice
from conversations.rasa_client import BotReply, BotUnavailable, RasaClient
from core.bot_contract import ASK_FOR_A_PERSON, Payload
from core.config import Settings
from core.crisis import POSSIBLE, crisis_reply, safety_buttons, safety_no, safety_question
from core.messages import text as catalogue_text
from core.taxonomy import merge_words
from core.timefmt import day_text, local
from understanding.answers import NO, YES, yes_or_no
from understanding.crisis import CrisisVerdict
from understanding.crisis import detect as detect_crisis
from understanding.language import detect_language
from understanding.signalen import predict as detect_signals

log = logging.getLogger(__name__)

PHONE_PLACEHOLDER = "[telefoonnummer, versleuteld bewaard]"
# On a crisis turn the numbers are stored before the bot is asked, and the bot's own
# follow-up (the handover offer) is awaited at most this long: a hanging bot (Rasa stopped
# with SIGSTOP) cannot delay the numbers past 1 s (`iad bench crisis`). A later bot answer
# is stored and reaches the resident anyway: the widget polls, WhatsApp gets it sent
# (_store_late), and on the phone the caller is being transferred to the crisis line.
CRISIS_BOT_WAIT_SECONDS = 0.5
# How long a web or WhatsApp turn waits for the bot. Twilio gives a webhook 15 s; the widget
# polls. A later answer is stored when it comes (WhatsApp gets it through the REST API); a
# call that has not even started by then is cancelled and left to the retries
# (conversations/pipeline.py). So no bot call runs past its lease (call_seconds).
BOT_WAIT_SECONDS = 5.0
# What the bot hears instead of the number (the handover form's slot, as a button would set it).
CALLBACK_NUMBER_GIVEN = '/affirm{"handover_telefoon": "ontvangen"}'


def worry_about_someone_else(session: Session, message: Message) -> bool:
    """Does the resident write about someone else (a neighbour, a parent: a melder)? Read by
    the learned handover signals (zorg_om_ander) in this message or the resident's one before,
    so the safety question asks about that person and not about the melder."""
    earlier = session.scalar(
        select(Message.text)
        .where(
            Message.conversation_id == message.conversation_id,
            Message.sender == Sender.RESIDENT,
            Message.id < message.id,
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    return any("zorg_om_ander" in detect_signals(text) for text in (message.text, earlier) if text)


@dataclass
class Outcome:
    conversation: Conversation
    message: Message
    replies: list[Message]
    duplicate: bool = False
    # A possible crisis: the last reply is a safety question (yes/no buttons).
    asks_safety: bool = False


# The external_id of a "we could not answer" notice (FrontDoor.tell_gave_up).
GAVE_UP_PREFIX = "gave-up:"


class FrontDoor:
    def __init__(
        self,
        settings: Settings,
        rasa: RasaClient,
        forget: Callable[..., object] | None = None,
        on_crisis: Callable[..., object] | None = None,
        session_factory: Callable[[], Session] | None = None,
        deliver: Callable[[Session, Conversation, Message], object] | None = None,
    ):
        self.settings = settings
        self.rasa = rasa
        # Erases a conversation at the resident's request (the inbox owns what else goes with it):
        # forget(session, conversation, settings=...).
        self.forget = forget
        # A crisis in a conversation that staff hold or that has a ticket (the inbox raises it):
        # on_crisis(session, conversation, code).
        self.on_crisis = on_crisis
        # For bot replies that arrive after a crisis turn was answered: a new session, and the
        # channel's sender for channels that cannot poll (WhatsApp).
        self.session_factory = session_factory
        self.deliver = deliver
        self._bot_calls = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bot-call")
        # A bot call is two requests (slots, then the message), each with the Rasa timeout, and
        # may have waited up to the channel's wait before it started: no retry before it ended.
        self.call_seconds = 2 * settings.rasa_timeout_seconds + BOT_WAIT_SECONDS + 5
        # Whether the last bot call of this process failed: only for the wording of a reply.
        self._bot_down = False

    def start_conversation(self, session: Session, channel: str, *, gemeente: str | None = None) -> Conversation:
        conversation = Conversation(channel=channel, gemeente=gemeente or self.settings.gemeente, levensgebieden={})
        session.add(conversation)
        session.flush()
        return conversation

    def receive(
        self,
        session: Session,
        conversation: Conversation,
        text: str,
        *,
        external_id: str | None = None,
        bot_text: str | None = None,
    ) -> Outcome:
        """bot_text: what the bot hears instead of the text (a typed button title's payload)."""
        if external_id:
            earlier = session.scalar(
                select(Message).where(Message.conversation_id == conversation.id, Message.external_id == external_id)
            )
            if earlier is not None:  # a repeated delivery: answer with what we answered then
                replies = session.scalars(select(Message).where(Message.in_reply_to == earlier.id).order_by(Message.id))
                return Outcome(conversation, earlier, list(replies), duplicate=True)

        # A callback number the bot asked for is taken before redaction (which would cut it
        # out) and kept encrypted; any other number or address in the text is cut out.
        callback = find_phone_number(text) if conversation.awaiting_callback_number else None
        clean_text, removed = redact(text)
        lang = detect_language(clean_text)
        if lang:
            conversation.language = lang
        lang = conversation.language or "nl"
        verdict: CrisisVerdict = detect_crisis(clean_text)
        text_for_bot = bot_text or clean_text
        if conversation.awaiting_callback_number:
            conversation.awaiting_callback_number = False
            if callback is not None and not verdict.code:
                # Stored encrypted, never as text; the bot only hears that a number was given.
                typed, number = callback
                set_resident_address(self.settings, conversation, number)
                clean_text, removed = redact(text.replace(typed, PHONE_PLACEHOLDER))
                text_for_bot = CALLBACK_NUMBER_GIVEN
        message = Message(
            conversation=conversation,
            sender=Sender.RESIDENT,
            text=clean_text,
            external_id=external_id,
            crisis=verdict.code if verdict.sure else None,
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
            replies.append(
                Message(
                    conversation=conversation, sender=sender, text=body, buttons=buttons or None, in_reply_to=message.id
                )
            )

        crisis = verdict.code if verdict.sure else None
        asks_safety = False
        held = self._take_held_message(session, conversation)
        carried: Message | None = None  # the held message, which the bot hears with this one
        if held is not None:
            # This message answers the safety question asked about the held one.
            code, carried = held
            answer = None if crisis else yes_or_no(clean_text)
            if crisis is None and (answer == YES or (answer is None and verdict.tier == POSSIBLE)):
                crisis = code
                message.crisis = code
            elif answer == NO:
                reply(Sender.SYSTEM, safety_no(lang))
            # A short answer stands for the question the resident came with; anything else is heard with it.
            text_for_bot = carried.text if answer is not None else f"{carried.text}\n{text_for_bot}"
        elif crisis is None and verdict.tier == POSSIBLE:
            # Hold the message for the bot; one question in this turn: the safety question.
            conversation.safety_check = verdict.code
            conversation.safety_check_message_id = message.id
            about_other = worry_about_someone_else(session, message)
            question = safety_question(verdict.code, lang, self.settings, about_someone_else=about_other)
            reply(Sender.SYSTEM, question, safety_buttons(lang))
            asks_safety = True
        if removed:
            reply(Sender.SYSTEM, removed_notice(removed, lang))
        bot_needed = True
        if crisis is None and not asks_safety and held is None:
            # The answer to a follow-up ("hoe ging het?") or "stop": recorded here, and only a
            # request for help goes on to the bot, as a request for a person.
            follow_up = opvolging.answer(session, conversation, clean_text)
            if follow_up is not None:
                reply(Sender.SYSTEM, catalogue_text(f"opvolging.antwoord.{follow_up}", lang))
                bot_needed = follow_up == "hulp"
                if bot_needed:
                    text_for_bot = ASK_FOR_A_PERSON

        # Crisis numbers come before anything else, whoever is handling the conversation,
        # and are stored before the bot is asked anything.
        if crisis:
            conversation.crisis = crisis
            replies.insert(
                0,
                Message(
                    conversation=conversation,
                    sender=Sender.SYSTEM,
                    in_reply_to=message.id,
                    text=crisis_reply(crisis, lang, self.settings),
                ),
            )
            session.add_all(replies)
            if self.on_crisis is not None:
                self.on_crisis(session, conversation, crisis)
            session.commit()

        message.bot_text = text_for_bot if text_for_bot != message.text else None
        if conversation.status == Status.BOT and not asks_safety and bot_needed:
            if pipeline.waiting_before(session, message):
                # An earlier message still waits for the bot: this one follows it, in order.
                message.bot_retry_at = utcnow()
                if not crisis:
                    reply(
                        Sender.SYSTEM,
                        self._bot_down_text(conversation.channel, lang)
                        if self._bot_down
                        else catalogue_text("bot_down.queued", lang),
                    )
            else:
                replies += self._ask_bot(session, conversation, message, text_for_bot, crisis, lang)
        elif not bot_needed:
            message.bot_delivery = BotDelivery.NOT_FOR_BOT
        if carried is not None:
            # Heard with this message (its words go with it, retries included): never sent on its own.
            carried.bot_delivery = (
                BotDelivery.NOT_FOR_BOT if message.bot_delivery == BotDelivery.NOT_FOR_BOT else BotDelivery.DELIVERED
            )
            carried.bot_retry_at = None

        session.add_all(replies)
        session.commit()
        if conversation.forget_requested and self.forget is not None:
            # Only now: the replies confirming the erasure are sent, then nothing is kept, except
            # a report of acute danger (handover.regie.forget); the resident hears that too.
            result = self.forget(session, conversation, settings=self.settings)
            if isinstance(result, dict) and result.get("kept_ticket_ids"):
                notice = Message(conversation=conversation, sender=Sender.SYSTEM, text=result["message"])
                session.add(notice)
                replies.append(notice)
            session.commit()
        return Outcome(conversation, message, replies, asks_safety=asks_safety)

    def _take_held_message(self, session: Session, conversation: Conversation) -> tuple[str, Message] | None:
        """The message held for a safety question, and the crisis code asked about (once)."""
        code, held_id = conversation.safety_check, conversation.safety_check_message_id
        if not code:
            return None
        conversation.safety_check = None
        conversation.safety_check_message_id = None
        held = session.get(Message, held_id) if held_id else None
        return (code, held) if held is not None else None

    def _call_bot(
        self, conversation_id: str, slots: dict, new_session: bool, text: str, message_id: int
    ) -> list[BotReply]:
        self.rasa.check_actions()  # before Rasa hears the message: kept and retried instead
        self.rasa.set_slots(conversation_id, slots, new_session=new_session)
        return self.rasa.send(conversation_id, text, message_id=message_id)

    def _ask_bot(
        self,
        session: Session,
        conversation: Conversation,
        message: Message,
        text: str,
        crisis: str | None,
        lang: str,
    ) -> list[Message]:
        """The bot's replies to this message. On a crisis turn and on WhatsApp the wait is
        short: an answer that comes later is stored (and sent) when it comes; one that never
        comes is retried by conversations/pipeline.py, as is a message the bot could not take."""
        out: list[Message] = []
        slots = self._slots(conversation, crisis)
        session_was_started = conversation.bot_session_started
        # Written down before the call: if this process dies during it, the worker takes the
        # message up once the call could no longer be running.
        message.bot_attempts = (message.bot_attempts or 0) + 1
        message.bot_delivery = BotDelivery.SENDING
        message.bot_retry_at = utcnow() + timedelta(seconds=self.call_seconds)
        session.commit()
        call = self._bot_calls.submit(self._call_bot, conversation.id, slots, not session_was_started, text, message.id)
        conversation.bot_session_started = True
        wait = CRISIS_BOT_WAIT_SECONDS if crisis else self._bot_wait(conversation.channel)
        try:
            bot_replies = call.result(timeout=wait)
        except FutureTimeout:
            if call.cancel():
                # Never started (every bot call is waiting on a hung bot): left to the retries.
                conversation.bot_session_started = session_was_started
                message.bot_delivery = BotDelivery.PENDING
                message.bot_retry_at = utcnow() if pipeline.retries(conversation.channel) else None
                if not crisis:
                    out.append(self._system(conversation, message, self._bot_down_text(conversation.channel, lang)))
                return out
            # In flight: stored (and sent) when it comes; retried only if it fails.
            if self.session_factory is not None:
                call.add_done_callback(
                    lambda done: self._store_late(conversation.id, message.id, done, session_was_started)
                )
            if not crisis:
                out.append(self._system(conversation, message, catalogue_text("bot_down.wait", lang)))
            return out
        except BotUnavailable as exc:
            log.warning("bot unavailable for conversation %s: %s", conversation.id, exc)
            self._bot_down = True
            conversation.bot_session_started = session_was_started  # opened again on the next try
            retry = pipeline.retries(conversation.channel)
            message.bot_delivery = BotDelivery.PENDING
            message.bot_retry_at = pipeline.next_attempt(message.bot_attempts) if retry else None
            # On a crisis turn the numbers went out already; this says why nothing else follows.
            out.append(self._system(conversation, message, self._bot_down_text(conversation.channel, lang)))
            return out
        self._bot_down = False
        self._delivered(message)
        return out + self._bot_messages(conversation, bot_replies, message.id)

    def answer_pending(self, session: Session, message: Message) -> list[Message]:
        """A message the bot did not answer before, claimed by conversations/pipeline.py:
        answered now, once. When Rasa did take it before (the reply was lost on the way, a
        hung Rasa that woke up), its reply is read from Rasa's own record instead of asking
        again. Raises BotUnavailable when the bot cannot answer yet."""
        conversation = message.conversation
        claimed_until = message.bot_retry_at
        bot_replies = self.rasa.replies_to(conversation.id, message.id)
        if bot_replies is None:
            slots = self._slots(conversation, message.crisis)
            text = message.bot_text or message.text
            bot_replies = self._call_bot(conversation.id, slots, not conversation.bot_session_started, text, message.id)
            conversation.bot_session_started = True
        # Only while this claim holds: a message is answered once.
        finished = session.execute(
            update(Message)
            .where(
                Message.id == message.id,
                Message.bot_delivery == BotDelivery.PENDING,
                Message.bot_retry_at == claimed_until,
            )
            .values(bot_delivery=BotDelivery.DELIVERED, bot_retry_at=None, bot_text=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not finished:
            session.rollback()
            return []
        stored = self._bot_messages(conversation, bot_replies, message.id)
        session.add_all(stored)
        session.commit()
        self._send(session, conversation, stored)
        return stored

    def tell_gave_up(self, session: Session, message: Message) -> Message | None:
        """The resident was promised an answer to `message` and the bot could not give one in
        GIVE_UP_AFTER: they hear so, with whom to call (pushed on WhatsApp, fetched by the
        widget). Not in a closed conversation, nor one the staff hold."""
        conversation = message.conversation
        if conversation.status != Status.BOT or not pipeline.retries(conversation.channel):
            return None
        # Once per silence: not again while the bot has not answered since an earlier notice.
        mine = Message.conversation_id == conversation.id
        last_answer = session.scalar(select(func.max(Message.id)).where(mine, Message.sender == Sender.BOT)) or 0
        told = session.scalar(
            select(Message.id).where(mine, Message.external_id.like(GAVE_UP_PREFIX + "%"), Message.id > last_answer)
        )
        if told is not None:
            return None
        lang = conversation.language or "nl"
        sent = local(message.created_at)
        notice = self._system(
            conversation,
            message,
            catalogue_text(
                "bot_down.gave_up",
                lang,
                when=f"{day_text(sent, lang)} {sent:%H:%M}",
                loket=self.settings.loket_name,
                phone=self.settings.loket_phone,
                hours=self.settings.loket_hours,
            ),
        )
        notice.external_id = f"{GAVE_UP_PREFIX}{message.id}"
        session.add(notice)
        session.commit()
        self._send(session, conversation, [notice])
        return notice

    def _bot_down_text(self, channel: str, lang: str) -> str:
        """Kept, answered later (where the worker can answer), and who to call meanwhile."""
        kept = catalogue_text("bot_down.kept", lang) + " " if pipeline.retries(channel) else ""
        return kept + catalogue_text(
            "bot_down.call",
            lang,
            loket=self.settings.loket_name,
            phone=self.settings.loket_phone,
            hours=self.settings.loket_hours,
        )

    def _bot_wait(self, channel: str) -> float | None:
        # On the phone the caller waits on the line for this very answer (nothing is retried).
        return None if channel == "voice" else BOT_WAIT_SECONDS

    @staticmethod
    def _delivered(message: Message) -> None:
        message.bot_delivery = BotDelivery.DELIVERED
        message.bot_retry_at = None
        message.bot_text = None  # what the bot heard is not kept beside the message

    @staticmethod
    def _system(conversation: Conversation, message: Message, body: str) -> Message:
        return Message(conversation=conversation, sender=Sender.SYSTEM, in_reply_to=message.id, text=body)

    def _bot_messages(self, conversation: Conversation, bot_replies: list[BotReply], in_reply_to: int) -> list[Message]:
        """The bot's replies as messages; its custom payloads are applied to the conversation."""
        out = []
        for bot_reply in bot_replies:
            if bot_reply.custom:
                self._apply_bot_signals(conversation, bot_reply.custom)
            if bot_reply.text or bot_reply.buttons:
                out.append(
                    Message(
                        conversation=conversation,
                        sender=Sender.BOT,
                        text=bot_reply.text,
                        buttons=bot_reply.buttons or None,
                        in_reply_to=in_reply_to,
                    )
                )
        return out

    def _send(self, session: Session, conversation: Conversation, stored: list[Message]) -> None:
        """On channels that do not poll (WhatsApp): sent now. A failure leaves them stored."""
        if self.deliver is None:
            return
        for m in stored:
            try:
                self.deliver(session, conversation, m)
            except Exception:
                log.warning("bot reply %s not delivered", m.id, exc_info=True)
        session.commit()

    def _store_late(self, conversation_id: str, message_id: int, done, session_was_started: bool) -> None:
        """A bot answer that came after the turn was answered: stored, and sent on channels
        that do not poll. A call that failed after all is left to the retries."""
        session = self.session_factory()
        try:
            try:
                bot_replies = done.result()
            except Exception as exc:
                log.warning("late bot call failed for conversation %s: %s", conversation_id, exc)
                message = session.get(Message, message_id)
                if message is not None and message.bot_delivery == BotDelivery.SENDING:
                    channel = message.conversation.channel
                    message.bot_delivery = BotDelivery.PENDING
                    message.bot_retry_at = (
                        pipeline.next_attempt(message.bot_attempts) if pipeline.retries(channel) else None
                    )
                    if not session_was_started:
                        message.conversation.bot_session_started = False
                    session.commit()
                return
            # Only if no retry answered it meanwhile: a message is answered once.
            claimed = session.execute(
                update(Message)
                .where(Message.id == message_id, Message.bot_delivery == BotDelivery.SENDING)
                .values(bot_delivery=BotDelivery.DELIVERED, bot_retry_at=None, bot_text=None)
                .execution_options(synchronize_session=False)
            ).rowcount
            conversation = session.get(Conversation, conversation_id)
            if not claimed or conversation is None:
                session.rollback()
                return
            stored = self._bot_messages(conversation, bot_replies, message_id)
            session.add_all(stored)
            session.commit()
            self._send(session, conversation, stored)
        finally:
            session.close()

    def _apply_bot_signals(self, conversation: Conversation, custom: dict) -> None:
        """The bot reports what it heard and decided through a custom payload (not shown)."""
        if custom.get(Payload.HANDOVER_OFFERED):
            conversation.handover_reason = str(custom[Payload.HANDOVER_OFFERED])[:40]
        elif custom.get(Payload.HANDOVER_TICKET) and conversation.handover_reason is None:
            # A ticket opened without an offer: acute danger (action_handover_acuut).
            conversation.handover_reason = "crisis"
        if custom.get(Payload.FORGET_CONVERSATION):
            conversation.forget_requested = True
        if custom.get(Payload.EXPECT_CALLBACK_NUMBER):
            conversation.awaiting_callback_number = True
        if isinstance(custom.get(Payload.LEVENSGEBIEDEN), dict):
            conversation.levensgebieden = merge_words(conversation.levensgebieden, custom[Payload.LEVENSGEBIEDEN])

    def _slots(self, conversation: Conversation, crisis: str | None) -> dict:
        # The bot hears the levensgebieden itself and reports them back in a custom payload.
        return {"channel": conversation.channel, "gemeente": conversation.gemeente, "crisis_handled": crisis}
