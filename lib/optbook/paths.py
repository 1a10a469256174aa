"""Where optbook keeps data, caches and the book.

The data directory is, in order: ``$OPTBOOK_DATA``; ``data/`` of the optbook checkout the
current directory belongs to (a folder holding ``_toc.yml``); else ``~/.cache/optbook``
(an installed library used outside the book, e.g. in Colab).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BOOK_MARKER = "_toc.yml"


def find_project_root(start: str | os.PathLike | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the current directory) holding the book."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / BOOK_MARKER).is_file() and (folder / "notebooks").is_dir():
            return folder
    return None


def data_dir() -> Path:
    """The dataset folder (torchvision layout) and parent of the result cache."""
    env = os.environ.get("OPTBOOK_DATA")
    if env:
        path = Path(env).expanduser()
    else:
        root = find_project_root()
        path = root / "data" if root else Path.home() / ".cache" / "optbook"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Cached expensive results, keyed by config hash and library version."""
    path = data_dir() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename: a reader (another worker of a shared checkout)
    sees the old file or the new one, and an interrupted write leaves no half-written file. The
    file is readable by the checkout's other users (mkstemp alone would make it 0600)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
