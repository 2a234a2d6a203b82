"""The sociale kaart in the words of Open Referral HSDS 3.0: organization, service,
location, service_at_location, phone, schedule, service_area, language, cost_option,
taxonomy_term and attribute. Table and column names follow HSDS so a municipality's
engineer recognises them; IAD additions are marked.

Eligibility is HSDS 3.0 style: `service.eligibility_description` (target group),
`minimum_age` / `maximum_age`, and the gemeenten in `service_area`. Levensgebieden are
taxonomy terms (taxonomy "iad-levensgebied") linked to a service through `attribute`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base
from core.timefmt import utcnow

# The IAD order: eigen kracht first, then algemene voorzieningen in the wijk and the stad,
# then the wijkteam, and only then specialist (maatwerk) help.
IAD_LEVELS: tuple[str, ...] = (
    "eigen_kracht",
    "algemene_voorziening_wijk",
    "algemene_voorziening_stad",
    "wijkteam",
    "specialist",
)
LEVENSGEBIED_TAXONOMY = "iad-levensgebied"


class Organization(Base):
    __tablename__ = "organization"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(500))

    services: Mapped[list[Service]] = relationship(back_populates="organization")


class Service(Base):
    __tablename__ = "service"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    alternate_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32), default="active")
    application_process: Mapped[str | None] = mapped_column(Text)
    fees_description: Mapped[str | None] = mapped_column(Text)
    eligibility_description: Mapped[str | None] = mapped_column(Text)
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    # HSDS: "the date that the information about the service was last checked".
    assured_date: Mapped[date | None] = mapped_column(Date)
    # IAD: where the service sits in the IAD order (see IAD_LEVELS).
    iad_level: Mapped[str] = mapped_column(String(40), default="algemene_voorziening_stad")
    # IAD: which import owns the record (for --prune) and a hash of its whole HSDS form,
    # so that re-importing the same data is a no-op and a changed record is rewritten.
    dataset: Mapped[str | None] = mapped_column(String(80), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    last_modified: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    organization: Mapped[Organization | None] = relationship(back_populates="services")
    service_areas: Mapped[list[ServiceArea]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    service_at_locations: Mapped[list[ServiceAtLocation]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    phones: Mapped[list[Phone]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    schedules: Mapped[list[Schedule]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    languages: Mapped[list[Language]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    cost_options: Mapped[list[CostOption]] = relationship(cascade="all, delete-orphan", passive_deletes=True)
    attributes: Mapped[list[Attribute]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class Location(Base):
    __tablename__ = "location"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    location_type: Mapped[str] = mapped_column(String(16), default="physical")
    organization_id: Mapped[str | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"), index=True)
    name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    addresses: Mapped[list[Address]] = relationship(cascade="all, delete-orphan", passive_deletes=True)


class Address(Base):
    __tablename__ = "address"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    address_1: Mapped[str] = mapped_column(String(300))
    address_2: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(120))
    state_province: Mapped[str | None] = mapped_column(String(120))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2), default="NL")
    address_type: Mapped[str] = mapped_column(String(16), default="physical")


class ServiceAtLocation(Base):
    __tablename__ = "service_at_location"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"), index=True)
    description: Mapped[str | None] = mapped_column(Text)

    location: Mapped[Location] = relationship()


class Phone(Base):
    __tablename__ = "phone"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    service_id: Mapped[str | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    type: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)


class Schedule(Base):
    __tablename__ = "schedule"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    service_id: Mapped[str | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    freq: Mapped[str | None] = mapped_column(String(16))
    byday: Mapped[str | None] = mapped_column(String(40))
    opens_at: Mapped[str | None] = mapped_column(String(16))
    closes_at: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)


class ServiceArea(Base):
    """The gemeenten where a service is available (HSDS service_area, name = gemeente)."""

    __tablename__ = "service_area"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    description: Mapped[str | None] = mapped_column(Text)


class Language(Base):
    __tablename__ = "language"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    service_id: Mapped[str | None] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(80))
    code: Mapped[str | None] = mapped_column(String(8))
    note: Mapped[str | None] = mapped_column(Text)


class CostOption(Base):
    __tablename__ = "cost_option"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    service_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    option: Mapped[str | None] = mapped_column(String(300))
    currency: Mapped[str | None] = mapped_column(String(3))
    amount: Mapped[float | None] = mapped_column(Numeric(10, 2, asdecimal=False))
    amount_description: Mapped[str | None] = mapped_column(Text)


class TaxonomyTerm(Base):
    __tablename__ = "taxonomy_term"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    code: Mapped[str | None] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(String(160))
    taxonomy: Mapped[str | None] = mapped_column(String(120), index=True)


class Attribute(Base):
    """HSDS attribute: links any entity (here: services) to a taxonomy term."""

    __tablename__ = "attribute"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    # HSDS keeps link_id polymorphic; services are the only entity we link, so it is a
    # real foreign key that cascades when a service goes.
    link_id: Mapped[str] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), index=True)
    link_entity: Mapped[str] = mapped_column(String(40), default="service")
    link_type: Mapped[str | None] = mapped_column(String(40))
    taxonomy_term_id: Mapped[str] = mapped_column(ForeignKey("taxonomy_term.id", ondelete="CASCADE"), index=True)
    value: Mapped[str | None] = mapped_column(String(300))
    label: Mapped[str | None] = mapped_column(String(300))

    taxonomy_term: Mapped[TaxonomyTerm] = relationship()


class DirectoryRevision(Base):
    """IAD: one row, bumped by every import that changes something. A long-running search
    index compares it (one cheap query) to know when to refresh."""

    __tablename__ = "directory_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SearchEmbedding(Base):
    """IAD: cached passage embeddings, keyed by the exact text and model, so a restart or
    a re-import only embeds what changed."""

    __tablename__ = "search_embedding"

    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class UnmetQuestion(Base):
    """IAD: a resident's question the sociale kaart had no fitting offer for, so the
    municipality can see the gaps in it (the signalen issue builds the view). The text is
    what the bot heard: BSN, IBAN, phone numbers and e-mail addresses were already cut out
    by the front door. No link to the conversation; removed by the retention run."""

    __tablename__ = "unmet_question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    gemeente: Mapped[str | None] = mapped_column(String(120), index=True)
    levensgebieden: Mapped[str] = mapped_column(String(300), default="")  # ",geld,wonen,"
    text: Mapped[str] = mapped_column(Text)
