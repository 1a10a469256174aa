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
# # What it costs
#
# The four papers argue about quality, but each also makes a promise about cost. Hypergradient
# descent needs "only one additional copy of the original gradient" {cite}`baydin2018online`; the
# thermodynamic integrators draw one Gaussian number per weight and step
# {cite}`leimkuhler2019partitioned`; a learned optimizer runs a small network on every coordinate of
# the model it trains, and before that it must itself be trained {cite}`andrychowicz2016learning`.
# This page measures what each of those costs on the machine that built the book, against what
# the machine could do at best: every step time beside its **floor**, the least time the same
# arithmetic can take here.
#
# Three costs matter to a reader, and the page takes them in turn: one optimizer step, many runs
# of a small model (the book runs its seeds as one batched ensemble), and meta-training a learned
# optimizer. Everything is measured when the page executes, by the same functions
# `optbook bench` prints; nothing here is cached, because a cached timing would describe another
# machine.

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
seed = 0  # only 0: timings do not depend on it (kept so every page takes the same parameters)
dataset = "auto"  # "auto" | "mnist" | "mnist-5k"
threads = 1  # torch threads for the timings (1: the ratios do not depend on a neighbour's load)

# %%
import optbook
from optbook import bench, findings, report, scales
from optbook.studies import costs

session = optbook.setup(scale=scale, device=device, seed=seed,
                        seed_moves_runs=False)
config = scales.chapter_config("90", scale)
report.config_table(config, caption=f"What it costs, at scale={scale}")

# %% [markdown]
# All timings run on one thread, so a ratio does not depend on what else the machine is doing;
# each is a median over interleaved repetitions (a candidate and its reference share any drift of
# the machine's load). The machine:

# %%
with bench.torch_threads(threads):
    machine = bench.environment(session.device)
print(machine)

# %% [markdown]
# ## One step
#
# An optimizer step reads and writes every parameter a few times, and on a CPU it is bound by
# memory rather than arithmetic. So the floor of an elementwise optimizer is its count of
# *passes*, reads or writes of a parameter-sized tensor, times the measured time of one pass;
# the Langevin family adds one Gaussian draw per coordinate, timed the same way. A learned
# optimizer does real arithmetic per coordinate: its floor is its net's multiply-adds at the rate
# of one large matrix product on this machine. Every optimizer below runs on the same MLP, on
# real gradients, and only `optimizer.step()` is timed.

# %%
with bench.torch_threads(threads):
    step_costs = costs.step_costs(config["steps"], session.device)

# %% tags=["hide-input"]
fig = costs.step_cost_figure(step_costs, scale, step_costs.attrs["parameters"])

# %%
report.show(costs.step_table(step_costs),
            caption=costs.step_caption(step_costs))

# %% [markdown]
# How to read the floor column: a ratio near 1 means the step does little beyond the arithmetic
# the method needs; the rest is per-tensor Python work and kernels that could be fused. The
# passes follow each method's definition; the hypergradient is a dot product that must finish
# before the update can use it, so it is a sweep of its own:

# %%
report.show(costs.passes_table(),
            caption="The passes of each elementwise optimizer's floor")

# %% [markdown]
# A learned optimizer's floor is the larger of its net's multiply-adds at the machine's
# matrix-product rate and the passes its per-coordinate state needs: the LSTM keeps h and c of
# both layers for every coordinate, the HNN and the port-Hamiltonian net far less, and each is read
# and written once a step.

# %% [markdown]
# ## Many runs at once
#
# The book's statistics rest on many independent runs: 100 seeds of the spirals perceptron in
# chapter 4, 100 problems per claim in chapters 1 and 2. Run one by one, a small model spends its
# time in Python and in kernel launches, not in arithmetic. Run as one model whose weights carry a
# leading run dimension, the same kernels do R runs' work. The figure puts the cost per run of
# one batched ensemble against a loop of single runs (the same seeds, the same code) and against
# the ensemble's **floor**: the same batched run with an optimizer that does not update, so what
# remains is building the runs, their forward and backward passes and their evaluations.

# %%
with bench.torch_threads(threads):
    ensemble_costs = costs.ensemble_costs(config["ensembles"], session.device)

# %% tags=["hide-input"]
fig = costs.ensemble_figure(ensemble_costs, scale)

# %%
loop_runs = config["ensembles"]["loop_runs"]
report.show(costs.ensemble_table(ensemble_costs),
            caption=costs.ensemble_caption(ensemble_costs, loop_runs))

# %% [markdown]
# ## Training the learned optimizer
#
# A learned optimizer is paid for twice: once to meta-train it, by backpropagation through the
# trajectories it produces, and then at every step it takes. The coordinatewise LSTM of
# chapter 1 runs one two-layer, 20-unit LSTM on every coordinate of the model. Our implementation
# keeps the coordinates as the columns of each gate matrix, walks them in blocks that stay in the
# CPU's cache, and writes the backward by hand; one layer in plain torch, as the library computes
# it (`optbook.learned.lstm_layer`), is
#
# ```python
# # [4·hidden, coordinates]; the g rows are doubled: tanh z = 2σ(2z) − 1
# gates = torch.sigmoid(W_ih @ x + W_hh @ h + b[:, None])
# i, f, s_g, o = gates.split(hidden)
# c = f * c + i * (2 * s_g - 1)
# h = o * (2 * torch.sigmoid(2 * c) - 1)
# ```
#
# The reference is the same LSTM written with `torch.nn.LSTMCell` doing only its own forward and
# backward on as many coordinates; ours also trains the optimizee in the same time.

# %%
with bench.torch_threads(threads):
    meta_costs = costs.meta_costs(config["meta"], dataset, session.device)
report.show(costs.meta_table(meta_costs),
            caption=costs.meta_caption(meta_costs))

# %% [markdown]
# ## On a GPU
#
# The same page runs on a GPU with `-p device cuda` (every timed region then waits for the
# device). The column of the device this page did not run on says so.

# %%
headline = costs.summary_table(step_costs, ensemble_costs, meta_costs,
                              session.device)
report.show(headline, caption="The headline ratios, per device")

# %% tags=["remove-cell"]
findings.publish("90", costs.findings(step_costs, ensemble_costs, meta_costs), scale=scale)

# %% [markdown]
# ## What we found
#
# On the MLP of {glue:text}`steps.parameters` parameters, an Adam-HD step costs
# {glue:text}`steps.adam_hd` an Adam step and an SGD-HD step {glue:text}`steps.sgd_hd` an SGD
# step ({glue:text}`steps.sgd_hd_floor` its floor): the extra copy of the gradient and the dot
# product are the price, as the paper says, and on a memory-bound step they are not free. A step of
# AdLaLa costs {glue:text}`steps.adlala` an SGD step (BAOAB {glue:text}`steps.baoab`); the Langevin
# steps stay within {glue:text}`steps.langevin_floor` of their floors, most of which is the Gaussian
# draw. The learned optimizers cost, against an Adam step: {glue:text}`steps.learned_range`. The
# LSTM's step is {glue:text}`steps.lstm_floor` its multiply-add floor: its gates are elementwise work
# that no matrix unit speeds up.
#
# With {glue:text}`ensembles.largest` runs as one ensemble, AdLaLa trains
# {glue:text}`ensembles.adlala_speedup` faster per run than a loop of single runs, Adam
# {glue:text}`ensembles.adam_speedup`; the ensembles cost {glue:text}`ensembles.adlala_floor`
# (AdLaLa) and {glue:text}`ensembles.adam_floor` (Adam) of their floor. Even an optimizer that cost
# nothing could not beat the loop by more than {glue:text}`ensembles.best_possible` here: the rest
# is the model's own forward and backward passes.
#
# Meta-training the LSTM runs at {glue:text}`meta.train` optimizee steps per second,
# {glue:text}`meta.train_vs_reference` the throughput of the `nn.LSTMCell` reference that trains no
# optimizee, and frozen evaluation at {glue:text}`meta.evaluation_vs_reference`; both are far from
# the multiply-add floor (training at {glue:text}`meta.train_vs_floor` of it, with
# {glue:text}`meta.multiply_adds` multiply-adds per coordinate and step): a small LSTM is bound by
# its elementwise gate arithmetic and memory traffic, not by its matrix products.
