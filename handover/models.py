"""The inbox's tables. A handover ticket points at a conversation: the transcript is the
conversation's messages, read live, never copied. The ticket holds only what the handover
adds: why, how urgent, what the resident agreed to share, and who picks it up."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    event,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from conversations.models import Conversation, utcnow
from core.bot_contract import HANDOVER_REASONS
from core.db import Base

# --- vocabularies (codes are stored; labels are shown) ---------------------------------

ROLES = {
    "medewerker": "Medewerker",
    "coordinator": "Coördinator",
    "beheerder": "Beheerder",
}

REASONS = HANDOVER_REASONS  # one home: core/bot_contract.py

URGENCY_LABELS = {"acuut": "Acuut", "hoog": "Hoog", "normaal": "Normaal", "laag": "Laag"}

# What a resident can agree to share with the wijkteam.
CONSENT_SCOPES = {
    "samenvatting": "de samenvatting, de levensgebieden in eigen woorden en wat al is geadviseerd",
    "gesprek": "het hele chatgesprek",
}

CONTACT_PREFERENCES = {
    "bellen": "Terugbellen",
    "whatsapp": "WhatsApp",
    "chat": "Chat",
    "huisbezoek": "Huisbezoek",
    # Domestic violence: no call, message or visit is safe; the resident gets in touch.
    "zelf": "Inwoner neemt zelf contact op",
}


class TicketStatus:
    NIEUW = "nieuw"
    OPGEPAKT = "opgepakt"
    IN_CONTACT = "in_contact"
    DOORVERWEZEN = "doorverwezen"
    AFGEROND = "afgerond"


STATUSES = {
    TicketStatus.NIEUW: "Nieuw",
    TicketStatus.OPGEPAKT: "Opgepakt",
    TicketStatus.IN_CONTACT: "In contact",
    TicketStatus.DOORVERWEZEN: "Doorverwezen",
    TicketStatus.AFGEROND: "Afgerond",
}
OPEN_STATUSES = (TicketStatus.NIEUW, TicketStatus.OPGEPAKT, TicketStatus.IN_CONTACT, TicketStatus.DOORVERWEZEN)
# The SLA is about the first contact: from these statuses on, the clock has stopped.
CONTACTED_STATUSES = (TicketStatus.IN_CONTACT, TicketStatus.DOORVERWEZEN, TicketStatus.AFGEROND)

CLOSING_REASONS = {
    "hulp_gestart": "Hulp gestart bij het wijkteam",
    "doorverwezen": "Doorverwezen naar een andere organisatie",
    "vraag_beantwoord": "Vraag beantwoord, geen verdere hulp nodig",
    "geen_contact": "Geen contact gekregen na meerdere pogingen",
    "wil_geen_hulp": "Inwoner wil geen hulp (meer)",
    "dubbel": "Dubbele melding",
    "anders": "Anders (met toelichting)",
}


# A melding by someone else (a neighbour, family member, volunteer, professional): the
# codes the bot stores, with the labels the inbox shows.
MELDER_RELATIONS = {
    "familie": "Familie",
    "buur": "Buurman of buurvrouw",
    "vriend": "Vriend of kennis",
    "beroep": "Via werk of vrijwilligerswerk",
    "anders": "Anders",
}
BETROKKENE_WEET = {
    "eens": "Weet het en vindt het goed",
    "niet_eens": "Weet het, wil het niet",
    "weet_niet": "Weet het niet",
    "onbekend": "Onbekend",
}
# What the melder thinks: how soon something should happen (sets the ticket's urgency).
MELDING_URGENCY = {"vandaag": "hoog", "week": "normaal", "wachten": "laag"}


# --- teams, wijken, staff ---------------------------------------------------------------

team_member = Table(
    "inbox_team_member",
    Base.metadata,
    Column("team_id", ForeignKey("inbox_team.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("inbox_staff_user.id", ondelete="CASCADE"), primary_key=True),
)


class Team(Base):
    """A sociaal wijkteam (or the loket itself): one queue in the inbox."""

    __tablename__ = "inbox_team"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # Shown to the resident: "Sociaal wijkteam Centrum neemt contact met u op".
    phone: Mapped[str | None] = mapped_column(String(40))
    # Receives handovers whose wijk is unknown (no postcode given, or outside every wijk).
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    wijken: Mapped[list[Wijk]] = relationship(back_populates="team", order_by="Wijk.name")
    members: Mapped[list[StaffUser]] = relationship(
        secondary=team_member, back_populates="teams", order_by="StaffUser.display_name"
    )


class Wijk(Base):
    __tablename__ = "inbox_wijk"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_team.id", ondelete="SET NULL"))

    team: Mapped[Team | None] = relationship(back_populates="wijken")
    postcode_ranges: Mapped[list[PostcodeRange]] = relationship(
        back_populates="wijk", cascade="all, delete-orphan", order_by="PostcodeRange.start"
    )

    def ranges_text(self) -> str:
        return ", ".join(r.text() for r in self.postcode_ranges)


class PostcodeRange(Base):
    """Four-digit postcodes (PC4), inclusive: 7511-7514 or a single 7521."""

    __tablename__ = "inbox_postcode_range"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    wijk_id: Mapped[int] = mapped_column(ForeignKey("inbox_wijk.id", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)

    wijk: Mapped[Wijk] = relationship(back_populates="postcode_ranges")

    def text(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"


def parse_postcode_ranges(text: str) -> list[tuple[int, int]]:
    """'7511-7515, 7521' -> [(7511, 7515), (7521, 7521)]"""
    ranges = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        start, _, end = (p.strip() for p in part.partition("-"))
        start_n, end_n = int(start), int(end or start)
        if not (1000 <= start_n <= end_n <= 9999):
            raise ValueError(f"Ongeldige reeks: {part}")
        ranges.append((start_n, end_n))
    return ranges


class StaffUser(Base):
    __tablename__ = "inbox_staff_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="medewerker")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Changes at every login and logout: a copied session cookie dies with the session.
    session_token: Mapped[str | None] = mapped_column(String(64))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The second factor (inbox/second_factor.py): the authenticator app's secret, encrypted,
    # and the last time step whose code was used, so no code works twice.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    teams: Mapped[list[Team]] = relationship(secondary=team_member, back_populates="members", order_by="Team.name")

    @property
    def sees_all_queues(self) -> bool:
        return self.role == "coordinator"

    @property
    def team_ids(self) -> set[int]:
        return {t.id for t in self.teams}


# --- the handover ticket ----------------------------------------------------------------


class HandoverTicket(Base):
    __tablename__ = "inbox_handover_ticket"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    urgency: Mapped[str] = mapped_column(String(16), default="normaal")
    consent_given: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_scope: Mapped[list] = mapped_column(JSON, default=list)
    # Shared without the resident's consent because of acute danger: the ticket says so.
    acute_danger: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    # levensgebied code -> the resident's own words for it.
    levensgebieden: Mapped[dict] = mapped_column(JSON, default=dict)
    # ",geld,wonen," : lets every database filter by levensgebied with a plain LIKE.
    levensgebied_codes: Mapped[str] = mapped_column(String(300), default=",")
    # Services already shown to the resident: [{"name": ..., "url": ...}] or plain names.
    advised: Mapped[list] = mapped_column(JSON, default=list)
    contact_preference: Mapped[str | None] = mapped_column(String(16))
    contact_window: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(7))
    wijk_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_wijk.id", ondelete="SET NULL"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_team.id", ondelete="SET NULL"), index=True)
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_staff_user.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=TicketStatus.NIEUW, index=True)
    # A melding (signaal) by someone else about this resident: who the melder is to them, since
    # when, whether the person knows, and whether the melder wants to hear that it was picked
    # up (MELDING_FIELDS). None for a resident's own question. The melder is the conversation.
    melding: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))  # SQL NULL, not JSON 'null'
    # When the melder was told that the melding was picked up (terugkoppeling, once).
    terugkoppeling_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closing_reason: Mapped[str | None] = mapped_column(String(32))
    closing_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    contacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    conversation: Mapped[Conversation] = relationship()
    wijk: Mapped[Wijk | None] = relationship()
    team: Mapped[Team | None] = relationship()
    assigned_user: Mapped[StaffUser | None] = relationship()
    notes: Mapped[list[TicketNote]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketNote.id"
    )

    @property
    def reference(self) -> str:
        return f"IAD-{self.id:05d}"

    @property
    def is_open(self) -> bool:
        return self.status != TicketStatus.AFGEROND

    @property
    def is_melding(self) -> bool:
        return self.melding is not None

    @property
    def transcript_shared(self) -> bool:
        """May staff read the conversation from before the handover?"""
        return self.acute_danger or (self.consent_given and "gesprek" in (self.consent_scope or []))

    @property
    def summary_shared(self) -> bool:
        return self.acute_danger or (self.consent_given and "samenvatting" in (self.consent_scope or []))


class TicketNote(Base):
    """Internal notes between colleagues; never sent to the resident."""

    __tablename__ = "inbox_ticket_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("inbox_handover_ticket.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_staff_user.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    ticket: Mapped[HandoverTicket] = relationship(back_populates="notes")
    author: Mapped[StaffUser | None] = relationship()


# --- the audit log: append-only ---------------------------------------------------------


class AuditLog(Base):
    """Who looked at or changed what, and when. Rows are only ever added: the ORM refuses
    updates and deletes, and database triggers refuse them from any other client too.
    No foreign keys on purpose: the entry outlives the ticket the retention job deletes.
    `detail` holds codes and ids only, never a resident's words."""

    __tablename__ = "inbox_audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40), index=True)
    ticket_id: Mapped[int | None] = mapped_column(Integer, index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))


class AppendOnlyViolation(Exception):
    pass


@event.listens_for(AuditLog, "before_update")
def _no_audit_update(_mapper, _connection, _target):
    raise AppendOnlyViolation("the audit log is append-only")


@event.listens_for(AuditLog, "before_delete")
def _no_audit_delete(_mapper, _connection, _target):
    raise AppendOnlyViolation("the audit log is append-only")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_audit_change(state):
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None and getattr(table, "name", None) == AuditLog.__tablename__:
            raise AppendOnlyViolation("the audit log is append-only")


# The same rule inside the database, for every client (psql, a migration, a bug).
# Alembic autogenerate does not see these: the migration must run them (see the report).
AUDIT_LOG_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS inbox_audit_log_no_update BEFORE UPDATE ON inbox_audit_log "
        "BEGIN SELECT RAISE(ABORT, 'inbox_audit_log is append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS inbox_audit_log_no_delete BEFORE DELETE ON inbox_audit_log "
        "BEGIN SELECT RAISE(ABORT, 'inbox_audit_log is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION inbox_audit_log_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'inbox_audit_log is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER inbox_audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON inbox_audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION inbox_audit_log_append_only()",
    ],
}

for _dialect, _statements in AUDIT_LOG_TRIGGERS.items():
    for _sql in _statements:
        event.listen(AuditLog.__table__, "after_create", DDL(_sql).execute_if(dialect=_dialect))
