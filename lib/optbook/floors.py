"""What the machine allows: the floors ``optbook bench`` and the "What it costs" page print beside
each measurement, and the ``nn.LSTMCell`` reference that meta-training is compared with.

* A **memory pass** is one read or one write of every coordinate of the parameters. An
  elementwise optimizer step cannot be faster than its passes (:data:`PASSES`) times the time of
  one pass, measured as a third of ``torch.add(a, b, out=c)`` (two reads, one write) on as many
  floats. Optimizers that draw noise add one Gaussian draw per coordinate and step.
* A **multiply-add floor** bounds the nets: the multiply-adds of their matrix products
  (by ``torch.utils.flop_counter``'s formulas) at the rate of one large single-precision matrix
  product on this machine. Backward costs twice the forward (input and weight gradients).
"""

from __future__ import annotations

import time
from typing import Callable

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

__all__ = [
    "PASSES", "lstm_cell_reference", "gaussian_draw_seconds", "matmul_rate", "multiply_adds", "pass_seconds",
]

#: Passes over parameter-sized memory per step, and Gaussian draws per coordinate, with the reason.
#: Counted the way the library's kernels go: a stage that needs a finished reduction (HD's dot
#: product, the thermostat's kinetic energy) cannot share a sweep with the update that uses it.
PASSES: dict[str, tuple[int, int, str]] = {
    "SGD": (3, 0, "read θ, g; write θ"),
    "Momentum": (5, 0, "read θ, g, b; write b, θ"),
    "NAG": (5, 0, "read θ, g, b; write b, θ"),
    "RMSprop": (5, 0, "read θ, g, v; write v, θ"),
    "Adam": (7, 0, "read θ, g, m, v; write m, v, θ"),
    "SGD-HD": (7, 0, "SGD's 3, the dot product g·d (read 2), keep g as d (read 1, write 1)"),
    "SGDN-HD": (8, 0, "Nesterov momentum's 5, the dot product (read 2), write d"),
    "Adam-HD": (10, 0, "Adam's 7, the dot product (read 2), write d"),
    "SGLD": (4, 1, "read θ, g, noise; write θ"),
    "BAOAB": (11, 1, "B and O: read p, g or noise, write p; two A: read θ, p, write θ"),
    "AdLaLa": (12, 1, "BAOAB's 11 and the thermostat's p·p (read 1)"),
    "LOL": (11, 1, "BAOAB's sweeps (the overdamped layers redraw p)"),
}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _best_seconds(work: Callable[[], object], repeats: int, device: torch.device) -> float:
    """The fastest of ``repeats`` timed calls after one untimed call: a floor is what the machine
    can do, so the least disturbed measurement is the right one."""
    work()
    best = float("inf")
    for _ in range(repeats):
        _synchronize(device)
        started = time.perf_counter()
        work()
        _synchronize(device)
        best = min(best, time.perf_counter() - started)
    return best


def matmul_rate(size: int = 1024, repeats: int = 5, device: torch.device | str = "cpu") -> float:
    """Multiply-adds per second of one [size, size] @ [size, size] float32 product."""
    if size < 1 or repeats < 1:
        raise ValueError(f"size={size} and repeats={repeats} must be positive")
    device = torch.device(device)
    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    return size**3 / _best_seconds(lambda: a @ b, repeats, device)


def pass_seconds(numel: int, repeats: int = 5, device: torch.device | str = "cpu") -> float:
    """Seconds of one pass (one read or one write) over ``numel`` float32 values."""
    if numel < 1:
        raise ValueError(f"numel={numel} must be positive")
    device = torch.device(device)
    a, b, out = (torch.rand(numel, device=device) for _ in range(3))
    return _best_seconds(lambda: torch.add(a, b, out=out), repeats, device) / 3


def gaussian_draw_seconds(numel: int, repeats: int = 5, device: torch.device | str = "cpu") -> float:
    """Seconds to fill ``numel`` float32 values with standard Gaussian draws (the write included)."""
    if numel < 1:
        raise ValueError(f"numel={numel} must be positive")
    device = torch.device(device)
    buffer = torch.empty(numel, device=device)
    generator = torch.Generator(device=device).manual_seed(0)
    return _best_seconds(lambda: buffer.normal_(generator=generator), repeats, device)


def multiply_adds(net: nn.Module, coordinates: int, device: torch.device | str = "cpu") -> int:
    """Multiply-adds of the matrix products in one forward of an update net on ``coordinates``
    coordinates (``torch.utils.flop_counter`` counts two flops per multiply-add)."""
    from optbook.learned.protocol import call_net

    grad = torch.randn(coordinates, device=device) * 1e-3

    def one_segment() -> torch.Tensor:  # nets with per-tensor reductions: all coordinates one tensor
        return torch.zeros(coordinates, dtype=torch.long, device=device)

    with torch.no_grad(), _FlopCounter() as counter:
        call_net(net, grad, net.initial_state(coordinates, device), one_segment)
    return counter.flops // 2


class _FlopCounter(TorchDispatchMode):
    """Flops of every matrix product dispatched inside the block, by torch's own formulas.

    (``FlopCounterMode`` also tracks modules with hooks that break an ``autograd.grad`` inside a
    net's forward, as the port-Hamiltonian net's potential force takes.)
    """

    def __init__(self):
        super().__init__()
        self.flops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        return out


def lstm_cell_reference(hidden: int, layers: int, inputs: int, coordinates: int, unroll: int = 20,
                        repeats: int = 3, device: torch.device | str = "cpu") -> dict[str, float]:
    """Seconds per step of the same LSTM stack written with ``nn.LSTMCell`` and ``nn.Linear``,
    doing only its own work on ``coordinates`` rows: ``train`` = forward and backward through an
    unroll of ``unroll`` steps (a meta-training unroll without the optimizee), ``forward`` = the
    forward alone without a graph (frozen evaluation without the optimizee)."""
    if min(hidden, layers, inputs, coordinates, unroll, repeats) < 1:
        raise ValueError("hidden, layers, inputs, coordinates, unroll and repeats must all be positive")
    device = torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        cells = nn.ModuleList(nn.LSTMCell(inputs if i == 0 else hidden, hidden) for i in range(layers)).to(device)
        head = nn.Linear(hidden, 1).to(device)
        x = torch.randn(coordinates, inputs, device=device)

    def run() -> torch.Tensor:
        state = [torch.zeros(coordinates, hidden, device=device) for _ in range(2 * layers)]
        total = torch.zeros((), device=device)
        for _ in range(unroll):
            below = x
            for layer, cell in enumerate(cells):
                state[2 * layer], state[2 * layer + 1] = cell(below, (state[2 * layer], state[2 * layer + 1]))
                below = state[2 * layer]
            total = total + head(below).square().sum()
        return total

    def train() -> None:
        run().backward()

    def forward() -> None:
        with torch.no_grad():
            run()

    return {
        "train": _best_seconds(train, repeats, device) / unroll,
        "forward": _best_seconds(forward, repeats, device) / unroll,
    }
