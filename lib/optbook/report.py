"""Putting computed numbers into a chapter's prose and tables.

``glue`` hands a value to MyST-NB so the book's Markdown can cite it ({glue:text}`name`) and
no number in the prose is typed by hand; outside the book builder (Colab, plain Jupyter) it
keeps quiet, since the prose that cites the value is not rendered there either. ``show`` and
``config_table`` turn frames and configurations into tables a reader can scan: rounded, padded,
every value spelled out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

# Room between columns, so 0.9457 and 0.0113 never read as one number, and numbers aligned right.
# Numbers never break; headings and the rows' names wrap, so a long label does not widen the table
# past the page.
CELL_STYLE = [
    {"selector": "th, td", "props": "padding: 0.25em 0.6em; text-align: right;"},
    {"selector": "td", "props": "white-space: nowrap;"},
    {"selector": "th", "props": "font-weight: 600; border-bottom: 1px solid #999; vertical-align: bottom;"},
    {"selector": "td:first-child, th:first-child", "props": "text-align: left; white-space: normal;"},
    {"selector": "caption", "props": "caption-side: top; text-align: left; font-style: italic; padding-bottom: 0.3em;"},
]


def glue(name: str, value, display: bool = False) -> None:
    """Make ``value`` citable in the chapter's Markdown as ``{glue:text}`name```.

    Returns nothing, so a glue call that ends a cell does not also print the value.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)


def format_number(value, digits: int = 3) -> str:
    """A number as a reader wants it: ``digits`` significant digits, integers without ``.0``,
    small and large values in short scientific form (``1e-8``, not ``0.0`` or ``1e-08``)."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}" if abs(int(value)) >= 10_000 else str(int(value))
    value = float(value)
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    # Below 1e-3 decimals hide the magnitude: 1e-4, not 0.0001.
    return short_exponent(f"{value:.{digits - 1}e}" if 0 < abs(value) < 1e-3 else f"{value:.{digits}g}")


def short_exponent(text: str) -> str:
    """``"1.00e-08"`` → ``"1e-8"``: a number's text without trailing zeros or a padded exponent."""
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def format_value(value, digits: int = 3) -> str:
    """Any configuration value as text: numbers by :func:`format_number`, sequences joined,
    ``None`` as "–"."""
    if value is None:
        return "–"
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return format_number(value, digits)
    if isinstance(value, (list, tuple)):
        return ", ".join(_runs(list(value), digits)) or "(none)"
    return str(value)


# A run of at least this many consecutive integers is written as its ends: "1,000,000 … 1,000,049".
SHORTEST_RANGE = 4


def _runs(values: list, digits: int) -> list[str]:
    """Items as text, runs of consecutive integers written as ranges (50 seeds are one range,
    not a line 2,000 px wide)."""
    parts, start = [], 0
    while start < len(values):
        end = start
        while (end + 1 < len(values) and _is_integer(values[end]) and _is_integer(values[end + 1])
               and values[end + 1] == values[end] + 1):
            end += 1
        if end - start + 1 >= SHORTEST_RANGE:
            parts.append(f"{format_value(values[start], digits)} … {format_value(values[end], digits)}")
            start = end + 1
        else:
            parts.append(format_value(values[start], digits))
            start += 1
    return parts


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _flatten(config: Mapping, prefix: str = "") -> dict[str, object]:
    flat = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name} · "))
        else:
            flat[name] = value
    return flat


def config_table(config: Mapping, caption: str | None = None):
    """A chapter's configuration as a two-column table: nested settings flattened into
    ``group · setting`` rows, every value written out in full."""
    frame = pd.DataFrame(
        [(name, format_value(value, digits=6)) for name, value in _flatten(config).items()],
        columns=["setting", "value"],
    )
    styler = frame.style.hide(axis="index").set_table_styles(CELL_STYLE)
    styler = styler.set_properties(subset=["value"], **{"text-align": "left", "white-space": "normal"})
    return styler.set_caption(caption) if caption else styler


# A column of text longer than this wraps (left-aligned) instead of widening the table past the page.
LONG_TEXT = 24


def show(frame: pd.DataFrame, caption: str | None = None, precision: int = 3):
    """A DataFrame as a compact HTML table: numbers to ``precision`` significant digits,
    padded columns, no index, an optional caption; columns of long text wrap."""
    styler = frame.style.format(lambda v: format_value(v, precision) if _is_number(v) else ("–" if v is None else v))
    styler = styler.hide(axis="index").set_table_styles(CELL_STYLE)
    long_text = [column for column in frame.columns
                 if frame[column].map(lambda v: isinstance(v, str) and len(v) > LONG_TEXT).any()]
    if long_text:
        # !important: the table's own "td { white-space: nowrap }" selector outranks a cell's.
        styler = styler.set_properties(subset=long_text, **{"white-space": "normal !important",
                                                            "text-align": "left", "min-width": "8em"})
    return styler.set_caption(caption) if caption else styler


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.number, np.bool_)) or value is None
