"""Intents with big consequences need a word that says so.

A crisis intent answers with a crisis number and a handover offer; "what do you keep about
me?" and "erase everything" interrupt whatever the resident was doing. DIET is sometimes
sure of these for ordinary sentences that merely look alike in characters ("kan ze zo
instappen?" next to "ik wil er uit stappen"; a quarrel with parents next to "wat weten
jullie van mij"). So these intents count only when the message holds at least one word of
their vocabulary below; otherwise the next intent in the ranking is taken
(bot/rasa_components.py applies this inside Rasa's pipeline).

The vocabulary is deliberately broad: every training example of these intents must pass
(tests/test_bot_domain.py checks that), and the front door's own crisis detector
(understanding/crisis.py) runs first on every message and decides the crisis itself.

Plain Python, no Rasa: imported by the Rasa venv (the component) and the app venv (tests).
"""

from __future__ import annotations

import re
import unicodedata

_SUICIDE = (
    r"dood|doodgaan|sterven|leven|levens|zelfmoord\w*|zelfdoding|suicid\w*|eind|einde|"
    r"zitten|zitte|uitweg|toekomst|hoeft|niet meer (zijn|ben|wil|kan|verder|wakker)|nooit meer|"
    r"beter af|wakker|pillen|springen|spoor|brug|flat|dak|snij\w*|gesneden|beschadig\w*|kras\w*|"
    r"pijn|afscheid\w*|zin|mezelf|zichzelf|van kant|aandoe\w*|plan|missen|reden|uit stappen|eruit stappen|"
    r"klaar met|is klaar|trek het niet|verdwijnen|doorgaan|last voor|stoppen met|"
    r"die|live|living|life|kill\w*|hurt\w*|better off|end my|suicid\w*"
)
_GEWELD = (
    r"slaa?t|slaan|sloeg|geslagen|mishandel\w*|bedreig\w*|dreig\w*|bang|keel|duwt?|schop\w*|"
    r"agressie\w*|agressief|veilig|blauwe plekken|sluit me op|opgesloten|huiselijk|geweld\w*|"
    r"vermoorden|pijn|zit aan|aan (haar|hem|mij|me|ze) zit|misbruik\w*|aandoe\w*|gewurgd|wurg\w*|gooit|krabt|durf niet|"
    r"hits?|beat\w*|hurts?|afraid|abuse\w*|violen\w*"
)
_ACUUT = (
    r"reageert niet|ademt|adem|bewusteloos|mes|brand\w*|pijn op de borst|grauw|beroerte|"
    r"ingeslikt|geslikt|neergestoken|overdosis|bloedt|bloed|ingebroken|inbraak|pistool|wapen|"
    r"blauw|gas|gevallen|beweegt niet|niet meer wakker|wakker te krijgen|ligt op de grond|"
    r"zegt niks|ongeluk|gewond|dreigt|stikt|lucht|rook|pillen|112|ambulance|"
    r"unconscious|fire|breathing|knife|gun|bleeding|overdose"
)
_DAKLOOS = (
    r"vannacht|vanavond|nacht|nachten|slapen|slaap\w*|straat|dak|dakloos|uit huis gezet|"
    r"eruit gegooid|buiten gezet|nergens|bed|ontruimd|auto|park|sleutel|sloten|station|"
    r"tonight|sleep|street|homeless"
)
_VERWARD = (
    r"verward\w*|in de war|stemmen|psychot\w*|psychose|schreeuw\w*|weet niet (meer )?(waar|wie)|"
    r"zwerft|dingen die er niet zijn|praat tegen zichzelf|weggelopen|loopt weg|dementie|alzheimer|"
    r"achtervolgd|rare dingen|niet rustig|angstig|confused|voices|wander\w*|strange|shouting"
)
_VRAAG_GEGEVENS = (
    r"gegevens|bewa\w*|opslaan|opgeslagen|sla\w* .*\bop\b|slaat .*\bop\b|weten|weet|wete|"
    r"meelezen|leest|lezen|te zien|zien wat|privacy|prive|tussen ons|onthoud\w*|vastgelegd|"
    r"genoteerd|systeem|info|informatie over mij|gebeurt er met|typ|"
    r"data|store|keep|know|saved|read"
)
_VERWIJDER_GEGEVENS = (
    r"verwijder\w*|verwijdr\w*|wis|wissen|weg|vergeten|bewa\w*|opslaan|vernietig\w*|"
    r"verdwijnt|toestemming|systeem|delete|erase|remove\w*"
)

EVIDENCE: dict[str, re.Pattern] = {
    intent: re.compile(rf"\b(?:{words})\b")
    for intent, words in {
        "crisis_suicide": _SUICIDE,
        "crisis_geweld": _GEWELD,
        "crisis_acuut_gevaar": _ACUUT,
        "crisis_dakloos_vannacht": _DAKLOOS,
        "crisis_verward": _VERWARD,
        "vraag_gegevens": _VRAAG_GEGEVENS,
        "verwijder_gegevens": _VERWIJDER_GEGEVENS,
    }.items()
}


def fold(text: str) -> str:
    """Lower case without accents: 'Privé' -> 'prive'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def has_evidence(intent: str, text: str) -> bool:
    """True for intents without a vocabulary, and for messages that hold one of its words."""
    pattern = EVIDENCE.get(intent)
    return pattern is None or bool(pattern.search(fold(text)))
