"""`iad`: the one entry point for set-up, running, import/export, evaluation and benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import click
from waitress import serve as waitress_serve

from core.config import PROJECT_ROOT, get_settings
from core.db import session_scope
from iad.rasa_process import rasa_bin, run_command, run_env, train_if_changed


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group()
def main() -> None:
    """IAD loket assistant."""


# --- set-up -----------------------------------------------------------------------------


@main.command()
@click.option("--skip-train", is_flag=True, help="Do not (re)train the Rasa model.")
@click.option("--no-demo-data", is_flag=True, help="Do not import the demo sociale kaart or create the demo wijkteams.")
def setup(skip_train: bool, no_demo_data: bool) -> None:
    """Everything `make run` needs, idempotent: model, database, demo data, trained bot."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    steps = []

    def step(name, fn):
        started = time.perf_counter()
        result = fn()
        steps.append((name, time.perf_counter() - started, result))
        click.echo(f"setup: {name}: {result} ({time.perf_counter() - started:.1f}s)")

    # The imports in this command load when `iad setup` runs: at the top they would slow down
    # every `iad` command (`iad --help` takes 0.6 s) by the time given with each.
    from knowledge.embedding_model import ensure_embedding_model  # 0.15 s

    step("embedding model", lambda: ensure_embedding_model(settings))
    step("database", lambda: upgrade_database())
    if not no_demo_data:
        from iad.demo_data import load_demo_directory  # setup only: 2-3 s (knowledge.search loads spaCy)
        from inbox.demo import ensure_demo_teams  # setup only: 0.06 s

        step("demo sociale kaart", lambda: load_demo_directory())

        def demo_teams():
            with session_scope() as session:
                return ensure_demo_teams(session, settings.loket_phone)

        step("demo wijkteams", demo_teams)
    from understanding import crisis, levensgebieden, signalen  # setup only: 0.2 s

    step("crisis detector", lambda: crisis.ensure_model())
    step("levensgebieden classifier", lambda: levensgebieden.ensure_model())
    step("handover signals classifier", lambda: signalen.ensure_model())
    # Rasa's spaCy (3.4) differs from the app's, so the pipeline is built in Rasa's environment.
    step(
        "spaCy nl pipeline for Rasa",
        lambda: subprocess.run(
            [str(rasa_python()), "-m", "bot.spacy_model", "var/spacy-nl"],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip(),
    )
    if not skip_train:
        step("rasa model", lambda: "trained" if train_if_changed(settings) else "up to date")


def rasa_python() -> Path:
    return rasa_bin().with_name("python")


def upgrade_database(url: str | None = None) -> str:
    # alembic would add 0.15 s to every `iad` command at the top; only setup and `iad db upgrade` need it
    from alembic import command
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")
    return "migrated to head"


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
def db_upgrade() -> None:
    click.echo(upgrade_database())


# --- staff, teams and retention (inbox/cli.py) -------------------------------------------

from inbox.cli import retention, teams, users, wijken  # noqa: E402

for _group in (users, teams, wijken, retention):
    main.add_command(_group)


# --- the worker: retries for the bot, follow-ups ------------------------------------------


def _rounds(name: str, interval: int, once: bool, round_fn) -> None:
    """Runs round_fn every `interval` seconds, or once. A failed round is reported and the
    next one comes: honcho would stop every process (the web app too) if this one exited."""
    while True:
        try:
            result = round_fn()
        except Exception as exc:
            if once:
                raise
            click.echo(f"{name}: this round failed, trying again in {interval} s: {exc}", err=True)
            result = None
        if result or once:
            click.echo(json.dumps({name: result, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        if once:
            return
        time.sleep(interval)


@main.command()
@click.option("--once", is_flag=True, help="Do what is due now and stop (for cron).")
@click.option("--interval", type=int, default=3, show_default=True, help="Seconds between rounds.")
@click.option("--opvolging-every", type=int, default=20, show_default=True, help="Follow-ups every N rounds.")
def worker(once: bool, interval: int, opvolging_every: int) -> None:
    """Answers messages the bot could not answer before (conversations/pipeline.py), in
    order, once each, and sends due follow-ups (conversations/opvolging.py)."""
    # the web app builds the front door and the channels' senders (WhatsApp): 0.65 s that
    # other commands need not pay
    from conversations import outbox
    from conversations.opvolging import send_due
    from conversations.pipeline import run_round
    from iad.app import create_app

    # Background work: the web app, Rasa and the action server (what residents wait for)
    # get the CPU first, also while everything starts.
    os.nice(10)
    settings = get_settings()
    app = create_app(settings)  # with the channels' senders (WhatsApp) for the follow-ups
    front_door = app.extensions["front_door"]
    count = 0

    def one_round():
        nonlocal count
        with session_scope() as session:
            # the lease: a bot call, plus reading Rasa's record first
            lease = front_door.call_seconds + settings.rasa_timeout_seconds
            result = run_round(session, front_door.answer_pending, lease, gave_up=front_door.tell_gave_up)
            result["outbox_held_again"] = outbox.sweep(session)  # answers that never reached Twilio
        if count % opvolging_every == 0:
            with session_scope() as session:
                result["opvolging_sent"] = send_due(session, settings, app.extensions["outbound"].deliver)
        count += 1
        return {k: v for k, v in result.items() if v}

    _rounds("worker", interval, once, one_round)


@main.group()
def opvolging() -> None:
    """Follow-ups after a referral ("hoe ging het?"): count the answers (`iad worker` sends them)."""


@opvolging.command("report")
def opvolging_report() -> None:
    """Per service: follow-ups sent and their answers (gelukt, nog niet, hulp), no answer, stopped."""
    from conversations.opvolging import report  # one table; imported when run, as the commands above

    with session_scope() as session:
        _echo_json(report(session))


# --- processes --------------------------------------------------------------------------


def honcho_command(settings) -> list[str]:
    # honcho gives each process its own PORT, counting from -p (default 5000); only the web
    # app (first in the Procfile) reads PORT, so it must get ours.
    return [
        sys.executable,
        "-m",
        "honcho",
        "-d",
        str(PROJECT_ROOT),
        "-f",
        str(PROJECT_ROOT / "Procfile"),
        "start",
        "-p",
        str(settings.port),
    ]


@main.command()
def run() -> None:
    """Start every process (Procfile, with honcho): web app, Rasa, action server, worker."""
    command = honcho_command(get_settings())
    os.execvp(command[0], command)


@main.command()
@click.option("--port", type=int, default=None)
@click.option("--threads", type=int, default=8)
@click.option("--workers", type=int, default=None, help="web worker processes (default WEB_WORKERS, 1)")
def serve(port: int | None, threads: int, workers: int | None) -> None:
    """The web app: one process on waitress, or several worker processes on gunicorn (a
    region: they share the database, the rate-limit store and the Rasa servers)."""
    settings = get_settings()
    workers = workers or int(os.environ.get("WEB_WORKERS", "1"))
    if workers > 1 and settings.rate_limits_enabled and settings.rate_limit_storage_uri.startswith("memory://"):
        # Each worker would count on its own: every limit, the login's too, times the workers.
        raise click.UsageError("several web workers need RATE_LIMIT_STORAGE_URI=redis://... (shared rate limits)")
    if workers > 1:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        bind = f"{settings.host}:{port or settings.port}"
        # gthread: each worker answers several requests at once (a turn waits on Rasa).
        args = ["--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread", "--bind", bind]
        # A turn may wait 5 s for the bot and a Rasa call 2 x RASA_TIMEOUT_SECONDS: well inside
        # 60 s. No access log: a web conversation's id (its only key) is in every chat URL.
        args += ["--timeout", "60", "--graceful-timeout", "20"]
        os.execv(gunicorn, [str(gunicorn), *args, "iad.wsgi:app"])
    # the web app (Flask, the channels, the inbox) would add 0.65 s to every `iad` command at the top
    from iad.app import create_app

    waitress_serve(create_app(settings), host=settings.host, port=port or settings.port, threads=threads, ident="iad")


@main.command()
@click.option("--port", type=int, default=None)
def actions(port: int | None) -> None:
    """The Rasa custom action server (rasa-sdk), in this environment."""
    settings = get_settings()
    os.chdir(PROJECT_ROOT)
    # Loopback only, like Rasa: only Rasa calls the action server (rasa-sdk binds to
    # SANIC_HOST, else to every interface). Set SANIC_HOST when Rasa runs on another machine.
    os.environ.setdefault("SANIC_HOST", "127.0.0.1")
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "rasa_sdk",
            "--actions",
            "bot.actions",
            "--port",
            str(port or settings.action_server_port),
        ],
    )


@main.group()
def rasa() -> None:
    """The Rasa server (its own Python 3.10 environment)."""


@rasa.command("run")
@click.option("--port", type=int, default=None)
def rasa_run(port: int | None) -> None:
    settings = get_settings()
    settings.check_secrets()  # outside development, no Rasa on a key made from the public default
    command = run_command(settings, port)
    os.chdir(PROJECT_ROOT)
    os.execve(command[0], command, run_env(settings))


@rasa.command("train")
@click.option("--force", is_flag=True)
def rasa_train(force: bool) -> None:
    click.echo("trained" if train_if_changed(get_settings(), force=force) else "up to date")


# --- evaluation and benchmarks (measure/cli.py) ----------------------------------------
# `iad eval` and `iad bench` come from the measure package through the "iad.commands" entry
# points (pyproject.toml): measure sits above the app and may import everything, while
# nothing in the app imports it.
for _entry in entry_points(group="iad.commands"):
    main.add_command(_entry.load(), _entry.name)


# --- the directory ----------------------------------------------------------------------


@main.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", default=None, help="Auto-detected from the file when omitted.")
@click.option("--dataset", default=None, help="Name of the source, for prune.")
@click.option("--prune", is_flag=True, help="Remove this dataset's services that are not in the file.")
@click.option("--dry-run", is_flag=True, help="Validate only.")
@click.option("--gemeente", default=None, help="The gemeente of services whose service areas name none.")
def import_command(
    path: Path, fmt: str | None, dataset: str | None, prune: bool, dry_run: bool, gemeente: str | None
) -> None:
    """Import a sociale kaart (HSDS JSON/CSV, simple CSV, Twente JSON Lines): validated first,
    one transaction, every bad row reported with its line and reason."""
    from sociale_kaart.importer import import_file  # would add 0.1 s to every `iad` command at the top

    report = import_file(path, fmt=fmt, dataset=dataset, prune=prune, dry_run=dry_run, gemeente=gemeente)
    _echo_json(report.to_dict())
    if not report.ok:
        sys.exit(1)


@main.command("export")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--format", "fmt", default=None, help=".json / .jsonl / .zip or a folder (HSDS CSV).")
def export_command(path: Path, fmt: str | None) -> None:
    """Write the directory as HSDS."""
    from sociale_kaart.exporter import export_hsds  # would add 0.08 s to every `iad` command at the top

    _echo_json(export_hsds(path, fmt=fmt))
