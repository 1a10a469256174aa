"""MLP classifiers on image data: the MNIST optimizee of Andrychowicz et al. 2016 and its variants."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from optbook.tasks.base import Optimizee
from optbook.tasks.ensemble import EnsembleLinear, EpochSampler, run_generators

ACTIVATIONS = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}
EVAL_CHUNK = 8192  # rows per chunk when evaluating R runs on the whole data set


SAMPLING = ("replacement", "epochs")


class MLPClassifier(Optimizee):
    """R MLPs with softmax cross-entropy (``hidden=()`` is logistic regression), each run drawing
    its own minibatches.

    ``sampling="replacement"`` draws ``batch_size`` indices with replacement at every step, as the
    official L2L code does; ``"epochs"`` walks through shuffled epochs, as a shuffling DataLoader
    does (the hypergradient paper's code). ``x`` and ``y`` are shared by all runs, not copied.
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
        sampling: str = "replacement",
    ):
        super().__init__(seeds)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is not one of {sorted(ACTIVATIONS)}")
        if sampling not in SAMPLING:
            raise ValueError(f"sampling={sampling!r} is not one of {SAMPLING}")
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
        self._epochs = (
            EpochSampler(len(x), batch_size, self._batch_generators, device=x.device) if sampling == "epochs" else None
        )

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def sample_batch(self) -> torch.Tensor:
        if self._epochs is not None:
            return self._epochs()
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


# The hypergradient paper's code standardises MNIST pixels with the training set's mean and std.
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


@dataclass(frozen=True)
class MNISTMLPTask:
    """An MLP on MNIST, by default the L2L base model: 784-20-10, sigmoid, minibatches of 128.

    ``hidden=()`` is multinomial logistic regression. ``standardize`` maps pixels to
    (x − 0.1307)/0.3081 as the hypergradient paper's code does; the L2L code feeds raw [0, 1].
    """

    hidden: tuple[int, ...] = (20,)
    activation: str = "sigmoid"
    batch_size: int = 128
    dataset: str = "auto"
    steps: int = 100
    sampling: str = "replacement"
    standardize: bool = False

    @property
    def name(self) -> str:
        if not self.hidden:
            return "mnist-logreg"
        return f"mnist-mlp-{'x'.join(map(str, self.hidden))}-{self.activation}"

    def data(self):
        from optbook.data import load_mnist

        return load_mnist(self.dataset)

    @property
    def title(self) -> str:
        """The model; figures name the resolved data set separately (``data().name``)."""
        if not self.hidden:
            return "Logistic regression 784-10"
        widths = "-".join(map(str, (784, *self.hidden, 10)))
        return f"MLP {widths} {self.activation}"

    @property
    def steps_per_epoch(self) -> int:
        """Updates per pass over the training split (the last minibatch of an epoch may be short)."""
        return -(-len(self.data().train_y) // self.batch_size)

    def config(self) -> dict:
        return {
            "task": "mnist-mlp",
            "hidden": list(self.hidden),
            "activation": self.activation,
            "batch_size": self.batch_size,
            "dataset": self.data().key,  # the resolved data set, never "auto"
            "sampling": self.sampling,
            "standardize": self.standardize,
        }

    def build(self, seeds: Sequence[int], device="cpu") -> MLPClassifier:
        data = self.data()
        train_x, train_y = data.flat("train")
        test_x, test_y = data.flat("test")
        if self.standardize:
            train_x, test_x = (train_x - MNIST_MEAN) / MNIST_STD, (test_x - MNIST_MEAN) / MNIST_STD
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
            sampling=self.sampling,
        )
