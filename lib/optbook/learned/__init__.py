"""Learned optimizers: update nets, their meta-training, and their use as torch optimizers.

- :mod:`~optbook.learned.preprocess`  the L2L log/sign gradient encoding (App. A)
- :mod:`~optbook.learned.protocol`    what an update net offers (LSTM, HNN, port-Hamiltonian)
- :mod:`~optbook.learned.nets`        ``CoordinatewiseLSTM``, ``LinearUpdate``
- :mod:`~optbook.learned.hnn`         ``HNNUpdate``: the HNN optimizer as published (OPT-ML)
- :mod:`~optbook.learned.port_hamiltonian` ``PortHamiltonianUpdate``: scalar H, PSD dissipation, leapfrog
- :mod:`~optbook.learned.unroll`      an optimizee with θ outside its module (functional_call)
- :mod:`~optbook.learned.meta`        meta-training by truncated BPTT, resumable
- :mod:`~optbook.learned.evaluate`    frozen nets on fresh problems, tidy frames
- :mod:`~optbook.learned.optimizer`   ``LearnedOptimizer``: a trained net on any ``nn.Module``
- :mod:`~optbook.learned.checkpoints` ``save_net`` / ``load_net``
- :mod:`~optbook.learned.probe`       what a net does: responses to gradient sequences, learned H
"""

from optbook.learned.checkpoints import checkpoint_path, load_net, save_net
from optbook.learned.evaluate import evaluate
from optbook.learned.hnn import HNNUpdate
from optbook.learned.meta import (
    LossTerm,
    MetaTrainConfig,
    MetaTrainResult,
    before_update,
    every_step,
    final_step,
    load_checkpoint,
    train,
)
from optbook.learned.nets import CoordinatewiseLSTM, LinearUpdate
from optbook.learned.optimizer import LearnedOptimizer
from optbook.learned.port_hamiltonian import PortHamiltonianUpdate
from optbook.learned.preprocess import identity_preprocess, log_sign_preprocess
from optbook.learned.probe import constant_gradient_response, gradient_response, port_hamiltonian_landscape
from optbook.learned.protocol import UpdateNet
from optbook.learned.unroll import UnrolledOptimizee

__all__ = [
    "CoordinatewiseLSTM", "HNNUpdate", "LearnedOptimizer", "LinearUpdate", "LossTerm", "MetaTrainConfig",
    "MetaTrainResult", "PortHamiltonianUpdate", "UnrolledOptimizee", "UpdateNet", "before_update", "checkpoint_path",
    "constant_gradient_response", "evaluate", "every_step", "final_step", "gradient_response", "identity_preprocess",
    "load_checkpoint", "load_net", "log_sign_preprocess", "port_hamiltonian_landscape", "save_net", "train",
]
