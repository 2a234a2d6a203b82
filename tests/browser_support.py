"""Test support for the browser tests: Debian's Chromium driven by Playwright (no browser
download by a test tool) and axe-core from tests/browser (pinned in its package-lock.json)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.config import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
BROWSER_DIR = PROJECT_ROOT / "tests" / "browser"
AXE = BROWSER_DIR / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"


@contextmanager
def chromium() -> Iterator:
    """A headless Chromium, or a skip that says what is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip package playwright is not installed")
    if not CHROMIUM.exists():
        pytest.skip(
            "needs Debian's Chromium at /usr/bin/chromium (apt-get install -y chromium chromium-driver); "
            "Playwright's own browser download is not used"
        )
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def run_axe(page, name: str) -> dict:
    """axe-core's WCAG 2.1 A/AA rules on the page; the result is saved as tests/artifacts/axe-NAME.json."""
    if not AXE.exists():
        # npm's registry is reachable wherever the project is built; the lock file pins the version.
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR, check=True, capture_output=True, timeout=300
        )
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("""async () => {
        const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
        return { violations: r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map(n => n.target.join(' ')) })), passes: r.passes.length,
                 incomplete: r.incomplete.map(v => ({ id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' ')) })) };
    }""")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    return result
