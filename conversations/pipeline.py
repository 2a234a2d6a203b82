"""Resident messages the bot has not answered (it was down, hung, or too slow for the channel)
are answered when it is back: per conversation in order, each once, with growing pauses.

The message table is the durable queue: a message is stored before anything else happens
(conversations/front_door.py), and one that the bot did not answer stays `pending` with the
time of its next attempt (`bot_retry_at`). The worker (`iad worker`) claims the oldest
pending message of a conversation with a conditional UPDATE that moves that time on (a
lease), so two workers never take the same message and a worker that dies mid-call leaves
it to the next round. Chosen over RQ or Celery on Redis: the embedded set-up (`make run`)
has no Redis, and the queue must survive exactly what a separate broker would not see (the
row and its answer are written in the same database).

Answered once: before asking the bot again, Rasa's own record of the conversation is read;
if Rasa did take the message (the reply was lost on the way), that reply is used
(RasaClient.replies_to). Crisis numbers never wait for this: the front door sends them
before the bot is asked anything. On the phone nothing is retried: the caller is put
through to a person (webhooks/voice.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from conversations.models import BotDelivery, Conversation, Message, Sender, Status, utcnow
from conversations.rasa_client import BotUnavailable

log = logging.getLogger(__name__)

# Seconds before attempt n+1; the last one repeats.
BACKOFF_SECONDS = (5, 15, 30, 60, 120, 300)
# A message older than this gets no more attempts. It stays stored with its conversation, and
# the resident, who was promised an answer, hears that it did not work and whom to call.
GIVE_UP_AFTER = timedelta(hours=24)
RETRIED_CHANNELS = ("web", "whatsapp")


def retries(channel: str) -> bool:
    return channel in RETRIED_CHANNELS


def next_attempt(attempts: int, now: datetime | None = None) -> datetime:
    delay = BACKOFF_SECONDS[min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1]
    return (now or utcnow()) + timedelta(seconds=delay)


# Not answered yet: waiting for an attempt, or with a bot call in flight (whose lease, when
# it runs out, means the process that made the call died: then the worker takes it up).
UNANSWERED = (BotDelivery.PENDING, BotDelivery.SENDING)


def _waiting(session: Session, states: tuple[str, ...] = UNANSWERED):
    return select(Message.id).where(
        Message.sender == Sender.RESIDENT,
        Message.bot_delivery.in_(states),
        Message.bot_retry_at.is_not(None),
    )


def waiting_before(session: Session, message: Message) -> bool:
    """Does an earlier message of this conversation wait for another attempt? (One whose
    bot call is in flight does not hold this one back: Rasa answers a conversation's messages
    one after the other, in the order they reached it.)"""
    earlier = _waiting(session, (BotDelivery.PENDING,)).where(
        Message.conversation_id == message.conversation_id,
        Message.id < message.id,
        Message.created_at >= utcnow() - GIVE_UP_AFTER,
    )
    with session.no_autoflush:  # the turn's replies are not stored yet, and need not be for this
        return session.scalar(earlier.limit(1)) is not None


def due(session: Session, now: datetime, limit: int = 20) -> list[Message]:
    """The oldest waiting message of each conversation with the bot, if its time has come."""
    first = (
        _waiting(session)
        .with_only_columns(func.min(Message.id).label("first_id"))
        .where(Message.created_at >= now - GIVE_UP_AFTER)
        .group_by(Message.conversation_id)
        .subquery()
    )
    oldest = aliased(Message)
    query = (
        select(oldest)
        .join(first, oldest.id == first.c.first_id)
        .join(Conversation, Conversation.id == oldest.conversation_id)
        .where(
            oldest.bot_retry_at <= now,
            Conversation.status == Status.BOT,
            Conversation.channel.in_(RETRIED_CHANNELS),
        )
        .order_by(oldest.bot_retry_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def give_up(session: Session, now: datetime) -> list[Message]:
    """Messages waiting longer than GIVE_UP_AFTER: no more attempts, and later messages no
    longer wait behind them. Returns the oldest one given up per conversation (to tell the
    resident); a message another worker gave up at the same moment is not returned twice."""
    overdue = (
        Message.bot_delivery.in_(UNANSWERED),
        Message.bot_retry_at.is_not(None),
        Message.created_at < now - GIVE_UP_AFTER,
    )
    first_per_conversation: dict[str, Message] = {}
    for message in session.scalars(select(Message).where(*overdue).order_by(Message.id)):
        taken = session.execute(
            update(Message)
            .where(Message.id == message.id, *overdue)
            .values(bot_delivery=BotDelivery.PENDING, bot_retry_at=None, bot_text=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken:
            first_per_conversation.setdefault(message.conversation_id, message)
    session.commit()
    return list(first_per_conversation.values())


def stop_for_staff(session: Session, conversation: Conversation) -> None:
    """A loket employee takes the conversation over: they read what waited for the bot, and
    the bot does not answer it afterwards."""
    session.execute(
        update(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.bot_delivery.in_(UNANSWERED),
            Message.bot_retry_at.is_not(None),
        )
        .values(bot_delivery=BotDelivery.PENDING, bot_retry_at=None, bot_text=None)
        .execution_options(synchronize_session=False)
    )


def claim(session: Session, message: Message, now: datetime, lease_seconds: float) -> bool:
    """Takes the message for this worker, for lease_seconds (longer than answering it can
    take); False when another worker was first."""
    taken = session.execute(
        update(Message)
        .where(
            Message.id == message.id,
            Message.bot_delivery.in_(UNANSWERED),
            Message.bot_retry_at == message.bot_retry_at,
        )
        .values(
            # Stays pending while the worker has it: later messages keep waiting behind it.
            bot_delivery=BotDelivery.PENDING,
            bot_retry_at=now + timedelta(seconds=lease_seconds),
            bot_attempts=Message.bot_attempts + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if taken:
        session.refresh(message)
    return taken == 1


def run_round(
    session: Session,
    answer: Callable[[Session, Message], object],
    lease_seconds: float,
    now: datetime | None = None,
    gave_up: Callable[[Session, Message], object] | None = None,
) -> dict:
    """One round: every due message is tried once. `answer` is FrontDoor.answer_pending;
    lease_seconds its FrontDoor.call_seconds plus the time to read Rasa's record; `gave_up`
    (FrontDoor.tell_gave_up) tells the resident about a message given up. `now` moves the
    clock (tests); each claim and back-off is timed when it happens."""
    offset = (now - utcnow()) if now is not None else timedelta(0)

    def clock() -> datetime:
        return utcnow() + offset

    given_up = give_up(session, clock())
    for message in given_up:
        if gave_up is None:
            continue
        try:
            gave_up(session, message)
        except Exception:  # one resident's notice must not stop the round for the others
            log.exception("could not tell the resident that message %s was given up", message.id)
            session.rollback()
    answered = failed = 0
    for message in due(session, clock()):
        if not claim(session, message, clock(), lease_seconds):
            continue
        try:
            answer(session, message)
            answered += 1
        except BotUnavailable as exc:
            session.rollback()
            failed += 1
            log.info("message %s: bot still unavailable (%s); attempt %s", message.id, exc, message.bot_attempts)
            session.execute(
                update(Message)
                .where(
                    Message.id == message.id,
                    Message.bot_delivery == BotDelivery.PENDING,
                    Message.bot_retry_at == message.bot_retry_at,  # still this worker's claim
                )
                .values(bot_retry_at=next_attempt(message.bot_attempts, clock()))
            )
            session.commit()
    return {"answered": answered, "still_waiting": failed, "given_up": len(given_up)}
