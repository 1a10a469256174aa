r"""Layer-partitioned thermodynamic integrators: AdLaLa, LOL, LaLa (Leimkuhler, Matthews, Vlaar 2019).

Each constructor splits a network's parameters by layer (:func:`layer_partition`) and returns a
:class:`~optbook.optim.langevin.PartitionedLangevin` whose parameter groups choose their
integrator with the ``method`` key. The joint step (A½ on all groups, each group's inner
substeps, one gradient evaluation, B₁ on all groups) is the optimizer's; see its docstring.
Provenance tags as in ``specs/hypergradient-and-thermodynamic.md``: [C] official code,
[B] figure captions of the paper page (unverified), [I] inferred.
"""

from __future__ import annotations

import re
from typing import Sequence

import torch
from torch import Tensor, nn

from optbook.optim.langevin import PartitionedLangevin, _check_real

__all__ = ["layer_partition", "AdLaLa", "LOL", "LaLa"]

_BIAS_NAME = re.compile(r"^(bias|b(\d|_|$))")


def layer_partition(model: nn.Module) -> list[list[Tensor]]:
    """The model's trainable parameters grouped by layer, in registration order.

    Rule: walk ``model.named_modules()`` (registration order); the parameters a module registers
    itself (``recurse=False``) are taken in order, and a new layer starts at every parameter whose
    name is not a bias. A bias is a name that begins with ``bias`` or is ``b`` optionally followed
    by a digit or an underscore (``b``, ``b1``, ``b_out``); it joins the layer of the parameter
    before it. So ``nn.Linear``/``nn.Conv*`` give ``[weight, bias]`` (or ``[weight]`` without
    bias), and a hand-written batched net registering ``W1, b1, W2, b2`` on one module gives
    ``[[W1, b1], [W2, b2]]``. Parameters with ``requires_grad=False`` are left out, and a parameter
    shared by two modules is counted once.
    """
    layers: list[list[Tensor]] = []
    seen: set[int] = set()
    for _, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            if _BIAS_NAME.match(name) and layers:
                layers[-1].append(p)
            else:
                layers.append([p])
    return layers


def _as_layers(model_or_params) -> list[list[Tensor]]:
    """Layers from a module (:func:`layer_partition`), a list of layers, or a flat list of tensors.

    A flat list of tensors is read as consecutive (weight, bias) pairs, the official code's
    convention (``Optimizer_AdLaLa.py`` puts tensors ``num < 2`` in the first layer) [C].
    """
    if isinstance(model_or_params, nn.Module):
        layers = layer_partition(model_or_params)
    else:
        items = list(model_or_params)
        if all(isinstance(t, Tensor) for t in items):
            layers = [items[i:i + 2] for i in range(0, len(items), 2)]
        else:
            layers = [list(layer) for layer in items]
            if not all(isinstance(t, Tensor) for layer in layers for t in layer):
                raise ValueError("model_or_params must be an nn.Module, a list of tensors, or a list of lists of tensors")
    layers = [layer for layer in layers if layer]
    if not layers:
        raise ValueError("model_or_params has no trainable parameters")
    return layers


def _two_partitions(model_or_params, scheme: str) -> tuple[list[Tensor], list[Tensor]]:
    layers = _as_layers(model_or_params)
    if len(layers) < 2:
        raise ValueError(f"{scheme} partitions the first layer from the rest; got {len(layers)} layer(s)")
    return layers[0], [p for layer in layers[1:] for p in layer]


def AdLaLa(
    model_or_params,
    lr: float = 0.25,
    gamma: float = 0.1,
    tau1: float = 1e-4,
    tau2: float = 1e-4,
    sigma_A: float = 0.01,
    eps: float = 0.05,
    xi0: float = 0.1,
    *,
    ensemble_dim: int | None = None,
    generator: torch.Generator | None = None,
    generators: Sequence[torch.Generator] | None = None,
) -> PartitionedLangevin:
    """AdLaLa: adaptive Langevin on the first (input) layer, BAOAB Langevin on all other layers.

    The partition is confirmed by the official code (first two tensors W₁, b₁ adaptive) [C].
    Defaults: h = 0.25, γ = 0.1, τ₁ = τ₂ = 1e-4, σ_A = 0.01, ε = 0.05 are the notebooks' and
    ``AdLaLa.py``'s values (spec §2.5) [C], also in the paper's Fig. 10 caption [B]; ξ₀ = 0.1 is
    ``Optimizer_AdLaLa.py``'s [C] (the paper's ξ₀ is unknown). Several figures use ε = 0.1 and
    γ ∈ {0.5, 5, 10, 1000} [B].
    """
    _check_real("gamma", gamma, low=0.0, low_open=True, allow_inf=True)
    _check_real("tau1", tau1, low=0.0, low_open=False)
    _check_real("tau2", tau2, low=0.0, low_open=False)
    first, rest = _two_partitions(model_or_params, "AdLaLa")
    groups = [
        dict(params=first, method="adaptive", tau=tau1, sigma_A=sigma_A, eps=eps, xi0=xi0),
        dict(params=rest, method="langevin", gamma=gamma, tau=tau2),
    ]
    return PartitionedLangevin(
        groups, lr=lr, gamma=gamma, sigma_A=sigma_A, eps=eps, xi0=xi0,
        ensemble_dim=ensemble_dim, generator=generator, generators=generators,
    )


def LOL(
    model_or_params,
    lr: float = 0.1,
    gamma1: float = 0.01,
    tau1: float = 1e-3,
    tau2: float | None = None,
    *,
    ensemble_dim: int | None = None,
    generator: torch.Generator | None = None,
    generators: Sequence[torch.Generator] | None = None,
) -> PartitionedLangevin:
    """LOL: BAOAB Langevin (γ₁, τ₁) on the first layer, overdamped (p ← √τ₂ R) on the rest.

    Equations from the LOL notebook's markdown (spec §2.6) [C]; which layer gets which partition
    is inferred from the AdLaLa convention [I]. Defaults h = 0.1, γ₁ = 0.01, τ₁ = 1e-3 are the
    captions of Figs. 11 and 12 (Fig. 14 uses h = 0.25) [B]. No caption gives τ₂; ``None`` means
    τ₂ = τ₁, the single τ of Fig. 16's LOL runs [I].
    """
    tau2 = tau1 if tau2 is None else tau2
    _check_real("gamma1", gamma1, low=0.0, low_open=True, allow_inf=True)
    _check_real("tau1", tau1, low=0.0, low_open=False)
    _check_real("tau2", tau2, low=0.0, low_open=False)
    first, rest = _two_partitions(model_or_params, "LOL")
    groups = [
        dict(params=first, method="langevin", gamma=gamma1, tau=tau1),
        dict(params=rest, method="overdamped", tau=tau2),
    ]
    return PartitionedLangevin(
        groups, lr=lr, gamma=gamma1, ensemble_dim=ensemble_dim, generator=generator, generators=generators,
    )


def LaLa(
    model_or_params,
    lr: float = 0.25,
    gammas: float | Sequence[float] = 0.1,
    taus: float | Sequence[float] = 1e-4,
    *,
    ensemble_dim: int | None = None,
    generator: torch.Generator | None = None,
    generators: Sequence[torch.Generator] | None = None,
) -> PartitionedLangevin:
    """LaLa (multi-layer Langevin): BAOAB on every layer with its own friction γᵢ and temperature τᵢ.

    Named in the arXiv abstract; per-layer (γᵢ, τᵢ) BAOAB is our reading [I]. ``gammas`` and
    ``taus`` are one value for all layers or one per layer; defaults are AdLaLa's Langevin part.
    """
    layers = _as_layers(model_or_params)
    n = len(layers)

    def per_layer(name: str, value) -> list[float]:
        if isinstance(value, (int, float)):
            return [value] * n
        values = list(value)
        if len(values) != n:
            raise ValueError(f"{name}={values!r} has {len(values)} entries; the model has {n} layers")
        return values

    gs, ts = per_layer("gammas", gammas), per_layer("taus", taus)
    for i, (g, t) in enumerate(zip(gs, ts)):
        _check_real(f"gammas[{i}]", g, low=0.0, low_open=True, allow_inf=True)
        _check_real(f"taus[{i}]", t, low=0.0, low_open=False)
    groups = [dict(params=layer, method="langevin", gamma=g, tau=t) for layer, g, t in zip(layers, gs, ts)]
    return PartitionedLangevin(groups, lr=lr, ensemble_dim=ensemble_dim, generator=generator, generators=generators)
