"""`iad eval` and `iad bench`: every quality and speed figure, as JSON. Registered on the
`iad` command through the "iad.commands" entry points (pyproject.toml).

Every `iad` command loads this module, so each command imports what it runs inside itself:
at the top, the time given with each import would be added to every `iad` command
(`iad --help` takes 0.6 s)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from core.config import get_settings


def _echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _record(command: str, cases: Path, result: dict, channel: str | None = None) -> None:
    from measure.figures import record  # when run only (see above)

    record(command, cases, result, channel=channel)


@click.group("eval")
def eval_group() -> None:
    """Measure quality on labelled cases (never train on them)."""


@eval_group.command("search")
@click.option("--cases", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option(
    "--directory",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="The directory to search (any importable format); default: the Twente sociale kaart.",
)
@click.option("--details", is_flag=True, help="Print the ranking per query too.")
@click.option(
    "--tune", is_flag=True, help="Choose the fusion weight and the no-match rule on these cases (a tuning set only)."
)
def eval_search(cases: Path, directory: Path | None, details: bool, tune: bool) -> None:
    """Hybrid search against a plain BM25 baseline, on a scratch copy of the directory."""
    from measure.search import evaluate_search  # when run only (see above): about 3 s, knowledge.search loads spaCy

    _echo_json(evaluate_search(cases, directory, details=details, tune=tune))


@eval_group.command("nlu")
@click.option("--cases", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option(
    "--mode",
    type=click.Choice(["product", "classifier", "lexicon"]),
    default="product",
    help="levensgebieden as the bot records them (product), the learned model alone, or the lexicon alone",
)
@click.option("--details", is_flag=True, help="per case: what was expected and what came out")
@click.option("--record", is_flag=True, help="Write the headline figures to eval/figures.json (the transparency page).")
def eval_nlu(cases: Path, mode: str, details: bool, record: bool) -> None:
    """Crisis (both tiers, each tier, each source) and levensgebieden on single messages."""
    from measure.nlu import evaluate_nlu  # when run only (see above): 0.7 s

    result = evaluate_nlu(cases, mode=mode, details=details)
    if record:
        _record("nlu", cases, result)
    _echo_json(result)


@eval_group.command("dialogues")
@click.option("--cases", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--channel", type=click.Choice(["web", "whatsapp", "voice"]), default="web", show_default=True)
@click.option("--url", default=None, help="A running stack; default: the configured one, else one is started.")
@click.option("--details", is_flag=True, help="Print the result per conversation too.")
@click.option("--record", is_flag=True, help="Write the headline figures to eval/figures.json (the transparency page).")
def eval_dialogues(cases: Path, channel: str, url: str | None, details: bool, record: bool) -> None:
    """Drive whole conversations through the public chat API and score them."""
    # when run only (see above): 0.1 s
    from measure.dialogues import evaluate_dialogues
    from measure.stack import running_stack

    settings = get_settings()
    with running_stack(url or settings.public_base_url, settings.data_dir / "logs" / "eval") as base_url:
        result = evaluate_dialogues(cases, base_url, settings, channel=channel)
    if record:
        _record("dialogues", cases, result, channel=channel)
    if not details:
        result.pop("details")
    _echo_json(result)


@click.group("bench")
def bench_group() -> None:
    """Speed and load, measured."""


@bench_group.command("search")
@click.option("--services", type=int, default=10_000, show_default=True)
@click.option("--rounds", type=int, default=10, show_default=True)
@click.option("--seed", type=int, default=0)
def bench_search_command(services: int, rounds: int, seed: int) -> None:
    """p50/p95 search latency (query embedding included) and index build time on a generated directory."""
    from measure.search_bench import bench_search  # when run only (see above): 0.2 s

    _echo_json(bench_search(services, seed=seed, rounds=rounds))


@bench_group.command("dialogue")
@click.option("--conversations", type=int, default=20, show_default=True)
@click.option("--url", default=None, help="A running stack; default: the configured one, else one is started.")
def bench_dialogue_command(conversations: int, url: str | None) -> None:
    """Turn latency through the chat API, for turns that end in a search (p50/p95)."""
    # when run only (see above): 0.3 s
    from measure.dialogue_bench import bench_dialogue
    from measure.stack import running_stack

    settings = get_settings()
    with running_stack(url or settings.public_base_url, settings.data_dir / "logs" / "bench") as base_url:
        _echo_json(bench_dialogue(base_url, settings.database_url, conversations))


@bench_group.command("crisis")
@click.option("--rounds", type=int, default=2, show_default=True, help="Crisis messages per code and channel.")
def bench_crisis_command(rounds: int) -> None:
    """Crisis numbers with Rasa stopped (SIGSTOP), on web and phone: every crisis answered within 1 s?"""
    from measure.crisis_bench import bench_crisis_with_rasa_stopped  # when run only (see above): 0.3 s

    settings = get_settings()
    _echo_json(bench_crisis_with_rasa_stopped(settings, settings.data_dir / "logs" / "bench-crisis", rounds))


@bench_group.command("load")
@click.option("--residents", type=int, default=50, show_default=True, help="Simulated residents at once (at most 500).")
@click.option("--think-seconds", type=float, default=5.0, show_default=True, help="Pause between a resident's turns.")
@click.option("--seconds", type=float, default=60.0, show_default=True, help="How long (at most 900).")
@click.option(
    "--url", default=None, help="A running stack on loopback; default: the configured one, else one is started."
)
def bench_load_command(residents: int, think_seconds: float, seconds: float, url: str | None) -> None:
    """Residents chatting at once: errors, p50/p95/p99 turn latency, turns per second, and
    the memory of every process right after."""
    # when run only (see above)
    from measure.load_bench import bench_load, bench_memory, check_loopback
    from measure.stack import running_stack

    settings = get_settings()
    target = url or settings.public_base_url
    check_loopback(target)
    harness = running_stack(target, settings.data_dir / "logs" / "bench-load")
    with harness as base_url:
        result = bench_load(base_url, residents, think_seconds, seconds)
        result["memory"] = bench_memory(harness.roots())
    _echo_json(result)


@bench_group.command("memory")
@click.option(
    "--url", default=None, help="A running stack on loopback; default: the configured one, else one is started."
)
@click.option(
    "--warm-up", type=int, default=5, show_default=True, help="Conversations first, so every part has loaded."
)
def bench_memory_command(url: str | None, warm_up: int) -> None:
    """The memory (PSS and RSS) of every process of the stack, and the total."""
    # when run only (see above)
    from measure.load_bench import bench_load, bench_memory, check_loopback
    from measure.stack import running_stack

    settings = get_settings()
    target = url or settings.public_base_url
    check_loopback(target)
    harness = running_stack(target, settings.data_dir / "logs" / "bench-memory")
    with harness as base_url:
        if warm_up:
            bench_load(base_url, residents=warm_up, think_seconds=0, seconds=20)
        _echo_json(bench_memory(harness.roots()))
