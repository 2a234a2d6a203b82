"""`iad bench dialogue`: turn latency through the public chat API with every process up,
for the turns that end in a search of the sociale kaart (the slowest kind of turn)."""

from __future__ import annotations

import statistics
import time

from sqlalchemy import create_engine, text

from measure.dialogues import WebChatDriver
from measure.search_bench import percentile

# A resident's way to a search: a greeting, a question, then short answers to the bot's
# questions. Every conversation says it in other words, so no process can answer a turn
# from what it kept of an earlier one (the understanding models keep embeddings per text).
GREETINGS = ["hallo", "goedemiddag", "hoi", "dag", "goedemorgen"]
QUESTIONS = [
    "ik heb veel schulden en ik kom niet rond",
    "ik heb rekeningen die ik niet kan betalen",
    "de huur is te hoog en ik heb een achterstand",
    "ik krijg steeds aanmaningen en weet niet wat ik moet doen",
    "mijn geld is altijd op voor het eind van de maand",
    "ik heb een schuld bij de energie en bij de zorgverzekering",
    "ik zoek hulp met mijn geldzaken",
    "er komt een deurwaarder en ik ben bang",
]
ANSWERS = [
    ["nee, er is niemand die mij helpt", "nee", "weet ik niet"],
    ["nee niemand", "nee hoor", "geen idee"],
    ["ik doe alles alleen", "nee dat niet", "ik weet het niet"],
    ["er helpt nog niemand", "nee, alleen dit", "weet niet"],
]


def _turns(n: int) -> list[str]:
    question = QUESTIONS[n % len(QUESTIONS)]
    if n >= len(QUESTIONS):
        question += f" (al {n // len(QUESTIONS) + 1} maanden)"
    return [GREETINGS[n % len(GREETINGS)], question, *ANSWERS[n % len(ANSWERS)]]


def bench_dialogue(base_url: str, database_url: str, conversations: int = 20) -> dict:
    with create_engine(database_url).connect() as conn:
        names = {row[0] for row in conn.execute(text("SELECT name FROM service"))}
    driver = WebChatDriver(base_url)
    search_turns: list[float] = []
    other_turns: list[float] = []
    missed = 0
    for n in range(conversations):
        cid = driver.start()
        for turn in _turns(n):
            started = time.perf_counter()
            replies = driver.say(cid, turn)
            elapsed = (time.perf_counter() - started) * 1000
            if any(name in reply for reply in replies for name in names):
                search_turns.append(elapsed)
                break
            other_turns.append(elapsed)
        else:
            missed += 1
    result = {
        "conversations": conversations,
        "search_turns": len(search_turns),
        "conversations_without_search": missed,
    }
    if search_turns:
        result.update(
            search_turn_p50_ms=round(statistics.median(search_turns), 1),
            search_turn_p95_ms=round(percentile(search_turns, 0.95), 1),
            search_turn_max_ms=round(max(search_turns), 1),
        )
    if other_turns:
        result.update(
            other_turn_p50_ms=round(statistics.median(other_turns), 1),
            other_turn_p95_ms=round(percentile(other_turns, 0.95), 1),
        )
    return result
