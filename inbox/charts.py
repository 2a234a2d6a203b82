"""Charts for the signalen dashboard, drawn on the server as SVG with matplotlib (the inbox
runs no script at all, see its CSP). A suppressed count (1 to 4) is drawn as no bar with the
label "< 5", exactly as the tables show it."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no screen: render to files only

import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

from inbox.dashboard import MIN_COUNT, SUPPRESSED  # noqa: E402

COLOURS = ("#154273", "#b3541e", "#39870c", "#6b6b6b")


def _svg(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="svg", bbox_inches="tight")
    plt.close(fig)
    return out.getvalue()


def _visible(n: int | str) -> int:
    """The bar's length for a count as the table shows it: "< 5" none, "≥ 12" 12."""
    if isinstance(n, str):
        return int(n.removeprefix("≥ ")) if n.startswith("≥ ") else 0
    return n if n >= MIN_COUNT else 0


def bars(labels: list[str], values: list[int | str], xlabel: str) -> bytes:
    """Horizontal bars, largest on top, each labelled with the count as the table shows it."""
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(3, len(labels)) + 0.8))
    shown = [_visible(v) for v in values]
    ax.barh(labels[::-1], shown[::-1], color=COLOURS[0])
    for y, (raw, value) in enumerate(zip(values[::-1], shown[::-1], strict=True)):
        text = raw if isinstance(raw, str) else (raw if raw >= MIN_COUNT or raw == 0 else SUPPRESSED)
        ax.text(value, y, f" {text}", va="center", fontsize=9)
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def stacked(labels: list[str], series: dict[str, list[int | str]], ylabel: str) -> bytes:
    """Stacked bars per label (e.g. per team: on time, late, running)."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bottom = [0] * len(labels)
    for colour, (name, values) in zip(COLOURS, series.items(), strict=False):
        shown = [_visible(v) for v in values]
        ax.bar(labels, shown, bottom=bottom, label=name, color=colour)
        bottom = [b + s for b, s in zip(bottom, shown, strict=True)]
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="x", labelrotation=15)
    return _svg(fig)
