"""When the loket is open, and the promises that follow from it. LOKET_HOURS ("ma-vr
08:30-17:00; za 10:00-12:00") gives the weekly windows; Dutch public holidays (the
`holidays` library: Nieuwjaarsdag, Pasen, Koningsdag, Hemelvaart, Pinksteren, Kerst, and
Bevrijdingsdag in lustrum years) are closed days. Every promise to a resident (a
callback, a handover ticket's "vóór ...") and the inbox's SLA use this one calendar.
Times are in the loket's own time zone."""

from __future__ import annotations

import logging
import math
import re
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

log = logging.getLogger(__name__)

DAY_CODES = ["ma", "di", "wo", "do", "vr", "za", "zo"]
# A day counts towards a promise only while this much of its opening time is left.
MIN_HOURS_LEFT = 2


def parse_hours(spec: str) -> list[tuple[set[int], time, time]]:
    """'ma-vr 08:30-17:00; za 10:00-12:00' -> [(weekdays, opens, closes), ...].
    Days: ma di wo do vr za zo, as a range (ma-vr) or a list (ma,wo). Unreadable parts are
    skipped with a warning: better a callback than a transfer to a closed line."""
    rules = []
    for segment in filter(None, (s.strip() for s in (spec or "").lower().split(";"))):
        match = re.fullmatch(r"([a-z,\- ]+?)\s+(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})", segment)
        if not match:
            log.warning("LOKET_HOURS part not understood: %r", segment)
            continue
        days: set[int] = set()
        for part in re.split(r"\s*,\s*", match.group(1).strip()):
            ends = [p.strip() for p in part.split("-")]
            if not all(e in DAY_CODES for e in ends):
                days = set()
                break
            first, last = DAY_CODES.index(ends[0]), DAY_CODES.index(ends[-1])
            days |= set(range(first, last + 1)) if first <= last else set(range(first, 7)) | set(range(0, last + 1))
        h1, m1, h2, m2 = (int(match.group(i)) for i in range(2, 6))
        if not days or h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59:
            log.warning("LOKET_HOURS part not understood: %r", segment)
            continue
        closes = time(23, 59, 59) if h2 == 24 else time(h2, m2)
        rules.append((days, time(h1, m1), closes))
    return rules


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("NL", years=year))


def is_holiday(day: date) -> bool:
    return day in _holidays(day.year)


def _windows(spec: str, day: date) -> list[tuple[time, time]]:
    if is_holiday(day):
        return []
    return sorted((o, c) for days, o, c in parse_hours(spec) if day.weekday() in days)


def is_open(spec: str, moment: datetime) -> bool:
    """`moment` in the loket's own time zone."""
    return any(opens <= moment.time() < closes for opens, closes in _windows(spec, moment.date()))


def next_open_moment(spec: str, moment: datetime) -> datetime | None:
    """`moment` when the loket is open then, else the start of the next opening window
    (a message that starts on our side is never sent at night, on a Sunday or a holiday)."""
    if is_open(spec, moment):
        return moment
    for ahead in range(370):
        day = (moment + timedelta(days=ahead)).date()
        for opens, _closes in _windows(spec, day):
            start = datetime.combine(day, opens, tzinfo=moment.tzinfo)
            if start > moment:
                return start
    return None


def promise_deadline(spec: str, moment: datetime, opening_days: int = 1) -> datetime | None:
    """The end of the `opening_days`-th opening window from `moment`: the window we are
    in counts when MIN_HOURS_LEFT of it is left, a later one always. 1 is "today before
    closing, or the next opening day"; holidays and closed days are skipped. None when the
    hours say the loket never opens (in the next year)."""
    counted = 0
    for ahead in range(370):
        day = (moment + timedelta(days=ahead)).date()
        for opens, closes in _windows(spec, day):
            start = datetime.combine(day, opens, tzinfo=moment.tzinfo)
            end = datetime.combine(day, closes, tzinfo=moment.tzinfo)
            if start > moment or end - moment >= timedelta(hours=MIN_HOURS_LEFT):
                counted += 1
                if counted == opening_days:
                    return end
    return None


def callback_deadline(spec: str, moment: datetime) -> datetime | None:
    """The promise for a callback: today before closing when enough of today is left, else
    the end of the next opening window ("we bellen u terug op dinsdag, vóór 17 uur")."""
    return promise_deadline(spec, moment, 1)


def sla_deadline(spec: str, moment: datetime, sla_hours: float) -> datetime | None:
    """A ticket's deadline: its SLA in whole opening days (24 hours = 1 opening day, 72 =
    3), so no promise falls on a night, a weekend or a holiday when nobody works."""
    return promise_deadline(spec, moment, max(1, math.ceil(sla_hours / 24)))
