"""Batched ensembles: R independent runs of one small model as one model with a leading run dim.

Run r draws everything (initial weights, data, minibatches) from its own generators, seeded
from its seed alone, so run r of an ensemble is the same run as a single run with that seed.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

# Independent random streams per run: changing how minibatches are drawn must not change
# the initial weights of the same seed.
STREAMS = {"init": 0, "data": 1, "batches": 2, "problem": 3}


def run_generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for one run and one purpose, derived from the run's seed by SeedSequence.

    Draws happen on the CPU and move to the device, so a seed means the same run on any device.
    """
    state = np.random.SeedSequence([int(seed), STREAMS[stream]]).generate_state(1, dtype=np.uint64)
    return torch.Generator().manual_seed(int(state[0] >> np.uint64(1)))


def run_generators(seeds: Sequence[int], stream: str) -> list[torch.Generator]:
    return [run_generator(seed, stream) for seed in seeds]


def per_run(generators: Sequence[torch.Generator], draw) -> torch.Tensor:
    """Stack ``draw(generator)`` over runs: one independent draw per run."""
    return torch.stack([draw(generator) for generator in generators])


class EnsembleLinear(nn.Module):
    """R independent affine maps y_r = x_r W_r + b_r, with PyTorch's default nn.Linear init per run.

    ``weight`` is [R, in, out] (so a batch [R, B, in] is one ``baddbmm``), ``bias`` is [R, out].
    """

    def __init__(self, in_features: int, out_features: int, generators: Sequence[torch.Generator], device=None):
        super().__init__()
        # nn.Linear's default (kaiming_uniform with a=sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)) for both.
        bound = 1.0 / math.sqrt(in_features)

        def uniform(shape):
            return per_run(generators, lambda g: (torch.rand(shape, generator=g) * 2 - 1) * bound)

        self.weight = nn.Parameter(uniform((in_features, out_features)).to(device))
        self.bias = nn.Parameter(uniform((out_features,)).to(device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # inputs shared by all runs (full-data evaluation)
            return torch.matmul(x, self.weight) + self.bias.unsqueeze(1)
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight)

    def extra_repr(self) -> str:
        runs, fan_in, fan_out = self.weight.shape
        return f"runs={runs}, in_features={fan_in}, out_features={fan_out}"


class EpochSampler:
    """Minibatch indices for R runs, each walking through its own shuffled epochs of n examples.

    Run r reshuffles with its own generator at the start of every epoch, as a shuffling
    DataLoader does; a batch that does not divide n ends the epoch with a short last batch.
    """

    def __init__(self, n: int, batch_size: int, generators: Sequence[torch.Generator], device=None):
        if not 0 < batch_size <= n:
            raise ValueError(f"batch_size={batch_size} must be between 1 and the number of examples, {n}")
        self.n, self.batch_size, self.generators, self.device = n, batch_size, generators, device
        self.order: torch.Tensor | None = None
        self.position = n

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.n // self.batch_size)

    def __call__(self) -> torch.Tensor:
        if self.position >= self.n:
            self.order = per_run(self.generators, lambda g: torch.randperm(self.n, generator=g)).to(self.device)
            self.position = 0
        batch = self.order[:, self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return batch
