"""Levensgebieden as a learned multi-label classifier: per code the average of a logistic
regression on the message's sentence embedding and one on its character n-grams
(understanding/multilabel.py), each code with its own threshold chosen by cross-validation on
the training corpus (understanding/corpus plus the bot's examples).

`predict(text)` gives {code: [the sentence or clause that carried it]}: the resident's own
words for the record and the wijkteam. The bot's lexicon (bot/actions/signalen.yml) only
finds those words when it matches; it no longer decides which levensgebieden count.
"""

from __future__ import annotations

import logging

import numpy as np

from core.taxonomy import LEVENSGEBIED_CODES
from understanding import models
from understanding.corpus import Example, load_examples
from understanding.multilabel import THRESHOLD_GRID, MultiLabelModel, ensure_saved
from understanding.multilabel import train as train_multilabel

log = logging.getLogger(__name__)

NAME = "levensgebieden-classifier"
VERSION = 2
C_GRID = (8.0,)
C_WORDS = 8.0


def _matrix(examples: list[Example]) -> np.ndarray:
    return np.array([[int(c in e.levensgebieden) for c in LEVENSGEBIED_CODES] for e in examples], dtype=np.int8)


def train(examples: list[Example] | None = None, folds: int = 5, seed: int = 7) -> tuple[MultiLabelModel, dict]:
    examples = examples if examples is not None else load_examples()
    return train_multilabel(
        LEVENSGEBIED_CODES, [e.text for e in examples], _matrix(examples), C_GRID[0], C_WORDS, folds, seed
    )


def _fingerprint(examples: list[Example]) -> str:
    return models.fingerprint(
        VERSION, [(e.text, ",".join(e.levensgebieden)) for e in examples], grid=C_GRID, thresholds=THRESHOLD_GRID
    )


def ensure_model(force: bool = False) -> dict:
    """Train and save when missing or when the corpus changed (idempotent, `iad setup`)."""
    examples = load_examples()
    return ensure_saved(NAME, _fingerprint(examples), lambda: train(examples), lambda: reset(), force)


_saved = models.SavedModel(
    NAME,
    lambda arrays, meta, words: MultiLabelModel(
        LEVENSGEBIED_CODES, arrays["coef"], arrays["intercept"], words, arrays["thresholds"]
    ),
    "the bot records levensgebieden with the lexicon alone",
)
get_model = _saved.get
reset = _saved.reset


def predict(
    text: str, margin: float = 0.0, required: bool = False, supported=(), supported_margin: float = 0.0
) -> dict[str, list[str]]:
    """{code: [own words]}; {} for an empty message, a button payload, or no model.
    supported: codes other evidence heard (they need only threshold + supported_margin)."""
    if not text or not text.strip() or text.startswith("/"):
        return {}
    model = get_model(required=required)
    return model.predict(text, margin, supported, supported_margin) if model is not None else {}
