r"""An optimizee moved by an update net, with its parameters held outside its module.

The meta-trainer needs θ_{t+1} = θ_t + g_t(φ) to stay a function of φ, so θ cannot live in
the module's ``nn.Parameter`` (assigning to those cuts the graph). Here θ is one flat
vector [N] (all coordinates of all tensors of all runs) and the loss is evaluated with
``torch.func.functional_call(model, views_of_θ, (batch,))``; the module only supplies its
buffers, data and minibatch sampler. The same class runs validation and evaluation, with the
net frozen, so training, validation and ``evaluate`` share one code path.

Per optimizee step t (one minibatch b_t, drawn by ``model.sample_batch()``):

.. math::  f_t = f(\theta_t; b_t), \qquad
           \nabla_t = \operatorname{stop\_gradient}\bigl(\nabla_\theta f(\theta_t; b_t)\bigr), \qquad
           g_t, h_{t+1} = m(\nabla_t, h_t; \phi), \qquad \theta_{t+1} = \theta_t + g_t .

The stop-gradient is the paper's ∂∇_t/∂φ = 0 ("gradients along the dashed edges are
dropped"): ∇_t comes from ``autograd.grad`` without ``create_graph``, so no Hessian of f is
ever formed. The batch sequence b_0, b_1, ... does not depend on where unrolls are cut, so a
trajectory for a given φ is the same whatever the unroll length.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from optbook.learned.protocol import call_net, detach_state, net_dtype, segment_ids

__all__ = ["UnrolledOptimizee"]


class UnrolledOptimizee:
    """One problem (an ensemble of runs) of a task, stepped by an update net.

    After :meth:`observe`, ``loss`` ([R], the per-run loss at θ_t on b_t) and ``grad`` ([N],
    detached) describe the current point; :meth:`advance` moves θ and the net state one step.
    In a meta-training unroll ``theta``, ``state`` and ``loss`` carry the graph back to φ until
    :meth:`detach` truncates it.
    """

    def __init__(self, model: nn.Module, net: nn.Module):
        self.model, self.net = model, net
        named = list(model.named_parameters())
        if not named:
            raise ValueError("the optimizee has no parameters to optimize")
        self.names = [name for name, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        # named_parameters() is parameters() order: LearnedOptimizer flattens the same way.
        self.theta = torch.cat([p.detach().reshape(-1) for _, p in named]).clone()
        self.state = net.initial_state(self.theta.numel(), self.theta.device)
        self.step = 0
        self.loss: torch.Tensor | None = None
        self.grad: torch.Tensor | None = None
        self._segments: torch.Tensor | None = None

    @property
    def n_coords(self) -> int:
        return self.theta.numel()

    def parameters_at(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """The module's parameters as views of the flat vector ``theta`` (no copy)."""
        return {name: piece.view(shape) for name, piece, shape in zip(self.names, theta.split(self.sizes), self.shapes)}

    def segments(self) -> torch.Tensor:
        """(tensor, run) block ids: every optimizee parameter carries a leading run dim."""
        if self._segments is None:
            self._segments = segment_ids(self.shapes, ensemble_dim=0, device=self.theta.device)
        return self._segments

    def observe(self, gradient: bool = True) -> torch.Tensor:
        """Draw the next minibatch b_t, evaluate f(θ_t; b_t) per run and (if asked) ∇_t.

        A θ that is not in φ's graph (the start of an unroll, or any point when the net runs
        under ``no_grad``) becomes a fresh leaf just for ∇_t; its loss is then a constant of the
        meta-loss and is stored detached.
        """
        batch = self.model.sample_batch()
        in_graph = self.theta.requires_grad
        theta = self.theta if in_graph else self.theta.detach().requires_grad_()
        with torch.enable_grad():
            loss = functional_call(self.model, self.parameters_at(theta), (batch,))
            if gradient:
                # retain_graph: inside an unroll f(θ_t) is also a term of the meta-loss.
                (grad,) = torch.autograd.grad(loss.sum(), theta, retain_graph=in_graph, allow_unused=True)
                self.grad = torch.zeros_like(theta) if grad is None else grad.detach()
            else:
                self.grad = None
        self.loss = loss if in_graph else loss.detach()
        return self.loss

    def advance(self) -> None:
        """θ_{t+1} = θ_t + g_t with (g_t, h_{t+1}) = m(∇_t, h_t; φ)."""
        if self.grad is None:
            raise RuntimeError("observe() the gradient before advancing")
        grad = self.grad.to(net_dtype(self.net, self.grad.dtype))
        update, self.state = call_net(self.net, grad, self.state, self.segments)
        self.theta = self.theta + update.to(self.theta.dtype)
        self.step += 1

    def detach(self) -> None:
        """Truncate BPTT: keep θ, the net state and the last loss, forget how φ produced them."""
        self.theta = self.theta.detach()
        self.state = detach_state(self.state)
        if self.loss is not None:
            self.loss = self.loss.detach()

    @torch.no_grad()
    def load_into_model(self) -> None:
        """Copy θ into the module's own parameters (for ``model.evaluate()`` metrics)."""
        for parameter, value in zip(self.model.parameters(), self.parameters_at(self.theta).values()):
            parameter.copy_(value)
