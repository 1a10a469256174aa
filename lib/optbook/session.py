"""The first call of every chapter: device, seeds, plotting theme, one line of environment."""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass

import numpy as np
import torch

SCALES = ("smoke", "cpu", "paper")


def check_choice(name: str, value, allowed) -> None:
    """Raise ``ValueError`` naming the argument, the value given and what is allowed."""
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {', '.join(map(repr, allowed))}")


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` is CUDA when present, else the CPU; anything else must name an available device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda[:N]'") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available here; use 'auto' or 'cpu'")
    return resolved


# numpy's global seed is 32-bit; one range for every seed a chapter accepts, checked before a
# kernel starts (optbook.pipeline) and again here for direct use.
MAX_SEED = 2**32 - 1
# Book seed s draws its runs from seeds s·RUN_SEED_BLOCK + 0, 1, ...: disjoint blocks, so another
# book seed means other initial weights and minibatches (seed 0 keeps the runs 0, 1, ...).
RUN_SEED_BLOCK = 1_000_000
# Chapters 0-2 judge optimizers on held-out problems, numbered apart from the tuning problems
# (10,000 ...), the meta-training validation problems (1,000,000 ...) and the training problems
# (100,000,000 ...): book seed 0 keeps problems 0, 1, ...; book seed s >= 1 takes the block of
# HELD_OUT_BLOCK problems from HELD_OUT_START + (s - 1) * HELD_OUT_BLOCK, which no tuning,
# validation or training ever uses, so a sweep over seeds re-tests the verdicts on fresh problems.
HELD_OUT_BLOCK = 1_000
HELD_OUT_START = 2_000_000
MAX_HELD_OUT_SEED = (100_000_000 - HELD_OUT_START) // HELD_OUT_BLOCK


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def in_colab() -> bool:
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


@dataclass(frozen=True)
class Session:
    scale: str
    device: torch.device
    seed: int

    def run_seeds(self, n: int) -> list[int]:
        """The seeds of ``n`` runs for this book seed: 0 … n−1 at seed 0, a disjoint block of
        :data:`RUN_SEED_BLOCK` per other book seed. A chapter draws its runs from here, so that
        re-executing it at another seed tests whether its verdicts hold for other runs."""
        if not isinstance(n, int) or isinstance(n, bool) or not 0 <= n <= RUN_SEED_BLOCK:
            raise ValueError(f"n={n!r} runs is not allowed; use an integer from 0 to {RUN_SEED_BLOCK:,}")
        first = self.seed * RUN_SEED_BLOCK
        return list(range(first, first + n))

    def first_held_out_problem(self) -> int:
        """The first seed of this book seed's block of held-out problems (0 at book seed 0;
        :data:`HELD_OUT_START` and on otherwise): chapters 0-2 evaluate on problems
        ``first, first + 1, ...`` (at most :data:`HELD_OUT_BLOCK` of them)."""
        if self.seed > MAX_HELD_OUT_SEED:
            raise ValueError(f"seed={self.seed} is not allowed for held-out problems; use 0 to {MAX_HELD_OUT_SEED:,} "
                             "(larger blocks would reach the meta-training problems)")
        return 0 if self.seed == 0 else HELD_OUT_START + (self.seed - 1) * HELD_OUT_BLOCK

    def describe(self) -> str:
        from optbook import __version__

        threads = torch.get_num_threads()
        return (
            f"optbook {__version__} | scale={self.scale} | device={self.device} | seed={self.seed} | "
            f"torch {torch.__version__} ({threads} threads) | python {platform.python_version()}"
        )


def setup(scale: str = "cpu", device: str = "auto", seed: int = 0, quiet: bool = False,
          seed_moves_runs: bool = True) -> Session:
    """Resolve the device, seed torch/numpy/random, set the house plotting theme, print one line.

    ``seed_moves_runs=False`` is a chapter whose problems are fixed seeds: it accepts only seed 0,
    so that a run by papermill or Colab with another seed stops at once instead of repeating seed
    0's results under another seed's stamp (``optbook run`` refuses it before a kernel starts)."""
    check_choice("scale", scale, SCALES)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed={seed!r} is not allowed; use an integer from 0 to {MAX_SEED} (2**32 - 1)")
    if not seed_moves_runs and seed != 0:
        raise ValueError(f"seed={seed!r} is not allowed here; only 0: this chapter's problems are fixed seeds "
                         "(held-out problems 0, 1, ...), which the book seed does not move")
    session = Session(scale=scale, device=resolve_device(device), seed=seed)
    seed_everything(seed)
    from optbook.plots import set_theme

    set_theme()
    if not quiet:
        print(session.describe())
    return session
