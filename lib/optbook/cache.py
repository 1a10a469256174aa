"""A result cache under ``data/cache/``, keyed by a config hash, the library version and code.

Keying on the library version alone would serve stale numbers after an algorithm changed
without a version bump; keying on the whole library would recompute hours of meta-training
after a change to the CLI. So a caller names the modules its result depends on, and their
source is part of the key.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import pickle
import tempfile
import warnings
from pathlib import Path
from types import ModuleType
from typing import Callable, Iterable, TypeVar

from optbook.paths import cache_dir

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
    """Return the stored result for this key, or compute, store and return it. An entry that
    cannot be read (truncated, written by an incompatible version) is recomputed and overwritten,
    with a warning naming its file."""
    path = cache_dir() / f"{cache_key(kind, config, code)}.pkl"
    if path.exists() and not refresh:
        try:
            with path.open("rb") as handle:
                result = pickle.load(handle)
            _log_lookup("hit", kind)
            return result
        except Exception as err:  # a damaged entry raises anything from EOFError to UnpicklingError
            # An entry that cannot be read is a miss: recompute and overwrite it, and say which.
            warnings.warn(f"unreadable cache entry {path} ({type(err).__name__}: {err}); recomputing it", stacklevel=2)
    _log_lookup("miss", kind)
    result = compute()
    _atomic_pickle(result, path)
    (path.with_suffix(".json")).write_text(json.dumps({"kind": kind, "config": config}, indent=1, sort_keys=True))
    return result


def _log_lookup(outcome: str, kind: str) -> None:
    log = os.environ.get(CACHE_LOG_ENV)
    if log:
        with open(log, "a") as handle:
            handle.write(f"{outcome} {kind}\n")


def read_lookups(log: Path) -> dict[str, int]:
    """``{"hits": h, "misses": m}`` from a lookup log (zeros when there is none)."""
    words = [line.split()[0] for line in Path(log).read_text().splitlines() if line.strip()] if Path(log).is_file() else []
    return {"hits": words.count("hit"), "misses": words.count("miss")}


def _atomic_pickle(obj, path: Path) -> None:
    # A run interrupted while writing must not leave a truncated entry that later loads as a result.
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
