"""The update-net protocol: what the meta-trainer and ``LearnedOptimizer`` need from a net.

An **update net** m(∇_t, h_t; φ) = (g_t, h_{t+1}) (Andrychowicz et al. 2016, Eq. 1-3) is an
``nn.Module`` applied to all N scalar coordinates of an optimizee at once:

- ``initial_state(n_coords, device) -> state``: the state of N fresh coordinates (zeros for
  the LSTM). A state is a tuple of tensors, **each with the coordinate dim first** ([N, ...]),
  so it can be detached, sliced per parameter tensor and concatenated again without knowing
  what it holds. An empty tuple is a stateless net.
- ``forward(grad, state) -> (update, new_state)`` with ``grad`` and ``update`` of shape [N]:
  θ_{t+1} = θ_t + update. ``grad`` is the optimizee gradient, already detached (the paper
  drops second derivatives).
- optional: a net that sets ``uses_segments = True`` is called as
  ``forward(grad, state, segments=ids)``, with ``ids`` a LongTensor [N] numbering the
  (parameter tensor, run) block of every coordinate. It is for per-tensor reductions such as
  the HNN optimizer's per-tensor normalisation of its state (spec §2.3); coordinatewise nets
  ignore it.
- ``config() -> dict``: JSON-able constructor arguments, so a saved net can be rebuilt.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import torch

NetState = tuple[torch.Tensor, ...]

__all__ = [
    "NetState", "UpdateNet", "call_net", "check_update_net", "concat_states", "detach_state", "net_dtype",
    "segment_ids", "split_state",
]


@runtime_checkable
class UpdateNet(Protocol):
    def initial_state(self, n_coords: int, device: torch.device | str | None = None) -> NetState: ...

    def __call__(self, grad: torch.Tensor, state: NetState) -> tuple[torch.Tensor, NetState]: ...


def check_update_net(net, argument: str = "net") -> None:
    """Raise ``ValueError`` unless ``net`` is an ``nn.Module`` following the update-net protocol."""
    if not isinstance(net, torch.nn.Module) or not callable(getattr(net, "initial_state", None)):
        raise ValueError(
            f"{argument}={type(net).__name__} is not an update net: it must be an nn.Module with "
            "initial_state(n_coords, device) and forward(grad, state) -> (update, state)"
        )


def net_dtype(net: torch.nn.Module, default: torch.dtype) -> torch.dtype:
    """The dtype the net computes in (its first floating parameter's), else ``default``."""
    for parameter in net.parameters():
        if parameter.is_floating_point():
            return parameter.dtype
    return default


def call_net(net, grad: torch.Tensor, state: NetState, segments=None) -> tuple[torch.Tensor, NetState]:
    """``net(grad, state)``, passing ``segments()`` only to nets that declare ``uses_segments``."""
    if getattr(net, "uses_segments", False):
        return net(grad, state, segments=segments())
    return net(grad, state)


def detach_state(state: NetState) -> NetState:
    """Cut the state from the graph: the truncation point of truncated BPTT."""
    return tuple(component.detach() for component in state)


def concat_states(states: Sequence[NetState]) -> NetState:
    """Join per-tensor states (each a tuple of [n_i, ...] tensors) into one state of sum n_i coordinates.

    Pieces whose coordinates are adjacent in memory ([n_i, k] views of a [k, N] matrix, as the
    LSTM keeps its state) are joined in that layout, so the net gets back the matrix it computes
    on without a transposing copy.
    """
    if not states or not states[0]:
        return ()
    return tuple(_cat_coordinates(components) for components in zip(*states))


def _cat_coordinates(pieces: Sequence[torch.Tensor]) -> torch.Tensor:
    joined = _adjacent_view(pieces)
    if joined is not None:
        return joined
    if all(piece.dim() == 2 and piece.stride(0) == 1 and piece.shape[1] > 1 for piece in pieces):
        return torch.cat([piece.t() for piece in pieces], dim=1).t()
    return torch.cat(list(pieces))


def _adjacent_view(pieces: Sequence[torch.Tensor]) -> torch.Tensor | None:
    """The pieces as one view when they are consecutive slices of one tensor along the coordinate
    dim (what :func:`split_state` made of the net's last state): joining them then copies nothing."""
    first = pieces[0]
    if first.dim() == 0 or any(piece.dim() != first.dim() or piece.shape[1:] != first.shape[1:]
                               or piece.stride() != first.stride() or piece.dtype != first.dtype
                               or piece.device != first.device
                               or piece.untyped_storage().data_ptr() != first.untyped_storage().data_ptr()
                               for piece in pieces):
        return None
    offset = first.storage_offset()
    for piece in pieces:
        if piece.storage_offset() != offset:
            return None
        offset += piece.shape[0] * first.stride(0)
    rows = sum(piece.shape[0] for piece in pieces)
    return first.as_strided((rows, *first.shape[1:]), first.stride(), first.storage_offset())


def split_state(state: NetState, sizes: Sequence[int]) -> list[NetState]:
    """The inverse of :func:`concat_states`: one state per block of ``sizes`` coordinates."""
    if not state:
        return [() for _ in sizes]
    pieces = [component.split(list(sizes)) for component in state]
    return [tuple(piece[i] for piece in pieces) for i in range(len(sizes))]


def segment_ids(shapes: Sequence[torch.Size], ensemble_dim: int | None, device=None) -> torch.Tensor:
    """A LongTensor [N]: which (tensor, run) block each flattened coordinate belongs to.

    With ``ensemble_dim=None`` every tensor is one segment; with ``ensemble_dim=0`` a tensor of
    shape [R, ...] is R segments, one per run, so a per-segment reduction is per run.
    """
    ids, offset = [], 0
    for shape in shapes:
        shape = torch.Size(shape)
        if ensemble_dim is None or len(shape) == 0:
            ids.append(torch.full((shape.numel(),), offset, dtype=torch.long, device=device))
            offset += 1
            continue
        runs = shape[ensemble_dim]
        index = torch.arange(runs, device=device).view([-1 if d == ensemble_dim else 1 for d in range(len(shape))])
        ids.append((offset + index.expand(shape)).reshape(-1))
        offset += runs
    return torch.cat(ids) if ids else torch.zeros(0, dtype=torch.long, device=device)
