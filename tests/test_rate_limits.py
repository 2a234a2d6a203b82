"""Rate limits on the chat API and the staff login (iad/rate_limits.py): a clear 429, per IP,
per conversation and per account."""

from __future__ import annotations

import dataclasses

import pytest

from tests.inbox_support import csrf_from


@pytest.fixture
def limited(settings):
    from core.db import Base, get_engine
    from iad.app import create_app
    from iad.tables import import_all_models

    import_all_models()
    Base.metadata.create_all(get_engine(settings.database_url))
    strict = dataclasses.replace(
        settings,
        rate_limit_new_conversation="3 per minute",
        rate_limit_messages_per_conversation="4 per minute",
        rate_limit_messages_per_ip="6 per minute",
        rate_limit_login_per_ip="5 per minute",
        rate_limit_login_per_account="3 per minute",
        rasa_timeout_seconds=0.2,
    )
    app = create_app(strict)
    app.config["TESTING"] = True
    return app.test_client()


def test_starting_conversations_is_limited_per_ip(limited):
    codes = [limited.post("/api/chat/conversations").status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    refused = limited.post("/api/chat/conversations")
    assert refused.get_json()["error"] == "too_many_requests" and "Wacht een minuut" in refused.get_json()["message"]
    other_ip = limited.post("/api/chat/conversations", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_ip.status_code == 201


def test_messages_are_limited_per_conversation_and_per_ip(limited):
    first = limited.post("/api/chat/conversations").get_json()["conversation_id"]
    second = limited.post("/api/chat/conversations").get_json()["conversation_id"]
    url = "/api/chat/conversations/{}/messages"
    codes = [limited.post(url.format(first), json={"text": f"vraag {i}"}).status_code for i in range(5)]
    assert codes == [201, 201, 201, 201, 429]
    # The same IP may go on in another conversation, up to its own limit (refused ones count).
    codes = [limited.post(url.format(second), json={"text": f"vraag {i}"}).status_code for i in range(3)]
    assert codes == [201, 429, 429]


def test_login_guesses_are_limited_per_account_and_per_ip(limited):
    def guess(user: str, ip: str = "10.0.0.1"):
        page = limited.get("/inbox/login", environ_base={"REMOTE_ADDR": ip})
        token = csrf_from(page.get_data(as_text=True))
        return limited.post(
            "/inbox/login",
            data={"username": user, "password": "fout", "csrf_token": token},
            environ_base={"REMOTE_ADDR": ip},
        ).status_code

    assert [guess("sanne@gemeente.nl") for _ in range(4)][-1] == 429
    assert guess("sanne@gemeente.nl", ip="10.0.0.2") == 429  # the account, from anywhere
    assert guess("piet@gemeente.nl") != 429
    assert guess("kees@gemeente.nl") == 429  # the fifth guess from this IP
    assert limited.get("/inbox/login").status_code == 200  # the page itself is not limited


def test_with_limits_switched_off_the_chat_still_works(settings):
    """The limiter must outlive create_app also when it is off (it was garbage collected)."""
    import gc

    from core.db import Base, get_engine
    from iad.app import create_app
    from iad.tables import import_all_models

    import_all_models()
    Base.metadata.create_all(get_engine(settings.database_url))
    app = create_app(dataclasses.replace(settings, rate_limits_enabled=False))
    gc.collect()
    assert app.test_client().post("/api/chat/conversations").status_code == 201
