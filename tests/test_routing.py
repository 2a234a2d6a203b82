"""Routing rules per municipality (issue 15): configured in a file, not coded; the first rule
that holds picks the team, otherwise the postcode's wijkteam; a bad file stops start-up."""

from __future__ import annotations

import dataclasses

import pytest

from handover.models import Team
from handover.routing import RoutingRulesInvalid, load_rules, parse_rules
from tests.inbox_support import db, inbox_app, make_ticket, world  # noqa: F401

RULES = """
rules:
  - team: Sociaal Stedelijk Team
    when: {urgency: [acuut]}
  - team: Sociaal Stedelijk Team
    when: {min_levensgebieden: 3}
  - team: Jeugdteam
    when: {levensgebieden_any: [opvoeden], melding: true}
  - team: Bestaat niet
    when: {reasons_any: [wil_mens]}
"""


@pytest.fixture
def rules(tmp_path, monkeypatch, db, world):  # noqa: F811
    from core import config

    path = tmp_path / "routing.yml"
    path.write_text(RULES)
    db.add_all([Team(name="Sociaal Stedelijk Team"), Team(name="Jeugdteam")])
    db.commit()
    settings = dataclasses.replace(config.get_settings(), routing_rules_file=str(path))
    monkeypatch.setattr(config, "get_settings", lambda: settings)
    monkeypatch.setattr("handover.tickets.get_settings", lambda: settings)
    return path


def test_the_first_rule_that_holds_picks_the_team_and_else_the_postcode_does(db, world, rules):  # noqa: F811
    assert make_ticket(db, urgency="acuut", reason="crisis").team.name == "Sociaal Stedelijk Team"
    stacked = {"geld": ["schulden"], "wonen": ["huur"], "werk": ["baan kwijt"]}
    assert make_ticket(db, levensgebieden=stacked).team.name == "Sociaal Stedelijk Team"
    melding = make_ticket(
        db, levensgebieden={"opvoeden": ["kind"]}, reason="zorg_om_ander", melding={"relatie": "buur"}
    )
    assert melding.team.name == "Jeugdteam"
    # Not a melding: the rule does not hold; a rule for a team that does not exist is skipped.
    assert make_ticket(db, levensgebieden={"opvoeden": ["kind"]}).team.name == "Sociaal wijkteam Noord"
    assert make_ticket(db, reason="wil_mens", levensgebieden={"geld": ["x"]}).team.name == "Sociaal wijkteam Noord"


@pytest.mark.parametrize(
    "bad",
    [
        "rules: [{team: X}]",
        "rules: [{team: X, when: {leeftijd: 12}}]",
        "rules: [{team: X, when: {urgency: [morgen]}}]",
        "rules: [{team: X, when: {levensgebieden_any: [sport]}}]",
        "rules: [{team: X, when: {min_levensgebieden: vier}}]",
    ],
)
def test_a_rules_file_that_cannot_be_used_is_refused(bad):
    import yaml

    with pytest.raises(RoutingRulesInvalid):
        parse_rules(yaml.safe_load(bad))


def test_start_up_refuses_a_missing_rules_file(settings):
    from iad.app import create_app

    load_rules.cache_clear()
    with pytest.raises(RoutingRulesInvalid):
        create_app(dataclasses.replace(settings, routing_rules_file="/nonexistent/routing.yml"))


def test_a_rules_file_that_breaks_after_start_up_never_stops_a_ticket(db, world, rules):  # noqa: F811
    rules.write_text("rules: [{team: X, when: {min_levensgebieden: vier}}]")
    load_rules.cache_clear()
    ticket = make_ticket(db, urgency="acuut", reason="crisis")
    assert ticket.team.name == "Sociaal wijkteam Noord"  # by postcode
