"""Putting computed numbers into a chapter's prose and tables.

``glue`` hands a value to MyST-NB so the book's Markdown can cite it ({glue:text}`name`) and
no number in the prose is typed by hand; outside the book builder (Colab, plain Jupyter) it
just prints the value.
"""

from __future__ import annotations

import pandas as pd


def glue(name: str, value, display: bool = False) -> None:
    """Make ``value`` citable in the chapter's Markdown as ``{glue:text}`name```.

    Returns nothing, so a glue call that ends a cell does not also print the value.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        print(f"{name} = {value}")
        return
    myst_glue(name, value, display=display)


def show(frame: pd.DataFrame, caption: str | None = None, precision: int = 3):
    """A DataFrame as a compact HTML table with an optional caption."""
    styler = frame.style.format(precision=precision, na_rep="–").hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    return styler
