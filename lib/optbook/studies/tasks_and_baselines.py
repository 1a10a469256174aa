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

from optbook import baselines, claims, plots, report, scales
from optbook.findings import Claim, Finding, numbers

__all__ = ["final_loss_table", "final_loss_for_page", "rate_agreement", "rates_for_page", "tuned_rates_table",
           "tuning_figure", "tasks_table", "tuning_findings", "evaluation_findings", "findings_table"]

LOSS_LABEL = "minibatch loss"

# The chapter's claims: two questions of ours about a later reproduction's reference numbers.
TUNED_RATES = Claim(
    "tuned-lr",
    "The L2L reproduction's tuned rates on {task} are the best on the grid under its trajectory criterion",
    paper="", source="chenwydj's PyTorch re-implementation of L2L, Grad_buffer.ipynb (its tuned rates)",
    kind="ours", reference="reproduction",
    gist="the L2L reproduction's rates are the best on {task}")
BASELINE_STRENGTH = Claim(
    "baseline-strength",
    "Tuned baselines reach the step-100 losses the HNN project reported on {task} (ours no more than 10 % higher)",
    paper="", source="OPT-ML (AfoninAndrei/OPT-ML), main.ipynb outputs",
    kind="ours", reference="reproduction",
    gist="tuned baselines match the HNN project's losses on {task}")
# Ours "as strong as" theirs: a mean step-100 loss at most this factor above theirs.
STRENGTH_TOLERANCE = 1.1


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


def _is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        not isinstance(value, str) and bool(pd.isna(value)))


def _by_method(frame: pd.DataFrame, rows: Mapping[str, str], label: str = "") -> pd.DataFrame:
    """A long table (one row per task and method) turned to fit the page: one row per task and
    quantity (``rows``: its label -> the column holding it), one column per method in the book's
    order, each task named once. A quantity no method of a task has is left out for that task."""
    methods = plots.ordered(frame["method"].unique())
    out = []
    for task, group in frame.groupby("task", sort=False):
        values = group.set_index("method").reindex(methods)
        shown = [(name, values[column]) for name, column in rows.items()
                 if not values[column].map(_is_empty).all()]
        for index, (name, row) in enumerate(shown):
            out.append({"task": task if index == 0 else "", label: name, **row.to_dict()})
    return pd.DataFrame(out, columns=["task", label, *methods])


def rates_for_page(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`tuned_rates_table` for the page: per task a row for each criterion's rate, the
    reproduction's rate and the rates tried (and the methods whose best rate is at an edge, if
    any), one column per method; rates written as on the grid (0.03, 1e-5)."""
    rate = lambda lr: "–" if pd.isna(lr) else report.format_number(lr)  # noqa: E731
    tried = lambda text: "–".join(report.format_number(float(x)) for x in text.split(" – "))  # noqa: E731
    columns = [c for c in table.columns if c.startswith("lr ")]
    table = table.assign(**{c: table[c].map(rate) for c in columns}, **{"rates tried": table["rates tried"].map(tried)})
    return _by_method(table, {"paper criterion": "lr (final loss, ours)", "trajectory": "lr (trajectory, ours)",
                              "reproduction": "lr (reproduction)", "rates tried": "rates tried",
                              "best at an edge": "best at an edge"}, label="rate")


def final_loss_for_page(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`final_loss_table` for the page: per task a row for each statistic (test accuracy
    only where there is one, the HNN project's value where it reported one), one column per
    method."""
    return _by_method(table, {"mean": f"mean {LOSS_LABEL}", "± 95% CI": "95% CI ±",
                              "median": f"median {LOSS_LABEL}", "diverged": "diverged",
                              "test accuracy": "test accuracy", "HNN project": "reference (HNN project)"})


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
    fig, axes = plots.grid_of_axes(len(runs_by_task), ncols=2, size=(5.2, 4.0))
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


def tasks_table(keys, task_list) -> pd.DataFrame:
    """The optimizees of the chapter: key, title and parameters per problem."""
    return pd.DataFrame([{"key": key, "task": task.title,
                          "problem parameters": sum(p[0].numel() for p in task.build([0]).parameters())}
                         for key, task in zip(keys, task_list)])


def _data_note(data) -> str:
    return f"MNIST tasks on {data.name}." if data.key != "mnist" else "Full MNIST."


def tuning_findings(runs_by_task: Mapping[str, pd.DataFrame], scale: str, data) -> list[Finding]:
    """What the tuning found that the prose cites (``tuning``: rates compared with the
    reproduction's, how many differ, rates at an edge, grids extended), and one judged
    :data:`TUNED_RATES` per task the reproduction tuned."""
    table = tuned_rates_table(runs_by_task)
    compared = table.dropna(subset=["lr (reproduction)"])
    differ = compared[(compared["lr (final loss, ours)"] != compared["lr (reproduction)"])
                      | (compared["lr (trajectory, ours)"] != compared["lr (reproduction)"])]
    edges = table[table["best at an edge"] == "yes"]
    grid_range = {key: "{:g} – {:g}".format(min(scales.tuning_protocol(scale, key).lr_grid),
                                            max(scales.tuning_protocol(scale, key).lr_grid)) for key in runs_by_task}
    extended = table[table["rates tried"] != table["task"].map(grid_range)]
    found = [numbers(
        "tuning", data=data.name, n_rates_compared=len(compared), n_rates_differ=len(differ),
        n_at_edge="none" if edges.empty else ", ".join(f"{t} {m}" for t, m in zip(edges["task"], edges["method"])),
        extended="none" if extended.empty else "; ".join(
            f"{m} on {t} ({r})" for t, m, r in zip(extended["task"], extended["method"], extended["rates tried"])),
    )]
    for _, row in rate_agreement(runs_by_task).iterrows():
        found.append(TUNED_RATES.with_id(row["task"], task=row["task"]).judged(
            claims.verdict_from_fraction(row["same rate"] / row["compared"]), row["ours"], paper=row["theirs"],
            notes=f"{row['same rate']}/{row['compared']} the same rate, {row['within one step']}/{row['compared']} "
                  "within one step of the 1-3-10 ladder. " + (_data_note(data) if row["task"] != "quadratic" else ""),
        ))
    return found


def evaluation_findings(evaluation_by_task: Mapping[str, pd.DataFrame], data) -> list[Finding]:
    """One judged :data:`BASELINE_STRENGTH` per task with a step-100 reference: our mean loss at
    step 100 at most 10 % above the HNN project's, per baseline; on another data set than theirs a
    lower loss says nothing about the tuning, so the verdict is then inconclusive."""
    final_table = final_loss_table(evaluation_by_task)
    found = []
    for key, reference in baselines.REFERENCE_FINAL_LOSS.items():
        if key not in evaluation_by_task or evaluation_by_task[key]["step"].max() != 100:
            continue  # the reference is a step-100 loss; a shorter horizon (smoke scale) cannot test it
        ours = final_table[final_table["task"] == key].set_index("method")[f"mean {LOSS_LABEL}"]
        compared = {m: ours[m] for m in reference if m in ours}
        as_strong = [compared[m] <= STRENGTH_TOLERANCE * reference[m] for m in compared]
        same_data = key == "quadratic" or data.key == "mnist"
        n_seeds = evaluation_by_task[key]["seed"].nunique()
        found.append(BASELINE_STRENGTH.with_id(key, task=key).judged(
            claims.verdict_from_fraction(sum(as_strong) / len(as_strong)) if same_data else "inconclusive",
            ", ".join(f"{m} {v:.2f}" for m, v in compared.items()),
            paper=", ".join(f"{m} {v:.2f}" for m, v in reference.items()),
            notes=(_data_note(data) + " " if key != "quadratic" else "")
            + f"Ours: mean minibatch loss at step 100 over {n_seeds} problems, at our tuned rates.",
        ))
    return found


def findings_table(runs_by_task: Mapping[str, pd.DataFrame], evaluation_by_task: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per task: the best baseline by median and by mean final loss, and on how many methods the
    two tuning criteria agree."""
    tuned, final = tuned_rates_table(runs_by_task), final_loss_table(evaluation_by_task)
    rows = []
    for key in runs_by_task:
        table = tuned[tuned["task"] == key]
        agree = (table["lr (final loss, ours)"] == table["lr (trajectory, ours)"]).sum()
        finals = final[final["task"] == key].sort_values(f"median {LOSS_LABEL}")
        rows.append({
            "task": key,
            "best by median": finals.iloc[0]["method"],
            "its median loss": finals.iloc[0][f"median {LOSS_LABEL}"],
            "best by mean": final[final["task"] == key].sort_values(f"mean {LOSS_LABEL}").iloc[0]["method"],
            "criteria agree": f"{agree}/{len(table)}",
        })
    return pd.DataFrame(rows)
