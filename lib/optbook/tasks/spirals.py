"""The two-spirals data of Leimkuhler, Matthews, Vlaar 2019 (their Eq. 16) and the 2-H-1 perceptron
(:class:`PlanarClassifier`, shared with the trigonometric data of ``trigonometric.py``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from optbook.tasks.base import Optimizee
from optbook.tasks.ensemble import EnsembleLinear, EpochSampler, run_generators


def two_spirals(
    n: int, turns: float = 4.0, radius: float = 2.0, power: float = 0.5, noise: float = 0.02, generator=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """n points of two interleaved spirals: x = a t^p (cos 2πb t^p, sin 2πb t^p), t ~ U[0, 1).

    Class 0 is x, class 1 is −x for the same t (a point reflection), and every point gets
    independent N(0, c² I) noise (a = radius, p = power, b = turns, c = noise).
    Larger p puts more points near the centre, where the spirals are hardest to separate.
    """
    if n < 2 or n % 2:
        raise ValueError(f"n={n} must be an even number of at least 2 (two classes of n/2 points)")
    t = torch.rand(n // 2, generator=generator).pow(power)
    arm = radius * t.unsqueeze(1) * torch.stack([torch.cos(2 * math.pi * turns * t), torch.sin(2 * math.pi * turns * t)], 1)
    x = torch.cat([arm, -arm]) + noise * torch.randn(n, 2, generator=generator)
    y = torch.cat([torch.zeros(n // 2), torch.ones(n // 2)])
    return x, y


class PlanarClassifier(Optimizee):
    """R single-hidden-layer perceptrons 2-H-1 (ReLU, sigmoid output, binary cross-entropy) on 2-D data.

    ``sample(n, generator)`` draws n labelled points (x [n, 2], y [n] in {0, 1}); every run draws
    its own training and test sets from its own generator, and walks through its training set
    in shuffled epochs of minibatches, as the paper's code does.
    """

    def __init__(
        self,
        seeds: Sequence[int],
        sample: Callable[[int, torch.Generator], tuple[torch.Tensor, torch.Tensor]],
        hidden: int = 100,
        n_train: int = 500,
        n_test: int = 1000,
        batch_size: int = 25,
        device=None,
    ):
        super().__init__(seeds)
        if n_train % batch_size:
            raise ValueError(f"batch_size={batch_size} must divide n_train={n_train} (whole epochs)")
        data = run_generators(self.seeds, "data")
        train = [sample(n_train, g) for g in data]
        test = [sample(n_test, g) for g in data]
        self.train_x = torch.stack([x for x, _ in train]).to(device)  # [R, n, 2]
        self.train_y = torch.stack([y for _, y in train]).to(device)
        self.test_x = torch.stack([x for x, _ in test]).to(device)
        self.test_y = torch.stack([y for _, y in test]).to(device)
        self.batch_size = batch_size
        init = run_generators(self.seeds, "init")
        self.hidden = EnsembleLinear(2, hidden, init, device=device)
        self.output = EnsembleLinear(hidden, 1, init, device=device)
        self._sampler = EpochSampler(n_train, batch_size, run_generators(self.seeds, "batches"), device=device)

    def sample_batch(self) -> torch.Tensor:
        return self._sampler()

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(torch.relu(self.hidden(x))).squeeze(-1)

    def _gather(self, data: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
        index = batch if data.dim() == 2 else batch.unsqueeze(-1).expand(-1, -1, data.shape[-1])
        return torch.gather(data, 1, index)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        logits = self.logits(self._gather(self.train_x, batch))
        targets = self._gather(self.train_y, batch)
        # BCE on logits is BCE(sigmoid(z), y) computed without the log(0) of a saturated sigmoid.
        return F.binary_cross_entropy_with_logits(logits, targets, reduction="none").mean(1)

    @torch.no_grad()
    def evaluate(self) -> dict[str, torch.Tensor]:
        metrics = {}
        for split, x, y in (("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            logits = self.logits(x)
            metrics[f"{split}_loss"] = F.binary_cross_entropy_with_logits(logits, y, reduction="none").mean(1)
            metrics[f"{split}_accuracy"] = ((logits > 0).float() == y).float().mean(1)
        return metrics


class SpiralClassifier(PlanarClassifier):
    """The perceptrons on two spirals (500 points, batches of 25 = 5 %, as the paper's code)."""

    def __init__(
        self,
        seeds: Sequence[int],
        hidden: int = 100,
        turns: float = 4.0,
        noise: float = 0.02,
        n_train: int = 500,
        n_test: int = 1000,
        batch_size: int = 25,
        device=None,
    ):
        def sample(n, generator):
            return two_spirals(n, turns, noise=noise, generator=generator)

        super().__init__(seeds, sample, hidden, n_train, n_test, batch_size, device)


@dataclass(frozen=True)
class SpiralTask:
    """Classify two spirals with a 2-H-1 perceptron (Leimkuhler, Matthews, Vlaar 2019)."""

    hidden: int = 100
    turns: float = 4.0
    noise: float = 0.02
    n_train: int = 500
    batch_size: int = 25
    steps: int = 2000

    @property
    def name(self) -> str:
        return f"spirals-{self.turns:g}turns-h{self.hidden}"

    @property
    def title(self) -> str:
        return f"Spirals ({self.turns:g} turns), perceptron 2-{self.hidden}-1"

    def config(self) -> dict:
        return {"task": "spirals", "hidden": self.hidden, "turns": self.turns, "noise": self.noise,
                "n_train": self.n_train, "batch_size": self.batch_size}

    def build(self, seeds: Sequence[int], device="cpu") -> SpiralClassifier:
        return SpiralClassifier(seeds, self.hidden, self.turns, self.noise, self.n_train,
                                batch_size=self.batch_size, device=device)
