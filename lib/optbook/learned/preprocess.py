r"""Gradient preprocessing of Andrychowicz et al. 2016, Appendix A.

Gradients of a network span many orders of magnitude, which a small LSTM handles badly. The
paper feeds each coordinate as two numbers, a log-magnitude and a sign:

.. math::

    \nabla \;\mapsto\; \begin{cases}
        \bigl(\tfrac{\log|\nabla|}{p},\; \operatorname{sgn}\nabla\bigr) & |\nabla| \ge e^{-p} \\
        \bigl(-1,\; e^{p}\,\nabla\bigr) & \text{otherwise}
    \end{cases}

with :math:`p > 0` setting how small a gradient may get before its magnitude is disregarded:
**p = 10 in the paper, k = 5 in the official code's default net config** (``util.py``). Both
channels are continuous at :math:`|\nabla| = e^{-p}` (there they are −1 and ±1).

**The ε question.** The official code (``preprocess.py``, ``LogAndSign``) computes
``max(log(|g| + eps) / k, -1)`` and ``clip(g * e^k, -1, 1)`` with ``eps`` the machine epsilon of
the gradient's dtype, and the PyTorch ports use 1e-8 or 1e-6. Above the threshold that ε
shifts the log channel slightly; below it changes nothing, since that branch is −1 anyway. We
default to the paper's exact formula, ``eps=0``; pass ``eps=torch.finfo(torch.float32).eps``
to match the official code.
"""

from __future__ import annotations

import math

import torch

__all__ = ["log_sign_preprocess", "identity_preprocess"]


def log_sign_preprocess(grad: torch.Tensor, p: float = 10.0, eps: float = 0.0) -> torch.Tensor:
    """The paper's two-channel (log-magnitude, sign) encoding: ``grad`` [...] -> [..., 2].

    No branches on tensor values: both cases are computed and ``torch.where`` picks per
    coordinate. The log is taken of ``max(|∇|, e^{-p})`` so the unselected branch never holds
    ``log 0 = -inf``, which would turn into NaN in a backward pass through this function.
    """
    if not p > 0:
        raise ValueError(f"p={p!r} must be positive")
    if eps < 0:
        raise ValueError(f"eps={eps!r} must be non-negative")
    threshold = math.exp(-p)
    magnitude = grad.abs()
    large = magnitude >= threshold
    log_channel = torch.where(large, torch.log(magnitude.clamp_min(threshold) + eps) / p, -1.0)
    sign_channel = torch.where(large, torch.sign(grad), grad * math.exp(p))
    return torch.stack((log_channel, sign_channel), dim=-1)


def identity_preprocess(grad: torch.Tensor) -> torch.Tensor:
    """No preprocessing (the paper's quadratics): ``grad`` [...] -> [..., 1]."""
    return grad.unsqueeze(-1)
