"""Chapter 3's figures and tables: the page calls these, so its cells stay one call each.

Each figure answers one of the chapter's claims and is titled with task, data set and scale.
"""

from __future__ import annotations

import textwrap

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


def _alpha_per_iteration(ax: plt.Axes, curves: pd.DataFrame, colors: dict) -> None:
    """The paper's inset, drawn as a panel of its own so it hides no curve: α at every iteration
    (mean over seeds) of the HD methods on a logarithmic iteration axis, α₀ dashed."""
    hd_runs = curves[curves["method"].isin(hd.BASELINE_OF) & curves["lr"].notna()]
    for method, rows in hd_runs.groupby("method"):
        mean = rows.groupby("step")["lr"].mean()
        # Unlabelled: the figure's legend takes each method once, from the epoch panels.
        ax.plot(mean.index + 1, mean.to_numpy(), color=colors[method], lw=1.4, label="_" + method)
    ax.axhline(hd.ALPHA0, color="0.4", lw=0.8, ls="--")
    ax.set(xscale="log", xlabel="iteration")
    plots.plain_log_ticks(ax, "x")


def figure3(tables: dict, titles: dict, data: str | dict, scale: str, curves: dict | None = None,
            xlabel: str = "epoch", what: str = "Baselines (dashed) and their HD versions (solid) from α₀ = 0.001"
            ) -> plt.Figure:
    """The paper's Fig. 3 layout: α, training loss, validation loss per epoch (mean over seeds with
    a 95% band), one column per task. With ``curves`` (the per-step runs) a first row shows what
    the paper's inset shows, α at every iteration on a logarithmic axis, as a panel of its own
    rather than an inset over the curves. ``data`` names the data set, or one per column."""
    top = int(curves is not None)
    heights = [0.8] * top + [1.0] * len(FIGURE3_ROWS)  # the per-iteration row a little lower
    fig = plt.figure(figsize=(4.8 * len(tables), 2.5 * sum(heights) + 2.2))
    grid = fig.add_gridspec(len(heights), len(tables), height_ratios=heights)
    colors = plots.method_colors(list(hd.PAPER_METHODS))
    for col, (name, table) in enumerate(tables.items()):
        # A data set's long name wraps under the task, so neighbouring columns' titles never meet.
        below = "\n" + textwrap.fill(data[name], 34) if isinstance(data, dict) else ""
        if curves is not None:
            ax = fig.add_subplot(grid[0, col])
            _alpha_per_iteration(ax, curves[name], colors)
            ax.set(ylabel="α per iteration" if col == 0 else "")
            ax.set_title(titles[name] + below, fontsize="medium")
        shown = table[table["method"].isin(hd.PAPER_METHODS)]
        first = None
        for row, (value, label) in enumerate(FIGURE3_ROWS):
            ax = fig.add_subplot(grid[top + row, col], sharex=first)
            first = first or ax
            # α may turn negative ("unlearning", as the paper notes), so its axis is linear.
            plots.curves_with_bands(_epoch_rows(shown, value), value="value", x="step", ax=ax, log=row > 0,
                                    styles=BASELINE_STYLE, legend=False)
            ax.set(ylabel=label if col == 0 else "", xlabel=xlabel if row == len(FIGURE3_ROWS) - 1 else "")
            if row < len(FIGURE3_ROWS) - 1:
                ax.tick_params(labelbottom=False)
            if row == 0 and curves is None:
                ax.set_title(titles[name] + below, fontsize="medium")
    plots.suptitle(fig, what, scale, data=None if isinstance(data, dict) else data)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    plots.figure_legend(fig, ncol=3)
    return fig


def _difference(difference: float, lo: float, hi: float) -> str:
    """A paired difference and its 95% interval, "+0.012 [0.0051, 0.019]"; an interval that too
    few problems cannot give (the sign test below six) is "–"."""
    interval = "–" if np.isnan(lo) or np.isnan(hi) else f"[{lo:.2g}, {hi:.2g}]"
    return f"{difference:+.2g} {interval}"


def paired_tables(judged: dict, quantity: str = "loss", group: str | None = None,
                  strip: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Judged comparisons (:func:`optbook.comparison.compare_paired`) as two tables narrow enough
    for the page, one row per comparison: the verdicts (the means over problems, on how many
    problems the first is better, the verdict) and the intervals they rest on (the paired
    differences of the mean and of the median with their 95% intervals).

    ``judged`` is ``{key: result}``, or with ``group`` the name of a first column,
    ``{label: {key: result}}``. ``strip`` is removed from the names compared (a label that the
    caption already says, such as " (β=1e-05)")."""
    def g(x: float) -> str:
        return f"{x:.3g}"

    verdicts, intervals = [], []
    for label, results in (judged.items() if group else [(None, judged)]):
        for r in results.values():
            first = {group: label} if group else {}
            compared = f"{r.a} vs {r.b}".replace(strip, "") if strip else f"{r.a} vs {r.b}"
            verdicts.append({
                **first, "compared": compared,
                f"mean {quantity}": f"{g(r.mean_a)} vs {g(r.mean_b)}",
                "first better in": f"{round(r.fraction_better * r.n)} of {r.n}",
                "verdict": r.verdict,
            })
            intervals.append({
                **first, "compared": compared,
                "mean paired difference [95%]": _difference(r.mean_difference, r.mean_lo, r.mean_hi),
                "median paired difference [95%]": _difference(r.median_difference, r.median_lo, r.median_hi),
            })
    return pd.DataFrame(verdicts), pd.DataFrame(intervals)


def variant_tables(variant_judged: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`paired_tables` of the variants' three claims, one block of rows per variant with
    the claim and its task beside it (keys ``"<variant> · <task>"``; a key without a task is
    logistic regression's α₀ sweep). The pair comes first: its column wraps, so the table fits."""
    groups: dict[str, dict] = {}
    for claim, results in variant_judged.items():
        for key, result in results.items():
            task = key.split(" · ")[1] if " · " in key else "LogReg"
            groups.setdefault(f"{claim} ({task})", {})[key] = result
    tables = []
    # "less sensitive" compares the log10 final loss over α₀, not the loss: the heading says so.
    for table in paired_tables(groups, quantity="loss (log10 for less sensitive)", group="claim (task)"):
        order = {pair: i for i, pair in enumerate(dict.fromkeys(table["compared"]))}
        table = table.sort_values("compared", key=lambda c: c.map(order), kind="stable")
        tables.append(table[["compared", *[c for c in table.columns if c != "compared"]]].reset_index(drop=True))
    return tables[0], tables[1]


def verdicts_by_setting(changes: pd.DataFrame) -> pd.DataFrame:
    """:func:`verdict_changes` for the page: the HD method named in a first column."""
    return changes.rename_axis("HD method").reset_index()


def grid_summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`grid_summary` for the page: per HD method, in how many cells it is no slower than
    its baseline, over all β and over β ≤ 1e-3."""
    return pd.DataFrame({
        "HD method": summary["method"],
        "no slower, all β": [f"{k} of {n}" for k, n in zip(summary["HD no slower (all β)"], summary["cells"])],
        "no slower, β ≤ 1e-3": [f"{k} of {n}" for k, n in zip(summary["HD no slower (β ≤ 1e-3)"],
                                                               summary["cells with β ≤ 1e-3"])],
    })


def code_comparison_table(comparison: pd.DataFrame) -> pd.DataFrame:
    """:func:`code_comparison` for the page: ours against the code's log in one column per
    quantity ("ours vs code"), "–" where the code logged no value."""
    def pair(ours: float, code: float) -> str:
        return "–" if pd.isna(code) else f"{ours:.3g} vs {code:.3g}"

    return pd.DataFrame({
        "task": comparison["task"], "method": comparison["method"], "epoch": comparison["epoch"],
        "training loss": [pair(o, c) for o, c in zip(comparison["train: ours"], comparison["train: code"])],
        "validation loss": [pair(o, c) for o, c in zip(comparison["valid: ours"], comparison["valid: code"])],
        "max α": [pair(o, c) for o, c in zip(comparison["max α: ours"], comparison["max α: code"])],
    })


def bound_table(bound: dict, moved: dict, steps: int) -> pd.DataFrame:
    """How far Adam on α can move α (:func:`hypergradient.adam_lr_movement_bound`) against how far
    it moved (``moved``: the largest |α − α₀| per task), one row each."""
    rows = [("iterations", steps), ("bound if h keeps its sign (β·T)", bound["one sign"]),
            ("bound for any hypergradients", bound["worst case"])]
    rows += [(f"largest |α − α₀| seen, {name}", value) for name, value in moved.items()]
    return pd.DataFrame(rows, columns=["", "value"])


def ordering_tables(order: pd.DataFrame, effect) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two orderings of Adam-HD's update side by side (rows: the measures of
    :func:`hypergradient.final_epoch`), and the ordering's effect
    (:func:`hypergradient.ordering_effect`, a dict or Series) as a second table."""
    names = {"train_loss": "training loss", "valid_loss": "validation loss", "alpha": "α (last epoch)",
             "peak_alpha": "peak α"}
    table = order[list(names)].rename(columns=names).T.rename_axis("").reset_index()
    effect = pd.Series(effect).rename("LogReg").rename_axis("effect of the code's ordering").reset_index()
    return table, effect


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
    """Fig. 2: the final loss against α₀ for each method (median over seeds), and α at every
    iteration for each α₀ (seed 0) with its sign, on a symmetric log axis (linear near zero)."""
    fig = plt.figure(figsize=(plots.PAGE_WIDTH, 8))
    top = fig.add_subplot(2, 1, 1)
    last = hd.final_losses(sweep).replace(np.inf, np.nan)
    colors = plots.method_colors(list(last["method"].unique()))
    for method in plots.ordered(last["method"]):
        rows = last[last["method"] == method].groupby("alpha0")["loss"]
        style = "--" if method in BASELINE_STYLE else ":" if method.endswith("HDM") else "-"
        median = rows.median()
        top.plot(median.index, median.to_numpy(), marker="o", color=colors[method], linestyle=style, label=method)
        top.fill_between(median.index, rows.min().to_numpy(), rows.max().to_numpy(), color=colors[method], alpha=0.15)
    top.set(xscale="log", yscale="log", xlabel="α₀", ylabel="final training loss",
            title=f"final training loss (full data) after {epochs} epochs: median and range over seeds")
    plots.plain_log_ticks(top, "x")
    plots.plain_log_ticks(top, "y")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    alphas = sorted(sweep["alpha0"].unique())
    shades = dict(zip(alphas, plt.get_cmap("viridis")(np.linspace(0, 0.9, len(alphas)))))
    smallest = min(abs(a) for a in alphas)
    for index, method in enumerate(("SGD-HD", "Adam-HD")):
        ax = fig.add_subplot(2, 2, 3 + index)
        rows = sweep[(sweep["method"] == method) & sweep["lr"].notna() & (sweep["seed"] == sweep["seed"].min())]
        for alpha0, run in rows.groupby("alpha0"):
            ax.plot(run["step"] + 1, run["lr"], label=f"{alpha0:g}", lw=0.9, color=shades[alpha0])
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=smallest / 10)
        ax.set(xlabel="iteration", ylabel="α (symmetric log)" if index == 0 else "")
        ax.set_title(f"{method}: α per iteration", fontsize="medium")
        # Every second power of ten: a label on each decade of both signs crowds the axis.
        low, high = ax.get_ylim()
        ax.set_yticks([tick for tick in ax.get_yticks() if low <= tick <= high
                       and (tick == 0 or round(np.log10(abs(tick))) % 2 == 1)])
        ax.set_ylim(low, high)
        plots.plain_log_ticks(ax, "x")
        if index == 1:
            ax.legend(title="α₀", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
    plots.suptitle(fig, f"Sensitivity to α₀, logistic regression, β = {beta:g}", scale, data=data)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def verdict_changes(judged_by_setting: dict) -> pd.DataFrame:
    """The verdict of each HD-against-baseline pair (rows) in each setting (columns)."""
    return pd.DataFrame({setting: {m: r.verdict for m, r in judged.items()}
                         for setting, judged in judged_by_setting.items()})


def grid_exceptions(grid: pd.DataFrame) -> str:
    """The Fig. 4 cells where HD needs more iterations than its baseline, in words."""
    cells = []
    for method, base in hd.BASELINE_OF.items():
        baseline = grid[grid["method"] == base].set_index("alpha0")["iterations"]
        rows = grid[grid["method"] == method]
        slower = rows[rows["iterations"] > rows["alpha0"].map(baseline)]
        cells += [f"{method} at α₀ = {a:g}, β = {b:g}" for a, b in zip(slower["alpha0"], slower["beta"])]
    return "; ".join(cells) if cells else "none"


def moving_beta_figure(frame: pd.DataFrame, steps_per_epoch: int, data: str, scale: str) -> plt.Figure:
    """α at every iteration (mean over seeds, band: range) and the training loss per epoch of the
    runs at the larger β."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(plots.PAGE_WIDTH + 1, 3.8))
    colors = plots.method_colors(list(frame["method"].unique()))
    for method, rows in frame[frame["lr"].notna()].groupby("method"):
        by_step = rows.groupby("step")["lr"]
        left.plot(by_step.mean().index + 1, by_step.mean().to_numpy(), color=colors[method], label=method, lw=1.2)
        left.fill_between(by_step.mean().index + 1, by_step.min().to_numpy(), by_step.max().to_numpy(),
                          color=colors[method], alpha=0.2)
    left.axhline(hd.ALPHA0, color="0.4", lw=0.8, ls="--")
    left.set(xscale="log", xlabel="iteration", ylabel="α", title="α at every iteration")
    plots.plain_log_ticks(left, "x")
    table = hd.per_epoch(frame, steps_per_epoch)
    plots.curves_with_bands(_epoch_rows(table, "train_loss"), value="value", x="step", ax=right, legend=False)
    right.set(xlabel="epoch", ylabel="training loss", title="training loss (epoch mean)")
    plots.suptitle(fig, "Adam-HD and Adam on α at a β where α moves", scale, data=data)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    plots.figure_legend(fig, ncol=2)
    return fig


def transition_figure(frame: pd.DataFrame, table: pd.DataFrame, alpha_inf: float, data: str, scale: str) -> plt.Figure:
    """§5: the step size γ at every iteration (mean over seeds) and the training loss per epoch, for
    SGD-HD with transitions of several τ, SGD-HD itself and SGD at the fixed rate α∞."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(plots.PAGE_WIDTH + 1, 3.8))
    colors = plots.method_colors(list(frame["method"].unique()))
    for method in plots.ordered(frame["method"].unique()):
        mean = frame[(frame["method"] == method) & frame["gamma"].notna()].groupby("step")["gamma"].mean()
        left.plot(mean.index + 1, mean.to_numpy(), color=colors[method], label=method, lw=1.2,
                  ls="--" if method.startswith("SGD (") else "-")
    left.set(xscale="log", yscale="log", xlabel="iteration", ylabel="step size γ", title="γ at every iteration")
    plots.plain_log_ticks(left, "x")
    plots.plain_log_ticks(left, "y")
    plots.curves_with_bands(_epoch_rows(table, "train_loss"), value="value", x="step", ax=right, legend=False,
                            styles={m: "--" for m in table["method"].unique() if m.startswith("SGD (")})
    right.set(xlabel="epoch", ylabel="training loss", title="training loss (epoch mean)")
    plots.suptitle(fig, f"SGD-HD handing over to α∞ = {alpha_inf:g} (§5), logistic regression", scale, data=data)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    plots.figure_legend(fig, ncol=3)
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


def code_says(reference: dict) -> str:
    """What the official code's logs (one run each) say about each HD/baseline pair: which ended
    with the lower training loss, or that a method was not logged."""
    parts = []
    for method, baseline in hd.BASELINE_OF.items():
        if method in reference and baseline in reference:
            lower = method if reference[method][0] < reference[baseline][0] else baseline
            parts.append(f"{method} {reference[method][0]:g} vs {baseline} {reference[baseline][0]:g} ({lower} lower)")
        else:
            parts.append(f"{method if baseline in reference else baseline}: not logged")
    return "official code logs, one run: " + "; ".join(parts)


def pairs_summary(judged: dict, valid_judged: dict | None = None) -> str:
    """One line for the ledger: each pair's verdict, means and median paired difference with its
    interval (and the validation-loss verdicts, if given)."""
    text = "; ".join(f"{m}: {r.verdict}, mean {r.mean_a:.4g} vs {r.mean_b:.4g}, median difference "
                     f"{r.median_difference:+.3g} [{r.median_lo:.3g}, {r.median_hi:.3g}]" for m, r in judged.items())
    if valid_judged:
        text += "; validation loss: " + ", ".join(f"{m} {r.verdict}" for m, r in valid_judged.items())
    return text
