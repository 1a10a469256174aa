r"""Planar trigonometric data of Leimkuhler, Matthews, Vlaar 2019: a RECONSTRUCTION of their Eq. 17.

The paper's Eq. 17 (parameters a, b, c; Figs. 1, 11, 12 use a = 3, 6, 10, b = 2, c = 0.02) was
not recovered in any source we could read (specs/hypergradient-and-thermodynamic.md §2.7, §2.9).
This is our stand-in with the same three parameters, built like the paper's spirals (Eq. 16),
where c is the input noise:

    x ~ U[−L, L]²,   label = 1 if sin(a x₁) cos(b x₂) > 0 else 0,   then x ← x + c N(0, I₂).

The class regions are a checkerboard of cells π/a wide and π/b high; a larger a means more,
thinner cells, so a harder problem, matching the paper's use of a = 6 and a = 10 as the
harder cases. The noise is added after labelling, so points near a boundary may sit on the
wrong side of it, as in the spirals. L = 2 matches the extent of the spirals (radius 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from optbook.tasks.spirals import PlanarClassifier

__all__ = ["trigonometric", "TrigTask"]


def trigonometric(
    n: int, a: float = 3.0, b: float = 2.0, c: float = 0.02, extent: float = 2.0, generator=None
) -> tuple[torch.Tensor, torch.Tensor]:
    """n points of the reconstructed Eq. 17: label sin(a x₁)cos(b x₂) > 0 on U[−extent, extent]², noise c."""
    if n < 1:
        raise ValueError(f"n={n} must be a positive number of points")
    for name, value in (("a", a), ("b", b)):
        if not value > 0:
            raise ValueError(f"{name}={value!r} must be a positive frequency")
    if not c >= 0:
        raise ValueError(f"c={c!r} is the input noise and must be >= 0")
    if not extent > 0:
        raise ValueError(f"extent={extent!r} must be > 0")
    x = (torch.rand(n, 2, generator=generator) * 2 - 1) * extent
    y = (torch.sin(a * x[:, 0]) * torch.cos(b * x[:, 1]) > 0).float()
    return x + c * torch.randn(n, 2, generator=generator), y


@dataclass(frozen=True)
class TrigTask:
    """Classify the (reconstructed) planar trigonometric data with a 2-H-1 perceptron."""

    a: float = 6.0
    b: float = 2.0
    c: float = 0.02
    hidden: int = 100
    n_train: int = 1000
    batch_size: int = 50
    steps: int = 10000

    @property
    def name(self) -> str:
        return f"trig-a{self.a:g}-b{self.b:g}-h{self.hidden}"

    @property
    def title(self) -> str:
        return f"Trigonometric data (reconstructed Eq. 17, a={self.a:g}, b={self.b:g}), perceptron 2-{self.hidden}-1"

    def config(self) -> dict:
        return {"task": "trigonometric", "a": self.a, "b": self.b, "c": self.c, "hidden": self.hidden,
                "n_train": self.n_train, "batch_size": self.batch_size}

    def build(self, seeds: Sequence[int], device="cpu") -> PlanarClassifier:
        def sample(n, generator):
            return trigonometric(n, self.a, self.b, self.c, generator=generator)

        return PlanarClassifier(seeds, sample, self.hidden, self.n_train, n_test=1000,
                                batch_size=self.batch_size, device=device)
