"""What every optimizee offers: a batched set of independent problems of one task family."""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn


class Optimizee(nn.Module):
    """R independent problems of one task, batched: every parameter has a leading run dim of size R.

    ``forward(batch)`` returns the per-run loss, shape [R]; train on ``loss.sum()``, whose
    gradient with respect to run r's parameters is the gradient of run r's own loss.
    ``forward`` is a pure function of the parameters and the batch, so ``torch.func.functional_call``
    can evaluate it at parameters that are not the module's own (learned optimizers do).
    """

    def __init__(self, seeds: Sequence[int]):
        super().__init__()
        # A repeated seed is a repeated problem: hyperparameter grids run every setting on the same one.
        seeds = tuple(int(seed) for seed in seeds)
        if not seeds:
            raise ValueError("seeds must name at least one run")
        self.seeds = seeds

    @property
    def runs(self) -> int:
        return len(self.seeds)

    def sample_batch(self) -> Any:
        """The next minibatch of every run (None for deterministic problems)."""
        return None

    @torch.no_grad()
    def evaluate(self) -> dict[str, torch.Tensor]:
        """Per-run metrics on the full data (shape [R] each), named e.g. ``train_loss``, ``test_accuracy``."""
        return {"train_loss": self(self.sample_batch())}
