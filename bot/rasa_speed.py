"""Two places where Rasa 3.6 spends CPU for nothing on this stack (runs in the Rasa venv,
imported by bot/rasa_components.py, which Rasa imports before it loads the model). Both were
found by profiling (py-spy) the Rasa server under `iad bench load`; answers are unchanged,
as tests/test_bot_rasa.py and the end-to-end tests check against the real Rasa.

1. Start-up, about 30 s sooner on 2 cores. To give each TensorFlow model (DIET, TED) weights
   of the right shapes, RasaModel.load fits the empty model on one example, then overwrites
   every weight from the model file. In graph mode that fit traces the whole training step
   with autograph: 41 of the 54 s that `rasa run` took here, for a result thrown away. Here
   that one fit runs eagerly. The prediction function is still traced at load (Rasa's own
   warm-up); training, which never goes through RasaModel.load, is untouched.

2. Every turn. Rasa checks each custom action's answer and each batch of events posted to
   its HTTP API with jsonschema.validate, which first validates the (constant) schema itself
   against the JSON Schema meta-schema, every call: under load 58% of the Rasa server's CPU
   went to jsonschema, a third of it to that meta-check. Here each distinct schema is
   checked once and its validator kept; instances are validated exactly as before (the
   same validator class, the same best_match error).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import tensorflow as tf
from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
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


_jsonschema_validate = jsonschema.validate
_checked: dict[str, Any] = {}  # schema as JSON -> its validator (Rasa has a handful of schemas)


def _validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
    if cls is not None or args or kwargs:
        return _jsonschema_validate(instance, schema, cls, *args, **kwargs)
    key = json.dumps(schema, sort_keys=True, default=str)
    validator = _checked.get(key)
    if validator is None:
        validator_class = validator_for(schema)
        validator_class.check_schema(schema)  # once per schema, as jsonschema.validate would each time
        validator = _checked[key] = validator_class(schema)
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        raise error
    return None


if not getattr(RasaModel.load, "_iad_fast", False):
    RasaModel.load = classmethod(_load)  # type: ignore[method-assign,assignment]
    RasaModel.load.__func__._iad_fast = True  # type: ignore[attr-defined]
    # rasa.server calls jsonschema.validate; rasa.core.actions.action imports it at each call.
    jsonschema.validate = _validate
