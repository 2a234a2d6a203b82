"""Levensgebieden as a learned multi-label classifier: per code the average of a logistic
regression on the message's sentence embedding and one on its character n-grams
(understanding/models.py), each code with its own threshold chosen by cross-validation on
the training corpus (understanding/corpus plus the bot's examples).

`predict(text)` gives {code: [the sentence or clause that carried it]}: the resident's own
words for the record and the wijkteam. The bot's lexicon (bot/actions/signalen.yml) only
finds those words when it matches; it no longer decides which levensgebieden count.
"""
from __future__ import annotations

import logging
import re

import numpy as np

from iad.taxonomy import LEVENSGEBIED_CODES
from understanding import models
from understanding.corpus import Example, load_examples

log = logging.getLogger(__name__)

NAME = "levensgebieden-classifier"
VERSION = 2
C_GRID = (8.0,)
C_WORDS = 8.0
THRESHOLD_GRID = tuple(round(t, 2) for t in np.arange(0.3, 0.96, 0.05))

_CLAUSE = re.compile(r"[.!?;,\n]+|\s+(?:en|maar|want|omdat|and|but|because)\s+")


def clauses(text: str) -> list[str]:
    parts = [p.strip() for p in _CLAUSE.split(text or "")]
    return [p for p in parts if len(p.split()) >= 2] or [text.strip()]


class LevensgebiedenModel:
    def __init__(self, coef: np.ndarray, intercept: np.ndarray, words, thresholds: np.ndarray):
        self.coef, self.intercept, self.words = coef, intercept, words
        self.thresholds = np.asarray(thresholds, dtype=np.float32)

    def proba(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        by_meaning = models.sigmoid(vectors @ self.coef.T + self.intercept)
        return (by_meaning + self.words.predict_proba(texts)) / 2

    def predict(self, text: str, margin: float = 0.0) -> dict[str, list[str]]:
        """{code: [own words]} for every code above its threshold (+ margin)."""
        p = self.proba(models.embed([text]), [text])[0]
        codes = [c for j, c in enumerate(LEVENSGEBIED_CODES) if p[j] >= min(0.99, self.thresholds[j] + margin)]
        if not codes:
            return {}
        parts = clauses(text)
        if len(parts) == 1:
            return {c: [parts[0]] for c in codes}
        cp = self.proba(models.embed(parts), parts)
        return {c: [parts[int(np.argmax(cp[:, LEVENSGEBIED_CODES.index(c)]))]] for c in codes}


def _matrix(examples: list[Example]) -> np.ndarray:
    return np.array([[int(c in e.levensgebieden) for c in LEVENSGEBIED_CODES] for e in examples], dtype=np.int8)


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    fn = int((~pred & (y == 1)).sum())
    return 2 * tp / max(1, 2 * tp + fp + fn)


def train(examples: list[Example] | None = None, folds: int = 5, seed: int = 7) -> tuple[LevensgebiedenModel, dict]:
    examples = examples if examples is not None else load_examples()
    texts = [e.text for e in examples]
    Y = _matrix(examples)
    X = models.embed_for_training(texts)
    fold_of = models.folds_of(len(texts), folds, seed)
    best = None
    for C in C_GRID:
        oof = np.zeros(Y.shape, dtype=np.float32)
        for k in range(folds):
            tr, te = fold_of != k, fold_of == k
            coef, icpt = models.fit_one_vs_rest(X[tr], Y[tr], C)
            words = models.fit_words([t for t, keep in zip(texts, tr) if keep], Y[tr], C_WORDS)
            oof[te] = LevensgebiedenModel(coef, icpt, words, np.full(Y.shape[1], 0.5)).proba(
                X[te], [t for t, keep in zip(texts, te) if keep])
        thresholds, f1s = [], []
        for j in range(Y.shape[1]):
            scores = {t: _f1(Y[:, j], oof[:, j] >= t) for t in THRESHOLD_GRID}
            t = max(scores, key=scores.get)
            thresholds.append(t)
            f1s.append(scores[t])
        macro = float(np.mean(f1s))
        if best is None or macro > best[0]:
            best = (macro, C, thresholds, f1s)
    macro, C, thresholds, f1s = best
    coef, icpt = models.fit_one_vs_rest(X, Y, C)
    words = models.fit_words(texts, Y, C_WORDS)
    info = {"C": C, "n_examples": len(texts),
            "support": {c: int(Y[:, j].sum()) for j, c in enumerate(LEVENSGEBIED_CODES)},
            "cross_validation": {"folds": folds, "macro_f1": round(macro, 4),
                                 "per_label_f1": {c: round(f, 4) for c, f in zip(LEVENSGEBIED_CODES, f1s)}}}
    return LevensgebiedenModel(coef, icpt, words, np.array(thresholds)), info


def _fingerprint(examples: list[Example]) -> str:
    return models.fingerprint(VERSION, [(e.text, ",".join(e.levensgebieden)) for e in examples],
                              grid=C_GRID, thresholds=THRESHOLD_GRID)


def ensure_model(force: bool = False) -> dict:
    """Train and save when missing or when the corpus changed (idempotent, `iad setup`)."""
    examples = load_examples()
    fp = _fingerprint(examples)
    if not force and models.saved_fingerprint(NAME) == fp:
        return {"status": "up to date", "cv_macro_f1": models.load_meta(NAME)["cross_validation"]["macro_f1"]}
    model, info = train(examples)
    models.save(NAME, {"coef": model.coef, "intercept": model.intercept, "thresholds": model.thresholds},
                {"fingerprint": fp, **info}, words=model.words)
    reset()
    return {"status": "trained", "cv_macro_f1": info["cross_validation"]["macro_f1"]}


_saved = models.SavedModel(
    NAME, lambda arrays, meta, words: LevensgebiedenModel(arrays["coef"], arrays["intercept"], words,
                                                          arrays["thresholds"]),
    "the bot records levensgebieden with the lexicon alone")
get_model = _saved.get
reset = _saved.reset


def predict(text: str, margin: float = 0.0, required: bool = False) -> dict[str, list[str]]:
    """{code: [own words]}; {} for an empty message, a button payload, or no model."""
    if not text or not text.strip() or text.startswith("/"):
        return {}
    model = get_model(required=required)
    return model.predict(text, margin) if model is not None else {}
