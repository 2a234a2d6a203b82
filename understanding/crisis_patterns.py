"""Readable crisis patterns: an extra high-precision layer beside the learned detector
(understanding/crisis.py). A pattern can add a crisis the model did not see; it can never
veto one the model did. A reviewer can read why a message fired. Figures of speech ("ik ga
dood van de hitte", "mijn telefoon is dood") are excluded from the patterns only.
"""

from __future__ import annotations

import re

from understanding.text import normalise

# Order matters: the first category that matches is answered first. Acute danger and
# violence before suicide, so "hij heeft een mes" gets 112 rather than 113.
_PATTERNS: dict[str, list[str]] = {
    "acuut_gevaar": [
        r"\bkrijg (hem|haar|hen|ze|mijn \w+) niet (meer )?wakker\b|\b(wordt|werd) niet (meer )?wakker\b",
        r"\bademt (heel |erg |zo )?(raar|vreemd|moeilijk|slecht|zwak|nauwelijks)\b|\bkrijgt geen (lucht|adem)\b",
        r"\b(te veel|teveel|een hoop) (drugs|pillen|medicijnen|slaappillen|alcohol en pillen) (genomen|geslikt|gebruikt|ingenomen)\b",
        r"\b(bewusteloos|buiten bewustzijn|ademt niet( meer)?|reageert niet meer)\b",
        r"\bhartaanval|beroerte\b",
        r"\b(er is )?brand (in|bij)\b|\bhet huis staat in brand\b",
        r"\boverdosis\b",
        r"\b(heeft|met|pakt|zwaait met) een (mes|pistool|wapen|vuurwapen)\b",
        r"\bbloedt (heel )?(erg|veel|hevig)\b",
        r"\b(unconscious|not breathing|heart attack|overdose|has a (knife|gun))\b",
        r"\bhouse is on fire\b",
    ],
    "geweld": [
        r"\b(bedreigt|bedreigde|achtervolgt|stalkt) (me|mij|ons|mijn kind|mijn kinderen)\b",
        r"\b(kind|kinderen|kindje|baby|dochter|zoon)\b.{0,40}\b(slaan|slaat|sloeg|schoppen|schopt|mishandel\w*|pijn doen)\b(?! elkaar)",
        r"\b(slaat|sloeg|schopt|schopte|mishandelt) (zijn|haar|hun|het|een|die) (kind|kinderen|kindje|baby|dochter|zoon)\b",
        r"\b(slaat|schopt|sloeg|schopte|wurgt|wurgde|mishandelt|mishandelde) (me|mij|ons|mijn|de kinderen|haar kind|zijn kind)\b",
        r"\b(ik word|ik werd|word ik|werd ik|wordt|werd) (thuis )?(geslagen|geschopt|mishandeld|gewurgd|bedreigd|misbruikt)\b",
        r"\b(huiselijk geweld|kindermishandeling|seksueel misbruik|verkracht|aangerand)\b",
        r"\b(niet|nergens) (meer )?veilig (thuis|in (mijn|ons) huis)\b",
        r"\bbang voor (mijn|m'n) (man|vrouw|partner|vriend|vriendin|vader|moeder|ex|zoon|dochter)\b",
        r"\b(dreigt|heeft gedreigd) (me|mij|ons) (te )?(vermoorden|iets aan te doen|dood te maken|te slaan)\b",
        r"\b(hits|beats|hurts|kicks|hit|beat) (me|my (kids|children|son|daughter))\b",
        r"\b(domestic violence|being abused|child abuse|not safe at home|afraid of my (husband|partner|wife|boyfriend|father))\b",
    ],
    "suicide": [
        r"\been? eind(e)? aan\b.{0,40}\bmaken\b",
        r"\b(killing|ending) (myself|my life)\b|\bsuicidal\b",
        r"\b(niet meer|nooit meer) (wakker|verder) (willen|wil) (worden|leven)\b",
        r"\b(zelfmoord|zelfdoding|suicid\w*|suicide)\b",
        r"\b(ik )?wil (niet meer leven|dood|er niet meer zijn|niet meer wakker worden)\b",
        r"\b(wil|zou) (het liefst|liever) dood\b",
        r"\b(een )?eind(e)? (aan (mijn|m'n|het) leven|eraan)( maken)?\b|\ber een eind(e)? aan maken\b",
        r"\bmezelf (van kant|iets aan|wat aan|pijn|dood)( te)? (maken|doen)\b|\bmezelf (snijden|snijd|beschadig\w*)\b",
        r"\b(ik )?snij (mezelf|in mijn (armen|arm|benen))\b",
        r"\b(zie|zag) het (echt )?niet meer zitten\b",
        r"\b(het leven|leven) (heeft (voor mij )?geen zin (meer)?|is zinloos)\b|\bgeen zin meer (in|om te) leven\b",
        r"\bbeter af\b.{0,20}\bzonder (mij|me)\b",
        r"\b(van (een|de) (brug|flat|dak) (springen|af springen)|voor de trein (springen|gaan liggen))\b",
        r"\b(al mijn|alle) pillen (in ?nemen|slikken|innemen)\b",
        r"\b(kill myself|end (my|it all)|want to die|don'?t want to live|hurt myself|self[- ]harm|cutting myself|better off without me)\b",
    ],
    "dakloos_vannacht": [
        r"\bwaar (ik|we|wij) (vannacht|vanavond) (moet|moeten|kan|kunnen|zal|zullen) (slapen|heen|naartoe|blijven)\b",
        r"\b(waar|hoe) (kan|moet|kunnen|moeten) (ik|wij|we) (vannacht|vanavond) (slapen|heen|naartoe|terecht|blijven)\b",
        r"\b(vannacht|vanavond)\b.{0,60}\bnergens (terecht|heen|naartoe|slapen)\b|\bnergens (terecht|heen|naartoe)\b.{0,40}\b(vannacht|vanavond)\b",
        r"\b(where|how) (can|do) (i|we) sleep tonight\b",
        r"\b(geen|nergens (een )?) ?(slaapplek|slaapplaats|plek om te slapen|dak boven (mijn|m'n) hoofd)\b.*\b(vannacht|vanavond|vandaag|nu)\b",
        r"\b(vannacht|vanavond|vandaag|nu)\b.*\b(geen|nergens (een )?) ?(slaapplek|slaapplaats|plek om te slapen)\b",
        r"\b(vannacht|vanavond)\b.*\b(op straat|buiten) (slapen|staan|liggen)\b|\b(op straat|buiten) (slapen|staan)\b.*\b(vannacht|vanavond)\b",
        r"\bnergens (heen|naartoe) (kunnen|kan) (vannacht|vanavond)\b|\b(vannacht|vanavond) nergens (heen|naartoe)\b",
        r"\b(nowhere to sleep|sleep(ing)? (on the street|outside) tonight|no place to stay tonight)\b",
    ],
    "verward": [
        r"\b(buurman|buurvrouw|man|vrouw|moeder|vader|opa|oma|zoon|dochter|broer|zus|hij|zij|ze)\b.{0,30}\b(helemaal |erg |heel |totaal )?in de war\b.{0,80}\b(buiten|straat|loopt|weet niet|de deur uit|kwijt|vermist|vinden|zoek)\b",
        r"\b(schreeuwt|roept|denkt|zegt) dat (iedereen|ze|mensen|de buren) (hem|haar) (wil|willen) (vermoorden|vergiftigen|achtervolgen|ombrengen)\b",
        r"\b(dementie|alzheimer)\b.{0,80}\b(kwijt|vermist|niet (meer )?vinden|de deur uit|weggelopen|zoek)\b",
        r"\bweet niet (meer )?waar (hij|ze|zij) (woont|is|naartoe)\b",
        r"\b(erg|heel|totaal|zwaar|helemaal)? ?verward\b.*\b(buurman|buurvrouw|man|vrouw|iemand|moeder|vader|zoon|dochter|broer|zus|hij|zij)\b",
        r"\b(buurman|buurvrouw|iemand|moeder|vader|zoon|dochter|broer|zus|hij|zij)\b.*\b(erg |heel |totaal )?verward\b",
        r"\b(hoort|ziet) (stemmen|dingen die er niet zijn)\b|\bpsychose\b|\bpsychotisch\b",
        r"\b(is|seems|very) confused\b.*\b(neighbour|neighbor|mother|father|he|she|someone)\b|\bhearing voices\b",
    ],
}

# Figures of speech that look like a crisis but are not.
_NOT_CRISIS = [
    r"\bdood van (de )?(hitte|warmte|kou|honger|dorst|verveling|schrik|het lachen|de zenuwen)\b",
    r"\b(telefoon|mobiel|batterij|accu|plant|plantje|laptop|computer|tv|televisie|auto|wifi|internet)\b[^.]{0,20}\bdood\b",
    r"\b(lach|lachte) me( bijna)? dood\b|\bme dood (lachen|schrikken|vervelen)\b",
    r"\bverward (over|door) (de |het |die |dat )?(brief|brieven|formulier|regels|website|aanvraag)\b",
]

_COMPILED = {code: [re.compile(p) for p in pats] for code, pats in _PATTERNS.items()}
_NOT_CRISIS_COMPILED = [re.compile(p) for p in _NOT_CRISIS]


def pattern_crisis(text: str) -> str | None:
    """The crisis code a pattern finds in this message, or None."""
    norm = normalise(text)
    cleaned = norm
    for pattern in _NOT_CRISIS_COMPILED:
        cleaned = pattern.sub(" ", cleaned)
    for code, patterns in _COMPILED.items():
        if any(p.search(cleaned) for p in patterns):
            return code
    return None
