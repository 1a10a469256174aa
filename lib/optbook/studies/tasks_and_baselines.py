"""Chapter 0's tables and figures: the tuned learning rates and the tuned baselines on fresh problems.

The tuning itself lives in :mod:`optbook.baselines`; this module only summarises its runs for the
page and for the claims ledger. Every loss here is the minibatch loss the optimizer sees, the
quantity chapter 1 compares.
"""

from __future__ import annotations

from typing import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from optbook import baselines, plots

__all__ = ["final_loss_table", "rate_agreement", "tuned_rates_table", "tuning_figure"]

LOSS_LABEL = "minibatch loss"


def _rates_text(rates: Mapping[str, float]) -> str:
    return ", ".join(f"{m} {lr:g}" for m, lr in rates.items())


def tuned_rates_table(runs_by_task: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per task and method: the paper-criterion rate, the trajectory-criterion rate, the L2L
    reproduction's rate, the range of rates tried (the grid and any extension past its edge)."""
    rows = []
    for key, runs in runs_by_task.items():
        final = baselines.select_learning_rates(runs, "final").set_index("method")
        trajectory = baselines.select_learning_rates(runs, "trajectory").set_index("method")
        for method in final.index:
            tried = runs.loc[runs["method"] == method, "lr"]
            rows.append({
                "task": key,
                "method": method,
                "lr (final loss, ours)": final.loc[method, "lr"],
                "lr (trajectory, ours)": trajectory.loc[method, "lr"],
                "lr (reproduction)": baselines.REFERENCE_LRS.get(key, {}).get(method, np.nan),
                "rates tried": f"{tried.min():g} – {tried.max():g}",
                "best at an edge": "yes" if final.loc[method, "at_grid_edge"] or trajectory.loc[method, "at_grid_edge"] else "",
            })
    return pd.DataFrame(rows)


def rates_for_page(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`tuned_rates_table` with each rate written as it is on the grid (0.03, not 0.03000)."""
    columns = [c for c in table.columns if c.startswith("lr ")]
    return table.assign(**{c: table[c].map(lambda lr: "–" if pd.isna(lr) else f"{lr:g}") for c in columns})


def rate_agreement(runs_by_task: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per task the reproduction tuned: its rates, ours by its own (trajectory) criterion, how many
    are exactly the rate our runs pick, and how many within one step of the 1-3-10 ladder."""
    rows = []
    for key, runs in runs_by_task.items():
        reference = baselines.REFERENCE_LRS.get(key)
        if not reference:
            continue
        ours = baselines.select_learning_rates(runs, "trajectory").set_index("method")["lr"]
        compared = {m: float(ours[m]) for m in reference if m in ours}
        if not compared:
            continue
        distances = [baselines.grid_distance(compared[m], reference[m]) for m in compared]
        rows.append({
            "task": key,
            "theirs": _rates_text({m: reference[m] for m in compared}),
            "ours": _rates_text(compared),
            "same rate": sum(d == 0 for d in distances),
            "within one step": sum(d <= 1 for d in distances),
            "compared": len(compared),
        })
    return pd.DataFrame(rows)


def tuning_figure(runs_by_task: Mapping[str, pd.DataFrame], titles: Mapping[str, str], scale: str,
                  data: str | None = None) -> plt.Figure:
    """The tuning score of every rate, per task; the chosen (paper-criterion) rate circled."""
    fig, axes = plots.grid_of_axes(len(runs_by_task), size=(5.2, 4.0))
    for index, (ax, (key, runs)) in enumerate(zip(axes, runs_by_task.items())):
        scores = baselines.learning_rate_scores(runs)
        chosen = baselines.select_learning_rates(runs, "final").set_index("method")
        colors = plots.method_colors(list(scores["method"].unique()))
        for method in plots.ordered(scores["method"]):
            group = scores[scores["method"] == method].sort_values("lr")
            finite = group[np.isfinite(group["final"])]
            ax.plot(finite["lr"], finite["final"], marker=".", color=colors[method], label=method)
            if not chosen.loc[method, "all_diverged"]:
                ax.scatter([chosen.loc[method, "lr"]], [chosen.loc[method, "score"]], s=80, facecolors="none",
                           edgecolors=colors[method], lw=2)
        steps = int(runs["step"].max())
        ax.set(xscale="log", yscale="log", xlabel="learning rate", title=titles[key])
        if index % 3 == 0:  # one y label per row of the grid: the panels share what they show
            ax.set_ylabel(f"{LOSS_LABEL} at step {steps}\n(mean over problems)")
        plots.plain_log_ticks(ax)
        plots.plain_log_ticks(ax, axis="x")
    plots.suptitle(fig, "Tuning score of each learning rate (circled: the rate chosen)", scale, data=data)
    fig.tight_layout()
    plots.figure_legend(fig)
    return fig


def final_loss_table(evaluation_by_task: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per task and method at the last step: mean (± 95% CI half-width) and median of the minibatch
    loss over the evaluation problems, diverged runs, test accuracy, and the HNN project's value
    for the same baseline at the reproduction's rate where there is one."""
    from optbook.experiment import mean_ci

    rows = []
    for key, frame in evaluation_by_task.items():
        last = frame[frame["step"] == frame["step"].max()]
        summary = mean_ci(last, ["method"], "loss").set_index("method")
        for method in plots.ordered(summary.index):
            row = summary.loc[method]
            runs = last[last["method"] == method]
            rows.append({
                "task": key, "method": method,
                f"mean {LOSS_LABEL}": row["mean"], "95% CI ±": row["hi"] - row["mean"],
                f"median {LOSS_LABEL}": float(runs["loss"].where(np.isfinite(runs["loss"]), np.inf).median()),
                "diverged": int(row["n_diverged"]),
                "test accuracy": float(runs["test_accuracy"].mean()) if "test_accuracy" in runs else np.nan,
                "reference (HNN project)": baselines.REFERENCE_FINAL_LOSS.get(key, {}).get(method, np.nan),
            })
    return pd.DataFrame(rows)
