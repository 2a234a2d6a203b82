"""`iad bench load`: simulated residents through the public chat API at once, each with a
think time between turns, for a fixed time; and `iad bench memory`: what every process of
the stack holds in memory.

Loopback only (a load test is never pointed at someone else's server), bounded in residents
and seconds, and it stops by itself. Each resident says other words (the dialogue bench's
scripts), so no process can answer from what it kept of an earlier turn."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

import psutil
import requests

from measure.dialogue_bench import _turns
from measure.search_bench import percentile

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
MAX_RESIDENTS = 500
MAX_SECONDS = 900
# The parts of the stack, by what their command line runs (Procfile).
PARTS = {"web": "serve", "rasa": "rasa", "actions": "actions", "worker": "worker"}


class NotLoopback(ValueError):
    pass


def check_loopback(base_url: str) -> None:
    if urlsplit(base_url).hostname not in LOOPBACK_HOSTS:
        raise NotLoopback(f"{base_url}: the load bench only runs against a stack on this machine (loopback)")


def bench_load(base_url: str, residents: int, think_seconds: float, seconds: float, seed: int = 0) -> dict:
    check_loopback(base_url)
    residents = max(1, min(residents, MAX_RESIDENTS))
    seconds = max(1.0, min(seconds, MAX_SECONDS))
    base = base_url.rstrip("/")
    latencies: list[float] = []
    unanswered = 0  # 201, but no word from the bot (it was down or too slow): not a success
    errors: Counter = Counter()
    lock = threading.Lock()
    started = time.monotonic()
    stop_at = started + seconds

    def resident(n: int) -> None:
        nonlocal unanswered
        rng = random.Random(seed * 1000 + n)
        http = requests.Session()
        conversation = 0
        time.sleep(rng.uniform(0, min(think_seconds, 2.0)))  # not all at the same instant
        while time.monotonic() < stop_at:
            script = _turns(n * 97 + conversation)
            conversation += 1
            try:
                cid = http.post(f"{base}/api/chat/conversations", json={}, timeout=30).json()["conversation_id"]
            except (requests.RequestException, ValueError, KeyError) as exc:
                with lock:
                    errors[f"start: {type(exc).__name__}"] += 1
                time.sleep(1)
                continue
            for turn in script:
                if time.monotonic() >= stop_at:
                    return
                t0 = time.perf_counter()
                try:
                    response = http.post(
                        f"{base}/api/chat/conversations/{cid}/messages", json={"text": turn}, timeout=30
                    )
                    ok = response.status_code == 201
                    kind = None if ok else f"HTTP {response.status_code}"
                    from_bot = ok and any(m.get("sender") == "bot" for m in response.json().get("messages", []))
                except (requests.RequestException, ValueError) as exc:
                    ok, kind, from_bot = False, type(exc).__name__, False
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    if ok:
                        latencies.append(elapsed)
                        unanswered += not from_bot
                    else:
                        errors[kind] += 1
                if think_seconds:
                    time.sleep(rng.uniform(0.5, 1.5) * think_seconds)

    threads = [threading.Thread(target=resident, args=(n,), daemon=True) for n in range(residents)]
    for t in threads:
        t.start()
    give_up_at = stop_at + 35  # a turn in flight may take its timeout; then the bench ends anyway
    for t in threads:
        t.join(timeout=max(0.0, give_up_at - time.monotonic()))
    elapsed = time.monotonic() - started
    result: dict = {
        "residents": residents,
        "think_seconds": think_seconds,
        "seconds": round(elapsed, 1),
        "turns": len(latencies),
        "turns_without_bot_reply": unanswered,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "turns_per_second": round(len(latencies) / elapsed, 2),
    }
    if latencies:
        result.update(
            p50_ms=round(percentile(latencies, 0.50), 1),
            p95_ms=round(percentile(latencies, 0.95), 1),
            p99_ms=round(percentile(latencies, 0.99), 1),
            max_ms=round(max(latencies), 1),
        )
    return result


def _part_of(process: psutil.Process) -> str | None:
    """Which part of the stack a process is: `iad <command>`, or what `iad serve --workers N`
    and `iad rasa run` replace themselves with (gunicorn, bot/rasa_launch.py)."""
    try:
        cmd = process.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    if "iad.wsgi:app" in cmd:
        return "web"
    if "bot.rasa_launch" in cmd:
        return "rasa"
    if "rasa_sdk" in cmd:
        return "actions"
    if len(cmd) >= 3 and cmd[1].endswith("/iad"):
        return next((part for part, word in PARTS.items() if cmd[2] == word), None)
    return None


def _running_parts() -> dict[str, int]:
    """part -> pid of each top process of the running stack ("rasa", "rasa-2" when a region
    runs two); a worker process of gunicorn is counted with its master."""
    found = {}
    for process in psutil.process_iter():
        part = _part_of(process)
        if part:
            found[process.pid] = (part, process.ppid())
    roots: dict[str, int] = {}
    for pid, (part, parent) in sorted(found.items()):
        if parent in found:
            continue
        name, number = part, 1
        while name in roots:
            number += 1
            name = f"{part}-{number}"
        roots[name] = pid
    return roots


def bench_memory(roots: dict[str, int] | None = None) -> dict:
    """Memory per part of the stack, each with its child processes (Rasa runs in a child of
    `iad rasa run`). PSS counts a page shared by several processes once in all, so the parts
    add up to what the stack really takes; RSS is given too (what `top` shows).
    roots: part -> pid of a stack this command started; else the running `iad` processes."""
    if roots is None:
        roots = _running_parts()
    parts = {}
    for part, pid in sorted(roots.items()):
        try:
            root = psutil.Process(pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        pss = rss = 0
        for p in processes:
            try:
                info = p.memory_full_info()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            pss += getattr(info, "pss", info.rss)
            rss += info.rss
        parts[part] = {"processes": len(processes), "pss_mb": round(pss / 2**20), "rss_mb": round(rss / 2**20)}
    return {
        "parts": parts,
        "total_pss_mb": sum(p["pss_mb"] for p in parts.values()),
        "total_rss_mb": sum(p["rss_mb"] for p in parts.values()),
    }
