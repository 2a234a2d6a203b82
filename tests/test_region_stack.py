"""A region as real processes on this machine's PostgreSQL and Redis: the app and the inbox on
PostgreSQL, Rasa's SQL tracker store on PostgreSQL with Rasa's Redis lock store, two Rasa
servers behind the app, two web workers (gunicorn), the queue worker, and the rate limits
in Redis (deploy/region/ is the same set-up for `honcho`). Skipped, with the reason, where
PostgreSQL or Redis is not reachable."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import uuid

import psutil
import pytest
import requests
from sqlalchemy import create_engine, text

from conversations.rasa_client import RasaClient
from core.config import PROJECT_ROOT, get_settings
from iad.rasa_process import model_path
from measure.stack import IAD, start_stack
from tests.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

PG = os.environ.get("IAD_TEST_POSTGRES_SERVER", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS = os.environ.get("IAD_TEST_REDIS_URL", "redis://127.0.0.1:6379")
LOCK_DB, LIMITS_DB = 11, 12  # Redis databases of this test alone, emptied before and after


def _reachable() -> str | None:
    import redis  # only here: the skip reason needs it

    try:
        with create_engine(f"{PG}/test").connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection problem means: skip
        return f"PostgreSQL not reachable at {PG}: {type(exc).__name__}"
    try:
        redis.Redis.from_url(REDIS, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis not reachable at {REDIS}: {type(exc).__name__}"
    return None


def _empty_redis() -> None:
    import redis  # only where a region runs

    for db in (LOCK_DB, LIMITS_DB):
        redis.Redis.from_url(f"{REDIS}/{db}").flushdb()


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    reason = _reachable()
    if reason:
        pytest.skip(reason)
    settings = get_settings()
    if not model_path(settings).exists():
        pytest.fail("run `make setup` first: the trained Rasa model is missing")
    name = f"iad_region_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{PG}/test", isolation_level="AUTOCOMMIT")
    stacks: list = []  # the one started, once it is: stopped whatever happens
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}_rasa"'))
        _empty_redis()
        yield from _run_region(tmp_path_factory, settings, name, stacks)
    finally:
        try:
            for stack in stacks:
                stack.stop_all()
        finally:
            _empty_redis()
            with admin.connect() as conn:
                for db in (name, f"{name}_rasa"):
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            admin.dispose()


def _run_region(tmp_path_factory, settings, name: str, stacks: list):
    tmp = tmp_path_factory.mktemp("region")
    env = {
        "IAD_ENV": "development",
        "DATABASE_URL": f"{PG}/{name}",
        "RASA_TRACKER_STORE_URL": f"{PG.replace('+psycopg', '')}/{name}_rasa",
        "RASA_LOCK_STORE_URL": f"{REDIS}/{LOCK_DB}",
        "RATE_LIMIT_STORAGE_URI": f"{REDIS}/{LIMITS_DB}",
        "RASA_TOKEN": secrets.token_hex(16),
        "WEB_WORKERS": "2",
        # A fixed window of an hour: the rate-limit test cannot straddle a window's edge.
        "RATE_LIMIT_NEW_CONVERSATION": "30 per hour",
        "RASA_MODEL_DIR": str(settings.rasa_model_dir),
        "EMBEDDING_MODEL": str(settings.default_embedding_model_dir),
    }
    # The region's database is made the way a municipality makes it: migrations and demo data.
    setup = subprocess.run(
        [IAD, "setup", "--skip-train"],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    stack = start_stack(
        web_port=free_port(),
        rasa_port=free_port(),
        more_rasa_ports=(free_port(),),
        action_port=free_port(),
        log_dir=tmp / "logs",
        extra_env={**env, "IAD_DATA_DIR": str(tmp), "RATE_LIMITS_ENABLED": "true"},
    )
    stacks.append(stack)
    stack.startup_seconds = stack.wait_until_up(timeout=240)
    stack.database_url = env["DATABASE_URL"]
    # /health is up as soon as one Rasa server answers (the other takes its conversations):
    # these tests want both.
    rasa = client(stack)
    deadline = time.monotonic() + 180
    while not all(_answers(rasa, server) for server in rasa.servers):
        assert time.monotonic() < deadline, stack.tail("rasa") + stack.tail("rasa-2")
        time.sleep(1)
    yield stack


def _answers(rasa: RasaClient, server: str) -> bool:
    try:
        return requests.get(f"{server}/status", headers=rasa.auth_headers(), timeout=5).status_code == 200
    except requests.RequestException:
        return False


def start(region) -> str:
    response = requests.post(f"{region.base_url}/api/chat/conversations", timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["conversation_id"]


def say(region, cid: str, message: str) -> list[dict]:
    response = requests.post(
        f"{region.base_url}/api/chat/conversations/{cid}/messages", json={"text": message}, timeout=60
    )
    assert response.status_code == 201, response.text
    return response.json()["messages"]


def client(region) -> RasaClient:
    from dataclasses import replace

    return RasaClient(replace(get_settings(), rasa_url=region.env["RASA_URL"], rasa_token=region.env["RASA_TOKEN"]))


def test_the_region_runs_two_web_workers_and_two_rasa_servers_with_a_redis_lock_store(region):
    assert region.health()["status"] == "up"
    web = psutil.Process(region.processes["web"].pid)
    assert "iad.wsgi:app" in web.cmdline() and len(web.children()) == 2  # gunicorn and its two workers
    rasa = client(region)
    assert len(rasa.servers) == 2 and all(_answers(rasa, server) for server in rasa.servers)  # both up
    for part in ("rasa", "rasa-2"):
        command = psutil.Process(region.processes[part].pid).cmdline()
        endpoints = command[command.index("--endpoints") + 1]
        content = open(endpoints, encoding="utf-8").read()
        assert "type: redis" in content and "postgresql" in content, content


def test_conversations_on_both_servers_are_answered_and_kept_in_postgresql(region):
    rasa = client(region)
    by_server: dict[str, str] = {}
    while len(by_server) < 2:  # one conversation whose own server is each of the two
        cid = start(region)
        by_server.setdefault(rasa.servers_for(cid)[0], cid)
    for cid in by_server.values():
        replies = say(region, cid, "hallo")
        assert any(m["sender"] == "bot" for m in replies), replies
        replies = say(region, cid, "ik heb schulden en ik kom niet rond")
        assert any(m["sender"] == "bot" for m in replies), replies
    with create_engine(region.database_url).connect() as conn:
        stored = conn.execute(text("SELECT conversation_id, count(*) FROM message GROUP BY conversation_id")).all()
    counts = dict(stored)
    assert all(counts.get(cid, 0) >= 4 for cid in by_server.values()), counts
    rasa_db = region.env["RASA_TRACKER_STORE_URL"].replace("postgresql://", "postgresql+psycopg://")
    with create_engine(rasa_db).connect() as conn:
        senders = {row[0] for row in conn.execute(text("SELECT DISTINCT sender_id FROM events"))}
    assert set(by_server.values()) <= senders  # Rasa's trackers, in the shared store


def test_with_one_rasa_server_killed_its_conversations_go_on_on_the_other(region):
    rasa = client(region)
    second = rasa.servers[1]
    cid = start(region)
    while rasa.servers_for(cid)[0] != second:
        cid = start(region)
    assert any(m["sender"] == "bot" for m in say(region, cid, "hallo"))
    os.killpg(region.processes["rasa-2"].pid, signal.SIGKILL)  # mid-conversation
    region.processes["rasa-2"].wait(timeout=10)
    replies = say(region, cid, "ik zoek hulp bij mijn administratie")
    assert any(m["sender"] == "bot" for m in replies), replies  # the other server took it
    # Crisis numbers come first and at once, whatever the bot does.
    started = time.monotonic()
    crisis = say(region, cid, "ik wil niet meer leven")
    assert time.monotonic() - started < 1.5
    assert crisis[0]["sender"] == "system" and "113" in crisis[0]["text"], crisis


def test_a_killed_web_worker_loses_no_conversation_and_is_replaced(region):
    cid = start(region)
    assert say(region, cid, "hallo")
    web = psutil.Process(region.processes["web"].pid)
    victim = web.children()[0]
    victim.send_signal(signal.SIGKILL)  # mid-conversation
    # The other worker answers at once; the master starts a new one.
    replies = say(region, cid, "ik heb een vraag over mijn huur")
    assert any(m["sender"] == "bot" for m in replies), replies
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len([p for p in web.children() if p.pid != victim.pid]) < 2:
        time.sleep(1)
    assert len([p for p in web.children() if p.pid != victim.pid]) == 2
    history = requests.get(f"{region.base_url}/api/chat/conversations/{cid}/messages", timeout=30).json()
    assert [m["text"] for m in history["messages"] if m["sender"] == "resident"] == [
        "hallo",
        "ik heb een vraag over mijn huur",
    ]


def test_the_rate_limits_are_shared_by_the_web_workers(region):
    """30 new conversations a minute per address: with the count in Redis, not per worker."""
    codes = [requests.post(f"{region.base_url}/api/chat/conversations", timeout=30).status_code for _ in range(45)]
    assert 429 in codes and codes.count(201) <= 30, codes
