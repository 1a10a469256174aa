r"""Update nets of the L2L paper (Andrychowicz et al. 2016): the coordinatewise LSTM and a toy.

Both follow the update-net protocol of :mod:`optbook.learned.protocol`: every scalar
coordinate θ_i of the optimizee is a row of one batch, the weights φ are shared by all rows,
and each row has its own recurrent state,

.. math::  \begin{bmatrix} g_{t,i} \\ h_{t+1,i} \end{bmatrix} = m(\nabla_{t,i}, h_{t,i}; \phi),
           \qquad \theta_{t+1} = \theta_t + g_t   \quad\text{(paper Eq. 1-3)}.
"""

from __future__ import annotations

import torch
from torch import nn

from optbook.learned.lstm_layer import LSTMLayer, lstm_layer
from optbook.learned.preprocess import identity_preprocess, log_sign_preprocess
from optbook.learned.protocol import NetState

__all__ = ["CoordinatewiseLSTM", "LinearUpdate", "sigmoid_form_weights"]


def sigmoid_form_weights(cell: nn.LSTMCell) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``cell``'s (W_ih, W_hh, b_ih + b_hh) with the g-gate rows doubled, for :mod:`optbook.learned.lstm_layer`.

    PyTorch's gates are i, f, g, o = σ, σ, tanh, σ; with the g rows doubled one sigmoid serves
    all four, since tanh z = 2σ(2z) − 1 (PyTorch's CPU tanh is about 6x slower than its sigmoid).
    """
    hidden = cell.hidden_size
    gate_scale = torch.ones(4 * hidden, 1, dtype=cell.weight_ih.dtype, device=cell.weight_ih.device)
    gate_scale[2 * hidden : 3 * hidden] = 2.0
    return cell.weight_ih * gate_scale, cell.weight_hh * gate_scale, (cell.bias_ih + cell.bias_hh) * gate_scale.squeeze(1)


class CoordinatewiseLSTM(nn.Module):
    r"""The paper's optimizer (Sec. 2.1): a small deep LSTM applied to every coordinate.

    For each coordinate: input x = pre(∇) (the log/sign encoding of App. A with
    ``preprocess_p``, or the raw gradient with ``preprocess_p=None``), then ``layers`` stacked
    LSTM cells of ``hidden`` units (no skip connections), then
    g = ``output_scale`` · Linear(h_top → 1). Paper: two layers of 20 units;
    ``output_scale`` 1 on quadratics, 0.1 on MNIST ("rescaled the outputs by 0.1"; the
    official code uses 0.01 there). Parameters: 5,221 with raw input, 5,301 with preprocessing,
    as in the PyTorch ports.

    ``forget_bias=1.0`` reproduces Sonnet's LSTM, which adds 1 to the forget-gate
    pre-activation: we add it to the initial forget-gate bias, the same function with the same
    gradients (Adam does not see a constant offset of a parameter). PyTorch's LSTMCell has
    none (0.0). Weights use PyTorch's default init (U(±1/√hidden)); Sonnet's truncated
    normals differ.

    State: ``(h_1, c_1, ..., h_L, c_L)``, each [N, hidden] (the transposed view of the
    [hidden, N] matrix the layers compute on), zeros for a new problem. ``chunk_size``
    coordinates go through a layer at a time, forward and backward (:mod:`.lstm_layer`): the
    same numbers for any size, fastest where a chunk's gates fit in the CPU's cache.
    """

    def __init__(
        self,
        hidden: int = 20,
        layers: int = 2,
        preprocess_p: float | None = 10.0,
        output_scale: float = 1.0,
        forget_bias: float = 0.0,
        preprocess_eps: float = 0.0,
        chunk_size: int | None = 4096,
    ):
        super().__init__()
        if hidden < 1:
            raise ValueError(f"hidden={hidden!r} must be at least 1")
        if layers < 1:
            raise ValueError(f"layers={layers!r} must be at least 1 (use LinearUpdate for no LSTM)")
        if preprocess_p is not None and not preprocess_p > 0:
            raise ValueError(f"preprocess_p={preprocess_p!r} must be positive or None")
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size={chunk_size!r} must be a positive number of coordinates or None")
        self.hidden, self.layers, self.chunk_size = hidden, layers, chunk_size
        self.preprocess_p, self.preprocess_eps = preprocess_p, preprocess_eps
        self.output_scale, self.forget_bias = output_scale, forget_bias
        inputs = 1 if preprocess_p is None else 2
        self.cells = nn.ModuleList(nn.LSTMCell(inputs if i == 0 else hidden, hidden) for i in range(layers))
        self.head = nn.Linear(hidden, 1)
        if forget_bias:
            with torch.no_grad():
                for cell in self.cells:  # PyTorch gate order: input, forget, cell, output
                    cell.bias_ih[hidden : 2 * hidden] += forget_bias

    def config(self) -> dict:
        return {
            "hidden": self.hidden,
            "layers": self.layers,
            "preprocess_p": self.preprocess_p,
            "output_scale": self.output_scale,
            "forget_bias": self.forget_bias,
            "preprocess_eps": self.preprocess_eps,
        }

    def initial_state(self, n_coords: int, device=None) -> NetState:
        zeros = lambda: torch.zeros(self.hidden, n_coords, device=device, dtype=self.head.weight.dtype).t()  # noqa: E731
        return tuple(zeros() for _ in range(2 * self.layers))

    def preprocess(self, grad: torch.Tensor) -> torch.Tensor:
        if self.preprocess_p is None:
            return identity_preprocess(grad)
        return log_sign_preprocess(grad, self.preprocess_p, self.preprocess_eps)

    def forward(self, grad: torch.Tensor, state: NetState) -> tuple[torch.Tensor, NetState]:
        # Coordinates are columns inside the net (see lstm_layer): x is [inputs, N], each state
        # component [hidden, N]; the protocol's [N, hidden] state is its transposed view.
        x = self.preprocess(grad).t()
        new_state = []
        for layer, cell in enumerate(self.cells):
            weights = sigmoid_form_weights(cell)
            h, c = _columns(state[2 * layer]), _columns(state[2 * layer + 1])
            if torch.is_grad_enabled() and any(t.requires_grad for t in (*weights, x, h, c)):
                h, c = LSTMLayer.apply(*weights, x, h, c, self.chunk_size)
            else:
                h, c = lstm_layer(weights, x, h, c, self.chunk_size)
            new_state += [h.t(), c.t()]
            x = h
        update = torch.addmm(self.head.bias.unsqueeze(1), self.head.weight, x).squeeze(0) * self.output_scale
        return update, tuple(new_state)

    def extra_repr(self) -> str:
        return f"preprocess_p={self.preprocess_p}, output_scale={self.output_scale}, forget_bias={self.forget_bias}"


class LinearUpdate(nn.Module):
    """g = ``output_scale`` · (w ∇ + b): a bare Linear(1→1), zero-initialised, stateless.

    The net of the official code's toy test (``meta_test.py``: ``CoordinateWiseDeepLSTM`` with
    ``layers=()`` and ``initializer="zeros"``): identity preprocessing, so a meta-trained w is a
    learned (negative) learning rate and b a drift.
    """

    def __init__(self, output_scale: float = 1.0):
        super().__init__()
        self.output_scale = output_scale
        self.linear = nn.Linear(1, 1)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def config(self) -> dict:
        return {"output_scale": self.output_scale}

    def initial_state(self, n_coords: int, device=None) -> NetState:
        return ()

    def forward(self, grad: torch.Tensor, state: NetState) -> tuple[torch.Tensor, NetState]:
        return self.linear(identity_preprocess(grad)).squeeze(-1) * self.output_scale, state


def _columns(component: torch.Tensor) -> torch.Tensor:
    """A state component [N, hidden] as the [hidden, N] matrix the layers work on (a view when
    it came from this net; a copy when it was joined from per-tensor pieces)."""
    columns = component.t()
    return columns if columns.is_contiguous() else columns.contiguous()
