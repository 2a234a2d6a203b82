"""Times as a loket employee and a resident read them: Dutch, local time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from core.config import get_settings
from core.messages import text


@lru_cache(maxsize=4)
def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except Exception:  # no tz database on this machine: show UTC rather than fail
        return timezone.utc


def loket_zone() -> tzinfo:
    """The loket's own time zone (LOKET_TIMEZONE), the one every promise is made in."""
    return _zone(get_settings().loket_timezone)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back; everything we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)


def local(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(loket_zone())


def dutch_datetime(moment: datetime | None, *, seconds: bool = False) -> str:
    """'di 14 mei 2024 15:30' (or 15:30:07 with seconds, for the audit log)"""
    if moment is None:
        return ""
    m = local(moment)
    clock = f"{m:%H:%M:%S}" if seconds else f"{m:%H:%M}"
    return f"{DAYS[m.weekday()][:2]} {m.day} {MONTHS[m.month - 1]} {m.year} {clock}"


def deadline_day(moment: datetime, now: datetime | None = None) -> tuple[str, datetime]:
    """The promise to a resident, rounded up to the whole hour (easy to remember, never
    earlier than the SLA): ("today" | "tomorrow" | "later", the local rounded moment)."""
    m = local(moment)
    if m.minute or m.second or m.microsecond:
        m = m.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    today = local(now or datetime.now(timezone.utc)).date()
    if m.date() == today:
        return "today", m
    if m.date() == today + timedelta(days=1):
        return "tomorrow", m
    return "later", m


DAY_WORDS = {"today": "vandaag", "tomorrow": "morgen"}


def day_and_date(moment: datetime) -> str:
    """'vrijdag 17 mei'"""
    return f"{DAYS[moment.weekday()]} {moment.day} {MONTHS[moment.month - 1]}"


def day_text(moment: datetime, lang: str) -> str:
    """The day in the resident's language: 'vrijdag 17 mei', 'Friday 17 May'."""
    return day_and_date(moment) if lang != "en" else f"{moment:%A} {moment.day} {moment:%B}"  # %A/%B: C locale


def dutch_deadline(moment: datetime, now: datetime | None = None) -> str:
    """For residents: 'vandaag vóór 16:00', 'morgen vóór 12:00', 'vrijdag 17 mei vóór 09:00'."""
    return deadline_text(moment, "nl", now)


def deadline_text(moment: datetime, lang: str, now: datetime | None = None) -> str:
    """The promise in the resident's language: 'morgen vóór 12:00', 'Monday 7 December before 12:00'."""
    kind, m = deadline_day(moment, now)
    return text(f"deadline.{kind}", lang, day=day_text(m, lang), time=f"{m:%H:%M}")


def duration(delta: timedelta) -> str:
    """'2 d 3 u', '3 u 20 min', '12 min' (absolute)."""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} u"
    if hours:
        return f"{hours} u {mins} min"
    return f"{mins} min"
