"""Our own Rasa NLU component (runs in the Rasa venv; Rasa imports it by the name in
bot/config.yml, with the project folder on PYTHONPATH)."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

import bot.rasa_speed  # noqa: F401  (Rasa starts and answers faster; see there)
from bot.intent_evidence import has_evidence


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class IntentEvidenceGuard(GraphComponent, IntentClassifier):
    """After DIET, before the FallbackClassifier: a crisis or data-rights intent without a
    word that says so (bot/intent_evidence.py) gives way to the next intent in the ranking,
    with that intent's own confidence (so a weak runner-up still ends in the fallback)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    def __init__(self, config: dict[str, Any]) -> None:
        self.component_config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IntentEvidenceGuard:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = message.data.get(INTENT) or {}
            text = message.get(TEXT) or ""
            if not intent.get(INTENT_NAME_KEY) or has_evidence(intent[INTENT_NAME_KEY], text):
                continue
            ranking = [r for r in message.data.get(INTENT_RANKING_KEY) or [] if has_evidence(r[INTENT_NAME_KEY], text)]
            message.data[INTENT_RANKING_KEY] = ranking
            message.data[INTENT] = dict(ranking[0]) if ranking else {INTENT_NAME_KEY: None, "confidence": 0.0}
        return messages
