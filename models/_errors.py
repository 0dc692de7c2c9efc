"""Input validation: clear messages naming the argument and its allowed range.

Every public entry point validates its inputs eagerly, on the host, before anything is traced
or compiled.  A failure raises :class:`InputError` (a ``ValueError``) whose message is one
line: ``<argument>: <what is wrong>; allowed: <range>``.
"""

from __future__ import annotations

import numpy as np


class InputError(ValueError):
    """Invalid user input; the message names the argument and the allowed range."""


def _fail(name: str, problem: str, allowed: str) -> None:
    raise InputError(f"{name}: {problem}; allowed: {allowed}")


def as_finite_array(name: str, value, *, ndim: int | None = None) -> np.ndarray:
    """Convert to a float64 NumPy array and check every entry is finite."""
    if np.iscomplexobj(value):  # float64 conversion would drop the imaginary part silently
        _fail(name, f"has complex values (dtype {np.asarray(value).dtype})", "finite real numbers")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(name, f"cannot be read as numbers ({value!r})", "finite real numbers")
    if ndim is not None and arr.ndim != ndim:
        _fail(name, f"has {arr.ndim} dimensions", f"a {ndim}-dimensional array")
    if not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr.ravel()))
        _fail(name, f"{bad.size} non-finite entries (first at flat index {bad[0]})",
              "finite real numbers")
    return arr


def check_positive(name: str, value, *, strict: bool = True) -> np.ndarray:
    """Finite and > 0 (``strict``) or >= 0."""
    arr = as_finite_array(name, value)
    bad = arr <= 0 if strict else arr < 0
    if np.any(bad):
        first = float(arr.ravel()[np.flatnonzero(bad.ravel())[0]])
        _fail(name, f"got {first!r}", "finite values > 0" if strict else "finite values >= 0")
    return arr


def check_int_range(name: str, value, lo: int, hi: int | None = None) -> np.ndarray:
    """Integers in [lo, hi] (hi inclusive; None for unbounded)."""
    arr = as_finite_array(name, value)
    if np.any(arr != np.round(arr)):
        _fail(name, f"got non-integer value {float(arr.ravel()[np.flatnonzero(arr.ravel() != np.round(arr.ravel()))[0]])!r}",
              f"integers in [{lo}, {'inf' if hi is None else hi}]")
    arr = arr.astype(np.int64)
    if np.any(arr < lo) or (hi is not None and np.any(arr > hi)):
        bad = arr[(arr < lo) | ((arr > hi) if hi is not None else False)].ravel()[0]
        _fail(name, f"got {int(bad)}", f"integers in [{lo}, {'inf' if hi is None else hi}]")
    return arr


def check_choice(name: str, value: str, choices) -> str:
    if value not in choices:
        _fail(name, f"unknown value {value!r}", "one of " + ", ".join(map(repr, choices)))
    return value
