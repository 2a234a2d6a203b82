"""The outbox: how far each of our messages (bot, system, staff) got on a channel we push to
(WhatsApp). Nothing is marked as handed over before Twilio has it, nothing that failed is
dropped, and nothing goes out twice because two requests took it at once.

- Stored, a message of ours is HELD (conversations/models.py): it goes out with our next
  answer to the resident unless it is sent sooner.
- An answer (TwiML) or a REST call takes messages by a conditional UPDATE (claim, reserve):
  only one request gets each, with the next attempt number, committed before Twilio hears of
  it, so a report that comes back at once finds it. The attempt number goes into the status
  callback's URL. A REST call in flight is SENDING; handed over, a message is QUEUED.
- Twilio's status callbacks move it on to sent, delivered, read. Reports come late, twice or
  out of order: a state never moves back, a report about an earlier attempt changes nothing.
- Reported failed or undelivered: held again, with a note for the staff. After the second
  failed attempt it stays FAILED (a number that cannot receive would otherwise get it again
  with every answer), and the staff get a note that says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from conversations.models import Conversation, Delivery, Message, Sender, utcnow

# Twilio's MessageStatus values, by how far they got. "accepted" and "sending" are still on
# Twilio's side: queued for us.
_PROGRESS = {
    "accepted": Delivery.QUEUED,
    "queued": Delivery.QUEUED,
    "sending": Delivery.QUEUED,
    "sent": Delivery.SENT,
    "delivered": Delivery.DELIVERED,
    "read": Delivery.READ,
}
_ORDER = (Delivery.SENDING, Delivery.QUEUED, Delivery.SENT, Delivery.DELIVERED, Delivery.READ)
FAILURES = ("failed", "undelivered")
ATTEMPTS = 2
HANDED_OVER = (Delivery.QUEUED, Delivery.SENT, Delivery.DELIVERED, Delivery.READ)

_WHAT = {
    Sender.STAFF: "het bericht van de medewerker",
    Sender.BOT: "een antwoord van de assistent",
    Sender.SYSTEM: "een bericht van het loket",
}


def held(session: Session, conversation: Conversation) -> list[Message]:
    """Our messages that wait for the resident's next message, oldest first."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id, Message.delivery == Delivery.HELD)
            .order_by(Message.id)
        )
    )


def _take(session: Session, message: Message, states: tuple[str, ...], to: str) -> bool:
    """Moves the message from one of `states` to `to` with the next attempt number; False
    when another request moved it first."""
    taken = session.execute(
        update(Message)
        .where(Message.id == message.id, Message.delivery.in_(states))
        .values(delivery=to, delivery_attempts=Message.delivery_attempts + 1, delivery_error=None, delivery_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return bool(taken)


def claim(session: Session, messages: Iterable[Message], *, again: bool = False) -> list[Message]:
    """Takes held messages for one TwiML answer (committed): each becomes QUEUED with its next
    attempt. again: also messages an earlier TwiML answer carried that has no report yet
    (Twilio repeated a webhook, so it did not get that answer); not what the REST API took."""
    taken = []
    for message in messages:
        states = (Delivery.HELD, Delivery.QUEUED) if again and not message.external_id else (Delivery.HELD,)
        if _take(session, message, states, Delivery.QUEUED):
            taken.append(message)
    session.commit()
    for message in taken:
        session.refresh(message)
    return taken


def release(session: Session, messages: Iterable[Message]) -> None:
    """The answer that was to carry these claimed messages failed: held again."""
    for message in messages:
        session.execute(
            update(Message)
            .where(
                Message.id == message.id,
                Message.delivery == Delivery.QUEUED,
                Message.delivery_attempts == message.delivery_attempts,
            )
            .values(delivery=Delivery.HELD)
            .execution_options(synchronize_session=False)
        )
    session.commit()


def reserve(session: Session, message: Message) -> int | None:
    """Before a REST call: the message becomes SENDING with the attempt number the call's
    status callback will carry (committed). None when another answer or call has it."""
    taken = _take(session, message, (Delivery.HELD,), Delivery.SENDING)
    session.commit()
    session.refresh(message)
    return message.delivery_attempts if taken else None


def _finish(session: Session, message: Message, attempt: int, to: str, sid: str | None = None) -> None:
    values: dict = {"delivery": to, "delivery_at": utcnow()}
    if sid and not message.external_id:
        values["external_id"] = sid
    session.execute(
        update(Message)
        .where(
            Message.id == message.id,
            Message.delivery == Delivery.SENDING,  # a report may have come first: it stands
            Message.delivery_attempts == attempt,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.refresh(message)


def sent(session: Session, message: Message, attempt: int, sid: str | None) -> None:
    """Twilio's REST API took the message."""
    _finish(session, message, attempt, Delivery.QUEUED, sid)


def not_sent(session: Session, message: Message, attempt: int) -> None:
    """The REST call failed: held, for the next answer (a later attempt gets a new number)."""
    _finish(session, message, attempt, Delivery.HELD)


def note(message: Message, text: str) -> Message:
    """A note for the staff about this message, shown in the inbox and never sent."""
    return Message(
        conversation_id=message.conversation_id,
        sender=Sender.SYSTEM,
        in_reply_to=message.id,
        text=text,
        delivery=Delivery.INTERNAL,
    )


def reached_twilio(message: Message) -> bool:
    return message.delivery in HANDED_OVER


def record_status(session: Session, message: Message, status: str, error_code: str, attempt: int | None) -> None:
    """One status callback (committed). `attempt` comes from the callback's URL; a URL
    without one is from before attempts were counted: the first."""
    attempt = attempt or 1
    current = (Message.id == message.id, Message.delivery_attempts == attempt)
    if status in FAILURES:
        error = (error_code or "onbekend")[:16]
        final = attempt >= ATTEMPTS
        taken = session.execute(
            update(Message)
            .where(*current, Message.delivery.in_(_ORDER))  # not yet held again or failed: once
            .values(delivery=Delivery.FAILED if final else Delivery.HELD, delivery_error=error, delivery_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken:
            what = _WHAT.get(message.sender, "een bericht")
            if final:
                text = (
                    f"WhatsApp kon {what} ook de tweede keer niet afleveren (fout {error}). Het wordt "
                    "niet nog eens gestuurd. Is het belangrijk, neem dan op een andere manier contact op."
                )
            else:
                text = (
                    f"WhatsApp kon {what} niet afleveren (fout {error}). "
                    "Het gaat mee met het volgende antwoord zodra de inwoner weer iets stuurt."
                )
            session.add(note(message, text))
        session.commit()
        return
    reached = _PROGRESS.get(status)
    if reached is None:
        return
    earlier = _ORDER[: _ORDER.index(reached)]
    # Held again without a failure report (the REST call timed out after Twilio took it):
    # this report proves Twilio has it, so it is not sent again.
    held_unreported = (Message.delivery == Delivery.HELD) & Message.delivery_error.is_(None)
    # A report that only repeats the state still says Twilio is on it (the sweep waits).
    session.execute(
        update(Message)
        .where(*current, Message.delivery.in_((*earlier, reached)) | held_unreported)
        .values(delivery=reached, delivery_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()


def hold(message: Message) -> None:
    """A message that did not go out stays for the next answer (one stored before the outbox
    existed has no state yet; any other already has one)."""
    if message.delivery is None:
        message.delivery = Delivery.HELD


# Twilio reports on a message within seconds; one with no word this long did not get there.
STUCK_AFTER = timedelta(minutes=10)


def sweep(session: Session, now: datetime | None = None) -> int:
    """Messages that got stuck on the way: a TwiML answer that never reached Twilio (its 15 s
    webhook timeout, a web worker killed), or a REST call whose process died. Held again for
    the next answer, once; after that they stay as they are (better one unknown than a
    message sent with every answer). Returns how many (committed)."""
    before = (now or utcnow()) - STUCK_AFTER
    stuck = (
        ((Message.delivery == Delivery.QUEUED) & Message.external_id.is_(None))  # TwiML, no report since
        | (Message.delivery == Delivery.SENDING)
    )
    result = session.execute(
        update(Message)
        .where(stuck, Message.delivery_at < before, Message.delivery_attempts < ATTEMPTS)
        .values(delivery=Delivery.HELD, delivery_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
