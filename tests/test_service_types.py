"""What well-known organisations and service types do, in the passages of the records that
name them (knowledge/service_types.yml)."""

from __future__ import annotations

from conversations.privacy import redact
from core.taxonomy import LEVENSGEBIED_CODES
from knowledge.documents import service_document
from knowledge.service_types import service_types, service_types_named


def test_the_knowledge_file_is_complete():
    kinds = service_types()
    assert len(kinds) >= 150
    for kind in kinds:
        assert kind.names and kind.does and len(kind.needs) >= 5
        assert kind.levensgebieden and set(kind.levensgebieden) <= set(LEVENSGEBIED_CODES), kind.names
        # No contact details: a number or address written here would go stale everywhere.
        assert redact(kind.does)[1] == [] and "www." not in kind.does and "http" not in kind.does, kind.names


def test_a_name_is_matched_as_a_word_and_short_abbreviations_only_as_written():
    assert service_types_named("Repair Café Hengelo")[0].names[0].lower().startswith("repair")
    assert service_types_named("Stichting MEE Twente")
    assert not service_types_named("Doe mee met de buurt")  # "mee" is a word, MEE an organisation
    assert not service_types_named("Humanitasplein 3")  # part of a word is not a name


def test_the_passage_of_a_named_record_says_what_it_does():
    rec = {"id": "x", "name": "Repair Café De Reparateur", "attributes": [], "service_areas": []}
    with_kinds = service_document(rec, synonyms=False)
    without = service_document(rec, synonyms=False, service_types=False)
    assert "Wat dit is:" in with_kinds.passage and "Wat dit is:" not in without.passage
