"""The public chat API: bad input gets a clear 4xx, and with the bot down nothing is lost."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from conversations.models import BotDelivery, Message


def start(client) -> str:
    response = client.post("/api/chat/conversations")
    assert response.status_code == 201
    return response.get_json()["conversation_id"]


def test_empty_message_is_rejected(client):
    cid = start(client)
    for body in ({"text": ""}, {"text": "   \n "}, {}, {"text": None}):
        response = client.post(f"/api/chat/conversations/{cid}/messages", json=body)
        assert response.status_code == 400
        assert response.get_json()["error"] == "empty_message"


def test_too_long_message_is_rejected_with_the_limit(client):
    cid = start(client)
    response = client.post(f"/api/chat/conversations/{cid}/messages", json={"text": "a" * 10_000})
    assert response.status_code == 413
    assert "2000" in response.get_json()["message"]


def test_markup_is_kept_as_plain_text(client, app):
    cid = start(client)
    for text in ("<script>alert(1)</script> hallo", "<b>help</b> <img src=x onerror=alert(1)>", "dank je <3"):
        response = client.post(f"/api/chat/conversations/{cid}/messages", json={"text": text})
        assert response.status_code == 201
        assert response.get_json()["message"]["text"] == text
    listed = client.get(f"/api/chat/conversations/{cid}/messages").get_json()["messages"]
    assert "<script>alert(1)</script> hallo" in [m["text"] for m in listed]


def test_invalid_json_and_unknown_conversation(client):
    cid = start(client)
    response = client.post(f"/api/chat/conversations/{cid}/messages", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_json"
    for unknown in ("0" * 32, "nope"):
        response = client.post(f"/api/chat/conversations/{unknown}/messages", json={"text": "hoi"})
        assert response.status_code == 404
        assert response.get_json()["error"] == "unknown_conversation"
    response = client.post("/api/chat/conversations/../../etc/messages", json={"text": "hoi"})
    assert response.status_code == 404 and response.is_json


def test_oversized_body_is_a_clear_413(client):
    cid = start(client)
    response = client.post(
        f"/api/chat/conversations/{cid}/messages", data="x" * 400_000, content_type="application/json"
    )
    assert response.status_code == 413
    assert response.is_json


def test_bot_down_gives_loket_phone_and_keeps_the_message(client, app, settings):
    cid = start(client)
    response = client.post(f"/api/chat/conversations/{cid}/messages", json={"text": "ik heb een vraag over de huur"})
    assert response.status_code == 201
    replies = response.get_json()["messages"]
    assert len(replies) == 1
    assert "niet bereikbaar" in replies[0]["text"] and settings.loket_phone in replies[0]["text"]
    history = client.get(f"/api/chat/conversations/{cid}/messages").get_json()["messages"]
    assert history[0]["text"] == "ik heb een vraag over de huur"
    with app.app_context():
        from core.db import get_engine, session_factory

        db = session_factory(get_engine(settings.database_url))()
        stored = db.scalars(select(Message).where(Message.conversation_id == cid, Message.sender == "resident")).one()
        assert stored.bot_delivery == BotDelivery.PENDING
        db.close()


def test_crisis_numbers_come_first_even_with_the_bot_down(client):
    cid = start(client)
    response = client.post(
        f"/api/chat/conversations/{cid}/messages", json={"text": "ik zie het echt niet meer zitten, ik wil dood"}
    )
    replies = response.get_json()["messages"]
    assert "113" in replies[0]["text"] and "0800-0113" in replies[0]["text"]
    assert "niet bereikbaar" in replies[-1]["text"]


def test_repeated_delivery_is_answered_once(client):
    cid = start(client)
    body = {"text": "hallo", "client_message_id": "abc-123"}
    first = client.post(f"/api/chat/conversations/{cid}/messages", json=body)
    second = client.post(f"/api/chat/conversations/{cid}/messages", json=body)
    assert first.status_code == 201 and second.status_code == 200
    assert second.get_json()["duplicate"] is True
    assert second.get_json()["messages"] == first.get_json()["messages"]
    history = client.get(f"/api/chat/conversations/{cid}/messages").get_json()["messages"]
    assert [m["text"] for m in history if m["sender"] == "resident"] == ["hallo"]


def test_bsn_and_iban_are_never_stored(client):
    cid = start(client)
    response = client.post(
        f"/api/chat/conversations/{cid}/messages", json={"text": "mijn bsn is 111222333, rekening NL91ABNA0417164300"}
    )
    stored = response.get_json()["message"]["text"]
    assert "111222333" not in stored and "NL91ABNA0417164300" not in stored
    assert any("BSN" in m["text"] for m in response.get_json()["messages"])


def test_polling_after_a_message_id(client):
    cid = start(client)
    first = client.post(f"/api/chat/conversations/{cid}/messages", json={"text": "hallo"}).get_json()
    last_id = first["messages"][-1]["id"]
    assert client.get(f"/api/chat/conversations/{cid}/messages?after={last_id}").get_json()["messages"] == []
    assert client.get(f"/api/chat/conversations/{cid}/messages?after=x").status_code == 400


def test_broken_unicode_and_odd_numbers_get_a_clear_answer(client):
    cid = start(client)
    # A lone surrogate (half an emoji) is kept as the replacement character, not a 500.
    response = client.post(
        f"/api/chat/conversations/{cid}/messages",
        data='{"text": "hallo \\ud83d daar"}',
        content_type="application/json",
    )
    assert response.status_code == 201
    stored = client.get(f"/api/chat/conversations/{cid}/messages").get_json()["messages"]
    assert any(m["text"] == "hallo \ufffd daar" for m in stored)
    for after in ("²", "٣", "99999999999999999999999", "-1"):
        response = client.get(f"/api/chat/conversations/{cid}/messages?after={after}")
        assert response.status_code == 400 and response.get_json()["error"] == "invalid_after"


def test_a_tag_shaped_word_is_plain_text(client):
    cid = start(client)
    response = client.post(f"/api/chat/conversations/{cid}/messages", json={"text": "<geen idee> wat ik moet doen"})
    assert response.status_code == 201


def test_health_says_up_or_down_and_nothing_else(client, settings):
    response = client.get("/health")
    body = response.get_json()
    assert response.status_code == 503 and body["status"] == "degraded"  # Rasa is not running here
    assert all(set(part) == {"up"} for part in body["parts"].values()), body
    assert settings.rasa_token not in response.get_data(as_text=True)


def test_the_rasa_secret_never_reaches_an_error_text(settings):
    from conversations.rasa_client import BotUnavailable, RasaClient

    client = RasaClient(settings)  # nothing listens at its Rasa URL: every call fails with the URL in the text
    for call in (client.status, lambda: client.replies_to("a" * 32, 1), lambda: client.set_slots("a" * 32, {"x": 1})):
        with pytest.raises(BotUnavailable) as caught:
            call()
        assert "127.0.0.1" in str(caught.value)
        assert settings.rasa_token not in str(caught.value) and "token" not in str(caught.value)
