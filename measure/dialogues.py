"""`iad eval dialogues`: whole conversations through the public chat API of a running stack,
scored on the handover decision, the levensgebieden recorded and crisis-first replies."""

from __future__ import annotations

import time
from pathlib import Path

import requests
import yaml

from core.config import Settings
from core.crisis import crisis_numbers
from measure.drivers import VoiceDriver, WhatsAppDriver

# --details shows every reply, cut to this length: enough to see what the bot did.
REPLY_CHARS = 140


def crisis_number(code: str, settings: Settings) -> str:
    """The number that must appear in the first reply after a crisis turn."""
    return crisis_numbers(settings)[code]


class WebChatDriver:
    """A resident typing in the website widget: the JSON chat API."""

    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/") + "/api/chat"
        self.http = requests.Session()

    def start(self) -> str:
        response = self.http.post(self.base + "/conversations", timeout=30)
        response.raise_for_status()
        return response.json()["conversation_id"]

    def say(self, conversation_id: str, text: str) -> list[str]:
        response = self.http.post(
            f"{self.base}/conversations/{conversation_id}/messages", json={"text": text}, timeout=60
        )
        response.raise_for_status()
        return [m["text"] for m in response.json()["messages"]]

    def summary(self, conversation_id: str) -> dict:
        response = self.http.get(f"{self.base}/conversations/{conversation_id}", timeout=30)
        response.raise_for_status()
        return response.json()


# After the last turn the bot may still be answering (a crisis turn waits for the bot only
# 0.5 s; the widget shows what follows): read the summary once it is done, as a resident sees it.
SETTLE_SECONDS = 15.0


def _settled_summary(driver, conversation_id: str) -> dict:
    deadline = time.monotonic() + SETTLE_SECONDS
    summary = driver.summary(conversation_id)
    while summary.get("bot_answering") and time.monotonic() < deadline:
        time.sleep(0.2)
        summary = driver.summary(conversation_id)
    return summary


def _f1(tp: int, fp: int, fn: int) -> float:
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def make_driver(channel: str, base_url: str, settings: Settings):
    if channel == "web":
        return WebChatDriver(base_url)
    return {"whatsapp": WhatsAppDriver, "voice": VoiceDriver}[channel](base_url, settings)


def evaluate_dialogues(cases_path: Path, base_url: str, settings: Settings, channel: str = "web", driver=None) -> dict:
    """Every case runs on `channel` (the cases' own channel field is a hint of where they
    usually happen; `--channel` makes the same conversations run on each channel)."""
    cases = yaml.safe_load(Path(cases_path).read_text(encoding="utf-8"))
    driver = driver or make_driver(channel, base_url, settings)
    handover_right = 0
    tp = fp = fn = 0
    crisis_turns = crisis_first = 0
    # Cases labelled `melding` (eval/blind/meldingen.yml): was the worry about someone else
    # taken up as a melding (the handover offered for zorg_om_ander)? A crisis of the other
    # person goes the crisis way and is scored as a crisis instead.
    meldingen = melding_hits = not_meldingen = melding_false = 0
    turn_seconds: list[float] = []
    details = []
    for case in cases:
        expect = case["expect"]
        conversation_id = driver.start()
        first_reply_after_crisis = None
        bot_said: list[list[str]] = []  # per resident turn, what came back (shortened)
        for number, text in enumerate(case["turns"], start=1):
            started = time.perf_counter()
            replies = driver.say(conversation_id, text)
            turn_seconds.append(time.perf_counter() - started)
            bot_said.append([reply[:REPLY_CHARS] for reply in replies])
            if expect.get("crisis") and number == expect.get("crisis_turn"):
                first_reply_after_crisis = replies[0] if replies else ""
        summary = _settled_summary(driver, conversation_id)
        handover_ok = summary["handover_offered"] == bool(expect.get("handover"))
        handover_right += handover_ok
        expected, got = set(expect.get("levensgebieden") or []), set(summary["levensgebieden"])
        tp, fp, fn = tp + len(expected & got), fp + len(got - expected), fn + len(expected - got)
        crisis_ok = None
        if expect.get("crisis"):
            crisis_turns += 1
            number, reply = crisis_number(expect["crisis"], settings), first_reply_after_crisis or ""
            # On the phone numbers are spoken digit by digit: compare the digits.
            crisis_ok = number in reply or (channel == "voice" and _digits(number) in _digits(reply))
            crisis_first += crisis_ok
        melding_ok = None
        if "melding" in expect and not expect.get("crisis"):
            as_melding = summary.get("handover_reason") == "zorg_om_ander"
            melding_ok = as_melding == bool(expect["melding"])
            if expect["melding"]:
                meldingen, melding_hits = meldingen + 1, melding_hits + as_melding
            else:
                not_meldingen, melding_false = not_meldingen + 1, melding_false + as_melding
        details.append(
            {
                "id": case["id"],
                "melding_ok": melding_ok,
                "handover_ok": handover_ok,
                "expected_handover": bool(expect.get("handover")),
                "handover_offered": summary["handover_offered"],
                "handover_reason": summary.get("handover_reason"),
                "expected_crisis": expect.get("crisis"),
                "crisis_turn": expect.get("crisis_turn"),
                "first_reply_after_crisis": first_reply_after_crisis,
                "levensgebieden": sorted(got),
                "expected_levensgebieden": sorted(expected),
                "crisis_first_reply_ok": crisis_ok,
                "replies": bot_said,
            }
        )
    turn_seconds.sort()
    return {
        "handover_accuracy": round(handover_right / len(cases), 4),
        "levensgebieden_f1": round(_f1(tp, fp, fn), 4),
        "crisis_first_reply": round(crisis_first / crisis_turns, 4) if crisis_turns else None,
        "melding_recall": round(melding_hits / meldingen, 4) if meldingen else None,
        "melding_false_rate": round(melding_false / not_meldingen, 4) if not_meldingen else None,
        "n": len(cases),
        "channel": channel,
        "turn_latency_p95_ms": round(1000 * turn_seconds[int(0.95 * (len(turn_seconds) - 1))], 1)
        if turn_seconds
        else None,
        "details": details,
    }
