# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Hypergradient descent: the learning rate learns itself
#
# Every optimizer of chapter 0 needed its learning rate tuned on a grid. Baydin et al.
# {cite}`baydin2018online` ask whether the learning rate can instead be learned *during* training,
# by gradient descent on the learning rate itself, at the cost of one dot product per step. A
# follow-up {cite}`mittal2019hypergradientvariants` replaces that gradient step by Nesterov
# momentum or Adam on the learning rate. This chapter derives the rule, implements it as
# `torch.optim` optimizers, and tests the papers' claims.

# %% tags=["remove-cell"]
# In Colab, install the library first; anywhere else this cell does nothing. `optbook build`
# rewrites this cell in the executed notebook from `repository.url` in _config.yml, pinned to the
# commit that built the page; run from this source, it installs what OPTBOOK_INSTALL_SOURCE names.
import importlib.util
import os
import subprocess
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("optbook") is None and "OPTBOOK_INSTALL_SOURCE" in os.environ:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", os.environ["OPTBOOK_INSTALL_SOURCE"]], check=True)

# %% tags=["parameters"]
scale = "cpu"  # "smoke" | "cpu" | "paper"
device = "auto"  # a torch device, or "auto" (CUDA when present)
seed = 0  # global seed; every run also draws from its own seed
dataset = "auto"  # "auto" | "mnist" | "mnist-5k"

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

import optbook
from optbook import claims, plots, report, scales
from optbook.data import DatasetUnavailable, load_cifar10
from optbook.studies import hypergradient as hd
from optbook.tasks import MNISTMLPTask

session = optbook.setup(scale=scale, device=device, seed=seed)
config = scales.chapter_config("03", scale)
pd.Series(dict(config), name=f"chapter 3 at scale={scale}").to_frame()

# %% [markdown]
# ## The hypergradient
#
# Plain SGD moves $\theta_t = \theta_{t-1} - \alpha\, \nabla f(\theta_{t-1})$. The loss at the
# next point depends on $\alpha$ through $\theta_t$, so by the chain rule
#
# $$ \frac{\partial f(\theta_t)}{\partial \alpha} = \nabla f(\theta_t) \cdot \frac{\partial \theta_t}{\partial \alpha}
#    = -\,\nabla f(\theta_t) \cdot \nabla f(\theta_{t-1}). $$
#
# This *hypergradient* costs nothing new: both gradients are already computed, one is kept from
# the previous step. Descending on it with a hypergradient learning rate $\beta$ gives SGD-HD
# (Algorithm 4 of the paper):
#
# $$ \alpha_t = \alpha_{t-1} + \beta\, \nabla f(\theta_{t-1}) \cdot \nabla f(\theta_{t-2}), \qquad
#    \theta_t = \theta_{t-1} - \alpha_t \nabla f(\theta_{t-1}). $$
#
# When consecutive gradients agree, $\alpha$ grows; when they point against each other (an
# overshoot), it shrinks. For any update $\theta_t = \theta_{t-1} + u_t$ the same argument gives
# $h_t = \nabla f(\theta_{t-1}) \cdot \partial u_{t-1}/\partial\alpha$: for Nesterov momentum the
# previous *step direction* replaces the previous gradient (SGDN-HD), for Adam the previous
# direction $\hat m/(\sqrt{\hat v} + \epsilon)$ (Adam-HD). The paper also gives a multiplicative
# rule (Eq. 8, "HDM"),
# $\alpha_t = \alpha_{t-1}\,\big(1 - \beta' h_t / (\lVert g_t\rVert\,\lVert \partial u_{t-1}/\partial\alpha\rVert)\big)$,
# and a transition to a fixed rate, $\gamma_t = \delta(t)\alpha_t + (1 - \delta(t))\alpha_\infty$,
# for which it proves convergence; both are in `optbook.optim.SGDHD`.
#
# The variants {cite}`mittal2019hypergradientvariants` keep $h_t$ but change how $\alpha$ steps on
# it: Nesterov momentum ("SGDNlop": $b \leftarrow \mu b + h_t$, $\alpha \leftarrow \alpha - \beta(h_t + \mu b)$)
# or Adam ("Adamlop"). Their names read {model optimizer}op-{learning-rate optimizer}lop.
#
# In `optbook` these are `SGDHD(params, lr, hypergrad_lr, momentum, nesterov, lr_optimizer=...)`
# and `AdamHD(...)`; $\alpha$ is readable after every step as `optimizer.param_groups[0]["lr"]`.

# %%
from optbook.optim import SGDHD
import torch

# The first three steps on f(θ) = ½‖θ‖², by hand: g1 = θ0, no hypergradient yet; then α grows by β g_t·g_{t−1}.
theta = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
opt = SGDHD([theta], lr=0.1, hypergrad_lr=0.01)
for t in range(1, 4):
    opt.zero_grad()
    (0.5 * theta.pow(2).sum()).backward()
    opt.step()
    print(f"step {t}: alpha = {opt.param_groups[0]['lr']:.6f}, theta = {theta.data.tolist()}")
# by hand: alpha_2 = 0.1 + 0.01 * (0.9 θ0)·θ0 = 0.1 + 0.01 * 0.9 * 5 = 0.145

# %% [markdown]
# ## Tasks and protocol
#
# As in the paper: multinomial logistic regression (784-10) and an MLP 784-1000-1000-10 (ReLU)
# on MNIST, cross-entropy, minibatches of 128 in shuffled epochs, pixels standardised, L2
# penalty $10^{-4}$ added to the gradient, every method from $\alpha_0 = 0.001$, $\beta = 0.001$ for
# SGD-HD and SGDN-HD, $\beta = 10^{-7}$ for Adam-HD, $\mu = 0.9$, Adam's $(0.9, 0.999, 10^{-8})$. The
# validation loss is the loss on the test split after every epoch. The paper's VGG-16 on
# CIFAR-10 needs CIFAR-10 on disk and a GPU; the cell below says whether it ran.
#
# Two departures, both forced by the machine: at `scale="cpu"` the MNIST problems use the data set
# the data policy resolves (named in every figure) and fewer epochs (see the config above); and
# the paper's Adam baseline on logistic regression decays $\alpha/\sqrt{t}$, which the official
# PyTorch code, whose logged values we compare with, does not: we follow the code.

# %%
logreg = MNISTMLPTask(hidden=(), sampling="epochs", standardize=True, dataset=dataset)
mlp = MNISTMLPTask(hidden=tuple(config["mlp_hidden"]), activation="relu", sampling="epochs",
                   standardize=True, dataset=dataset)
data_name = logreg.data().name
report.glue("hd_data", data_name)
try:  # downloaded where a network exists, at the scale that trains VGG-16 on it
    load_cifar10(download=None if config["vgg_epochs"] > 0 else False)
    cifar_note = "CIFAR-10 is on disk, but VGG-16 for 100-200 epochs needs a GPU: not run at this scale."
except DatasetUnavailable:
    cifar_note = ("CIFAR-10 is not on this machine and could not be downloaded: the VGG experiment was not run."
                  if config["vgg_epochs"] > 0 else
                  "CIFAR-10 is not on this machine (scale='paper' downloads it): the VGG experiment was not run.")
print(f"MNIST problems use {data_name}; {logreg.steps_per_epoch} steps per epoch.\n{cifar_note}")

# %%
curves = {
    "LogReg": hd.training_curves(logreg, hd.PAPER_METHODS + tuple(hd.VARIANT_PAIRS) + ("Adam-HD (code order)",),
                                 config["logreg_epochs"], range(config["logreg_seeds"]), device=session.device),
    "MLP": hd.training_curves(mlp, hd.PAPER_METHODS + tuple(hd.VARIANT_PAIRS) + ("Adam-HD (code order)",),
                              config["mlp_epochs"], range(config["mlp_seeds"]), device=session.device),
}
epochs = {name: hd.per_epoch(frame, (logreg if name == "LogReg" else mlp).steps_per_epoch)
          for name, frame in curves.items()}

# %% [markdown]
# ## Claim 1: HD beats its baseline from the same $\alpha_0$ (the paper's Fig. 3)
#
# Dashed lines are the baselines, solid lines their HD versions; top row the learning rate (epoch
# mean), then the training loss (mean minibatch loss of the epoch) and the validation loss.

# %%
styles = {m: "--" for m in ("SGD", "SGDN", "Adam")}


def figure3(tables: dict, titles: dict, data: str):
    """The paper's Fig. 3 layout: α, training loss, validation loss per epoch, one column per task."""
    fig, axes = plt.subplots(3, len(tables), figsize=(5.5 * len(tables), 10), sharex="col", squeeze=False)
    for col, (name, table) in enumerate(tables.items()):
        shown = table[table["method"].isin(hd.PAPER_METHODS)]
        for row, (value, label) in enumerate([("alpha", "α (epoch mean)"), ("train_loss", "training loss"),
                                              ("valid_loss", "validation loss")]):
            ax = axes[row, col]
            data_rows = shown[shown[value].notna() | shown["diverged"]].assign(step=lambda f: f["epoch"], loss=np.nan)
            # α may turn negative ("unlearning", as the paper notes), so its axis is linear.
            plots.curves_with_bands(data_rows.rename(columns={value: "value"}), value="value", x="step", ax=ax,
                                    log=row > 0, styles=styles)
            ax.set(ylabel=label, xlabel="epoch" if row == 2 else "")
            if row == 0:
                ax.set_title(titles[name], fontsize=10)
    plots.suptitle(fig, "Baselines (dashed) and their HD versions (solid) from α₀ = 0.001", scale, data=data)
    fig.tight_layout(rect=(0, 0, 1, 0.96))


figure3(epochs, {"LogReg": logreg.title, "MLP": mlp.title}, data_name)


# %%
final_epoch = hd.final_epoch

summary = pd.concat({name: final_epoch(table) for name, table in epochs.items()}, names=["task"])
report.show(summary.reset_index(), caption="Last epoch: training and validation loss, α (last-epoch mean; peak over the run)",
            precision=4)

# %% [markdown]
# The official code's logged values (full MNIST, α₀ = 0.001; logistic regression after 10 epochs,
# the MLP after 100) are the reference: training loss / validation loss / max α.

# %%
CODE_REFERENCE = {  # specs/hypergradient-and-thermodynamic.md 1.8, from gbaydin/hypergradient-descent results/*.csv
    "LogReg": {"SGD": (0.396, 0.374, None), "SGD-HD": (0.293, 0.288, 0.047), "SGDN": (0.289, 0.285, None),
               "SGDN-HD": (0.261, 0.272, 0.049), "Adam": (0.259, 0.272, None), "Adam-HD": (0.258, 0.272, 0.001161)},
    "MLP": {"SGD": (0.145, 0.149, None), "SGD-HD": (0.081, 0.097, 0.0495), "SGDN": (0.0065, 0.061, None),
            "SGDN-HD": (0.0070, 0.060, 0.052), "Adam": (0.0068, 0.063, None)},
}
reference_epoch = {"LogReg": 10, "MLP": 100}
rows = []
for name, table in epochs.items():
    epoch = min(reference_epoch[name], int(table["epoch"].max()))
    ours = final_epoch(table, epoch)
    for method, (train, valid, alpha_max) in CODE_REFERENCE[name].items():
        rows.append({"task": name, "method": method, "epoch (ours)": epoch, "train (code)": train,
                     "train (ours)": ours.loc[method, "train_loss"], "valid (code)": valid,
                     "valid (ours)": ours.loc[method, "valid_loss"], "max α (code)": alpha_max,
                     "max α (ours)": ours.loc[method, "peak_alpha"] if alpha_max else np.nan})
comparison = pd.DataFrame(rows)
report.show(comparison, caption="Ours against the official code's logged values", precision=4)

# %%
for name, table in epochs.items():
    last = final_epoch(table)
    wins = {hd_m: bool(last.loc[hd_m, "train_loss"] < last.loc[base, "train_loss"]) for hd_m, base in hd.BASELINE_OF.items()}
    valid_wins = {hd_m: bool(last.loc[hd_m, "valid_loss"] < last.loc[base, "valid_loss"]) for hd_m, base in hd.BASELINE_OF.items()}
    n = sum(wins.values())
    claims.record(
        "03", f"hd-beats-baseline-{name.lower()}",
        f"{name}: from α₀ = 0.001 each HD optimizer ends with lower training loss than its baseline (Fig. 3)",
        "HD lower for SGD, SGDN, Adam (code logs: " + ", ".join(
            f"{m} {v[0]:.4g}" for m, v in CODE_REFERENCE[name].items()) + ")",
        ", ".join(f"{m} {last.loc[m, 'train_loss']:.4g}" for m in hd.PAPER_METHODS)
        + f"; validation lower for {sum(valid_wins.values())}/3",
        claims.verdict_from_fraction(n / 3),
        source="Baydin et al. 2018 Fig. 3; gbaydin/hypergradient-descent results",
        notes=f"{data_name}, {int(table['epoch'].max())} epochs, mean of {table['seed'].nunique()} seed(s).",
        scale=scale,
    )

alpha_peaks = summary["peak_alpha"].unstack(0)
claims.record(
    "03", "hd-alpha-trajectory",
    "α of SGD-HD and SGDN-HD rises from 0.001 to about 0.05; Adam-HD's peaks barely above 0.001 (about 0.00116 on LogReg)",
    "SGD-HD 0.047, SGDN-HD 0.049, Adam-HD 0.001161 (LogReg); SGD-HD 0.0495, SGDN-HD 0.052 (MLP)",
    "; ".join(f"{task}: " + ", ".join(f"{m} {alpha_peaks.loc[m, task]:.4g}" for m in ("SGD-HD", "SGDN-HD", "Adam-HD"))
              for task in alpha_peaks.columns),
    "reproduced" if all(0.01 < alpha_peaks.loc[m, t] < 0.2 for m in ("SGD-HD", "SGDN-HD") for t in alpha_peaks.columns)
    and all(alpha_peaks.loc["Adam-HD", t] < 0.002 for t in alpha_peaks.columns) else "not reproduced",
    source="Baydin et al. 2018 Fig. 3 and poster; code logs",
    notes="Verdict: SGD-HD/SGDN-HD peaks within 0.01-0.2 and Adam-HD below 0.002 on both tasks.",
    scale=scale,
)

# %% [markdown]
# ## Claim 2: HD is at least as fast from almost any $(\alpha_0, \beta)$ (the paper's Fig. 4)
#
# Iterations until the minibatch training loss of logistic regression first reaches the
# threshold, over a grid of $\alpha_0$ and $\beta$ (the whole grid of one method is one batched
# ensemble with one $(\alpha_0, \beta)$ per run, all from the same initial model). The baselines have
# no $\beta$ and appear as the top row of each panel. Grey cells never reached the threshold
# within the cap.

# %%
grid = hd.iterations_to_threshold(logreg, hd.PAPER_METHODS, config["grid_alphas"], config["grid_betas"],
                                  threshold=config["threshold"], cap=config["grid_cap"], seed=0,
                                  device=session.device)
fig, axes = plt.subplots(1, 3, figsize=(14, 4.3))
for ax, (method, base) in zip(axes, hd.BASELINE_OF.items()):
    hd_cells = grid[grid["method"] == method].pivot(index="beta", columns="alpha0", values="iterations")
    base_row = grid[grid["method"] == base].set_index("alpha0")["iterations"].rename("baseline").to_frame().T
    table = pd.concat([base_row, hd_cells.sort_index(ascending=False)])
    table.index = [f"{base}" if i == "baseline" else f"β={i:g}" for i in table.index]
    table.columns = [f"{c:g}" for c in table.columns]
    masked = table.where(table < config["grid_cap"])
    sns.heatmap(np.log10(masked.astype(float)), annot=table.astype(int), fmt="d", cmap="viridis_r", cbar=False,
                ax=ax, annot_kws={"fontsize": 7}, linewidths=0.5, mask=masked.isna())
    ax.set_facecolor("0.85")
    ax.set(title=method, xlabel="α₀", ylabel="")
plots.suptitle(fig, f"Iterations to reach training loss {config['threshold']} (cap {config['grid_cap']}), "
               "logistic regression", scale, data=data_name)
fig.tight_layout(rect=(0, 0, 1, 0.93))

# %%
verdicts = []
for method, base in hd.BASELINE_OF.items():
    baseline = grid[grid["method"] == base].set_index("alpha0")["iterations"]
    cells = grid[grid["method"] == method].assign(baseline=lambda f: f["alpha0"].map(baseline))
    moderate = cells[cells["beta"] <= 1e-3]  # the paper's exception: very large β
    verdicts.append({"method": method, "cells": len(cells),
                     "HD no slower (all β)": int((cells["iterations"] <= cells["baseline"]).sum()),
                     "HD no slower (β ≤ 1e-3)": int((moderate["iterations"] <= moderate["baseline"]).sum()),
                     "of (β ≤ 1e-3)": len(moderate)})
grid_verdict = pd.DataFrame(verdicts)
report.show(grid_verdict, caption="Grid cells where HD needs no more iterations than its baseline at the same α₀")
fraction = grid_verdict["HD no slower (β ≤ 1e-3)"].sum() / max(grid_verdict["of (β ≤ 1e-3)"].sum(), 1)
claims.record(
    "03", "hd-grid-robust",
    "Over α₀ × β, HD reaches the loss threshold no later than its baseline except at very large β or α₀ (Fig. 4)",
    "e.g. at α₀=1e-3: SGD 2657 vs SGD-HD 1452…153 iterations; Adam 2215 vs Adam-HD 76…30 (β ≤ 1e-3)",
    f"{fraction:.0%} of cells with β ≤ 1e-3 no slower; all β: "
    + ", ".join(f"{r['method']} {r['HD no slower (all β)']}/{r['cells']}" for _, r in grid_verdict.iterrows()),
    "reproduced" if fraction >= 0.9 else "partly reproduced" if fraction >= 0.5 else "not reproduced",
    source="Baydin et al. 2018 Fig. 4",
    notes=f"Threshold {config['threshold']} on {data_name}, cap {config['grid_cap']} iterations (paper: 468,750).",
    scale=scale,
)

# %% [markdown]
# ## Claim 3: HD pulls an untuned $\alpha_0$ toward a good trajectory (the paper's Fig. 2)
#
# Logistic regression from $\alpha_0 = 10^{-1} \dots 10^{-6}$ with $\beta = 10^{-4}$, SGD and Adam
# with and without HD, and with the multiplicative rule HDM ($\beta' = 0.02$, the paper's footnote). If HD works as claimed, the final losses of the HD runs depend much less on
# $\alpha_0$. (The paper also runs the MLP; at `scale="cpu"` that is 24 MLPs of 1.8 M parameters,
# beyond this chapter's budget, so only the paper scale runs it.)

# %%
sweep = hd.alpha0_sweep(logreg, ("SGD", "SGD-HD", "SGD-HDM", "Adam", "Adam-HD", "Adam-HDM"),
                        config["sweep_alphas"], config["sweep_epochs"],
                        hypergrad_lr=config["sweep_beta"], device=session.device)
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
last = sweep[sweep["step"] == sweep["step"].max()]
colors = plots.method_colors(list(last["method"].unique()))
for method in plots.ordered(last["method"]):
    rows = last[last["method"] == method]
    axes[0].plot(rows["alpha0"], rows["train_loss"], marker="o", color=colors[method],
                 linestyle="--" if method in styles else ":" if method.endswith("HDM") else "-", label=method)
axes[0].set(xscale="log", yscale="log", xlabel="α₀", ylabel="final training loss (full data)",
            title=f"after {config['sweep_epochs']} epochs")
axes[0].legend(fontsize=8)
for ax, method in zip(axes[1:], ("SGD-HD", "Adam-HD")):
    rows = sweep[(sweep["method"] == method) & sweep["lr"].notna()]
    for alpha0, run in rows.groupby("alpha0"):
        ax.plot(run["step"], run["lr"].abs(), label=f"α₀={alpha0:g}", lw=1)
    ax.set(yscale="log", xlabel="iteration", ylabel="|α|", title=f"{method}: α over training")
    ax.legend(fontsize=7)
plots.suptitle(fig, f"Sensitivity to α₀, logistic regression, β = {config['sweep_beta']:g}", scale, data=data_name)
fig.tight_layout(rect=(0, 0, 1, 0.92))

# %%
spread = hd.spread_of_final_loss(sweep)
report.show(spread.rename("std over α₀ of log10 final loss").reset_index(), caption="Spread of the final loss over α₀")
# "Less sensitive" needs a margin: a spread within 20 % of the baseline's is a tie, not a win.
narrower = {m: bool(spread[m] < 0.8 * spread[hd.BASELINE_OF[m]]) for m in ("SGD-HD", "Adam-HD")}
claims.record(
    "03", "hd-alpha0-sensitivity",
    "From untuned α₀ (1e-1 … 1e-6), HD moves the loss trajectory toward that of a good α₀ (Fig. 2)",
    "qualitative (Fig. 2)",
    ", ".join(f"{m} {spread[m]:.2f} vs {hd.BASELINE_OF[m]} {spread[hd.BASELINE_OF[m]]:.2f}" for m in narrower)
    + " (std over α₀ of log10 final loss)",
    claims.verdict_from_fraction(sum(narrower.values()) / len(narrower)),
    source="Baydin et al. 2018 Fig. 2",
    notes=f"LogReg only at this scale; {config['sweep_epochs']} epochs, {data_name}. HDM: "
    + ", ".join(f"{m} {spread[m]:.2f}" for m in ("SGD-HDM", "Adam-HDM")) + ".",
    scale=scale,
)

# %% [markdown]
# ## Claim 4: the variants generalise better, converge faster and are less sensitive to $\alpha_0$
#
# The variants' report claims all three against the HD baselines, without numbers. We compare each
# variant with its HD baseline on both tasks from $\alpha_0 = 0.001$ (final validation loss: better
# generalisation; final training loss: faster convergence) and, on logistic regression, over the
# $\alpha_0$ values of the variants' own sensitivity runs.

# %%
fig, axes = plt.subplots(2, 3, figsize=(14, 7), sharex="row")
for row, (name, table) in enumerate(epochs.items()):
    for ax, (variant, baseline) in zip(axes[row], hd.VARIANT_PAIRS.items()):
        shown = table[table["method"].isin([variant, baseline])]
        shown = shown[shown["valid_loss"].notna() | shown["diverged"]]
        data = shown.assign(step=shown["epoch"], loss=np.nan)
        plots.curves_with_bands(data.rename(columns={"valid_loss": "value"}), value="value", x="step", ax=ax,
                                styles={baseline: "--"})
        ax.set(title=f"{name}: {variant} vs {baseline}", xlabel="epoch", ylabel="validation loss")
plots.suptitle(fig, "Variants (solid) against their HD baselines (dashed), from α₀ = 0.001", scale, data=data_name)
fig.tight_layout(rect=(0, 0, 1, 0.95))

# %%
variant_sweep = hd.alpha0_sweep(logreg, tuple(hd.VARIANT_PAIRS) + tuple(hd.VARIANT_PAIRS.values()),
                                config["variant_alphas"], config["variant_epochs"], device=session.device)
variant_spread = hd.spread_of_final_loss(variant_sweep)
rows = []
for variant, baseline in hd.VARIANT_PAIRS.items():
    for name, table in epochs.items():
        last_epoch = final_epoch(table)
        rows.append({"pair": f"{variant} vs {baseline}", "task": name,
                     "variant diverged": bool(last_epoch.loc[variant, "diverged"]),
                     "valid loss: variant": last_epoch.loc[variant, "valid_loss"],
                     "valid loss: HD": last_epoch.loc[baseline, "valid_loss"],
                     "train loss: variant": last_epoch.loc[variant, "train_loss"],
                     "train loss: HD": last_epoch.loc[baseline, "train_loss"],
                     "α₀ spread: variant": variant_spread[variant] if name == "LogReg" else np.nan,
                     "α₀ spread: HD": variant_spread[baseline] if name == "LogReg" else np.nan})
variants_table = pd.DataFrame(rows)
report.show(variants_table, caption="Variants against their HD baselines (last epoch; spread over α₀ on LogReg)", precision=4)

# %%
for claim_id, column, text in [
    ("variants-generalise", "valid loss", "lower validation loss (better generalisation)"),
    ("variants-converge", "train loss", "lower training loss at the end (faster convergence)"),
]:
    better = variants_table[f"{column}: variant"] < variants_table[f"{column}: HD"]  # a diverged variant is not better
    claims.record(
        "03", claim_id, f"The variants reach {text} than their HD baselines",
        "claimed without numbers (report, README)",
        f"{int(better.sum())}/{len(better)} pairs × tasks: "
        + "; ".join(f"{r['pair']} ({r['task']}) "
                    + ("diverged" if r["variant diverged"] else f"{r[column + ': variant']:.4g}")
                    + f" vs {r[column + ': HD']:.4g}" for _, r in variants_table.iterrows()),
        claims.verdict_from_fraction(better.mean()),
        source="harshalmittal4/Hypergradient_variants README and report", scale=scale,
        notes=f"{data_name}; LogReg {config['logreg_epochs']} and MLP {config['mlp_epochs']} epochs.",
    )
less_sensitive = {v: bool(variant_spread[v] < 0.8 * variant_spread[b]) for v, b in hd.VARIANT_PAIRS.items()}
claims.record(
    "03", "variants-less-sensitive", "The variants are less sensitive to α₀ than their HD baselines",
    "claimed without numbers (VGG runs over α₀ 0.01 … 0.0001)",
    ", ".join(f"{v} {variant_spread[v]:.3f} vs {b} {variant_spread[b]:.3f}" for v, b in hd.VARIANT_PAIRS.items())
    + " (std over α₀ of log10 final loss, LogReg)",
    claims.verdict_from_fraction(sum(less_sensitive.values()) / len(less_sensitive)),
    source="harshalmittal4/Hypergradient_variants", scale=scale,
    notes=f"Logistic regression instead of VGG; α₀ ∈ {list(config['variant_alphas'])}, {config['variant_epochs']} epochs.",
)

# %% [markdown]
# ## Does the official code's per-tensor ordering matter?
#
# The official Adam-HD moves $\alpha$ inside its loop over tensors, so each tensor steps with an
# $\alpha$ that already includes the hypergradient of the tensors before it; the paper sums the
# dot product over all parameters first. Both ran above from the same seeds:

# %%
order = pd.concat({name: final_epoch(table).loc[["Adam-HD", "Adam-HD (code order)"]] for name, table in epochs.items()},
                  names=["task"])
report.show(order.reset_index(), caption="Adam-HD: the paper's single update of α against the code's per-tensor updates", precision=6)


ordering = pd.DataFrame({name: hd.ordering_effect(curves[name], epochs[name]) for name in curves}).T
report.glue("order_alpha_gap", f"{ordering['max relative α gap'].max():.2g}")
logreg_row = ordering.loc["LogReg"]
report.glue("order_logreg_loss_gap", f"{logreg_row['final loss gap (mean over seeds)']:.2g}")
report.glue("order_logreg_seed_std", f"{logreg_row['seed-to-seed std of the final loss']:.2g}")
report.show(ordering.reset_index(names="task"), caption="The ordering's effect on α and on the final loss", precision=6)

# %% [markdown]
# With $\beta = 10^{-7}$, $\alpha$ moves by about $10^{-7}$ times a dot product per step either way:
# the two orderings keep $\alpha$ within a relative {glue:text}`order_alpha_gap` of each other over
# the whole run. On logistic regression the final training losses differ by
# {glue:text}`order_logreg_loss_gap`, against a spread of {glue:text}`order_logreg_seed_std` between
# seeds. On the MLP the final losses are around $10^{-3}$ and a single seed, where any perturbation
# of the trajectory, even rounding, changes the last digits; its relative gap in the table says
# nothing about the ordering. The ordering is an implementation detail at this $\beta$.
#
# ## VGG-16 on CIFAR-10
#
# The third column of the paper's Fig. 3: VGG-16 with batch norm (`optbook.tasks.CIFARVGGTask`),
# $\beta = 10^{-8}$ for Adam-HD, random crops and flips. It runs at `scale="paper"` where CIFAR-10
# is on disk; its code is tested on CIFAR-shaped random data.

# %%
vgg_runs = config["vgg_epochs"] > 0 and cifar_note.startswith("CIFAR-10 is on disk")
if vgg_runs:
    from optbook.tasks.vgg import CIFARVGGTask

    vgg = CIFARVGGTask()
    vgg_table = hd.per_epoch(
        hd.training_curves(vgg, hd.PAPER_METHODS, config["vgg_epochs"], [0], device=session.device, betas=hd.VGG_BETA),
        vgg.steps_per_epoch)
    figure3({"VGG": vgg_table}, {"VGG": vgg.title}, "CIFAR-10")
    vgg_last = final_epoch(vgg_table)
    vgg_ours = "; ".join(f"{m} train {vgg_last.loc[m, 'train_loss']:.3g} valid {vgg_last.loc[m, 'valid_loss']:.3g}"
                         for m in hd.PAPER_METHODS)
    vgg_wins = sum(vgg_last.loc[h, "valid_loss"] < vgg_last.loc[b, "valid_loss"] for h, b in (("SGD-HD", "SGD"), ("SGDN-HD", "SGDN")))
    vgg_wins += vgg_last.loc["Adam-HD", "train_loss"] < vgg_last.loc["Adam", "train_loss"]
    vgg_verdict = claims.verdict_from_fraction(vgg_wins / 3)
else:
    print(cifar_note if not cifar_note.startswith("CIFAR-10 is on disk") else
          f"VGG runs at scale='paper' only (here: scale={scale!r}).")
    vgg_ours, vgg_verdict = "not run", "not run"
claims.record(
    "03", "hd-vgg", "VGG-16/CIFAR-10: SGD-HD and SGDN-HD reach lower validation loss than SGD and SGDN; Adam-HD much lower training loss than Adam",
    "SGD .721→.510, SGDN .540→.442 (valid); Adam .137→.025 (train), code logs at 100 epochs", vgg_ours,
    vgg_verdict, source="Baydin et al. 2018 Fig. 3; code logs", notes=cifar_note, scale=scale,
)

# %% [markdown]
# ## What we found

# %%
lr_peaks = {f"{m}_{t}".replace("-", "_").lower(): f"{alpha_peaks.loc[m, t]:.4g}"
            for m in ("SGD-HD", "SGDN-HD", "Adam-HD") for t in alpha_peaks.columns}
for key, value in lr_peaks.items():
    report.glue(f"peak_{key}", value)
mlp_last = final_epoch(epochs["MLP"])
report.glue("mlp_adam_train", f"{mlp_last.loc['Adam', 'train_loss']:.2g}")
report.glue("mlp_adamhd_train", f"{mlp_last.loc['Adam-HD', 'train_loss']:.2g}")
report.glue("grid_fraction", f"{fraction:.0%}")
report.glue("spread_sgd", f"{spread['SGD']:.2f}")
report.glue("spread_sgdhd", f"{spread['SGD-HD']:.2f}")
report.glue("spread_adam", f"{spread['Adam']:.2f}")
report.glue("spread_adamhd", f"{spread['Adam-HD']:.2f}")
report.glue("spread_sgdhdm", f"{spread['SGD-HDM']:.2f}")
report.glue("spread_adamhdm", f"{spread['Adam-HDM']:.2f}")
diverged_variants = variants_table[variants_table["variant diverged"]]
report.glue("variants_diverged", ", ".join(f"{r['pair'].split(' vs ')[0]} on the {r['task']}"
                                           for _, r in diverged_variants.iterrows()) or "none")
report.glue("iterations_per_epoch", logreg.steps_per_epoch)
PAPER_ITERATIONS_PER_EPOCH = 468.75  # full MNIST, 60,000 / 128 (the paper, §4)
report.glue("epoch_ratio", f"{PAPER_ITERATIONS_PER_EPOCH / logreg.steps_per_epoch:.0f}")
diverged_peaks = [hd.peak_alpha_before_divergence(curves[r["task"]], r["pair"].split(" vs ")[0])
                  for _, r in diverged_variants.iterrows()]
report.glue("diverged_alpha_peak", f"{max(diverged_peaks):.2g}" if diverged_peaks else "–")

# %% [markdown]
# On {glue:text}`hd_data` at this scale (the ledger, {doc}`../claims`, has every number):
#
# - **The learning rate behaves as in the paper.** From $\alpha_0 = 0.001$, SGD-HD's $\alpha$ peaks at
#   {glue:text}`peak_sgd_hd_logreg` on logistic regression and {glue:text}`peak_sgd_hd_mlp` on the MLP,
#   SGDN-HD's at {glue:text}`peak_sgdn_hd_logreg` and {glue:text}`peak_sgdn_hd_mlp`; the official
#   code logged 0.047, 0.0495, 0.049 and 0.052. Adam-HD's $\alpha$ peaks at
#   {glue:text}`peak_adam_hd_logreg` and {glue:text}`peak_adam_hd_mlp` (logged: 0.001161, 0.001083).
#   The peaks come within the first few hundred iterations, which is why they match although our
#   epochs are short.
# - **HD beats a plain baseline started from the same small $\alpha_0$.** SGD-HD and SGDN-HD end far
#   below SGD and SGDN on both tasks; with $\beta = 10^{-7}$, Adam-HD is Adam to within noise (MLP
#   training loss {glue:text}`mlp_adamhd_train` against {glue:text}`mlp_adam_train`), so "HD
#   consistently outperforms" holds for the SGD family and is a tie for Adam.
# - **Robustness over $(\alpha_0, \beta)$.** In {glue:text}`grid_fraction` of the grid cells with
#   $\beta \le 10^{-3}$, HD reaches the loss threshold no later than its baseline; the exceptions are
#   the largest $\beta$ and $\alpha_0$, as the paper says. Over $\alpha_0 = 10^{-1} \dots 10^{-6}$ the
#   final loss of SGD-HD varies far less than SGD's (std of $\log_{10}$ loss
#   {glue:text}`spread_sgdhd` against {glue:text}`spread_sgd`); Adam-HD at $\beta = 10^{-4}$ varies as
#   much as Adam ({glue:text}`spread_adamhd` against {glue:text}`spread_adam`): $\beta$ is too small
#   to move Adam's $\alpha$ far within the run. The multiplicative rule, whose step is relative to
#   $\alpha$, gives spreads of {glue:text}`spread_sgdhdm` (SGD-HDM) and {glue:text}`spread_adamhdm`
#   (Adam-HDM).
# - **The variants' claims do not reproduce here.** Nesterov momentum or Adam on the learning rate
#   gave higher validation and training losses than plain HD in most pairs, were more sensitive to
#   $\alpha_0$ on logistic regression, and diverged in: {glue:text}`variants_diverged` (at the
#   variants' own $\beta = 10^{-3}$, momentum on $\alpha$ overshot within a few steps and $|\alpha|$ reached {glue:text}`diverged_alpha_peak` before the loss
#   became non-finite). The variants' report gives no numbers; its runs were single seeds on the full data.
#
# **What differs from the paper, and why.** The 5,000-image subset has {glue:text}`iterations_per_epoch`
# iterations per epoch instead of 469, so per epoch we take about {glue:text}`epoch_ratio` times fewer steps: baselines that
# are slow per iteration (SGD from $\alpha_0 = 0.001$) sit far above the code's per-epoch values, while
# quantities reached early (the $\alpha$ peaks) match. The MLP ran 20 epochs instead of 100, the
# logistic-regression seeds are averaged (the paper shows one run), and VGG-16 did not run.
