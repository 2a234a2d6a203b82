"""The outbox: how far each of our messages (bot, system, staff) got on a channel we push to
(WhatsApp). Nothing is marked as handed over before Twilio has it, and nothing that failed
is dropped.

- A message that cannot go to Twilio now (outside WhatsApp's 24-hour window, Twilio down or
  refusing, no readable number) is HELD: it goes out with our next answer to the resident.
- Handed over (in the TwiML answer to the resident's message, or by the REST API) it is
  QUEUED, and its attempt number goes into the status callback's URL. Twilio's status
  callbacks then move it on to sent, delivered, read. They can arrive late, twice or out of
  order: a state never moves back, and a report about an earlier attempt changes nothing.
- Reported failed or undelivered: held again, and the staff see a note. After the second
  failed attempt it stays FAILED (a number that cannot receive would otherwise get it again
  with every answer) and the staff see that too.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.models import Conversation, Delivery, Message, Sender

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
_RANK = {Delivery.QUEUED: 0, Delivery.SENT: 1, Delivery.DELIVERED: 2, Delivery.READ: 3}
FAILURES = ("failed", "undelivered")
ATTEMPTS = 2

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


def hold(message: Message) -> None:
    if message.delivery != Delivery.FAILED:
        message.delivery = Delivery.HELD


def next_attempt(message: Message) -> int:
    """The number of the attempt about to be made (for the status callback's URL)."""
    return (message.delivery_attempts or 0) + 1


def handed_over(message: Message, attempt: int, sid: str | None = None) -> None:
    """Twilio has the message (its REST API answered, or it is in our TwiML answer)."""
    message.delivery = Delivery.QUEUED
    message.delivery_attempts = attempt
    if sid and not message.external_id:
        message.external_id = sid


def reached_twilio(message: Message) -> bool:
    return message.delivery not in (None, Delivery.HELD)


def record_status(session: Session, message: Message, status: str, error_code: str, attempt: int | None) -> None:
    """One status callback. `attempt` comes from the callback's URL (None: a URL without it,
    taken as the latest attempt)."""
    if attempt is not None and attempt != (message.delivery_attempts or 0):
        return  # about an earlier attempt
    if message.delivery in (None, Delivery.HELD, Delivery.FAILED):
        return  # already dealt with (Twilio reports a failure more than once)
    if status in FAILURES:
        message.delivery_error = (error_code or "onbekend")[:16]
        what = _WHAT.get(message.sender, "een bericht")
        if (message.delivery_attempts or 0) < ATTEMPTS:
            message.delivery = Delivery.HELD
            note = (
                f"WhatsApp kon {what} niet afleveren (fout {message.delivery_error}). "
                "Het gaat mee met het volgende antwoord zodra de inwoner weer iets stuurt."
            )
        else:
            message.delivery = Delivery.FAILED
            note = (
                f"WhatsApp kon {what} ook de tweede keer niet afleveren (fout {message.delivery_error}). "
                "Het wordt niet nog eens gestuurd. Is het belangrijk, neem dan op een andere manier contact op."
            )
        session.add(
            Message(conversation_id=message.conversation_id, sender=Sender.SYSTEM, in_reply_to=message.id, text=note)
        )
        return
    reached = _PROGRESS.get(status)
    if reached is not None and _RANK[reached] > _RANK.get(message.delivery, -1):
        message.delivery = reached
