"""Per-grid-point solver status codes."""

from __future__ import annotations

import enum

import numpy as np


class Status(enum.IntEnum):
    """Outcome of a theory evaluation at one grid point.

    CONVERGED: the fixed point was found to tolerance; every value is finite.
    DIVERGED: the quantity is truly infinite (the ridgeless peak ``p = n``): risks are ``inf``.
    INVALID: the point lies outside the model's domain (reported, never silently computed).
    NOT_CONVERGED: the solver hit its step limit; values are NaN and must not be used.
    """

    CONVERGED = 0
    DIVERGED = 1
    INVALID = 2
    NOT_CONVERGED = 3


def status_names(codes) -> np.ndarray:
    """Vectorised code -> lower-case name (for CSV columns)."""
    names = np.array([s.name.lower() for s in Status])
    return names[np.asarray(codes, dtype=int)]


class SolverError(RuntimeError):
    """Raised (with ``throw=True``) when some grid points did not converge."""
