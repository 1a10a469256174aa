"""The house style: one seaborn theme, titles that name task, data set and scale, bands over seeds."""

from __future__ import annotations

from typing import Sequence

import matplotlib.colors as matplotlib_colors
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from optbook.experiment import mean_ci

# One colour per method across the whole book, so a method is recognisable at a glance and no two
# methods of a figure look alike (Okabe-Ito and Tol's colour-blind-safe sets). A hypergradient
# variant (SGD-HD, SGD-HDM) is a shade of its baseline's hue, the family resemblance the
# hypergradient paper's figures rely on; the figures also draw baselines dashed.
METHOD_COLORS = {
    "SGD": "#0072B2", "Momentum": "#56B4E9", "NAG": "#009E73", "SGDN": "#009E73", "RMSprop": "#E69F00",
    "Adam": "#D55E00", "LSTM": "#CC79A7", "HNN": "#882255", "SGLD": "#999933", "BAOAB": "#44AA99",
    "AdLaLa": "#332288", "LOL": "#AA4499",
    "SGDop-SGDNlop": "#EE6677", "SGDNop-SGDNlop": "#88CCEE", "Adamop-Adamlop": "#CCBB44",
    "Adam-HD (code order)": "#777777",
    # Tol's green: no other method's family, and far from the HNN's wine (a spare colour was a
    # second dark red beside it).
    "port-Hamiltonian": "#117733",
}
# Variants drawn in a shade of their base method's colour: (base method, lightness change).
SHADES = {"SGD-HD": ("SGD", -0.12), "SGD-HDM": ("SGD", 0.18), "SGDN-HD": ("SGDN", -0.1),
          "Adam-HD": ("Adam", -0.12), "Adam-HDM": ("Adam", 0.18)}
METHOD_ORDER = ("SGD", "SGD-HD", "SGD-HDM", "Momentum", "NAG", "SGDN", "SGDN-HD", "RMSprop", "Adam", "Adam-HD",
                "Adam-HDM", "SGDop-SGDNlop", "SGDNop-SGDNlop", "Adamop-Adamlop", "Adam-HD (code order)", "LSTM",
                "HNN", "port-Hamiltonian", "SGLD", "BAOAB", "AdLaLa", "LOL")
# Lightness changes for the settings of one method: its own colour, a lighter and a darker shade.
SETTING_SHADES = (0.0, 0.25, -0.12, 0.4)
# Methods the book does not know get these, in order of appearance.
SPARE_COLORS = ("#661100", "#6699CC", "#888888", "#E7298A", "#1B9E77", "#A6761D", "#7570B3", "#66A61E")
# Sizes for a figure shown at the page's width (about 9 inches): fonts stay readable on a phone.
PAGE_WIDTH = 9.0
FIGURE_DPI = 110


def set_theme() -> None:
    """The book's seaborn theme; inline figures are drawn as retina PNGs (twice the dpi)."""
    sns.set_theme(context="notebook", style="whitegrid", font_scale=1.2,
                  rc={"figure.dpi": FIGURE_DPI, "savefig.dpi": 2 * FIGURE_DPI, "legend.frameon": True,
                      "legend.framealpha": 0.9, "axes.titlesize": "medium"})
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # no IPython: nothing is drawn inline
        return
    if get_ipython() is not None:  # outside a kernel, this would create an IPython shell
        set_matplotlib_formats("retina")


def _base_method(name: str) -> str:
    """``"AdLaLa (γ=10)"`` → ``"AdLaLa"``: a variant named "method (setting)"."""
    return name.split(" (")[0]


def _shade(color, change: float) -> tuple:
    """``color`` made lighter (change > 0) or darker (change < 0) in HLS lightness."""
    import colorsys

    h, lightness, saturation = colorsys.rgb_to_hls(*matplotlib_colors.to_rgb(color))
    return tuple(float(c) for c in colorsys.hls_to_rgb(h, min(max(lightness + change, 0.1), 0.85), saturation))


def method_colors(methods: Sequence[str]) -> dict[str, tuple]:
    """A colour per method: fixed across chapters for the book's methods, and different for every
    entry of ``methods``. Settings of one method ("AdLaLa (γ=0.5)", "AdLaLa (γ=10)") get shades of
    the method's colour, darker to lighter in the order given."""
    colors, spare = {}, iter(SPARE_COLORS * 4)
    names = ordered(methods)
    settings: dict[str, list[str]] = {}
    for name in names:
        if name in METHOD_COLORS:
            colors[name] = matplotlib_colors.to_rgb(METHOD_COLORS[name])
        elif name in SHADES:
            base, change = SHADES[name]
            colors[name] = _shade(METHOD_COLORS[base], change)
        elif _base_method(name) in METHOD_COLORS or _base_method(name) in SHADES:
            settings.setdefault(_base_method(name), []).append(name)
        else:
            colors[name] = matplotlib_colors.to_rgb(next(spare))
    for base, variants in settings.items():
        base_color = METHOD_COLORS.get(base) or _shade(METHOD_COLORS[SHADES[base][0]], SHADES[base][1])
        # The plain method, when drawn too, keeps the method's colour; settings move away from it.
        changes = SETTING_SHADES[1:] if base in names else SETTING_SHADES
        for variant, change in zip(variants, changes * 3):
            colors[variant] = _shade(base_color, change)
    return {name: colors[name] for name in names}


def figure_title(what: str, task_title: str, scale: str, data: str | None = None) -> str:
    """The house title: what is shown, on which task and data set, at which scale."""
    return f"{what}\n{task_title}" + (f" · {data}" if data else "") + f" · scale={scale}"


def suptitle(fig: plt.Figure, what: str, scale: str, data: str | None = None) -> None:
    """A title over a grid of panels, whose own titles then only name their task. A title too
    long for the figure's width puts the data set and scale on a line of their own."""
    tail = (f"{data} · " if data else "") + f"scale={scale}"
    one_line = f"{what} · {tail}"
    # About 9 characters per inch of figure at the title's (large) font size.
    fits = len(one_line) <= 9 * fig.get_figwidth()
    fig.suptitle(one_line if fits else f"{what}\n{tail}", fontsize="large")


def plain_number(value: float) -> str:
    """``0.5`` → "0.5", ``1e-06`` → "1e-6": a tick label as short as the number allows."""
    from optbook.report import short_exponent

    return short_exponent(f"{value:g}")


def plain_log_ticks(ax: plt.Axes, axis: str = "y") -> None:
    """Log-axis tick labels as plain numbers (0.5, 2, 1e-4) rather than 5×10⁻¹; minor ticks are
    labelled only where fewer than two powers of ten are in view."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    target = ax.yaxis if axis == "y" else ax.xaxis
    low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
    plain = FuncFormatter(lambda value, _: plain_number(value))
    target.set_major_formatter(plain)
    # Where fewer than two powers of ten are in view, the minor ticks must carry the labels; the
    # wider the range, the fewer of them (2, 3, 5; or 2, 5), or 0.4, 0.5, ..., 0.9 collide.
    powers_in_view = np.floor(np.log10(high)) - np.ceil(np.log10(low)) + 1 if low > 0 < high else 0
    ratio = high / low if low > 0 else np.inf
    digits = "25" if ratio >= 10 else "235" if ratio >= 3 else "123456789"
    leading = FuncFormatter(lambda value, _: plain_number(value) if plain_number(value).lstrip("0.-")[:1] in digits else "")
    target.set_minor_formatter(NullFormatter() if powers_in_view >= 2 else leading)


def ordered(methods) -> list[str]:
    """Methods in the book's fixed order, unknown ones after, alphabetically."""
    methods = list(dict.fromkeys(methods))
    known = [m for m in methods if m in METHOD_ORDER or _base_method(m) in METHOD_ORDER]
    rank = {m: (METHOD_ORDER.index(m if m in METHOD_ORDER else _base_method(m)), m not in METHOD_ORDER, m)
            for m in known}
    return sorted(known, key=rank.__getitem__) + sorted(m for m in methods if m not in rank)


def curves_with_bands(
    frame: pd.DataFrame,
    value: str = "loss",
    hue: str = "method",
    x: str = "step",
    ax: plt.Axes | None = None,
    log: bool = True,
    title: str | None = None,
    level: float = 0.95,
    styles: dict[str, str] | None = None,
    legend: bool = True,
) -> plt.Axes:
    """Mean of ``value`` over seeds against ``x``, one line per ``hue`` level, with a ``level`` band.

    On a linear axis the band is the normal-approximation CI of the mean. On a log axis a band
    symmetric in linear space would dip below zero or look lopsided, so it is multiplicative:
    the mean ×/÷ exp(z · standard error of log ``value``), symmetric on the axis drawn. Diverged
    runs are left out of the mean; the label says how many. ``legend=False`` leaves the legend to
    :func:`figure_legend`, one for the whole figure.
    """
    ax = ax or plt.subplots(figsize=(6.4, 4.2))[1]
    frame = frame[frame[value].notna() | frame["diverged"]]  # only the steps at which value was measured
    summary = mean_ci(frame, [hue, x], value, level)
    if log:
        summary = _log_space_band(frame, summary, [hue, x], value, level)
    _lines_with_bands(ax, frame, summary, "mean", hue, x, styles, lw=1.8, alpha=0.2)
    if log:
        ax.set_yscale("log")
        plain_log_ticks(ax)
    ax.set_xlabel(x)
    ax.set_ylabel(value.replace("_", " "))
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(fontsize="small", frameon=True)
    return ax


def _log_space_band(frame: pd.DataFrame, summary: pd.DataFrame, by: list[str], value: str,
                    level: float) -> pd.DataFrame:
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2)
    positive = frame[np.isfinite(frame[value]) & (frame[value] > 0)]
    log_values = positive.assign(_log=np.log(positive[value].astype(float)))
    spread = log_values.groupby(by, sort=True)["_log"].agg(["std", "count"]).reset_index()
    spread["factor"] = np.exp(z * spread["std"].fillna(0.0) / np.sqrt(spread["count"]))
    merged = summary.merge(spread[by + ["factor"]], on=by, how="left")
    merged["factor"] = merged["factor"].fillna(1.0)
    merged["lo"] = merged["mean"] / merged["factor"]
    merged["hi"] = merged["mean"] * merged["factor"]
    return merged.drop(columns="factor")


def figure_legend(fig: plt.Figure, ncol: int | None = None, title: str | None = None) -> None:
    """One legend for the whole figure, below the panels (never over data): every distinct label
    of every panel once, and the panels' own legends removed."""
    handles, labels = {}, []
    for ax in fig.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in handles and not label.startswith("_"):
                handles[label] = handle
                labels.append(label)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if not labels:
        return
    ncol = ncol or min(len(labels), 4)
    fig.legend([handles[label] for label in labels], labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=ncol, frameon=False, title=title)


def log_heatmap(table: pd.DataFrame, ax: plt.Axes, vmin: float, vmax: float, cap: float | None = None,
                cmap: str = "viridis_r", label: str = "", colorbar: bool = True, fmt: str = "d"):
    """A heatmap of positive counts (e.g. iterations) on a log colour scale, each cell annotated
    with its value; cells at or above ``cap`` (never reached) are grey and annotated "–"."""
    from matplotlib.colors import LogNorm

    values = table.astype(float)
    masked = values.where(values < cap) if cap is not None else values
    annotations = values.map(lambda v: "–" if (cap is not None and v >= cap) or not np.isfinite(v) else format(int(v), fmt))
    from matplotlib.ticker import FuncFormatter

    sns.heatmap(masked, annot=annotations, fmt="", cmap=cmap, norm=LogNorm(vmin=vmin, vmax=vmax), ax=ax,
                cbar=colorbar, cbar_kws={"label": label} if colorbar else None, linewidths=0.5,
                annot_kws={"fontsize": "small"})
    ax.set_facecolor("0.85")
    ax.grid(False)
    if colorbar:
        bar = ax.collections[0].colorbar
        plain = FuncFormatter(lambda value, _: f"{value:,.0f}")
        bar.ax.yaxis.set_major_formatter(plain)
        bar.ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if str(int(round(v)))[0] in "25" else ""))
    return ax


def grid_of_axes(n: int, ncols: int = 3, size: tuple[float, float] = (4.6, 3.4)):
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, min(n, ncols), figsize=(size[0] * min(n, ncols), size[1] * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def median_quantile_curves(
    frame: pd.DataFrame,
    value: str = "loss",
    hue: str = "method",
    x: str = "step",
    ax: plt.Axes | None = None,
    log: bool = True,
    title: str | None = None,
    band: tuple[float, float] = (0.25, 0.75),
    styles: dict[str, str] | None = None,
    ylabel: str | None = None,
    legend: bool = True,
) -> plt.Axes:
    """The typical problem: median of ``value`` over seeds against ``x``, one line per ``hue``
    level, with a quantile ``band`` (the middle half by default). On a log axis a mean with a
    symmetric band hides where most problems are; the median and quantiles do not. A diverged
    run counts as an infinite loss (it lifts the quantiles rather than leaving the sample).
    ``legend=False`` leaves the legend to :func:`figure_legend`, one for the whole figure.
    """
    ax = ax or plt.subplots(figsize=(6.4, 4.2))[1]
    frame = frame[frame[value].notna() | frame["diverged"]]  # only the steps at which value was measured
    values = frame[value].where(np.isfinite(frame[value]) & ~frame["diverged"], np.inf)
    grouped = values.groupby([frame[hue], frame[x]])
    summary = pd.DataFrame({
        "median": grouped.median(),
        "lo": grouped.quantile(band[0]),
        "hi": grouped.quantile(band[1]),
    }).reset_index().replace(np.inf, np.nan)
    _lines_with_bands(ax, frame, summary, "median", hue, x, styles, lw=1.6, alpha=0.15)
    if log:
        ax.set_yscale("log")
        plain_log_ticks(ax)
    ax.set_xlabel(x)
    ax.set_ylabel(ylabel if ylabel is not None else f"{value.replace('_', ' ')}: median, {band[0]:.0%}–{band[1]:.0%} quantiles")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(fontsize="small", frameon=True)
    return ax


def _lines_with_bands(ax: plt.Axes, frame: pd.DataFrame, summary: pd.DataFrame, center: str, hue: str, x: str,
                      styles: dict[str, str] | None, lw: float, alpha: float) -> None:
    """One line (``summary[center]``) and band (``lo``..``hi``) per ``hue`` level, in the book's
    colours; a level with runs that diverged by the last step says how many in its label."""
    colors = method_colors(list(summary[hue].unique()))
    last = frame[x].max()
    for name in ordered(summary[hue]):
        group = summary[summary[hue] == name]
        diverged = int(frame[(frame[hue] == name) & (frame[x] == last)]["diverged"].sum())
        runs = frame[frame[hue] == name]["seed"].nunique()
        label = f"{name}" + (f" ({diverged}/{runs} diverged)" if diverged else "")
        linestyle = (styles or {}).get(name, "-")
        ax.plot(group[x], group[center], color=colors[name], label=label, linestyle=linestyle, lw=lw)
        ax.fill_between(group[x], group["lo"], group["hi"], color=colors[name], alpha=alpha, lw=0)
