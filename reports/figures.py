"""One look for every report figure: masked parts drawn as masked, French numbers, dates and labels.

A masked cell (« < k » or « supprimé ») must never change what the visible
ones seem to say. Leaving it out of a stacked bar makes the bar shorter than
its total and the module look finished; drawing it as 0 does the same. Here a
masked part is drawn hatched and grey with the word « masqué », and its size
is only ever what the published table already gives away (a row total minus
its visible cells). A masked value whose size nothing published gives is
written, never drawn to a length.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)

MASK_FACE = "#f0f0f0"
MASK_EDGE = "#6e6e6e"
MASK_HATCH = "///"
MASK_LABEL = "masqué"
#: Blues of the reports (light to dark) and the colour of single-series bars.
BLUES = ["#c6dbef", "#6baed6", "#08519c", "#08306b"]
BAR = "#2171b5"


def is_masked(value) -> bool:
    """A published cell that hides a small group (« < k », « supprimé », or a blank)."""
    if value is None or isinstance(value, str):
        return True
    try:
        return bool(np.isnan(float(value)))
    except (TypeError, ValueError):
        return True


def number(value: float, decimals: int = 0) -> str:
    """« 1 234 », « 12,5 »: what the tables print."""
    from incubo.reports.nb import fmt

    if decimals == 0 and float(value).is_integer():
        return fmt(int(value), 0)
    return fmt(float(value), decimals)


def french_axis(ax, axis: str = "x", *, percent: bool = False, decimals: int = 0) -> None:
    """Tick labels with a decimal comma (and « 50 % » on a percent axis)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    def label(value, _pos):
        text = number(value, 0 if float(value).is_integer() else max(decimals, 1))
        return f"{text}\u00a0%" if percent else text

    target = ax.xaxis if axis == "x" else ax.yaxis
    if not percent and decimals == 0:
        target.set_major_locator(MaxNLocator(integer=True))  # counts of people: whole ticks
    target.set_major_formatter(FuncFormatter(label))


def date_axis(ax, axis: str = "x") -> None:
    """Dates written JJ/MM/AAAA (matplotlib's default is ISO or English month names)."""
    from matplotlib.dates import DateFormatter

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(DateFormatter("%d/%m/%Y"))
    if axis == "x":
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
            tick.set_horizontalalignment("right")


def masked_weeks(ax, weeks, k: int) -> None:
    """A masked weekly count lies between 1 and k − 1: a hatched box from 0 to k over that week."""
    import pandas as pd
    from matplotlib.patches import Rectangle

    for week in weeks:
        start = pd.Timestamp(week) - pd.Timedelta(days=3)
        ax.add_patch(
            Rectangle(
                (start, 0),
                pd.Timedelta(days=6),
                k,
                facecolor=MASK_FACE,
                edgecolor=MASK_EDGE,
                hatch=MASK_HATCH,
                linewidth=0.5,
            )
        )


def mask_patch(k: int):
    """The legend entry of masked parts."""
    from matplotlib.patches import Patch

    return Patch(
        facecolor=MASK_FACE,
        edgecolor=MASK_EDGE,
        hatch=MASK_HATCH,
        label=f"{MASK_LABEL} (groupe de moins de {k}, ou case protégée)",
    )


def legend_below(ax, handles=None, ncol: int = 4) -> None:
    """A legend under the axes: it never hides a bar or a point."""
    kwargs = {"handles": handles} if handles is not None else {}
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
        ncol=ncol,
        frameon=False,
        fontsize=9,
        **kwargs,
    )


def stacked_bars(
    ax,
    labels: Sequence[str],
    stages: Sequence[str],
    rows: Sequence[Sequence],
    totals: Sequence,
    k: int,
    colors: Sequence[str] = BLUES,
) -> list[dict]:
    """Horizontal stacked bars, one per label; masked cells become one hatched « masqué » part.

    `rows[i][j]` is the published value of stage j for label i (an int, or a masked marker);
    `totals[i]` the published row total (an int, or masked). The hatched part is the total minus the
    visible cells, which the table already gives; when the total itself is masked, the bar is replaced
    by the words « effectif masqué ». Returns what was drawn, for the text alternative.
    """
    drawn: list[dict] = []
    y = np.arange(len(labels))
    for j, stage in enumerate(stages):
        widths = np.array([0 if is_masked(r[j]) else float(r[j]) for r in rows])
        lefts = np.array([sum(0 if is_masked(v) else float(v) for v in r[:j]) for r in rows])
        ax.barh(
            y, widths, left=lefts, color=colors[j % len(colors)], label=stage, edgecolor="white"
        )
        for yi, (w, left) in enumerate(zip(widths, lefts, strict=True)):
            if w > 0:
                ax.text(
                    left + w / 2,
                    yi,
                    number(w),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if j >= 2 else "black",
                )
    xmax = max([float(t) for t in totals if not is_masked(t)] + [1.0])
    for i, (label, row, total) in enumerate(zip(labels, rows, totals, strict=True)):
        visible = sum(0 if is_masked(v) else float(v) for v in row)
        masked_stages = [s for s, v in zip(stages, row, strict=True) if is_masked(v)]
        entry = {
            "label": label,
            "total": None if is_masked(total) else int(total),
            "visible": {s: int(v) for s, v in zip(stages, row, strict=True) if not is_masked(v)},
            "masked_stages": masked_stages,
            "masked": None,
        }
        if is_masked(total):
            ax.text(
                0,
                i,
                f"  effectif {MASK_LABEL} (moins de {k} apprenants ou total protégé)",
                va="center",
                ha="left",
                fontsize=8,
                style="italic",
                color=MASK_EDGE,
            )
        elif masked_stages:
            rest = float(total) - visible
            entry["masked"] = int(rest)
            if rest > 0:
                ax.barh(
                    i, rest, left=visible, color=MASK_FACE, edgecolor=MASK_EDGE, hatch=MASK_HATCH
                )
                ax.text(
                    visible + rest / 2,
                    i,
                    MASK_LABEL,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="black",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1, "alpha": 0.85},
                )
        drawn.append(entry)
    ax.set_yticks(y, labels)
    ax.set_xlim(0, xmax * 1.05)
    ax.invert_yaxis()
    french_axis(ax, "x")
    return drawn


def describe_stacked(drawn: list[dict], unit: str = "apprenants") -> str:
    """The text alternative of `stacked_bars`: every bar, its visible parts and its masked part."""
    parts = []
    for d in drawn:
        if d["total"] is None:
            parts.append(f"{d['label']} : effectif masqué")
            continue
        bits = [f"« {s} » {number(v)}" for s, v in d["visible"].items()]
        if d["masked_stages"]:
            stages = ", ".join(f"« {s} »" for s in d["masked_stages"])
            bits.append(f"{MASK_LABEL} {number(d['masked'] or 0)} (étapes {stages})")
        parts.append(f"{d['label']} : {number(d['total'])} {unit} — " + ", ".join(bits))
    return " ; ".join(parts)


def bars(
    ax,
    labels: Sequence[str],
    values: Sequence,
    k: int,
    *,
    horizontal: bool = True,
    color: str = BAR,
    decimals: int = 0,
    suffix: str = "",
) -> list[str]:
    """Simple bars; a masked value is written « masqué » on a hatched stub, never drawn to a length.

    Returns the labels of the masked bars.
    """
    pos = np.arange(len(labels))
    heights = np.array([0 if is_masked(v) else float(v) for v in values])
    masked = [lab for lab, v in zip(labels, values, strict=True) if is_masked(v)]
    draw = ax.barh if horizontal else ax.bar
    draw(pos, heights, color=color)
    top = max(list(heights) + [1.0])
    stub = top * 0.04
    for i, v in enumerate(values):
        if is_masked(v):
            draw(pos[i], stub, color=MASK_FACE, edgecolor=MASK_EDGE, hatch=MASK_HATCH)
            text = f"{MASK_LABEL} ({v})" if isinstance(v, str) and v.startswith("<") else MASK_LABEL
            if horizontal:
                ax.text(stub * 1.5, i, text, va="center", ha="left", fontsize=8, style="italic")
            else:
                ax.text(
                    i,
                    stub * 1.5,
                    text,
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    style="italic",
                    rotation=90,
                )
        else:
            if horizontal:
                ax.text(
                    heights[i],
                    i,
                    " " + number(heights[i], decimals) + suffix,
                    va="center",
                    ha="left",
                    fontsize=8,
                )
            else:
                ax.text(
                    i,
                    heights[i],
                    number(heights[i], decimals) + suffix,
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
    if horizontal:
        ax.set_yticks(pos, labels)
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.15)
        french_axis(ax, "x")
    else:
        ax.set_xticks(pos, labels)
        ax.set_ylim(0, top * 1.2)
        french_axis(ax, "y")
    return masked
