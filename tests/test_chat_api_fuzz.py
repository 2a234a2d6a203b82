"""The chat API fuzzed by schemathesis against its own OpenAPI description (served at
/api/chat/openapi.json): valid and invalid bodies, parameters and content types. No answer
is a server error, every status code and body is one the description documents, and input
outside the description is refused with a 4xx. Most cases run against a real conversation
(a random id only ever finds a 404)."""

from __future__ import annotations

import dataclasses
import zlib

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture
def chat_app(unlimited_app):
    # The bot is down here, so every message is kept for later.
    return unlimited_app


@pytest.fixture
def conversation_id(chat_app) -> str:
    return chat_app.test_client().post("/api/chat/conversations").get_json()["conversation_id"]


@pytest.fixture
def chat_schema(chat_app):
    description = chat_app.test_client().get("/api/chat/openapi.json")
    assert description.status_code == 200
    schema = schemathesis.openapi.from_dict(description.get_json())
    schema.app = chat_app
    return schema


def test_the_description_covers_every_chat_route(chat_app):
    described = set(chat_app.test_client().get("/api/chat/openapi.json").get_json()["paths"])
    routes = {
        rule.rule.removeprefix("/api/chat").replace("<", "{").replace(">", "}")
        for rule in chat_app.url_map.iter_rules()
        if rule.endpoint.startswith("web_chat.") and not rule.rule.endswith("openapi.json")
    }
    assert routes == described


lazy_schema = schemathesis.pytest.from_fixture("chat_schema")


@lazy_schema.parametrize()
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_chat_api_keeps_to_its_description(case, conversation_id):
    if "conversation_id" in case.path_parameters:
        # Three in four cases on the real conversation; the rest keep their generated id.
        generated = str(case.path_parameters["conversation_id"])
        if zlib.crc32(generated.encode("utf-8", "surrogatepass")) % 4:
            case.path_parameters["conversation_id"] = conversation_id
    case.call_and_validate(checks=CHECKS)
