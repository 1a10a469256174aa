"""Other initial weights for a task's batched perceptrons.

Leimkuhler, Matthews, Vlaar 2019 start some runs from Gaussian weights instead of PyTorch's
default U(−1/√N_in, 1/√N_in): 0.01·N(0, 1) in Fig. 14 (Adam, AdLaLa) and Fig. 9 (AdLaLa),
N(0, 0.5²) in Fig. 9 (Adam). The captions speak of the *weights*; we read that as the weight
matrices, and leave the biases at PyTorch's default (our reading, not stated in the paper).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from optbook.tasks.ensemble import STREAMS, EnsembleLinear, per_run


def _gaussian_generator(seed: int) -> torch.Generator:
    """Run ``seed``'s generator for Gaussian weights: its own stream, independent of the default init's."""
    state = np.random.SeedSequence([int(seed), STREAMS["init"], 1]).generate_state(1, dtype=np.uint64)
    return torch.Generator().manual_seed(int(state[0] >> np.uint64(1)))


@dataclass(frozen=True)
class GaussianInit:
    """``task`` with every weight matrix of its ensemble drawn from N(0, ``std``²), per run from its seed.

    The data, the minibatches and the biases are the task's own, so run r here and run r of
    ``task`` see the same data and differ only in their initial weights.
    """

    task: object
    std: float

    def __post_init__(self):
        if not self.std > 0:
            raise ValueError(f"std={self.std!r} must be a positive standard deviation")

    @property
    def name(self) -> str:
        return f"{self.task.name}-gauss{self.std:g}"

    @property
    def title(self) -> str:
        return f"{self.task.title}, weights N(0, {self.std:g}²)"

    @property
    def steps(self) -> int:
        return self.task.steps

    def config(self) -> dict:
        return {**self.task.config(), "init": {"weights": "gaussian", "std": self.std}}

    def build(self, seeds: Sequence[int], device="cpu"):
        model = self.task.build(seeds, device=device)
        layers = [m for m in model.modules() if isinstance(m, EnsembleLinear)]
        generators = [_gaussian_generator(seed) for seed in model.seeds]
        with torch.no_grad():
            for layer in layers:
                shape = tuple(layer.weight.shape[1:])
                draw = per_run(generators, lambda g: torch.randn(shape, generator=g))
                layer.weight.copy_(self.std * draw.to(layer.weight))
        return model
