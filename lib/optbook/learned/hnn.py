r"""The HNN optimizer as published ("Can we learn gradients by Hamiltonian Neural Networks?",
OPT-ML / EPFL CS-439; spec ``learned-optimizers.md`` §2.3).

A coordinatewise update net with weights shared by all coordinates. Per coordinate it sees the
optimizee gradient ∇_t and carries one scalar s_t (s_0 = 0); with d = 1 (raw inputs) or d = 2
(log/sign preprocessing),

.. math::

    q = \mathrm{pre}(\nabla_t), \qquad p = \mathrm{pre}(s_t) \in \mathbb R^d, \\
    [D_q; D_p] = W_D\,[V'(q); p], \qquad
    \dot q = p - D_q, \qquad \dot p = \bigl(-V'(q) - D_p + G(q)\bigr)\, M, \qquad M = L L^\top, \\
    \theta_{t+1} = \theta_t + \text{out\_mul}\cdot a^\top [\dot q; q], \qquad
    s_{t+1} = b^\top [\dot q; \dot p] + c,

with G and V′ each Lin(d, d) → ReLU → Lin(d, d), W_D ∈ ℝ^{2d×2d} without bias, L the weight of a
Linear(d, d) whose bias is never used (but is a parameter, so it is counted: 19 parameters for
d = 1, 55 for d = 2, as the published notebook prints), a a Linear(2d → 1) without bias, and
(b, c) a Linear(2d → 1). ``out_mul`` = 0.001 in the published runs.

What this is not (spec §2.8.2): there is no scalar H (V′ *is* the "∂H/∂q"), D is unconstrained
(not PSD), and there is no integrator: one evaluation of the field plus linear heads, a learned
explicit-Euler-like step. :class:`~optbook.learned.port_hamiltonian.PortHamiltonianUpdate` is
the variant with that structure.

Two details of the published code are kept on purpose:

- ``pre`` is applied to the state through ``.data`` when preprocessing is on, so no
  meta-gradient flows through the state recurrence then (spec §2.3 consequence); without
  preprocessing the state stays differentiable within an unroll. ``detach_preprocessed_state``
  switches the first behaviour off, for the fair comparison.
- ``normalize_state=True`` (its ``norm``, used on quadratics) divides s_{t+1} by its L2 norm over
  the parameter tensor. The published optimizer is called once per tensor; here the net sees
  all coordinates at once and receives the protocol's ``segments``, so the norm is per tensor
  **and per run** of an ensemble: a run's trajectory does not depend on the others.
"""

from __future__ import annotations

import torch
from torch import nn

from optbook.learned.preprocess import identity_preprocess, log_sign_preprocess
from optbook.learned.protocol import NetState

__all__ = ["HNNUpdate", "segment_l2_normalize"]


def segment_l2_normalize(values: torch.Tensor, segments: torch.Tensor | None = None) -> torch.Tensor:
    r"""``values`` [N] divided by the L2 norm of its segment: v_i / ‖v_{seg(i)}‖₂.

    ``segments`` [N] numbers the block of each coordinate (0 .. S−1, as
    :func:`optbook.learned.protocol.segment_ids` builds them); None treats all N as one block.
    Differentiable. A block that is exactly zero stays zero (its norm is floored at the dtype's
    smallest normal number rather than giving 0/0 = NaN).
    """
    squares = values.square()
    if segments is None:
        norm = squares.sum().sqrt()
    else:
        count = int(segments.max()) + 1 if segments.numel() else 0
        per_segment = torch.zeros(count, dtype=values.dtype, device=values.device).index_add(0, segments, squares)
        norm = per_segment.sqrt()[segments]
    return values / norm.clamp_min(torch.finfo(values.dtype).tiny)


class HNNUpdate(nn.Module):
    """The published HNN optimizer (spec §2.3); see the module docstring for the equations.

    Args:
        preprocess_p: p of the log/sign preprocessing (published: 10 on MNIST, d = 2), or None
            for raw inputs (published on quadratics, d = 1).
        output_scale: ``out_mul``, the factor on the update (published: 0.001 for both tasks).
        normalize_state: divide s_{t+1} by its per-tensor (per-run) L2 norm (published ``norm``:
            True on quadratics, False on MNIST).
        detach_preprocessed_state: with preprocessing, feed pre(s_t) without gradient, as the
            published ``.data`` does (default). Has no effect without preprocessing.
        preprocess_eps: ε of the log channel (see :mod:`optbook.learned.preprocess`).
    """

    uses_segments = True

    def __init__(
        self,
        preprocess_p: float | None = None,
        output_scale: float = 0.001,
        normalize_state: bool = False,
        detach_preprocessed_state: bool = True,
        preprocess_eps: float = 0.0,
    ):
        super().__init__()
        if preprocess_p is not None and not preprocess_p > 0:
            raise ValueError(f"preprocess_p={preprocess_p!r} is not allowed; use a positive number or None")
        if not output_scale > 0:
            raise ValueError(f"output_scale={output_scale!r} is not allowed; use a positive number")
        if not preprocess_eps >= 0:
            raise ValueError(f"preprocess_eps={preprocess_eps!r} is not allowed; use a number >= 0")
        flags = {"normalize_state": normalize_state, "detach_preprocessed_state": detach_preprocessed_state}
        for name, value in flags.items():
            if not isinstance(value, bool):
                raise ValueError(f"{name}={value!r} is not allowed; use True or False")
        self.preprocess_p, self.preprocess_eps = preprocess_p, preprocess_eps
        self.output_scale = output_scale
        self.normalize_state, self.detach_preprocessed_state = normalize_state, detach_preprocessed_state
        d = self.d = 1 if preprocess_p is None else 2
        self.force = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))  # G(q), the input port
        self.potential_grad = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))  # V'(q)
        self.dissipation = nn.Linear(2 * d, 2 * d, bias=False)  # W_D
        self.mass = nn.Linear(d, d)  # M = L Lᵀ from its weight; its bias is unused, as published
        self.update_head = nn.Linear(2 * d, 1, bias=False)  # a
        self.state_head = nn.Linear(2 * d, 1)  # b, c

    def config(self) -> dict:
        return {
            "preprocess_p": self.preprocess_p,
            "output_scale": self.output_scale,
            "normalize_state": self.normalize_state,
            "detach_preprocessed_state": self.detach_preprocessed_state,
            "preprocess_eps": self.preprocess_eps,
        }

    def initial_state(self, n_coords: int, device=None) -> NetState:
        return (torch.zeros(n_coords, device=device, dtype=self.state_head.weight.dtype),)

    def preprocess(self, values: torch.Tensor) -> torch.Tensor:
        if self.preprocess_p is None:
            return identity_preprocess(values)
        return log_sign_preprocess(values, self.preprocess_p, self.preprocess_eps)

    def field(self, q: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(q̇, ṗ), each [N, d], from q = pre(∇) and p = pre(s), each [N, d]."""
        potential_grad = self.potential_grad(q)
        damping_q, damping_p = self.dissipation(torch.cat((potential_grad, p), dim=-1)).chunk(2, dim=-1)
        mass = self.mass.weight @ self.mass.weight.t()
        q_dot = p - damping_q
        p_dot = (-potential_grad - damping_p + self.force(q)) @ mass
        return q_dot, p_dot

    def forward(
        self, grad: torch.Tensor, state: NetState, segments: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, NetState]:
        (s,) = state
        q = self.preprocess(grad)
        if self.preprocess_p is not None and self.detach_preprocessed_state:
            s = s.detach()  # the published pre(state.data)
        p = self.preprocess(s)
        q_dot, p_dot = self.field(q, p)
        update = self.update_head(torch.cat((q_dot, q), dim=-1)).squeeze(-1) * self.output_scale
        s_next = self.state_head(torch.cat((q_dot, p_dot), dim=-1)).squeeze(-1)
        if self.normalize_state:
            s_next = segment_l2_normalize(s_next, segments)
        return update, (s_next,)

    def extra_repr(self) -> str:
        return (f"d={self.d}, preprocess_p={self.preprocess_p}, output_scale={self.output_scale}, "
                f"normalize_state={self.normalize_state}")
