"""Small files holding a trained update net: its weights and the config that rebuilds it.

A file is a ``.pt`` with ``{"format", "net_class", "config", "state_dict", "metadata"}``:
``net_class`` is ``"module:QualName"`` of the net, ``config`` its JSON-able constructor
arguments (``net.config()``), ``metadata`` anything JSON-able (e.g. the meta-training config
and the validation score).

**A file is untrusted input**: readers share and download trained optimizers. Loading reads it
with ``torch.load(weights_only=True)`` (no pickled code) and builds only a class of
:data:`UPDATE_NET_CLASSES`, the library's own update nets; the config is tried on the ``meta``
device first, so a config that does not fit the file's weights (e.g. a huge ``hidden``) is
refused before anything is allocated. Anything else is a ``ValueError`` naming what is allowed.

**Where trained nets live.** The book's trained optimizers ship inside the package
(``optbook/checkpoints/``, package data), so a pip-installed library has them. Nets trained
later go to :func:`save_dir`. :func:`find_checkpoints` looks in the data directory's
``checkpoints/`` first (nets you trained), then in the package (nets that ship).
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import re
from pathlib import Path

import torch
from torch import nn

from optbook.learned.hnn import HNNUpdate
from optbook.learned.nets import CoordinatewiseLSTM, LinearUpdate
from optbook.learned.port_hamiltonian import PortHamiltonianUpdate
from optbook.learned.protocol import check_update_net

__all__ = [
    "UPDATE_NET_CLASSES", "checkpoint_path", "find_checkpoints", "load_net", "save_dir", "save_net", "shipped_dir",
]

NET_FILE_FORMAT = 1
SUFFIX = ".pt"
# A checkpoint's name is a plain file name: it must not lead out of the checkpoint folders.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")

#: The update-net classes a trained-optimizer file may name; :func:`load_net` builds no other.
#: A new update net becomes loadable (and savable) by adding its class here.
UPDATE_NET_CLASSES: tuple[type[nn.Module], ...] = (CoordinatewiseLSTM, LinearUpdate, HNNUpdate, PortHamiltonianUpdate)


def class_name(cls: type) -> str:
    """How a file names a class: ``"module:QualName"``."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _registry() -> dict[str, type[nn.Module]]:
    return {class_name(cls): cls for cls in UPDATE_NET_CLASSES}


# --------------------------------------------------------------------------- where files live


def shipped_dir() -> Path:
    """``optbook/checkpoints/`` inside the installed package: the book's trained optimizers."""
    return Path(__file__).resolve().parent.parent / "checkpoints"


def save_dir() -> Path:
    """Where a newly trained net is written.

    In a book checkout whose data directory is the checkout's own ``data/`` (the book's build and
    chapters run there), the package's folder: a retrained net then replaces the shipped one as a
    change to commit, and ships with the library. Everywhere else (a pip-installed library,
    whose site-packages must not be written; any other ``OPTBOOK_DATA``, e.g. tests)
    ``<data dir>/checkpoints/``.
    """
    from optbook.paths import data_dir, find_project_root

    root = find_project_root(shipped_dir())
    if root is not None and data_dir().resolve() == (root / "data").resolve():
        return shipped_dir()
    return data_dir() / "checkpoints"


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name):
        raise ValueError(f"checkpoint name={name!r} is not allowed; give a plain file name without its {SUFFIX} "
                         "(letters, digits, '.', '_', '+', '-'; no folders), e.g. 'l2l-quadratic-lstm-r1-lr0.003-cpu'")
    return name


def find_checkpoints(name: str) -> list[Path]:
    """The existing files named ``<name>.pt``, in lookup order: the data directory's
    ``checkpoints/`` (nets trained here), then the package's (nets that ship)."""
    from optbook.paths import data_dir

    _check_name(name)
    found: list[Path] = []
    for folder in (data_dir() / "checkpoints", shipped_dir()):
        path = folder / f"{name}{SUFFIX}"
        if path.is_file() and all(not path.samefile(other) for other in found):
            found.append(path)
    return found


def checkpoint_path(name: str) -> Path:
    """The file :func:`load_net` should read for ``name``: the first of :func:`find_checkpoints`,
    or, when there is none yet, where a net trained now is saved."""
    found = find_checkpoints(name)
    return found[0] if found else save_dir() / f"{name}{SUFFIX}"


# --------------------------------------------------------------------------- saving and loading


def save_net(path: str | os.PathLike, net: nn.Module, config: dict | None = None, metadata: dict | None = None) -> Path:
    """Save ``net``'s weights with ``config`` (default ``net.config()``) that rebuilds it."""
    check_update_net(net)
    name = class_name(type(net))
    if name not in _registry():
        raise ValueError(
            f"net={type(net).__name__} cannot be saved: load_net builds only {_allowed()}; add its class to "
            "UPDATE_NET_CLASSES in optbook/learned/checkpoints.py"
        )
    if config is None:
        if not callable(getattr(net, "config", None)):
            raise ValueError(f"net={type(net).__name__} has no config(); pass config= with its constructor arguments")
        config = net.config()
    plain = {}
    for key, value in (("config", config), ("metadata", metadata or {})):
        try:
            # Through JSON and back: str subclasses such as torch.__version__ become plain str,
            # which torch.load(weights_only=True) can read.
            plain[key] = json.loads(json.dumps(value))
        except TypeError as err:
            raise ValueError(f"{key} must be JSON-serialisable: {err}") from err
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": NET_FILE_FORMAT,
        "net_class": name,
        "config": plain["config"],
        "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "metadata": plain["metadata"],
    }
    torch.save(payload, path)
    return path


def load_net(path: str | os.PathLike, device: torch.device | str = "cpu", with_metadata: bool = False):
    """Rebuild the net saved by :func:`save_net` (in eval mode); optionally also its metadata.

    Raises ``ValueError`` for a file that is unreadable, not of this format, names a class outside
    :data:`UPDATE_NET_CLASSES`, or whose config does not fit its weights.
    """
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(f"{path} was refused: it is not a trained-optimizer file of this library but holds pickled "
                         f"Python objects ({_refused_object(err)}), which could run code when loaded; this "
                         "library reads only weights, numbers and strings from such files") from None
    except Exception as err:  # a damaged file raises anything from OSError to RuntimeError
        raise ValueError(f"{path} is not a readable trained-optimizer file: {type(err).__name__}: {err}") from None
    cls, config, state_dict, metadata = _checked_payload(path, payload)
    _check_config_fits(path, cls, config, state_dict)
    net = cls(**config)
    net.load_state_dict(state_dict)
    net.to(device).eval()
    return (net, metadata) if with_metadata else net


def _refused_object(err: Exception) -> str:
    """What torch's safe unpickler refused, without its advice to load the file unsafely."""
    found = re.search(r"GLOBAL ([\w.]+)", str(err))
    return f"it names {found.group(1)}" if found else "objects other than tensors and plain data"


def _allowed() -> str:
    return ", ".join(_registry())


def _checked_payload(path, payload) -> tuple[type[nn.Module], dict, dict, dict]:
    if not isinstance(payload, dict) or payload.get("format") != NET_FILE_FORMAT:
        raise ValueError(f"{path} is not a saved update net of format {NET_FILE_FORMAT}")
    name = payload.get("net_class")
    cls = _registry().get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"{path}: net_class={name!r} is not one of the library's update nets; allowed: {_allowed()}")
    config, state_dict, metadata = payload.get("config"), payload.get("state_dict"), payload.get("metadata", {})
    if not isinstance(config, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, (bool, int, float, str))) for k, v in config.items()
    ):
        raise ValueError(f"{path}: config={config!r} must map argument names to numbers, strings, booleans or None")
    if not isinstance(state_dict, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()
    ):
        raise ValueError(f"{path}: state_dict must map parameter names to tensors")
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: metadata must be a dict, got {type(metadata).__name__}")
    return cls, config, state_dict, metadata


def _check_config_fits(path, cls: type[nn.Module], config: dict, state_dict: dict) -> None:
    """Build the net on the meta device (no memory) and compare its weights' shapes with the file's."""
    accepted = set(inspect.signature(cls).parameters)
    unknown = sorted(set(config) - accepted)
    if unknown:
        raise ValueError(f"{path}: config has {unknown}, which {cls.__name__} does not take; allowed: {sorted(accepted)}")
    try:
        with torch.device("meta"):
            probe = cls(**config)
    except (TypeError, ValueError, RuntimeError) as err:  # RuntimeError: sizes past what torch can address
        raise ValueError(f"{path}: config={config!r} does not build a {cls.__name__}: {err}") from None
    wanted = {k: tuple(v.shape) for k, v in probe.state_dict().items()}
    given = {k: tuple(v.shape) for k, v in state_dict.items()}
    if wanted != given:
        raise ValueError(
            f"{path}: the weights do not fit {cls.__name__}(**{config!r}): it has {wanted}, the file holds {given}"
        )
