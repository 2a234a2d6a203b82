"""The whole stack as real processes: Rasa server, action server, web app. No mocks.

Needs `iad setup` to have run (the Makefile's `make test` does): the trained Rasa model,
the embedding model and the demo sociale kaart. Each run works on a copy of the demo
database and its own tracker store, so it leaves the demo data as it was."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import signal
import sqlite3
import time

import psutil
import pytest
import requests
from sqlalchemy import create_engine, text

from conversations.rasa_client import BotUnavailable, RasaClient
from core.config import get_settings
from iad.rasa_process import model_path
from measure.stack import IAD, start_stack
from tests.conftest import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    settings = get_settings()
    missing = [str(p) for p in (model_path(settings), settings.default_embedding_model_dir) if not p.exists()]
    if missing or not settings.database_url.startswith("sqlite"):
        pytest.fail(f"run `make setup` first (missing: {missing}); this test copies the SQLite demo database")
    tmp = tmp_path_factory.mktemp("stack")
    source = sqlite3.connect(settings.database_url.removeprefix("sqlite:///"))
    copy = sqlite3.connect(tmp / "iad.db")
    source.backup(copy)
    source.close(), copy.close()
    stack = start_stack(
        web_port=free_port(),
        rasa_port=free_port(),
        action_port=free_port(),
        log_dir=tmp / "logs",
        extra_env={
            "IAD_DATA_DIR": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp / 'iad.db'}",
            "RASA_TRACKER_STORE_URL": f"sqlite:///{tmp / 'tracker.db'}",
            "RASA_MODEL_DIR": str(settings.rasa_model_dir),
            "EMBEDDING_MODEL": str(settings.default_embedding_model_dir),
            "RASA_TOKEN": secrets.token_hex(16),  # the secret of Rasa's HTTP API, not the dev default
        },
    )
    stack.startup_seconds = stack.wait_until_up(timeout=180)
    stack.db_url = f"sqlite:///{tmp / 'iad.db'}"
    stack.tracker_db = tmp / "tracker.db"
    yield stack
    stack.stop_all()


def say(stack, cid: str, message: str) -> list[dict]:
    response = requests.post(
        f"{stack.base_url}/api/chat/conversations/{cid}/messages", json={"text": message}, timeout=60
    )
    assert response.status_code == 201, response.text
    return response.json()["messages"]


def service_names(db_url: str) -> set[str]:
    with create_engine(db_url).connect() as conn:
        return {row[0] for row in conn.execute(text("SELECT name FROM service"))}


def test_every_part_is_up_within_60_seconds(stack):
    assert stack.startup_seconds <= 60, stack.health()
    parts = stack.health()["parts"]
    assert all(part["up"] for part in parts.values()), parts


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port` (Linux /proc/net/tcp, tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            for row in list(rows)[1:]:
                local, state = row.split()[1], row.split()[3]
                address, port_hex = local.rsplit(":", 1)
                if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                    found.add(address)
    return found


def test_only_the_web_app_is_reachable_and_only_on_loopback(stack):
    """Residents reach the bot through the front door only: Rasa and the action server, and
    by default the web app too, listen on 127.0.0.1 (or ::1), never on every interface."""
    loopback = {"0100007F", "00000000000000000000000001000000"}
    for name in ("PORT", "RASA_PORT", "ACTION_SERVER_PORT"):
        addresses = listening_addresses(int(stack.env[name]))
        assert addresses and addresses <= loopback, (name, addresses)


def test_rasas_api_wants_a_signed_token_in_a_header_and_its_secret_is_on_no_command_line(stack):
    secret, rasa_url = stack.env["RASA_TOKEN"], stack.env["RASA_URL"]
    assert requests.get(f"{rasa_url}/status", timeout=10).status_code == 401
    assert requests.get(f"{rasa_url}/status", params={"token": secret}, timeout=10).status_code == 401
    forged = RasaClient(dataclasses.replace(get_settings(), rasa_url=rasa_url, rasa_token="not-the-secret-0000"))
    with pytest.raises(BotUnavailable):
        forged.status()
    client = RasaClient(dataclasses.replace(get_settings(), rasa_url=rasa_url, rasa_token=secret))
    assert "model_file" in client.status()
    for process in stack.processes.values():
        for each in [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]:
            assert secret not in " ".join(each.cmdline()), each.cmdline()


def test_a_whole_conversation_gets_services_from_the_sociale_kaart(stack):
    cid = requests.post(f"{stack.base_url}/api/chat/conversations", timeout=30).json()["conversation_id"]
    welcome = say(stack, cid, "hallo")
    assert welcome and any("mens" in m["text"] or "medewerker" in m["text"] for m in welcome), welcome
    replies = say(stack, cid, "ik heb schulden en ik kom niet rond met mijn geld")
    for _ in range(4):  # the bot may ask a clarifying question or two first
        names = [n for n in service_names(stack.db_url) if any(n in m["text"] for m in replies)]
        if len(names) >= 2:
            break
        choice = next((b["payload"] for m in replies for b in m["buttons"]), None)
        replies = say(stack, cid, choice or "nee, ik heb niemand die kan helpen")
    assert len(names) >= 2, replies


def test_crisis_on_the_first_message_is_answered_once_with_the_number_first(stack):
    """The front door's slots reach the bot from the very first message, so the bot knows
    the numbers were given and does not repeat them."""
    cid = requests.post(f"{stack.base_url}/api/chat/conversations", timeout=30).json()["conversation_id"]
    replies = say(stack, cid, "mijn vader ademt niet meer")
    assert replies[0]["sender"] == "system" and "112" in replies[0]["text"]
    assert sum("Bel nu 112" in m["text"] for m in replies) == 1, replies
    assert any(m["sender"] == "bot" for m in replies), replies


def heard_by_rasa(stack, cid: str) -> list[str]:
    """The resident texts in Rasa's own record of the conversation, in order."""
    tracker = sqlite3.connect(stack.tracker_db)
    try:
        rows = tracker.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (cid,))
        return [json.loads(row[0])["text"] for row in rows]
    finally:
        tracker.close()


def bot_answers(stack, cid: str, resident_text_like: str) -> int:
    """How many bot messages answer the resident message(s) whose text is LIKE the pattern."""
    query = text(
        "SELECT count(b.id) FROM message r JOIN message b ON b.in_reply_to = r.id AND b.sender = 'bot' "
        "WHERE r.conversation_id = :cid AND r.sender = 'resident' AND r.text LIKE :like"
    )
    with create_engine(stack.db_url).connect() as conn:
        return conn.execute(query, {"cid": cid, "like": resident_text_like}).scalar_one()


def wait_for_bot_answers(stack, cid: str, resident_text_like: str, seconds: float = 90) -> int:
    """bot_answers once there is one (the worker answers on its own time), or 0 after `seconds`."""
    deadline = time.monotonic() + seconds
    while (answers := bot_answers(stack, cid, resident_text_like)) == 0 and time.monotonic() < deadline:
        time.sleep(1)
    return answers


def rasa_events(stack, cid: str) -> int:
    with sqlite3.connect(stack.tracker_db) as conn:
        return conn.execute("SELECT count(*) FROM events WHERE sender_id = ?", (cid,)).fetchone()[0]


def test_erasing_a_conversation_on_request_also_erases_rasas_copy(stack):
    """Regie op gegevens: after "wis alles" and the confirming button, neither the app nor
    Rasa's tracker store holds anything of the conversation."""
    cid = requests.post(f"{stack.base_url}/api/chat/conversations", timeout=30).json()["conversation_id"]
    say(stack, cid, "hallo")
    asked = say(stack, cid, "verwijder alles over mij")
    assert any(b["payload"] == "/affirm" for m in asked for b in m["buttons"]), asked
    assert rasa_events(stack, cid) > 0
    done = say(stack, cid, "/affirm")
    assert any("We wissen dit gesprek" in m["text"] for m in done), done
    assert rasa_events(stack, cid) == 0
    assert requests.get(f"{stack.base_url}/api/chat/conversations/{cid}/messages", timeout=30).status_code == 404


def press(stack, cid: str, replies: list[dict], payload_part: str) -> list[dict]:
    """Presses the button whose payload contains `payload_part`, as the widget would."""
    payload = next((b["payload"] for m in replies for b in m["buttons"] if payload_part in b["payload"]), None)
    assert payload, (payload_part, replies)
    return say(stack, cid, payload)


def test_a_web_resident_who_wants_a_call_gives_a_number_that_only_the_inbox_can_read(stack):
    cid = requests.post(f"{stack.base_url}/api/chat/conversations", timeout=30).json()["conversation_id"]
    say(stack, cid, "hallo")
    replies = say(stack, cid, "ik wil een mens spreken")
    replies = press(stack, cid, replies, "/affirm")  # yes to the handover
    replies = press(stack, cid, replies, '"samenvatting"')  # consent: the summary only
    replies = press(stack, cid, replies, '"bellen"')  # a call
    assert any("telefoonnummer" in m["text"] for m in replies), replies
    replies = say(stack, cid, "06-24681357")
    assert not any("telefoonnummer" in m["text"] for m in replies), replies  # accepted, the next question
    for _ in range(3):  # time window, postcode: the last button ("maakt niet uit", "sla over")
        if any("belt u" in m["text"] for m in replies) or not replies[-1]["buttons"]:
            break
        replies = say(stack, cid, replies[-1]["buttons"][-1]["payload"])
    assert any("belt u" in m["text"] for m in replies), replies
    with create_engine(stack.db_url).connect() as conn:
        contact, encrypted = conn.execute(
            text(
                "SELECT t.contact_preference, c.resident_address_encrypted FROM inbox_handover_ticket t "
                "JOIN conversation c ON c.id = t.conversation_id WHERE c.id = :cid"
            ),
            {"cid": cid},
        ).one()
        texts = [
            row[0] for row in conn.execute(text("SELECT text FROM message WHERE conversation_id = :cid"), {"cid": cid})
        ]
    assert contact == "bellen" and encrypted and "24681357" not in encrypted
    assert not any("24681357" in t for t in texts)
    with sqlite3.connect(stack.tracker_db) as conn:  # nor did the bot ever hear it
        events = conn.execute("SELECT data FROM events WHERE sender_id = ?", (cid,)).fetchall()
    assert events and not any("24681357" in row[0] for row in events)


def test_a_neighbour_who_worries_makes_a_melding_about_the_person_not_about_herself(stack):
    """Issue 15: the melder is asked about the person concerned, the ticket is a signaal for
    that person's wijkteam, and nothing is promised about the person."""
    cid = requests.post(f"{stack.base_url}/api/chat/conversations", timeout=30).json()["conversation_id"]
    replies = say(
        stack,
        cid,
        "Ik maak me zorgen om mijn buurvrouw. Ze is 84, komt al weken de deur niet uit en de post stapelt zich op.",
    )
    texts = " ".join(m["text"] for m in replies)
    assert "Kunnen mensen om u heen" not in texts  # nothing about the melder's own network
    assert "doorgeven" in texts, replies  # the offer to pass the worry on
    replies = press(stack, cid, replies, "/affirm")
    replies = press(stack, cid, replies, '"samenvatting"')
    assert any("Wie is die persoon voor u?" in m["text"] for m in replies), replies
    replies = press(stack, cid, replies, '"buur"')
    replies = say(stack, cid, "een week of drie")
    replies = press(stack, cid, replies, '"weet_niet"')
    replies = press(stack, cid, replies, '"week"')
    assert any("postcode van die persoon" in m["text"] for m in replies), replies
    replies = say(stack, cid, "7511 AB")
    replies = press(stack, cid, replies, '"chat"')
    replies = press(stack, cid, replies, '"ja"')
    reply = " ".join(m["text"] for m in replies)
    assert "Ik heb uw melding doorgegeven" in reply and "niet beloven" in reply, replies
    with create_engine(stack.db_url).connect() as conn:
        melding, reasons = conn.execute(
            text("SELECT melding, reasons FROM inbox_handover_ticket WHERE conversation_id = :cid"), {"cid": cid}
        ).one()
    assert '"relatie": "buur"' in melding and '"weet": "weet_niet"' in melding and "zorg_om_ander" in reasons


def test_a_hung_rasa_answers_what_it_missed_once_and_in_order_when_it_wakes(stack):
    """Rasa stopped with SIGSTOP mid-conversation: the resident hears the message is kept,
    crisis numbers still come at once, and after SIGCONT the worker answers what waited and
    Rasa hears each message once."""
    cid = requests.post(f"{stack.base_url}/api/chat/conversations", timeout=30).json()["conversation_id"]
    say(stack, cid, "hallo")
    rasa = stack.processes["rasa"]
    os.killpg(rasa.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        kept = say(stack, cid, "ik zoek hulp bij mijn administratie")
        assert time.monotonic() - started < 8  # the turn waits 5 s for the bot, not Rasa's timeouts
        # Kept (the call failed) or coming (the call is still in flight): never silence.
        assert any("bewaard" in m["text"] or "Het antwoord komt zo" in m["text"] for m in kept)
        started = time.monotonic()
        crisis = say(stack, cid, "ik wil niet meer leven")
        assert time.monotonic() - started < 1.5
        assert "113" in crisis[0]["text"]
    finally:
        os.killpg(rasa.pid, signal.SIGCONT)
    engine = create_engine(stack.db_url)
    query = text(
        "SELECT r.text, count(b.id) FROM message r LEFT JOIN message b ON b.in_reply_to = r.id AND b.sender = 'bot' "
        "WHERE r.conversation_id = :cid AND r.sender = 'resident' GROUP BY r.id ORDER BY r.id"
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            answered = conn.execute(query, {"cid": cid}).all()
        if all(n > 0 for _, n in answered[:2]):
            break
        time.sleep(1)
    # The message sent while Rasa hung is answered (once: see Rasa's record below).
    assert answered[1][0] == "ik zoek hulp bij mijn administratie" and answered[1][1] >= 1, stack.tail("worker")
    # In Rasa's own record each message was heard once. (The crisis message may reach Rasa
    # before the one that waited for a retry: a crisis is not held back behind it.)
    heard = heard_by_rasa(stack, cid)
    assert heard[0] == "hallo" and "ik zoek hulp bij mijn administratie" in heard
    assert len(heard) == len(set(heard))  # nothing twice


# Last: it stops Rasa for the rest of the module.
def test_a_hung_action_server_keeps_the_message_until_it_is_back(stack):
    """The action server stopped with SIGSTOP mid-conversation. Rasa alone would answer
    without its custom actions (no services, often nothing at all) and the message would
    count as answered: instead it is kept, the resident hears so, and after SIGCONT the
    worker has the bot answer it, once, with its actions."""
    cid = requests.post(f"{stack.base_url}/api/chat/conversations", timeout=30).json()["conversation_id"]
    say(stack, cid, "hallo")
    actions = stack.processes["actions"]
    os.killpg(actions.pid, signal.SIGSTOP)
    try:
        kept = say(stack, cid, "ik heb schulden en ik kom niet rond met mijn geld")
        assert any("bewaard" in m["text"] for m in kept), kept
    finally:
        os.killpg(actions.pid, signal.SIGCONT)
    assert wait_for_bot_answers(stack, cid, "ik heb schulden%") >= 1, stack.tail("worker")
    heard = heard_by_rasa(stack, cid)
    assert heard == ["hallo", "ik heb schulden en ik kom niet rond met mijn geld"]  # once, after it was back


def test_a_killed_queue_worker_loses_nothing_and_its_successor_answers_once(stack):
    """The worker SIGKILLed while a message waits for the bot (the action server hung): the
    message stays kept, and a new worker answers it once."""
    cid = requests.post(f"{stack.base_url}/api/chat/conversations", timeout=30).json()["conversation_id"]
    say(stack, cid, "hallo")
    actions = stack.processes["actions"]
    os.killpg(actions.pid, signal.SIGSTOP)
    try:
        kept = say(stack, cid, "ik zoek een cursus Nederlands voor mijn moeder")
        assert any("bewaard" in m["text"] for m in kept), kept
        worker = stack.processes.pop("worker")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        os.killpg(actions.pid, signal.SIGCONT)
    time.sleep(3)
    assert bot_answers(stack, cid, "ik zoek een cursus%") == 0  # no worker: it waits, kept
    stack.start("worker", [IAD, "worker", "--interval", "1"])
    assert wait_for_bot_answers(stack, cid, "ik zoek een cursus%") >= 1, stack.tail("worker")
    heard = heard_by_rasa(stack, cid)
    assert heard == ["hallo", "ik zoek een cursus Nederlands voor mijn moeder"]  # once


def test_with_rasa_killed_the_web_app_still_answers_and_loses_nothing(stack):
    cid = requests.post(f"{stack.base_url}/api/chat/conversations", timeout=30).json()["conversation_id"]
    say(stack, cid, "hallo")
    stack.stop("rasa")
    started = time.monotonic()
    replies = say(stack, cid, "ik heb een vraag over huurtoeslag")
    assert time.monotonic() - started < 15
    assert any("niet bereikbaar" in m["text"] and get_settings().loket_phone in m["text"] for m in replies)
    crisis = say(stack, cid, "ik wil niet meer leven")
    assert "113" in crisis[0]["text"]
    history = requests.get(f"{stack.base_url}/api/chat/conversations/{cid}/messages", timeout=30).json()["messages"]
    resident = [m["text"] for m in history if m["sender"] == "resident"]
    assert resident == ["hallo", "ik heb een vraag over huurtoeslag", "ik wil niet meer leven"]
    assert stack.health()["parts"]["rasa"]["up"] is False
