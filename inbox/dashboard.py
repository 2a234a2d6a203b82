"""The signalen dashboard for coordinators (issue 15): what residents ask about, per week
and per wijk, which levensgebieden come together, what the sociale kaart could not answer,
how referrals went (opvolging), handovers per team with SLA met or missed, channel use and
crisis contacts as a count. Numbers come only from stored data; every count from 1 to 4 is
shown as "< 5", so no resident can be recognised (also in the CSV and the charts), and a total whose parts
hide a count shows only "≥ n". Known limit: comparing two periods that differ by a day can
still reveal a small difference; rounding every count to 5 would close that too."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from itertools import combinations

from sqlalchemy import select
from sqlalchemy.orm import Session

from conversations.models import Conversation, as_utc
from conversations.opvolging import report as opvolging_report
from core.taxonomy import label
from core.timefmt import loket_zone
from handover.models import HandoverTicket, Team
from sociale_kaart.models import UnmetQuestion

MIN_COUNT = 5
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)
SUPPRESSED = "< 5"
CHANNELS = {"web": "Website", "whatsapp": "WhatsApp", "voice": "Telefoon"}


def shown(n: int) -> int | str:
    """A count as it may be shown: 1 to 4 becomes "< 5" (0 says nothing about anyone)."""
    return SUPPRESSED if 0 < n < MIN_COUNT else n


@dataclass
class Filters:
    start: date
    end: date  # inclusive
    wijk_id: int | None = None
    channel: str | None = None

    @classmethod
    def from_args(cls, args, today: date | None = None) -> Filters:
        today = today or datetime.now(loket_zone()).date()

        def day(name: str, default: date) -> date:
            try:
                value = date.fromisoformat(args.get(name, ""))
            except ValueError:
                return default
            return min(max(value, EARLIEST), LATEST)  # no overflow at the ends of the calendar

        end = day("tot", today)
        start = day("van", end - timedelta(weeks=12))
        wijk = args.get("wijk", "")
        wijk = wijk if wijk.isascii() else ""  # "²".isdigit() is True
        channel = args.get("kanaal", "")
        return cls(
            start=min(start, end),
            end=end,
            wijk_id=int(wijk) if wijk.isdigit() else None,
            channel=channel if channel in CHANNELS else None,
        )

    def bounds(self) -> tuple[datetime, datetime]:
        zone = loket_zone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone).astimezone(timezone.utc),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone).astimezone(timezone.utc),
        )


@dataclass
class Table:
    """One block of the dashboard: a title, column headers and rows of raw counts."""

    key: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    # (total column, its part columns): a total whose parts hide a count is shown as "≥ n"
    # (n: the parts shown), else the hidden part would follow by subtraction.
    total_of: tuple[int, tuple[int, ...]] | None = None

    def shown_rows(self) -> list[list]:
        out = []
        for row in self.rows:
            cells = [shown(c) if isinstance(c, int) and i else c for i, c in enumerate(row)]
            if self.total_of is not None:
                total, parts = self.total_of
                if any(cells[p] == SUPPRESSED for p in parts) and cells[total] != SUPPRESSED:
                    cells[total] = f"≥ {sum(row[p] for p in parts if cells[p] != SUPPRESSED)}"
            out.append(cells)
        return out

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(self.columns)
        writer.writerows(self.shown_rows())
        return out.getvalue()


def _week(moment: datetime) -> str:
    year, week, _ = as_utc(moment).astimezone(loket_zone()).isocalendar()
    return f"{year}-W{week:02d}"


def build(session: Session, filters: Filters) -> dict[str, Table]:
    start, end = filters.bounds()
    conversations = select(Conversation).where(Conversation.created_at >= start, Conversation.created_at < end)
    if filters.channel:
        conversations = conversations.where(Conversation.channel == filters.channel)
    tickets = (
        select(HandoverTicket)
        .join(Conversation, HandoverTicket.conversation_id == Conversation.id)
        .where(HandoverTicket.created_at >= start, HandoverTicket.created_at < end)
    )
    if filters.channel:
        tickets = tickets.where(Conversation.channel == filters.channel)
    if filters.wijk_id is not None:
        tickets = tickets.where(HandoverTicket.wijk_id == filters.wijk_id)
    convs = list(session.scalars(conversations))
    ticket_rows = list(session.scalars(tickets))

    per_week: Counter = Counter()
    together: Counter = Counter()
    channels: Counter = Counter()
    crisis = 0
    for c in convs:
        codes = sorted(c.levensgebieden or {})
        for code in codes:
            per_week[(_week(c.created_at), code)] += 1
        for pair in combinations(codes, 2):
            together[pair] += 1
        channels[c.channel] += 1
        crisis += bool(c.crisis)
    weeks = sorted({w for w, _ in per_week})
    codes_seen = sorted({code for _, code in per_week}, key=lambda code: -sum(per_week[(w, code)] for w in weeks))
    tables = {
        "levensgebieden_per_week": Table(
            "levensgebieden_per_week",
            "Levensgebieden per week (gesprekken)",
            ["Levensgebied", *weeks, "Totaal"],
            [
                [label(code), *[per_week[(w, code)] for w in weeks], sum(per_week[(w, code)] for w in weeks)]
                for code in codes_seen
            ],
            total_of=(len(weeks) + 1, tuple(range(1, len(weeks) + 1))),
        ),
    }
    per_wijk: Counter = Counter()
    wijken: dict[int | None, str] = {}
    for t in ticket_rows:
        name = t.wijk.name if t.wijk else "Onbekende wijk"
        wijken[t.wijk_id] = name
        for code in t.levensgebieden or {}:
            per_wijk[(name, code)] += 1
    wijk_names = sorted(set(wijken.values()))
    wijk_codes = sorted({code for _, code in per_wijk})
    tables["levensgebieden_per_wijk"] = Table(
        "levensgebieden_per_wijk",
        "Levensgebieden per wijk (overdrachten)",
        ["Levensgebied", *wijk_names],
        [[label(code), *[per_wijk[(w, code)] for w in wijk_names]] for code in wijk_codes],
    )
    tables["samen"] = Table(
        "samen",
        "Levensgebieden die samen voorkomen (gesprekken)",
        ["Levensgebieden", "Gesprekken"],
        [[f"{label(a)} + {label(b)}", n] for (a, b), n in together.most_common(15)],
    )
    unmet_query = select(UnmetQuestion).where(UnmetQuestion.asked_at >= start, UnmetQuestion.asked_at < end)
    unmet: Counter = Counter()
    for question in session.scalars(unmet_query):
        for code in [c for c in question.levensgebieden.split(",") if c] or ["onbekend"]:
            unmet[code] += 1
    tables["geen_aanbod"] = Table(
        "geen_aanbod",
        "Vragen zonder passend aanbod in de sociale kaart, per levensgebied",
        ["Levensgebied", "Vragen"],
        [[label(code) if code != "onbekend" else "Onbekend", n] for code, n in unmet.most_common()],
    )
    tables["opvolging"] = Table(
        "opvolging",
        "Verwijzingen en hoe het ging (opvolging)",
        ["Aanbod", "Gevraagd", "Gelukt", "Nog niet", "Wil hulp", "Geen antwoord", "Gestopt"],
        [[name, *counts.values()] for name, counts in opvolging_report(session, since=start).items()],
    )
    per_team: dict[str, Counter] = {}
    teams = {t.id: t.name for t in session.scalars(select(Team))}
    for t in ticket_rows:
        counts = per_team.setdefault(teams.get(t.team_id, "Zonder team"), Counter())
        counts["overdrachten"] += 1
        if t.contacted_at is not None:
            counts["op_tijd" if as_utc(t.contacted_at) <= as_utc(t.due_at) else "te_laat"] += 1
        elif as_utc(t.due_at) < datetime.now(timezone.utc):
            counts["te_laat"] += 1
        else:
            counts["loopt"] += 1
        counts["meldingen"] += t.is_melding
    tables["teams"] = Table(
        "teams",
        "Overdrachten per team, met de SLA (eerste contact op tijd)",
        ["Team", "Overdrachten", "Op tijd", "Te laat", "Loopt nog", "Waarvan meldingen door anderen"],
        [
            [name, c["overdrachten"], c["op_tijd"], c["te_laat"], c["loopt"], c["meldingen"]]
            for name, c in sorted(per_team.items())
        ],
        total_of=(1, (2, 3, 4)),
    )
    tables["kanalen"] = Table(
        "kanalen",
        "Gesprekken per kanaal",
        ["Kanaal", "Gesprekken"],
        [[CHANNELS.get(ch, ch), channels[ch]] for ch in CHANNELS if channels[ch]],
    )
    tables["crisis"] = Table("crisis", "Crisiscontacten (alleen het aantal)", ["", "Gesprekken"], [["Crisis", crisis]])
    return tables
