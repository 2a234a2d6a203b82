"""`iad bench load` and `iad bench memory` (measure/load_bench.py): loopback only, bounded, and
their figures come from real requests and real processes. The figures themselves are in the
notes and the README, measured on the whole stack; these tests only prove the bench counts."""

from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from measure.load_bench import NotLoopback, bench_load, bench_memory, check_loopback


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_it_refuses_anything_but_this_machine():
    for url in ("https://loket.example.nl", "http://10.0.0.5:8000", "http://192.168.1.2"):
        with pytest.raises(NotLoopback):
            check_loopback(url)
    check_loopback("http://127.0.0.1:8000")
    check_loopback("http://localhost:8000")


def test_residents_at_once_give_latencies_and_a_rate(served):
    # The test app has no bot (down), so each turn is the front door's own answer. One turn
    # first: it loads the crisis detector, which the bench is not about.
    bench_load(served, residents=1, think_seconds=0, seconds=1)
    result = bench_load(served, residents=3, think_seconds=0.05, seconds=2)
    assert result["errors"] == 0, result["error_kinds"]
    assert result["turns"] > 3
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["turns_per_second"] > 0
    assert result["turns_without_bot_reply"] == result["turns"]  # no bot here: none counts as answered by it
    assert 1.9 <= result["seconds"] < 10  # stops by itself


def test_errors_are_counted_not_hidden(served):
    result = bench_load(served + "/nope", residents=2, think_seconds=0.05, seconds=1)  # no chat API there
    assert result["turns"] == 0 and result["errors"] > 0


def test_memory_of_a_process_and_its_children():
    result = bench_memory({"tests": os.getpid()})
    part = result["parts"]["tests"]
    assert part["processes"] >= 1 and 0 < part["pss_mb"] <= part["rss_mb"]
    assert result["total_pss_mb"] == part["pss_mb"]
