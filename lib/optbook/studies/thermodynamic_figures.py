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
    ax.set_xticks(range(len(order)), order, rotation=25, ha="right")
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
    colourbar for P(class 1). The panels are squares as wide as the page allows (the figure's
    height follows from the number of rows), so no space is wasted beside them."""
    nrows, ncols = len(maps), max(len(row) for row in maps)
    side = (plots.PAGE_WIDTH - 1.0) / ncols  # the colourbar and its label take about an inch
    lines = max(str(title).count("\n") + 1 for row in maps for _, _, title in row)
    fig, axes = plt.subplots(nrows, ncols, figsize=(plots.PAGE_WIDTH, nrows * (side + 0.3 * lines) + 1.1),
                             squeeze=False, sharex=True, sharey=True, layout="constrained")
    mesh = None
    for r, row in enumerate(maps):
        for c, (parameters, run, title) in enumerate(row):
            mesh = draw_classifier(axes[r][c], parameters, run, task, title)
        for ax in axes[r][len(row):]:
            ax.set_visible(False)
    plots.suptitle(fig, f"{what}\npoints: the run's training data, black class 0, white class 1", scale)
    bar = fig.colorbar(mesh, ax=axes, fraction=0.05, pad=0.02, shrink=min(1.0, 0.5 + 0.25 * nrows))
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


def aspects_tables(aspects: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The abstract's three words as three narrow tables for the page: the verdicts (and whether
    the rival sat at chance, when speed is "not judged": no common level); the accuracy and its spread over runs, each with its paired
    interval (points); the speed (median steps to the common level, with the sign-test interval
    of the paired median difference)."""
    def pct(v):
        return f"{100 * v:.1f}"

    def steps(v):
        return "never" if np.isinf(v) else "–" if np.isnan(v) else f"{v:,.0f}"

    def difference(v):
        return ("+∞" if v > 0 else "−∞") if np.isinf(v) else f"{v:+,.0f}"

    first = {"problem": aspects["problem"], "against": aspects["against"]}
    verdicts = pd.DataFrame({
        # "no common level" (the rival sat at chance): speed was not judged
        **first, "faster": aspects["faster"].replace({"no common level": "not judged"}),
        "more accurate": aspects["more accurate"],
        "more robust": aspects["more robust"],
        "rival at chance": aspects["rival at chance"].map({True: "yes", False: "no"}),
    })
    accuracy = pd.DataFrame({
        **first,
        "accuracy (%): AdLaLa vs rival": [f"{pct(a)} vs {pct(b)}" for a, b in zip(aspects["accuracy"],
                                                                                  aspects["rival accuracy"])],
        "difference [95 %]": [f"[{100 * lo:+.1f}, {100 * hi:+.1f}]" for lo, hi in zip(aspects["accuracy lo"],
                                                                                      aspects["accuracy hi"])],
        "std (%): AdLaLa vs rival": [f"{pct(a)} vs {pct(b)}" for a, b in zip(aspects["std"], aspects["rival std"])],
        "std difference [95 %]": [f"[{100 * lo:+.1f}, {100 * hi:+.1f}]" for lo, hi in zip(aspects["std lo"],
                                                                                          aspects["std hi"])],
    })
    speed = pd.DataFrame({
        **first, "level": ["–" if np.isnan(v) else f"{pct(v)} %" for v in aspects["level"]],
        "median steps: AdLaLa vs rival": [f"{steps(a)} vs {steps(b)}" for a, b in zip(aspects["steps"],
                                                                                      aspects["rival steps"])],
        "median difference [95 %]": ["–" if np.isnan(lo) else f"[{difference(lo)}, {difference(hi)}]"
                                     for lo, hi in zip(aspects["steps lo"], aspects["steps hi"])],
    })
    return verdicts, accuracy, speed


def temperature_figure(temperatures: pd.DataFrame, xi: pd.DataFrame, xi_predicted: dict, what: tuple[str, str],
                       scale: str) -> plt.Figure:
    """Left: each layer's measured kinetic temperature against the set τ (BAOAB), with τ itself
    and τ plus the predicted heat of the minibatch noise. Right: AdLaLa's ξ over training (mean
    over runs, 5-95 % band) with the friction the thermostat needs without and with that noise.

    ``temperatures``: rows per τ and layer with ``tau``, ``layer``, ``measured`` (mean over runs),
    ``measured lo``/``hi`` (min, max over runs) and ``predicted``. ``xi``: the probes frame (step,
    ``ξ W1``, ``ξ b1``); ``xi_predicted``: {label: value} horizontal lines.
    """
    fig, axes = plt.subplots(1, 2, figsize=(plots.PAGE_WIDTH + 1, 4.2))
    ax = axes[0]
    taus = np.sort(temperatures["tau"].unique())
    ax.plot(taus, taus, color="black", linestyle=":", lw=1.4, label="kinetic temperature = τ")
    layer_colors = dict(zip(temperatures["layer"].unique(), ("#0072B2", "#D55E00")))
    for layer, rows in temperatures.groupby("layer", sort=False):
        rows = rows.sort_values("tau")
        color = layer_colors[layer]
        ax.errorbar(rows["tau"], rows["measured"], yerr=[rows["measured"] - rows["measured lo"],
                                                         rows["measured hi"] - rows["measured"]],
                    fmt="o", color=color, capsize=3, label=f"{layer}: measured (runs' range)")
        ax.plot(rows["tau"], rows["predicted"], color=color, lw=1.4, linestyle="--",
                label=f"{layer}: τ + minibatch heat (predicted)")
    ax.set(xscale="log", yscale="log", xlabel="temperature τ set in BAOAB", ylabel="kinetic temperature pᵀp / N",
           title=what[0])
    plots.plain_log_ticks(ax)
    ax = axes[1]
    palette = dict(zip(["ξ W1", "ξ b1"], ("#332288", "#117733")))
    for name, color in palette.items():
        if name not in xi:
            continue
        grouped = xi.groupby("step")[name]
        ax.plot(grouped.mean().index, grouped.mean(), color=color, lw=1.8, label=f"{name}: mean over runs")
        ax.fill_between(grouped.mean().index, grouped.quantile(0.05), grouped.quantile(0.95), color=color, alpha=0.2)
    line_colors = ["black", *palette.values()]  # no noise; then each tensor's own prediction in its colour
    for (label, value), style, color in zip(xi_predicted.items(), (":", "--", "-."), line_colors):
        ax.axhline(value, color=color, linestyle=style, lw=1.3, label=label)
    ax.set(xlabel="step", ylabel="thermostat friction ξ", title=what[1])
    plots.suptitle(fig, "Where the heat comes from: kinetic temperature and the thermostat", scale)
    fig.tight_layout(rect=(0, 0, 1, 0.92))
    plots.figure_legend(fig, ncol=2)
    return fig


def param_groups_table(optimizer) -> pd.DataFrame:
    """An optimizer's parameter groups as a reader wants them: which part of the network, its
    integrator, tensor shapes, settings. Two groups are a partition's first layer and the rest."""
    groups = optimizer.param_groups
    parts = ("first layer", "the other layers") if len(groups) == 2 else [f"group {i + 1}" for i in range(len(groups))]
    rows = []
    for part, group in zip(parts, groups):
        rows.append({"part": part, "integrator": group["method"],
                     "tensors": ", ".join("×".join(map(str, p.shape)) for p in group["params"]),
                     "h": group["lr"], "τ": group["tau"],
                     "γ": group["gamma"] if group["method"] == "langevin" else None,
                     "σ_A": group["sigma_A"] if group["method"] == "adaptive" else None})
    return pd.DataFrame(rows)


def run_title(frame: pd.DataFrame, method: str, seed: int, step: int) -> str:
    """``"Adam, step 10,000\ntest 71%"``: a classifier map's title on two lines (three maps fit
    side by side), with its run's test accuracy where that step was evaluated."""
    accuracy = frame[(frame["method"] == method) & (frame["seed"] == seed) & (frame["step"] == step)]["test_accuracy"]
    return f"{method}, step {step:,}" + (f"\ntest {accuracy.item():.0%}" if len(accuracy) else "")


def temperature_title(frame: pd.DataFrame, setting, seed: int, step: int) -> str:
    """``"τ = 1e-05: test 71.3%"``: the title of one temperature's classifier map."""
    final = frame[(frame["method"] == setting.label) & (frame["seed"] == seed) & (frame["step"] == step)]
    return f"τ = {setting.hyper['tau']:g}: test {final['test_accuracy'].item():.1%}"


def _points(difference: float, lo: float, hi: float) -> str:
    """A paired difference of accuracies and its interval in points: "+1.2 [+0.1, +2.3]"; an
    interval too few runs cannot give (the sign test below six) is "–"."""
    interval = "–" if np.isnan(lo) or np.isnan(hi) else f"[{100 * lo:+.1f}, {100 * hi:+.1f}]"
    return f"{100 * difference:+.1f} {interval}"


def trig_tables(trig_judged: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each partitioned scheme against each rival at each a, as two tables narrow enough for the
    page: the mean accuracies (points) and the verdict, then the paired mean and median
    differences with their 95 % intervals (points) that the verdict rests on."""
    verdicts, intervals = [], []
    for (scheme, a), results in trig_judged.items():
        for r in results:
            first = {"scheme": scheme, "a": a, "against": r.b}
            verdicts.append({**first, "accuracy (%)": f"{100 * r.mean_a:.1f} vs {100 * r.mean_b:.1f}",
                             "verdict": r.verdict})
            intervals.append({**first,
                              "mean paired difference [95 %]": _points(r.mean_difference, r.mean_lo, r.mean_hi),
                              "median paired difference [95 %]": _points(r.median_difference, r.median_lo,
                                                                         r.median_hi)})
    return pd.DataFrame(verdicts), pd.DataFrame(intervals)


def fig8_table(two_final: pd.DataFrame, versus_paper: pd.DataFrame, sgld_readings: pd.DataFrame) -> pd.DataFrame:
    """Fig. 8's means against ours in percent, the per-step SGLD reading as one more row, in the
    book's order: the difference with the ± of its 95 % interval, whether the paper's mean lies
    beyond it, our spread over runs and the number of runs."""
    table = pd.concat([versus_paper, sgld_readings.drop(index="SGLD")])
    table = table.assign(std=two_final["std"], runs=two_final["n"]).loc[plots.ordered(table.index)]
    return pd.DataFrame({
        "method": table.index, "paper (%)": [f"{100 * v:.1f}" for v in table["paper"]],
        "ours (%)": [f"{100 * v:.1f}" for v in table["ours"]],
        "ours − paper (± 95 %)": [f"{100 * d:+.1f} ± {100 * h:.1f}" for d, h in zip(table["difference"],
                                                                                      table["half-width"])],
        "beyond ±": table["beyond"].map({True: "yes", False: "no"}).to_numpy(),
        "std over runs (%)": [f"{100 * v:.1f}" for v in table["std"]], "runs": table["runs"].astype(int).to_numpy(),
    })


def speedup_table(speedups: pd.DataFrame) -> pd.DataFrame:
    """The batched ensemble against a loop of single runs, as the page shows it."""
    return speedups[["problem", "optimizer", "batched_s", "loop_s_extrapolated", "speedup", "max_final_loss_diff"]].rename(
        columns={"batched_s": "ensemble (s)", "loop_s_extrapolated": "loop (s, extrapolated)", "speedup": "speed-up",
                 "max_final_loss_diff": "largest final-loss difference"})


def temperature_columns(temperatures: pd.DataFrame) -> pd.DataFrame:
    """The kinetic temperatures per τ and layer against τ plus the predicted noise heat
    h²σ_g²/(1 − e^(−2γh)) (the caption says so; the headings stay short)."""
    return temperatures[["tau", "layer", "measured", "sigma_g2", "noise heat", "predicted"]].rename(columns={
        "tau": "τ", "measured": "pᵀp/N measured", "sigma_g2": "σ_g²", "predicted": "τ + noise heat"})


def initialisation_table(finals: pd.DataFrame) -> pd.DataFrame:
    """Final test accuracy by initialisation, one column per initialisation (rows: problem and
    method): the mean over runs ± the half-width of its 95 % interval, in percent. ``finals`` is
    :func:`optbook.studies.thermodynamic.final_accuracy` indexed by (problem, initial weights, method)."""
    cells = finals.apply(lambda r: f"{100 * r['mean']:.1f} ± {50 * (r['hi'] - r['lo']):.1f}", axis=1)
    table = cells.unstack("initial weights")
    order = list(dict.fromkeys(finals.index.get_level_values("initial weights")))
    return table[order].reset_index()
