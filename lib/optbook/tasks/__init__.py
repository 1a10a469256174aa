"""Optimizees: task families whose problems are built as batched ensembles of independent runs.

A task is a frozen dataclass with ``name``, ``title``, ``steps`` (its default horizon),
``config()`` (a JSON-able description, used in cache keys) and ``build(seeds, device)``.
"""

from __future__ import annotations

from optbook.tasks.base import Optimizee
from optbook.tasks.ensemble import EnsembleLinear, run_generator, run_generators
from optbook.tasks.mlp import MLPClassifier, MNISTMLPTask
from optbook.tasks.quadratic import QuadraticOptimizee, QuadraticTask
from optbook.tasks.spirals import PlanarClassifier, SpiralClassifier, SpiralTask, two_spirals
from optbook.tasks.trigonometric import TrigTask, trigonometric

BOOK_TASKS = ("quadratic", "mnist-sigmoid", "mnist-relu", "mnist-40", "mnist-2layer", "spirals")


def book_task(key: str, dataset: str = "auto"):
    """The book's optimizees by short key: the L2L family and the spirals of the thermodynamic paper."""
    tasks = {
        "quadratic": lambda: QuadraticTask(),
        "mnist-sigmoid": lambda: MNISTMLPTask(dataset=dataset),
        "mnist-relu": lambda: MNISTMLPTask(activation="relu", dataset=dataset),
        "mnist-40": lambda: MNISTMLPTask(hidden=(40,), dataset=dataset),
        "mnist-2layer": lambda: MNISTMLPTask(hidden=(20, 20), dataset=dataset),
        "spirals": lambda: SpiralTask(),
    }
    if key not in tasks:
        raise ValueError(f"task={key!r} is not one of the book's tasks: {', '.join(BOOK_TASKS)}")
    return tasks[key]()


__all__ = [
    "BOOK_TASKS", "EnsembleLinear", "MLPClassifier", "MNISTMLPTask", "Optimizee", "PlanarClassifier", "QuadraticOptimizee",
    "QuadraticTask", "SpiralClassifier", "SpiralTask", "TrigTask", "book_task", "run_generator", "run_generators",
    "trigonometric", "two_spirals",
]
