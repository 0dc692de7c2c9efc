"""Per-grid-point solver status codes, the result type of scalar theory and ``throw=``.

Every public theory function reports a :class:`Status` per point (a grid curve's ``status``
field, or :class:`Estimate`'s) or, with ``throw=True`` (the default), raises
:class:`SolverError` when some point FAILED (NOT_CONVERGED or INVALID).  DIVERGED is not a
failure: the value is ``inf`` because the truth is infinite.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import numpy as np


class Status(enum.IntEnum):
    """Outcome of a theory evaluation at one grid point.

    CONVERGED: the fixed point was found to tolerance (or the closed form applies); every
      value is finite.
    DIVERGED: the quantity is truly infinite (the ridgeless peak ``p = n``): risks are ``inf``.
    INVALID: the point lies outside the model's domain or outside the region where the
      theorem behind the formula holds (reported, never silently passed off as valid):
      values are NaN where the formula itself is undefined, and kept where it is defined
      but not backed by the theorem.
    NOT_CONVERGED: the solver hit its step limit, its quadrature error estimate exceeds
      the stated tolerance, or its inputs were not finite; values are NaN (or, for
      quadrature, the best estimate with its error) and must not be used.
    """

    CONVERGED = 0
    DIVERGED = 1
    INVALID = 2
    NOT_CONVERGED = 3


#: codes that make ``throw=True`` raise
FAILED = (Status.INVALID, Status.NOT_CONVERGED)


def status_names(codes) -> np.ndarray:
    """Vectorised code -> lower-case name (for CSV columns)."""
    names = np.array([s.name.lower() for s in Status])
    return names[np.asarray(codes, dtype=int)]


class SolverError(RuntimeError):
    """Raised (with ``throw=True``) when some grid points did not converge or are invalid."""


def raise_if_failed(status, where: str) -> None:
    """Raise :class:`SolverError` naming ``where`` if any code in ``status`` is a failure."""
    st = np.asarray(status).ravel()
    bad = np.isin(st, np.asarray(FAILED, dtype=st.dtype if st.size else int))
    if bad.any():
        counts = ", ".join(f"{int(np.sum(st == s))} {s.name.lower()}" for s in FAILED
                           if np.any(st == s))
        raise SolverError(f"{where}: {counts} point(s) (first flat index "
                          f"{int(np.flatnonzero(bad)[0])}); pass throw=False to get the status "
                          "per point")


def as_status(codes):
    """Scalars -> :class:`Status` member; arrays -> int32 arrays."""
    arr = np.asarray(codes)
    return Status(int(arr)) if arr.ndim == 0 else arr.astype(np.int32)


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A theory value with its status and an absolute error estimate.

    ``value``: a float or a NumPy array.  ``status``: a :class:`Status` (scalar) or an int32
    array of codes of ``value``'s shape.  ``error``: absolute error bound of ``value`` (0 for
    closed forms; the propagated ``quad`` error estimate for Fourier inversions).

    ``float(est)`` and ``np.asarray(est)`` give the value.
    """

    value: Any
    status: Any
    error: Any = 0.0

    @property
    def ok(self) -> bool:
        """True when no point failed (every status CONVERGED or DIVERGED)."""
        return not np.isin(np.asarray(self.status), FAILED).any()

    def __float__(self) -> float:
        return float(self.value)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.value, dtype=dtype)


def estimate(value, status, error=0.0, *, where: str, throw: bool) -> Estimate:
    """Build an :class:`Estimate` (scalars stay Python floats) and apply ``throw``."""
    est = Estimate(value=_plain(value), status=as_status(status), error=_plain(error))
    if throw:
        raise_if_failed(est.status, where)
    return est


def _plain(x):
    arr = np.asarray(x)
    if arr.dtype == object:
        return x
    return float(arr) if arr.ndim == 0 else arr
