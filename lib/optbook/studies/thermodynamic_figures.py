"""Chapter 4's figures and tables: the page calls these, so its cells stay one call each.

Each figure answers one of the chapter's claims and is titled with task, data set and scale.
Decision maps use a purple-orange colour map with a colourbar; the training points on them are
black and white, so the two never share colours.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import ListedColormap

from optbook import plots
from optbook.studies import thermodynamic as thermo

MAP_CMAP = "PuOr_r"  # P(class 1): purple (class 0) to orange (class 1)
POINT_CMAP = ListedColormap(["#000000", "#ffffff"])  # the data's classes, distinct from the map
CLASS_CMAP = ListedColormap(["#0072B2", "#D55E00"])  # data alone (no map behind): blue and vermillion
SECOND_SETTING_STYLE = {"AdLaLa (γ=10)": "--"}


def data_figure(panels: list, scale: str) -> plt.Figure:
    """One draw of each classification problem, two classes in two colours."""
    ncols = 3
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(plots.PAGE_WIDTH, 3.2 * nrows), squeeze=False)
    for ax, (title, (x, y)) in zip(axes.flat, panels):
        ax.scatter(x[:, 0], x[:, 1], c=y, cmap=CLASS_CMAP, s=4, vmin=0, vmax=1)
        ax.set(title=title, aspect="equal", xticks=[], yticks=[])
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    plots.suptitle(fig, "The classification problems (one draw each; trigonometric: our reconstruction)", scale)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig


def accuracy_and_spread(frame: pd.DataFrame, title: str, scale: str) -> plt.Figure:
    """Figs. 8 and 14 (top): mean test accuracy with its 95 % CI, and its variance over runs."""
    fig, axes = plt.subplots(1, 2, figsize=(plots.PAGE_WIDTH, 4))
    plots.curves_with_bands(frame, value="test_accuracy", ax=axes[0], log=False, styles=SECOND_SETTING_STYLE,
                            legend=False)
    axes[0].set(ylabel="test accuracy", title="mean over runs, 95 % CI")
    spread = thermo.spread_over_training(frame)
    colors = plots.method_colors(list(spread["method"].unique()))
    for method in plots.ordered(spread["method"]):
        rows = spread[spread["method"] == method]
        axes[1].plot(rows["step"], rows["var"], color=colors[method], linestyle=SECOND_SETTING_STYLE.get(method, "-"),
                     label=method, lw=1.8)
    axes[1].set(yscale="log", xlabel="step", ylabel="variance over runs", title="spread between runs (Fig. 14)")
    plots.plain_log_ticks(axes[1])
    plots.suptitle(fig, title, scale)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    plots.figure_legend(fig, ncol=3)
    return fig


def final_accuracy_boxes(frame: pd.DataFrame, step: int, paper: dict, task_title: str, scale: str) -> plt.Figure:
    """Fig. 8: every run's final test accuracy per method, with the paper's mean as a star."""
    fig, ax = plt.subplots(figsize=(plots.PAGE_WIDTH, 4))
    last = frame[frame["step"] == step]
    order = plots.ordered(last["method"])
    sns.boxplot(data=last, x="method", y="test_accuracy", hue="method", order=order, hue_order=order,
                palette=plots.method_colors(order), ax=ax, fliersize=2, legend=False)
    stars = [(i, paper[m]) for i, m in enumerate(order) if m in paper]
    ax.scatter([i for i, _ in stars], [v for _, v in stars], marker="*", s=160, color="black", zorder=5,
               label="the paper's mean")
    ax.set(xlabel="", ylabel="final test accuracy")
    ax.tick_params(axis="x", rotation=15)
    ax.set_title(plots.figure_title(f"Final test accuracy of each run after {step:,} steps (Fig. 8)", task_title, scale))
    fig.tight_layout()
    plots.figure_legend(fig)
    return fig


def weight_histograms(snapshots: dict, steps: list, methods: list, runs: int, task_title: str,
                      scale: str) -> tuple[plt.Figure, pd.DataFrame]:
    """Figs. 6-8: the first-layer weights of all runs at several steps; returns the figure and the
    spread (std, max |W₁|) per method at the last step."""
    fig, axes = plt.subplots(1, len(steps), figsize=(plots.PAGE_WIDTH + 1, 3.6), squeeze=False, sharey=True)
    colors = plots.method_colors(methods)
    spread = None
    for ax, step in zip(axes[0], steps):
        values = thermo.parameter_values({m: snapshots[m] for m in methods}, step, "W1")
        spread = values.groupby("method")["value"].agg(**{"std of W₁": "std", "max |W₁|": lambda v: np.abs(v).max()})
        for method in methods:
            ax.hist(values[values["method"] == method]["value"], bins=60, histtype="step", density=True,
                    color=colors[method], label=method, lw=1.6)
        ax.set(title=f"after {step:,} steps", xlabel="first-layer weight", ylabel="density" if ax is axes[0][0] else "",
               yscale="log")
        plots.plain_log_ticks(ax)
    plots.suptitle(fig, f"First-layer weights W₁ of all {runs} runs, {task_title}", scale)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    plots.figure_legend(fig)
    return fig, spread.loc[[m for m in methods if m in spread.index]]


def accuracy_curves(frames: dict, titles: dict, what: str, scale: str) -> plt.Figure:
    """Mean test accuracy with its 95 % CI, one panel per problem, one legend."""
    fig, axes = plt.subplots(1, len(frames), figsize=(min(4.6 * len(frames), plots.PAGE_WIDTH + 1), 4),
                             squeeze=False, sharey=True)
    for ax, (key, frame) in zip(axes[0], frames.items()):
        plots.curves_with_bands(frame, value="test_accuracy", ax=ax, log=False, legend=False)
        ax.set(ylabel="test accuracy" if ax is axes[0][0] else "", title=titles[key])
    plots.suptitle(fig, what, scale)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    plots.figure_legend(fig)
    return fig


def draw_classifier(ax, parameters, run: int, task, title: str):
    """Run ``run``'s predicted probability of class 1, with its training points; returns the map."""
    model = task.build([run])
    x, y = model.train_x[0].cpu(), model.train_y[0].cpu()
    axis1, axis2, probability = thermo.decision_map(parameters, run)
    mesh = ax.pcolormesh(axis1, axis2, probability, cmap=MAP_CMAP, vmin=0, vmax=1, shading="auto")
    ax.scatter(x[:, 0], x[:, 1], c=y.reshape(-1), cmap=POINT_CMAP, vmin=0, vmax=1, s=5, edgecolors="0.3",
               linewidths=0.3)
    ax.set(title=title, aspect="equal", xticks=[], yticks=[])
    return mesh


def classifier_grid(maps: list[list[tuple]], task, what: str, scale: str) -> plt.Figure:
    """Rows × columns of decision maps, ``maps[row][col] = (parameters, run, title)``, with one
    colourbar for P(class 1)."""
    nrows, ncols = len(maps), max(len(row) for row in maps)
    fig, axes = plt.subplots(nrows, ncols, figsize=(plots.PAGE_WIDTH, 3.3 * nrows + 0.6), squeeze=False)
    mesh = None
    for r, row in enumerate(maps):
        for c, (parameters, run, title) in enumerate(row):
            mesh = draw_classifier(axes[r][c], parameters, run, task, title)
    plots.suptitle(fig, f"{what}\npoints: the run's training data, black class 0, white class 1", scale)
    fig.tight_layout(rect=(0, 0, 0.88, 0.93))
    bar = fig.colorbar(mesh, cax=fig.add_axes((0.9, 0.12, 0.02, 0.7)))
    bar.set_label("predicted P(class 1)")
    return fig


def sweep_bars(rivals: pd.DataFrame, order: list, adlala: float, steps: int, runs: int, task_title: str,
               scale: str) -> plt.Figure:
    """Fig. 10: each rival setting's mean test accuracy (95 % CI) against AdLaLa's, a dotted line."""
    fig, ax = plt.subplots(figsize=(plots.PAGE_WIDTH, 4.2))
    colors = plots.method_colors(order)
    means = rivals.loc[order, "mean"]
    ax.bar(range(len(order)), means, color=[colors[m] for m in order],
           yerr=[means - rivals.loc[order, "lo"], rivals.loc[order, "hi"] - means], capsize=3)
    ax.axhline(adlala, color="black", linestyle=":", label=f"AdLaLa ({adlala:.1%})")
    ax.set_xticks(range(len(order)), order, rotation=25, ha="right")
    ax.set(ylabel="mean test accuracy", ylim=(0.4, 1.0))
    ax.set_title(plots.figure_title(f"After {steps:,} steps, {runs} runs each (Fig. 10)", task_title, scale))
    fig.tight_layout()
    plots.figure_legend(fig)
    return fig


def sensitivity_heatmap(sens: pd.DataFrame, steps: int, runs: int, adam: float, task_title: str,
                        scale: str) -> plt.Figure:
    """Fig. 15: AdLaLa's mean test accuracy over τ₁ × σ_A, with a colourbar."""
    heat = sens.pivot(index="tau1", columns="sigma_A", values="mean").sort_index(ascending=False)
    heat.index = [f"{v:g}" for v in heat.index]
    heat.columns = [f"{v:g}" for v in heat.columns]
    fig, ax = plt.subplots(figsize=(7, 4.8))
    sns.heatmap(heat, annot=True, fmt=".1%", cmap="viridis", ax=ax, cbar_kws={"label": "mean test accuracy"},
                linewidths=0.5)
    ax.set(xlabel="σ_A", ylabel="τ₁")
    ax.tick_params(axis="y", rotation=0)
    ax.set_title(plots.figure_title(f"AdLaLa after {steps:,} steps, {runs} runs per cell (Adam: {adam:.1%})",
                                    task_title, scale))
    fig.tight_layout()
    return fig


def aspects_table(problems: dict) -> pd.DataFrame:
    """AdLaLa against SGD and Adam on each problem: final accuracy, its spread, the steps each
    needs to reach the rival's final mean accuracy, and the three verdicts of the abstract."""
    rows = []
    for problem, (frame, adlala) in problems.items():
        final = thermo.final_accuracy(frame)
        for rival in ("SGD", "Adam"):
            if rival not in final.index:
                continue
            match = thermo.steps_to_match(frame, adlala, rival)
            rows.append({
                "problem": problem, "against": rival,
                "accuracy: AdLaLa": final.loc[adlala, "mean"], "accuracy: rival": final.loc[rival, "mean"],
                "std: AdLaLa": final.loc[adlala, "std"], "std: rival": final.loc[rival, "std"],
                "steps: AdLaLa": match["method_steps"], "steps: rival": match["rival_steps"],
                "faster": match["faster"],
                "more accurate": final.loc[adlala, "lo"] > final.loc[rival, "hi"],
                "more robust": final.loc[adlala, "std"] < final.loc[rival, "std"],
            })
    return pd.DataFrame(rows)


def param_groups_table(optimizer) -> pd.DataFrame:
    """An optimizer's parameter groups as a reader wants them: integrator, tensor shapes, settings."""
    rows = []
    for index, group in enumerate(optimizer.param_groups):
        rows.append({"group": index, "integrator": group["method"],
                     "tensors": ", ".join("×".join(map(str, p.shape)) for p in group["params"]),
                     "h": group["lr"], "τ": group["tau"],
                     "γ": group["gamma"] if group["method"] == "langevin" else None,
                     "σ_A": group["sigma_A"] if group["method"] == "adaptive" else None})
    return pd.DataFrame(rows)
