"""Routing rules per municipality: which team gets which ticket, configured in a YAML file
(ROUTING_RULES), not coded. Without a matching rule a ticket goes to the wijkteam of the
postcode, else the default team (handover.tickets.route). Staff can always reassign.

    rules:
      # Almere: stacked, complex or acute cases go to the Sociaal Stedelijk Team.
      - team: Sociaal Stedelijk Team
        when: {urgency: [acuut]}
      - team: Sociaal Stedelijk Team
        when: {min_levensgebieden: 4}
      - team: Jeugdteam
        when: {levensgebieden_any: [opvoeden], melding: true}

Conditions (all of a rule's must hold): urgency (one of), reasons_any (one of the ticket's
reasons), levensgebieden_any (one of the codes heard), min_levensgebieden (at least this many),
melding (a melding by someone else, or not). The first rule that holds wins; a rule whose team
does not exist or is inactive is skipped (and logged)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import URGENCIES
from core.taxonomy import LEVENSGEBIED_CODES
from handover.models import REASONS, Team

log = logging.getLogger(__name__)

CONDITIONS = ("urgency", "reasons_any", "levensgebieden_any", "min_levensgebieden", "melding")


class RoutingRulesInvalid(ValueError):
    """The rules file cannot be used as it is (start-up refuses it rather than misroute)."""


@dataclass(frozen=True)
class Rule:
    team: str
    when: dict

    def holds(self, *, urgency: str, reasons: Sequence[str], levensgebieden: Sequence[str], melding: bool) -> bool:
        w = self.when
        return (
            ("urgency" not in w or urgency in w["urgency"])
            and ("reasons_any" not in w or bool(set(reasons) & set(w["reasons_any"])))
            and ("levensgebieden_any" not in w or bool(set(levensgebieden) & set(w["levensgebieden_any"])))
            and ("min_levensgebieden" not in w or len(set(levensgebieden)) >= int(w["min_levensgebieden"]))
            and ("melding" not in w or bool(w["melding"]) == melding)
        )


def parse_rules(data: dict | None) -> tuple[Rule, ...]:
    rules = []
    for i, item in enumerate((data or {}).get("rules") or [], start=1):
        if not isinstance(item, dict) or not item.get("team") or not isinstance(item.get("when"), dict):
            raise RoutingRulesInvalid(f"rule {i}: needs 'team' and a 'when' with conditions")
        when = item["when"]
        unknown = set(when) - set(CONDITIONS)
        if unknown or not when:
            raise RoutingRulesInvalid(f"rule {i}: unknown or no conditions {sorted(unknown)}; known: {CONDITIONS}")
        if "min_levensgebieden" in when and not isinstance(when["min_levensgebieden"], int):
            raise RoutingRulesInvalid(f"rule {i}: min_levensgebieden must be a whole number")
        for key, vocabulary in (
            ("urgency", URGENCIES),
            ("reasons_any", REASONS),
            ("levensgebieden_any", LEVENSGEBIED_CODES),
        ):
            bad = [v for v in when.get(key, []) if v not in vocabulary]
            if bad:
                raise RoutingRulesInvalid(f"rule {i}: unknown {key} {bad}")
        rules.append(Rule(team=str(item["team"]), when=dict(when)))
    return tuple(rules)


@lru_cache(maxsize=4)
def load_rules(path: str) -> tuple[Rule, ...]:
    """The rules in the file at `path` ("" = none)."""
    if not path:
        return ()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RoutingRulesInvalid(f"ROUTING_RULES {path}: {exc}") from exc
    return parse_rules(data)


def team_by_rules(
    session: Session,
    rules: Sequence[Rule],
    *,
    urgency: str,
    reasons: Sequence[str],
    levensgebieden: Sequence[str],
    melding: bool,
) -> Team | None:
    for rule in rules:
        if not rule.holds(urgency=urgency, reasons=reasons, levensgebieden=levensgebieden, melding=melding):
            continue
        team = session.scalar(select(Team).where(Team.name == rule.team, Team.active.is_(True)))
        if team is not None:
            return team
        log.warning("routing rule for team %r skipped: no such active team", rule.team)
    return None
