"""Messages that start on our side (a staff reply, a late bot answer, a follow-up) reach the
resident on the channel they came from. The web channel needs nothing: the widget fetches
new messages. Other channels register a sender with the app's Outbound at app start
(webhooks/ owns them), so this package knows no Twilio. A message the channel could not take is held for the
resident's next message (conversations/outbox.py), never dropped."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from conversations import outbox, pipeline
from conversations.models import Conversation, Message, Sender, Status

log = logging.getLogger(__name__)

ChannelSender = Callable[[Session, Conversation, Message], None]


class DeliveryFailed(Exception):
    """The channel could not deliver the message; it is stored all the same."""


def take_over(session: Session, conversation: Conversation) -> None:
    """A loket employee takes the conversation: the bot is paused for it."""
    conversation.status = Status.STAFF
    pipeline.stop_for_staff(session, conversation)
    session.flush()


def hand_back(session: Session, conversation: Conversation) -> None:
    """The bot answers again."""
    conversation.status = Status.BOT
    session.flush()


class Outbound:
    """The channel senders of one app, made by its factory (app.extensions["outbound"]) and
    handed to what sends: the front door, the inbox, the worker. Without a sender for a
    channel nothing is pushed (the web: the widget polls)."""

    def __init__(self, senders: dict[str, ChannelSender] | None = None):
        self._senders: dict[str, ChannelSender] = dict(senders or {})

    def register(self, channel: str, sender: ChannelSender) -> None:
        self._senders[channel] = sender

    def deliver(self, session: Session, conversation: Conversation, message: Message) -> None:
        """Sends a stored message on the resident's channel. When the channel refuses, the
        message is held (it goes with our next answer) and the error is raised."""
        sender = self._senders.get(conversation.channel)
        if sender is None:
            return
        try:
            sender(session, conversation, message)
        except Exception:
            outbox.hold(message)
            session.flush()
            raise

    def send_staff_reply(self, session: Session, conversation: Conversation, text: str, *, author: str) -> Message:
        """Stores the reply (so it is never lost) and delivers it on the resident's channel.
        Raises DeliveryFailed when the channel refused it; the message stays stored."""
        message = Message(conversation=conversation, sender=Sender.STAFF, text=text, author=author)
        session.add(message)
        session.flush()
        try:
            self.deliver(session, conversation, message)
        except Exception as exc:
            log.warning("staff reply %s not delivered on %s: %s", message.id, conversation.channel, exc)
            raise DeliveryFailed(str(exc)) from exc
        return message
