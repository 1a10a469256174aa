"""The official L2L code's toy problem (``problems.simple``): f(x) = x², x₀ = 1.

It is the optimizee of the code's unit test (``meta_test.py``), which pins the meta-training
loss convention, the dropped second derivatives and the Adam step to two numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from optbook.tasks.base import Optimizee


class ScalarSquare(Optimizee):
    """One scalar x per run, starting at 1; the loss of run r is x_r²."""

    def __init__(self, seeds: Sequence[int], device=None):
        super().__init__(seeds)
        self.x = nn.Parameter(torch.ones(self.runs, device=device))

    def forward(self, batch=None) -> torch.Tensor:
        return self.x**2


@dataclass(frozen=True)
class ScalarSquareTask:
    name: str = "x-squared"
    title: str = "f(x) = x², x₀ = 1"
    steps: int = 10

    def config(self) -> dict:
        return {"task": self.name}

    def build(self, seeds: Sequence[int], device="cpu") -> ScalarSquare:
        return ScalarSquare(seeds, device)
