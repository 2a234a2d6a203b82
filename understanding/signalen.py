"""The handover signals of one message, learned: regieverlies (a resident losing grip),
overbelast (an overloaded mantelzorger or parent) and zorg_om_ander (worry about another
person). Same two views and per-label CV thresholds as the levensgebieden
(understanding/multilabel.py), trained on the examples labelled for signals
(understanding/corpus/signalen: each with the signals it carries, many with none).

The bot's lexicon (bot/actions/signalen.yml) still hears a signal named in so many words;
what counts for the handover is the union (bot/actions/levensgebieden.py)."""

from __future__ import annotations

import numpy as np

from understanding import models
from understanding.corpus import Example, load_examples
from understanding.multilabel import THRESHOLD_GRID, MultiLabelModel, ensure_saved
from understanding.multilabel import train as train_multilabel

NAME = "signalen-classifier"
VERSION = 1
SIGNALS = ("regieverlies", "overbelast", "zorg_om_ander")
C = 8.0
C_WORDS = 8.0


def labelled(examples: list[Example]) -> list[Example]:
    """The examples labelled for signals, and as negatives the rest of the written corpus
    without a crisis: ordinary questions about debts, a house or a lonely mother are no
    signal. (Without them one ordinary message in eight looked like a signal.)"""
    return [e for e in examples if e.signalen is not None or (e.crisis is None and not e.source.startswith("bot:"))]


def _matrix(examples: list[Example]) -> np.ndarray:
    return np.array([[int(s in (e.signalen or ())) for s in SIGNALS] for e in examples], dtype=np.int8)


def train(examples: list[Example] | None = None, folds: int = 5, seed: int = 7) -> tuple[MultiLabelModel, dict]:
    examples = labelled(examples if examples is not None else load_examples())
    return train_multilabel(SIGNALS, [e.text for e in examples], _matrix(examples), C, C_WORDS, folds, seed)


def _fingerprint(examples: list[Example]) -> str:
    return models.fingerprint(
        VERSION,
        [(e.text, ",".join(e.signalen or ())) for e in labelled(examples)],
        C=C,
        C_words=C_WORDS,
        thresholds=THRESHOLD_GRID,
    )


def ensure_model(force: bool = False) -> dict:
    """Train and save when missing or when the corpus changed (idempotent, `iad setup`)."""
    examples = load_examples()
    return ensure_saved(NAME, _fingerprint(examples), lambda: train(examples), lambda: reset(), force)


_saved = models.SavedModel(
    NAME,
    lambda arrays, meta, words: MultiLabelModel(
        SIGNALS, arrays["coef"], arrays["intercept"], words, arrays["thresholds"]
    ),
    "the bot hears handover signals with the lexicon alone",
)
get_model = _saved.get
reset = _saved.reset


def predict(text: str, margin: float = 0.0, required: bool = False) -> dict[str, list[str]]:
    """{signal: [own words]}; {} for an empty message, a button payload, or no model."""
    if not text or not text.strip() or text.startswith("/"):
        return {}
    model = get_model(required=required)
    return model.predict(text, margin) if model is not None else {}
