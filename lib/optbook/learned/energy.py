r"""The port-Hamiltonian net's energy balance, measured step by step in discrete time.

In continuous time E = f(θ) + w·Σ_i H(q_i, p_i), w = out/k, never increases
(:mod:`optbook.learned.port_hamiltonian`). One optimizer step changes it by exactly

.. math::  \Delta E = \underbrace{\bigl[f(\theta_{t+1}) - f(\theta_t) - \nabla f_t^\top \Delta\theta\bigr]}_{\text{the optimizee's remainder}}
           + \underbrace{\bigl[w\,\Delta\textstyle\sum_i H_i + \nabla f_t^\top \Delta\theta\bigr]}_{\text{the net's own}},

because the two brackets add up to Δf + wΔΣH. The first is the optimizee's Taylor remainder
(½ Δθᵀ A Δθ ≥ 0 on a quadratic f = ½θᵀAθ + …): the explicit step's price, which a small step
keeps small. The second is what the latent system does besides exchanging work with the port
(w·Σ G_tu_t·Δq = −∇fᵀΔθ by construction): the exact dissipation (≤ 0) plus the leapfrog's
error in integrating the potential V. With V flat the kicks and drift exchange exactly the
port's work, so the net's own term is the dissipation alone and can never be positive: that is
the discrete guarantee (tested). With a learned V it can be, by the integration error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from optbook.learned.unroll import UnrolledOptimizee

__all__ = ["energy_balance"]


def _per_run(values: torch.Tensor, optimizee: UnrolledOptimizee) -> torch.Tensor:
    """Σ over each run's coordinates of ``values`` [N] (every parameter has a leading run dim)."""
    pieces = optimizee.parameters_at(values).values()
    return sum(piece.reshape(piece.shape[0], -1).sum(1) for piece in pieces)


@torch.no_grad()
def energy_balance(net, task, seeds, steps: int) -> pd.DataFrame:
    """One row per run and step t < ``steps`` of ``net`` on ``task`` (a full-batch objective such
    as the quadratics: the balance compares f at two points, so f must not be a fresh minibatch):
    ``loss`` f(θ_t), ``energy`` E_t, ``change`` ΔE, ``remainder`` and ``net_own`` (module
    docstring; ``change`` = ``remainder`` + ``net_own`` up to rounding)."""
    if not callable(getattr(net, "energy", None)):
        raise ValueError(f"net={type(net).__name__} has no energy(state): the balance is the port-Hamiltonian net's")
    if steps < 1:
        raise ValueError(f"steps={steps!r} must be at least 1")
    model = task.build([int(s) for s in seeds])
    optimizee = UnrolledOptimizee(model, net)
    weight = net.output_scale / net.input_scale
    rows = []
    loss = optimizee.observe().double()
    for step in range(steps):
        energy_before = _per_run(net.energy(optimizee.state).double(), optimizee)
        theta, grad = optimizee.theta.clone(), optimizee.grad.clone()
        optimizee.advance()
        work = _per_run((grad * (optimizee.theta - theta)).double(), optimizee)
        new_loss = optimizee.observe().double()
        energy_after = _per_run(net.energy(optimizee.state).double(), optimizee)
        remainder = new_loss - loss - work
        net_own = weight * (energy_after - energy_before) + work
        rows.append(pd.DataFrame({
            "run": np.arange(model.runs), "seed": list(model.seeds), "step": step, "loss": loss.numpy(),
            "energy": (loss + weight * energy_before).numpy(),
            "change": (new_loss - loss + weight * (energy_after - energy_before)).numpy(),
            "remainder": remainder.numpy(), "net_own": net_own.numpy(),
        }))
        loss = new_loss
    return pd.concat(rows, ignore_index=True)
