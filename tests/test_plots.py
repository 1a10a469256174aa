"""The house style's figure helpers: log-space bands, one legend per figure, plain tick labels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from optbook import plots  # noqa: E402


def _runs(values):
    """One method, one step, a run per value."""
    return pd.DataFrame({"method": "A", "seed": range(len(values)), "step": 0, "loss": values,
                         "diverged": False})


def test_band_on_a_log_axis_is_multiplicative_around_the_mean():
    frame = _runs([0.1, 1.0, 10.0, 100.0])
    ax = plots.curves_with_bands(frame, log=True, legend=False)
    mean = ax.get_lines()[0].get_ydata()[0]
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    low, high = band.min(), band.max()
    assert low > 0  # a symmetric band would reach far below zero here
    assert np.isclose(np.log(mean) - np.log(low), np.log(high) - np.log(mean))  # symmetric on the log axis
    plt.close("all")


def test_figure_legend_replaces_the_panels_legends_with_one():
    fig, axes = plt.subplots(1, 2)
    for ax in axes:
        ax.plot([0, 1], [0, 1], label="SGD")
        ax.plot([0, 1], [1, 0], label="Adam")
        ax.legend()
    plots.figure_legend(fig)
    assert all(ax.get_legend() is None for ax in axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["SGD", "Adam"]
    plt.close(fig)


def test_log_ticks_read_as_plain_numbers():
    assert [plots.plain_number(v) for v in (0.5, 2.0, 1e-6, 3000.0)] == ["0.5", "2", "1e-6", "3000"]


def test_long_titles_wrap_instead_of_running_off_the_figure():
    fig = plt.figure(figsize=(6, 4))
    plots.suptitle(fig, "A rather long description of what the figure shows, in words", "cpu", data="MNIST-5k")
    assert "\n" in fig._suptitle.get_text()
    plots.suptitle(fig, "Short", "cpu")
    assert fig._suptitle.get_text() == "Short · scale=cpu"
    plt.close(fig)


def _minor_labels(low, high):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [low, high])
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    plots.plain_log_ticks(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.yaxis.get_minorticklabels() if t.get_text() and low <= t.get_position()[1] <= high]
    plt.close(fig)
    return labels


def test_log_ticks_label_minor_ticks_only_where_too_few_powers_of_ten_are_in_view():
    assert _minor_labels(0.01, 10) == []  # 0.01, 0.1, 1 and 10 carry the axis
    assert _minor_labels(0.15, 1.3) == ["0.2", "0.3", "0.5"]  # one power of ten in view: 2, 3, 5 only
    assert _minor_labels(0.15, 6) == ["0.2", "0.5", "2", "5"]  # wider: 2 and 5
    assert _minor_labels(0.35, 0.95) == ["0.4", "0.5", "0.6", "0.7", "0.8", "0.9"]  # narrow: every one
