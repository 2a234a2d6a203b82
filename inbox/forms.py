"""Every inbox form is a FlaskForm: each carries a CSRF token and labels for screen readers."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from handover.models import CLOSING_REASONS, ROLES, STATUSES
from inbox.auth import MIN_PASSWORD_LENGTH
from inbox.tickets import MAX_TEXT


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as wtforms wants them from 3.3 on."""
    return [SelectChoice(value, label) for value, label in pairs]


class ActionForm(FlaskForm):
    """A button with nothing but the CSRF token: claim, hand back, log out."""


class CodeForm(FlaskForm):
    code = StringField(
        "Code uit uw app (6 cijfers)",
        validators=[DataRequired(), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class LoginForm(FlaskForm):
    username = StringField(
        "Gebruikersnaam", validators=[DataRequired(), Length(max=80)], render_kw={"autocomplete": "username"}
    )
    password = PasswordField(
        "Wachtwoord", validators=[DataRequired(), Length(max=200)], render_kw={"autocomplete": "current-password"}
    )


class NoteForm(FlaskForm):
    text = TextAreaField(
        "Notitie voor collega's (de inwoner ziet dit niet)", validators=[DataRequired(), Length(max=MAX_TEXT)]
    )


class ReplyForm(FlaskForm):
    text = TextAreaField("Bericht aan de inwoner", validators=[DataRequired(), Length(max=MAX_TEXT)])


class StatusForm(FlaskForm):
    status = SelectField(
        "Nieuwe status", choices=choices(STATUSES.items()), validators=[DataRequired(message="Kies een status.")]
    )
    closing_reason = SelectField(
        "Reden van afronden (verplicht bij Afgerond)",
        choices=choices([("", "— kies een reden —"), *CLOSING_REASONS.items()]),
        validators=[Optional()],
    )
    closing_note = TextAreaField("Toelichting (verplicht bij 'Anders')", validators=[Optional(), Length(max=MAX_TEXT)])


class ReassignForm(FlaskForm):
    team = SelectField("Naar team", coerce=int)


class AssignForm(FlaskForm):
    user = SelectField("Toewijzen aan", coerce=int)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    username = StringField(
        "Gebruikersnaam",
        validators=[
            DataRequired(),
            Length(max=80),
            Regexp(r"^[A-Za-z0-9._@-]+$", message="Alleen letters, cijfers en . _ @ -"),
        ],
    )
    display_name = StringField("Naam (zien collega's)", validators=[DataRequired(), Length(max=120)])
    email = StringField(
        "E-mail",
        validators=[
            Optional(),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Dit is geen e-mailadres."),
            Length(max=200),
        ],
    )
    role = SelectField("Rol", choices=choices(ROLES.items()))
    teams = MultiCheckboxField("Teams", coerce=int)
    password = PasswordField(
        f"Nieuw wachtwoord (minstens {MIN_PASSWORD_LENGTH} tekens; leeg laten = niet wijzigen)",
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        render_kw={"autocomplete": "new-password"},
    )
    active = BooleanField("Actief", default=True)
    reset_second_factor = BooleanField("Tweede stap opnieuw laten instellen (bijvoorbeeld: telefoon kwijt)")
    unlock = BooleanField("Blokkade opheffen")


class TeamForm(FlaskForm):
    name = StringField("Naam van het team", validators=[DataRequired(), Length(max=120)])
    phone = StringField("Telefoonnummer (ziet de inwoner)", validators=[Optional(), Length(max=40)])
    is_default = BooleanField("Krijgt meldingen zonder bekende wijk")
    active = BooleanField("Actief", default=True)


class WijkForm(FlaskForm):
    name = StringField("Naam van de wijk", validators=[DataRequired(), Length(max=120)])
    team = SelectField("Wijkteam", coerce=int)
    postcodes = StringField(
        "Postcodes (vier cijfers; reeksen met een streepje, gescheiden door komma's)",
        validators=[
            DataRequired(),
            Regexp(
                r"^\s*\d{4}(\s*-\s*\d{4})?(\s*,\s*\d{4}(\s*-\s*\d{4})?)*\s*$", message="Bijvoorbeeld: 7511-7515, 7521"
            ),
        ],
    )
