"""`iad users`, `iad teams`, `iad wijken`, `iad retention`: set-up and the nightly job.
The lead registers these groups on the `iad` CLI (iad/cli.py)."""

from __future__ import annotations

import json

import click
from sqlalchemy import func, select

from core.config import get_settings
from core.db import get_engine, session_scope


def _session():
    return session_scope(get_engine(get_settings().database_url))


@click.group()
def users() -> None:
    """Staff accounts of the inbox."""


@users.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="Shown to colleagues.")
@click.option(
    "--role", type=click.Choice(["medewerker", "coordinator", "beheerder"]), default="medewerker", show_default=True
)
@click.option("--team", "team_names", multiple=True, help="Team name (repeatable); the team must exist.")
@click.option("--email", default=None)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="IAD_NEW_PASSWORD",
    help="Asked for when not given (or set IAD_NEW_PASSWORD for scripts).",
)
def users_create(
    username: str, display_name: str, role: str, team_names: tuple[str, ...], email: str | None, password: str
) -> None:
    """Make a staff account; `--role beheerder` makes the first administrator."""
    # imported when the command runs: every `iad` command loads this module (inbox.auth alone takes 1 s)
    from handover import audit
    from handover.models import StaffUser, Team
    from inbox.auth import PasswordTooWeak, hash_password

    try:
        password_hash = hash_password(password)
    except PasswordTooWeak as exc:
        raise click.BadParameter(str(exc), param_hint="--password") from exc
    with _session() as session:
        if session.scalar(select(StaffUser).where(func.lower(StaffUser.username) == username.lower())):
            raise click.ClickException(f"user {username!r} exists already")
        teams = []
        for name in team_names:
            team = session.scalar(select(Team).where(func.lower(Team.name) == name.lower()))
            if team is None:
                raise click.ClickException(f"no team {name!r}: create it with `iad teams create --name ...`")
            teams.append(team)
        user = StaffUser(
            username=username,
            display_name=display_name,
            role=role,
            email=email,
            password_hash=password_hash,
            teams=teams,
        )
        session.add(user)
        session.flush()
        audit.record(
            session,
            "user_created",
            username="cli",
            detail={"target_user_id": user.id, "role": role, "team_ids": [t.id for t in teams]},
        )
        click.echo(f"created {role} {username} (id {user.id})")


@users.command("reset-second-factor")
@click.option("--username", required=True)
def users_reset_second_factor(username: str) -> None:
    """A lost phone, or a new SECRET_KEY: the next sign-in sets the authenticator app up again."""
    # imported when the command runs: every `iad` command loads this module (inbox.auth alone takes 1 s)
    from handover import audit
    from handover.models import StaffUser

    with _session() as session:
        user = session.scalar(select(StaffUser).where(func.lower(StaffUser.username) == username.lower()))
        if user is None:
            raise click.ClickException(f"no user {username!r}")
        user.totp_secret, user.totp_last_step, user.session_token = None, None, None
        audit.record(
            session, "user_changed", username="cli", detail={"target_user_id": user.id, "second_factor_reset": True}
        )
        click.echo(f"{username}: the second factor is set up again at the next sign-in")


@click.group()
def teams() -> None:
    """Wijkteams: one queue each."""


@teams.command("create")
@click.option("--name", required=True)
@click.option("--phone", default=None, help="Shown to the resident.")
@click.option("--default", "is_default", is_flag=True, help="Receives handovers whose wijk is unknown.")
def teams_create(name: str, phone: str | None, is_default: bool) -> None:
    # imported when the command runs: every `iad` command loads this module (inbox.auth alone takes 1 s)
    from handover import audit
    from handover.models import Team

    with _session() as session:
        if session.scalar(select(Team).where(func.lower(Team.name) == name.lower())):
            raise click.ClickException(f"team {name!r} exists already")
        if is_default:
            for other in session.scalars(select(Team)):
                other.is_default = False
        team = Team(name=name, phone=phone, is_default=is_default)
        session.add(team)
        session.flush()
        audit.record(session, "team_created", username="cli", detail={"team_id": team.id, "is_default": is_default})
        click.echo(f"created team {name} (id {team.id})")


@click.group()
def wijken() -> None:
    """Wijken and their postcodes, for routing handovers to the right wijkteam."""


@wijken.command("create")
@click.option("--name", required=True)
@click.option("--team", "team_name", required=True)
@click.option("--postcodes", required=True, help="Four-digit postcodes: '7511-7515, 7521'.")
def wijken_create(name: str, team_name: str, postcodes: str) -> None:
    # imported when the command runs: every `iad` command loads this module (inbox.auth alone takes 1 s)
    from handover import audit
    from handover.models import PostcodeRange, Team, Wijk, parse_postcode_ranges

    try:
        ranges = parse_postcode_ranges(postcodes)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--postcodes") from exc
    with _session() as session:
        team = session.scalar(select(Team).where(func.lower(Team.name) == team_name.lower()))
        if team is None:
            raise click.ClickException(f"no team {team_name!r}")
        wijk = Wijk(name=name, team=team, postcode_ranges=[PostcodeRange(start=s, end=e) for s, e in ranges])
        session.add(wijk)
        session.flush()
        audit.record(
            session,
            "wijk_created",
            username="cli",
            detail={"wijk_id": wijk.id, "team_id": team.id, "postcodes": wijk.ranges_text()},
        )
        click.echo(f"created wijk {name} ({wijk.ranges_text()}) -> {team.name}")


@click.group()
def retention() -> None:
    """Deleting and redacting what is kept too long."""


@retention.command("run")
def retention_run() -> None:
    """Delete closed tickets and old conversations; redact unconsented transcripts. Run daily."""
    # imported when the command runs: every `iad` command loads this module (inbox.auth alone takes 1 s)
    from handover.retention import run_retention

    with _session() as session:
        counts = run_retention(session)
    click.echo(json.dumps(counts))
