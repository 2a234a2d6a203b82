"""Promises on the loket's calendar: opening hours and Dutch public holidays."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.opening_hours import callback_deadline, is_holiday, is_open, sla_deadline

TZ = ZoneInfo("Europe/Amsterdam")
HOURS = "ma-vr 08:30-17:00"


def at(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


def test_public_holidays_are_closed_days():
    assert is_holiday(at(2026, 12, 25).date()) and is_holiday(at(2026, 4, 27).date())  # Kerst, Koningsdag
    assert not is_open(HOURS, at(2026, 12, 25, 10, 0))  # a Friday
    assert is_open(HOURS, at(2026, 12, 24, 10, 0))


def test_a_normal_ticket_at_dawn_is_due_on_an_opening_day_not_on_saturday_morning():
    # Wednesday 05:41, urgency normaal (72 hours): Wednesday, Thursday, Friday: Friday 17:00.
    assert sla_deadline(HOURS, at(2026, 12, 2, 5, 41), 72) == at(2026, 12, 4, 17, 0)
    # High (24 hours) late on a Friday: Monday before closing, not Saturday.
    assert sla_deadline(HOURS, at(2026, 12, 4, 16, 0), 24) == at(2026, 12, 7, 17, 0)


def test_christmas_and_new_year_are_skipped():
    # Thursday 24 December 16:00 (one hour left), one opening day: not Friday 25 (Kerst), Monday 28.
    assert callback_deadline(HOURS, at(2026, 12, 24, 16, 0)) == at(2026, 12, 28, 17, 0)
    # Thursday 31 December, 3 opening days: 31 Dec, (1 Jan Nieuwjaar), Mon 4, Tue 5 January.
    assert sla_deadline(HOURS, at(2026, 12, 31, 9, 0), 72) == at(2027, 1, 5, 17, 0)


def test_a_loket_that_never_opens_makes_no_promise():
    assert callback_deadline("altijd", at(2026, 12, 2, 9, 0)) is None
