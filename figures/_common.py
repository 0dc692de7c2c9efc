"""Shared argument handling for the figure scripts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# Running a script directly (python figures/x.py) from a source checkout: make the
# repository importable without an install.
_ROOT = Path(__file__).resolve().parents[1]
if str(_ROOT) not in sys.path and (_ROOT / "models").is_dir():
    sys.path.insert(0, str(_ROOT))

import numpy as np  # noqa: E402

from models import InputError  # noqa: E402
from models._config import cpu_scheduler_workaround, enable_x64  # noqa: E402


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise InputError(message)


def parser(description: str, outdir: str) -> argparse.ArgumentParser:
    p = Parser(description=description)
    p.add_argument("--outdir", default=outdir, help="where PNG, CSV and sidecars go")
    p.add_argument("--seed", type=int, default=0, help="PRNG seed")
    return p


def run_main(main) -> None:
    """Run a figure script as a program: like the command line, it owns its process, so it
    turns JAX's 64-bit mode on and applies the CPU workaround first (``models._config``)."""
    cpu_scheduler_workaround()
    enable_x64()
    try:
        sys.exit(main())
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


def split_at(x, y, at):
    """Insert a NaN between ``x < at`` and ``x > at`` (non-finite ``y`` become NaN too) so
    that a line is not drawn across a divergence such as the interpolation peak ``p = n``."""
    x = np.asarray(x, float)
    y = np.asarray(y, float).copy()
    y[~np.isfinite(y)] = np.nan
    cut = np.searchsorted(x, at)
    return np.insert(x, cut, np.nan), np.insert(y, cut, np.nan)


def need(flag: str, value, ok: bool, allowed: str) -> None:
    """Refuse a figure flag (one line naming it and the allowed range) unless ``ok``."""
    if not ok:
        raise InputError(f"--{flag}: got {value}; allowed: {allowed}")
