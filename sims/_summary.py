"""One summary of Monte Carlo trials: mean, standard error, median and the trial counts.

Every simulation result reduces its trial axis with :func:`summarize`, so that mean, standard
error and count always describe the same trials: non-finite trials (a fit that overflowed, a
singular system) are left out of all three and counted separately in ``nonfinite``, never
silently folded into a NaN mean.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np


class TrialSummary(NamedTuple):
    """Per-point statistics over the trailing trial axis (NumPy arrays of the grid's shape).

    ``mean`` and ``median`` of the finite trials (NaN where none is finite); ``stderr`` the
    standard error of that mean, ``std(ddof=1) / sqrt(finite)`` (``inf`` with fewer than two
    finite trials); ``finite`` and ``nonfinite`` the trial counts."""

    mean: np.ndarray
    stderr: np.ndarray
    median: np.ndarray
    finite: np.ndarray
    nonfinite: np.ndarray


def summarize(trials: np.ndarray, axis: int = -1) -> TrialSummary:
    """:class:`TrialSummary` of ``trials`` over ``axis`` (finite trials only)."""
    x = np.moveaxis(np.asarray(trials, dtype=np.float64), axis, -1)
    ok = np.isfinite(x)
    finite = ok.sum(-1)
    nonfinite = x.shape[-1] - finite
    xs = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite > 0, xs.sum(-1) / np.maximum(finite, 1), np.nan)
        dev2 = np.where(ok, (x - mean[..., None]) ** 2, 0.0).sum(-1)
        var = dev2 / np.maximum(finite - 1, 1)
        stderr = np.where(finite > 1, np.sqrt(var / np.maximum(finite, 1)), np.inf)
    if ok.all():
        median = np.median(x, axis=-1)
    else:
        with warnings.catch_warnings():   # an all-NaN slice is reported by finite == 0
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(np.where(ok, x, np.nan), axis=-1)
    return TrialSummary(mean=mean, stderr=stderr, median=np.asarray(median, np.float64),
                        finite=finite.astype(np.int64), nonfinite=nonfinite.astype(np.int64))
