"""The Rasa domain as residents meet it: every reply in Dutch and English, every choice a
short button (web buttons, WhatsApp numbers, DTMF digits), and the vocabulary in step with
the project's taxonomy."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.readability import LIMITS, flesch, measure_domain, problems
from core.taxonomy import CRISIS_CODES, LEVENSGEBIED_CODES

DOMAIN_DIR = Path(__file__).resolve().parent.parent / "bot" / "domain"


def _domain() -> dict:
    merged: dict = {"responses": {}, "slots": {}, "forms": {}, "intents": [], "actions": []}
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in ("responses", "slots", "forms"):
            merged[key].update(data.get(key) or {})
        for key in ("intents", "actions"):
            merged[key] += data.get(key) or []
    return merged


def test_every_response_in_dutch_and_english():
    for name, variations in _domain()["responses"].items():
        langs = {"en" if any(c.get("value") == "en" for c in (v.get("condition") or [])) else "nl" for v in variations}
        if name == "utter_hulp_item":  # the directory's own text: no translation
            continue
        assert langs == {"nl", "en"}, name


def test_choices_are_short_buttons_that_fit_a_phone_keypad():
    for name, variations in _domain()["responses"].items():
        for v in variations:
            buttons = v.get("buttons") or []
            assert len(buttons) <= 9, name  # DTMF digits 1-9
            for b in buttons:
                assert 0 < len(b["title"]) <= 20, (name, b["title"])
                assert b["payload"], name


def test_one_clarifying_question_per_levensgebied():
    domain = _domain()
    form_slots = domain["forms"]["vraagverheldering_form"]["required_slots"]
    for code in LEVENSGEBIED_CODES:
        assert f"utter_ask_vv_{code}" in domain["responses"]
        assert f"vv_{code}" in domain["slots"]
        assert f"vv_{code}" in form_slots
        for v in domain["responses"][f"utter_ask_vv_{code}"]:
            assert v["text"].count("?") == 1 or v["text"].rstrip().endswith(("?", ".")), code
    assert form_slots[-1] == "eigen_kracht"  # eigen kracht before any service


def test_crisis_and_handover_vocabulary():
    domain = _domain()
    for code in CRISIS_CODES:
        assert f"crisis_{code}" in domain["intents"]
        assert f"utter_crisis_{code}" in domain["responses"]
    reasons = domain["slots"]["handover_reden"]["values"]
    assert set(reasons) == {
        "meerdere_levensgebieden",
        "regieverlies",
        "wil_mens",
        "helpt_niet",
        "crisis",
        "zorg_om_ander",
    }
    for reason in reasons:
        assert f"utter_handover_aanbod_{reason}" in domain["responses"]


def test_front_door_slots_are_never_filled_by_rasa_itself():
    slots = _domain()["slots"]
    for name in ("channel", "gemeente", "crisis_handled"):
        assert slots[name]["mappings"] == [{"type": "custom"}], name


# ------------------------------------------------------------------------ readability


def test_every_response_is_b1():
    measured = measure_domain()
    assert len(measured) > 60
    assert problems(measured) == [], problems(measured)


def test_dutch_domain_averages():
    nl = [m for m in measure_domain() if m.lang == "nl"]
    avg_words = sum(m.avg_sentence_words for m in nl) / len(nl)
    avg_flesch = sum(m.flesch for m in nl) / len(nl)
    assert avg_words <= LIMITS["max_domain_avg_sentence_words"]
    assert avg_flesch >= LIMITS["min_domain_avg_flesch"]


def test_the_check_can_fail():
    long_and_hard = (
        "Teneinde uw aanvraag betreffende de bijzondere bijstandsverlening adequaat te kunnen "
        "beoordelen verzoeken wij u vriendelijk doch dringend de onderstaande bewijsstukken "
        "binnen veertien kalenderdagen aan te leveren."
    )
    from bot.readability import measure

    m = measure("voorbeeld", "nl", long_and_hard)
    assert problems([m])
    assert m.flesch < LIMITS["min_flesch"]


def test_flesch_douma_agrees_with_textstat():
    import textstat

    textstat.set_lang("nl")
    try:
        for text in (
            "Ik kan geen medisch advies geven. Vraag het aan uw huisarts.",
            "Uw vraag gaat over meer dingen tegelijk. Wilt u dat een medewerker meekijkt?",
        ):
            assert abs(flesch(text, "nl") - textstat.flesch_reading_ease(text)) < 0.5
    finally:
        textstat.set_lang("en")  # textstat's language is global state


def test_every_guarded_training_example_carries_its_evidence():
    """The evidence guard (bot/intent_evidence.py) may only stop look-alikes: every training
    example of a crisis or data-rights intent holds a word of that intent's vocabulary."""
    from bot.intent_evidence import EVIDENCE, has_evidence
    from bot.training_data import load_examples

    guarded = [e for e in load_examples() if e.intent in EVIDENCE]
    assert {e.intent for e in guarded} == set(EVIDENCE)
    assert [(e.intent, e.text) for e in guarded if not has_evidence(e.intent, e.text)] == []


def test_the_evidence_guard_stops_look_alikes_only():
    from bot.intent_evidence import has_evidence

    assert not has_evidence("crisis_suicide", "kan ze zo met de regiotaxi instappen?")
    assert has_evidence("crisis_suicide", "ik wil er gewoon uit stappen")
    assert not has_evidence("vraag_gegevens", "we hebben thuis alleen maar ruzie")
    assert has_evidence("vraag_gegevens", "wat bewaren jullie van mij?")
    assert has_evidence("hulpvraag", "any text at all")  # unguarded intents always count
