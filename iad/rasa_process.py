"""Running Rasa (in its own Python 3.10 environment) from the app's one config:
the endpoints file is generated, the model is trained only when the bot's data changed."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import yaml
from sqlalchemy.engine import make_url

from conversations.rasa_client import api_secret
from core.config import PROJECT_ROOT, Settings

BOT_DIR = PROJECT_ROOT / "bot"
MODEL_NAME = "iad"


def rasa_bin() -> Path:
    return Path(os.environ.get("RASA_BIN", PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"))


def model_path(settings: Settings) -> Path:
    return settings.rasa_model_dir / f"{MODEL_NAME}.tar.gz"


def tracker_store_config(url: str) -> dict:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        return {"type": "SQL", "dialect": "sqlite", "db": parsed.database}
    return {
        "type": "SQL",
        "dialect": "postgresql",
        "url": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "db": parsed.database,
        "username": parsed.username or "postgres",
        "password": parsed.password or "",
    }


def lock_store_config(url: str) -> dict | None:
    """Rasa's Redis lock store, so that several Rasa servers take one conversation's messages
    one at a time (None: Rasa's in-memory locks, enough for one server)."""
    if not url:
        return None
    parsed = make_url(url)
    config = {
        "type": "redis",
        "url": parsed.host or "127.0.0.1",
        "port": parsed.port or 6379,
        "db": int(parsed.database or 0),
        "key_prefix": "iad",
    }
    if parsed.password:
        config["password"] = parsed.password
    return config


def write_endpoints(settings: Settings, port: int | None = None) -> Path:
    # One file per server: several Rasa servers of a region may share a data folder.
    path = settings.data_dir / "rasa" / f"endpoints-{port or settings.rasa_port}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    endpoints = {
        "action_endpoint": {"url": settings.action_server_url.rstrip("/") + "/webhook"},
        "tracker_store": tracker_store_config(settings.rasa_tracker_store_url),
    }
    lock_store = lock_store_config(settings.rasa_lock_store_url)
    if lock_store:
        endpoints["lock_store"] = lock_store
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")
    return path


def training_inputs() -> list[Path]:
    files = [BOT_DIR / "config.yml", PROJECT_ROOT / "requirements" / "rasa.txt"]
    for folder in ("domain", "data"):
        files += sorted(p for p in (BOT_DIR / folder).rglob("*") if p.is_file())
    return files


def training_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train_if_changed(settings: Settings, force: bool = False) -> bool:
    """Returns True when a new model was trained."""
    fingerprint_file = settings.rasa_model_dir / f"{MODEL_NAME}.fingerprint"
    fingerprint = training_fingerprint()
    if (
        not force
        and model_path(settings).exists()
        and fingerprint_file.exists()
        and fingerprint_file.read_text() == fingerprint
    ):
        return False
    settings.rasa_model_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.data_dir / "logs" / "rasa-train.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:  # progress bars would flood the console
        result = subprocess.run(
            [
                str(rasa_bin()),
                "train",
                "--config",
                str(BOT_DIR / "config.yml"),
                "--domain",
                str(BOT_DIR / "domain"),
                "--data",
                str(BOT_DIR / "data"),
                "--out",
                str(settings.rasa_model_dir),
                "--fixed-model-name",
                MODEL_NAME,
            ],
            cwd=PROJECT_ROOT,
            env=rasa_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise RuntimeError(f"rasa train failed ({result.returncode}); see {log_path}:\n{tail}")
    fingerprint_file.write_text(fingerprint)
    return True


def run_env(settings: Settings) -> dict:
    """The environment of `rasa run`: rasa_env and the HTTP API's JWT secret."""
    return {**rasa_env(settings), "IAD_RASA_JWT_SECRET": api_secret(settings.rasa_token)}


# The app's own secrets, which Rasa never needs (its tracker store's password is in the
# endpoints file it reads; its HTTP API key comes through run_env).
_NOT_FOR_RASA = ("SECRET_KEY", "RASA_TOKEN", "TWILIO_AUTH_TOKEN", "PHONE_ENCRYPTION_KEY", "DATABASE_URL")


def rasa_env(settings: Settings) -> dict:
    env = {name: value for name, value in os.environ.items() if name not in _NOT_FOR_RASA}
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["IAD_DATA_DIR"] = str(settings.data_dir)
    # Rasa imports our own NLU component (bot.rasa_components) from the project folder.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
    return env


def rasa_python() -> Path:
    return rasa_bin().with_name("python")


def run_command(settings: Settings, port: int | None = None) -> list[str]:
    # Loopback only, REST channel only: residents reach the bot through the web app. The
    # HTTP API's secret goes through the environment (run_env), never on the command line.
    return [
        str(rasa_python()),
        "-m",
        "bot.rasa_launch",
        "run",
        "--enable-api",
        "--interface",
        "127.0.0.1",
        "--port",
        str(port or settings.rasa_port),
        "--model",
        str(model_path(settings)),
        "--credentials",
        str(BOT_DIR / "credentials.yml"),
        "--endpoints",
        str(write_endpoints(settings, port)),
    ]
