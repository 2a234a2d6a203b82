"""A question that names its gemeente, or a village of it, is searched in that gemeente."""

from __future__ import annotations

from knowledge.search import place_in_query
from sociale_kaart.validation import _gemeenten_from_file, woonplaatsen


def test_every_woonplaats_belongs_to_a_known_gemeente():
    gemeenten = set(_gemeenten_from_file())
    assert set(woonplaatsen().values()) <= gemeenten
    assert woonplaatsen()["enter"] == "Wierden" and woonplaatsen()["goor"] == "Hof van Twente"


def test_the_place_a_question_names():
    assert place_in_query("een club voor mijn zoon in Enter") == "Wierden"
    assert place_in_query("schuldhulp almelo") == "Almelo"
    assert place_in_query("wij wonen in Goor, vlakbij Delden") == "Hof van Twente"
    assert place_in_query("ik heb schulden") is None
    # Two gemeenten, or a village two gemeenten share: no filter rather than a wrong one.
    assert place_in_query("enschede of hengelo") is None
    assert place_in_query("ik woon in Haarle") is None
    assert place_in_query("Hengelose bijstand") is None  # part of a word is not the place
