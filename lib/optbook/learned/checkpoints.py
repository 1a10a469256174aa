"""Small files holding a trained update net: its weights and the config that rebuilds it.

A file is a ``.pt`` with ``{"format", "net_class", "config", "state_dict", "metadata"}``:
``net_class`` is ``"module:QualName"`` of the net, ``config`` its JSON-able constructor
arguments (``net.config()``), ``metadata`` anything JSON-able (e.g. the meta-training config
and the validation score). The chapters commit theirs under ``data/checkpoints/``.
Loading uses ``torch.load(weights_only=True)`` (no pickled code) and imports the net's module.
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import torch
from torch import nn

from optbook.learned.protocol import check_update_net

__all__ = ["checkpoint_path", "load_net", "save_net"]

NET_FILE_FORMAT = 1


def checkpoint_path(name: str) -> Path:
    """``data/checkpoints/<name>.pt``: where the book keeps its trained optimizers."""
    from optbook.paths import data_dir

    folder = data_dir() / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.pt"


def save_net(path: str | os.PathLike, net: nn.Module, config: dict | None = None, metadata: dict | None = None) -> Path:
    """Save ``net``'s weights with ``config`` (default ``net.config()``) that rebuilds it."""
    check_update_net(net)
    if config is None:
        if not callable(getattr(net, "config", None)):
            raise ValueError(f"net={type(net).__name__} has no config(); pass config= with its constructor arguments")
        config = net.config()
    plain = {}
    for name, value in (("config", config), ("metadata", metadata or {})):
        try:
            # Through JSON and back: str subclasses such as torch.__version__ become plain str,
            # which torch.load(weights_only=True) can read.
            plain[name] = json.loads(json.dumps(value))
        except TypeError as err:
            raise ValueError(f"{name} must be JSON-serialisable: {err}") from err
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": NET_FILE_FORMAT,
        "net_class": f"{type(net).__module__}:{type(net).__qualname__}",
        "config": plain["config"],
        "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
        "metadata": plain["metadata"],
    }
    torch.save(payload, path)
    return path


def load_net(path: str | os.PathLike, device: torch.device | str = "cpu", with_metadata: bool = False):
    """Rebuild the net saved by :func:`save_net` (in eval mode); optionally also its metadata."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != NET_FILE_FORMAT:
        raise ValueError(f"{path} is not a saved update net of format {NET_FILE_FORMAT}")
    module_name, _, qualname = payload["net_class"].partition(":")
    cls = importlib.import_module(module_name)
    for part in qualname.split("."):
        cls = getattr(cls, part)
    net = cls(**payload["config"])
    net.load_state_dict(payload["state_dict"])
    net.to(device).eval()
    return (net, payload["metadata"]) if with_metadata else net
