"""How `make run` starts the processes: honcho must hand the web app our PORT (it gives
every process its own PORT, counting from 5000 unless told otherwise)."""

from __future__ import annotations

import dataclasses

from core.config import load_settings
from iad.cli import honcho_command


def test_make_run_serves_the_web_app_on_the_configured_port():
    command = honcho_command(load_settings())
    assert command[command.index("start") + 1 :] == ["-p", str(load_settings().port)]
    command = honcho_command(dataclasses.replace(load_settings(), port=8123))
    assert command[-2:] == ["-p", "8123"]


def test_the_web_app_is_first_in_the_procfile():
    """honcho's -p port goes to the first process; the others ignore PORT."""
    from core.config import PROJECT_ROOT

    first = (PROJECT_ROOT / "Procfile").read_text().splitlines()[0]
    assert first.startswith("web:") and "iad serve" in first
