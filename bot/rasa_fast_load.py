"""Rasa starts about 40 s sooner on 2 cores (runs in the Rasa venv, imported by
bot/rasa_components.py, which Rasa imports before it loads the model).

To give each TensorFlow model (DIET, TED) weights of the right shapes, Rasa 3.6's
RasaModel.load fits the empty model on one example, then overwrites every weight from the
model file. In graph mode that fit traces the whole training step with autograph: 41 of the
54 s that `rasa run` took here, for a result that is thrown away. Here that one fit runs
eagerly. The weights come from the file as before, and the prediction function is still
traced at load (Rasa's own warm-up), so answers and their speed are unchanged; training
(which never goes through RasaModel.load) is untouched. Checked by tests/test_bot_rasa.py
and the end-to-end tests, which talk to the real Rasa."""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from rasa.utils.tensorflow.models import RasaModel

_rasa_load = RasaModel.load.__func__  # type: ignore[attr-defined]
_keras_fit = tf.keras.Model.fit


def _eager_fit(model: tf.keras.Model, *args: Any, **kwargs: Any) -> Any:
    before = model.run_eagerly
    model.run_eagerly = True
    try:
        return _keras_fit(model, *args, **kwargs)
    finally:
        model.run_eagerly = before


def _load(cls: type, *args: Any, **kwargs: Any) -> RasaModel:
    if kwargs.get("finetune_mode") or (len(args) > 3 and args[3]):
        return _rasa_load(cls, *args, **kwargs)  # fine-tuning goes on training: as Rasa does it
    cls.fit = _eager_fit  # this model class, for this load only
    try:
        return _rasa_load(cls, *args, **kwargs)
    finally:
        del cls.fit


if not getattr(RasaModel.load, "_iad_fast", False):
    RasaModel.load = classmethod(_load)  # type: ignore[method-assign,assignment]
    RasaModel.load.__func__._iad_fast = True  # type: ignore[attr-defined]
