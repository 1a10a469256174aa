r"""Hypergradient descent: optimizers that learn their own learning rate online.

Baydin, Cornish, Martínez Rubio, Schmidt, Wood (ICLR 2018), "Online learning rate adaptation
with hypergradient descent" (arXiv 1703.04782), Algorithms 4-6, Eq. 8 and §5, and the
"{model optimizer}op-{learning-rate optimizer}lop" follow-up (harshalmittal4/Hypergradient_variants).

The rule (paper §2). An update is :math:`\theta_t = \theta_{t-1} + u_t` with
:math:`u_t = -\alpha_t d_t` for a step direction :math:`d_t` (the gradient for SGD, the Nesterov
direction for SGDN, :math:`\hat m_t / (\sqrt{\hat v_t} + \epsilon)` for Adam). The derivative of
the loss at :math:`\theta_{t-1}` with respect to the learning rate used one step earlier is the
**hypergradient**

.. math::  h_t = \frac{\partial f(\theta_{t-1})}{\partial \alpha} = g_t \cdot \nabla_\alpha u_{t-1}
              = -\, g_t \cdot d_{t-1},

and the learning rate takes a gradient step on it, **before** the parameters move:

.. math::  \alpha_t = \alpha_{t-1} - \beta\, \tilde h_t, \qquad \theta_t = \theta_{t-1} - \alpha_t d_t .

Order within a step: :math:`g_t` (with L2 weight decay added: :math:`g_t = \nabla f + \lambda\theta`)
→ :math:`h_t` → :math:`\alpha_t` → :math:`d_t` → :math:`\theta_t` → keep :math:`d_t`. With
:math:`d_0 = 0` the first step leaves :math:`\alpha` unchanged. :math:`\alpha` may become negative
("unlearning", as the paper's poster notes); nothing clips it.

**Sign convention.** ``h`` in this module is the paper's true hypergradient :math:`\partial f/\partial\alpha`
and :math:`\alpha \leftarrow \alpha - \beta\tilde h`. The official code (``sgd_hd.py``,
``adam_hd.py``) stores :math:`-h = g_t\cdot d_{t-1}` and *adds* it; the update is the same.

**Learning-rate optimizer** (``lr_optimizer``) turns the hypergradient :math:`h_t` into the step
:math:`\tilde h_t` taken on :math:`\alpha`:

- ``"sgd"``  plain hypergradient descent, :math:`\tilde h_t = h_t` (the paper).
- ``"sgdn"`` Nesterov momentum on the hypergradient (the variants' "SGDNlop"):
  :math:`b \leftarrow \mu_h b + h_t`, :math:`\tilde h_t = h_t + \mu_h b`.
- ``"adam"`` Adam on the scalar hypergradient (the variants' "Adamlop"):
  :math:`m_h \leftarrow \beta_1 m_h + (1-\beta_1) h_t`, :math:`v_h \leftarrow \beta_2 v_h + (1-\beta_2) h_t^2`,
  :math:`\alpha \leftarrow \alpha - \beta \frac{\sqrt{1-\beta_2^n}}{1-\beta_1^n} \frac{m_h}{\sqrt{v_h}+\epsilon_h}`
  with :math:`n` = **the number of hypergradients seen so far**. The variants' code counts
  :math:`n` from the global step instead, although the first hypergradient arrives at step 2,
  so its bias corrections are off by one; we use the correct count.

The lr-optimizer only acts when a hypergradient exists (from the second step on).

Name map to the papers::

    SGD-HD          = SGDHD(params)                                    (Alg. 4)
    SGDN-HD         = SGDHD(params, momentum=0.9, nesterov=True)       (Alg. 5)
    Adam-HD         = AdamHD(params)                                   (Alg. 6)
    SGDop-SGDNlop   = SGDHD(params, lr_optimizer="sgdn")
    SGDNop-SGDNlop  = SGDHD(params, momentum=0.9, nesterov=True, lr_optimizer="sgdn")
    Adamop-Adamlop  = AdamHD(params, lr_optimizer="adam")
    HDM (Fig. 2)    = SGDHD(params, rule="multiplicative", hypergrad_lr=0.02)   (Eq. 8)

(the baselines SGD-HD, SGDN-HD and Adam-HD are "SGDop-SGDlop", "SGDNop-SGDlop", "Adamop-SGDlop").

**Multiplicative rule** (``rule="multiplicative"``, Eq. 8, "HDM" in the paper's Fig. 2):
:math:`\alpha_t = \alpha_{t-1}\bigl(1 - \beta' h_t / (\lVert g_t\rVert \, \lVert\nabla_\alpha u_{t-1}\rVert)\bigr)`,
i.e. :math:`\alpha` is scaled by :math:`1 + \beta'\cos(g_t, d_{t-1})`. A zero norm leaves
:math:`\alpha` unchanged. Only with ``lr_optimizer="sgd"``.

**Transition to a fixed rate** (``transition``, paper §5, Theorem 5.1): :math:`\alpha_t` keeps being
adapted exactly as above, but the parameters move with
:math:`\gamma_t = \delta(t)\alpha_t + (1-\delta(t))\alpha_\infty`, where :math:`t` counts this
group's steps from 1 and :math:`\delta(t) = 1/(1 + (t-1)/\tau)^2`: :math:`\delta(1)=1`,
:math:`t\,\delta(t)\to 0` as Theorem 5.1 asks, and :math:`\tau = 1` (the default) is the paper's example
:math:`1/t^2`; a larger :math:`\tau` hands over later (after about :math:`\tau` steps).
The hypergradient still uses the direction :math:`d_{t-1}` (the paper's §5 keeps the (HD) update of
:math:`\alpha_t`). ``group["lr"]`` holds :math:`\alpha_t`; :meth:`step_size` returns the last
:math:`\gamma_t`. Pass ``LRTransition(alpha_inf, tau)`` or ``{"alpha_inf": ..., "tau": ...}``; the group
keeps it as that plain dict, so a ``state_dict`` loads with ``torch.load``'s safe defaults (a schedule
given as an arbitrary function could not).

**Parameter groups.** Each group has its **own** learning rate :math:`\alpha` in ``group["lr"]``,
its own hypergradient (the dot product summed over that group's tensors only) and its own
lr-optimizer state. With a single group (the usual case) this is exactly the paper's one global
:math:`\alpha`. Several groups give per-group (e.g. per-layer) hypergradient descent.

**Where the state lives.** ``group["lr"]`` is :math:`\alpha` (a Python float), readable after every
step and saved by ``state_dict()``. Per tensor, ``state[p]`` holds the previous direction
``"hd_direction"`` (:math:`d_{t-1}`; for plain heavy-ball momentum :math:`d_{t-1}` *is*
``"momentum_buffer"`` and is not stored twice) and the model optimizer's buffers. The group's
scalar hyper-state (``"hd_step"`` = steps taken, the lr-optimizer's ``"hd_lr_momentum_buffer"``,
``"hd_lr_exp_avg"``, ``"hd_lr_exp_avg_sq"``, ``"hd_lr_count"``) lives in the state of the group's
first parameter, as ``torch.optim.LBFGS`` does, so ``load_state_dict`` restores it and a reloaded
optimizer continues identically.

**Ensembles** (``ensemble_dim``, normally 0): every parameter carries a run dimension of size
:math:`R` at that position and the optimizer runs :math:`R` independent copies: ``group["lr"]`` is
then a float64 tensor of shape ``[R]`` (one :math:`\alpha` per run; ``lr`` and ``hypergrad_lr`` may
be given as one number or as :math:`R` numbers, e.g. to sweep :math:`\alpha_0` across runs), the
dot products are per run (summed over all other dimensions of all tensors), the lr-optimizer's
scalars are per-run tensors of shape ``[R]`` (stored in the parameters' dtype, as ``load_state_dict``
casts them to it) and the step broadcasts :math:`\alpha` along the run dimension. The run dimension
at position 0 is the fast path (no copies).

**Cost.** An optimizer step is memory-bound, so count tensor-sized passes. SGD-HD adds to SGD's
update (read p, g; write p) one read of :math:`g_t, d_{t-1}` for the dot product and one copy of
:math:`g_t` (``p.grad`` may be overwritten in place by the next backward, so it cannot be kept by
reference): ~7 passes against 3, the price of the method. SGDN-HD and Adam-HD add the dot product
and keep :math:`d_t` in a buffer of its own (Adam-HD: one more buffer than Adam, instead of
rebuilding the direction from :math:`m, v` as the official code does). On the CPU, :math:`d_t` is
written into :math:`d_{t-1}`'s buffer with ``out=`` kernels (a fresh tensor-sized allocation per step
costs page faults there); elsewhere the same arithmetic runs as ``torch._foreach_*`` calls over the
group's tensor list. Measured step times on a 2-core CPU, MLP 784-1000-1000-10, batch 128, one
thread, against torch's foreach optimizers: Adam-HD ≈ 1.0-1.1x Adam, SGDN-HD ≈ 1.4-1.5x SGD with
Nesterov momentum (which adds into ``p.grad`` in place, as this module does not), SGD-HD ≈ 2.7x
plain SGD without weight decay and ≈ 1.2-1.4x with it (SGD then allocates too). Keeping
:math:`\alpha` a Python float costs one host synchronisation per step on a GPU (as in the official
code).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Any, Callable

import torch
from torch import Tensor
from torch.optim.optimizer import Optimizer, ParamsT

__all__ = ["SGDHD", "AdamHD", "LRTransition"]

LR_OPTIMIZERS = ("sgd", "sgdn", "adam")
RULES = ("additive", "multiplicative")

Scalar = Any  # a Python float, or a float64 tensor of shape [R] when the optimizer runs an ensemble


# ----------------------------------------------------------------------------- transition (§5)


@dataclass(frozen=True)
class LRTransition:
    """Paper §5: step with :math:`\\gamma_t = \\delta(t)\\alpha_t + (1-\\delta(t))\\alpha_\\infty`.

    ``alpha_inf`` is the fixed rate the step size tends to (Theorem 5.1 asks
    :math:`\\alpha_\\infty < 1/L` and :math:`t\\,\\delta(t) \\to 0`); :math:`\\delta(t) = 1/(1 + (t-1)/\\tau)^2`
    for the step count :math:`t = 1, 2, \\dots`, so :math:`\\delta(1) = 1`, and ``tau = 1`` is the
    paper's example :math:`1/t^2`. Numbers only, so the optimizer's state stays plain data.
    """

    alpha_inf: float
    tau: float = 1.0

    def delta(self, t: int) -> float:
        return 1.0 / (1.0 + (t - 1) / self.tau) ** 2

    def mix(self, alpha: Scalar, t: int) -> Scalar:
        d = self.delta(t)
        return d * alpha + (1.0 - d) * self.alpha_inf


# ----------------------------------------------------------------------------- validation


def _bad(owner: str, name: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{owner}: {name}={value!r} is invalid; allowed: {allowed}")


def _check_number(owner: str, name: str, value: Any, allowed: str, ok: Callable[[float], bool]) -> float:
    """A real number (not a bool) with ``ok(value)``; returns it as a float."""
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real) or not ok(float(value)):
        raise _bad(owner, name, value, allowed)
    return float(value)


def _unit_interval(x: float) -> bool:
    return 0.0 <= x < 1.0


def _check_betas(owner: str, name: str, value: Any) -> tuple[float, float]:
    allowed = "a pair (beta1, beta2) with each 0 <= beta < 1"
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise _bad(owner, name, value, allowed)
    for b in value:
        _check_number(owner, name, b, allowed, _unit_interval)
    return float(value[0]), float(value[1])


def _check_per_run(owner: str, name: str, value: Any, allowed: str, ok: Callable[[float], bool]) -> Any:
    """One real number, or (for ensembles) a 1-D sequence/tensor of them."""
    if isinstance(value, (Tensor, Sequence)) and not isinstance(value, str):
        try:
            vec = torch.as_tensor(value, dtype=torch.float64).detach().cpu()
        except (TypeError, ValueError, RuntimeError) as err:
            raise _bad(owner, name, value, allowed) from err
        if vec.dim() == 0:
            return _check_number(owner, name, vec.item(), allowed, ok)
        if vec.dim() != 1 or vec.numel() == 0 or not all(ok(x) for x in vec.tolist()):
            raise _bad(owner, name, value, allowed + " (or one such value per run, as a 1-D sequence)")
        return value
    return _check_number(owner, name, value, allowed, ok)


def _check_transition(owner: str, value: Any) -> dict[str, float] | None:
    """The transition as the plain dict the group keeps: ``{"alpha_inf": α∞, "tau": τ}``."""
    allowed = "None, an LRTransition, or a dict with 'alpha_inf' (finite) and optionally 'tau' (> 0)"
    if value is None:
        return None
    if isinstance(value, LRTransition):
        alpha_inf, tau = value.alpha_inf, value.tau
    elif isinstance(value, Mapping):
        if "alpha_inf" not in value or set(value) - {"alpha_inf", "tau"}:
            raise _bad(owner, "transition", value, allowed)
        alpha_inf, tau = value["alpha_inf"], value.get("tau", 1.0)
    else:
        raise _bad(owner, "transition", value, allowed)
    alpha_inf = _check_number(owner, "transition['alpha_inf']", alpha_inf, "a finite number", math.isfinite)
    tau = _check_number(owner, "transition['tau']", tau, "a finite number > 0", lambda x: 0.0 < x < math.inf)
    return {"alpha_inf": alpha_inf, "tau": tau}


def _refuse_complex(owner: str, group_index: int, params: Sequence[Tensor]) -> None:
    """Complex parameters would be silently wrong (g·g is not |g|², dot products not real): refuse them."""
    for i, p in enumerate(params):
        if p.is_complex():
            raise ValueError(
                f"{owner}: parameter {i} of param group {group_index} is complex ({p.dtype}); allowed: real "
                "floating-point parameters (keep a complex weight as a real tensor with a trailing dimension "
                "of 2, see torch.view_as_real, and form it with torch.view_as_complex in the model)"
            )


# ----------------------------------------------------------------------------- shared machinery


def _reuse_buffers(p: Tensor) -> bool:
    """Write new directions/buffers into the old ones with ``out=`` kernels (CPU), or allocate
    fresh ones with fused ``torch._foreach_*`` kernels (GPU, where the caching allocator makes
    that cheap and per-tensor launches are not). Both compute the same values."""
    return p.device.type == "cpu"



class _HypergradientOptimizer(Optimizer):
    """What SGD-HD and Adam-HD share: hypergradient, learning-rate optimizer, step size, ensembles.

    Subclasses implement :meth:`_check_model_hyperparameters` and :meth:`_step_group`.
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self._check_hyperparameters(defaults)
        super().__init__(params, defaults)

    # -- validation -----------------------------------------------------------------------------

    def _check_model_hyperparameters(self, group: dict[str, Any]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        """Validate (and normalise in place) one group's hyperparameters; ValueError names the argument."""
        owner = type(self).__name__
        group["lr"] = _check_per_run(owner, "lr", group["lr"], "a finite number", math.isfinite)
        group["hypergrad_lr"] = _check_per_run(
            owner, "hypergrad_lr", group["hypergrad_lr"], "a finite number >= 0", lambda x: 0.0 <= x < math.inf
        )
        group["weight_decay"] = _check_number(
            owner, "weight_decay", group["weight_decay"], "a finite number >= 0", lambda x: 0.0 <= x < math.inf
        )
        if group["lr_optimizer"] not in LR_OPTIMIZERS:
            allowed = "one of " + ", ".join(map(repr, LR_OPTIMIZERS))
            raise _bad(owner, "lr_optimizer", group["lr_optimizer"], allowed)
        if group["rule"] not in RULES:
            raise _bad(owner, "rule", group["rule"], "one of " + ", ".join(map(repr, RULES)))
        if group["rule"] == "multiplicative" and group["lr_optimizer"] != "sgd":
            raise _bad(
                owner, "lr_optimizer", group["lr_optimizer"], "'sgd' only, when rule='multiplicative' (Eq. 8)"
            )
        group["lr_momentum"] = _check_number(
            owner, "lr_momentum", group["lr_momentum"], "0 <= lr_momentum < 1", _unit_interval
        )
        group["lr_betas"] = _check_betas(owner, "lr_betas", group["lr_betas"])
        group["lr_eps"] = _check_number(
            owner, "lr_eps", group["lr_eps"], "a finite number > 0", lambda x: 0.0 < x < math.inf
        )
        dim = group["ensemble_dim"]
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 0):
            raise _bad(owner, "ensemble_dim", dim, "None or an int >= 0 (the position of the run dimension)")
        group["transition"] = _check_transition(owner, group["transition"])
        self._check_model_hyperparameters(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """As torch's, then validate the group's hyperparameters and lay out α (float or per-run tensor)."""
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        try:
            _refuse_complex(type(self).__name__, len(self.param_groups) - 1, group["params"])
            self._check_hyperparameters(group)
            self._setup_runs(group)
        except ValueError:
            self.param_groups.pop()
            raise

    def _setup_runs(self, group: dict[str, Any]) -> None:
        owner = type(self).__name__
        dim, params = group["ensemble_dim"], group["params"]
        if dim is None:
            for name in ("lr", "hypergrad_lr"):
                if not isinstance(group[name], float):
                    raise _bad(owner, name, group[name], "a single number unless ensemble_dim is set")
            return
        sizes = set()
        for i, p in enumerate(params):
            if p.dim() <= dim:
                raise _bad(
                    owner, "ensemble_dim", dim,
                    f"a dimension every parameter has; parameter {i} has shape {tuple(p.shape)}",
                )
            sizes.add(p.shape[dim])
        if len(sizes) != 1:
            raise _bad(
                owner, "ensemble_dim", dim,
                f"a dimension of the same size R in every parameter of a group; found sizes {sorted(sizes)}",
            )
        runs, device = sizes.pop(), params[0].device
        for name in ("lr", "hypergrad_lr"):
            vec = torch.as_tensor(group[name], dtype=torch.float64).detach().to(device)
            if vec.dim() == 1 and vec.numel() != runs:
                raise _bad(owner, name, group[name], f"one number or R={runs} numbers (one per run)")
            if name == "lr" or vec.dim() == 1:
                group[name] = vec.expand(runs).clone()

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # torch's __setstate__ adds its own "differentiable" to the defaults; it is none of our
        # hyperparameters, and copying it into the groups would make a reloaded state_dict differ.
        for group in self.param_groups:
            for key, value in self.defaults.items():
                if key != "differentiable":
                    group.setdefault(key, value)

    # -- the step ------------------------------------------------------------------------------

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step.

        Args:
            closure (Callable, optional): re-evaluates the model and returns the loss; it is called
                with gradients enabled and its loss is returned.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params: list[Tensor] = []
            grads: list[Tensor] = []
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                params.append(p)
                grads.append(p.grad)
            if not params:
                continue
            self._move_run_tensors(group, params[0].device)
            owned = group["weight_decay"] != 0
            if owned:  # L2 added to the gradient before everything else; p.grad is left untouched
                grads = torch._foreach_add(grads, params, alpha=group["weight_decay"])
            hyper = self._hyper_state(group)
            hyper["hd_step"] = hyper.get("hd_step", 0) + 1
            self._step_group(group, params, grads, owned)
        return loss

    def _step_group(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor], owned: bool) -> None:
        raise NotImplementedError  # pragma: no cover

    def step_size(self, group_index: int = 0) -> Scalar:
        """The step size :math:`\\gamma_t` the last step used: :math:`\\alpha_t`, or the §5 mixture."""
        group = self.param_groups[group_index]
        t = self._hyper_state(group).get("hd_step", 0)
        return self._gamma(group, group["lr"], max(t, 1))

    # -- pieces --------------------------------------------------------------------------------

    def _hyper_state(self, group: dict[str, Any]) -> dict[str, Any]:
        """The group's scalar hyper-state, kept in its first parameter's state (like LBFGS)."""
        return self.state[group["params"][0]]

    @staticmethod
    def _move_run_tensors(group: dict[str, Any], device: torch.device) -> None:
        for name in ("lr", "hypergrad_lr"):
            value = group[name]
            if isinstance(value, Tensor) and value.device != device:
                group[name] = value.to(device)

    @staticmethod
    def _dots(group: dict[str, Any], xs: Sequence[Tensor], ys: Sequence[Tensor]) -> Tensor:
        """Per-tensor dot products :math:`x_i\\cdot y_i` in float64: shape [n], or [n, R] per run."""
        dim = group["ensemble_dim"]
        if dim is None:
            dots = [torch.linalg.vecdot(x.reshape(-1), y.reshape(-1)) for x, y in zip(xs, ys)]
        else:
            dots = []
            for x, y in zip(xs, ys):
                runs = x.shape[dim]
                a = x.movedim(dim, 0).reshape(runs, 1, -1)
                b = y.movedim(dim, 0).reshape(runs, -1, 1)
                dots.append(torch.bmm(a, b).reshape(runs))
        return torch.stack(dots).to(torch.float64)

    @staticmethod
    def _total(group: dict[str, Any], per_tensor: Tensor, scales: Sequence[float] | None = None) -> Scalar:
        """Sum per-tensor values (optionally times per-tensor scales): a float, or [R] per run."""
        if scales is not None:
            weights = torch.tensor(scales, dtype=torch.float64, device=per_tensor.device)
            per_tensor = per_tensor * weights.view(-1, *([1] * (per_tensor.dim() - 1)))
        total = per_tensor.sum(0)
        return total.item() if group["ensemble_dim"] is None else total

    @staticmethod
    def _gamma(group: dict[str, Any], alpha: Scalar, t: int) -> Scalar:
        """The step size: α_t, or δ(t) α_t + (1 − δ(t)) α_∞ with a transition (§5)."""
        transition = group["transition"]
        return alpha if transition is None else LRTransition(**transition).mix(alpha, t)

    @staticmethod
    def _load(store: dict[str, Any], key: str) -> Scalar:
        value = store.get(key, 0.0)
        return value.to(torch.float64) if isinstance(value, Tensor) else value

    @staticmethod
    def _save(store: dict[str, Any], key: str, value: Scalar, owner: Tensor) -> None:
        # per-run values are kept in the parameter's dtype, which is what load_state_dict casts to,
        # so a reloaded optimizer continues bit for bit
        store[key] = value.to(owner.dtype) if isinstance(value, Tensor) else value

    def _update_lr(
        self,
        group: dict[str, Any],
        store: dict[str, Any],
        owner: Tensor,
        alpha: Scalar,
        h: Scalar,
        norm_product: Scalar = None,
    ) -> Scalar:
        """α_t from α_{t-1} and the hypergradient h_t = ∂f/∂α, by the group's rule and lr-optimizer.

        ``store`` holds the lr-optimizer's state (the group's hyper-state, or a tensor's state when
        the learning rate is updated tensor by tensor); ``owner`` is the parameter that owns it.
        """
        beta = group["hypergrad_lr"]
        if group["rule"] == "multiplicative":
            # Eq. 8: α_t = α_{t-1} (1 − β' h_t / (‖g_t‖ ‖∇_α u_{t-1}‖)); a zero norm leaves α alone
            if isinstance(h, Tensor):
                ratio = torch.where(norm_product > 0, h / norm_product.clamp_min(torch.finfo(h.dtype).tiny), 0.0)
            else:
                ratio = h / norm_product if norm_product > 0 else 0.0
            return alpha * (1.0 - beta * ratio)
        kind = group["lr_optimizer"]
        if kind == "sgd":  # hypergradient descent: α_t = α_{t-1} − β h_t
            return alpha - beta * h
        if kind == "sgdn":  # Nesterov momentum on h: b ← μ_h b + h;  α ← α − β (h + μ_h b)
            mu = group["lr_momentum"]
            buf = mu * self._load(store, "hd_lr_momentum_buffer") + h
            self._save(store, "hd_lr_momentum_buffer", buf, owner)
            return alpha - beta * (h + mu * buf)
        # "adam": Adam on the scalar hypergradient; n = number of hypergradients seen (1, 2, ...)
        beta1, beta2 = group["lr_betas"]
        n = store.get("hd_lr_count", 0) + 1
        m = beta1 * self._load(store, "hd_lr_exp_avg") + (1.0 - beta1) * h
        v = beta2 * self._load(store, "hd_lr_exp_avg_sq") + (1.0 - beta2) * h * h
        store["hd_lr_count"] = n
        self._save(store, "hd_lr_exp_avg", m, owner)
        self._save(store, "hd_lr_exp_avg_sq", v, owner)
        step = beta * math.sqrt(1.0 - beta2**n) / (1.0 - beta1**n)
        return alpha - step * m / (v**0.5 + group["lr_eps"])

    def _norm_product(
        self,
        group: dict[str, Any],
        grads: Sequence[Tensor],
        dirs: Sequence[Tensor],
        scales: Sequence[float] | None = None,
    ) -> Scalar:
        """:math:`\\lVert g_t\\rVert\\,\\lVert d_{t-1}\\rVert` (per run with an ensemble), for Eq. 8."""
        g2 = self._total(group, self._dots(group, grads, grads))
        d2 = self._total(group, self._dots(group, dirs, dirs), None if scales is None else [k * k for k in scales])
        return (g2 * d2) ** 0.5

    def _descend(
        self,
        group: dict[str, Any],
        params: Sequence[Tensor],
        dirs: Sequence[Tensor],
        gamma: Scalar,
        scales: Sequence[float] | None = None,
    ) -> None:
        """:math:`\\theta \\leftarrow \\theta - \\gamma\\, k_i d_i` for every tensor i, with per-tensor scales k_i
        (1 if None); :math:`\\gamma` is broadcast along the run dimension for ensembles."""
        if scales is None:
            buckets = {1.0: list(range(len(params)))}
        else:
            buckets: dict[float, list[int]] = {}
            for i, k in enumerate(scales):
                buckets.setdefault(k, []).append(i)
        dim = group["ensemble_dim"]
        for k, idx in buckets.items():
            ps, ds = [params[i] for i in idx], [dirs[i] for i in idx]
            if dim is None:
                torch._foreach_add_(ps, ds, alpha=-gamma * k)
            else:
                views = [self._run_view(gamma, p, dim) for p in ps]
                torch._foreach_addcmul_(ps, ds, views, value=-k)

    @staticmethod
    def _run_view(value: Tensor, like: Tensor, dim: int) -> Tensor:
        """A per-run vector shaped to broadcast against ``like`` along ``dim``."""
        shape = [1] * like.dim()
        shape[dim] = value.numel()
        return value.to(like.dtype).view(shape)


# ----------------------------------------------------------------------------- SGD-HD / SGDN-HD


class SGDHD(_HypergradientOptimizer):
    r"""SGD with hypergradient descent on the learning rate (Alg. 4), and SGDN-HD (Alg. 5).

    Per step, with :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}` and :math:`d_0 = 0`:

    .. math::
        h_t &= -\,g_t \cdot d_{t-1}                       && \text{hypergradient } \partial f/\partial\alpha \\
        \alpha_t &= \alpha_{t-1} - \beta\,\tilde h_t       && \text{(lr\_optimizer; Eq. 8 if multiplicative)} \\
        v_t &= \mu v_{t-1} + g_t \quad (v_1 = g_1)        && \text{momentum} > 0 \\
        d_t &= g_t \;\;|\;\; v_t \;\;|\;\; g_t + \mu v_t  && \text{SGD | heavy ball | Nesterov} \\
        \theta_t &= \theta_{t-1} - \gamma_t d_t            && \gamma_t = \alpha_t \text{ (or §5 transition)}

    For SGDN-HD the hypergradient therefore dots the current gradient with the previous **full**
    Nesterov direction :math:`g_{t-1} + \mu v_{t-1}` (spec §1.3, official ``sgd_hd.py``). With
    ``hypergrad_lr=0`` this is ``torch.optim.SGD`` (dampening 0), up to float rounding.

    Args:
        params: parameters or parameter groups (each group gets its own α).
        lr: initial learning rate :math:`\alpha_0` (finite; α may later turn negative). With an
            ensemble: one number or R numbers.
        hypergrad_lr: :math:`\beta` (:math:`\beta'` for the multiplicative rule), >= 0.
        momentum: :math:`\mu \in [0, 1)`.
        nesterov: Nesterov momentum (needs momentum > 0).
        weight_decay: L2 coefficient :math:`\lambda \ge 0`, added to the gradient.
        lr_optimizer: ``"sgd"`` | ``"sgdn"`` | ``"adam"``, see the module docstring.
        lr_momentum: :math:`\mu_h \in [0,1)` of ``"sgdn"``.
        lr_betas, lr_eps: Adam constants of ``"adam"``.
        rule: ``"additive"`` (all experiments) or ``"multiplicative"`` (Eq. 8, HDM).
        ensemble_dim: None, or the position of the run dimension (see the module docstring).
        transition: None, ``LRTransition`` or ``{"alpha_inf": ..., "tau": ...}`` (§5).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Sequence[float] | Tensor = 1e-3,
        hypergrad_lr: float | Sequence[float] | Tensor = 1e-3,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        lr_optimizer: str = "sgd",
        lr_momentum: float = 0.9,
        lr_betas: tuple[float, float] = (0.9, 0.999),
        lr_eps: float = 1e-8,
        rule: str = "additive",
        ensemble_dim: int | None = None,
        transition: LRTransition | Mapping[str, Any] | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            hypergrad_lr=hypergrad_lr,
            momentum=momentum,
            nesterov=nesterov,
            weight_decay=weight_decay,
            lr_optimizer=lr_optimizer,
            lr_momentum=lr_momentum,
            lr_betas=lr_betas,
            lr_eps=lr_eps,
            rule=rule,
            ensemble_dim=ensemble_dim,
            transition=transition,
        )
        super().__init__(params, defaults)

    def _check_model_hyperparameters(self, group: dict[str, Any]) -> None:
        owner = type(self).__name__
        group["momentum"] = _check_number(
            owner, "momentum", group["momentum"], "0 <= momentum < 1", _unit_interval
        )
        if not isinstance(group["nesterov"], bool):
            raise _bad(owner, "nesterov", group["nesterov"], "True or False")
        if group["nesterov"] and group["momentum"] <= 0.0:
            allowed = f"False when momentum={group['momentum']!r} (Nesterov needs 0 < momentum < 1)"
            raise _bad(owner, "nesterov", True, allowed)

    def _step_group(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor], owned: bool) -> None:
        states = [self.state[p] for p in params]
        hyper = self._hyper_state(group)
        mu, nesterov = group["momentum"], group["nesterov"]
        # d_{t-1}: with heavy-ball momentum the previous direction is the momentum buffer itself
        prev_key = "momentum_buffer" if mu != 0.0 and not nesterov else "hd_direction"

        # hypergradient h_t = −g_t·d_{t-1} and α_t (skipped while no d_{t-1} exists: d_0 = 0)
        alpha = group["lr"]
        seen = [i for i, st in enumerate(states) if prev_key in st]
        if seen:
            g_seen = [grads[i] for i in seen]
            d_seen = [states[i][prev_key] for i in seen]
            h = -self._total(group, self._dots(group, g_seen, d_seen))
            norms = self._norm_product(group, g_seen, d_seen) if group["rule"] == "multiplicative" else None
            alpha = self._update_lr(group, hyper, group["params"][0], alpha, h, norms)
            group["lr"] = alpha

        # the step direction d_t
        if mu == 0.0:
            if owned:  # g_t is our own tensor (weight decay made it): keep it as d_t
                dirs = grads
            else:  # copy: p.grad may be overwritten in place by the next backward
                old = [i for i, st in enumerate(states) if "hd_direction" in st]
                if len(old) == len(states):
                    dirs = [st["hd_direction"] for st in states]
                    torch._foreach_copy_(dirs, grads)
                else:
                    dirs = [g.clone(memory_format=torch.preserve_format) for g in grads]
        else:
            bufs: list[Tensor] = []
            old_bufs, old_grads = [], []
            for st, g in zip(states, grads):
                buf = st.get("momentum_buffer")
                if buf is None:  # v_1 = g_1, as torch.optim.SGD
                    buf = st["momentum_buffer"] = g.detach().clone(memory_format=torch.preserve_format)
                else:
                    old_bufs.append(buf)
                    old_grads.append(g)
                bufs.append(buf)
            if old_bufs:  # v_t = μ v_{t-1} + g_t
                if _reuse_buffers(params[0]):  # one pass instead of two
                    for buf, g in zip(old_bufs, old_grads):
                        torch.add(g, buf, alpha=mu, out=buf)
                else:
                    torch._foreach_mul_(old_bufs, mu)
                    torch._foreach_add_(old_bufs, old_grads)
            if not nesterov:
                dirs = bufs
            elif _reuse_buffers(params[0]):  # d_t = g_t + μ v_t, written into d_{t-1}'s buffer
                dirs = []
                for st, g, buf in zip(states, grads, bufs):
                    d = st.get("hd_direction")
                    if d is None:
                        d = torch.empty_like(g)
                    dirs.append(torch.add(g, buf, alpha=mu, out=d))
            else:
                dirs = torch._foreach_add(grads, bufs, alpha=mu)

        # θ_t = θ_{t-1} − γ_t d_t, and keep d_t for the next hypergradient
        self._descend(group, params, dirs, self._gamma(group, alpha, hyper["hd_step"]))
        if prev_key == "hd_direction":
            for st, d in zip(states, dirs):
                st["hd_direction"] = d


# ----------------------------------------------------------------------------- Adam-HD


class AdamHD(_HypergradientOptimizer):
    r"""Adam with hypergradient descent on the learning rate (Alg. 6).

    Per step, with :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}` and :math:`d_0 = 0`:

    .. math::
        h_t &= -\,g_t \cdot d_{t-1}, \qquad d_{t-1} = \hat m_{t-1} / (\sqrt{\hat v_{t-1}} + \epsilon) \\
        \alpha_t &= \alpha_{t-1} - \beta\,\tilde h_t \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        \theta_t &= \theta_{t-1} - \gamma_t\, \hat m_t / (\sqrt{\hat v_t} + \epsilon),
            \qquad \hat m_t = m_t/(1-\beta_1^t),\; \hat v_t = v_t/(1-\beta_2^t)

    **Paper math (default).** One α per group: the hypergradient is the sum of the dot products
    over all the group's tensors, α is updated once, then every tensor steps with the new α.

    **Official code** (``per_tensor_lr_update=True``): ``adam_hd.py`` updates α inside its loop over
    tensors, so tensor k steps with an α that already contains the hypergradient contributions
    of tensors 1..k (spec §1.4). The lr-optimizer's state is then per tensor, as in the variants'
    ``op_adam_lop_adam.py``.

    The direction is the one ``torch.optim.Adam`` uses, :math:`\hat m/(\sqrt{\hat v}+\epsilon)`
    (the paper's form); the official code adds ε to the uncorrected :math:`\sqrt v`, which differs
    only in ε's scale (:math:`\epsilon\sqrt{1-\beta_2^t}` instead of ε). It is kept as
    ``state["hd_direction"]`` (:math:`m/(\sqrt v + \epsilon\sqrt{1-\beta_2^t})`) times the scalar
    ``state["hd_direction_scale"]`` (:math:`\sqrt{1-\beta_2^t}/(1-\beta_1^t)`). With ``hypergrad_lr=0``
    this is ``torch.optim.Adam``, up to float rounding.

    Args:
        params, lr, hypergrad_lr, weight_decay, lr_optimizer, lr_momentum, lr_betas, lr_eps, rule,
        ensemble_dim, transition: as in :class:`SGDHD` (default :math:`\beta` = 1e-7, the paper's
        value for logistic regression and the MLP).
        betas: :math:`(\beta_1, \beta_2)`, each in [0, 1).
        eps: :math:`\epsilon > 0`.
        per_tensor_lr_update: reproduce the official code's sequential per-tensor α update
            (additive rule only).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float | Sequence[float] | Tensor = 1e-3,
        hypergrad_lr: float | Sequence[float] | Tensor = 1e-7,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        lr_optimizer: str = "sgd",
        lr_momentum: float = 0.9,
        lr_betas: tuple[float, float] = (0.9, 0.999),
        lr_eps: float = 1e-8,
        rule: str = "additive",
        per_tensor_lr_update: bool = False,
        ensemble_dim: int | None = None,
        transition: LRTransition | Mapping[str, Any] | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            hypergrad_lr=hypergrad_lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            lr_optimizer=lr_optimizer,
            lr_momentum=lr_momentum,
            lr_betas=lr_betas,
            lr_eps=lr_eps,
            rule=rule,
            per_tensor_lr_update=per_tensor_lr_update,
            ensemble_dim=ensemble_dim,
            transition=transition,
        )
        super().__init__(params, defaults)

    def _check_model_hyperparameters(self, group: dict[str, Any]) -> None:
        owner = type(self).__name__
        group["betas"] = _check_betas(owner, "betas", group["betas"])
        group["eps"] = _check_number(
            owner, "eps", group["eps"], "a finite number > 0", lambda x: 0.0 < x < math.inf
        )
        if not isinstance(group["per_tensor_lr_update"], bool):
            raise _bad(owner, "per_tensor_lr_update", group["per_tensor_lr_update"], "True or False")
        if group["per_tensor_lr_update"] and group["rule"] != "additive":
            allowed = "'additive' when per_tensor_lr_update=True (the official code)"
            raise _bad(owner, "rule", group["rule"], allowed)

    def _step_group(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor], owned: bool) -> None:
        beta1, beta2 = group["betas"]
        states = [self.state[p] for p in params]
        for p, st in zip(params, states):
            if "step" not in st:
                st["step"] = 0
                st["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                st["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            st["step"] += 1
        hyper = self._hyper_state(group)
        t = hyper["hd_step"]

        # hypergradient contributions −k_i g_i·d_i over the tensors that have a d_{t-1}
        alpha = group["lr"]
        seen = [i for i, st in enumerate(states) if "hd_direction" in st]
        alphas = None  # per-tensor α (official code), else one α for all
        if seen:
            g_seen = [grads[i] for i in seen]
            d_seen = [states[i]["hd_direction"] for i in seen]
            k_seen = [states[i]["hd_direction_scale"] for i in seen]
            dots = self._dots(group, g_seen, d_seen)
            if group["per_tensor_lr_update"]:
                # tensor i moves α with its own contribution, then steps with that α (sequentially)
                weights = torch.tensor(k_seen, dtype=torch.float64, device=dots.device)
                h_per_tensor = -dots * weights.view(-1, *([1] * (dots.dim() - 1)))
                if group["ensemble_dim"] is None:
                    h_per_tensor = h_per_tensor.tolist()
                h_of = dict(zip(seen, h_per_tensor))
                alphas = []
                for i in range(len(params)):
                    if i in h_of:  # the lr-optimizer state is per tensor here, as in the variants' code
                        alpha = self._update_lr(group, states[i], params[i], alpha, h_of[i])
                    alphas.append(alpha)
            else:
                h = -self._total(group, dots, k_seen)
                norms = None
                if group["rule"] == "multiplicative":
                    norms = self._norm_product(group, g_seen, d_seen, k_seen)
                alpha = self._update_lr(group, hyper, group["params"][0], alpha, h, norms)
            group["lr"] = alpha

        # moments (as torch.optim.Adam's foreach path)
        exp_avgs = [st["exp_avg"] for st in states]
        exp_avg_sqs = [st["exp_avg_sq"] for st in states]
        torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1.0 - beta2)
        del grads

        # d_t = m̂/(√v̂ + ε) = k · m/(√v + ε√(1−β₂ᵗ)),  k = √(1−β₂ᵗ)/(1−β₁ᵗ)
        bc1 = [1.0 - beta1 ** st["step"] for st in states]
        bc2_sqrt = [math.sqrt(1.0 - beta2 ** st["step"]) for st in states]
        eps_terms = [group["eps"] * s for s in bc2_sqrt]
        if _reuse_buffers(params[0]):
            # write d_t into d_{t-1}'s buffer (its last use was the dot product above): on the CPU
            # a fresh tensor-sized allocation per step costs more than a pass (new pages)
            dirs = []
            for st, m, v, e in zip(states, exp_avgs, exp_avg_sqs, eps_terms):
                d = st.get("hd_direction")
                if d is None:
                    d = torch.empty_like(m)
                torch.sqrt(v, out=d)
                d.add_(e)
                torch.div(m, d, out=d)
                dirs.append(d)
        else:
            denom = torch._foreach_sqrt(exp_avg_sqs)
            torch._foreach_add_(denom, eps_terms)
            dirs = torch._foreach_div(exp_avgs, denom)
            del denom
        scales = [s / b for s, b in zip(bc2_sqrt, bc1)]

        # θ_t = θ_{t-1} − γ_t d_t
        if alphas is None:
            self._descend(group, params, dirs, self._gamma(group, alpha, t), scales)
        else:
            for i in range(len(params)):
                gamma = self._gamma(group, alphas[i], t)
                self._descend(group, params[i : i + 1], dirs[i : i + 1], gamma, scales[i : i + 1])
        for st, d, k in zip(states, dirs, scales):
            st["hd_direction"] = d
            st["hd_direction_scale"] = k
