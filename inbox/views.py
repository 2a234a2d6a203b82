"""The loket staff's inbox: thin views over inbox.tickets; everything under /inbox/."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from sqlalchemy import select

from conversations.models import Status, utcnow
from conversations.outbound import DeliveryFailed
from core.taxonomy import levensgebieden as all_levensgebieden
from core.timefmt import dutch_datetime
from handover import audit
from handover.models import (
    BETROKKENE_WEET,
    CLOSING_REASONS,
    CONSENT_SCOPES,
    CONTACT_PREFERENCES,
    MELDER_RELATIONS,
    REASONS,
    STATUSES,
    URGENCY_LABELS,
    AuditLog,
    HandoverTicket,
    StaffUser,
    Team,
    Wijk,
)
from inbox import dashboard, second_factor, tickets
from inbox.auth import (
    check_password,
    complete_login,
    count_failure,
    end_session,
    is_locked,
    load_staff_user,
    login_required,
    role_required,
    start_session,
)
from inbox.export import DELIVERY_LABELS, SENDER_LABELS, ticket_export, ticket_pdf
from inbox.forms import (
    ActionForm,
    AssignForm,
    CodeForm,
    LoginForm,
    NoteForm,
    ReassignForm,
    ReplyForm,
    StatusForm,
    choices,
)

bp = Blueprint("inbox", __name__, url_prefix="/inbox", template_folder="templates", static_folder="static")


# --- every request ----------------------------------------------------------------------


def before_inbox_request() -> None:
    """Shared by the inbox blueprints: CSRF on every POST, then who is signed in."""
    if request.method == "POST":
        current_app.extensions["csrf"].protect()
    load_staff_user(current_app.extensions["inbox_settings"])


def after_inbox_request(response: Response) -> Response:
    # Personal data: never cached; no script at all, so injected HTML has nothing to run.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.app_template_filter("dutch_datetime")
def _dutch_datetime(value, seconds: bool = False):
    return dutch_datetime(value, seconds=seconds)


def _labels():
    return {
        "STATUSES": STATUSES,
        "REASONS": REASONS,
        "URGENCY_LABELS": URGENCY_LABELS,
        "CONTACT_PREFERENCES": CONTACT_PREFERENCES,
        "CONSENT_SCOPES": CONSENT_SCOPES,
        "CLOSING_REASONS": CLOSING_REASONS,
        "MELDER_RELATIONS": MELDER_RELATIONS,
        "BETROKKENE_WEET": BETROKKENE_WEET,
        "SENDER_LABELS": SENDER_LABELS,
        "DELIVERY_LABELS": DELIVERY_LABELS,
        "LEVENSGEBIEDEN": {lg.code: lg.label for lg in all_levensgebieden()},
        "staff": g.get("staff"),
        "action_form": ActionForm(),
    }


def _ip() -> str | None:
    return request.remote_addr


def _csrf_error(exc: CSRFError):
    return render_template(
        "inbox/error.html",
        code=400,
        title="Formulier verlopen",
        message="Het formulier was verlopen of ongeldig. Ga terug, laad de pagina opnieuw en probeer het nog eens.",
    ), 400


def _forbidden(_exc):
    return render_template(
        "inbox/error.html",
        code=403,
        title="Geen toegang",
        message="U hebt geen toegang tot deze pagina. Dit is vastgelegd.",
    ), 403


def _not_found(_exc):
    return render_template(
        "inbox/error.html", code=404, title="Niet gevonden", message="Deze pagina of melding bestaat niet (meer)."
    ), 404


def setup_blueprint(blueprint: Blueprint) -> None:
    """What every inbox blueprint shares: CSRF and sign-in before, safety headers after,
    the labels in templates, and error pages in the inbox's own look."""
    blueprint.before_request(before_inbox_request)
    blueprint.after_request(after_inbox_request)
    blueprint.context_processor(_labels)
    blueprint.register_error_handler(CSRFError, _csrf_error)
    blueprint.register_error_handler(403, _forbidden)
    blueprint.register_error_handler(404, _not_found)


setup_blueprint(bp)


# --- sign in and out --------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/inbox/"):
            return target
    return url_for("inbox.queue")


def _flash_locked() -> None:
    minutes = current_app.extensions["inbox_settings"].lockout_minutes
    flash(
        "Dit account is tijdelijk geblokkeerd na te veel mislukte pogingen. Probeer het "
        f"over {minutes} minuten opnieuw, of vraag een beheerder.",
        "error",
    )


def _signed_in(user: StaffUser, next_url: str | None):
    complete_login(g.db, user, ip=_ip())
    g.db.commit()
    start_session(user)
    return redirect(_safe_next(next_url))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if g.staff is not None:
        return redirect(url_for("inbox.queue"))
    form = LoginForm()
    if form.validate_on_submit():
        settings = current_app.extensions["inbox_settings"]
        result = check_password(g.db, form.username.data, form.password.data, settings, ip=_ip())
        g.db.commit()
        if result.user is not None:
            if result.user.totp_secret or settings.second_factor:
                second_factor.begin(result.user, request.args.get("next"))
                return redirect(url_for("inbox.login_code"))
            return _signed_in(result.user, request.args.get("next"))
        if result.error == "locked":
            _flash_locked()
        else:
            flash("Gebruikersnaam of wachtwoord klopt niet.", "error")
        return render_template("inbox/login.html", form=form), 401
    return render_template("inbox/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step: the code from the authenticator app, or at the first sign-in the QR
    code to set the app up (inbox/second_factor.py)."""
    user_id = second_factor.pending_user_id()
    user = g.db.get(StaffUser, user_id) if user_id is not None else None
    if user is None or not user.active:
        session.clear()
        flash("Log opnieuw in. Na het wachtwoord hebt u 5 minuten voor de code.", "info")
        return redirect(url_for("inbox.login"))
    if is_locked(user):
        # Locked by wrong codes or passwords: the step between stops too, even for a browser
        # that keeps sending its old cookie (the lock lives in the database, not in the cookie).
        session.clear()
        _flash_locked()
        return redirect(url_for("inbox.login"))
    secret_key = current_app.config["SECRET_KEY"]
    enrolled = second_factor.unseal(user.totp_secret, secret_key)
    if user.totp_secret and enrolled is None:
        # Sealed with another SECRET_KEY: setting up a new app here would let anyone who has
        # only the password choose the second factor. A beheerder resets it instead.
        session.clear()
        current_app.logger.warning("second factor of staff user %s cannot be read (SECRET_KEY changed?)", user.id)
        flash("Uw tweede stap moet opnieuw worden ingesteld. Vraag dit aan een beheerder.", "error")
        return redirect(url_for("inbox.login"))
    secret = enrolled or second_factor.enrolment_secret(secret_key)
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        step = second_factor.matching_step(secret, form.code.data)
        if step is not None and second_factor.use_step(g.db, user, step):
            if is_locked(user, fresh=True):  # locked by a parallel guess a moment ago
                g.db.commit()  # the code is spent all the same
                session.clear()
                _flash_locked()
                return redirect(url_for("inbox.login"))
            if not enrolled:
                user.totp_secret = second_factor.seal(secret, secret_key)
                audit.record(g.db, "second_factor_enrolled", user=user, ip=_ip())
            return _signed_in(user, second_factor.pending_next())
        settings = current_app.extensions["inbox_settings"]
        result = count_failure(g.db, user, settings, ip=_ip(), why="code")
        g.db.commit()
        if result.error == "locked":
            session.clear()
            _flash_locked()
            return redirect(url_for("inbox.login"))
        form.code.errors.append(
            "Deze code klopt niet, of is al gebruikt. Wacht op de volgende code en probeer het opnieuw."
        )
        status = 401
    elif request.method == "POST":
        status = 400
    enrolment = None
    if not enrolled:
        issuer = current_app.extensions["inbox_settings"].issuer
        enrolment = {
            "qr": Markup(second_factor.qr_svg(secret, user.username, issuer)),  # segno's SVG, no user input
            "secret": second_factor.grouped(secret),
        }
    return render_template("inbox/login_code.html", form=form, enrolment=enrolment), status


@bp.post("/logout")
def logout():
    end_session(g.db, g.staff)
    g.db.commit()
    flash("U bent uitgelogd.", "info")
    return redirect(url_for("inbox.login"))


# --- the queue --------------------------------------------------------------------------


@bp.get("/")
@login_required
def queue():
    args = request.args
    filters = tickets.Filters(
        team=args.get("team", ""),
        wijk=args.get("wijk", ""),
        status=args.get("status", "open"),
        levensgebied=args.get("levensgebied", ""),
        mine=args.get("mine") == "1",
        q=args.get("q", "")[:100],
    )
    rows = list(g.db.scalars(tickets.filtered(g.staff, filters)))
    now = utcnow()
    states = {t.id: tickets.sla_state(t, now) for t in rows}
    if g.staff.sees_all_queues:
        teams = list(g.db.scalars(select(Team).order_by(Team.name)))
    else:
        teams = list(g.staff.teams)
    wijken = list(g.db.scalars(select(Wijk).order_by(Wijk.name)))
    return render_template(
        "inbox/queue.html",
        rows=rows,
        states=states,
        filters=filters,
        teams=teams,
        wijken=wijken,
        overdue=sum(1 for s in states.values() if s.kind == "overdue"),
    )


# --- one ticket -------------------------------------------------------------------------


def _ticket(ticket_id: int) -> HandoverTicket:
    """The ticket, if this employee may see it; otherwise 403, and the attempt is audited."""
    ticket = g.db.get(HandoverTicket, ticket_id)
    if ticket is None:
        abort(404)
    if not tickets.can_see(g.staff, ticket):
        audit.record(g.db, "access_denied", user=g.staff, ticket=ticket, detail={"path": request.path[:200]}, ip=_ip())
        g.db.commit()
        abort(403)
    return ticket


def _ticket_forms(ticket: HandoverTicket) -> dict:
    reassign = ReassignForm(prefix="reassign")
    reassign.team.choices = choices(
        (t.id, t.name)
        for t in g.db.scalars(select(Team).where(Team.active.is_(True)).order_by(Team.name))
        if t.id != ticket.team_id
    )
    assign = AssignForm(prefix="assign")
    if ticket.team is not None:
        assign.user.choices = choices((u.id, u.display_name) for u in ticket.team.members if u.active)
    else:
        assign.user.choices = []
    status = StatusForm(prefix="status")
    status.status.choices = choices(
        [("", "— kies een status —"), *((code, label) for code, label in STATUSES.items() if code != ticket.status)]
    )
    return {
        "note_form": NoteForm(prefix="note"),
        "reply_form": ReplyForm(prefix="reply"),
        "status_form": status,
        "reassign_form": reassign,
        "assign_form": assign,
    }


@bp.get("/tickets/<int:ticket_id>")
@login_required
def ticket_view(ticket_id: int):
    ticket = _ticket(ticket_id)
    audit.record(g.db, "ticket_viewed", user=g.staff, ticket=ticket, ip=_ip())
    g.db.commit()
    return _render_ticket(ticket)


def _render_ticket(ticket: HandoverTicket, status_code: int = 200, **forms):
    messages, withheld = tickets.transcript(g.db, ticket)
    context = {**_ticket_forms(ticket), **forms}
    return render_template(
        "inbox/ticket.html",
        ticket=ticket,
        messages=messages,
        withheld=withheld,
        sla=tickets.sla_state(ticket),
        with_staff=ticket.conversation.status == Status.STAFF,
        phone=tickets.resident_phone(current_app.config["IAD_SETTINGS"], ticket),
        **context,
    ), status_code


def _act(ticket_id: int, form_cls, prefix: str, apply, success: str):
    """Validates the posted form, applies the change, commits, and returns to the ticket."""
    ticket = _ticket(ticket_id)
    form = form_cls(prefix=prefix) if prefix else form_cls()
    # Select fields validate against the same choices the page offered.
    if prefix in ("reassign", "assign", "status"):
        field = {"reassign": "team", "assign": "user", "status": "status"}[prefix]
        getattr(form, field).choices = getattr(_ticket_forms(ticket)[f"{prefix}_form"], field).choices
    if not form.validate_on_submit():
        flash("Controleer het formulier: " + "; ".join(e for errors in form.errors.values() for e in errors), "error")
        g.db.rollback()
        return _render_ticket(ticket, 400, **({f"{prefix}_form": form} if prefix else {}))
    try:
        apply(ticket, form)
    except tickets.TicketError as exc:
        g.db.rollback()
        flash(str(exc), "error")
        return _render_ticket(g.db.get(HandoverTicket, ticket_id), 400, **({f"{prefix}_form": form} if prefix else {}))
    except DeliveryFailed:
        g.db.commit()  # stored, audited; the channel will not take it now
        flash(
            "Het bericht is bewaard, maar kon nu niet worden afgeleverd bij de inwoner. Het gaat "
            "vanzelf mee zodra de inwoner weer een bericht stuurt: stuur het niet opnieuw. Is het "
            "dringend, neem dan op een andere manier contact op.",
            "error",
        )
        return redirect(url_for("inbox.ticket_view", ticket_id=ticket_id))
    g.db.commit()
    flash(success, "success")
    return redirect(url_for("inbox.ticket_view", ticket_id=ticket_id) + ("#gesprek" if prefix == "reply" else ""))


@bp.post("/tickets/<int:ticket_id>/claim")
@login_required
def claim(ticket_id: int):
    return _act(
        ticket_id, ActionForm, "", lambda t, f: tickets.claim(g.db, t, g.staff, _ip()), "U hebt deze melding opgepakt."
    )


@bp.post("/tickets/<int:ticket_id>/notes")
@login_required
def add_note(ticket_id: int):
    return _act(
        ticket_id,
        NoteForm,
        "note",
        lambda t, f: tickets.add_note(g.db, t, g.staff, f.text.data, _ip()),
        "Notitie opgeslagen.",
    )


@bp.post("/tickets/<int:ticket_id>/status")
@login_required
def change_status(ticket_id: int):
    def apply(t, f):
        tickets.change_status(
            g.db,
            t,
            g.staff,
            f.status.data,
            closing_reason=f.closing_reason.data or None,
            closing_note=f.closing_note.data,
            ip=_ip(),
            outbound=current_app.extensions["outbound"],
        )

    return _act(ticket_id, StatusForm, "status", apply, "Status gewijzigd.")


@bp.post("/tickets/<int:ticket_id>/reply")
@login_required
def reply(ticket_id: int):
    return _act(
        ticket_id,
        ReplyForm,
        "reply",
        lambda t, f: tickets.reply(g.db, t, g.staff, f.text.data, _ip(), outbound=current_app.extensions["outbound"]),
        "Bericht verstuurd. De assistent is gepauzeerd voor dit gesprek.",
    )


@bp.post("/tickets/<int:ticket_id>/hand-back")
@login_required
def hand_back(ticket_id: int):
    return _act(
        ticket_id,
        ActionForm,
        "",
        lambda t, f: tickets.return_to_bot(g.db, t, g.staff, _ip()),
        "Het gesprek is terug bij de assistent.",
    )


@bp.post("/tickets/<int:ticket_id>/team")
@login_required
def reassign_team(ticket_id: int):
    def apply(t, f):
        team = g.db.get(Team, f.team.data)
        if team is None:
            raise tickets.TicketError("Onbekend team.")
        tickets.reassign_team(g.db, t, g.staff, team, _ip())

    return _act(ticket_id, ReassignForm, "reassign", apply, "De melding is naar het andere team gestuurd.")


@bp.post("/tickets/<int:ticket_id>/assign")
@role_required("coordinator")
def assign(ticket_id: int):
    def apply(t, f):
        user = g.db.get(StaffUser, f.user.data)
        if user is None:
            raise tickets.TicketError("Onbekende medewerker.")
        tickets.assign(g.db, t, g.staff, user, _ip())

    return _act(ticket_id, AssignForm, "assign", apply, "Melding toegewezen.")


@bp.get("/tickets/<int:ticket_id>/export.json")
@login_required
def export_json(ticket_id: int):
    ticket = _ticket(ticket_id)
    data = ticket_export(g.db, ticket, phone=tickets.resident_phone(current_app.config["IAD_SETTINGS"], ticket))
    audit.record(g.db, "ticket_exported", user=g.staff, ticket=ticket, detail={"format": "json"}, ip=_ip())
    g.db.commit()
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{ticket.reference}.json"'},
    )


@bp.get("/tickets/<int:ticket_id>/export.pdf")
@login_required
def export_pdf(ticket_id: int):
    ticket = _ticket(ticket_id)
    pdf = ticket_pdf(
        g.db,
        ticket,
        current_app.extensions["inbox_settings"].pdf_font,
        phone=tickets.resident_phone(current_app.config["IAD_SETTINGS"], ticket),
    )
    audit.record(g.db, "ticket_exported", user=g.staff, ticket=ticket, detail={"format": "pdf"}, ip=_ip())
    g.db.commit()
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{ticket.reference}.pdf"'},
    )


# --- the audit log (read only: there is no route that changes it) -----------------------


@bp.get("/audit")
@role_required("coordinator", "beheerder")
def audit_log():
    query = select(AuditLog).order_by(AuditLog.id.desc())
    ticket_id = request.args.get("ticket", "")
    if ticket_id.removeprefix("IAD-").isdigit():
        query = query.where(AuditLog.ticket_id == int(ticket_id.removeprefix("IAD-")))
    action = request.args.get("action", "")
    if action:
        query = query.where(AuditLog.action == action[:40])
    entries = list(g.db.scalars(query.limit(500)))
    return render_template("inbox/audit.html", entries=entries, ticket_id=ticket_id, action=action)


# --- the signalen dashboard (coordinators) ----------------------------------------------


def _dashboard_tables():
    filters = dashboard.Filters.from_args(request.args)
    return filters, dashboard.build(g.db, filters)


@bp.get("/dashboard")
@role_required("coordinator", "beheerder")
def dashboard_view():
    filters, tables = _dashboard_tables()
    return render_template(
        "inbox/dashboard.html",
        filters=filters,
        tables=tables,
        wijken=list(g.db.scalars(select(Wijk).order_by(Wijk.name))),
        channels=dashboard.CHANNELS,
        query=request.query_string.decode("ascii", "ignore"),
    )


@bp.get("/dashboard/<key>.csv")
@role_required("coordinator", "beheerder")
def dashboard_csv(key: str):
    _filters, tables = _dashboard_tables()
    if key not in tables:
        abort(404)
    return Response(
        tables[key].csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="signalen-{key}.csv"'},
    )


@bp.get("/dashboard/grafiek/<name>.svg")
@role_required("coordinator", "beheerder")
def dashboard_chart(name: str):
    # matplotlib (about 1 s to import): only the chart images need it, not every inbox page
    from inbox import charts

    _filters, tables = _dashboard_tables()
    if name == "levensgebieden":
        # As the tables show them (a total over hidden parts is "≥ n"), never the raw counts.
        rows = tables["levensgebieden_per_week"].shown_rows()
        svg = charts.bars([r[0] for r in rows], [r[-1] for r in rows], "Gesprekken")
    elif name == "kanalen":
        rows = tables["kanalen"].shown_rows()
        svg = charts.bars([r[0] for r in rows], [r[1] for r in rows], "Gesprekken")
    elif name == "teams":
        rows = tables["teams"].shown_rows()
        svg = charts.stacked(
            [r[0] for r in rows],
            {"Op tijd": [r[2] for r in rows], "Te laat": [r[3] for r in rows], "Loopt nog": [r[4] for r in rows]},
            "Overdrachten",
        )
    else:
        abort(404)
    return Response(svg, mimetype="image/svg+xml")
