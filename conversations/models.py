"""A conversation is one row with a channel and a status (with the bot, with a person,
closed); messages belong to it. Every channel translates to and from this model."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    event,
    false,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from core.db import Base
from core.timefmt import as_utc, utcnow  # noqa: F401  (others read them from here too)

CHANNELS = ("web", "whatsapp", "voice")


class Status:
    BOT = "bot"  # the assistant answers
    STAFF = "staff"  # a loket employee has taken over; the bot is paused
    CLOSED = "closed"


class Sender:
    RESIDENT = "resident"
    BOT = "bot"
    STAFF = "staff"
    SYSTEM = "system"  # the front door itself: crisis numbers, "assistant unavailable"


class BotDelivery:
    """For resident messages: did the bot get it? `pending` messages are kept, shown to staff,
    answered when the bot is back (conversations/pipeline.py), and never silently dropped."""

    DELIVERED = "delivered"
    PENDING = "pending"
    # A bot call is in flight (bot_retry_at: until when; after that the worker takes it up).
    SENDING = "sending"
    NOT_FOR_BOT = "not_for_bot"  # the conversation was with staff


class Delivery:
    """For our own messages on a channel we push to (WhatsApp): how far the message got
    (conversations/outbox.py). None where nothing is pushed (the widget fetches, the phone
    line speaks) and on residents' messages."""

    HELD = "held"  # not with Twilio yet: goes out with our next answer to the resident
    SENDING = "sending"  # a REST call to Twilio is being made (its attempt number is taken)
    QUEUED = "queued"  # handed to Twilio (in our TwiML answer or by its REST API)
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"  # Twilio could not deliver it, also the second time: the staff see it
    INTERNAL = "internal"  # a note for the staff about the conversation: never sent


def new_conversation_id() -> str:
    # Unguessable: for the web channel the id is the resident's only key to the conversation.
    return uuid.uuid4().hex


class Conversation(Base):
    __tablename__ = "conversation"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_conversation_id)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=Status.BOT)
    gemeente: Mapped[str | None] = mapped_column(String(80))
    # Phone numbers (WhatsApp, voice) are stored encrypted; the hash finds the conversation again.
    resident_address_encrypted: Mapped[str | None] = mapped_column(Text)
    resident_address_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(8), default="nl")
    # levensgebied code -> the resident's own words for it, as heard so far.
    levensgebieden: Mapped[dict] = mapped_column(JSON, default=dict)
    crisis: Mapped[str | None] = mapped_column(String(32))
    # Whether Rasa has opened its session for this conversation (see RasaClient.set_slots).
    bot_session_started: Mapped[bool] = mapped_column(Boolean, default=False)
    # The bot asked for a phone number to call back on: the front door takes the next message's
    # number (encrypted, as the resident address) and the bot only hears that it was given.
    awaiting_callback_number: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A possible crisis: the safety question asked (its crisis code) and the resident message
    # held for the bot until the answer comes.
    safety_check: Mapped[str | None] = mapped_column(String(32))
    safety_check_message_id: Mapped[int | None] = mapped_column(Integer)
    # Set when the bot offered a warm handover to the wijkteam, with the reason code.
    handover_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    last_resident_message_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When WhatsApp's template last invited the resident to answer (outside the 24-hour window).
    invited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # Not stored: set during a turn when the resident asked to erase the conversation.
    forget_requested = False

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id", cascade="all, delete-orphan"
    )


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("conversation_id", "external_id", name="uq_message_external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    sender: Mapped[str] = mapped_column(String(16))
    # For staff messages: who wrote it (shown to colleagues, not to the resident).
    author: Mapped[str | None] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text, default="")
    # Choices offered with a reply: [{"title": ..., "payload": ...}]
    buttons: Mapped[list | None] = mapped_column(JSON)
    # Channel's own id (Twilio MessageSid, the widget's client id): a repeated delivery is answered once.
    external_id: Mapped[str | None] = mapped_column(String(64))
    # For replies: the resident message they answer.
    in_reply_to: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    bot_delivery: Mapped[str | None] = mapped_column(String(16))
    # A pending message (conversations/pipeline.py): what the bot is to hear when that is not
    # the text (a button's payload), how often it was tried, and when to try again (None: not
    # again; the staff see it).
    bot_text: Mapped[str | None] = mapped_column(Text)
    bot_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bot_retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    crisis: Mapped[str | None] = mapped_column(String(32))
    redacted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Our messages on WhatsApp (conversations/outbox.py): a Delivery state, how often it was
    # handed to Twilio, and Twilio's error code after a failed attempt.
    delivery: Mapped[str | None] = mapped_column(String(16), index=True)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    delivery_error: Mapped[str | None] = mapped_column(String(16))
    # When it was last claimed, reserved or reported on (outbox.sweep finds what got stuck).
    delivery_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "sender": self.sender,
            "text": self.text,
            "buttons": self.buttons or [],
            "created_at": as_utc(self.created_at).isoformat() if self.created_at else None,
        }


# Channels we push our messages to (the widget fetches; the phone line speaks them at once).
PUSHED_CHANNELS = ("whatsapp",)


@event.listens_for(Message, "before_insert")
def _held_until_handed_over(_mapper, connection, message: Message) -> None:
    """A message of ours on a pushed channel is stored held: from its first commit it goes with
    the next answer unless it is handed to Twilio sooner (conversations/outbox.py), so a
    process that dies between storing and sending loses nothing."""
    if message.sender == Sender.RESIDENT or message.delivery is not None:
        return
    conversation = message.__dict__.get("conversation")  # set, or only its id: no lazy load in a flush
    channel = (
        conversation.channel
        if conversation is not None
        else connection.scalar(select(Conversation.channel).where(Conversation.id == message.conversation_id))
    )
    if channel in PUSHED_CHANNELS:
        message.delivery = Delivery.HELD


class InboundDelivery(Base):
    """Each Twilio message or call (MessageSid, CallSid) that opens a conversation, claimed
    once: two deliveries of the same first message at the same moment never open two
    conversations (later messages are kept unique per conversation by uq_message_external_id)."""

    __tablename__ = "inbound_delivery"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def claim_first_delivery(session: Session, channel: str, external_id: str) -> bool:
    """True for the first delivery of this id; False when another request had it already.
    Not committed here: the caller commits it with the conversation it opens, so a failure
    in between takes the claim back too (and Twilio's retry is handled)."""
    session.add(InboundDelivery(channel=channel, external_id=external_id))
    try:
        session.flush()  # waits for a parallel request's commit; then its row is a clash
    except IntegrityError:
        session.rollback()
        return False
    return True


def forget_first_deliveries_before(session: Session, moment: datetime) -> int:
    result = session.execute(delete(InboundDelivery).where(InboundDelivery.created_at < moment))
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]


def conversation_summary(conversation: Conversation) -> dict:
    """What the resident may always see about their own conversation."""
    return {
        "conversation_id": conversation.id,
        "channel": conversation.channel,
        "status": conversation.status,
        "levensgebieden": sorted(conversation.levensgebieden or {}),
        "crisis": conversation.crisis,
        "handover_offered": conversation.handover_reason is not None,
        "handover_reason": conversation.handover_reason,
        # A bot call for one of the resident's messages is still running (after a crisis turn
        # the numbers go out at once and the bot's part follows): more is coming.
        "bot_answering": any(
            m.sender == Sender.RESIDENT and m.bot_delivery == BotDelivery.SENDING for m in conversation.messages
        ),
    }
