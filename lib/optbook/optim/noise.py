"""Per-run noise streams for stochastic optimizers run as batched ensembles."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

__all__ = ["noise_generators"]


def noise_generators(seeds: Sequence[int]) -> list[torch.Generator]:
    """One generator per run for an optimizer's noise, seeded from the run's seed alone.

    So run r of a batched ensemble draws the same noise as the single run with that seed. The
    stream key differs from the tasks' streams (init, data, batches, problem: 0-3), so the
    optimizer's noise is independent of the run's initial weights and minibatches.
    """
    return [
        torch.Generator().manual_seed(int(np.random.SeedSequence([int(seed), 100]).generate_state(1)[0]))
        for seed in seeds
    ]
