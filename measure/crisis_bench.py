"""`iad bench crisis`: how fast the crisis numbers reach a resident while Rasa hangs.

Starts its own stack (it needs the Rasa process), warms every part up with one ordinary
turn, stops Rasa with SIGSTOP and sends crisis messages, each in a new conversation, on the
web chat API and on the phone line (signed Twilio webhooks). A turn counts as answered when
its reply holds the crisis number of that code. Rasa is continued (SIGCONT) afterwards.
Acceptance: every crisis answered, slowest turn under 1 s."""

from __future__ import annotations

import os
import signal
import statistics
import time
from pathlib import Path

from core.config import Settings
from core.crisis import crisis_numbers
from measure.dialogues import WebChatDriver, make_driver
from measure.search_bench import percentile
from measure.stack import _free_port, start_stack

# One plain message per crisis code, written for this benchmark (the detector answers them
# in its sure tier; the benchmark measures speed, not recognition).
CRISIS_MESSAGES = {
    "suicide": "ik wil dood, ik maak er vannacht een eind aan",
    "geweld": "mijn man slaat mij en de kinderen, ik ben bang dat hij weer gaat slaan",
    "acuut_gevaar": "mijn vader ligt op de grond en hij ademt niet meer",
    "dakloos_vannacht": "ik ben op straat gezet en heb vannacht geen slaapplek",
    "verward": "de buurman is erg verward, hij denkt dat er camera's in zijn plafond zitten en schreeuwt de hele nacht",
}


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _answered(replies: list[str], number: str) -> bool:
    return any(number in r or _digits(number) in _digits(r) for r in replies)


def measure_crisis_turns(base_url: str, settings: Settings, rounds: int) -> dict:
    """Crisis turns on web and voice against the stack at base_url (whatever its Rasa does)."""
    numbers = crisis_numbers(settings)
    out: dict = {}
    for channel in ("web", "voice"):
        driver = WebChatDriver(base_url) if channel == "web" else make_driver("voice", base_url, settings)
        seconds, missed = [], []
        for _ in range(rounds):
            for code, text in CRISIS_MESSAGES.items():
                cid = driver.start()
                started = time.perf_counter()
                replies = driver.say(cid, text)
                seconds.append(time.perf_counter() - started)
                if not _answered(replies, numbers[code]):
                    missed.append(code)
        out[channel] = {
            "turns": len(seconds),
            "answered": len(seconds) - len(missed),
            "missed": missed,
            "p50_ms": round(1000 * statistics.median(seconds), 1),
            "p95_ms": round(1000 * percentile(seconds, 0.95), 1),
            "max_ms": round(1000 * max(seconds), 1),
        }
    return out


def bench_crisis_with_rasa_stopped(settings: Settings, log_dir: Path, rounds: int = 2) -> dict:
    stack = start_stack(web_port=_free_port(), rasa_port=_free_port(), action_port=_free_port(), log_dir=log_dir)
    try:
        stack.wait_until_up()
        warm = WebChatDriver(stack.base_url)
        warm.say(warm.start(), "hallo")  # every model loaded before the clock runs
        rasa = stack.processes["rasa"]
        os.killpg(rasa.pid, signal.SIGSTOP)
        try:
            result = measure_crisis_turns(stack.base_url, settings, rounds)
        finally:
            os.killpg(rasa.pid, signal.SIGCONT)
    finally:
        stack.stop_all()
    slowest = max(r["max_ms"] for r in result.values())
    return {
        "rasa": "stopped (SIGSTOP)",
        **result,
        "all_answered": all(not r["missed"] for r in result.values()),
        "slowest_ms": slowest,
        "within_1s": slowest < 1000,
    }
