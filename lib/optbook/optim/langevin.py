r"""Thermodynamic (Langevin-type) integrators as one ``torch.optim`` optimizer.

Leimkuhler, Matthews & Vlaar (2019), "Partitioned integrators for thermodynamic
parameterization of neural networks" (FoDS, doi:10.3934/fods.2019019, arXiv:1908.11843).
Facts and their provenance: ``specs/hypergradient-and-thermodynamic.md`` PART 2.

Conventions (spec §2.1): θ are the parameters, p momenta of the same shapes (unit mass),
h the step size (the ``lr``), R ~ N(0, I) drawn fresh at every use, τ the temperature:
the Langevin part samples ∝ exp(−L(θ)/τ − |p|²/(2τ)), L the loss the closure back-propagates.

The substeps below act on lists of tensors in place. Each is one step of a piece of the
SDE for a fraction ``f`` of the step ``h``; an integrator is a symmetric word in them.

=====  =======================================  ====================================
name   update                                   piece of the SDE
=====  =======================================  ====================================
A_f    θ ← θ + f h p                            dθ = p dt
B_f    p ← p − f h ∇L                           dp = −∇L dt
O_f    p ← c p + d R, c = e^{−γfh},             dp = −γ p dt + √(2γτ) dW  (exact)
       d = √((1 − c²) τ)
C_f    p ← e^{−ξ f h} p                         dp = −ξ p dt  (exact)
D_f    p ← p + σ_A √(f h) R                     dp = σ_A dW  (exact)
E_f    ξ ← ξ + ε f h (pᵀp − N τ)                dξ = ε (pᵀp − N τ) dt
=====  =======================================  ====================================

:class:`PartitionedLangevin` chooses the integrator per parameter group with the group key
``method``, so the paper's partitioned schemes (AdLaLa, LOL, LaLa; see ``partitioned.py``)
are just parameter-group configurations of one optimizer.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Callable, Sequence

import torch
from torch import Tensor
from torch.optim import Optimizer

__all__ = [
    "METHODS",
    "drift_",
    "kick_",
    "ou_",
    "resample_",
    "friction_",
    "heat_",
    "thermostat_",
    "sgld_",
    "PartitionedLangevin",
    "SGLD",
    "OverdampedLangevin",
    "BAOAB",
    "AdaptiveLangevin",
]

#: Integrators a parameter group may choose with its ``method`` key.
METHODS = ("sgld", "overdamped", "langevin", "adaptive")
_MOMENTUM_METHODS = ("overdamped", "langevin", "adaptive")


# --------------------------------------------------------------------------- substeps
# Each function is a no-op on empty lists (torch._foreach_* rejects empty lists).


def drift_(params: list[Tensor], momenta: list[Tensor], f: float, h: float) -> None:
    """A_f: θ ← θ + f h p."""
    if params:
        torch._foreach_add_(params, momenta, alpha=f * h)


def kick_(momenta: list[Tensor], grads: list[Tensor], f: float, h: float) -> None:
    """B_f: p ← p − f h ∇L."""
    if momenta:
        torch._foreach_add_(momenta, grads, alpha=-f * h)


def ou_(momenta: list[Tensor], noise: list[Tensor] | None, f: float, h: float, gamma: float, tau: float) -> None:
    """O_f: p ← c p + d R, c = e^{−γ f h}, d = √((1 − c²) τ) (``noise=None``: τ = 0, no R needed)."""
    if not momenta:
        return
    c = math.exp(-gamma * f * h)
    d = math.sqrt((1.0 - c * c) * tau)
    torch._foreach_mul_(momenta, c)
    if noise is not None:
        torch._foreach_add_(momenta, noise, alpha=d)


def resample_(momenta: list[Tensor], noise: list[Tensor] | None, tau: float) -> None:
    """O_∞ (the γ → ∞ limit of O_f): p ← √τ R (``noise=None``: τ = 0, p ← 0)."""
    if not momenta:
        return
    torch._foreach_mul_(momenta, 0.0)  # keeps the buffers (and any views of them) alive
    if noise is not None:
        torch._foreach_add_(momenta, noise, alpha=math.sqrt(tau))


def _run_shape(xi: Tensor, t: Tensor) -> tuple[int, ...]:
    """Shape that broadcasts a per-tensor (``xi.shape == ()``) or per-run (``[R]``) ξ over ``t``."""
    return tuple(xi.shape) + (1,) * (t.dim() - xi.dim())


def friction_(momenta: list[Tensor], xis: list[Tensor], f: float, h: float) -> None:
    """C_f: p ← e^{−ξ f h} p  (one ξ per tensor, or per run: ξ of shape [R] scales p[r])."""
    for p, xi in zip(momenta, xis):
        p.mul_(torch.exp(xi * (-f * h)).reshape(_run_shape(xi, p)))


def heat_(momenta: list[Tensor], noise: list[Tensor] | None, f: float, h: float, sigma_A: float) -> None:
    """D_f: p ← p + σ_A √(f h) R (``noise=None``: σ_A = 0, nothing to add)."""
    if momenta and noise is not None:
        torch._foreach_add_(momenta, noise, alpha=sigma_A * math.sqrt(f * h))


def thermostat_(xis: list[Tensor], momenta: list[Tensor], f: float, h: float, eps: float, tau: float) -> None:
    """E_f: ξ ← ξ + ε f h (pᵀp − N τ), N = numel of the tensor (per run when ξ has shape [R])."""
    for xi, p in zip(xis, momenta):
        q = p.reshape(tuple(xi.shape) + (-1,))
        n = q.shape[-1]
        kinetic = torch.linalg.vecdot(q, q, dim=-1)  # pᵀp, per run if ξ is per run
        xi.add_(kinetic - n * tau, alpha=eps * f * h)


def sgld_(params: list[Tensor], grads: list[Tensor], noise: list[Tensor] | None, h: float, tau: float) -> None:
    """SGLD (Euler–Maruyama of dθ = −∇L dt + √(2τ) dW): θ ← θ − h ∇L + √(2hτ) R.

    ``grads=[]``: no force; ``noise=None``: τ = 0, no diffusion.
    """
    if grads:
        torch._foreach_add_(params, grads, alpha=-h)
    if params and noise is not None:
        torch._foreach_add_(params, noise, alpha=math.sqrt(2.0 * h * tau))


# --------------------------------------------------------------------------- validation


def _check_real(name: str, value, *, low: float, low_open: bool, allow_inf: bool = False, where: str = "") -> None:
    ok = isinstance(value, Real) and not isinstance(value, bool) and not math.isnan(value)
    if ok and not allow_inf:
        ok = math.isfinite(value)
    if ok:
        ok = value > low if low_open else value >= low
    if not ok:
        rng = f"> {low}" if low_open else f">= {low}"
        extra = " (may be inf)" if allow_inf else " and finite"
        raise ValueError(f"{name}={value!r}{where} is out of range; {name} must be a real number {rng}{extra}")


def _check_group(group: dict, where: str = "") -> None:
    """Raise ``ValueError`` naming the argument, the value and the allowed range."""
    if group["method"] not in METHODS:
        raise ValueError(f"method={group['method']!r}{where} is not allowed; choose one of {', '.join(map(repr, METHODS))}")
    _check_real("lr", group["lr"], low=0.0, low_open=True, where=where)
    _check_real("gamma", group["gamma"], low=0.0, low_open=True, allow_inf=True, where=where)
    _check_real("tau", group["tau"], low=0.0, low_open=False, where=where)
    _check_real("sigma_A", group["sigma_A"], low=0.0, low_open=False, where=where)
    _check_real("eps", group["eps"], low=0.0, low_open=False, where=where)
    _check_real("xi0", group["xi0"], low=-math.inf, low_open=True, where=where)


# --------------------------------------------------------------------------- optimizer


class PartitionedLangevin(Optimizer):
    r"""Langevin-type samplers, one integrator per parameter group (Leimkuhler, Matthews, Vlaar 2019).

    Each parameter group picks its integrator with the key ``method``:

    ``"sgld"``
        θ ← θ − h∇L + √(2hτ) R, Euler–Maruyama for dθ = −∇L dt + √(2τ) dW (spec §2.3).
        The paper reports SGLD by a "noise scaling σ" whose convention we could not verify;
        we take θ ← θ − h∇L + σ√h R with σ = √(2τ) (so :class:`SGLD` accepts ``sigma``).
    ``"overdamped"``
        BAOAB in the limit γ → ∞: the O-step becomes the full momentum resample p ← √τ R.
        On its own this is the Leimkuhler–Matthews scheme
        θₙ₊₁ = θₙ − (h²/2)∇L(θₙ) + (h/2)√τ (Rₙ + Rₙ₊₁) (effective step h²/2, spec §2.3); inside a
        partition it shares the A and B substeps of the other groups, which is exactly partition (2)
        of LOL (spec §2.6). The group's ``gamma`` is ignored.
    ``"langevin"``
        BAOAB for dθ = p dt, dp = −∇L dt − γp dt + √(2γτ) dW (spec §2.2).
    ``"adaptive"``
        Adaptive Langevin (Nosé–Hoover–Langevin): dθ = p dt, dp = −∇L dt − ξp dt + σ_A dW,
        dξ = ε(pᵀp − Nτ) dt, scheme A½ C½ D½ E₁ D½ C½ A½ B₁ (spec §2.4), one ξ per parameter
        tensor with N = its numel (per run in an ensemble), initialised to ``xi0``.

    **Step composition.** One call of :meth:`step` applies, in this order,

    1. A½ to every momentum group (groups in order);
    2. the first half of each group's own substeps, groups in order
       (adaptive: C½ D½ E½; the others: nothing);
    3. the middle of each group, groups in order (langevin: O₁; overdamped: p ← √τ R);
    4. the second halves in reverse group order (adaptive: E½ D½ C½);
    5. A½ to every momentum group, reverse group order;
    6. **one** call of ``closure()`` (gradient at the new θ, same minibatch);
    7. B₁ to every momentum group and the whole SGLD update to every sgld group.

    The word is a palindrome around the middle, so an AdLaLa configuration (group 0 adaptive,
    group 1 langevin) reproduces A¹½ A²½ C¹½ D¹½ E¹½ O²₁ E¹½ D¹½ C¹½ A²½ A¹½, gradient, B²₁ B¹₁
    of spec §2.5; substeps acting on different groups commute, so only the order of the noise
    draws depends on the interleaving. B₁ is the closing B½ of this step fused with the opening B½
    of the next one, whose gradient is the same (spec §2.2 "subtlety"): one gradient evaluation per
    step. For an all-``sgld`` optimizer this is the usual ``torch.optim`` convention: the closure is
    evaluated first and its gradient moves θ; without a closure the ``.grad`` already present is used.

    **First step.** Momenta start at p = 0, followed by the initial B½ half-kick (spec §2.1) with
    the gradient already in ``.grad`` when :meth:`step` is first called. If none of the parameters
    being initialised has a gradient (the usual ``loss = opt.step(closure)`` loop where the
    closure does ``zero_grad``/forward/backward), the closure is evaluated once more at the start
    of the first step to provide it. So the first step costs two gradient evaluations when no
    gradient was computed before it and one otherwise; every later step costs exactly one.
    ``closure`` is required whenever a group uses a momentum method (``RuntimeError`` otherwise).
    Every parameter with ``requires_grad`` is integrated; a parameter whose ``.grad`` is ``None``
    when a kick is applied feels zero force (it still diffuses). The returned loss is the
    closure's value at the parameters after the step (for all-sgld: before the update, as in SGD).

    **Randomness.** All noise of one step is drawn at the start of the step as one flat standard
    normal vector per run (per device/dtype bucket), consumed in the order of the phases above:
    D½ noise of the adaptive groups (in group order), the middle noise (O / resample, in group
    order), the second D½ (reverse group order), then SGLD noise. A group whose noise coefficient
    is zero (σ_A = 0 for ``"adaptive"``, τ = 0 for the others) draws nothing, so it consumes no
    random numbers and costs no time. ``generator`` (a
    ``torch.Generator`` on the parameters' device) is used for every draw; ``None`` uses torch's
    global generator. With ``ensemble_dim=0`` the parameters carry a leading run dimension R and
    ``generators`` (a list of R generators) gives each run its own stream: run r's noise is drawn
    from ``generators[r]`` with the same sizes and in the same order as a single run, so run r of
    the batched ensemble reproduces a single (``ensemble_dim=None``) run given
    ``generator=generators[r]`` in the same state. (With a single ``generator`` and an ensemble the
    whole [R, n] block is drawn at once: faster, but runs are then not individually reproducible.)
    :meth:`state_dict` stores the generators' states under ``"generator_states"`` and
    :meth:`load_state_dict` restores them into this optimizer's generators, so a reloaded
    optimizer continues identically; torch's global generator is never saved or restored.

    **Ensembles.** ``ensemble_dim`` is ``None`` or ``0``. With ``0`` every parameter has a leading
    run dimension R (the same for all), the loss the closure back-propagates is the sum of the
    per-run losses, each ξ has shape [R], the kinetic energy pᵀp and N are per run, and every
    noise draw is per run.

    Args:
        params: parameters or parameter groups (dicts); group keys override the defaults below.
        lr: step size h > 0.
        method: default integrator, one of ``"sgld"``, ``"overdamped"``, ``"langevin"``, ``"adaptive"``.
        gamma: friction γ > 0 of ``"langevin"`` (``inf`` is allowed and equals ``"overdamped"``).
        tau: temperature τ ≥ 0.
        sigma_A: additive noise σ_A ≥ 0 of ``"adaptive"`` (the D-step).
        eps: thermostat coupling ε ≥ 0 of ``"adaptive"`` (ε = 1/μ in Leimkuhler–Shang notation).
        xi0: initial ξ of ``"adaptive"``. 0.1 is the official ``Optimizer_AdLaLa.py``; notebook
            d9a1008 uses 0.001 and the 2019 notebooks 0.01·N(0,1) per element; the paper's value is
            unknown (spec §2.4). ξ is never clamped.
        ensemble_dim: ``None`` or ``0`` (leading run dimension).
        generator: one ``torch.Generator`` for all draws.
        generators: ``ensemble_dim=0`` only: R generators, one per run.

    Defaults are AdLaLa's (spec §2.5: notebooks and ``AdLaLa.py``): h = 0.25, γ = 0.1,
    τ = 1e-4, σ_A = 0.01, ε = 0.05, and ξ₀ = 0.1 from ``Optimizer_AdLaLa.py``.
    """

    def __init__(
        self,
        params,
        lr: float = 0.25,
        method: str = "langevin",
        gamma: float = 0.1,
        tau: float = 1e-4,
        sigma_A: float = 0.01,
        eps: float = 0.05,
        xi0: float = 0.1,
        *,
        ensemble_dim: int | None = None,
        generator: torch.Generator | None = None,
        generators: Sequence[torch.Generator] | None = None,
    ) -> None:
        if ensemble_dim not in (None, 0):
            raise ValueError(f"ensemble_dim={ensemble_dim!r} is not allowed; use None or 0 (leading run dimension)")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise ValueError(f"generator={generator!r} must be a torch.Generator or None")
        if generators is not None:
            if ensemble_dim is None:
                raise ValueError("generators (one per run) needs ensemble_dim=0; use generator= for a single run")
            if generator is not None:
                raise ValueError("give either generator or generators, not both")
            generators = list(generators)
            if not generators or not all(isinstance(g, torch.Generator) for g in generators):
                raise ValueError(f"generators={generators!r} must be a non-empty list of torch.Generator")
        self.ensemble_dim = ensemble_dim
        self._generator = generator
        self._generators = generators
        self._ensemble_size: int | None = len(generators) if generators is not None else None
        # Per-run draws reuse one buffer per (device, dtype, shape) and its rows, unbound once:
        # indexing buf[r] on every draw costs as much as drawing the numbers (R = 100, ~150 each).
        self._noise_buffers: dict[tuple, tuple[Tensor, tuple[Tensor, ...]]] = {}
        defaults = dict(lr=lr, method=method, gamma=gamma, tau=tau, sigma_A=sigma_A, eps=eps, xi0=xi0)
        _check_group(defaults)
        super().__init__(params, defaults)

    # ----------------------------------------------------------------- groups and state

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        try:
            _check_group(group, where=f" (param group {len(self.param_groups) - 1})")
            for i, p in enumerate(group["params"]):
                if p.is_complex():  # the noise of a complex normal draw has variance 1/2 per component
                    raise ValueError(
                        f"parameter {i} of param group {len(self.param_groups) - 1} is complex ({p.dtype}); "
                        f"{type(self).__name__} allows real floating-point parameters only (keep a complex "
                        "weight as a real tensor with a trailing dimension of 2, see torch.view_as_real)"
                    )
            if self.ensemble_dim is not None:
                for p in group["params"]:
                    if p.dim() == 0:
                        raise ValueError("ensemble_dim=0 needs parameters with a leading run dimension; got a 0-d tensor")
                    if self._ensemble_size is None:
                        self._ensemble_size = p.shape[0]
                    elif p.shape[0] != self._ensemble_size:
                        raise ValueError(
                            f"ensemble_dim=0: every parameter needs the same leading run size "
                            f"R={self._ensemble_size} (the number of generators, if given); got shape {tuple(p.shape)}"
                        )
        except ValueError:
            self.param_groups.pop()
            raise

    def __getstate__(self) -> dict:
        # torch keeps only defaults, state and param_groups; the run layout and the generators
        # are this optimizer's too, so a deepcopy or unpickled copy continues the same streams.
        return {
            **super().__getstate__(),
            "ensemble_dim": self.ensemble_dim,
            "_generator": self._generator,
            "_generators": self._generators,
            "_ensemble_size": self._ensemble_size,
        }

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._noise_buffers = {}  # scratch space only, refilled at every draw

    def load_state_dict(self, state_dict: dict) -> None:
        """Load ``state`` and ``param_groups`` as torch does, and the generators' states if saved."""
        gen_states = state_dict.get("generator_states")
        own = self._own_generators()
        if gen_states is not None and own is not None and len(gen_states) != len(own):
            raise ValueError(
                f"state_dict has {len(gen_states)} generator states but this optimizer has {len(own)} generators"
            )
        for i, group in enumerate(state_dict["param_groups"]):  # validate before changing anything
            _check_group({**self.defaults, **group}, where=f" (saved param group {i})")
        super().load_state_dict({k: v for k, v in state_dict.items() if k != "generator_states"})
        if gen_states is not None and own is not None:
            for g, s in zip(own, gen_states):
                g.set_state(s)

    def state_dict(self) -> dict:
        """torch's ``state`` and ``param_groups``, plus ``generator_states`` when generators were given."""
        sd = super().state_dict()
        own = self._own_generators()
        if own is not None:
            sd["generator_states"] = [g.get_state() for g in own]
        return sd

    def _own_generators(self) -> list[torch.Generator] | None:
        if self._generators is not None:
            return self._generators
        return None if self._generator is None else [self._generator]

    def _xi_shape(self, p: Tensor) -> tuple[int, ...]:
        return () if self.ensemble_dim is None else (p.shape[0],)

    def _init_states(self, closure: Callable[[], Tensor] | None) -> None:
        """p = 0 (and ξ = ξ₀) for new parameters of momentum groups, then the initial B½ kick."""
        fresh: list[tuple[dict, Tensor]] = []
        for group in self.param_groups:
            momentum = group["method"] in _MOMENTUM_METHODS
            for p in group["params"]:
                if not p.requires_grad:
                    continue
                state = self.state[p]
                state.setdefault("step", 0)
                if momentum and "momentum" not in state:
                    state["momentum"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    fresh.append((group, p))
                if group["method"] == "adaptive" and "xi" not in state:
                    state["xi"] = torch.full(self._xi_shape(p), float(group["xi0"]), dtype=p.dtype, device=p.device)
        if not fresh:
            return
        if all(p.grad is None for _, p in fresh):
            with torch.enable_grad():
                closure()  # the first step's extra gradient evaluation (no gradient was present)
        with torch.no_grad():
            for group, p in fresh:
                if p.grad is not None:
                    self.state[p]["momentum"].add_(p.grad, alpha=-0.5 * group["lr"])

    def _draw_noise(self, like: list[Tensor]) -> list[Tensor]:
        """Standard normal tensors shaped like ``like``: one flat draw per run and device/dtype bucket."""
        out: list[Tensor | None] = [None] * len(like)
        buckets: dict[tuple[torch.device, torch.dtype], list[int]] = {}
        for i, t in enumerate(like):
            buckets.setdefault((t.device, t.dtype), []).append(i)
        ens = self.ensemble_dim is not None
        for (device, dtype), idx in buckets.items():
            sizes = [like[i][0].numel() if ens else like[i].numel() for i in idx]
            total = sum(sizes)
            runs = like[idx[0]].shape[0] if ens else None
            if not total:  # only empty tensors: nothing to draw
                buf = torch.empty((runs, 0) if ens else (0,), device=device, dtype=dtype)
            elif self._generators is not None:
                # The returned views alias this buffer until the next draw: step() uses its noise
                # within the step, so reusing the buffer is safe.
                key = (device, dtype, runs, total)
                if key not in self._noise_buffers:
                    buf = torch.empty(key[2:], device=device, dtype=dtype)
                    self._noise_buffers[key] = (buf, buf.unbind(0))
                buf, rows = self._noise_buffers[key]
                for row, g in zip(rows, self._generators):  # run r's numbers come from generators[r] only
                    row.normal_(generator=g)
            else:
                shape = (runs, total) if ens else (total,)
                buf = torch.empty(shape, device=device, dtype=dtype).normal_(generator=self._generator)
            off = 0
            for i, m in zip(idx, sizes):
                out[i] = buf[..., off:off + m].view(like[i].shape)
                off += m
        return out  # type: ignore[return-value]

    # ----------------------------------------------------------------- the step

    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """One step of every group's integrator (see the class docstring for the composition).

        Args:
            closure: re-evaluates the model on the current minibatch: ``zero_grad``, forward,
                ``backward``, return the loss. Required when any group uses ``"overdamped"``,
                ``"langevin"`` or ``"adaptive"``.
        """
        needs_closure = [g["method"] for g in self.param_groups if g["method"] in _MOMENTUM_METHODS]
        if needs_closure and closure is None:
            raise RuntimeError(
                f"{type(self).__name__}.step needs a closure (zero_grad, forward, backward, return loss): "
                f"method(s) {sorted(set(needs_closure))} take the closing kick with the gradient at the new "
                f"parameters, evaluated inside the step"
            )
        self._init_states(closure)

        # Per-group views of parameters and state.
        plans = []
        for group in self.param_groups:
            params = [p for p in group["params"] if p.requires_grad]
            states = [self.state[p] for p in params]
            plan = dict(group=group, params=params, states=states)
            if group["method"] in _MOMENTUM_METHODS:
                plan["momenta"] = [s["momentum"] for s in states]
            if group["method"] == "adaptive":
                plan["xis"] = [s["xi"] for s in states]
            plans.append(plan)

        # All noise of the step, in the documented order.
        like: list[Tensor] = []
        slots: list[tuple[dict, str]] = []
        # A group whose noise coefficient is zero gets None instead of noise and draws nothing.
        for plan in plans:
            plan.update(D1=None, O=None, D2=None, sgld=None)
        noisy = [pl for pl in plans if (pl["group"]["sigma_A"] if pl["group"]["method"] == "adaptive"
                                        else pl["group"]["tau"]) > 0]
        for plan in noisy:
            if plan["group"]["method"] == "adaptive":
                like += plan["params"]
                slots.append((plan, "D1"))
        for plan in noisy:
            if plan["group"]["method"] in ("langevin", "overdamped"):
                like += plan["params"]
                slots.append((plan, "O"))
        for plan in reversed(noisy):
            if plan["group"]["method"] == "adaptive":
                like += plan["params"]
                slots.append((plan, "D2"))
        for plan in noisy:
            if plan["group"]["method"] == "sgld":
                like += plan["params"]
                slots.append((plan, "sgld"))
        drawn = self._draw_noise(like)
        off = 0
        for plan, key in slots:
            n = len(plan["params"])
            plan[key] = drawn[off:off + n]
            off += n

        moving = [pl for pl in plans if pl["group"]["method"] in _MOMENTUM_METHODS]
        with torch.no_grad():
            for pl in moving:  # 1. A½
                drift_(pl["params"], pl["momenta"], 0.5, pl["group"]["lr"])
            for pl in plans:  # 2. first halves
                g = pl["group"]
                if g["method"] == "adaptive":
                    friction_(pl["momenta"], pl["xis"], 0.5, g["lr"])
                    heat_(pl["momenta"], pl["D1"], 0.5, g["lr"], g["sigma_A"])
                    thermostat_(pl["xis"], pl["momenta"], 0.5, g["lr"], g["eps"], g["tau"])
            for pl in plans:  # 3. middles
                g = pl["group"]
                if g["method"] == "langevin":
                    ou_(pl["momenta"], pl["O"], 1.0, g["lr"], g["gamma"], g["tau"])
                elif g["method"] == "overdamped":
                    resample_(pl["momenta"], pl["O"], g["tau"])
            for pl in reversed(plans):  # 4. second halves
                g = pl["group"]
                if g["method"] == "adaptive":
                    thermostat_(pl["xis"], pl["momenta"], 0.5, g["lr"], g["eps"], g["tau"])
                    heat_(pl["momenta"], pl["D2"], 0.5, g["lr"], g["sigma_A"])
                    friction_(pl["momenta"], pl["xis"], 0.5, g["lr"])
            for pl in reversed(moving):  # 5. A½
                drift_(pl["params"], pl["momenta"], 0.5, pl["group"]["lr"])

        loss = None
        if closure is not None:  # 6. the step's one gradient evaluation
            with torch.enable_grad():
                loss = closure()

        with torch.no_grad():  # 7. kicks (a parameter without .grad feels no force)
            for pl in plans:
                g, params = pl["group"], pl["params"]
                has = [p.grad is not None for p in params]
                grads = [p.grad for p in params if p.grad is not None]
                if g["method"] == "sgld":
                    noise = pl["sgld"]
                    with_grad = None if noise is None else [r for r, k in zip(noise, has) if k]
                    without_grad = None if noise is None else [r for r, k in zip(noise, has) if not k]
                    sgld_([p for p, k in zip(params, has) if k], grads, with_grad, g["lr"], g["tau"])
                    sgld_([p for p, k in zip(params, has) if not k], [], without_grad, g["lr"], g["tau"])
                else:
                    kick_([m for m, k in zip(pl["momenta"], has) if k], grads, 1.0, g["lr"])
                for s in pl["states"]:
                    s["step"] += 1
        return loss


# --------------------------------------------------------------------------- single-method front ends


class SGLD(PartitionedLangevin):
    r"""SGLD: θ ← θ − h∇L + σ√h R with σ = √(2τ) (give ``tau`` or ``sigma``, not both).

    The paper's figures quote σ_SGLD (e.g. h = 0.1, σ = 0.01 in Fig. 6; σ = 0.1 in Fig. 8, seed
    page [B]); σ = √(2τ) is our (unverified, spec §2.3) reading. Default σ = 0.01 (Fig. 6).

    ``sigma_per_step=True`` takes the other reading of σ: the standard deviation of the noise
    added in one step, θ ← θ − h∇L + σ R (no √h), i.e. τ = σ²/(2h). It only changes how ``sigma``
    is converted to the group's τ; the step itself (and the default) is unchanged.
    """

    def __init__(self, params, lr: float = 0.1, tau: float | None = None, *, sigma: float | None = None,
                 sigma_per_step: bool = False, **kwargs):
        if tau is not None and sigma is not None:
            raise ValueError(f"give tau or sigma, not both (tau={tau!r}, sigma={sigma!r})")
        if sigma_per_step and sigma is None:
            raise ValueError("sigma_per_step=True reads sigma as the per-step noise; give sigma, not tau")
        if tau is None:
            sigma = 0.01 if sigma is None else sigma
            _check_real("sigma", sigma, low=0.0, low_open=False)
            if sigma_per_step:
                _check_real("lr", lr, low=0.0, low_open=True)
                tau = sigma * sigma / (2.0 * lr)
            else:
                tau = sigma * sigma / 2.0
        super().__init__(params, lr=lr, method="sgld", tau=tau, **kwargs)


class OverdampedLangevin(PartitionedLangevin):
    """Overdamped Langevin as the γ → ∞ limit of BAOAB (Leimkuhler–Matthews, effective step h²/2)."""

    def __init__(self, params, lr: float = 0.1, tau: float = 1e-4, **kwargs):
        super().__init__(params, lr=lr, method="overdamped", tau=tau, **kwargs)


class BAOAB(PartitionedLangevin):
    """Underdamped Langevin, BAOAB with friction γ and temperature τ (defaults: AdLaLa's Langevin part)."""

    def __init__(self, params, lr: float = 0.25, gamma: float = 0.1, tau: float = 1e-4, **kwargs):
        super().__init__(params, lr=lr, method="langevin", gamma=gamma, tau=tau, **kwargs)


class AdaptiveLangevin(PartitionedLangevin):
    """Adaptive Langevin (A½ C½ D½ E₁ D½ C½ A½ B₁), one ξ per tensor (per run); defaults: AdLaLa's layer 1."""

    def __init__(
        self,
        params,
        lr: float = 0.25,
        tau: float = 1e-4,
        sigma_A: float = 0.01,
        eps: float = 0.05,
        xi0: float = 0.1,
        **kwargs,
    ):
        super().__init__(params, lr=lr, method="adaptive", tau=tau, sigma_A=sigma_A, eps=eps, xi0=xi0, **kwargs)
