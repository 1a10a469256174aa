"""A result cache under ``data/cache/``, keyed by a config hash, the library version and code.

Keying on the library version alone would serve stale numbers after an algorithm changed
without a version bump; keying on the whole library would recompute hours of meta-training
after a change to the CLI. So a caller names the modules its result depends on, and their
source is part of the key.

An entry cannot run code and cannot hide damage: the result is stored with
:mod:`optbook.safe_store` (no pickle; a planted file is at worst refused) as ``<key>.zip``, and
``<key>.json`` beside it names its kind and config and holds the SHA-256 of the zip. An entry
whose hash does not match, or that does not read back, is recomputed and overwritten with a
warning; the warning also goes to the lookup log, from which ``optbook run``, ``build`` and
``sweep`` repeat it on the terminal (a chapter's own warnings reach only its notebook).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import warnings
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterable, TypeVar

from optbook import safe_store
from optbook.paths import cache_dir, write_atomically

T = TypeVar("T")
# Where ``cached`` notes each lookup as a line "hit KIND" or "miss KIND", when set: ``optbook
# build`` sets it, so a chapter's stamp can say how much of its wall time was a cache replay.
CACHE_LOG_ENV = "OPTBOOK_CACHE_LOG"


def _canonical(config) -> str:
    try:
        return json.dumps(config, sort_keys=True, separators=(",", ":"))
    except TypeError as err:
        raise TypeError(f"a cache config must be JSON-serialisable: {err}") from err


def cache_key(kind: str, config: dict, code: Iterable[ModuleType] = ()) -> str:
    """``kind-<hash>``: the hash covers the config, the optbook version and the named modules' source."""
    from optbook import __version__

    code = list(code)
    # A function's source is not its module's: keying on one would miss edits to its neighbours.
    not_modules = [getattr(entry, "__qualname__", repr(entry)) for entry in code if not isinstance(entry, ModuleType)]
    if not_modules:
        raise TypeError(f"code must name modules, whose whole source is keyed; got {not_modules}")
    digest = hashlib.sha256()
    digest.update(_canonical(config).encode())
    digest.update(__version__.encode())
    for module in sorted(code, key=lambda m: m.__name__):
        digest.update(module.__name__.encode())
        digest.update(inspect.getsource(module).encode())
    return f"{kind}-{digest.hexdigest()[:16]}"


def cached(kind: str, config: dict, compute: Callable[[], T], code: Iterable[ModuleType] = (), refresh: bool = False) -> T:
    """Return the stored result for this key, or compute, store and return it. A damaged entry
    (its hash does not match, it does not read back) is recomputed and overwritten, with a warning
    naming its file. A computed result is returned as it reads back from its entry, so a run that
    computed and a run that replayed see the same values and types."""
    key = cache_key(kind, config, code)
    entry, description = cache_dir() / f"{key}.zip", cache_dir() / f"{key}.json"
    if entry.exists() and not refresh:
        try:
            result = _read_entry(entry, description)
            _log_lookup("hit", kind)
            return result
        except ValueError as err:
            message = f"damaged cache entry {entry} ({err}); recomputing it"
            warnings.warn(message, stacklevel=2)
            _log_lookup("damaged", kind, message)
    _log_lookup("miss", kind)
    data = safe_store.dumps(compute())
    _write_entry(data, entry, description, {"kind": kind, "config": config})
    return safe_store.loads(data)


def _read_entry(entry: Path, description: Path):
    """The result in ``entry``; ``ValueError`` when it does not match the hash beside it or does not read."""
    data = entry.read_bytes()
    try:
        expected = json.loads(description.read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"no readable hash beside it in {description.name}: {type(err).__name__}") from None
    if hashlib.sha256(data).hexdigest() != expected:
        raise ValueError("its content does not match the SHA-256 recorded beside it")
    return safe_store.loads(data)


def _write_entry(data: bytes, entry: Path, description: Path, about: dict) -> None:
    # The hash goes in first: a reader between the two renames sees a mismatch and recomputes,
    # never an entry without its hash; an interrupted write leaves no half-written file.
    about = {**about, "sha256": hashlib.sha256(data).hexdigest()}
    write_atomically(description, json.dumps(about, indent=1, sort_keys=True).encode())
    write_atomically(entry, data)


def _log_lookup(outcome: str, kind: str, message: str = "") -> None:
    log = os.environ.get(CACHE_LOG_ENV)
    if log:
        with open(log, "a") as handle:
            handle.write(f"{outcome} {kind}" + (f" {message}" if message else "") + "\n")


def read_lookups(log: Path) -> dict[str, int]:
    """``{"hits": h, "misses": m}`` from a lookup log (zeros when there is none)."""
    words = [line.split()[0] for line in _lines(log)]
    return {"hits": words.count("hit"), "misses": words.count("miss")}


def read_damaged(log: Path) -> list[str]:
    """The warnings about damaged entries in a lookup log, for the terminal of whoever ran the chapter."""
    return [line.split(" ", 2)[2] for line in _lines(log) if line.startswith("damaged ") and line.count(" ") >= 2]


def _lines(log: Path) -> list[str]:
    return [line for line in Path(log).read_text().splitlines() if line.strip()] if Path(log).is_file() else []
