"""Matplotlib helpers for paper-ready theory-vs-simulation figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

#: One style for every figure of the project.
STYLE = {
    "figure.dpi": 110, "savefig.dpi": 200, "font.size": 10, "axes.labelsize": 11,
    "axes.titlesize": 11, "legend.fontsize": 9, "xtick.labelsize": 9, "ytick.labelsize": 9,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.25, "lines.linewidth": 1.8, "errorbar.capsize": 2.5,
}
COLORS = ["#1f4e79", "#c0392b", "#27ae60", "#8e44ad", "#d68910", "#17a589", "#5d6d7e"]


def new_figure(ncols: int = 1, width: float = 4.8, height: float = 3.4):
    plt.rcParams.update(STYLE)
    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False,
                             constrained_layout=True)
    return fig, axes[0]


def theory_vs_mc(ax, x_theory, y_theory, x_mc, mean, stderr, *, color, label: str,
                 mc_label: str | None = None, marker: str = "o"):
    """A theory line with Monte Carlo markers and +-1 standard-error bars (or 2, see caller)."""
    ok = np.isfinite(y_theory)
    ax.plot(np.asarray(x_theory)[ok], np.asarray(y_theory)[ok], color=color, label=label, zorder=2)
    ax.errorbar(x_mc, mean, yerr=stderr, fmt=marker, ms=4, color=color, mfc="white", mew=1.3,
                elinewidth=1.1, label=mc_label, zorder=3)


def plain_ticks(axis, minor: bool = True) -> None:
    """Tick labels as plain numbers (``0.5``, ``200``) instead of powers of ten on a log
    ``axis`` (``ax.xaxis`` / ``ax.yaxis``); ``minor``: also hide the minor tick labels."""
    import matplotlib.ticker

    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    if minor:
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def mark_threshold(ax, x: float, label: str = r"$p = n$"):
    ax.axvline(x, color="0.35", ls="--", lw=1.0, zorder=1)
    ax.annotate(label, xy=(x, 0.0), xycoords=("data", "axes fraction"), xytext=(3, 4),
                textcoords="offset points", fontsize=9, color="0.25")


def close(fig):
    plt.close(fig)


def save_and_close(fig, path, parameters=None) -> None:
    """Save ``fig`` atomically with its JSON sidecar, then close it."""
    from ._io import save_figure

    save_figure(fig, path, parameters=parameters or {})
    plt.close(fig)
