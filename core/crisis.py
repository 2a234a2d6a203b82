"""Crisis help: the one home for what each crisis code needs.

Per code: which service helps, the number a resident sees, the number the phone line
connects to, the first reply when a crisis is sure, and the direct safety question when it
is only possible. Every text exists in every language the assistant speaks; the numbers
come from the config (core/config.py), never from a second copy. The front door, the bot's
actions and the phone line all read this module.

Asking directly ("denkt u erover om uzelf iets aan te doen?") does not put the idea in
anyone's head; 113 and the GGZ guidelines advise it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Settings, get_settings
from core.taxonomy import CRISIS_CODES

__all__ = [
    "CRISIS_CODES",
    "CrisisHelp",
    "crisis_help",
    "crisis_reply",
    "safety_question",
    "safety_buttons",
    "safety_no",
    "crisis_numbers",
    "SURE",
    "POSSIBLE",
]

LANGUAGES = ("nl", "en")

# Tiers of the learned detector (understanding/crisis.py): sure = the numbers first;
# possible = a safety question with the number in the same reply.
SURE = "sure"
POSSIBLE = "possible"


@dataclass(frozen=True)
class CrisisHelp:
    code: str
    number: str  # what a resident sees and hears
    dial: str | None  # what the phone line connects to; None: the caller must dial it (112)
    contact: dict[str, str]  # language -> the numbers, as a sentence
    intro: dict[str, str]  # language -> the warm line before the numbers ("" for none)
    question: dict[str, str]  # language -> the safety question when it is possible
    # language -> the safety question when the resident writes about someone else (a melder):
    # asked about that person, never about the melder
    question_other: dict[str, str]

    @property
    def reply(self) -> dict[str, str]:
        """language -> the first reply when the crisis is sure: intro, then the numbers."""
        return {lang: f"{self.intro[lang]} {self.contact[lang]}".strip() for lang in self.contact}


def crisis_help(code: str, settings: Settings | None = None) -> CrisisHelp:
    s = settings or get_settings()
    danger_nl, danger_en = "Bij direct gevaar: bel 112.", "If you are in danger right now, call 112."
    if code == "suicide":
        return CrisisHelp(
            code,
            "113",
            s.crisis_dial_suicide,
            {
                "nl": f"Bel 113 of gratis 0800-0113, dag en nacht. U kunt ook chatten op 113.nl. {danger_nl}",
                "en": f"Call 113 or free 0800-0113, day and night. You can also chat at 113.nl. {danger_en}",
            },
            {
                "nl": "Fijn dat u dit vertelt. Praat er nu over met iemand.",
                "en": "I am glad you are telling me this. Please talk to someone now.",
            },
            {
                "nl": "Ik wil het even zeker weten: denkt u erover om uzelf iets aan te doen? "
                "Praten kan altijd, dag en nacht: bel 113 of gratis 0800-0113.",
                "en": "I want to be sure: are you thinking about ending your life or hurting yourself? "
                "You can talk to someone day and night: call 113 or free 0800-0113.",
            },
            {
                "nl": "Ik wil het even zeker weten: denkt deze persoon erover om zichzelf iets aan te doen? "
                "Ook als u zich zorgen maakt om iemand, kunt u 113 bellen, dag en nacht: 113 of gratis 0800-0113.",
                "en": "I want to be sure: is this person thinking about ending their life or hurting themselves? "
                "113 also helps people who worry about someone, day and night: call 113 or free 0800-0113.",
            },
        )
    if code == "geweld":
        return CrisisHelp(
            code,
            "0800-2000",
            s.crisis_dial_geweld,
            {
                "nl": f"Bel Veilig Thuis: gratis 0800-2000, dag en nacht. {danger_nl}",
                "en": "Call Veilig Thuis (domestic violence and child abuse): free 0800-2000, "
                f"day and night. {danger_en}",
            },
            {
                "nl": "Dit is ernstig. U hoeft dit niet alleen op te lossen.",
                "en": "This is serious. You do not have to deal with it alone.",
            },
            {
                "nl": "Ik wil het even zeker weten: is er thuis iemand die u of een kind pijn doet, bedreigt of "
                "niets laat doen? Veilig Thuis helpt, gratis en dag en nacht: 0800-2000.",
                "en": "I want to be sure: is someone at home hurting, threatening or controlling you or a child? "
                "Veilig Thuis helps, free, day and night: 0800-2000.",
            },
            {
                "nl": "Ik wil het even zeker weten: doet iemand deze persoon of een kind pijn, of wordt hij of zij "
                "bedreigd? Ook als u het alleen ziet of hoort, helpt Veilig Thuis: gratis 0800-2000, dag en nacht.",
                "en": "I want to be sure: is someone hurting or threatening this person or a child? Veilig Thuis "
                "also helps when you only see or hear it: free 0800-2000, day and night.",
            },
        )
    if code == "acuut_gevaar":
        question = {
            "nl": "Ik wil het even zeker weten: is er nu gevaar, of is iemand nu erg ziek of gewond? "
            "Bel dan meteen 112.",
            "en": "I want to be sure: is there danger right now, or is someone very ill or hurt right now? "
            "Then call 112 straight away.",
        }
        return CrisisHelp(
            code, "112", None, {"nl": "Bel nu 112.", "en": "Call 112 now."}, {"nl": "", "en": ""}, question, question
        )
    if code == "dakloos_vannacht":
        number = s.night_shelter_phone
        return CrisisHelp(
            code,
            number,
            s.crisis_dial_dakloos,
            {
                "nl": f"Voor een slaapplek vannacht: bel de nachtopvang op {number}. {danger_nl}",
                "en": f"For a place to sleep tonight, call the night shelter: {number}. {danger_en}",
            },
            {"nl": "U heeft vannacht een veilige plek nodig.", "en": "You need a safe place to sleep tonight."},
            {
                "nl": f"Ik wil het even zeker weten: weet u nog niet waar u vannacht kunt slapen? "
                f"Bel dan de nachtopvang op {number}.",
                "en": f"I want to be sure: do you not know yet where you can sleep tonight? Then call the night "
                f"shelter: {number}.",
            },
            {
                "nl": f"Ik wil het even zeker weten: weet deze persoon nog niet waar hij of zij vannacht kan slapen? "
                f"Bel dan de nachtopvang op {number}.",
                "en": f"I want to be sure: does this person not know yet where to sleep tonight? Then call the "
                f"night shelter: {number}.",
            },
        )
    if code == "verward":
        number = s.police_non_urgent_phone
        # The same question about anyone: the resident may be the one who is worried.
        question = {
            "nl": f"Ik wil het even zeker weten: is iemand nu zo in de war dat het niet veilig is? "
            f"Bel dan de politie (geen spoed) op {number}. {danger_nl}",
            "en": f"I want to be sure: is someone so confused right now that it is not safe? Then call the "
            f"police (no emergency): {number}. {danger_en}",
        }
        return CrisisHelp(
            code,
            number,
            s.crisis_dial_verward,
            {
                "nl": f"Bel de politie (geen spoed) op {number}. {danger_nl}",
                "en": f"Call the police (no emergency): {number}. {danger_en}",
            },
            {
                "nl": "Goed dat u zich zorgen maakt om deze persoon.",
                "en": "It is good that you are worried about this person.",
            },
            question,
            question,
        )
    raise KeyError(code)


def _lang(lang: str | None) -> str:
    return lang if lang in LANGUAGES else "nl"


def crisis_reply(code: str, lang: str | None = "nl", settings: Settings | None = None) -> str:
    """The first reply for a sure crisis: the number(s) first, in the resident's language."""
    return crisis_help(code, settings).reply[_lang(lang)]


def safety_question(
    code: str, lang: str | None = "nl", settings: Settings | None = None, *, about_someone_else: bool = False
) -> str:
    """The direct, warm question for a possible crisis, with the number in it. About someone
    else (a neighbour, a daughter who worries): asked about that person, not the resident."""
    help_ = crisis_help(code, settings)
    return (help_.question_other if about_someone_else else help_.question)[_lang(lang)]


# The two answers to the safety question, as buttons; typed answers are read by
# understanding.answers.yes_or_no.
_SAFETY_BUTTONS = {
    "nl": [{"title": "Ja", "payload": "/affirm"}, {"title": "Nee", "payload": "/deny"}],
    "en": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
}

# After a "no" to the safety question: the conversation carries on where it was.
_SAFETY_NO = {
    "nl": "Dank u voor uw antwoord. Dan gaan we verder met uw vraag.",
    "en": "Thank you for telling me. Let us go on with your question.",
}


def safety_buttons(lang: str | None = "nl") -> list[dict]:
    return _SAFETY_BUTTONS[_lang(lang)]


def safety_no(lang: str | None = "nl") -> str:
    return _SAFETY_NO[_lang(lang)]


def crisis_numbers(settings: Settings | None = None) -> dict[str, str]:
    """code -> the number a resident must see first (for evaluation and checks)."""
    return {code: crisis_help(code, settings).number for code in CRISIS_CODES}
