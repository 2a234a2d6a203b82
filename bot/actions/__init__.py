"""Custom actions for the IAD loket bot. Run from the repository root, in the app venv:

.venv/bin/python -m rasa_sdk --actions bot.actions -p 5055
"""

import logging
import os
import sys
import threading

from bot.actions.actions import (  # noqa: F401  (rasa-sdk registers Action subclasses)
    ActionClarify,
    ActionCrisis,
    ActionExtractSignals,
    ActionHandoverAccept,
    ActionNieuweVraag,
    ActionOfferHandover,
    ActionZoekHulp,
    ValidateVraagverheldering,
)
from bot.actions.handover import (  # noqa: F401
    ActionAskHandoverContact,
    ActionAskHandoverMoment,
    ActionAskHandoverTelefoon,
    ActionHandoverAcuut,
    ActionHandoverTicket,
    ActionWatBewaard,
    ActionWisGesprek,
    ValidateHandoverForm,
)
from bot.actions.opvolging import ActionAskOpvolging, ActionOpvolgingPlannen  # noqa: F401
from core import log_privacy

# Aliased: a bare "levensgebieden" here would hide the submodule bot.actions.levensgebieden.
from understanding import levensgebieden as learned_levensgebieden
from understanding import signalen as learned_signalen

# rasa-sdk has set up its logging before it imports the actions: no conversation id in it.
log_privacy.install()


def _warm_up() -> None:
    """Load the embedding model, the levensgebieden and signals classifiers and the search index in the
    background when the action server starts, so the first resident does not wait."""
    log = logging.getLogger(__name__)
    try:
        learned_levensgebieden.get_model()
        learned_signalen.get_model()
        # heavy: knowledge.search loads spaCy (about 3 s); here it loads in the warm-up thread,
        # so rasa-sdk starts at once and tests or eval that import bot.actions do not pay
        from knowledge.search import warm_index

        log.info("search index warm: %s", warm_index())
    except Exception:  # warm-up is an optimisation; a failure shows up at the first search
        log.warning("warm-up failed", exc_info=True)


def _in_action_server() -> bool:
    """True when imported by `python -m rasa_sdk` (not by the web app, tests or eval)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return bool(spec and spec.name.startswith("rasa_sdk"))


if _in_action_server() and os.environ.get("IAD_ACTIONS_WARM_UP", "1") == "1":
    threading.Thread(target=_warm_up, name="iad-actions-warm-up", daemon=True).start()
