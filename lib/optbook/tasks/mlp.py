"""MLP classifiers on image data: the MNIST optimizee of Andrychowicz et al. 2016 and its variants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from optbook.tasks.base import Optimizee
from optbook.tasks.ensemble import EnsembleLinear, run_generators

ACTIVATIONS = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}
EVAL_CHUNK = 8192  # rows per chunk when evaluating R runs on the whole data set


class MLPClassifier(Optimizee):
    """R MLPs with softmax cross-entropy, each run drawing its own minibatches with replacement.

    Sampling with replacement is what the official L2L code does (128 indices per step).
    ``x`` and ``y`` are shared by all runs and are not copied per run.
    """

    def __init__(
        self,
        seeds: Sequence[int],
        x: torch.Tensor,
        y: torch.Tensor,
        hidden: Sequence[int] = (20,),
        activation: str = "sigmoid",
        batch_size: int = 128,
        n_classes: int = 10,
        eval_x: torch.Tensor | None = None,
        eval_y: torch.Tensor | None = None,
    ):
        super().__init__(seeds)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is not one of {sorted(ACTIVATIONS)}")
        self.x, self.y = x, y
        self.eval_x, self.eval_y = eval_x, eval_y
        self.batch_size = batch_size
        self.activation = ACTIVATIONS[activation]
        init = run_generators(self.seeds, "init")
        widths = [x.shape[1], *hidden, n_classes]
        self.layers = nn.ModuleList(
            EnsembleLinear(fan_in, fan_out, init, device=x.device) for fan_in, fan_out in zip(widths[:-1], widths[1:])
        )
        self._batch_generators = run_generators(self.seeds, "batches")

    def sample_batch(self) -> torch.Tensor:
        draws = [torch.randint(len(self.x), (self.batch_size,), generator=g) for g in self._batch_generators]
        return torch.stack(draws).to(self.x.device)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = self.activation(layer(x))
        return self.layers[-1](x)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        logits = self.logits(self.x[batch])  # [R, B, classes]
        targets = self.y[batch]
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="none").view_as(targets).mean(1)

    @torch.no_grad()
    def _loss_and_accuracy(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        loss_sum = torch.zeros(self.runs, device=x.device)
        correct = torch.zeros(self.runs, device=x.device)
        for start in range(0, len(x), EVAL_CHUNK):
            logits = self.logits(x[start : start + EVAL_CHUNK])  # [R, n, classes]
            targets = y[start : start + EVAL_CHUNK].expand(self.runs, -1)
            loss_sum += F.cross_entropy(logits.transpose(1, 2), targets, reduction="none").sum(1)
            correct += (logits.argmax(-1) == targets).sum(1)
        return loss_sum / len(x), correct / len(x)

    @torch.no_grad()
    def evaluate(self) -> dict[str, torch.Tensor]:
        metrics = dict(zip(("train_loss", "train_accuracy"), self._loss_and_accuracy(self.x, self.y)))
        if self.eval_x is not None:
            metrics.update(zip(("test_loss", "test_accuracy"), self._loss_and_accuracy(self.eval_x, self.eval_y)))
        return metrics


@dataclass(frozen=True)
class MNISTMLPTask:
    """An MLP on MNIST, by default the L2L base model: 784-20-10, sigmoid, minibatches of 128."""

    hidden: tuple[int, ...] = (20,)
    activation: str = "sigmoid"
    batch_size: int = 128
    dataset: str = "auto"
    steps: int = 100

    @property
    def name(self) -> str:
        return f"mnist-mlp-{'x'.join(map(str, self.hidden))}-{self.activation}"

    def data(self):
        from optbook.data import load_mnist

        return load_mnist(self.dataset)

    @property
    def title(self) -> str:
        """The model; figures name the resolved data set separately (``data().name``)."""
        widths = "-".join(map(str, (784, *self.hidden, 10)))
        return f"MLP {widths} {self.activation}"

    def config(self) -> dict:
        return {
            "task": "mnist-mlp",
            "hidden": list(self.hidden),
            "activation": self.activation,
            "batch_size": self.batch_size,
            "dataset": self.data().key,  # the resolved data set, never "auto"
        }

    def build(self, seeds: Sequence[int], device="cpu") -> MLPClassifier:
        data = self.data()
        train_x, train_y = data.flat("train")
        test_x, test_y = data.flat("test")
        device = torch.device(device)
        return MLPClassifier(
            seeds,
            train_x.to(device),
            train_y.to(device),
            hidden=self.hidden,
            activation=self.activation,
            batch_size=self.batch_size,
            eval_x=test_x.to(device),
            eval_y=test_y.to(device),
        )
