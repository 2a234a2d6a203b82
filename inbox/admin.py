"""Beheer: the beheerder manages staff accounts, teams and wijken (with their postcodes)."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from handover import audit
from handover.models import PostcodeRange, StaffUser, Team, Wijk, parse_postcode_ranges
from inbox.auth import hash_password, role_required
from inbox.forms import TeamForm, UserForm, WijkForm, choices
from inbox.views import setup_blueprint

bp = Blueprint("inbox_admin", __name__, url_prefix="/inbox/beheer")
setup_blueprint(bp)


def _teams() -> list[Team]:
    return list(g.db.scalars(select(Team).order_by(Team.name)))


@bp.get("/")
@role_required("beheerder")
def index():
    users = list(g.db.scalars(select(StaffUser).order_by(StaffUser.display_name)))
    wijken = list(g.db.scalars(select(Wijk).order_by(Wijk.name)))
    return render_template("inbox/admin/index.html", users=users, teams=_teams(), wijken=wijken)


@bp.route("/gebruikers/nieuw", methods=["GET", "POST"], defaults={"user_id": None})
@bp.route("/gebruikers/<int:user_id>", methods=["GET", "POST"])
@role_required("beheerder")
def user_edit(user_id: int | None):
    user = g.db.get(StaffUser, user_id) if user_id else None
    if user_id and user is None:
        return render_template(
            "inbox/error.html", code=404, title="Niet gevonden", message="Deze gebruiker bestaat niet."
        ), 404
    form = UserForm(obj=user if request.method == "GET" else None)
    form.teams.choices = choices((t.id, t.name) for t in _teams())
    if request.method == "GET" and user is not None:
        form.teams.data = [t.id for t in user.teams]
    if form.validate_on_submit():
        clash = g.db.scalar(select(StaffUser).where(func.lower(StaffUser.username) == form.username.data.lower()))
        if clash is not None and clash is not user:
            form.username.errors.append("Deze gebruikersnaam bestaat al.")
        elif user is None and not form.password.data:
            form.password.errors.append("Een nieuwe gebruiker heeft een wachtwoord nodig.")
        else:
            creating = user is None
            if creating:
                user = StaffUser(password_hash="")
                g.db.add(user)
            user.username, user.display_name = form.username.data, form.display_name.data
            user.email, user.role, user.active = form.email.data or None, form.role.data, form.active.data
            user.teams = [t for t in _teams() if t.id in set(form.teams.data or [])]
            changed = {"role": user.role, "active": user.active, "team_ids": [t.id for t in user.teams]}
            if form.password.data:
                user.password_hash = hash_password(form.password.data)
                user.session_token = None  # signs out everywhere
                changed["password_reset"] = True
            if form.unlock.data:
                user.locked_until, user.failed_logins = None, 0
                changed["unlocked"] = True
            if form.reset_second_factor.data and user.totp_secret:
                # A lost phone: the next sign-in sets the app up again (after the password).
                user.totp_secret, user.totp_last_step, user.session_token = None, None, None
                changed["second_factor_reset"] = True
            if not user.active:
                user.session_token = None
            g.db.flush()
            audit.record(
                g.db,
                "user_created" if creating else "user_changed",
                user=g.staff,
                detail={"target_user_id": user.id, **changed},
                ip=request.remote_addr,
            )
            g.db.commit()
            flash(f"Gebruiker {user.display_name} opgeslagen.", "success")
            return redirect(url_for("inbox_admin.index"))
    return render_template("inbox/admin/user.html", form=form, user=user), (400 if request.method == "POST" else 200)


@bp.route("/teams/nieuw", methods=["GET", "POST"], defaults={"team_id": None})
@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
@role_required("beheerder")
def team_edit(team_id: int | None):
    team = g.db.get(Team, team_id) if team_id else None
    if team_id and team is None:
        return render_template(
            "inbox/error.html", code=404, title="Niet gevonden", message="Dit team bestaat niet."
        ), 404
    form = TeamForm(obj=team if request.method == "GET" else None)
    if form.validate_on_submit():
        clash = g.db.scalar(select(Team).where(func.lower(Team.name) == form.name.data.lower()))
        if clash is not None and clash is not team:
            form.name.errors.append("Er is al een team met deze naam.")
        else:
            creating = team is None
            if creating:
                team = Team()
                g.db.add(team)
            team.name, team.phone, team.active = form.name.data, form.phone.data or None, form.active.data
            if form.is_default.data:  # one default team: the others lose the mark
                for other in _teams():
                    other.is_default = False
            team.is_default = form.is_default.data
            g.db.flush()
            audit.record(
                g.db,
                "team_created" if creating else "team_changed",
                user=g.staff,
                detail={"team_id": team.id, "is_default": team.is_default, "active": team.active},
                ip=request.remote_addr,
            )
            g.db.commit()
            flash(f"Team {team.name} opgeslagen.", "success")
            return redirect(url_for("inbox_admin.index"))
    return render_template("inbox/admin/team.html", form=form, team=team), (400 if request.method == "POST" else 200)


@bp.route("/wijken/nieuw", methods=["GET", "POST"], defaults={"wijk_id": None})
@bp.route("/wijken/<int:wijk_id>", methods=["GET", "POST"])
@role_required("beheerder")
def wijk_edit(wijk_id: int | None):
    wijk = g.db.get(Wijk, wijk_id) if wijk_id else None
    if wijk_id and wijk is None:
        return render_template(
            "inbox/error.html", code=404, title="Niet gevonden", message="Deze wijk bestaat niet."
        ), 404
    form = WijkForm()
    form.team.choices = choices((t.id, t.name) for t in _teams())
    if request.method == "GET" and wijk is not None:
        form.name.data, form.team.data, form.postcodes.data = wijk.name, wijk.team_id, wijk.ranges_text()
    if form.validate_on_submit():
        try:
            ranges = parse_postcode_ranges(form.postcodes.data)
        except ValueError as exc:
            form.postcodes.errors.append(str(exc))
        else:
            clash = g.db.scalar(select(Wijk).where(func.lower(Wijk.name) == form.name.data.lower()))
            if clash is not None and clash is not wijk:
                form.name.errors.append("Er is al een wijk met deze naam.")
            else:
                creating = wijk is None
                if creating:
                    wijk = Wijk()
                    g.db.add(wijk)
                wijk.name, wijk.team_id = form.name.data, form.team.data
                wijk.postcode_ranges = [PostcodeRange(start=s, end=e) for s, e in ranges]
                g.db.flush()
                audit.record(
                    g.db,
                    "wijk_created" if creating else "wijk_changed",
                    user=g.staff,
                    detail={"wijk_id": wijk.id, "team_id": wijk.team_id, "postcodes": wijk.ranges_text()},
                    ip=request.remote_addr,
                )
                g.db.commit()
                flash(f"Wijk {wijk.name} opgeslagen.", "success")
                return redirect(url_for("inbox_admin.index"))
    return render_template("inbox/admin/wijk.html", form=form, wijk=wijk), (400 if request.method == "POST" else 200)
