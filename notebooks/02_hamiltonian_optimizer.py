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
# # Can we learn gradients by Hamiltonian neural networks?
#
# Chapter 1's learned optimizer is a black box: a two-layer LSTM with 5,221 weights that maps
# gradients to steps. Timofeev, Afonin and Liu {cite}`timofeev2021hnn` (an EPFL course project,
# OPT-ML) replace it with a network shaped like a mechanical system: the update comes out of a
# "port-Hamiltonian" vector field with a potential, a mass, friction and an external force, each
# a tiny learned map, 19 weights in all. Their table reports that this net beats the LSTM on
# random quadratics, comes close on an MNIST MLP, and, unlike the LSTM, still works when the MLP's
# sigmoid units are swapped for ReLU. This chapter re-runs that table, then asks what it leaves
# open: is the comparison fair, does the physics matter, and what did the nets learn?

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
seed = 0  # only 0: the problems here are fixed seeds (held-out problems 0, 1, ...), which the book seed does not move
dataset = "auto"  # "auto" | "mnist" | "mnist-5k"

# %%
import functools
import math

import numpy as np
import pandas as pd
import torch

import optbook
from optbook import baselines, findings, report, scales
from optbook.learned import HNNUpdate
from optbook.studies import hamiltonian as ham
from optbook.studies import hamiltonian_findings as ham_findings
from optbook.studies import learning_to_learn as l2l
from optbook.tasks import book_task

session = optbook.setup(scale=scale, device=device, seed=seed,
                        seed_moves_runs=False)
config = scales.chapter_config("02", scale)
# the LSTM's protocol, which the fair comparison shares
l2l_config = scales.chapter_config("01", scale)
report.config_table(config, caption=f"Chapter 2 at scale={scale}")

# %% [markdown]
# ## Gradient descent as a ball sliding downhill
#
# Gradient descent with a small step is the Euler discretisation of the gradient flow
# $\dot\theta = -\nabla f(\theta)$: a particle in thick syrup, moving at a velocity proportional
# to the slope. Polyak's heavy-ball method gives the particle mass: a position $\theta$, a velocity
# $v$, the force $-\nabla f$ and friction $\gamma$,
#
# $$ \dot\theta = v, \qquad \dot v = -\nabla f(\theta) - \gamma v, $$
#
# which, discretised, is momentum SGD. **Hamiltonian mechanics** writes such a system through one
# scalar, the energy $H(q, p)$ of a position $q$ and a momentum $p$:
# $\dot q = \partial H/\partial p$, $\dot p = -\partial H/\partial q$. Along these equations
# $H$ is constant: energy is conserved. A **port-Hamiltonian** system adds the two things a
# real mechanism has, friction that removes energy and a *port* through which energy enters from
# outside:
#
# $$ \dot q = \frac{\partial H}{\partial p}, \qquad
#    \dot p = -\frac{\partial H}{\partial q} - R(q)\,\frac{\partial H}{\partial p} + g(q)\,u,
#    \qquad R(q) \succeq 0, $$
#
# so that $\dot H = -(\partial_p H)^\top R\, \partial_p H + y\,u$ with the port's output
# $y = g^\top \partial_p H$: the energy changes only by what friction takes and the port exchanges.
# The optimizer view {cite}`timofeev2021hnn` reads this as a design space: learn $H$, $R$ and $g$,
# feed the optimizee's gradient in as the input $u$, and read the update off the motion. The
# net is coordinatewise, as chapter 1's LSTM: every parameter of the optimizee is its own little
# mechanical system, all sharing the learned weights. The idea of learning $H$ with a network is
# Greydanus et al.'s Hamiltonian neural networks {cite}`greydanus2019hamiltonian`; the dissipative
# form with an input port follows Dissipative SymODEN {cite}`zhong2020dissipative`, as the
# project's README says.
#
# ## The published net and the one its name promises
#
# The published code's final net (`src/hamiltonian.py` and `src/meta_optimizer.py` in the OPT-ML
# repository, which we re-implemented) is on the left; on the right, the structure-true variant
# this book adds
# (`optbook.learned.PortHamiltonianUpdate`). Per coordinate, $\nabla_t$ is the optimizee's
# gradient, "pre" the log/sign preprocessing of chapter 1 (on MNIST; the identity on quadratics),
# and $\eta$ the output multiplier.
#
# | | **published (HNN)** | **structure-true (port-Hamiltonian)** |
# |---|---|---|
# | state | $q = \mathrm{pre}(\nabla_t)$, $p = \mathrm{pre}(s_t)$, one carried scalar $s_t$ | a latent $(q_t, p_t)$, at rest at $t = 0$ |
# | energy | none: $V'(q)$ is a small ReLU net standing in for $\partial H/\partial q$ | $H = V_\phi(q) + \tfrac12 p^\top M_\phi^{-1} p$, $\partial_q V$ by autograd |
# | dissipation | $[D_q; D_p] = W_D\,[V'(q); p]$, any matrix $W_D$ | $R_\phi(q) = B_\phi(q) B_\phi(q)^\top \succeq 0$ |
# | field | $\dot q = p - D_q$, $\dot p = (-V'(q) - D_p + G(q))\,LL^\top$ | $\dot q = M^{-1}p$, $\dot p = -\partial_q V - R\,M^{-1}p + g(q)\,k\nabla_t$ |
# | step | one evaluation of the field, no integrator | one leapfrog step of length $h$, friction applied exactly |
# | update | $\theta_{t+1} = \theta_t + \eta\, a^\top[\dot q; q]$ | $\theta_{t+1} = \theta_t - \eta\, g(q_t)^\top (q_{t+1} - q_t)$ |
# | weights | 19 (quadratics), 55 (MNIST) | see the table below |
# | next state | $s_{t+1} = b^\top[\dot q; \dot p] + c$, normalised per tensor on quadratics | $(q_{t+1}, p_{t+1})$ |
#
# On the right the gradient enters the port raw, multiplied by a fixed input scale $k$ (no log/sign
# preprocessing: the energy bookkeeping needs the gradient itself; $k$ brings an MNIST gradient of
# $10^{-3}$ to the scale of the learned force), and the update is the port's output integrated
# over the step and fed back with a minus sign. That closes the loop the way passivity does: in
# continuous time the optimizee's loss plus the optimizer's stored energy, summed over the
# coordinates and weighted by $\eta/k$, can only fall,
#
# $$ \frac{d}{dt}\Big[f(\theta) + \frac{\eta}{k}\sum_i H(q_i, p_i)\Big]
#    = -\frac{\eta}{k}\sum_i (\partial_p H_i)^\top R_i\, \partial_p H_i \;\le\; 0, $$
#
# so the optimizer can store, return and burn energy but never create it. The net takes discrete
# steps, and there the balance holds only up to the integrator's error and the curvature of an
# explicit step: the sum can rise when the steps are large against the damping. With a flat
# potential and constant $g$, $M$, $R$, the symplectic-Euler variant is exactly heavy ball; the
# leapfrog step the chapter's nets take is then a quasi-hyperbolic mix of momentum and the current
# gradient. The library's tests check the heavy-ball case, and that with friction and input
# switched off $H$ is conserved to the leapfrog's second order over 1,000 steps.
#
# ### The published update, from scratch
#
# The published net (the left column of the table above) is a few lines of plain torch. Here a
# freshly initialised MNIST net (d = 2, its
# 55 weights drawn from seed 0) takes one step on four coordinates: the log/sign preprocessing of
# the gradient and of the carried state, one evaluation of the field, and the two linear heads
# that give the update and the next state.

# %%
torch.manual_seed(0)
hnn = HNNUpdate(preprocess_p=10.0)  # the MNIST net (d = 2), freshly initialised
grad = torch.tensor([3e-6, -2e-4, 0.01, -0.5])  # four coordinates' gradients
s = torch.tensor([0.3, -1.2, 0.0, 2.0])  # and the scalar state each carries

# pre(): chapter 1's log/sign encoding, of the gradient and the state at once
x, k = torch.stack((grad, s)), hnn.preprocess_p
large = x.abs() >= math.exp(-k)
log_part = torch.where(large, x.abs().clamp_min(math.exp(-k)).log() / k, -1.0)
sign_part = torch.where(large, x.sign(), x * math.exp(k))
q, p = torch.stack((log_part, sign_part), dim=-1)  # each [4 coordinates, 2]

V1, _, V2 = hnn.potential_grad  # Linear, ReLU, Linear: V'(q)
G1, _, G2 = hnn.force  # the same shape: the input force G(q)
with torch.no_grad():
    dV = (q @ V1.weight.T + V1.bias).relu() @ V2.weight.T + V2.bias
    G = (q @ G1.weight.T + G1.bias).relu() @ G2.weight.T + G2.bias
    D_q, D_p = (torch.cat((dV, p), -1) @ hnn.dissipation.weight.T).chunk(2, -1)
    M = hnn.mass.weight @ hnn.mass.weight.T  # M = L Lᵀ
    q_dot, p_dot = p - D_q, (-dV - D_p + G) @ M  # the field, evaluated once
    a, b = hnn.update_head, hnn.state_head  # linear heads; a has no bias
    update = hnn.output_scale * (torch.cat((q_dot, q), -1) @ a.weight.T)[:, 0]
    s_next = (torch.cat((q_dot, p_dot), -1) @ b.weight.T + b.bias)[:, 0]

# %% [markdown]
# The library's `HNNUpdate`, called as `LearnedOptimizer` calls it, gives the same update and
# the same next state:

# %%
with torch.no_grad():
    library_update, (library_s,) = hnn(grad, (s,))
torch.testing.assert_close(update, library_update)
torch.testing.assert_close(s_next, library_s)
difference = max((update - library_update).abs().max(),
                 (s_next - library_s).abs().max())
print(f"from scratch equals the library: max difference {difference:.1g}")

# %% [markdown]
# **What a reader should know about the published net**, from its code, its `main.ipynb` and
# the repository's history, in plain words:
#
# - *"Hamiltonian" is a name, not a property.* There is no energy function, the friction matrix
#   can push energy in as well as take it out, and there is no integrator. The repository's
#   first notebook, `OPT_ML.ipynb`, had a true energy; the commit "HNN model change" replaced
#   it. The right column is what the name promises.
# - *The published comparison with the LSTM was uneven.* In `main.ipynb` the HNN was trained
#   with unroll 15, the LSTM with 20; only the HNN's learning rate and output scale were
#   searched; and on MNIST the LSTM was trained with output multiplier 0.1 but *evaluated* at
#   1.0, ten times larger steps. That is what puts its ReLU curve at chance level (question 1
#   tests it), though at its own scale it still loses to a tuned baseline there (chapter 1).
# - *The baselines were not tuned for this comparison:* their learning rates were copied from an
#   earlier PyTorch re-implementation of chapter 1's paper {cite}`chen2019l2l`, tuned there on a
#   different criterion. "SGD" there is momentum SGD.
# - *One seed, one run.* Every number is the mean over 100 problems of one trained net.
#
# Both nets are ordinary update nets of the library: they are meta-trained by the engine of
# chapter 1, evaluated by the same code, and usable on any `nn.Module` through `LearnedOptimizer`.

# %%
ham_findings.weights_table(config)

# %% [markdown]
# ## The nets we train
#
# Three protocols, all on chapter 1's engine (truncated backpropagation through unrolls, the
# optimizee's gradient treated as data, every step's loss in the meta-objective):
#
# - **published**: OPT-ML's own protocol for its HNN: unroll 15, Adam at meta-learning rate 0.01,
#   output multiplier 0.001, 2,000 training quadratics and 1,000 MNIST problems of 100 steps,
#   the best net kept by validation after every 20 problems;
# - **fair**: chapter 1's LSTM protocol, unchanged, for every net: the same unroll (20), number of
#   problems, meta-gradient clipping and validation; on MNIST the LSTM is chapter 1's net itself;
# - **search** (quadratics): the fair protocol at each of chapter 1's three meta-learning rates,
#   with its shorter training, for every net alike; the net with the best *validation* score is
#   kept (the evaluation problems are never seen). Chapter 1 trained these LSTMs for its
#   sensitivity study, so they are reused as they ship.
#
# The HNN keeps its published output multiplier (0.001) and inputs throughout. The
# port-Hamiltonian net's output multiplier, input scale and step size $h$ have no published
# values: we fixed them with a short pilot (30–40 training problems per setting, scored on
# validation problems), which the other nets did not get. Larger steps diverged during
# meta-training on quadratics; on MNIST, without an input scale, the raw gradients were too small
# to move the latent system and nothing was learned.
#
# Every net ships in the package's `optbook/checkpoints/` and is loaded when its fingerprint (net
# class, task, config, protocol) matches; otherwise it is trained here.

# %%
trained_net = functools.partial(l2l.trained_net, device=session.device)
spec = functools.partial(ham.net_spec, scale=scale, dataset=dataset)
published = {problem: trained_net(spec("hnn", problem, protocol="published"))
             for problem in ham.PROBLEMS}
searches = {
    net: {lr: trained_net(net_spec)
          for lr, net_spec in ham.search_specs(net, scale, dataset).items()}
    for net in ham.NETS
}
fair = {
    "quadratic": {net: searches[net][ham.best_of_search(searches[net])]
                  for net in ham.NETS},
    "mnist": {net: trained_net(spec(net, "mnist", protocol="fair"))
              for net in ham.NETS},
}
mnist_task = book_task("mnist-sigmoid", dataset=dataset)
quadratic_task = book_task("quadratic")
relu_task = book_task("mnist-relu", dataset=dataset)
data_name = mnist_task.data().name
report.show(ham.search_table({ham.NETS[n][2]: searches[n] for n in ham.NETS}),
            caption="Quadratic search: best validation score (mean loss over "
                    "100 steps) per net and meta-learning rate; * kept")

# %%
l2l.throughput_table({
    "HNN, published, quadratic": published["quadratic"],
    "HNN, published, MNIST": published["mnist"],
    "HNN, fair, MNIST": fair["mnist"]["hnn"],
    "port-Ham., fair, MNIST": fair["mnist"]["port-hamiltonian"],
    "LSTM, fair, MNIST": fair["mnist"]["lstm"],
})

# %% [markdown]
# Meta-training every HNN and port-Hamiltonian net of this chapter from scratch took
# {glue:text}`training.time_all_ours` minutes on one CPU thread of this machine: the published protocol's
# quadratic net {glue:text}`training.time_published_quadratic` minutes, its MNIST net
# {glue:text}`training.time_published_mnist`; under chapter 1's MNIST protocol the HNN took
# {glue:text}`training.time_fair_hnn_mnist` minutes, the port-Hamiltonian net {glue:text}`training.time_fair_ph_mnist`
# and chapter 1's LSTM {glue:text}`training.time_fair_lstm_mnist`: the small nets are cheap to train. The
# search kept meta-learning rate {glue:text}`training.lr_hnn` for the HNN, {glue:text}`training.lr_port-hamiltonian`
# for the port-Hamiltonian net and {glue:text}`training.lr_lstm` for the LSTM.
#
# ## Question 1: the published table, re-run
#
# OPT-ML's table (in the stored outputs of its `main.ipynb`) gives the loss at step 100, the
# mean over 100 problems, on quadratics, on the MNIST MLP with 20 sigmoid units, and on the same
# MLP with ReLU units run by the optimizers trained on the sigmoid one. We re-run it as published:
# the HNN trained under its own protocol; the LSTM is chapter 1's (trained with unroll 20 at the
# meta-learning rates of the PyTorch re-implementation {cite}`chen2019l2l`, as OPT-ML's was)
# and, as OPT-ML did, run at output multiplier 1.0 on MNIST though trained at 0.1; the baselines
# at the learning rates OPT-ML copied from that re-implementation. All on chapter 1's 100
# held-out problems (seeds 0–99), which no net saw in training or validation.

# %%
n_eval, steps = config["evaluation_seeds"], config["steps"]
# chapter 1's ReLU runs, reused: a run's first steps do not depend on its length
lstm_transfer_steps = l2l_config["transfer_steps"]
evaluate = functools.partial(l2l.evaluate_learned, n_seeds=n_eval,
                             device=session.device)
lstm_mnist = fair["mnist"]["lstm"]
lstm_quadratic = l2l.chapter_net("quadratic", l2l_config, scale, dataset,
                                 session.device)
opt_ml_scale = 1.0  # OPT-ML's evaluation multiplier for its MNIST-trained LSTM

# the baselines at the learning rates OPT-ML copied from the re-implementation
at_their_rates = functools.partial(baselines.evaluation_runs, n_seeds=n_eval,
                                   steps=steps, device=session.device)
their_lrs = baselines.REFERENCE_LRS

as_published = {
    quadratic_task.title: pd.concat([
        at_their_rates(quadratic_task, their_lrs["quadratic"]),
        evaluate(quadratic_task, published["quadratic"], steps=steps,
                 method="HNN"),
        evaluate(quadratic_task, lstm_quadratic, steps=steps),
    ], ignore_index=True),
    mnist_task.title: pd.concat([
        at_their_rates(mnist_task, their_lrs["mnist-sigmoid"]),
        evaluate(mnist_task, published["mnist"], steps=steps, method="HNN"),
        evaluate(mnist_task, lstm_mnist, steps=steps,
                 output_scale=opt_ml_scale),
    ], ignore_index=True),
    relu_task.title: pd.concat([
        at_their_rates(relu_task, their_lrs["mnist-relu"]),
        evaluate(relu_task, published["mnist"], steps=steps, method="HNN"),
        ham.truncated(evaluate(relu_task, lstm_mnist, steps=lstm_transfer_steps,
                               output_scale=opt_ml_scale), steps),
    ], ignore_index=True),
}
task_keys = {quadratic_task.title: "quadratic",
             mnist_task.title: "mnist-sigmoid", relu_task.title: "mnist-relu"}
reference = {
    title: {**ham.OPT_ML_TABLE[key], **baselines.REFERENCE_FINAL_LOSS[key]}
    for title, key in task_keys.items()
}
ham.published_table(as_published, reference, steps,
                    list(their_lrs["quadratic"]))

# %% tags=["hide-input"]
fig = l2l.loss_figure(
    as_published,
    f"OPT-ML's table re-run: HNN and LSTM (solid), baselines at OPT-ML's "
    f"rates (dashed), {n_eval} problems",
    scale, data_name, learned=("HNN", "LSTM"))

# %% [markdown]
# Judged by the book's paired rule (chapter 1: the mean and the median of the per-problem
# differences, each with its 95% interval, on the same problems):
#
# - **Quadratics**, "the HNN is lowest" (its closest rival here:
#   {glue:text}`published-quadratic.against`): {glue:text}`published-quadratic.verdict`;
#   {glue:text}`published-quadratic.text`.
# - **MNIST**, "the LSTM beats the HNN": {glue:text}`published-mnist.verdict`;
#   {glue:text}`published-mnist.text`.
# - **ReLU**, "the HNN transfers, the LSTM fails": {glue:text}`published-relu.verdict`;
#   {glue:text}`published-relu.text`.
#
# Our MNIST problems use {glue:text}`training.data`, not the full MNIST OPT-ML used, so absolute
# losses differ; the orderings are what the claims are about. Two things stand out. On ReLU the
# LSTM at ten times its training multiplier sits at {glue:text}`published-relu.lstm_mean`, chance level, just
# as in OPT-ML's table. On the sigmoid MLP the same tenfold multiplier costs it much more here
# ({glue:text}`published-mnist.lstm_mean`) than in OPT-ML's table (0.29), so the MNIST ordering flips; our
# LSTM, trained with chapter 1's protocol, is not OPT-ML's net, and how much a net tolerates a
# tenfold step is a property of that particular net. On quadratics our HNN ({glue:text}`published-quadratic.hnn_mean`)
# does worse and our LSTM ({glue:text}`published-quadratic.lstm_mean`) better than the published 0.23 and 0.25.
#
# ## Question 2: the fair comparison
#
# Now every learned net is trained under chapter 1's LSTM protocol (same unroll, number of
# training problems, clipping and validation, and on quadratics the same three-value search of the
# meta-learning rate) and run at the output multiplier it was trained with. The baselines are
# chapter 0's, each at the learning rate tuned there for the task by the paper's criterion. The
# quadratic runs are 100 steps; the MNIST runs reuse chapter 1's evaluations where they exist.

# %%
fair_runs = functools.partial(
    ham.fair_runs, l2l_config=l2l_config, steps=steps, n_eval=n_eval,
    scale=scale, dataset=dataset, device=session.device)
fair_frames = {
    quadratic_task.title: fair_runs("quadratic", quadratic_task,
                                    fair["quadratic"]),
    mnist_task.title: fair_runs("mnist-sigmoid", mnist_task, fair["mnist"]),
    relu_task.title: fair_runs("mnist-relu", relu_task, fair["mnist"]),
}
fair_values = {title: l2l.per_problem(frame, steps)
               for title, frame in fair_frames.items()}
ham.summary_table(fair_frames, steps)

# %% tags=["hide-input"]
hnn_and_lstm = {title: frame[frame["method"] != "port-Hamiltonian"]
                for title, frame in fair_frames.items()}
fig = l2l.loss_figure(
    hnn_and_lstm,
    f"The fair comparison: HNN and LSTM (solid) under one protocol, tuned "
    f"baselines (dashed), {n_eval} problems",
    scale, data_name, learned=("HNN", "LSTM"))

# %% [markdown]
# Under one protocol, "the HNN beats the LSTM":
#
# - **Quadratics:** {glue:text}`fair-quadratic.verdict`; {glue:text}`fair-quadratic.text`.
#   Against the tuned baselines the HNN's verdict is {glue:text}`fair-quadratic.tuned`.
# - **MNIST:** {glue:text}`fair-mnist.verdict`; {glue:text}`fair-mnist.text`. Against the
#   tuned baselines, {glue:text}`fair-mnist.tuned`.
# - **ReLU transfer:** {glue:text}`fair-relu.verdict`; {glue:text}`fair-relu.text`. Against
#   the baselines tuned for ReLU, {glue:text}`fair-relu.tuned`.
#
# ### Is the LSTM's ReLU failure a scale artefact?
#
# The same MNIST-trained LSTM on the same ReLU problems, once at the output multiplier it was
# trained with and once at ten times it, as OPT-ML ran it.

# %%
lstm_as_trained = f"LSTM (×{lstm_mnist.net.output_scale:g}, as trained)"
lstm_as_opt_ml = f"LSTM (×{opt_ml_scale:g}, as OPT-ML)"
scale_runs = pd.concat([
    fair_frames[relu_task.title].query("method in ['LSTM', 'HNN']").replace(
        {"method": {"LSTM": lstm_as_trained}}),
    as_published[relu_task.title].query("method == 'LSTM'").replace(
        {"method": {"LSTM": lstm_as_opt_ml}}),
], ignore_index=True)
ham.summary(scale_runs, steps)

# %% tags=["hide-input"]
fig = l2l.loss_figure(
    {relu_task.title: scale_runs},
    "The MNIST-trained LSTM on ReLU units at two output multipliers",
    scale, data_name, learned=("HNN", "LSTM"))

# %% [markdown]
# The LSTM on ReLU: {glue:text}`lstm-relu-scale-artefact.text`, so "its chance-level curve is a
# scale artefact" is **{glue:text}`lstm-relu-scale-artefact.verdict`**. Whether, at its training
# multiplier, it still loses to the HNN is the fair ReLU verdict above:
# {glue:text}`fair-relu.verdict` for "the HNN beats the LSTM".
#
# ## Question 3: does the physics help?
#
# The published net and the structure-true port-Hamiltonian net, trained under the same (fair)
# protocol with the same search, on the same problems.

# %% tags=["hide-input"]
physics_frames = {
    title: frame[frame["method"].isin(["HNN", "port-Hamiltonian"])]
    for title, frame in fair_frames.items()
}
fig = l2l.loss_figure(
    physics_frames,
    f"Published HNN against the structure-true port-Hamiltonian net, "
    f"{n_eval} problems",
    scale, data_name, learned=("HNN", "port-Hamiltonian"))

# %% [markdown]
# "The port-Hamiltonian net ends lower than the published HNN", at step
# {glue:text}`hnn-learns-momentum.n_steps`:
#
# - **Quadratics:** {glue:text}`physics-helps-quadratic.verdict`;
#   {glue:text}`physics-helps-quadratic.text`.
# - **MNIST:** {glue:text}`physics-helps-mnist-sigmoid.verdict`;
#   {glue:text}`physics-helps-mnist-sigmoid.text`.
# - **ReLU:** {glue:text}`physics-helps-mnist-relu.verdict`;
#   {glue:text}`physics-helps-mnist-relu.text`.
#
# The guarantee the structure buys, that in continuous time the optimizer never adds energy, is a
# statement about stability, not speed, and it does not make the net learn a better rule under this budget. Our
# reading of why it does worse (not tested separately): its input is the raw gradient, whose size
# differs by orders of magnitude between tasks and between layers, while the published net and
# the LSTM see the log/sign-preprocessed gradient on MNIST; its fixed input scale was set on the
# sigmoid MLP, so on ReLU units, whose gradients are larger, the same latent system is driven
# harder; and on quadratics its meta-training was unstable in the pilot. These are readings, not
# results: the input and the structure have not been separated by an ablation here.
#
# ## Question 4: what was learned?
#
# A learned optimizer is a map from gradient histories to steps. We feed each net trained under
# the fair protocol a gradient held constant at one value for {glue:text}`hnn-learns-momentum.probe_steps` steps, for
# many values, each as its own tensor (the HNN normalises its state per tensor, so probing all
# values as one tensor would make each response depend on the others), and plot the step it
# takes: on the left its size at the first
# and the last step against the gradient (the update as a function of the gradient, from rest and
# from the state the constant gradient built up), on the right the step relative to the first one
# for the middle gradient probed (the update as a function of the state). Momentum SGD and Adam at
# chapter 0's tuned rates are drawn dashed: momentum SGD's step is proportional to the gradient
# and grows tenfold as the velocity builds up; Adam's first step is the learning rate whatever
# the gradient's size.

# %%
probe_values = {"quadratic": np.logspace(-2, 2, 41),
                "mnist": np.logspace(-6, 0, 41)}
responses = {}
for problem, task_key, title in (
        ("quadratic", "quadratic", quadratic_task.title),
        ("mnist", "mnist-sigmoid", mnist_task.title)):
    rates = baselines.tuned_learning_rates(
        task_key, scales.tuning_protocol(scale, task_key), dataset=dataset,
        device=session.device, progress=False)
    nets = {ham.NETS[net][2]: fair[problem][net].net for net in ham.NETS}
    responses[title] = ham.update_responses(
        nets, rates, probe_values[problem], config["probe_steps"])

# %% tags=["hide-input"]
fig = ham.response_figure(
    responses, (0, config["probe_steps"] - 1),
    "The update as a function of a constant gradient", scale)

# %% tags=["remove-cell"]
findings.publish("02", [
    ham_findings.training_findings(published, searches, fair, data_name),
    ham_findings.published_findings(as_published, task_keys, steps, n_eval, opt_ml_scale, data_name),
    ham_findings.fair_findings(fair_values, task_keys, steps, n_eval, data_name),
    ham_findings.scale_findings(scale_runs, lstm_as_trained, lstm_as_opt_ml, steps, n_eval, data_name),
    ham_findings.physics_findings(fair_values, task_keys, steps, n_eval, data_name),
    ham_findings.momentum_findings(responses, task_keys, config["probe_steps"], steps),
], scale=scale)

# %% [markdown]
# The HNN's first step scales with the gradient with slope {glue:text}`hnn-learns-momentum.slope_quadratic` on
# quadratics and {glue:text}`hnn-learns-momentum.slope_mnist-sigmoid` on MNIST (in log–log; SGD's is 1, Adam's 0), and
# under a constant gradient its step changes by a factor {glue:text}`hnn-learns-momentum.growth_quadratic` (quadratics)
# and {glue:text}`hnn-learns-momentum.growth_mnist-sigmoid` (MNIST) over {glue:text}`hnn-learns-momentum.probe_steps` steps, against
# {glue:text}`hnn-learns-momentum.momentum_growth_quadratic` and {glue:text}`hnn-learns-momentum.momentum_growth_mnist-sigmoid` for momentum SGD
# under the same probe and 1 for SGD. Whichever of the two it is closer to (on a log scale) is
# what it moves like; no threshold of ours decides.
#
# ## What we found
#
# All numbers are losses at step {glue:text}`hnn-learns-momentum.n_steps` on the same {glue:text}`evaluation.n_eval` held-out
# problems for every method, judged by the book's paired rule (mean and typical problem); MNIST
# problems use {glue:text}`training.data`.
#
# - **The published table, re-run as published** (question 1): "the HNN is lowest on
#   quadratics" is {glue:text}`published-quadratic.verdict`
#   ({glue:text}`published-quadratic.plainly`); "the LSTM is ahead of the HNN on MNIST",
#   {glue:text}`published-mnist.verdict` ({glue:text}`published-mnist.plainly`); "the HNN is
#   ahead of the LSTM on ReLU", {glue:text}`published-relu.verdict`
#   ({glue:text}`published-relu.plainly`).
# - **The fair comparison** (question 2): with one protocol for both, "the HNN beats the LSTM"
#   is {glue:text}`fair-quadratic.verdict` on quadratics
#   ({glue:text}`fair-quadratic.plainly`), {glue:text}`fair-mnist.verdict` on MNIST
#   ({glue:text}`fair-mnist.plainly`) and {glue:text}`fair-relu.verdict` on ReLU
#   ({glue:text}`fair-relu.plainly`). Against chapter 0's tuned baselines, "the HNN beats every
#   baseline" is {glue:text}`fair-quadratic.tuned_verdict` on quadratics,
#   {glue:text}`fair-mnist.tuned_verdict` on MNIST and {glue:text}`fair-relu.tuned_verdict` on
#   ReLU (question 2 names the baseline that ended lowest). The abstract's "outperforms many basic
#   optimizers", judged against each tuned baseline on quadratics:
#   {glue:text}`hnn-beats-tuned-baselines-quadratic.said`
#   ({glue:text}`hnn-beats-tuned-baselines-quadratic.beaten` beaten). The LSTM's flat ReLU curve is a
#   scale artefact, **{glue:text}`lstm-relu-scale-artefact.verdict`**
#   ({glue:text}`lstm-relu-scale-artefact.text`); at its own scale it still transfers worse
#   than the HNN.
# - **The physics** (question 3): "the structure-true net ends lower than the published one" is
#   {glue:text}`physics-helps-quadratic.verdict` on quadratics
#   ({glue:text}`physics-helps-quadratic.plainly`), {glue:text}`physics-helps-mnist-sigmoid.verdict`
#   on MNIST ({glue:text}`physics-helps-mnist-sigmoid.plainly`) and
#   {glue:text}`physics-helps-mnist-relu.verdict` on ReLU
#   ({glue:text}`physics-helps-mnist-relu.plainly`).
# - **What was learned** (question 4): under a constant gradient the HNN's step grows by a factor
#   {glue:text}`hnn-learns-momentum.growth_quadratic` on quadratics and {glue:text}`hnn-learns-momentum.growth_mnist-sigmoid` on MNIST,
#   momentum SGD's under the same probe by {glue:text}`hnn-learns-momentum.momentum_growth_quadratic` and
#   {glue:text}`hnn-learns-momentum.momentum_growth_mnist-sigmoid`, SGD's not at all:
#   {glue:text}`hnn-learns-momentum.plainly`. On MNIST the
#   size of its first step hardly depends on the gradient's (log–log slope
#   {glue:text}`hnn-learns-momentum.slope_mnist-sigmoid`; Adam's is 0, SGD's 1): a sign-like rule, which the log/sign
#   preprocessing makes easy to learn.
# - **Cost:** the small nets train in minutes ({glue:text}`training.time_all_ours` minutes for all of this
#   chapter's HNN and port-Hamiltonian nets on one thread), against {glue:text}`training.time_fair_lstm_mnist`
#   minutes for chapter 1's MNIST LSTM.
#
# The ledger ({doc}`../claims`) holds each claim with the reference value, its source, and ours.
