"""MLPs (and logistic regression) on any MNIST-format data set: MNIST, its 5,000-image subset, or
Fashion-MNIST, each standardised by its own pixel statistics.

The hypergradient chapter compares at the paper's number of iterations on Fashion-MNIST's 60,000
training images as well as on MNIST; it also needs only the test split evaluated during training
(its training loss is the mean minibatch loss of an epoch, as in the paper's code), which for the
1000-1000 MLP saves four fifths of the evaluation time.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from optbook.tasks.mlp import MNIST_MEAN, MNIST_STD, MLPClassifier, MNISTMLPTask

# Pixel mean and standard deviation of the Fashion-MNIST training images (values in [0, 1]).
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
IMAGE_DATASETS = ("auto", "mnist", "mnist-5k", "fashion-mnist")


class TestSplitMLP(MLPClassifier):
    """An :class:`MLPClassifier` whose ``evaluate`` covers the test split only."""

    @torch.no_grad()
    def evaluate(self) -> dict[str, torch.Tensor]:
        return dict(zip(("test_loss", "test_accuracy"), self._loss_and_accuracy(self.eval_x, self.eval_y)))


@dataclass(frozen=True)
class ImageMLPTask(MNISTMLPTask):
    """:class:`MNISTMLPTask` on ``dataset`` ∈ :data:`IMAGE_DATASETS`; ``standardize`` uses that data
    set's own pixel statistics (MNIST's for both MNIST sets), and ``eval_train=False`` evaluates
    the test split only."""

    eval_train: bool = True

    def __post_init__(self) -> None:
        if self.dataset not in IMAGE_DATASETS:
            raise ValueError(f"dataset={self.dataset!r} is not one of {IMAGE_DATASETS}")

    @property
    def name(self) -> str:
        name = super().name
        return name.replace("mnist", "fashion-mnist", 1) if self.dataset == "fashion-mnist" else name

    def data(self):
        if self.dataset == "fashion-mnist":
            from optbook.data import load_fashion_mnist

            return load_fashion_mnist()
        return super().data()

    def config(self) -> dict:
        return {**super().config(), "task": "image-mlp", "eval_train": self.eval_train}

    def build(self, seeds, device="cpu") -> MLPClassifier:
        fashion = self.dataset == "fashion-mnist"
        model = super(ImageMLPTask, dataclasses.replace(self, standardize=self.standardize and not fashion)).build(
            seeds, device)
        if self.standardize and fashion:  # new tensors: the loaded data set is shared and read-only
            model.x = (model.x - FASHION_MEAN) / FASHION_STD
            model.eval_x = (model.eval_x - FASHION_MEAN) / FASHION_STD
        if not self.eval_train:
            model.__class__ = TestSplitMLP  # same state, an evaluation that skips the training split
        return model


__all__ = ["FASHION_MEAN", "FASHION_STD", "IMAGE_DATASETS", "ImageMLPTask", "MNIST_MEAN", "MNIST_STD", "TestSplitMLP"]
