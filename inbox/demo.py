"""The demo municipality's wijkteams, so `make run` routes handovers somewhere real.
Only when no team exists yet: a municipality's own teams are never touched."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from handover import audit
from handover.models import PostcodeRange, Team, Wijk

# Enschede's postcode areas, grouped into two demo teams (the phone is the loket's).
DEMO_TEAMS = {
    "Wijkteam Noord (demo)": {"default": True, "wijken": {"Noord": [(7521, 7525)], "Centrum": [(7511, 7515)]}},
    "Wijkteam Zuid (demo)": {"default": False, "wijken": {"Zuid": [(7541, 7548)], "Oost": [(7531, 7536)]}},
}


def ensure_demo_teams(session: Session, loket_phone: str) -> str:
    if session.scalar(select(Team.id).limit(1)) is not None:
        return "teams exist, left as they are"
    for name, spec in DEMO_TEAMS.items():
        team = Team(name=name, phone=loket_phone, is_default=spec["default"])
        for wijk_name, ranges in spec["wijken"].items():
            team.wijken.append(Wijk(name=wijk_name, postcode_ranges=[PostcodeRange(start=s, end=e) for s, e in ranges]))
        session.add(team)
        session.flush()
        audit.record(session, "team_created", username="setup", detail={"team_id": team.id, "demo": True})
    return f"created {len(DEMO_TEAMS)} demo wijkteams"
