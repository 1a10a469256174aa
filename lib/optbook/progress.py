"""Progress bars for long work, silent where nobody watches.

``optbook build`` executes chapters with ``OPTBOOK_PROGRESS=0``: a bar redrawn inside an
executed notebook would be saved as hundreds of lines of output in the published page, and the
builder shows its own bar over cells. In Jupyter, Colab or a terminal the bars show.
"""

from __future__ import annotations

import importlib.util
import os


def enabled() -> bool:
    return os.environ.get("OPTBOOK_PROGRESS", "1") != "0"


def progress_bar(iterable=None, **kwargs):
    """``tqdm`` over ``iterable`` (notebook-aware), disabled when ``OPTBOOK_PROGRESS=0``."""
    if not enabled() or kwargs.get("disable"):
        from tqdm import tqdm

        return tqdm(iterable, **{**kwargs, "disable": True})
    if importlib.util.find_spec("ipywidgets") is None:
        # tqdm.auto would pick widget bars in a notebook and warn ("IProgress not found") when
        # ipywidgets, which optbook does not require, is missing: draw text bars there instead.
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm

    return tqdm(iterable, leave=False, **kwargs)
