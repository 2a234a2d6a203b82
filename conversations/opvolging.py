"""Opvolging ("hoe ging het?"): with the resident's consent the bot schedules one short
follow-up some days after a referral (bot/actions: action_opvolging_plannen). The job
(`iad worker`, a process of `make run`) sends it on the resident's own channel, only
while the loket is open (core/opening_hours: never at night, on Sundays or holidays); the
front door reads the answer ("1. Ja 2. Nog niet 3. Ik wil hulp"), and "stop" ends every
follow-up of the conversation. The answers are counted per service (`iad opvolging report`):
which referrals land and which do not. The phone line cannot send a message later, so
callers are not asked."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from conversations import outbox
from conversations.models import Conversation, Message, Sender, as_utc, utcnow
from core.config import Settings
from core.db import Base
from core.messages import text
from core.opening_hours import is_open, next_open_moment
from core.timefmt import loket_zone

log = logging.getLogger(__name__)

FOLLOW_UP_DAYS = 7
# An answer counts only this long after the question went out (later "ja" is about something else).
ANSWER_DAYS = 7
CHANNELS = ("web", "whatsapp")  # a caller cannot be sent a message later


class Status:
    GEPLAND = "gepland"
    VERSTUURD = "verstuurd"
    BEANTWOORD = "beantwoord"
    GESTOPT = "gestopt"


ANSWERS = ("gelukt", "nog_niet", "hulp")


class FollowUp(Base):
    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    # The names of the services the resident was referred to (what the answer is counted for).
    services: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=Status.GEPLAND, index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The question as sent: an answer counts only while it is our latest message.
    message_id: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(String(16))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conversation: Mapped[Conversation] = relationship()


def _waiting(session: Session, conversation: Conversation) -> list[FollowUp]:
    """The conversation's follow-ups not yet answered or stopped (planned or sent)."""
    return list(
        session.scalars(
            select(FollowUp).where(
                FollowUp.conversation_id == conversation.id, FollowUp.status.in_((Status.GEPLAND, Status.VERSTUURD))
            )
        )
    )


def schedule(
    session: Session,
    conversation: Conversation,
    services: list[str],
    settings: Settings,
    *,
    days: int = FOLLOW_UP_DAYS,
    now: datetime | None = None,
) -> FollowUp | None:
    """One follow-up `days` from now, moved to the next moment the loket is open. None on the
    phone line, and when this conversation already has one waiting."""
    if conversation.channel not in CHANNELS or conversation.crisis:
        # No later message after a crisis: it could reach a phone someone else reads.
        return None
    waiting = next(iter(_waiting(session, conversation)), None)
    if waiting is not None:
        return waiting
    local = as_utc(now or utcnow()).astimezone(loket_zone()) + timedelta(days=days)
    due = next_open_moment(settings.loket_hours, local) or local
    follow_up = FollowUp(
        conversation=conversation,
        services=[s for s in services if s][:3],
        due_at=due.astimezone(timezone.utc),  # SQLite keeps no offset: store UTC
    )
    session.add(follow_up)
    session.flush()
    return follow_up


def question(follow_up: FollowUp, lang: str) -> tuple[str, list[dict]]:
    names = follow_up.services
    what = " of ".join(names[:2]) if lang != "en" else " or ".join(names[:2])
    body = text("opvolging.vraag" if names else "opvolging.vraag_algemeen", lang, service=what)
    buttons = [{"title": text(f"opvolging.knop.{a}", lang), "payload": str(i)} for i, a in enumerate(ANSWERS, start=1)]
    return body, buttons


def claim(session: Session, follow_up: FollowUp, now: datetime) -> bool:
    """Marks it sent with a conditional update and commits: of two job runners that read the
    same row, only one gets True (never the same follow-up twice)."""
    claimed = session.execute(
        update(FollowUp)
        .where(FollowUp.id == follow_up.id, FollowUp.status == Status.GEPLAND)
        .values(status=Status.VERSTUURD, sent_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return bool(claimed)


def send_due(
    session: Session,
    settings: Settings,
    deliver: Callable[[Session, Conversation, Message], object],
    *,
    now: datetime | None = None,
) -> int:
    """Sends every follow-up that is due, while the loket is open; returns how many. A failed
    delivery stays stored in the conversation (the widget shows it; WhatsApp holds it)."""
    now = as_utc(now or utcnow()).astimezone(timezone.utc)  # SQLite compares the stored UTC text
    if not is_open(settings.loket_hours, now.astimezone(loket_zone())):
        return 0
    due = session.scalars(
        select(FollowUp).where(FollowUp.status == Status.GEPLAND, FollowUp.due_at <= now).order_by(FollowUp.due_at)
    ).all()
    sent = 0
    for follow_up in due:
        if not claim(session, follow_up, now):
            continue
        session.refresh(follow_up)
        conversation = follow_up.conversation
        body, buttons = question(follow_up, conversation.language or "nl")
        # As a message from the loket's side: on WhatsApp outside the 24-hour window it is held
        # (the approved template invites the resident) and goes out with our next answer.
        message = Message(
            conversation=conversation, sender=Sender.STAFF, author=settings.loket_name, text=body, buttons=buttons
        )
        session.add(message)
        session.flush()
        follow_up.message_id = message.id
        session.commit()
        sent += 1
        try:
            deliver(session, conversation, message)
        except Exception:  # stored: the widget shows it, WhatsApp sends it with our next answer
            log.warning("follow-up %s not delivered on %s", follow_up.id, conversation.channel, exc_info=True)
        session.commit()
    return sent


_STOP = re.compile(r"^\s*(stop|stoppen|afmelden|geen berichten( meer)?|unsubscribe)\s*[.!]*\s*$", re.I)
# Only short, whole answers: "hulp bij mijn huur" is a new question for the bot, not "3".
_ANSWER = (
    # "ja" and "nog niet" may carry a few more words ("nog niet helaas", "ja het is gelukt").
    ("gelukt", re.compile(r"^\s*(1|1\.? ja|ja|jawel|gelukt|yes|it worked)([ ,]+\w+){0,3}\s*[.!]*\s*$", re.I)),
    (
        "nog_niet",
        re.compile(r"^\s*(2|2\.? nog niet|nog niet|niet gelukt|nee|not yet|no)([ ,]+\w+){0,2}\s*[.!]*\s*$", re.I),
    ),
    ("hulp", re.compile(r"^\s*(3|3\.? ik wil hulp|ik wil hulp|hulp|help|i want help)\s*[.!]*\s*$", re.I)),
)


def read_answer(body: str) -> str | None:
    """gelukt | nog_niet | hulp | stop for a short answer to the follow-up; None for anything
    else (a new question goes to the bot as usual)."""
    if _STOP.match(body):
        return "stop"
    for answer, pattern in _ANSWER:
        if pattern.match(body):
            return answer
    return None


def _is_our_latest(session: Session, conversation: Conversation, follow_up: FollowUp) -> bool:
    """The question is the last thing we said (notes about its delivery aside), and WhatsApp
    handed it over (a held message has not reached Twilio yet)."""
    if follow_up.message_id is None:
        return False
    latest = session.scalar(
        select(Message.id)
        .where(
            Message.conversation_id == conversation.id,
            Message.sender != Sender.RESIDENT,
            (Message.in_reply_to.is_(None)) | (Message.in_reply_to != follow_up.message_id),
        )
        .order_by(Message.id.desc())
        .limit(1)
    )
    if latest != follow_up.message_id:
        return False
    if conversation.channel == "whatsapp":
        question_message = session.get(Message, follow_up.message_id)
        return question_message is not None and outbox.reached_twilio(question_message)
    return True


def answer(session: Session, conversation: Conversation, body: str, *, now: datetime | None = None) -> str | None:
    """The resident's answer to a sent follow-up (or "stop" to any waiting one), recorded;
    None when this message is not such an answer. The caller replies with
    text(f"opvolging.antwoord.{result}") and, for "hulp", lets the bot offer a person."""
    waiting = _waiting(session, conversation)
    if not waiting:
        return None
    result = read_answer(body)
    now = as_utc(now or utcnow()).astimezone(timezone.utc)  # SQLite compares the stored UTC text
    if result == "stop":
        for follow_up in waiting:
            follow_up.status = Status.GESTOPT
        return "stop"
    if result is None:
        return None
    sent = [
        f
        for f in waiting
        if f.status == Status.VERSTUURD
        and f.sent_at is not None
        and now - as_utc(f.sent_at) <= timedelta(days=ANSWER_DAYS)
        and _is_our_latest(session, conversation, f)
    ]
    if not sent:
        return None
    for follow_up in sent:
        follow_up.status, follow_up.answer, follow_up.answered_at = Status.BEANTWOORD, result, now
    return result


def report(session: Session, *, since: datetime | None = None) -> dict:
    """Per service: follow-ups sent, answers (gelukt, nog_niet, hulp), no answer, stopped."""
    query = select(FollowUp).where(FollowUp.status != Status.GEPLAND)
    if since is not None:
        query = query.where(FollowUp.sent_at >= since)
    per_service: dict[str, Counter] = {}
    for follow_up in session.scalars(query):
        for name in follow_up.services or ["(onbekend)"]:
            counts = per_service.setdefault(name, Counter())
            counts["verstuurd"] += follow_up.sent_at is not None
            counts[follow_up.answer or ("gestopt" if follow_up.status == Status.GESTOPT else "geen_antwoord")] += 1
    return {
        name: {key: counts.get(key, 0) for key in ("verstuurd", *ANSWERS, "geen_antwoord", "gestopt")}
        for name, counts in sorted(per_service.items())
    }
