"""The levensgebieden detector, the handover signals and the bot's own training data."""

from __future__ import annotations

import re
import unicodedata

import pytest
import yaml

from bot.actions.levensgebieden import (
    detect_language,
    detect_lexicon,
    detect_signalen,
    levensgebieden_for_message,
)
from bot.training_data import CRISIS_INTENTS, load_examples
from core.taxonomy import CRISIS_CODES, LEVENSGEBIED_CODES, levensgebieden, merge_words
from tests.conftest import need_shared


def test_multi_label_with_the_residents_own_words():
    text = "Ik heb schulden en ik loop achter met de huur"
    found = detect_lexicon(text)
    assert {"geld", "wonen"} <= set(found)
    for words in found.values():
        for w in words:
            assert w in text  # the resident's own words, not a label


@pytest.mark.parametrize(
    "text, code",
    [
        ("Ik red het huishouden niet meer sinds mijn operatie", "huishouden"),
        ("mijn zoon van 15 spijbelt", "opvoeden"),
        ("ik wil een scootmobiel aanvragen", "vervoer"),
        ("ik zorg voor mijn moeder en ben overbelast", "mantelzorg"),
        ("ik voel me zo eenzaam", "contacten"),
        ("mijn man drinkt elke avond te veel", "verslaving"),
        ("ik snap de brieven van de gemeente niet", "taal"),
        ("I lost my job", "werk"),
    ],
)
def test_lexicon_examples(text, code):
    assert code in detect_lexicon(text)


# Taxonomy signals the lexicon deliberately does not use on their own: they fire on
# background more than on questions (the label conventions: "having" an uitkering is no
# hulpvraag; see also the note at the top of signalen.yml).
NOT_ON_THEIR_OWN = {"uitkering", "alleen"}


def test_every_taxonomy_signal_is_heard():
    missed = []
    for lg in levensgebieden():
        for signal in lg.signals:
            if signal in NOT_ON_THEIR_OWN:
                continue
            if lg.code not in detect_lexicon(signal):
                missed.append(f"{lg.code}: {signal}")
    assert not missed, missed


@pytest.mark.parametrize(
    "text",
    ["mijn telefoon is dood", "ik heb een vraag", "hallo", "wat voor weer wordt het morgen"],
)
def test_no_levensgebied_in_small_talk(text):
    assert detect_lexicon(text) == {}


def test_out_of_scope_intents_record_nothing():
    assert levensgebieden_for_message("welke pillen helpen tegen pijn", "medical_question") == {}
    assert levensgebieden_for_message("ik ga dood van de hitte", "out_of_scope") == {}
    assert "geld" in levensgebieden_for_message("ik heb schulden", "hulpvraag", use_classifier=False)


def test_signals_for_the_handover():
    assert "regieverlies" in detect_signalen("ik open mijn post niet meer")
    assert "regieverlies" in detect_signalen("het groeit me allemaal boven het hoofd")
    assert "zorg_om_ander" in detect_signalen("ik maak me zorgen om mijn buurvrouw")
    assert detect_signalen("ik zoek vrijwilligerswerk") == {}


def test_language_guess():
    assert detect_language("I have debts and can't pay my rent") == "en"
    assert detect_language("ik heb schulden en kan de huur niet betalen") == "nl"
    assert detect_language("ok") is None
    assert detect_language("/affirm") is None


def test_merge_keeps_every_word_once():
    merged = merge_words({"geld": ["schulden"]}, {"geld": ["schulden", "deurwaarder"], "wonen": ["huur"]})
    assert merged == {"geld": ["schulden", "deurwaarder"], "wonen": ["huur"]}


# ------------------------------------------------------------------ the training data


def test_training_data_covers_every_code_and_crisis():
    examples = load_examples()
    for code in LEVENSGEBIED_CODES:
        n = sum(code in e.levensgebieden for e in examples)
        assert n >= 20, f"{code}: only {n} examples"
    assert set(CRISIS_INTENTS.values()) == set(CRISIS_CODES)
    for code in CRISIS_CODES:
        assert sum(e.crisis == code for e in examples) >= 15
    assert all(set(e.levensgebieden) <= set(LEVENSGEBIED_CODES) for e in examples)


def test_about_ten_percent_english():
    examples = load_examples()
    share = sum(detect_language(e.text) == "en" for e in examples) / len(examples)
    assert 0.08 <= share <= 0.15, share


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def _shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = _norm(text).split()
    return {tuple(words[i : i + n]) for i in range(max(0, len(words) - n + 1))}


def test_no_evaluation_sentence_in_the_training_data():
    """The eval sets are for measuring only: no exact copy and no close paraphrase (most
    4-word runs shared) of an evaluation message may be a training example."""
    eval_dir = need_shared("eval")
    eval_texts = []
    for path in eval_dir.rglob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for item in data if isinstance(data, list) else []:
            if isinstance(item, dict):
                if "text" in item:
                    eval_texts.append(item["text"])
                eval_texts += [t for t in item.get("turns", []) if isinstance(t, str)]
    assert eval_texts
    train = load_examples()
    train_norm = {_norm(e.text) for e in train}
    copies = [t for t in eval_texts if _norm(t) in train_norm and len(_norm(t).split()) > 2]
    assert not copies, copies
    train_shingles = [(_shingles(e.text), e.text) for e in train]
    close = []
    for t in eval_texts:
        sh = _shingles(t)
        if len(sh) < 3:
            continue
        for tsh, text in train_shingles:
            if len(sh & tsh) / len(sh) >= 0.6:
                close.append((t, text))
    assert not close, close
