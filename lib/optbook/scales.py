"""Each chapter's configuration at each scale: "smoke" (tests, < 1 min), "cpu" (the published
book on 2 CPU cores), "paper" (the papers' own protocol; a GPU is expected)."""

from __future__ import annotations

from types import MappingProxyType

from optbook.session import SCALES, check_choice
from optbook.tasks import BOOK_TASKS

TASKS_AND_BASELINES = {
    "smoke": {
        "tasks": ("quadratic", "mnist-sigmoid", "spirals"),
        "lr_grid": (0.3, 0.03, 0.003),
        "tuning_seeds": 2,
        "evaluation_seeds": 3,
        "steps": {"default": 20, "spirals": 40},
        "eval_every": {"spirals": 10},
    },
    "cpu": {
        "tasks": BOOK_TASKS,
        "lr_grid": None,  # the full grid 1 ... 1e-5 of the L2L reproductions
        "tuning_seeds": 20,
        "evaluation_seeds": 100,
        "steps": {"default": 100, "spirals": 2000},
        "eval_every": {"spirals": 50},
    },
    "paper": {
        "tasks": BOOK_TASKS,
        "lr_grid": None,
        "tuning_seeds": 100,
        "evaluation_seeds": 100,
        "steps": {"default": 100, "spirals": 10000},
        "eval_every": {"spirals": 200},
    },
}

DECADES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)

HYPERGRADIENT = {
    "smoke": {
        "mlp_hidden": (50, 50),
        "logreg_epochs": 2, "mlp_epochs": 1, "logreg_seeds": 2, "mlp_seeds": 1,
        "grid_alphas": (1e-2, 1e-3), "grid_betas": (1e-3, 1e-5), "grid_cap": 40, "threshold": 0.5,
        "sweep_alphas": (1e-1, 1e-3), "sweep_epochs": 2, "sweep_beta": 1e-4,
        "variant_alphas": (1e-2, 1e-3), "variant_epochs": 2, "vgg_epochs": 0,
    },
    "cpu": {
        "mlp_hidden": (1000, 1000),
        "logreg_epochs": 20, "mlp_epochs": 20, "logreg_seeds": 5, "mlp_seeds": 1,
        "grid_alphas": DECADES, "grid_betas": DECADES, "grid_cap": 3000, "threshold": 0.29,
        "sweep_alphas": DECADES, "sweep_epochs": 50, "sweep_beta": 1e-4,
        "variant_alphas": (1e-2, 5e-3, 1e-3, 5e-4, 1e-4), "variant_epochs": 20, "vgg_epochs": 0,
    },
    "paper": {
        "mlp_hidden": (1000, 1000),
        "logreg_epochs": 20, "mlp_epochs": 100, "logreg_seeds": 1, "mlp_seeds": 1,
        "grid_alphas": DECADES, "grid_betas": DECADES, "grid_cap": 468_750, "threshold": 0.29,
        "sweep_alphas": DECADES, "sweep_epochs": 50, "sweep_beta": 1e-4,
        "variant_alphas": (1e-2, 5e-3, 1e-3, 5e-4, 1e-4), "variant_epochs": 20, "vgg_epochs": 200,
    },
}

CHAPTERS = {"00": TASKS_AND_BASELINES, "03": HYPERGRADIENT}


def chapter_config(chapter: str, scale: str) -> MappingProxyType:
    """The read-only config table of ``chapter`` at ``scale``."""
    check_choice("chapter", chapter, tuple(CHAPTERS))
    check_choice("scale", scale, SCALES)
    return MappingProxyType(CHAPTERS[chapter][scale])


def tuning_protocol(scale: str, task_key: str):
    """The baselines' tuning protocol for one task at one scale (shared by every chapter)."""
    from optbook.baselines import LR_GRID, TuningProtocol

    config = chapter_config("00", scale)
    steps = config["steps"].get(task_key, config["steps"]["default"])
    return TuningProtocol(steps=steps, n_seeds=config["tuning_seeds"], lr_grid=tuple(config["lr_grid"] or LR_GRID))
