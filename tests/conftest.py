from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from core.config import PROJECT_ROOT, load_settings

SHARED = PROJECT_ROOT.parent / "shared"

# Property tests (hypothesis, schemathesis) draw the same cases on every run and machine: a
# failure is reproducible and never the luck of one CI run; more cases means more examples.
hypothesis_settings.register_profile("iad", derandomize=True, database=None)
hypothesis_settings.load_profile("iad")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_shared(*parts: str) -> Path:
    """A path under ../shared, or a skip that says why."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: this test needs the shared evaluation material beside the repo")
    return path


@pytest.fixture
def settings(tmp_path):
    """Settings for an isolated app: its own SQLite file, and a Rasa URL where nothing listens
    (the real 'bot is down' situation) unless a test starts Rasa itself."""
    dead_port = free_port()
    return dataclasses.replace(
        load_settings(),
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'iad.db'}",
        rasa_tracker_store_url=f"sqlite:///{tmp_path / 'rasa-tracker.db'}",
        rasa_url=f"http://127.0.0.1:{dead_port}",
        action_server_url=f"http://127.0.0.1:{free_port()}",
        rasa_timeout_seconds=2,
    )


@pytest.fixture
def twilio_api():
    """A local HTTP server standing in for Twilio's REST API; it records every request."""
    from tests.twilio_support import RecordingTwilioApi

    api = RecordingTwilioApi()
    yield api
    api.stop()


def make_app(settings):
    from core.db import Base, get_engine
    from iad.app import create_app
    from iad.tables import import_all_models

    import_all_models()
    Base.metadata.create_all(get_engine(settings.database_url))
    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def app(settings):
    return make_app(settings)


@pytest.fixture
def unlimited_app(settings):
    """The app without its rate limits, for tests that send hundreds of requests in seconds
    (fuzzing, property tests); the limits have their own tests."""
    return make_app(dataclasses.replace(settings, rate_limits_enabled=False))


@pytest.fixture
def client(app):
    return app.test_client()
