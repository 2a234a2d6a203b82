"""`iad bench dialogue`: turn latency through the public chat API with every process up,
for the turns that end in a search of the sociale kaart (the slowest kind of turn)."""
from __future__ import annotations

import statistics
import time

from sqlalchemy import create_engine, text

from measure.dialogues import WebChatDriver
from knowledge.bench import percentile

# A resident's way to a search: a question, then short answers to the bot's questions.
OPENING = ["hallo", "ik heb veel schulden en ik kom niet rond"]
ANSWERS = ["nee, er is niemand die mij helpt", "nee", "weet ik niet"]


def bench_dialogue(base_url: str, database_url: str, conversations: int = 20) -> dict:
    with create_engine(database_url).connect() as conn:
        names = {row[0] for row in conn.execute(text("SELECT name FROM service"))}
    driver = WebChatDriver(base_url)
    search_turns: list[float] = []
    other_turns: list[float] = []
    missed = 0
    for _ in range(conversations):
        cid = driver.start()
        for turn in OPENING + ANSWERS:
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
        result.update(other_turn_p50_ms=round(statistics.median(other_turns), 1),
                      other_turn_p95_ms=round(percentile(other_turns, 0.95), 1))
    return result
