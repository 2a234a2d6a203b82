"""Opvolging ("hoe ging het?"): with the resident's consent the bot schedules one short
follow-up some days after a referral (bot/actions: action_opvolging_plannen). The job
(`iad opvolging run`, a process of `make run`) sends it on the resident's own channel, only
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
from datetime import datetime, timedelta

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from conversations.models import Conversation, Message, Sender, as_utc, utcnow
from core.config import Settings
from core.db import Base
from core.messages import text
from core.opening_hours import is_open, next_open_moment
from core.timefmt import loket_zone

log = logging.getLogger(__name__)

FOLLOW_UP_DAYS = 7
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
    answer: Mapped[str | None] = mapped_column(String(16))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conversation: Mapped[Conversation] = relationship()


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
    if conversation.channel not in CHANNELS:
        return None
    waiting = session.scalar(
        select(FollowUp).where(
            FollowUp.conversation_id == conversation.id, FollowUp.status.in_((Status.GEPLAND, Status.VERSTUURD))
        )
    )
    if waiting is not None:
        return waiting
    local = as_utc(now or utcnow()).astimezone(loket_zone()) + timedelta(days=days)
    due = next_open_moment(settings.loket_hours, local) or local
    follow_up = FollowUp(conversation=conversation, services=[s for s in services if s][:3], due_at=as_utc(due))
    session.add(follow_up)
    session.flush()
    return follow_up


def question(follow_up: FollowUp, lang: str) -> tuple[str, list[dict]]:
    names = follow_up.services
    what = " of ".join(names[:2]) if lang != "en" else " or ".join(names[:2])
    body = text("opvolging.vraag" if names else "opvolging.vraag_algemeen", lang, service=what)
    buttons = [{"title": text(f"opvolging.knop.{a}", lang), "payload": str(i)} for i, a in enumerate(ANSWERS, start=1)]
    return body, buttons


def send_due(
    session: Session,
    settings: Settings,
    deliver: Callable[[Session, Conversation, Message], object],
    *,
    now: datetime | None = None,
) -> int:
    """Sends every follow-up that is due, while the loket is open; returns how many. A failed
    delivery stays stored in the conversation (the widget shows it; WhatsApp holds it)."""
    now = as_utc(now or utcnow())
    if not is_open(settings.loket_hours, now.astimezone(loket_zone())):
        return 0
    due = session.scalars(
        select(FollowUp).where(FollowUp.status == Status.GEPLAND, FollowUp.due_at <= now).order_by(FollowUp.due_at)
    ).all()
    for follow_up in due:
        conversation = follow_up.conversation
        body, buttons = question(follow_up, conversation.language or "nl")
        message = Message(conversation=conversation, sender=Sender.BOT, text=body, buttons=buttons)
        session.add(message)
        follow_up.status, follow_up.sent_at = Status.VERSTUURD, now
        session.flush()
        try:
            deliver(session, conversation, message)
        except Exception:
            log.warning("follow-up %s not delivered on %s", follow_up.id, conversation.channel, exc_info=True)
        session.commit()
    return len(due)


_STOP = re.compile(r"^\s*(stop|stoppen|afmelden|geen berichten( meer)?|unsubscribe)\s*[.!]?\s*$", re.I)
_ANSWER = (
    ("gelukt", re.compile(r"^\s*(1|ja|jawel|yes|gelukt|het is gelukt|it worked)\b", re.I)),
    ("nog_niet", re.compile(r"^\s*(2|nog niet|niet gelukt|not yet|nee|no)\b", re.I)),
    ("hulp", re.compile(r"^\s*(3|ik wil hulp|hulp|help|i want help)\b", re.I)),
)


def read_answer(body: str) -> str | None:
    """gelukt | nog_niet | hulp | stop for a short answer to the follow-up; None for anything
    else (a new question goes to the bot as usual)."""
    if _STOP.match(body):
        return "stop"
    if len(body.split()) > 6:
        return None
    for answer, pattern in _ANSWER:
        if pattern.match(body):
            return answer
    return None


def answer(session: Session, conversation: Conversation, body: str, *, now: datetime | None = None) -> str | None:
    """The resident's answer to a sent follow-up (or "stop" to any waiting one), recorded;
    None when this message is not such an answer. The caller replies with
    text(f"opvolging.antwoord.{result}") and, for "hulp", lets the bot offer a person."""
    waiting = session.scalars(
        select(FollowUp).where(
            FollowUp.conversation_id == conversation.id, FollowUp.status.in_((Status.GEPLAND, Status.VERSTUURD))
        )
    ).all()
    if not waiting:
        return None
    result = read_answer(body)
    now = as_utc(now or utcnow())
    if result == "stop":
        for follow_up in waiting:
            follow_up.status = Status.GESTOPT
        return "stop"
    sent = [f for f in waiting if f.status == Status.VERSTUURD]
    if result is None or not sent:
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
