"""Each chapter's configuration at each scale: "smoke" (tests, < 1 min), "cpu" (the published
book on 2 CPU cores), "paper" (the papers' own protocol; a GPU is expected)."""

from __future__ import annotations

from types import MappingProxyType

from optbook.session import SCALES, check_choice
from optbook.tasks import BOOK_TASKS

# Chapter 0 tunes the baselines of the learning-to-learn tasks (chapters 1 and 2). The spirals are
# not among them: chapter 4 compares its integrators at its own horizon (tens of thousands of
# steps) with its own sweep of the baselines' step sizes (the paper's Fig. 10).
L2L_TASKS = tuple(key for key in BOOK_TASKS if key != "spirals")

TASKS_AND_BASELINES = {
    "smoke": {
        "tasks": ("quadratic", "mnist-sigmoid"),
        "lr_grid": (0.3, 0.03, 0.003),
        "tuning_seeds": 2,
        "evaluation_seeds": 3,
        "steps": {"default": 20},
    },
    "cpu": {
        "tasks": L2L_TASKS,
        "lr_grid": None,  # the L2L reproductions' grid 1 ... 1e-5, extended where a best rate sits at its edge
        "tuning_seeds": 20,
        "evaluation_seeds": 100,
        "steps": {"default": 100},
    },
    "paper": {
        "tasks": L2L_TASKS,
        "lr_grid": None,
        "tuning_seeds": 100,
        "evaluation_seeds": 100,
        "steps": {"default": 100},
    },
}

DECADES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)

HYPERGRADIENT = {
    "smoke": {
        "mlp_hidden": (50, 50),
        "logreg_epochs": 2, "mlp_epochs": 1, "logreg_seeds": 2, "mlp_seeds": 2, "mlp_variant_seeds": 2,
        "grid_alphas": (1e-2, 1e-3), "grid_betas": (1e-3, 1e-5), "grid_cap": 40, "threshold": 0.5,
        "sweep_alphas": (1e-1, 1e-3), "sweep_epochs": 2, "sweep_beta": 1e-4, "sweep_seeds": 1,
        "variant_alphas": (1e-2, 1e-3), "variant_epochs": 2, "variant_seeds": 1,
        "parity_steps": 40, "parity_window": 20, "parity_seeds": 2,
        "adamlop_beta": 1e-5, "transition_taus": (1, 30), "transition_seeds": 2,
        "vgg_epochs": 0,
    },
    "cpu": {
        "mlp_hidden": (1000, 1000),
        "logreg_epochs": 20, "mlp_epochs": 10, "logreg_seeds": 10, "mlp_seeds": 6, "mlp_variant_seeds": 0,
        "grid_alphas": DECADES, "grid_betas": DECADES, "grid_cap": 2000, "threshold": 0.29,
        "sweep_alphas": DECADES, "sweep_epochs": 50, "sweep_beta": 1e-4, "sweep_seeds": 2,
        "variant_alphas": (1e-2, 5e-3, 1e-3, 5e-4, 1e-4), "variant_epochs": 20, "variant_seeds": 2,
        "parity_steps": 9380, "parity_window": 469, "parity_seeds": 6,
        "adamlop_beta": 1e-5, "transition_taus": (1, 30, 300), "transition_seeds": 10,
        "vgg_epochs": 0,
    },
    "paper": {
        "mlp_hidden": (1000, 1000),
        "logreg_epochs": 20, "mlp_epochs": 100, "logreg_seeds": 10, "mlp_seeds": 6, "mlp_variant_seeds": 6,
        "grid_alphas": DECADES, "grid_betas": DECADES, "grid_cap": 468_750, "threshold": 0.29,
        "sweep_alphas": DECADES, "sweep_epochs": 50, "sweep_beta": 1e-4, "sweep_seeds": 3,
        "variant_alphas": (1e-2, 5e-3, 1e-3, 5e-4, 1e-4), "variant_epochs": 20, "variant_seeds": 3,
        "parity_steps": 9380, "parity_window": 469, "parity_seeds": 10,
        "adamlop_beta": 1e-5, "transition_taus": (1, 30, 300), "transition_seeds": 10,
        "vgg_epochs": 200,
    },
}

# Chapter 4. Problems: "two_turn" is Figs. 8 and 14 (2-turn spirals, 20 nodes, 500 points, 2 %
# subsampling); "four_turn" Figs. 9 and 10 (4-turn spirals, 100 nodes, 5 %); "trig" Figs. 11-12
# (reconstructed trigonometric data, 100 nodes, 1000 points, 5 %); "temperatures" Fig. 1 (BAOAB,
# trigonometric a = 3, b = 2, 500 nodes, 2 %); "sensitivity" Fig. 15 (AdLaLa over τ₁ × σ_A on
# the 4-turn problem). "sweep" is Fig. 10's sweep over SGLD's σ and Adam's h on the first runs of
# "four_turn", compared at its "steps" (which must be an evaluated step of "four_turn").
# "temperatures" also runs the "hotter_taus" beyond Fig. 1's and probes the kinetic temperature
# every "probe_every" steps. "initialisation" runs Figs. 9 and 14's Gaussian initialisations: the
# "two_turn_methods" on all "two_turn" runs, and Adam and AdLaLa on the first "four_turn_runs" of
# the 4-turn problem for "four_turn_steps" (an evaluated step of "four_turn").
THERMODYNAMIC = {
    "smoke": {
        "two_turn": {"hidden": 20, "runs": 6, "steps": 300, "eval_every": 50, "snapshots": (50, 300)},
        "four_turn": {"hidden": 16, "runs": 4, "steps": 300, "eval_every": 50},
        "sweep": {"runs": 2, "steps": 100, "sgld_sigmas": (0.0, 0.1), "adam_lrs": (0.001,)},
        "trig": {"a": (6,), "hidden": 16, "runs": 3, "steps": 200, "eval_every": 50},
        "temperatures": {"taus": (1e-8, 1e-5), "hotter_taus": (1e-3,), "hidden": 32, "runs": 2, "steps": 200,
                         "probe_every": 20},
        "initialisation": {"two_turn_methods": ("Adam", "AdLaLa (γ=0.5)"), "four_turn_runs": 2, "four_turn_steps": 100},
        "sensitivity": {"tau1": (1e-5, 1e-3), "sigma_A": (0.003, 0.03), "hidden": 16, "runs": 2, "steps": 100},
        "speedup": {"runs": 8, "steps": 30, "loop_runs": 2},
    },
    "cpu": {
        "two_turn": {"hidden": 20, "runs": 100, "steps": 10000, "eval_every": 250, "snapshots": (50, 1000, 10000)},
        "four_turn": {"hidden": 100, "runs": 100, "steps": 20000, "eval_every": 1000},
        "sweep": {"runs": 10, "steps": 10000, "sgld_sigmas": (0.0, 0.005, 0.01, 0.05, 0.1), "adam_lrs": (0.001, 0.01, 0.05)},
        "trig": {"a": (6, 10), "hidden": 100, "runs": 20, "steps": 10000, "eval_every": 500},
        "temperatures": {"taus": (1e-8, 1e-7, 1e-6, 1e-5), "hotter_taus": (1e-4, 1e-3, 1e-2), "hidden": 500,
                         "runs": 8, "steps": 10000, "probe_every": 100},
        "sensitivity": {"tau1": (1e-6, 1e-5, 1e-4, 1e-3), "sigma_A": (0.001, 0.01, 0.03), "hidden": 100, "runs": 10,
                        "steps": 10000},
        "initialisation": {"two_turn_methods": ("SGD", "Adam", "AdLaLa (γ=0.5)", "LOL"), "four_turn_runs": 20,
                           "four_turn_steps": 20000},
        "speedup": {"runs": 100, "steps": 300, "loop_runs": 5},
    },
    "paper": {
        "two_turn": {"hidden": 20, "runs": 100, "steps": 10000, "eval_every": 100, "snapshots": (50, 1000, 10000)},
        "four_turn": {"hidden": 100, "runs": 100, "steps": 80000, "eval_every": 2000},
        "sweep": {"runs": 20, "steps": 20000, "sgld_sigmas": (0.0, 0.005, 0.01, 0.05, 0.1), "adam_lrs": (0.001, 0.01, 0.05)},
        "trig": {"a": (6, 10), "hidden": 100, "runs": 20, "steps": 50000, "eval_every": 1000},
        "temperatures": {"taus": (1e-8, 1e-7, 1e-6, 1e-5), "hotter_taus": (1e-4, 1e-3, 1e-2), "hidden": 500,
                         "runs": 10, "steps": 50000, "probe_every": 250},
        "initialisation": {"two_turn_methods": ("SGD", "Adam", "AdLaLa (γ=0.5)", "LOL"), "four_turn_runs": 100,
                           "four_turn_steps": 60000},
        "sensitivity": {"tau1": (1e-6, 1e-5, 1e-4, 1e-3), "sigma_A": (0.001, 0.003, 0.01, 0.03), "hidden": 100,
                        "runs": 10, "steps": 40000},
        "speedup": {"runs": 100, "steps": 1000, "loop_runs": 10},
    },
}

_L2L_QUADRATIC_NET = {"hidden": 20, "layers": 2, "preprocess_p": None, "output_scale": 1.0}
_L2L_MNIST_NET = {"hidden": 20, "layers": 2, "preprocess_p": 10.0, "output_scale": 0.1}
_L2L_SEEDS = tuple(range(10**6, 10**6 + 20))

LEARNING_TO_LEARN = {
    "smoke": {
        "quadratic_net": _L2L_QUADRATIC_NET,
        "quadratic_meta": {"problems": 6, "runs": 2, "meta_lr": 3e-3, "clip_grad_norm": 1.0, "horizon": 20,
                           "unroll": 10, "validate_every": 3, "validation_seeds": _L2L_SEEDS[:3]},
        "mnist_net": _L2L_MNIST_NET,
        "mnist_meta": {"problems": 2, "runs": 1, "meta_lr": 1e-2, "clip_grad_norm": 1.0, "horizon": 20,
                       "unroll": 10, "validate_every": 1, "validation_seeds": _L2L_SEEDS[:2]},
        "evaluation_seeds": 4, "quadratic_steps": 20, "mnist_steps": 40, "mnist_claim_steps": (20, 40),
        "transfer_tasks": ("mnist-40", "mnist-2layer", "mnist-relu"), "transfer_steps": 20,
        "sensitivity_meta_lrs": (3e-3,), "sensitivity_seeds": (1,), "sensitivity_problems": 3,
        "relu_output_scales": (1.0,), "architecture_hidden": (5, 20), "architecture_layers": (1,),
        "architecture_seeds": 2, "architecture_steps": 10,
    },
    "cpu": {
        "quadratic_net": _L2L_QUADRATIC_NET,
        "quadratic_meta": {"problems": 500, "runs": 8, "meta_lr": 3e-3, "clip_grad_norm": 1.0, "horizon": 100,
                           "unroll": 20, "validate_every": 25, "validation_seeds": _L2L_SEEDS},
        "mnist_net": _L2L_MNIST_NET,
        "mnist_meta": {"problems": 300, "runs": 1, "meta_lr": 1e-2, "clip_grad_norm": 1.0, "horizon": 100,
                       "unroll": 20, "validate_every": 25, "validation_seeds": _L2L_SEEDS[:10]},
        "evaluation_seeds": 100, "quadratic_steps": 100, "mnist_steps": 200, "mnist_claim_steps": (100, 200),
        "transfer_tasks": ("mnist-40", "mnist-2layer", "mnist-relu"), "transfer_steps": 200,
        "sensitivity_meta_lrs": (1e-3, 3e-3, 1e-2), "sensitivity_seeds": (1, 2, 3), "sensitivity_problems": 200,
        # OPT-ML evaluated its LSTM at output scale 1.0 after training it at 0.1 (specs 2.8): ten times larger steps.
        "relu_output_scales": (1.0,), "architecture_hidden": (5, 10, 20, 40), "architecture_layers": (1, 2),
        "architecture_seeds": 100, "architecture_steps": 100,
    },
    "paper": {
        "quadratic_net": _L2L_QUADRATIC_NET,
        "quadratic_meta": {"problems": 2000, "runs": 1, "meta_lr": 3e-3, "clip_grad_norm": None, "horizon": 100,
                           "unroll": 20, "validate_every": 20, "validation_seeds": _L2L_SEEDS},
        "mnist_net": _L2L_MNIST_NET,
        "mnist_meta": {"problems": 1000, "runs": 1, "meta_lr": 1e-2, "clip_grad_norm": None, "horizon": 100,
                       "unroll": 20, "validate_every": 20, "validation_seeds": _L2L_SEEDS},
        "evaluation_seeds": 100, "quadratic_steps": 100, "mnist_steps": 200, "mnist_claim_steps": (100, 200),
        "transfer_tasks": ("mnist-40", "mnist-2layer", "mnist-relu"), "transfer_steps": 200,
        "sensitivity_meta_lrs": (1e-3, 3e-3, 1e-2), "sensitivity_seeds": (1, 2, 3), "sensitivity_problems": 500,
        "relu_output_scales": (1.0,), "architecture_hidden": (5, 10, 20, 40, 80, 160), "architecture_layers": (1, 2, 3),
        "architecture_seeds": 100, "architecture_steps": 100,
    },
}

# Chapter 2. "published": OPT-ML's protocol for its HNN (spec 2.4): unroll 15, meta-lr 0.01,
# out_mul 0.001, 2,000 (quadratic) / 1,000 (MNIST) training problems of one run each, validation
# on 50 / 20 problems after every epoch of 20. "fair": every learned net under chapter 1's LSTM
# protocol (its quadratic_meta / mnist_meta), with the same search over the meta-learning rates
# of chapter 1's sensitivity study (quadratics, seed and problem count of that study), so chapter
# 1's LSTMs are reused as they ship. "port_hamiltonian": the structure-true net's config.
_HNN_QUADRATIC_NET = {"preprocess_p": None, "output_scale": 0.001, "normalize_state": True}
_HNN_MNIST_NET = {"preprocess_p": 10.0, "output_scale": 0.001, "normalize_state": False}
# The structure-true net feeds the raw gradient to its port: input scale 1 on quadratics (gradients
# of order 1-100), 100 on MNIST (gradients of order 1e-3); out and h from a pilot of 30-40 training
# problems per setting (chapter 2 says so): larger steps diverged on quadratics, smaller ones did not learn on MNIST.
_PH_QUADRATIC_NET = {"dim": 1, "hidden": 8, "output_scale": 0.01, "input_scale": 1.0, "step_size": 1.0,
                     "integrator": "leapfrog"}
_PH_MNIST_NET = {"dim": 1, "hidden": 8, "output_scale": 0.03, "input_scale": 100.0, "step_size": 1.0,
                 "integrator": "leapfrog"}
_HNN_VALIDATION = tuple(range(10**6, 10**6 + 50))

HAMILTONIAN = {
    "smoke": {
        "published": {
            "quadratic": {"net": _HNN_QUADRATIC_NET,
                          "meta": {"problems": 6, "runs": 1, "meta_lr": 0.01, "clip_grad_norm": None, "horizon": 20,
                                   "unroll": 15, "validate_every": 3, "validation_seeds": _HNN_VALIDATION[:3]}},
            "mnist": {"net": _HNN_MNIST_NET,
                      "meta": {"problems": 2, "runs": 1, "meta_lr": 0.01, "clip_grad_norm": None, "horizon": 20,
                               "unroll": 15, "validate_every": 1, "validation_seeds": _HNN_VALIDATION[:2]}},
        },
        "port_hamiltonian": {"quadratic": _PH_QUADRATIC_NET, "mnist": _PH_MNIST_NET},
        "evaluation_seeds": 4, "steps": 20, "probe_steps": 10,
    },
    "cpu": {
        "published": {
            "quadratic": {"net": _HNN_QUADRATIC_NET,
                          "meta": {"problems": 2000, "runs": 1, "meta_lr": 0.01, "clip_grad_norm": None,
                                   "horizon": 100, "unroll": 15, "validate_every": 20,
                                   "validation_seeds": _HNN_VALIDATION}},
            "mnist": {"net": _HNN_MNIST_NET,
                      "meta": {"problems": 1000, "runs": 1, "meta_lr": 0.01, "clip_grad_norm": None,
                               "horizon": 100, "unroll": 15, "validate_every": 20,
                               "validation_seeds": _HNN_VALIDATION[:20]}},
        },
        "port_hamiltonian": {"quadratic": _PH_QUADRATIC_NET, "mnist": _PH_MNIST_NET},
        "evaluation_seeds": 100, "steps": 100, "probe_steps": 30,
    },
}
HAMILTONIAN["paper"] = HAMILTONIAN["cpu"]

# Kinds of learned optimizer (optbook.studies.net_kinds): every architecture under chapter 1's
# protocol, trained several times (runs = different φ init and training problems). The first run
# searches the kind's own settings at the middle meta-learning rate, then the meta-learning rate
# at the chosen settings, widened by half-decades while the best sits at an edge (at most
# `widen` times); the other runs train at the chosen settings. Selection and early stopping
# score the validation loss at the horizon (step 100), the step the claims are judged at;
# `problems` is a ceiling: a net stops after `patience` validations without improvement.
LEARNED_KINDS = {
    "smoke": {
        "runs": {"quadratic": 2, "mnist": 2}, "meta_lrs": {"quadratic": (3e-3, 1e-2), "mnist": (1e-2,)},
        "problems": {"quadratic": 6, "mnist": 2}, "patience": 2, "widen": 0, "search_axes": False,
    },
    "cpu": {
        "runs": {"quadratic": 5, "mnist": 3}, "meta_lrs": {"quadratic": (1e-3, 3e-3, 1e-2, 3e-2),
                                                         "mnist": (3e-3, 1e-2, 3e-2)},
        "problems": {"quadratic": 1000, "mnist": 300}, "patience": 4, "widen": 2, "search_axes": True,
    },
    "paper": {
        "runs": {"quadratic": 5, "mnist": 3}, "meta_lrs": {"quadratic": (1e-3, 3e-3, 1e-2, 3e-2),
                                                         "mnist": (3e-3, 1e-2, 3e-2)},
        "problems": {"quadratic": 2000, "mnist": 1000}, "patience": 5, "widen": 3, "search_axes": True,
    },
}

# The appendix "What it costs": timings of optbook.bench, taken when the page runs (never cached).
WHAT_IT_COSTS = {
    "smoke": {
        "steps": {"mlp": (20, 20, 10), "batch": 8, "repeats": 1, "steps_per_round": 1},
        "ensembles": {"spirals": {"hidden": 4, "n_train": 40, "batch_size": 10}, "runs": (1, 4), "steps": 5,
                      "loop_runs": 2},
        "meta": {"task": "quadratic", "net": {"hidden": 4, "layers": 2, "preprocess_p": None, "output_scale": 1.0},
                 "problems": 1, "evaluation_runs": 2, "evaluation_steps": 3},
    },
    "cpu": {
        # the hypergradient paper's MNIST MLP (1.8M parameters), as `optbook bench`
        "steps": {"mlp": (784, 1000, 1000, 10), "batch": 128, "repeats": 3, "steps_per_round": 5},
        "ensembles": {"spirals": {}, "runs": (1, 10, 100, 1000), "steps": 200, "loop_runs": 10},
        "meta": {"task": "mnist-sigmoid", "problems": 3, "evaluation_runs": 20, "evaluation_steps": 20},
    },
    "paper": {
        "steps": {"mlp": (784, 1000, 1000, 10), "batch": 128, "repeats": 5, "steps_per_round": 10},
        "ensembles": {"spirals": {}, "runs": (1, 10, 100, 1000, 10000), "steps": 200, "loop_runs": 10},
        "meta": {"task": "mnist-sigmoid", "problems": 5, "evaluation_runs": 100, "evaluation_steps": 20},
    },
}

CHAPTERS = {"00": TASKS_AND_BASELINES, "01": LEARNING_TO_LEARN, "02": HAMILTONIAN, "03": HYPERGRADIENT,
            "04": THERMODYNAMIC, "90": WHAT_IT_COSTS}


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


def learned_kinds(scale: str) -> MappingProxyType:
    """The read-only protocol of the kinds of learned optimizer (:data:`LEARNED_KINDS`) at ``scale``."""
    check_choice("scale", scale, SCALES)
    return MappingProxyType(LEARNED_KINDS[scale])
