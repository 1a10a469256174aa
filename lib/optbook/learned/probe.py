r"""What a (trained) update net does, as tidy frames: its response to chosen gradient sequences,
and the learned pieces of a port-Hamiltonian net.

A learned optimizer is a map from gradient histories to updates. Feeding it synthetic histories
shows what it learned: the first update against the gradient (an effective learning rate,
−g_0/∇), the updates under a constant gradient (momentum builds up, or the update saturates),
the reaction to a sign flip. Any net of the update-net protocol works (LSTM, HNN,
port-Hamiltonian). Each probed coordinate is its own parameter tensor (its own segment) unless
``one_tensor`` is set. This matters only for nets with per-tensor reductions (the HNN's
``normalize_state``): probed as one tensor, a coordinate's response would depend on the other
values probed beside it (41 gradients spanning four decades share one norm), which no
optimizee's tensor resembles; as its own tensor, each value shows what the net does to it alone.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch

from optbook.learned.protocol import call_net, check_update_net, net_dtype

__all__ = ["constant_gradient_response", "gradient_response", "port_hamiltonian_landscape"]


@torch.no_grad()
def gradient_response(net, gradients: torch.Tensor, one_tensor: bool = False) -> pd.DataFrame:
    """The net (frozen) fed ``gradients`` [T, C]: row t is ∇_t of C independent coordinates,
    starting from the initial state, each coordinate its own tensor (``one_tensor``: all C one
    tensor). One row per (step, coordinate): ``step``, ``coordinate``, ``gradient``, ``update``
    g_t, ``displacement`` θ_{t+1} − θ_0 = Σ_{s≤t} g_s."""
    check_update_net(net)
    gradients = torch.as_tensor(gradients)
    if gradients.dim() != 2 or 0 in gradients.shape:
        shape = tuple(gradients.shape)
        raise ValueError(f"gradients must be a non-empty [steps, coordinates] tensor, got shape {shape}")
    device = next(net.parameters()).device
    gradients = gradients.to(device=device, dtype=net_dtype(net, torch.float32))
    steps, coords = gradients.shape
    segments = (torch.zeros(coords, dtype=torch.long, device=device) if one_tensor
                else torch.arange(coords, device=device))
    state = net.initial_state(coords, device)
    updates = torch.empty_like(gradients)
    for t in range(steps):
        updates[t], state = call_net(net, gradients[t], state, lambda: segments)
    values, moved = gradients.cpu().numpy(), updates.cpu().numpy()
    return pd.DataFrame({
        "step": np.repeat(np.arange(steps), coords),
        "coordinate": np.tile(np.arange(coords), steps),
        "gradient": values.reshape(-1),
        "update": moved.reshape(-1),
        "displacement": np.cumsum(moved, axis=0).reshape(-1),
    })


def constant_gradient_response(net, values: Sequence[float], steps: int, one_tensor: bool = False) -> pd.DataFrame:
    """:func:`gradient_response` to a gradient held at each of ``values`` for ``steps`` steps, plus
    ``effective_lr`` = −update / gradient (the step size of an equivalent SGD step; NaN at 0)."""
    if steps < 1:
        raise ValueError(f"steps={steps!r} is not allowed; use an integer >= 1")
    values = torch.as_tensor(list(values), dtype=torch.float64)
    frame = gradient_response(net, values.expand(steps, -1).clone(), one_tensor=one_tensor)
    with np.errstate(divide="ignore", invalid="ignore"):
        effective = -frame["update"].to_numpy() / frame["gradient"].to_numpy()
    frame["effective_lr"] = np.where(frame["gradient"].to_numpy() != 0, effective, np.nan)
    return frame


@torch.no_grad()
def port_hamiltonian_landscape(net, positions: Sequence[float], axis: int = 0) -> pd.DataFrame:
    """The learned pieces of a :class:`~optbook.learned.port_hamiltonian.PortHamiltonianUpdate`
    along one axis of its latent position (the other coordinates at 0): ``q``, the potential
    ``V``, the force ``-dV/dq`` along the axis, the damping ``R`` (diagonal entry) and the port
    gain ``g`` (entry) there. The mass M⁻¹ is constant: ``net.inverse_mass()``."""
    if not 0 <= axis < net.dim:
        raise ValueError(f"axis={axis!r} is not allowed; use 0 .. {net.dim - 1}")
    dtype = net.inverse_mass_factor.dtype
    device = net.inverse_mass_factor.device
    grid = torch.as_tensor(list(positions), dtype=dtype, device=device)
    q = torch.zeros(len(grid), net.dim, dtype=dtype, device=device)
    q[:, axis] = grid
    frame = {
        "q": grid.cpu().numpy(),
        "V": net.potential(q).squeeze(-1).cpu().numpy(),
        "force": net.potential_force(q)[:, axis].cpu().numpy(),
        "g": net.port(q)[:, axis].cpu().numpy(),
    }
    if net.damping is not None:
        frame["R"] = net.damping_matrix(q)[:, axis, axis].cpu().numpy()
    return pd.DataFrame(frame)
