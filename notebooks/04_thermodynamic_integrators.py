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
# # Thermodynamic integrators: training by sampling at a temperature
#
# SGD and Adam drive a network's parameters toward a minimum of the loss. Leimkuhler, Matthews and
# Vlaar {cite}`leimkuhler2019partitioned` instead *sample* the parameters from a distribution
# concentrated on low loss, $\rho(\theta) \propto e^{-L(\theta)/\tau}$, by discretising stochastic
# differential equations from molecular dynamics. The temperature $\tau$ sets how far the
# parameters may wander from a minimum. Their new schemes partition the network by layer and give
# each layer its own dynamics: AdLaLa (adaptive Langevin on the first layer, Langevin on the rest)
# and LOL (Langevin on the first layer, overdamped Langevin on the rest). They claim these are
# faster, more accurate and more robust than SGD and Adam on problems with complicated loss
# landscapes, such as the classic interleaved spirals. This chapter writes the schemes out,
# implements them as one `torch.optim` optimizer, and tests the claims on many runs of each
# method ({glue:text}`run_counts`), judging every "A beats B" on paired runs.

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

# %% tags=["parameters", "remove-cell"]
scale = "cpu"  # "smoke" | "cpu" | "paper"
device = "auto"  # a torch device, or "auto" (CUDA when present)
seed = 0  # the book seed: run r of every experiment is seed s·10⁶ + r (0, 1, ... at seed 0)

# %%
import numpy as np
import pandas as pd
import torch

import optbook
from optbook import claims, plots, report, scales
from optbook.studies import thermodynamic as thermo
from optbook.studies import thermodynamic_figures as figures
from optbook.tasks import SpiralTask, trigonometric, two_spirals

session = optbook.setup(scale=scale, device=device, seed=seed)
config = scales.chapter_config("04", scale)
report.config_table(config, caption=f"Chapter 4 at scale={scale}")

# %% [markdown]
# ## Langevin dynamics and temperature
#
# Give every parameter $\theta$ a momentum $p$ of the same shape (unit mass). Langevin dynamics
# is Newton's motion in the potential $L$ (the mean minibatch loss) plus friction $\gamma$ and a
# random force whose strength is set by the temperature $\tau$:
#
# $$ d\theta = p\,dt, \qquad dp = -\nabla L(\theta)\,dt - \gamma p\,dt + \sqrt{2\gamma\tau}\,dW. $$
#
# Friction removes energy and the random force adds it back; in balance the dynamics samples
# $\rho(\theta, p) \propto \exp\!\big(-L(\theta)/\tau - \lVert p\rVert^2/(2\tau)\big)$. At $\tau = 0$
# it is heavy-ball gradient descent with friction; at $\tau > 0$ it explores the low-loss region
# instead of settling in the nearest minimum. The overdamped limit (large friction) is
# $d\theta = -\nabla L\,dt + \sqrt{2\tau}\,dW$, whose Euler–Maruyama step is stochastic gradient
# Langevin dynamics (SGLD) {cite}`welling2011bayesian`:
# $\theta \leftarrow \theta - h\nabla L + \sigma\sqrt{h}\,R$ with $R \sim \mathcal N(0, I)$ and
# $\sigma = \sqrt{2\tau}$ (the paper quotes $\sigma$; this reading of it is ours).
#
# **Splitting.** The schemes are compositions of substeps, each an exact solution of one piece of
# the dynamics over a fraction $f$ of the step $h$ (the "learning rate"):
#
# | substep | update | piece of the dynamics |
# |---|---|---|
# | $A_f$ | $\theta \leftarrow \theta + f h\, p$ | drift $d\theta = p\,dt$ |
# | $B_f$ | $p \leftarrow p - f h\,\nabla L(\theta)$ | kick $dp = -\nabla L\,dt$ |
# | $O_f$ | $p \leftarrow c\,p + \sqrt{(1-c^2)\tau}\,R$, $c = e^{-\gamma f h}$ | friction and noise (Ornstein–Uhlenbeck) |
# | $C_f$ | $p \leftarrow e^{-\xi f h} p$ | friction with a *variable* coefficient $\xi$ |
# | $D_f$ | $p \leftarrow p + \sigma_A\sqrt{f h}\,R$ | noise only |
# | $E_f$ | $\xi \leftarrow \xi + \varepsilon f h\,(p^\top p - N\tau)$ | thermostat: steer $\xi$ toward temperature $\tau$ |
#
# **BAOAB** {cite}`leimkuhler2013rational` is $B_{1/2} A_{1/2} O_1 A_{1/2} B_{1/2}$: it samples
# the configurational density $e^{-L/\tau}$ of a Gaussian target exactly for any stable step. The
# closing $B_{1/2}$ of a step and the opening $B_{1/2}$ of the next use the same gradient, so each
# step costs one gradient evaluation.
#
# **Adaptive Langevin** (a Nosé–Hoover–Langevin thermostat {cite}`jones2011adaptive`) replaces the
# fixed friction by a dynamical variable $\xi$:
#
# $$ dp = -\nabla L\,dt - \xi p\,dt + \sigma_A\,dW, \qquad d\xi = \varepsilon\,(p^\top p - N\tau)\,dt. $$
#
# When the momenta are hotter than $\tau$ (as they are when minibatch gradients add noise of
# unknown size), $\xi$ grows and removes the excess heat: the thermostat absorbs gradient noise
# that fixed-friction Langevin cannot. Its scheme is $A_{1/2} C_{1/2} D_{1/2} E_1 D_{1/2} C_{1/2} A_{1/2} B_1$,
# one $\xi$ per parameter tensor ($N$ its number of entries).
#
# **AdLaLa** partitions the perceptron: adaptive Langevin $(\tau_1, \sigma_A, \varepsilon)$ on the first
# layer $W_1, b_1$, Langevin $(\gamma, \tau_2)$ on the rest, composed as
# $A^1_{1/2} A^2_{1/2} C^1_{1/2} D^1_{1/2} E^1_{1/2} O^2_1 E^1_{1/2} D^1_{1/2} C^1_{1/2} A^2_{1/2} A^1_{1/2} B^2_1 B^1_1$.
# **LOL** puts Langevin $(\gamma_1, \tau_1)$ on the first layer and overdamped Langevin on the rest,
# whose $O$ step becomes a full momentum resample $p \leftarrow \sqrt{\tau_2}R$. The equations of
# the two partitions are in the official LOL notebook's text; *which layer gets which* is not
# stated in any source we could read, so this assignment is **our inference** from AdLaLa's
# convention (the first layer carries the richer dynamics), as is $\tau_2 = \tau_1$ where no
# caption gives $\tau_2$.
#
# In `optbook` all of these are one optimizer, `PartitionedLangevin`, whose parameter groups each
# choose their integrator (`method="sgld" | "overdamped" | "langevin" | "adaptive"`); `SGLD`,
# `BAOAB`, `AdaptiveLangevin`, `AdLaLa(model, ...)` and `LOL(model, ...)` configure it.
# The tests in `tests/test_langevin.py` check each step against these formulas by hand and each
# sampler against Gaussian targets. A first look at temperature: on $L(\theta) = k\theta^2/2$
# the stationary law is $\mathcal N(0, \tau/k)$, and BAOAB recovers its variance for every $\tau$.

# %%
from optbook.optim import BAOAB, SGLD, AdLaLa

k, runs_demo, steps_demo = 2.0, 500, 3000
rows = []
for tau in (1e-4, 1e-2, 1.0):
    for name, make in {"BAOAB (h=0.5, γ=1)": lambda p, t: BAOAB([p], lr=0.5, gamma=1.0, tau=t, ensemble_dim=0,
                                                             generator=torch.Generator().manual_seed(1)),
                       "SGLD (h=0.05)": lambda p, t: SGLD([p], lr=0.05, tau=t, ensemble_dim=0,
                                                        generator=torch.Generator().manual_seed(1))}.items():
        theta = torch.zeros(runs_demo, 1, dtype=torch.float64, requires_grad=True)
        opt = make(theta, tau)

        def closure():
            opt.zero_grad()
            loss = 0.5 * k * theta.pow(2).sum()
            loss.backward()
            return loss

        samples = []
        for step in range(steps_demo):
            opt.step(closure)
            if step >= steps_demo // 3:
                samples.append(theta.detach().clone())
        rows.append({"integrator": name, "τ": tau, "target variance τ/k": tau / k,
                     "sample variance": torch.cat(samples).var().item()})
report.show(pd.DataFrame(rows), precision=4,
            caption=f"Sampling N(0, τ/k): variance over {runs_demo} runs × {len(samples)} steps after a burn-in")

# %% [markdown]
# BAOAB's variance is exact up to sampling error; SGLD's is biased by a factor $1/(1 - hk/2)$, the
# error of its Euler step. For a network the optimizer is built the same way; AdLaLa finds the
# layers by itself:

# %%
demo_task = SpiralTask(hidden=20, turns=2)
demo_model = demo_task.build([0, 1, 2])
demo_opt = AdLaLa(demo_model, ensemble_dim=0, generators=[torch.Generator().manual_seed(s) for s in range(3)])
report.show(figures.param_groups_table(demo_opt), caption="AdLaLa's parameter groups on a 2-20-1 perceptron")

# %% [markdown]
# ## The data
#
# The paper's classification problems are planar. **Spirals** (its Eq. 16): for $t \sim U[0, 1)$,
# class 0 is $x = a t^p (\cos 2\pi b t^p, \sin 2\pi b t^p)$ and class 1 is $-x$, plus Gaussian noise
# of standard deviation $c$; $b$ is the number of turns ($a = 2$, $p = 0.5$, $c = 0.02$). The
# **trigonometric data** (Eq. 17, parameters $a, b, c$) could not be recovered from any source we
# could read. **What we use instead is our reconstruction**, with the same three parameters used as
# in the spirals: $x \sim U[-2, 2]^2$, class $= [\sin(a x_1)\cos(b x_2) > 0]$, then noise $c$ added
# to the inputs (`optbook.tasks.trigonometric`). Larger $a$ gives more, thinner checkerboard cells,
# so a harder problem, as the paper's use of $a = 3, 6, 10$ suggests; its results on these data are
# therefore about *a* trigonometric problem, not necessarily the paper's. The model throughout is
# the paper's single-hidden-layer perceptron 2-H-1 (ReLU, sigmoid output, cross-entropy), one
# batched ensemble of runs, every run with its own data, initial weights and minibatches drawn from
# its seed.

# %%
data_panels = [("Spirals, 2 turns", two_spirals(500, turns=2, generator=torch.Generator().manual_seed(0))),
               ("Spirals, 4 turns", two_spirals(500, turns=4, generator=torch.Generator().manual_seed(0)))]
data_panels += [(f"Trigonometric (ours), a={a}", trigonometric(1000, a=a, b=2, c=0.02, generator=torch.Generator().manual_seed(0)))
                for a in (3, 6, 10)]

# %% tags=["hide-input"]
figures.data_figure(data_panels, scale);

# %% [markdown]
# ## The 2-turn spirals (the paper's Figs. 8 and 14)
#
# **Protocol, and where it comes from.** Fig. 8's caption gives the number of runs (100), of steps
# (10K) and the hyperparameters: SGD $h = 0.1$; Adam $h = 0.005$; SGLD $h = 0.1$, $\sigma = 0.1$;
# AdLaLa $h = 0.25$, $\tau_1 = \tau_2 = 10^{-4}$, $\sigma_A = 0.01$, $\varepsilon = 0.1$ with
# $\gamma = 0.5$ or $\gamma = 10$. The problem itself is not in Fig. 8's caption: the 20-node
# perceptron, 500 training points and 2 % subsampling (minibatches of 10) are taken from
# **Fig. 14's caption**, which describes 100 runs on the same two-turn problem, and so is LOL
# ($h = 0.25$, $\gamma_1 = 0.01$, $\tau_1 = 10^{-3}$). SGLD runs twice: with our reading of $\sigma$
# ($\theta \leftarrow \theta - h\nabla L + \sigma\sqrt h\,R$) and with the other one, $\sigma$ as the
# noise of one step ($\theta \leftarrow \theta - h\nabla L + \sigma R$; `SGLD(..., sigma_per_step=True)`).
# Every method runs on the same seeds, so run $r$ of each method starts from the same weights and
# sees the same data: every "A beats B" below is judged on these pairs by the book's rule (the
# paired difference of the means and the median paired difference, each with its 95 % interval;
# see chapter 1).

# %%
problems = thermo.problems(config)
two_cfg = config["two_turn"]
two_task = problems["two_turn"]
two_seeds = session.run_seeds(two_cfg["runs"])
two = thermo.compare(two_task, thermo.TWO_TURN, two_seeds, two_cfg["steps"], two_cfg["eval_every"],
                     snapshots=two_cfg["snapshots"], probe_every=two_cfg["eval_every"] // 5, device=session.device)
two_frame = two["frame"]

# %% tags=["hide-input"]
figures.accuracy_and_spread(two_frame, f"{two_task.title}, 2 % subsampling, {len(two_seeds)} runs", scale);

# %%
two_final = thermo.final_accuracy(two_frame)
versus_paper = thermo.against_paper(two_final, thermo.FIG8_PAPER_ACCURACY)
sgld_readings = thermo.against_paper(two_final, {"SGLD": thermo.FIG8_PAPER_ACCURACY["SGLD"],
                                                 thermo.FIG8_SGLD_PER_STEP.label: thermo.FIG8_PAPER_ACCURACY["SGLD"]})
fig8_table = pd.concat([versus_paper, sgld_readings.drop(index="SGLD")])
fig8_table = fig8_table.assign(std=two_final["std"], runs=two_final["n"]).loc[plots.ordered(fig8_table.index)]
report.show(fig8_table.reset_index().rename(columns={
    "paper": "paper (mean of 100)", "ours": "ours (mean)", "difference": "ours − paper",
    "half-width": "± (95 %)", "beyond": "beyond ±", "std": "std over runs"}),
    caption=f"Final test accuracy after {two_cfg['steps']:,} steps over {len(two_seeds)} runs against Fig. 8's means "
            "(± allows for the sampling error of both means; the per-step SGLD row is compared with the paper's SGLD)")

# %% tags=["hide-input"]
figures.final_accuracy_boxes(two_frame, two_cfg["steps"], thermo.FIG8_PAPER_ACCURACY, two_task.title, scale);

# %% tags=["remove-cell"]
def pct(value):
    return f"{value:.1%}"


def points(value):
    return f"{100 * value:+.1f}"


fig8_order, fig8_swapped = thermo.order_agreement(two_final["mean"], thermo.FIG8_PAPER_ACCURACY)
fig8_within = float((~versus_paper["beyond"]).mean())
fig8_higher = int((versus_paper["difference"] > 0).sum())
fig8_beyond = versus_paper[versus_paper["beyond"]]
fig8_verdict = ("reproduced" if fig8_within == 1 and fig8_order == 1
                else "not reproduced" if fig8_within < 0.5 and fig8_order < 0.5 else "partly reproduced")
fig8_swap_text = ("; ".join(f"{hi} above {lo} in the paper, below it here" for hi, lo in fig8_swapped)
                  if fig8_swapped else "the paper's order of the five methods holds")
fig8_summary = (f"{fig8_higher} of {len(versus_paper)} of our means are higher than the paper's; "
                + (f"{len(fig8_beyond)} by more than the interval ("
                   + ", ".join(f"{m} {points(d)} points" for m, d in fig8_beyond["difference"].items()) + ")"
                   if len(fig8_beyond) else "none by more than the interval")
                + f"; {fig8_swap_text}")
claims.record(
    "04", "fig8-mean-accuracy",
    "Mean test accuracy over 100 runs, 2-turn spirals, 20 nodes, 2 % subsampling, 10K steps (Fig. 8; "
    "the problem's protocol from Fig. 14's caption)",
    ", ".join(f"{m} {p:.1%}" for m, p in thermo.FIG8_PAPER_ACCURACY.items()),
    ", ".join(f"{m} {pct(two_final.loc[m, 'mean'])} ({points(versus_paper.loc[m, 'difference'])} ± "
              f"{100 * versus_paper.loc[m, 'half-width']:.1f})" for m in thermo.FIG8_PAPER_ACCURACY) + ". " + fig8_summary,
    fig8_verdict,
    source="Leimkuhler et al. 2019 Fig. 8 caption (protocol: Fig. 14 caption)",
    notes=f"Judged part by part: the values (the paper's mean inside ours ± the 95 % interval of the difference of "
          f"two {len(two_seeds)}- and {thermo.FIG8_PAPER_RUNS}-run means: {fig8_within:.0%} of the methods) and the "
          f"order (pairs of methods in the paper's order: {fig8_order:.0%}); both whole: reproduced, both under "
          "half: not reproduced, otherwise partly reproduced.",
    scale=scale, kind="paper", reference="paper",
)
two_values = thermo.final_values(two_frame)
best = "AdLaLa (γ=0.5)"
fig8_rivals = [m for m in thermo.FIG8_PAPER_ACCURACY if m != best]
fig8_best = thermo.beats(two_values, best, fig8_rivals)
fig8_decider = thermo.least_favourable(fig8_best)
claims.record(
    "04", "fig8-adlala-best",
    "On the 2-turn spirals AdLaLa (γ=0.5) reaches a higher test accuracy than SGD, Adam, SGLD and AdLaLa (γ=10) (Fig. 8)",
    "AdLaLa (γ=0.5) 93.4 % vs at most 85.5 % for the others",
    f"AdLaLa (γ=0.5) {pct(two_final.loc[best, 'mean'])} vs "
    + ", ".join(f"{m} {pct(two_final.loc[m, 'mean'])}" for m in fig8_rivals)
    + f"; against each: {thermo.verdict_counts(fig8_best)}",
    fig8_decider.verdict,
    source="Leimkuhler et al. 2019 Fig. 8", scale=scale, kind="paper", reference="paper",
    notes=f"The book's paired rule against each rival on the same {len(two_seeds)} seeds; the least favourable "
          f"comparison decides: {fig8_decider.detail}",
)
sgld_per_step = thermo.FIG8_SGLD_PER_STEP.label
sgld_closer = sgld_readings["difference"].abs().idxmin()
sgld_text = {"SGLD": "σ√h R (our reading)", sgld_per_step: "σR, σ the noise of one step"}
claims.record(
    "04", "sgld-sigma-reading",
    "Which reading of SGLD's σ matches Fig. 8's SGLD mean (78 %): θ ← θ − h∇L + σR (σ per step) rather than σ√h R?",
    f"SGLD {thermo.FIG8_PAPER_ACCURACY['SGLD']:.0%} (h = 0.1, σ = 0.1)",
    "; ".join(f"{sgld_text[m]}: {pct(sgld_readings.loc[m, 'ours'])} ({points(sgld_readings.loc[m, 'difference'])} ± "
              f"{100 * sgld_readings.loc[m, 'half-width']:.1f} points)" for m in sgld_readings.index),
    "reproduced" if sgld_closer == sgld_per_step and not sgld_readings.loc[sgld_per_step, "beyond"]
    else "not reproduced" if sgld_closer == "SGLD" else "inconclusive",
    source="Leimkuhler et al. 2019 Fig. 8 caption", scale=scale, kind="ours", reference="paper",
    notes=f"One ensemble per reading on the same {len(two_seeds)} seeds. Reproduced: the per-step reading is the "
          "closer one and within the interval of the paper's mean; not reproduced: our reading σ√h R is closer.",
);

# %% [markdown]
# {glue:text}`fig8_sentence`

# %% [markdown]
# ## How the parameters are distributed (Figs. 6–8)
#
# The paper's thermodynamic argument is about distributions: a sampler at temperature $\tau$
# keeps the parameters spread over a low-loss region instead of letting them collapse into, or
# run away from, one minimum. The histograms pool the first-layer weights $W_1$ of all runs at
# three moments of training.

# %%
snap_steps = sorted(next(iter(two["snapshots"].values())))
shown = ["SGD", "Adam", "SGLD", "AdLaLa (γ=0.5)"]
fig, final_spread = figures.weight_histograms(two["snapshots"], snap_steps, shown, len(two_seeds), two_task.title, scale)
report.show(final_spread.reset_index(), caption=f"Spread of the first-layer weights after {snap_steps[-1]:,} steps")

# %% [markdown]
# ## Four turns: Adam against AdLaLa (Figs. 9 and 10)
#
# The 4-turn spirals are the paper's hard case. We run them with the official code's setting:
# 100 nodes, 500 points drawn with $p = 0.5$, minibatches of 25 (5 %), AdLaLa at the notebooks'
# defaults, which are also Fig. 10's ($h = 0.25$, $\tau_1 = \tau_2 = 10^{-4}$, $\gamma = 0.1$,
# $\sigma_A = 0.01$, $\varepsilon = 0.05$), Adam at $h = 0.005$, both over the same runs. **This is not
# Fig. 9's protocol**, which differs in every one of these points: Fig. 9 uses a 500-node
# perceptron, data with $p = 1$ in Eq. 16, 2 % subsampling, AdLaLa with $h = 0.1$, $\gamma_2 = 0.03$,
# $\tau_2 = 10^{-5}$, $\varepsilon = 0.1$ (and $\tau_1 = 10^{-4}$, $\sigma_A = 0.01$), Gaussian initial
# weights (standard deviation 0.5 for Adam, 0.01 for AdLaLa), 20K to 60K steps, and draws each
# classifier averaged over the last 10 steps. We use PyTorch's default initialisation here (the
# Gaussian ones are run in their own section below), 20K steps and no averaging.

# %%
four_cfg = config["four_turn"]
four_task = problems["four_turn"]
four_seeds = session.run_seeds(four_cfg["runs"])
every = four_cfg["eval_every"]  # snapshots on evaluated steps, so each map has its test accuracy
four_snaps = (round(four_cfg["steps"] / 3 / every) * every, round(2 * four_cfg["steps"] / 3 / every) * every,
              four_cfg["steps"])
four = thermo.compare(four_task, (thermo.ADAM, thermo.FIG10_ADLALA), four_seeds, four_cfg["steps"],
                      four_cfg["eval_every"], snapshots=four_snaps, device=session.device)
four_frame = four["frame"]
four_final = thermo.final_accuracy(four_frame)
four_judged = claims.compare_paired(thermo.final_values(four_frame)["AdLaLa"], thermo.final_values(four_frame)["Adam"],
                                    "AdLaLa", "Adam", higher_is_better=True)

# %% tags=["hide-input"]
figures.accuracy_curves({"four": four_frame}, {"four": four_task.title},
                        f"Test accuracy, {len(four_seeds)} runs (mean, 95 % CI)", scale);

# %% [markdown]
# The classifiers of one run (run 0, the same initial weights for both) at three moments, as in
# Fig. 9: the colour is the predicted probability of class 1, the points the run's training data.

# %% tags=["hide-input"]
def run0_title(method, step):
    accuracy = four_frame[(four_frame["method"] == method) & (four_frame["seed"] == four_seeds[0])
                          & (four_frame["step"] == step)]["test_accuracy"]
    return f"{method}, step {step:,}" + (f", test {accuracy.item():.0%}" if len(accuracy) else "")


figures.classifier_grid([[(four["snapshots"][m][step], 0, run0_title(m, step)) for step in four_snaps]
                         for m in ("Adam", "AdLaLa")], four_task, f"Classifiers of run 0, {four_task.title}", scale);

# %% [markdown]
# Fig. 10 holds AdLaLa fixed and varies the others: SGLD over its noise $\sigma$ ($\sigma = 0$ is SGD,
# $h = 0.1$) and Adam over its step. Each setting is one ensemble over the first runs of the
# comparison above (the same seeds, so the same initial conditions); AdLaLa's and Adam
# ($h = 0.005$)'s values are read from the comparison at the same step, and AdLaLa is compared with
# each setting on those paired runs.

# %%
sweep_cfg = config["sweep"]
sweep_seeds = four_seeds[:sweep_cfg["runs"]]
sweep_settings = thermo.sweep_settings(sweep_cfg)
sweep = thermo.compare(four_task, sweep_settings, sweep_seeds, sweep_cfg["steps"], sweep_cfg["steps"],
                       device=session.device)["frame"]
reference = four_frame[four_frame["seed"].isin(sweep_seeds)]
reference = reference.assign(method=reference["method"].replace({"Adam": "Adam (h=0.005)"}))
sweep_both = pd.concat([sweep[sweep["step"] == sweep_cfg["steps"]], reference])
sweep_final = thermo.final_accuracy(sweep_both, step=sweep_cfg["steps"])
adlala_sweep = sweep_final.loc["AdLaLa", "mean"]
rivals = sweep_final.drop(index="AdLaLa")

rival_order = [s.label for s in sweep_settings if s.method == "SGLD"] + sorted(
    [m for m in rivals.index if m.startswith("Adam")], key=lambda m: float(m.split("=")[1].rstrip(")")))
sweep_judged = thermo.beats(thermo.final_values(sweep_both, step=sweep_cfg["steps"]), "AdLaLa", rival_order)

# %% tags=["hide-input"]
figures.sweep_bars(rivals, rival_order, adlala_sweep, sweep_cfg["steps"], len(sweep_seeds), four_task.title, scale);

# %% tags=["remove-cell"]
sweep_wins = sum(r.verdict == "reproduced" for r in sweep_judged)
sweep_decider = thermo.least_favourable(sweep_judged)
claims.record(
    "04", "fig10-adlala-beats-tuned",
    "4-turn spirals: AdLaLa at fixed parameters beats SGD, SGLD (σ = 0.005 … 0.1) and Adam over several step sizes (Fig. 10)",
    "AdLaLa above every bar (figure)",
    f"AdLaLa {pct(adlala_sweep)}; best rival {rivals['mean'].idxmax()} {pct(rivals['mean'].max())}; "
    f"against each setting: {thermo.verdict_counts(sweep_judged)}",
    claims.verdict_from_fraction(sweep_wins / len(sweep_judged)),
    source="Leimkuhler et al. 2019 Fig. 10", scale=scale, kind="paper", reference="paper",
    notes=f"The book's paired rule against each setting on the same {len(sweep_seeds)} runs × {sweep_cfg['steps']} "
          "steps; verdict from the fraction of settings beaten (all: reproduced, at least half: partly). SGLD at "
          f"h = 0.1 (the caption gives no step size). Least favourable: {sweep_decider.detail}",
);

# %% [markdown]
# ## Trigonometric data (Figs. 11 and 12)
#
# On **our reconstruction** of the trigonometric data with $a = 6$ and $a = 10$: 100 nodes, 1000
# training and 1000 test points, 5 % subsampling, with the captions' LOL ($h = 0.1$,
# $\gamma_1 = 0.01$, $\tau_1 = 10^{-3}$) and AdLaLa ($a = 6$: $h = 0.2$, $\gamma = 10$; $a = 10$:
# $h = 0.1$, $\gamma = 5$; $\tau_1 = \tau_2 = 10^{-4}$, $\sigma_A = 0.001$, $\varepsilon = 0.1$), SGLD
# $h = 0.1$, $\sigma = 0.01$ (Fig. 12), and SGD and Adam at the paper's usual steps (0.1, 0.005).
# The claim is about both partitioned schemes, so each is judged on its own: LOL against SGD, Adam
# and SGLD, and AdLaLa against the same three, at each $a$.

# %%
trig_cfg = config["trig"]
trig_seeds = session.run_seeds(trig_cfg["runs"])
trig = {}
for a in trig_cfg["a"]:
    task = problems[f"trig a={a}"]
    trig[a] = (task, thermo.compare(task, thermo.TRIG[a], trig_seeds, trig_cfg["steps"], trig_cfg["eval_every"],
                                    device=session.device)["frame"])

# %% tags=["hide-input"]
figures.accuracy_curves({a: frame for a, (_, frame) in trig.items()}, {a: task.title for a, (task, _) in trig.items()},
                        f"Reconstructed trigonometric data, {len(trig_seeds)} runs (mean, 95 % CI)", scale);

# %%
trig_final = pd.concat({a: thermo.final_accuracy(frame) for a, (_, frame) in trig.items()}, names=["a"])
trig_judged = {(scheme, a): thermo.beats(thermo.final_values(frame), scheme, ["SGD", "Adam", "SGLD"])
               for scheme in ("LOL", "AdLaLa") for a, (_, frame) in trig.items()}
report.show(pd.DataFrame([{"scheme": scheme, "a": a, "against": r.b,
                           "accuracy (%)": f"{100 * r.mean_a:.1f} vs {100 * r.mean_b:.1f}",
                           "paired difference [95 %]": f"{100 * r.mean_difference:+.1f} [{100 * r.mean_lo:+.1f}, {100 * r.mean_hi:+.1f}]",
                           "median difference [95 %]": f"{100 * r.median_difference:+.1f} [{100 * r.median_lo:+.1f}, {100 * r.median_hi:+.1f}]",
                           "verdict": r.verdict}
                          for (scheme, a), results in trig_judged.items() for r in results]),
            caption=f"Final test accuracy on the reconstructed trigonometric data: each partitioned scheme against "
                    f"each rival on the same {len(trig_seeds)} runs (points)")

# %% tags=["remove-cell"]
trig_verdicts = {}
for scheme in ("LOL", "AdLaLa"):
    per_a = {a: thermo.least_favourable(trig_judged[(scheme, a)]) for a in trig}
    trig_verdicts[scheme] = thermo.combine_parts([r.verdict for r in per_a.values()])
    claims.record(
        "04", f"trig-{scheme.lower()}-best",
        f"On planar trigonometric data (our reconstruction of Eq. 17) {scheme} reaches a higher test accuracy than "
        "SGD, Adam and SGLD (Figs. 11, 12)",
        f"{scheme} above the others (figures; values not in the captions)",
        "Reconstructed data: " + "; ".join(
            f"a={a}: {scheme} {pct(trig_final.loc[(a, scheme), 'mean'])} vs "
            + ", ".join(f"{m} {pct(trig_final.loc[(a, m), 'mean'])}" for m in ("SGD", "Adam", "SGLD"))
            + f" ({r.verdict}; decided by {r.b})" for a, r in per_a.items()),
        trig_verdicts[scheme],
        source="Leimkuhler et al. 2019 Figs. 11, 12", scale=scale, kind="paper", reference="paper",
        notes=f"RECONSTRUCTED DATA: Eq. 17 was not recovered (see the chapter). {len(trig_seeds)} runs, "
              f"{trig_cfg['steps']} steps. The book's paired rule against each of SGD, Adam, SGLD; the least favourable "
              "decides at each a; the a values are combined part by part. "
              + " ".join(f"a={a}: {r.detail}" for a, r in per_a.items()),
    )

# %% [markdown]
# ## Temperature shapes the classifier (Fig. 1)
#
# Fig. 1 trains a 500-node perceptron with BAOAB ($h = 0.4$, $\gamma = 10$) on trigonometric data
# ($a = 3$, $b = 2$, $c = 0.02$; 1000 points, 2 % subsampling) at four temperatures and reports that
# the classifier improves as $\tau$ rises from $10^{-8}$ to $10^{-5}$. Each temperature is one
# ensemble over the same runs (the maps show run 0); we also run hotter temperatures the paper
# does not show, to see where $\tau$ starts to matter.

# %%
temp_cfg = config["temperatures"]
temp_task = problems["temperatures"]
temp_seeds = session.run_seeds(temp_cfg["runs"])
temp_settings = thermo.temperature_settings(temp_cfg)
temps = thermo.compare(temp_task, temp_settings, temp_seeds, temp_cfg["steps"], temp_cfg["steps"],
                       probe_every=temp_cfg["probe_every"], device=session.device)
paper_temps = temp_settings[:len(temp_cfg["taus"])]
temp_final = thermo.final_accuracy(temps["frame"]).loc[[s.label for s in temp_settings]]


# %% tags=["hide-input"]
def temperature_title(setting):
    final = temps["frame"][(temps["frame"]["method"] == setting.label) & (temps["frame"]["seed"] == temp_seeds[0])
                           & (temps["frame"]["step"] == temp_cfg["steps"])]["test_accuracy"].item()
    return f"τ = {setting.hyper['tau']:g}: test {final:.1%}"


figures.classifier_grid([[(temps["snapshots"][s.label][temp_cfg["steps"]], 0, temperature_title(s))
                          for s in paper_temps[i:i + 2]] for i in range(0, len(paper_temps), 2)],
                        temp_task, f"BAOAB classifiers of run 0 after {temp_cfg['steps']:,} steps, {temp_task.title}",
                        scale);

# %%
report.show(temp_final[["mean", "std", "min", "max", "n"]].reset_index(),
            caption="Final test accuracy at each temperature (the last rows: hotter than Fig. 1)", precision=4)

# %% tags=["remove-cell"]
temp_values = thermo.final_values(temps["frame"])
hot, cold = paper_temps[-1].label, paper_temps[0].label
fig1_judged = claims.compare_paired(temp_values[hot], temp_values[cold], hot, cold, higher_is_better=True)
fig1_excluded = fig1_judged.verdict == "inconclusive" and fig1_judged.mean_hi < 0.01
fig1_entry = claims.record(
    "04", "fig1-temperature",
    "BAOAB's classifier improves as the temperature rises from 1e-8 to 1e-5 (Fig. 1)",
    "improves substantially with τ (test accuracies shown in the figure, not readable)",
    ", ".join(f"τ={s.hyper['tau']:g}: {temp_final.loc[s.label, 'mean']:.2%}" for s in paper_temps)
    + f"; τ=1e-5 vs 1e-8: {points(fig1_judged.mean_difference)} [{points(fig1_judged.mean_lo)}, "
      f"{points(fig1_judged.mean_hi)}] points",
    "not reproduced" if fig1_excluded else fig1_judged.verdict,
    source="Leimkuhler et al. 2019 Fig. 1", scale=scale, kind="paper", reference="paper",
    notes=f"Reconstructed trigonometric data; {len(temp_seeds)} runs × {temp_cfg['steps']} steps (paper: 50K). The "
          "book's paired rule for the hottest against the coldest temperature; an inconclusive result whose mean "
          f"interval excludes a gain of 1 point or more counts as not reproduced. {fig1_judged.detail}",
)

# %% [markdown]
# ## Why the temperature does not matter here: the heat of minibatch noise
#
# A Langevin integrator only samples at temperature $\tau$ if $\tau$ is the only source of heat.
# With minibatches it is not: every kick $-h\nabla\tilde L$ carries the minibatch's error $\delta$,
# of variance $\sigma_g^2$ per entry, and in BAOAB's stored momentum
# $p \leftarrow e^{-\gamma h}p + \sqrt{(1-e^{-2\gamma h})\tau}\,R - h(\nabla L + \delta)$ this adds
#
# $$ T_{\text{noise}} = \frac{h^2\sigma_g^2}{1 - e^{-2\gamma h}} \;\approx\; \frac{h\,\sigma_g^2}{2\gamma}\quad(\gamma h \ll 1) $$
#
# to the kinetic temperature $p^\top p/N$. We measure, for each layer of Fig. 1's BAOAB runs, the
# kinetic temperature (each run's average over the second half of training), and $\sigma_g^2$ at
# the final parameters (the variance of the gradient of one minibatch about the full-data
# gradient, over an epoch of minibatches, `thermo.gradient_noise`). The adaptive thermostat of
# AdLaLa answers the same heat differently: it holds its layer at $\tau_1$ by raising its friction
# $\xi$ until it removes $\sigma_A^2 + h\sigma_g^2$ per unit time, i.e.
# $\xi = (\sigma_A^2 + h\sigma_g^2)/(2\tau_1)$; the right panel shows $\xi(t)$ on the 2-turn spirals
# (Fig. 8's AdLaLa, $\gamma = 0.5$) with that prediction.

# %%
temp_noise = {s.label: thermo.gradient_noise(temp_task, temps["snapshots"][s.label][temp_cfg["steps"]], temp_seeds,
                                             device=session.device) for s in temp_settings}
temperatures = thermo.temperature_table(temps["probes"], temp_noise, {s.label: s.hyper["tau"] for s in temp_settings},
                                        h=thermo.FIG1_BAOAB.hyper["lr"], gamma=thermo.FIG1_BAOAB.hyper["gamma"],
                                        after=temp_cfg["steps"] // 2)
adlala = thermo.FIG8[3]
adlala_noise = thermo.gradient_noise(two_task, two["snapshots"][adlala.label][two_cfg["steps"]], two_seeds,
                                     device=session.device).groupby("part")["sigma_g2"].mean()
xi_probes = two["probes"][two["probes"]["method"] == adlala.label]
xi_lines = {"σ_A²/(2τ₁): no gradient noise": thermo.thermostat_friction(0.0, adlala.hyper["lr"], adlala.hyper["sigma_A"],
                                                                         adlala.hyper["tau1"]),
            **{f"(σ_A² + hσ_g²)/(2τ₁), σ_g² of {name} measured": float(thermo.thermostat_friction(
                adlala_noise[name], adlala.hyper["lr"], adlala.hyper["sigma_A"], adlala.hyper["tau1"]))
               for name in ("W1", "b1")}}

# %% tags=["hide-input"]
figures.temperature_figure(temperatures, xi_probes, xi_lines,
                           (f"BAOAB, trigonometric data (ours), a = {temp_task.a:g}", f"AdLaLa (γ=0.5), {two_task.title}"),
                           scale);

# %%
report.show(temperatures[["tau", "layer", "measured", "sigma_g2", "noise heat", "predicted"]].rename(columns={
    "tau": "τ", "measured": "kinetic temperature (measured)", "sigma_g2": "σ_g²",
    "noise heat": "h²σ_g²/(1 − e^(−2γh))", "predicted": "τ + noise heat"}),
    caption=f"BAOAB (h = {thermo.FIG1_BAOAB.hyper['lr']:g}, γ = {thermo.FIG1_BAOAB.hyper['gamma']:g}), 2 % "
            f"subsampling: kinetic temperature per layer, mean over {len(temp_seeds)} runs", precision=3)

# %% tags=["remove-cell"]
at_paper = temperatures[temperatures["tau"] <= max(temp_cfg["taus"])]
hottest_paper = at_paper[at_paper["tau"] == max(temp_cfg["taus"])].set_index("layer")
noise_share = (1 - at_paper["tau"] / at_paper["measured"]).min()  # the heat not from τ, least over layers and τ
hottest_share = (1 - hottest_paper["tau"] / hottest_paper["measured"]).min()
ratios = at_paper["measured"] / at_paper["predicted"]
coldest = temperatures[temperatures["tau"] == min(temp_cfg["taus"])].set_index("layer")
heat_over_tau = float((coldest["measured"] / max(temp_cfg["taus"])).min())  # noise heat alone vs the hottest τ
hotter = temperatures[temperatures["tau"] > max(temp_cfg["taus"])]
first_hotter = hotter[hotter["tau"] == hotter["tau"].min()].set_index("layer") if len(hotter) else None
xi_late = xi_probes[xi_probes["step"] > two_cfg["steps"] // 2][["ξ W1", "ξ b1"]].mean()
heat_holds = noise_share > 0.5 and ratios.between(0.5, 2).all()
claims.record(
    "04", "fig1-minibatch-heat",
    "At 2 % subsampling, the heat of minibatch gradient noise swamps the temperatures of Fig. 1 (τ ≤ 1e-5), so τ "
    "cannot shape BAOAB's classifier there",
    None,
    f"kinetic temperature with τ = {min(temp_cfg['taus']):g} (all minibatch heat): "
    + ", ".join(f"{coldest.loc[layer, 'measured']:.2g} in {layer}" for layer in coldest.index)
    + f", {heat_over_tau:.3g}× the hottest τ of Fig. 1 or more; at τ = {max(temp_cfg['taus']):g}, "
      f"{hottest_share:.0%} or more of it is not τ's; measured/predicted (τ + h²σ_g²/(1 − e^(−2γh))) "
      f"{ratios.min():.2f} to {ratios.max():.2f} for τ ≤ {max(temp_cfg['taus']):g}",
    "reproduced" if heat_holds else "not reproduced",
    source="our measurement (issue: why Fig. 1 is flat)", scale=scale, kind="ours", reference=None,
    notes=f"{len(temp_seeds)} runs × {temp_cfg['steps']} steps per τ; kinetic temperature pᵀp/N per layer averaged "
          "over the second half; σ_g² measured at the final parameters over one epoch of minibatches. Reproduced: "
          "at every τ of Fig. 1 more than half of each layer's kinetic temperature is not τ's, and τ plus the "
          "predicted noise heat is within a factor 2 of the measurement. AdLaLa (γ=0.5) on the 2-turn "
          f"spirals: mean ξ over the second half {xi_late['ξ W1']:.3g} (W1), {xi_late['ξ b1']:.3g} (b1), against "
          f"σ_A²/(2τ₁) = {list(xi_lines.values())[0]:g} without gradient noise.",
);

# %% [markdown]
# {glue:text}`heat_sentence`

# %% [markdown]
# ## Sensitivity of AdLaLa to its parameters (Fig. 15)
#
# Fig. 15 varies AdLaLa's first-layer temperature $\tau_1$ and noise $\sigma_A$ on the 4-turn spirals
# (100 nodes) with $\gamma_2 = 0.03$, $\varepsilon = 0.1$, $\tau_2 = 10^{-8}$, $h = 0.1$; each cell is
# one ensemble over the same runs. The number of steps is not in the caption. For scale, Adam's
# mean over the same runs at the same step is in the title, and each cell is compared with Adam on
# those paired runs.

# %%
sens_cfg = config["sensitivity"]
sens_task = problems["sensitivity"]
sens_seeds = session.run_seeds(sens_cfg["runs"])
sens = thermo.sensitivity(sens_task, thermo.FIG15_ADLALA, {"tau1": sens_cfg["tau1"], "sigma_A": sens_cfg["sigma_A"]},
                          sens_seeds, sens_cfg["steps"], device=session.device)
sens_adam_frame = thermo.compare(sens_task, (thermo.ADAM,), sens_seeds, sens_cfg["steps"], sens_cfg["steps"],
                                 device=session.device)["frame"]
sens_adam = thermo.final_accuracy(sens_adam_frame).loc["Adam", "mean"]

# %% tags=["hide-input"]
figures.sensitivity_heatmap(sens, sens_cfg["steps"], len(sens_seeds), sens_adam, sens_task.title, scale);

# %% tags=["remove-cell"]
adam_values = thermo.final_values(sens_adam_frame)["Adam"]
sens_judged = []
for _, cell in sens.iterrows():
    setting = thermo.FIG15_ADLALA.replace(tau1=cell["tau1"], sigma_A=cell["sigma_A"])
    cell_values = thermo.final_values(thermo.train(sens_task, setting, sens_seeds, sens_cfg["steps"], sens_cfg["steps"],
                                                   device=session.device)["frame"])["AdLaLa"]
    sens_judged.append(claims.compare_paired(cell_values, adam_values, "AdLaLa", "Adam", higher_is_better=True))
sens_above = sum(r.verdict == "reproduced" for r in sens_judged) / len(sens_judged)
claims.record(
    "04", "fig15-sensitivity",
    "AdLaLa gives good test accuracy on the 4-turn spirals over a range of τ₁ and σ_A (Fig. 15)",
    "heatmap of mean accuracies over 10 runs (values not in the caption)",
    f"{pct(sens['mean'].min())} … {pct(sens['mean'].max())} over {len(sens)} cells; against Adam's {pct(sens_adam)} "
    f"on the same runs: {thermo.verdict_counts(sens_judged)}",
    claims.verdict_from_fraction(sens_above),
    source="Leimkuhler et al. 2019 Fig. 15", scale=scale, kind="paper", reference="paper",
    notes=f"{len(sens_seeds)} runs × {sens_cfg['steps']} steps per cell, h = 0.1, γ₂ = 0.03, τ₂ = 1e-8, ε = 0.1. "
          "Verdict: the fraction of cells that beat Adam (h = 0.005) by the book's paired rule on the same runs.",
);

# %% [markdown]
# ## Initialisation (Figs. 9 and 14)
#
# The paper starts some runs from Gaussian weights: Fig. 14 compares Adam and AdLaLa from
# $0.01\cdot\mathcal N(0, 1)$ with both from PyTorch's default $\mathcal U(-1/\sqrt{N_{in}}, 1/\sqrt{N_{in}})$,
# and Fig. 9 starts Adam from $\mathcal N(0, 0.5^2)$ and AdLaLa from $\mathcal N(0, 0.01^2)$. We run
# both Gaussians beside the default: on the 2-turn problem for Fig. 14's methods over all runs, on
# the 4-turn problem for Adam and AdLaLa over the first runs (`GaussianInit(task, std)` redraws
# the weight matrices; the captions name the weights, so the biases keep PyTorch's default, which
# is our reading). Each run keeps its data and minibatches, so the initialisations are paired too.

# %%
from optbook.tasks.initialisation import GaussianInit

init_cfg = config["initialisation"]
two_init_settings = [s for s in thermo.FIG8 if s.label in init_cfg["two_turn_methods"]]
four_init_seeds = four_seeds[:init_cfg["four_turn_runs"]]
DEFAULT_INIT = "PyTorch default"
init_frames = {("2-turn", DEFAULT_INIT): two_frame[two_frame["method"].isin(init_cfg["two_turn_methods"])],
               ("4-turn", DEFAULT_INIT): four_frame[four_frame["seed"].isin(four_init_seeds)
                                                     & (four_frame["step"] <= init_cfg["four_turn_steps"])]}
for std in thermo.GAUSSIAN_STDS:
    init_frames[("2-turn", f"N(0, {std:g}²)")] = thermo.compare(
        GaussianInit(two_task, std), two_init_settings, two_seeds, two_cfg["steps"], two_cfg["eval_every"],
        device=session.device)["frame"]
    init_frames[("4-turn", f"N(0, {std:g}²)")] = thermo.compare(
        GaussianInit(four_task, std), (thermo.ADAM, thermo.FIG10_ADLALA), four_init_seeds, init_cfg["four_turn_steps"],
        four_cfg["eval_every"], device=session.device)["frame"]
init_table = pd.concat({key: thermo.final_accuracy(frame) for key, frame in init_frames.items()},
                       names=["problem", "initial weights"])
report.show(init_table[["mean", "lo", "hi", "std", "n"]].reset_index().rename(columns={"lo": "95% CI: lo",
                                                                                       "hi": "95% CI: hi"}),
            caption=f"Final test accuracy by initialisation: 2-turn after {two_cfg['steps']:,} steps, 4-turn after "
                    f"{init_cfg['four_turn_steps']:,} steps on {len(four_init_seeds)} runs")

# %% tags=["hide-input"]
figures.accuracy_curves({key: frame for key, frame in init_frames.items() if key[0] == "2-turn"},
                        {key: key[1] for key in init_frames if key[0] == "2-turn"},
                        f"{two_task.title}: test accuracy by initialisation, {len(two_seeds)} runs (mean, 95 % CI)",
                        scale);

# %% tags=["remove-cell"]
spread_checks = []
for (problem, init), frame in init_frames.items():
    if problem != "2-turn":
        continue
    values = thermo.final_values(frame)
    for rival in ("SGD", "Adam"):
        if rival in values:
            spread_checks.append((init, rival, thermo.spread_difference(values, best, rival)))
spread_verdicts = [{"lower": "reproduced", "higher": "not reproduced", "unclear": "inconclusive"}[c["says"]]
                   for _, _, c in spread_checks]
claims.record(
    "04", "fig14-variance",
    "Over 100 runs AdLaLa's test accuracy varies less between runs than SGD's and Adam's (Fig. 14)",
    "lower variance for AdLaLa (figure; values not in the caption)",
    "; ".join(f"{init}, vs {rival}: std {100 * c['std']:.1f} vs {100 * c['rival_std']:.1f} points "
              f"(difference [{100 * c['lo']:+.1f}, {100 * c['hi']:+.1f}])" for init, rival, c in spread_checks),
    thermo.combine_parts(spread_verdicts),
    source="Leimkuhler et al. 2019 Fig. 14", scale=scale, kind="paper", reference="paper",
    notes=f"AdLaLa (γ=0.5) against SGD and Adam at each initialisation, on the same {len(two_seeds)} seeds: the "
          "difference of the standard deviations of the final test accuracy with a paired bootstrap 95 % interval "
          "(runs resampled jointly); below 0: holds. Parts combined: all hold → reproduced, some → partly. Fig. 14's "
          f"SGD used h = 0.25; ours h = {thermo.SGD.hyper['lr']:g} (Fig. 8's).",
)
init_shift = {}
for problem in ("2-turn", "4-turn"):
    base = thermo.final_values(init_frames[(problem, DEFAULT_INIT)])
    for std in thermo.GAUSSIAN_STDS:
        other = thermo.final_values(init_frames[(problem, f"N(0, {std:g}²)")])
        for method in ("Adam", best if problem == "2-turn" else "AdLaLa"):
            init_shift[(problem, std, method)] = claims.compare_paired(
                other[method], base.loc[other.index, method], f"{method}, N(0, {std:g}²)", f"{method}, default",
                higher_is_better=True)
shift_rows = pd.DataFrame([{"problem": p, "std": s, "method": "AdLaLa" if m.startswith("AdLaLa") else m,
                            "shift": r.mean_difference, "moves": r.verdict != "inconclusive"}
                           for (p, s, m), r in init_shift.items()])
shift_pivot = shift_rows.pivot_table(index=["problem", "std"], columns="method", values="shift")
adlala_steadier = (shift_pivot["AdLaLa"].abs() < shift_pivot["Adam"].abs())
four_values_paper_init = pd.DataFrame({
    "AdLaLa": thermo.final_values(init_frames[("4-turn", "N(0, 0.01²)")])["AdLaLa"],
    "Adam": thermo.final_values(init_frames[("4-turn", "N(0, 0.5²)")])["Adam"]})
fig9_paper_init = claims.compare_paired(four_values_paper_init["AdLaLa"], four_values_paper_init["Adam"],
                                        "AdLaLa N(0, 0.01²)", "Adam N(0, 0.5²)", higher_is_better=True)
claims.record(
    "04", "fig14-initialisation",
    "AdLaLa's accuracy depends less on the initial weights than Adam's (Figs. 9, 14: Gaussian against PyTorch's default)",
    "Fig. 14 draws both with 0.01·N(0,1) and PyTorch's initialisation (figure; values not in the caption)",
    "; ".join(f"{p}, N(0, {s:g}²) − default: Adam {points(row['Adam'])}, AdLaLa {points(row['AdLaLa'])} points"
              for (p, s), row in shift_pivot.iterrows()),
    claims.verdict_from_fraction(float(adlala_steadier.mean())),
    source="Leimkuhler et al. 2019 Figs. 9, 14", scale=scale, kind="paper", reference="paper",
    notes="Per problem and Gaussian: the paired mean change of the final test accuracy from the default "
          "initialisation, same seeds and data; AdLaLa steadier where its |change| is the smaller. Verdict from the "
          f"fraction of the {len(adlala_steadier)} cases. 4-turn: first {len(four_init_seeds)} runs, "
          f"{init_cfg['four_turn_steps']} steps. " + " ".join(r.detail for r in init_shift.values()),
)
claims.record(
    "04", "fig9-four-turn-adlala-vs-adam",
    "4-turn spirals: AdLaLa finds better classifiers than Adam (Figs. 7, 9: test accuracy 0.8 vs 0.67 at 10K steps)",
    "AdLaLa 0.80 vs Adam 0.67 (Fig. 7, one run); notebook: 92.9 % vs 68.6 % after 80K steps",
    f"PyTorch initialisation: AdLaLa {pct(four_judged.mean_a)} vs Adam {pct(four_judged.mean_b)} after "
    f"{four_cfg['steps']} steps ({four_judged.verdict}); Fig. 9's initialisations (Adam N(0, 0.5²), AdLaLa "
    f"N(0, 0.01²)): {pct(fig9_paper_init.mean_a)} vs {pct(fig9_paper_init.mean_b)} after "
    f"{init_cfg['four_turn_steps']} steps ({fig9_paper_init.verdict})",
    thermo.combine_parts([four_judged.verdict, fig9_paper_init.verdict]),
    source="Leimkuhler et al. 2019 Figs. 7, 9; official notebook output", scale=scale, kind="paper",
    reference="paper",
    notes=f"The book's paired rule on {len(four_seeds)} runs (PyTorch initialisation) and on {len(four_init_seeds)} "
          "runs (Fig. 9's initialisations); parts combined. Not Fig. 9's protocol: 100 nodes (500), p = 0.5 (1), "
          "5 % subsampling (2 %), Fig. 10's AdLaLa h = 0.25, γ = 0.1, τ₂ = 1e-4, ε = 0.05 (Fig. 9: h = 0.1, "
          f"γ₂ = 0.03, τ₂ = 1e-5, ε = 0.1), no averaging of the classifier. {four_judged.detail} "
          f"{fig9_paper_init.detail}",
);

# %% [markdown]
# {glue:text}`init_sentence`

# %% [markdown]
# ## Faster, more accurate, more robust?
#
# The abstract's claim, measured on the problems above against SGD and Adam, each word by a paired
# measurement. **More accurate**: the book's paired rule on the final test accuracy.
# **Faster**: a fixed accuracy that both methods reach (90 % of the way from chance, 50 %, to the
# lower of the two final means); each run's first evaluated step at or above it; the paired rule
# on those steps (a run that never gets there counts as slower than every run that does). When the
# rival's final mean is within 5 points of chance there is no common level and speed is not
# judged. **More robust**: the difference of the standard deviations over runs of the final
# accuracy, with a paired bootstrap interval. A rival sitting at chance has a small spread because
# it learned nothing, which is flagged rather than counted as robustness. AdLaLa is the paper's
# own setting of each problem (2-turn: $\gamma = 0.5$).

# %%
problems = {"2-turn spirals": (two_frame, "AdLaLa (γ=0.5)"), "4-turn spirals": (four_frame, "AdLaLa")}
problems.update({f"trigonometric a={a}": (frame, "AdLaLa") for a, (_, frame) in trig.items()})
aspects = thermo.aspects(problems)
aspect_accuracy, aspect_verdicts = figures.aspects_tables(aspects)
report.show(aspect_accuracy, caption="AdLaLa against SGD and Adam: final test accuracy and its spread over runs (points)")

# %%
report.show(aspect_verdicts, caption="Steps to a common accuracy level (evaluation grid), and the three verdicts")

# %% tags=["remove-cell"]
ASPECTS = ("faster", "more accurate", "more robust")
judged = {aspect: aspects[aspects[aspect] != "no common level"] for aspect in ASPECTS}
robust_fair = aspects[~aspects["rival at chance"]]
aspect_counts = {aspect: (int((judged[aspect][aspect] == "reproduced").sum()), len(judged[aspect])) for aspect in ASPECTS}
not_robust = aspects[aspects["more robust"] != "reproduced"]
chance_explains = bool(len(not_robust)) and bool(not_robust["rival at chance"].all())
claims.record(
    "04", "faster-more-accurate-more-robust",
    "Thermodynamic parameterization (AdLaLa) is (i) faster, (ii) more accurate and (iii) more robust than SGD and Adam",
    "claimed in the abstract, on spirals, trigonometric data and MNIST",
    "; ".join(f"{aspect}: {k}/{n} comparisons" for aspect, (k, n) in aspect_counts.items())
    + (f"; every comparison where AdLaLa is not more robust has a rival at chance ("
       + ", ".join(f"{r['against']} on {r['problem']} {pct(r['rival accuracy'])}" for _, r in not_robust.iterrows())
       + ")" if chance_explains else ""),
    claims.verdict_from_fraction(float(np.mean([k / n for k, n in aspect_counts.values() if n]))),
    source="Leimkuhler et al. 2019, abstract", scale=scale, kind="paper", reference=None,
    notes=f"Comparisons: AdLaLa vs SGD and vs Adam on {', '.join(problems)} (trigonometric: our reconstruction; "
          "no MNIST). More accurate and faster: the book's paired rule (faster: steps to 90 % of the way from chance "
          "to the lower final mean; not judged where a rival's final mean is within 5 points of chance); more "
          "robust: paired bootstrap interval of the std difference. Verdict from the mean fraction reproduced over "
          "the three aspects.",
);

# %% [markdown]
# ## What 100 runs cost: the batched ensemble
#
# Every experiment above trains its runs as one batched model whose tensors carry a leading run
# dimension; the optimizers reduce per run (AdLaLa's thermostat) and draw each run's noise from
# its own generator, so run $r$ of the ensemble is the single run with seed $r$. Against a loop of
# single runs (timed on a few, scaled to all; the same training through the same code):

# %%
speed_cfg = config["speedup"]
speedups = thermo.ensemble_speedups({"2-turn, 20 nodes, batch 10": two_task, "4-turn, 100 nodes, batch 25": four_task},
                                    (thermo.ADAM, thermo.FIG10_ADLALA), runs=speed_cfg["runs"],
                                    steps=speed_cfg["steps"], loop_runs=speed_cfg["loop_runs"], device=session.device)
report.show(speedups[["problem", "optimizer", "batched_s", "loop_s_extrapolated", "speedup", "max_final_loss_diff"]]
            .rename(columns={"batched_s": "ensemble (s)", "loop_s_extrapolated": "loop (s, extrapolated)",
                             "speedup": "speed-up", "max_final_loss_diff": "max final-loss difference"}),
            caption=f"{speed_cfg['runs']} runs × {speed_cfg['steps']} steps as one ensemble against a loop of "
                    f"single runs, on {int(speedups['threads'].iloc[0])} thread(s)")

# %% tags=["remove-cell"]
# The numbers the prose cites.
report.glue("run_counts", f"{len(two_seeds)} runs on the 2-turn and {len(four_seeds)} on the 4-turn spirals, "
                          f"{len(trig_seeds)} on the trigonometric data, {len(temp_seeds)} per temperature, "
                          f"{len(sweep_seeds)} per setting of Fig. 10 and {len(sens_seeds)} per cell of Fig. 15, "
                          f"{len(four_init_seeds)} for the 4-turn "
                          "initialisations")
report.glue("two_runs", len(two_seeds))
report.glue("fig8_verdict", fig8_verdict)
report.glue("fig8_summary", fig8_summary)
report.glue("fig8_best_verdict", fig8_decider.verdict)
sgld_ours = sgld_readings.loc["SGLD"]
sgld_step = sgld_readings.loc[sgld_per_step]
report.glue("fig8_sentence",
            f"All of this is over {len(two_seeds)} paired runs. {fig8_summary[0].upper() + fig8_summary[1:]}: against "
            f"the paper, the verdict is **{fig8_verdict}**. AdLaLa (γ = 0.5) against each other method of Fig. 8: "
            f"{thermo.verdict_counts(fig8_best)}. SGLD's σ read as σ√h R gives {pct(sgld_ours['ours'])}, read as the "
            f"noise of one step (σR) {pct(sgld_step['ours'])}, against the paper's "
            f"{pct(thermo.FIG8_PAPER_ACCURACY['SGLD'])}: the "
            + ("per-step reading" if sgld_closer == sgld_per_step else "σ√h reading") + " is the closer one.")
report.glue("four_adlala", pct(four_final.loc["AdLaLa", "mean"]))
report.glue("four_adam", pct(four_final.loc["Adam", "mean"]))
report.glue("four_verdict", four_judged.verdict)
report.glue("four_better", f"{four_judged.fraction_better:.0%}")
report.glue("sweep_counts", thermo.verdict_counts(sweep_judged))
report.glue("trig_lol", trig_verdicts["LOL"])
report.glue("trig_adlala", trig_verdicts["AdLaLa"])
report.glue("fig1_verdict", fig1_entry["verdict"])
report.glue("fig1_range", f"{100 * (temp_final.loc[[s.label for s in paper_temps], 'mean'].max() - temp_final.loc[[s.label for s in paper_temps], 'mean'].min()):.1f}")
xi_predicted = list(xi_lines.values())
report.glue("heat_sentence",
            f"With τ = {min(temp_cfg['taus']):g} the kinetic temperature is all minibatch heat: "
            + " and ".join(f"{coldest.loc[layer, 'measured']:.2g} in {layer}" for layer in coldest.index)
            + f", {heat_over_tau:.3g} times the hottest temperature of Fig. 1 or more, and the prediction "
              f"τ + h²σ_g²/(1 − e^(−2γh)) accounts for it (measured over predicted {ratios.min():.2f} to "
              f"{ratios.max():.2f} over Fig. 1's temperatures). Even at τ = {max(temp_cfg['taus']):g} "
              f"{hottest_share:.0%} or more of each layer's kinetic temperature is not τ's, so "
            + ("**at 2 % subsampling τ cannot matter at Fig. 1's temperatures**: the gradient noise, not τ, sets how "
               "hot BAOAB runs" if heat_holds else "the minibatch heat does not explain the measurement fully")
            + (f". τ begins to count only above them: at τ = {first_hotter['tau'].iloc[0]:g} it is "
               + " and ".join(f"{first_hotter.loc[layer, 'tau'] / first_hotter.loc[layer, 'measured']:.0%} of {layer}'s"
                              for layer in first_hotter.index)
               + f" kinetic temperature, and the mean accuracy is "
                 f"{pct(temp_final.loc[temp_settings[len(paper_temps)].label, 'mean'])} against "
                 f"{pct(temp_final.loc[paper_temps[0].label, 'mean'])} at τ = {min(temp_cfg['taus']):g}"
               if first_hotter is not None else "")
            + f". AdLaLa's thermostat absorbs the same kind of heat by raising its friction: ξ settles at "
              f"{xi_late['ξ W1']:.3g} (W1) and {xi_late['ξ b1']:.3g} (b1) instead of σ_A²/(2τ₁) = {xi_predicted[0]:g}, "
              f"against {xi_predicted[1]:.3g} (W1) and {xi_predicted[2]:.3g} (b1) predicted from the measured noise.")
report.glue("init_sentence",
            "Against PyTorch's default, the Gaussian initial weights move the final mean accuracy by "
            + "; ".join(f"{points(row['Adam'])} points for Adam and {points(row['AdLaLa'])} for AdLaLa "
                        f"(N(0, {s:g}²), {p} spirals)"
                        for (p, s), row in shift_pivot.iterrows())
            + f". AdLaLa is the steadier of the two in {int(adlala_steadier.sum())} of {len(adlala_steadier)} cases. "
              f"With Fig. 9's own pairing on the 4-turn spirals (Adam from N(0, 0.5²), AdLaLa from N(0, 0.01²)) "
              f"AdLaLa reaches {pct(fig9_paper_init.mean_a)} against {pct(fig9_paper_init.mean_b)}: "
              f"**{fig9_paper_init.verdict}**.")
for aspect, (k, n) in aspect_counts.items():
    report.glue(f"aspect_{aspect.replace(' ', '_')}", f"{k} of {n}")
report.glue("robust_sentence",
            ("every comparison where AdLaLa is not the more robust has a rival at chance ("
             + ", ".join(f"{r['against']} on {r['problem']}: {pct(r['rival accuracy'])}, std "
                         f"{100 * r['rival std']:.1f} points" for _, r in not_robust.iterrows())
             + "): a method that learns nothing varies little, so these say nothing about robustness")
            if chance_explains else
            ("AdLaLa is the more robust in every comparison" if not len(not_robust) else
             f"AdLaLa is not the more robust in {len(not_robust)} comparisons, "
             f"{int(not_robust['rival at chance'].sum())} of them against a rival at chance"))
speed_rows = speedups.set_index(["problem", "optimizer"])["speedup"]
report.glue("speedup_range", f"{speed_rows.min():.0f}× to {speed_rows.max():.0f}×")

# %% [markdown]
# ## What we found
#
# On the 2-turn spirals ({glue:text}`two_runs` paired runs) our means are not the paper's:
# {glue:text}`fig8_summary` (verdict: {glue:text}`fig8_verdict`); AdLaLa with γ = 0.5 is still the
# most accurate of Fig. 8's methods ({glue:text}`fig8_best_verdict`). On the 4-turn spirals AdLaLa
# reaches {glue:text}`four_adlala` against Adam's {glue:text}`four_adam`
# ({glue:text}`four_verdict`, better on {glue:text}`four_better` of the paired runs), and against
# Fig. 10's settings: {glue:text}`sweep_counts`. On our reconstructed trigonometric data LOL's
# verdict is {glue:text}`trig_lol` and AdLaLa's {glue:text}`trig_adlala`. The abstract's "faster,
# more accurate, more robust" holds in part: against SGD and Adam, AdLaLa was faster in
# {glue:text}`aspect_faster` comparisons where both reach a common accuracy, more accurate in
# {glue:text}`aspect_more_accurate` and more robust in {glue:text}`aspect_more_robust`;
# {glue:text}`robust_sentence`. Fig. 1's temperatures move BAOAB's accuracy by at most
# {glue:text}`fig1_range` points ({glue:text}`fig1_verdict`), and the measurement says why: at 2 %
# subsampling the minibatch noise heats the network far above those temperatures. A batched
# ensemble trains the runs {glue:text}`speedup_range` faster than a loop, which is what makes
# these run counts affordable on two cores.

# %% [markdown]
# ## What differs from the paper, and why
#
# The trigonometric data are a reconstruction (Eq. 17 was not available), so Figs. 1, 11 and 12 are
# tested on a stand-in. Fig. 8's problem (20 nodes, 500 points, 2 % subsampling) comes from
# Fig. 14's caption. The 4-turn runs use the official code's setting rather than Fig. 9's (listed
# in full in that section: 500 nodes, $p = 1$, 2 % subsampling, $h = 0.1$, $\gamma_2 = 0.03$,
# $\tau_2 = 10^{-5}$, $\varepsilon = 0.1$, Gaussian initialisations, up to 60K steps, averaged
# classifiers). We run fewer steps than Fig. 1 (50K) and Fig. 9, read SGLD's $\sigma$ as
# $\sigma\sqrt h$ (the other reading is run beside it), and infer LOL's layer assignment and its
# $\tau_2 = \tau_1$; AdLaLa's initial $\xi$ is the official code's 0.1; Gaussian initialisations
# redraw the weight matrices only. Run counts are the book's, not always the paper's 100:
# {glue:text}`run_counts`. The MNIST experiments (Figs. 3, 5 left), the loss along the line
# between Adam's and AdLaLa's solutions (Fig. 3), LOL over temperatures (Fig. 16) and Fig. 13
# (500 nodes, $\gamma = 1000$) were not run.
