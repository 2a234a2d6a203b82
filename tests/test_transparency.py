"""The transparency page (issue 15): what the assistant does and keeps, who sees what, the
recorded evaluation figures with their date, and the Algoritmeregister fields; WCAG 2.1 AA
by axe-core in a real Chromium."""

from __future__ import annotations

import json
import threading

import pytest

from tests.browser_support import ARTIFACTS, chromium, run_axe
from tests.conftest import free_port
from webhooks import transparency

RUNS = {
    "nlu eval/blind/nlu.yml": {
        "command": "nlu",
        "cases": "eval/blind/nlu.yml",
        "date": "2026-12-03",
        "figures": {"crisis_recall": 0.965, "levensgebieden_macro_f1": 0.823, "unlisted": 3},
    }
}


@pytest.fixture
def figures(tmp_path, monkeypatch):
    path = tmp_path / "figures.json"
    path.write_text(json.dumps(RUNS))
    monkeypatch.setattr(transparency, "FIGURES", path)
    return path


def test_the_page_says_what_is_kept_who_sees_what_and_the_figures_with_their_date(client, figures):
    from core.config import get_settings

    html = client.get("/transparantie").get_data(as_text=True)
    settings = get_settings()
    assert f"hoogstens {settings.retention_months} maanden" in html
    assert "Hij neemt geen besluit" in html and "toestemming" in html
    assert "Meting van 2026-12-03" in html and "96%" in html and "0.82" in html
    assert "unlisted" not in html  # only figures a resident can read about
    for field in ("Naam", "Organisatie", "Menselijke tussenkomst", "Wettelijke grondslag", "Impacttoetsen"):
        assert f"<dt>{field}</dt>" in html
    data = client.get("/transparantie.json").get_json()
    assert data["algoritmeregister"]["Organisatie"] == f"Gemeente {settings.gemeente}"
    assert data["figures"][0]["figures"]["crisis_recall"] == 0.965


def test_without_recorded_figures_the_page_says_so(client, tmp_path, monkeypatch):
    monkeypatch.setattr(transparency, "FIGURES", tmp_path / "none.json")
    assert "nog geen cijfers" in client.get("/transparantie").get_data(as_text=True)


def test_the_page_reads_at_b1():
    from bot.readability import measure, problems
    from core.config import get_settings

    entry = transparency.register_entry(get_settings())
    measured = [measure(field, "nl", value) for field, value in entry.items() if field not in ("Naam", "Contact")]
    hard = [p for p in problems(measured) if "a sentence of" in p]
    assert hard == []  # no sentence over 15 words


def test_axe_finds_no_wcag21aa_violations(app, figures):
    from werkzeug.serving import make_server

    port = free_port()
    http = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        with chromium() as browser:
            page = browser.new_page(bypass_csp=True)  # only so that axe-core can be injected
            page.goto(f"http://127.0.0.1:{port}/transparantie")
            result = run_axe(page, "transparantie")
            page.screenshot(path=str(ARTIFACTS / "transparantie.png"), full_page=True)
    finally:
        http.shutdown()
    assert result["violations"] == [], result["violations"]
    assert result["passes"] > 10


def test_record_keeps_one_entry_per_command_cases_and_channel(tmp_path):
    from measure.figures import record

    path = tmp_path / "figures.json"
    record(
        "dialogues",
        "eval/blind/dialogues.yml",
        {"n": 36, "handover_accuracy": 0.7, "details": []},
        channel="web",
        path=path,
    )
    record("dialogues", "eval/blind/dialogues.yml", {"n": 36, "handover_accuracy": 0.8}, channel="web", path=path)
    entry = record("nlu", "eval/blind/nlu.yml", {"n": 305, "crisis_recall": 0.96, "macro_f1": 0.82}, path=path)
    runs = json.loads(path.read_text())
    assert len(runs) == 2 and runs["dialogues eval/blind/dialogues.yml web"]["figures"] == {"handover_accuracy": 0.8}
    assert entry["figures"] == {"crisis_recall": 0.96, "levensgebieden_macro_f1": 0.82}
