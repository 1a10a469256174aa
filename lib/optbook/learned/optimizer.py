r"""A trained update net as a ``torch.optim.Optimizer`` for any ``nn.Module``.

``LearnedOptimizer(model.parameters(), net=trained)`` applies θ ← θ + g with
(g, h) = m(∇, h; φ) to every coordinate of every parameter tensor of every group at once:
the gradients are flattened into one [N] vector (parameter order, as the meta-trainer
flattens ``named_parameters()``), the net runs once on it, and the update is added back in
place. The per-coordinate net state h lives in ``self.state[p]["net_state"]`` (a tuple of
tensors of ``p.numel()`` rows), so ``state_dict()``/``load_state_dict()`` round-trip it and a
reloaded optimizer continues identically. The net's weights φ are not trained here: the net
runs under ``no_grad``. Parameters without a gradient are skipped, and their state is left
alone, as torch's optimizers do. A complex parameter is optimized as its real and imaginary
parts (``torch.view_as_real``: two coordinates per entry), as ``torch.optim`` does.
"""

from __future__ import annotations

from typing import Callable, Iterable

import torch
from torch import nn

from optbook.learned.protocol import call_net, check_update_net, concat_states, net_dtype, segment_ids, split_state

__all__ = ["LearnedOptimizer"]


def _as_real(t: torch.Tensor) -> torch.Tensor:
    """A real view of ``t`` (a trailing dimension of 2 for complex tensors), or ``t`` itself."""
    return torch.view_as_real(t) if t.is_complex() else t


class LearnedOptimizer(torch.optim.Optimizer):
    """Optimize ``params`` with a (meta-trained) update net.

    Args:
        params: parameters or parameter groups, as for any torch optimizer.
        net: an update net (:mod:`optbook.learned.protocol`), e.g. a trained
            ``CoordinatewiseLSTM`` or one loaded with ``load_net``. It must be on the
            parameters' device; gradients are cast to its dtype and updates back.
        ensemble_dim: None for ordinary use; 0 for a batched ensemble whose tensors carry a
            leading run dim. Coordinatewise nets do not care; it decides the segments that nets
            with per-tensor reductions (``uses_segments``) reduce over: per tensor, or per
            tensor and run.
    """

    def __init__(self, params: Iterable, net: nn.Module, ensemble_dim: int | None = None):
        check_update_net(net)
        valid_dim = isinstance(ensemble_dim, int) and not isinstance(ensemble_dim, bool) and ensemble_dim >= 0
        if ensemble_dim is not None and not valid_dim:
            raise ValueError(
                f"ensemble_dim={ensemble_dim!r} is not allowed; use None or a dimension index >= 0 (0: leading run dim)"
            )
        super().__init__(params, {"ensemble_dim": ensemble_dim})
        self.net = net

    def __getstate__(self):
        # torch keeps only defaults, state and param_groups; without the net a deepcopy or an
        # unpickled copy could not step.
        return {**super().__getstate__(), "net": self.net}

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("ensemble_dim", None)

    @staticmethod
    def _segments(params: list[torch.Tensor], dims: list[int | None], device) -> Callable[[], torch.Tensor]:
        """Segment ids of the flattened coordinates, built only for nets that ask for them."""

        def build() -> torch.Tensor:
            ids, offset = [], 0
            for p, dim in zip(params, dims):
                if dim is not None and dim >= p.dim():
                    raise ValueError(f"ensemble_dim={dim} but a parameter has only {p.dim()} dims")
                block = segment_ids([p.shape], dim, device) + offset
                ids.append(block)
                offset = int(block.max()) + 1 if block.numel() else offset
            return torch.cat(ids)

        return build

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        """One update of every parameter that has a gradient; returns the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        entries = [(p, g["ensemble_dim"]) for g in self.param_groups for p in g["params"] if p.grad is not None]
        if not entries:
            return loss
        params = [p for p, _ in entries]
        if any(p.grad.is_sparse for p in params):
            raise RuntimeError("LearnedOptimizer does not support sparse gradients")
        # A complex tensor is optimized as its real and imaginary parts, two real coordinates
        # each (torch.optim's convention): the net is coordinatewise and sees real numbers only.
        reals = [_as_real(p) for p in params]
        device = params[0].device
        dtype = net_dtype(self.net, reals[0].dtype)
        sizes = [r.numel() for r in reals]
        grad = torch.cat([_as_real(p.grad).reshape(-1).to(dtype) for p in params])
        states = []
        for p, size in zip(params, sizes):
            if "net_state" not in self.state[p]:
                self.state[p]["net_state"] = self.net.initial_state(size, device)
            states.append(self.state[p]["net_state"])
        segments = self._segments(reals, [dim for _, dim in entries], device)
        update, new_state = call_net(self.net, grad, concat_states(states), segments)
        # one pass per tensor: add its slice of the update in place
        for p, real, piece, piece_state in zip(params, reals, update.split(sizes), split_state(new_state, sizes)):
            real.add_(piece.view_as(real).to(real.dtype))
            self.state[p]["net_state"] = piece_state
        return loss
