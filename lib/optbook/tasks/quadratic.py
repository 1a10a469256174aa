"""The quadratic family of Andrychowicz et al. 2016, Sec. 3.1: f(θ) = ‖Wθ − y‖²."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from optbook.tasks.base import Optimizee
from optbook.tasks.ensemble import per_run, run_generators


class QuadraticOptimizee(Optimizee):
    """R quadratics f_r(θ) = ‖W_r θ − y_r‖², with W_r, y_r IID N(0, 1) and θ₀ = 0.

    The paper draws W and y "IID Gaussian"; its official code draws them Uniform[0, 1) in
    batches of 128, the PyTorch ports N(0, 1) with θ₀ = 0 and one function per problem. We follow
    the paper and the ports, whose reference numbers we compare with.
    """

    def __init__(self, seeds: Sequence[int], dim: int = 10, device=None):
        super().__init__(seeds)
        generators = run_generators(self.seeds, "problem")
        self.register_buffer("W", per_run(generators, lambda g: torch.randn(dim, dim, generator=g)).to(device))
        self.register_buffer("y", per_run(generators, lambda g: torch.randn(dim, generator=g)).to(device))
        self.theta = nn.Parameter(torch.zeros(self.runs, dim, device=device))

    def forward(self, batch=None) -> torch.Tensor:
        residual = torch.bmm(self.W, self.theta.unsqueeze(-1)).squeeze(-1) - self.y
        return residual.pow(2).sum(-1)


@dataclass(frozen=True)
class QuadraticTask:
    """Random 10-dimensional quadratics ‖Wθ − y‖² (Andrychowicz et al. 2016)."""

    dim: int = 10
    steps: int = 100

    @property
    def name(self) -> str:
        return "quadratic"

    @property
    def title(self) -> str:
        return f"Quadratic ‖Wθ−y‖², d={self.dim}"

    def config(self) -> dict:
        return {"task": self.name, "dim": self.dim}

    def build(self, seeds: Sequence[int], device="cpu") -> QuadraticOptimizee:
        return QuadraticOptimizee(seeds, self.dim, device=device)
