"""Chapter 3's figures and tables: the page calls these, so its cells stay one call each.

Each figure answers one of the chapter's claims and is titled with task, data set and scale.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from optbook import plots
from optbook.studies import hypergradient as hd

# The paper draws the baselines dashed and their HD versions solid.
BASELINE_STYLE = {m: "--" for m in ("SGD", "SGDN", "Adam")}
FIGURE3_ROWS = (("alpha", "α (epoch mean)"), ("train_loss", "training loss"), ("valid_loss", "validation loss"))


def _epoch_rows(table: pd.DataFrame, value: str) -> pd.DataFrame:
    """A per-epoch table in the long form :func:`plots.curves_with_bands` draws."""
    rows = table[table[value].notna() | table["diverged"]]
    return rows.assign(step=rows["epoch"], loss=np.nan).rename(columns={value: "value"})


def figure3(tables: dict, titles: dict, data: str, scale: str) -> plt.Figure:
    """The paper's Fig. 3 layout: α, training loss, validation loss per epoch, one column per task."""
    fig, axes = plt.subplots(3, len(tables), figsize=(4.5 * len(tables), 9), sharex="col", squeeze=False)
    for col, (name, table) in enumerate(tables.items()):
        shown = table[table["method"].isin(hd.PAPER_METHODS)]
        for row, (value, label) in enumerate(FIGURE3_ROWS):
            ax = axes[row, col]
            # α may turn negative ("unlearning", as the paper notes), so its axis is linear.
            plots.curves_with_bands(_epoch_rows(shown, value), value="value", x="step", ax=ax, log=row > 0,
                                    styles=BASELINE_STYLE, legend=False)
            ax.set(ylabel=label if col == 0 else "", xlabel="epoch" if row == 2 else "")
            if row == 0:
                ax.set_title(titles[name])
    plots.suptitle(fig, "Baselines (dashed) and their HD versions (solid) from α₀ = 0.001", scale, data=data)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    plots.figure_legend(fig, ncol=3)
    return fig


def grid_table(grid: pd.DataFrame, method: str, baseline: str) -> pd.DataFrame:
    """One method's Fig. 4 panel: rows β (largest on top) under a first row for the baseline,
    columns α₀, cells the iterations to the threshold."""
    hd_cells = grid[grid["method"] == method].pivot(index="beta", columns="alpha0", values="iterations")
    base_row = grid[grid["method"] == baseline].set_index("alpha0")["iterations"].rename("baseline").to_frame().T
    table = pd.concat([base_row, hd_cells.sort_index(ascending=False)])
    table.index = [baseline if i == "baseline" else f"β = {i:g}" for i in table.index]
    table.columns = [f"{c:g}" for c in table.columns]
    return table


def grid_figure(grid: pd.DataFrame, cap: int, threshold: float, data: str, scale: str) -> plt.Figure:
    """Fig. 4: one heatmap per HD method, stacked so each cell's count is legible at page width,
    with one shared log colour scale and its colourbar."""
    reached = grid["iterations"][grid["iterations"] < cap]
    vmin, vmax = max(reached.min(), 1) if len(reached) else 1, cap
    fig, axes = plt.subplots(len(hd.BASELINE_OF), 1, figsize=(7.5, 4.2 * len(hd.BASELINE_OF)))
    for ax, (method, base) in zip(axes, hd.BASELINE_OF.items()):
        plots.log_heatmap(grid_table(grid, method, base), ax, vmin=vmin, vmax=vmax, cap=cap,
                          label="iterations to the threshold")
        ax.set(title=f"{method} (top row: {base}, which has no β)", xlabel="α₀", ylabel="")
        ax.tick_params(axis="y", rotation=0)
    plots.suptitle(fig, f"Iterations to training loss {threshold:g}; grey: not within {cap:,}", scale, data=data)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    return fig


def grid_summary(grid: pd.DataFrame) -> pd.DataFrame:
    """Per HD method: the grid cells where it needs no more iterations than its baseline at the
    same α₀, over all β and over β ≤ 1e-3 (the paper's exception is very large β)."""
    rows = []
    for method, base in hd.BASELINE_OF.items():
        baseline = grid[grid["method"] == base].set_index("alpha0")["iterations"]
        cells = grid[grid["method"] == method].assign(baseline=lambda f: f["alpha0"].map(baseline))
        moderate = cells[cells["beta"] <= 1e-3]
        rows.append({"method": method, "cells": len(cells),
                     "HD no slower (all β)": int((cells["iterations"] <= cells["baseline"]).sum()),
                     "HD no slower (β ≤ 1e-3)": int((moderate["iterations"] <= moderate["baseline"]).sum()),
                     "cells with β ≤ 1e-3": len(moderate)})
    return pd.DataFrame(rows)


def sweep_figure(sweep: pd.DataFrame, epochs: int, beta: float, data: str, scale: str) -> plt.Figure:
    """Fig. 2: the final loss against α₀ for each method, and α over training for each α₀."""
    fig = plt.figure(figsize=(plots.PAGE_WIDTH, 7.5))
    top = fig.add_subplot(2, 1, 1)
    last = sweep[sweep["step"] == sweep["step"].max()]
    colors = plots.method_colors(list(last["method"].unique()))
    for method in plots.ordered(last["method"]):
        rows = last[last["method"] == method]
        style = "--" if method in BASELINE_STYLE else ":" if method.endswith("HDM") else "-"
        top.plot(rows["alpha0"], rows["train_loss"], marker="o", color=colors[method], linestyle=style, label=method)
    top.set(xscale="log", yscale="log", xlabel="α₀", ylabel="final training loss",
            title=f"final training loss (full data) after {epochs} epochs")
    plots.plain_log_ticks(top, "x")
    plots.plain_log_ticks(top, "y")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    alphas = sorted(sweep["alpha0"].unique())
    shades = dict(zip(alphas, plt.get_cmap("viridis")(np.linspace(0, 0.9, len(alphas)))))
    for index, method in enumerate(("SGD-HD", "Adam-HD")):
        ax = fig.add_subplot(2, 2, 3 + index)
        rows = sweep[(sweep["method"] == method) & sweep["lr"].notna()]
        for alpha0, run in rows.groupby("alpha0"):
            ax.plot(run["step"], run["lr"].abs(), label=f"{alpha0:g}", lw=1.2, color=shades[alpha0])
        ax.set(yscale="log", xlabel="iteration", ylabel="|α|" if index == 0 else "", title=f"{method}: α over training")
        plots.plain_log_ticks(ax)
        if index == 1:
            ax.legend(title="α₀", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    plots.suptitle(fig, f"Sensitivity to α₀, logistic regression, β = {beta:g}", scale, data=data)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def variants_figure(epochs: dict, data: str, scale: str) -> plt.Figure:
    """Each variant's validation loss against its HD baseline's, per task."""
    pairs = list(hd.VARIANT_PAIRS.items())
    fig, axes = plt.subplots(len(epochs), len(pairs), figsize=(plots.PAGE_WIDTH + 1, 3.4 * len(epochs)),
                             sharex="row", squeeze=False)
    for row, (name, table) in enumerate(epochs.items()):
        for ax, (variant, baseline) in zip(axes[row], pairs):
            shown = table[table["method"].isin([variant, baseline])]
            plots.curves_with_bands(_epoch_rows(shown, "valid_loss"), value="value", x="step", ax=ax,
                                    styles={baseline: "--"}, legend=False)
            ax.set(title=f"{name}: {variant}", xlabel="epoch" if row == len(epochs) - 1 else "",
                   ylabel="validation loss" if ax is axes[row][0] else "")
    plots.suptitle(fig, "Variants (solid) against their HD baselines (dashed), from α₀ = 0.001", scale, data=data)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    plots.figure_legend(fig, ncol=3)
    return fig


def code_comparison(epochs: dict, code_reference: dict, reference_epoch: dict) -> pd.DataFrame:
    """Ours against the official code's logged training loss, validation loss and peak α, one row
    per task and method, at the code's epoch (or our last, when we ran fewer)."""
    rows = []
    for name, table in epochs.items():
        epoch = min(reference_epoch[name], int(table["epoch"].max()))
        ours = hd.final_epoch(table, epoch)
        for method, (train, valid, alpha_max) in code_reference[name].items():
            rows.append({"task": name, "method": method, "epoch": epoch,
                         "train: code": train, "train: ours": ours.loc[method, "train_loss"],
                         "valid: code": valid, "valid: ours": ours.loc[method, "valid_loss"],
                         "max α: code": alpha_max,
                         "max α: ours": ours.loc[method, "peak_alpha"] if alpha_max else np.nan})
    return pd.DataFrame(rows)


def variants_table(epochs: dict, variant_spread: pd.Series) -> pd.DataFrame:
    """Each variant against its HD baseline on each task: last-epoch losses, the spread over α₀
    (logistic regression only) and whether the variant diverged."""
    rows = []
    for variant, baseline in hd.VARIANT_PAIRS.items():
        for name, table in epochs.items():
            last = hd.final_epoch(table)
            rows.append({"variant": variant, "HD baseline": baseline, "task": name,
                         "diverged": bool(last.loc[variant, "diverged"]),
                         "valid loss: variant": last.loc[variant, "valid_loss"],
                         "valid loss: HD": last.loc[baseline, "valid_loss"],
                         "train loss: variant": last.loc[variant, "train_loss"],
                         "train loss: HD": last.loc[baseline, "train_loss"],
                         "α₀ spread: variant": variant_spread[variant] if name == "LogReg" else np.nan,
                         "α₀ spread: HD": variant_spread[baseline] if name == "LogReg" else np.nan})
    return pd.DataFrame(rows)
