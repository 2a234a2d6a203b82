"""Start the whole stack (Rasa, action server, web app) as real processes on chosen ports,
and wait until /health says every part is up. Used by the end-to-end tests and by
`iad eval dialogues` / `iad bench dialogue` when no stack is running yet."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from core.config import PROJECT_ROOT

IAD = str(Path(sys.executable).with_name("iad"))


@dataclass
class Stack:
    base_url: str
    env: dict
    log_dir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, name: str, args: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(
            args, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def health(self) -> dict:
        try:
            return requests.get(self.base_url + "/health", timeout=5).json()
        except (requests.RequestException, ValueError):
            return {"status": "down", "parts": {}}

    def wait_until_up(self, timeout: float = 240) -> float:
        """Seconds it took until every part was up; raises with the logs' tails if not."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")
            if self.health().get("status") == "up":
                return time.monotonic() - started
            time.sleep(1)
        raise TimeoutError(
            f"stack not up after {timeout}s: {self.health()}\n" + "\n".join(self.tail(n) for n in self.processes)
        )

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return f"--- {name} ---\n" + "\n".join(text.splitlines()[-lines:])


def start_stack(
    *,
    web_port: int,
    rasa_port: int,
    action_port: int,
    log_dir: Path,
    extra_env: dict | None = None,
    more_rasa_ports: tuple[int, ...] = (),
) -> Stack:
    """The stack as separate processes; more_rasa_ports starts more Rasa servers beside the
    first (a region: give them a shared tracker store and RASA_LOCK_STORE_URL in extra_env)."""
    rasa_ports = (rasa_port, *more_rasa_ports)
    env = dict(os.environ)
    env.update(
        PORT=str(web_port),
        RASA_PORT=str(rasa_port),
        RASA_URL=",".join(f"http://127.0.0.1:{port}" for port in rasa_ports),
        ACTION_SERVER_PORT=str(action_port),
        ACTION_SERVER_URL=f"http://127.0.0.1:{action_port}",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{web_port}",
        # The harness drives many conversations from one loopback address on purpose.
        RATE_LIMITS_ENABLED="false",
    )
    env.update(extra_env or {})
    log_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(base_url=f"http://127.0.0.1:{web_port}", env=env, log_dir=log_dir)
    stack.start("actions", [IAD, "actions"])
    stack.start("rasa", [IAD, "rasa", "run"])
    for number, port in enumerate(more_rasa_ports, 2):
        stack.start(f"rasa-{number}", [IAD, "rasa", "run", "--port", str(port)])
    stack.start("web", [IAD, "serve"])
    stack.start("worker", [IAD, "worker", "--interval", "1"])  # answers what the bot missed
    return stack


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class running_stack:
    """Use the stack at `base_url` when it is up; otherwise start one on free ports for the
    duration of the block (and stop it afterwards)."""

    def __init__(self, base_url: str | None, log_dir: Path, extra_env: dict | None = None):
        self.base_url, self.log_dir, self.extra_env = base_url, log_dir, extra_env
        self.stack: Stack | None = None
        self.startup_seconds: float | None = None

    def __enter__(self) -> str:
        if self.base_url:
            try:
                if requests.get(self.base_url.rstrip("/") + "/health", timeout=3).json().get("status") == "up":
                    return self.base_url
            except (requests.RequestException, ValueError):
                pass
        self.stack = start_stack(
            web_port=_free_port(),
            rasa_port=_free_port(),
            action_port=_free_port(),
            log_dir=self.log_dir,
            extra_env=self.extra_env,
        )
        try:
            self.startup_seconds = self.stack.wait_until_up()
        except Exception:
            self.stack.stop_all()
            raise
        return self.stack.base_url

    def roots(self) -> dict[str, int] | None:
        """part -> pid of the processes this block started; None when it used a running stack."""
        return {name: p.pid for name, p in self.stack.processes.items()} if self.stack else None

    def __exit__(self, *exc) -> None:
        if self.stack:
            self.stack.stop_all()
