"""The house style: one seaborn theme, titles that name task, data set and scale, bands over seeds."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from optbook.experiment import mean_ci

PALETTE = "colorblind"
# Fixed colours per method across every chapter, so a method is recognisable at a glance. A method
# and its variant with a learned learning rate share a colour (the figures tell them apart by line
# style, dashed baselines and solid HD, as the hypergradient paper draws them); "SGDN" is NAG.
METHOD_COLOR_INDEX = {
    "SGD": 0, "SGD-HD": 0, "Momentum": 1, "NAG": 2, "SGDN": 2, "SGDN-HD": 2, "RMSprop": 3, "Adam": 4,
    "Adam-HD": 4, "SGD-HDM": 0, "Adam-HDM": 4, "SGDop-SGDNlop": 5, "SGDNop-SGDNlop": 6, "Adamop-Adamlop": 7, "Adam-HD (code order)": 8,
    "LSTM": 9, "HNN": 5, "SGLD": 6, "BAOAB": 7, "AdLaLa": 8, "LOL": 9,
}
METHOD_ORDER = tuple(METHOD_COLOR_INDEX)


def set_theme() -> None:
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, rc={"figure.dpi": 100, "savefig.dpi": 100})


def _base_method(name: str) -> str:
    """``"AdLaLa (γ=10)"`` → ``"AdLaLa"``: a variant named "method (setting)" takes its method's colour."""
    return name.split(" (")[0]


def method_colors(methods: Sequence[str]) -> dict[str, tuple]:
    """A colour per method, fixed across chapters for the book's methods.

    A setting of a known method, named "method (setting)", shares the method's colour; figures
    tell settings apart by line style.
    """
    palette = sns.color_palette(PALETTE, n_colors=10)
    unknown = iter(range(10))

    def index(m: str) -> int:
        for key in (m, _base_method(m)):
            if key in METHOD_COLOR_INDEX:
                return METHOD_COLOR_INDEX[key]
        return next(unknown) % 10

    return {m: palette[index(m)] for m in ordered(methods)}


def figure_title(what: str, task_title: str, scale: str, data: str | None = None) -> str:
    """The house title: what is shown, on which task and data set, at which scale."""
    return f"{what}\n{task_title}" + (f" · {data}" if data else "") + f" · scale={scale}"


def suptitle(fig: plt.Figure, what: str, scale: str, data: str | None = None) -> None:
    """A title over a grid of panels, whose own titles then only name their task."""
    fig.suptitle(f"{what} · " + (f"{data} · " if data else "") + f"scale={scale}", fontsize=11)


def ordered(methods) -> list[str]:
    """Methods in the book's fixed order, unknown ones after, alphabetically."""
    methods = list(dict.fromkeys(methods))
    known = [m for m in methods if m in METHOD_ORDER or _base_method(m) in METHOD_ORDER]
    rank = {m: (METHOD_ORDER.index(m if m in METHOD_ORDER else _base_method(m)), m not in METHOD_ORDER, m)
            for m in known}
    return sorted(known, key=rank.__getitem__) + sorted(m for m in methods if m not in rank)


def curves_with_bands(
    frame: pd.DataFrame,
    value: str = "loss",
    hue: str = "method",
    x: str = "step",
    ax: plt.Axes | None = None,
    log: bool = True,
    title: str | None = None,
    level: float = 0.95,
    styles: dict[str, str] | None = None,
) -> plt.Axes:
    """Mean of ``value`` over seeds against ``x``, one line per ``hue`` level, with a ``level`` CI band.

    Diverged runs are left out of the mean; the legend says how many were left out.
    """
    ax = ax or plt.subplots(figsize=(6.4, 4.2))[1]
    frame = frame[frame[value].notna() | frame["diverged"]]  # only the steps at which value was measured
    summary = mean_ci(frame, [hue, x], value, level)
    colors = method_colors(list(summary[hue].unique()))
    for name in ordered(summary[hue]):
        group = summary[summary[hue] == name]
        diverged = int(frame[(frame[hue] == name) & (frame[x] == frame[x].max())]["diverged"].sum())
        runs = frame[frame[hue] == name]["seed"].nunique()
        label = f"{name}" + (f" ({diverged}/{runs} diverged)" if diverged else "")
        linestyle = (styles or {}).get(name, "-")
        ax.plot(group[x], group["mean"], color=colors[name], label=label, linestyle=linestyle, lw=1.6)
        ax.fill_between(group[x], group["lo"], group["hi"], color=colors[name], alpha=0.2, lw=0)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(value.replace("_", " "))
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=True)
    return ax


def grid_of_axes(n: int, ncols: int = 3, size: tuple[float, float] = (4.6, 3.4)):
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, min(n, ncols), figsize=(size[0] * min(n, ncols), size[1] * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def median_quantile_curves(
    frame: pd.DataFrame,
    value: str = "loss",
    hue: str = "method",
    x: str = "step",
    ax: plt.Axes | None = None,
    log: bool = True,
    title: str | None = None,
    band: tuple[float, float] = (0.25, 0.75),
    styles: dict[str, str] | None = None,
    ylabel: str | None = None,
) -> plt.Axes:
    """The typical problem: median of ``value`` over seeds against ``x``, one line per ``hue``
    level, with a quantile ``band`` (the middle half by default). On a log axis a mean with a
    symmetric band hides where most problems are; the median and quantiles do not. A diverged
    run counts as an infinite loss (it lifts the quantiles rather than leaving the sample).
    """
    ax = ax or plt.subplots(figsize=(6.4, 4.2))[1]
    frame = frame[frame[value].notna() | frame["diverged"]]  # only the steps at which value was measured
    values = frame[value].where(np.isfinite(frame[value]) & ~frame["diverged"], np.inf)
    grouped = values.groupby([frame[hue], frame[x]])
    summary = pd.DataFrame({
        "median": grouped.median(),
        "lo": grouped.quantile(band[0]),
        "hi": grouped.quantile(band[1]),
    }).reset_index().replace(np.inf, np.nan)
    colors = method_colors(list(summary[hue].unique()))
    for name in ordered(summary[hue]):
        group = summary[summary[hue] == name]
        diverged = int(frame[(frame[hue] == name) & (frame[x] == frame[x].max())]["diverged"].sum())
        runs = frame[frame[hue] == name]["seed"].nunique()
        label = f"{name}" + (f" ({diverged}/{runs} diverged)" if diverged else "")
        linestyle = (styles or {}).get(name, "-")
        ax.plot(group[x], group["median"], color=colors[name], label=label, linestyle=linestyle, lw=1.6)
        ax.fill_between(group[x], group["lo"], group["hi"], color=colors[name], alpha=0.15, lw=0)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel or f"{value.replace('_', ' ')}: median, {band[0]:.0%}–{band[1]:.0%} quantiles")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=True)
    return ax
