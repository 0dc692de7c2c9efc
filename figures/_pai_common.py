"""Shared settings of the pruning-at-initialization figures (style, configuration, output)."""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

#: small configuration of docs/pruning_at_init.md (\"Reference simulation\")
SMALL = dict(n=20, d=1000, m=10, q=3.0, mu_norm=12.0, sigma_p=1.0, sigma_0=0.01)
TRAIN = dict(eta=0.02, steps=1500)

COLORS = {"sparse": "#1f5fa8", "dense": "#7f7f7f", "floor": "#c0392b", "p_min": "#1e8449",
          "p_max": "#d35400", "memorize": "#8e44ad", "noise": "#b03a2e"}

RC = {"font.size": 11, "axes.labelsize": 12, "axes.titlesize": 12, "legend.fontsize": 9.5,
      "xtick.labelsize": 10, "ytick.labelsize": 10, "axes.grid": True, "grid.alpha": 0.25,
      "lines.linewidth": 1.8, "savefig.dpi": 200}


def style():
    plt.rcParams.update(RC)


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("--outdir", default="out/pruning_at_init", help="output folder")
    ap.add_argument("--seed", type=int, default=0, help="master PRNG seed")
    ap.add_argument("--quick", action="store_true", help="smaller grid and fewer seeds")
    ap.add_argument("--C-q", type=float, default=1.0, dest="C_q",
                    help="constant of the benign threshold p_min (theory default 1)")
    ap.add_argument("--c", type=float, default=1.0, help="constant of the onset 1 - c/m")
    return ap


def outdir(path) -> Path:
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    return p
