"""Magnitude-pruning threshold: a bracketed Newton iteration on a monotone excess.

Mathematics: ``docs/linear.md`` section 4.  The fit's coordinates are independent
``Z_i ~ N(m_i, v_i^2)``; magnitude pruning keeps ``|Z_i| >= c`` with ``c`` solving

    S(c) = sum_i count_i P(|Z_i| >= c) = s,   P(|Z| >= c) = Phi((m - c)/v) + Phi((-c - m)/v).

``S`` is continuous and strictly decreasing on ``c > 0`` (``S'(c) = -sum_i count_i
[phi((c - m_i)/v_i) + phi((c + m_i)/v_i)] / v_i < 0``) from ``S(0) = P = sum_i count_i`` to
``S(inf) = 0``, so for ``s < P`` the root is unique.  The solver works in ``t = log c`` on

    g(t) = log(S(e^t) / s),     g'(t) = c S'(c) / S(c)

(``g`` has the sign of the excess ``S/s - 1``; the logarithm keeps the far right well
scaled, where ``S/s - 1`` flattens at -1).

Bracket (proved, one fused pass over the features):

* upper, by Chebyshev: ``P(|Z_i| >= c) <= E Z_i^2 / c^2 = (m_i^2 + v_i^2) / c^2``, so
  ``c_hi = sqrt(sum_i count_i (m_i^2 + v_i^2) / s)`` gives ``S(c_hi) <= s``;
* lower, by the density bound ``phi <= 1/sqrt(2 pi)``: ``P(|Z_i| < c) <= 2 c / (v_i sqrt(2 pi))``,
  so ``S(c) >= P - c sqrt(2/pi) sum_i count_i / v_i`` and
  ``c_lo = (P - s) / (sqrt(2/pi) sum_i count_i / v_i)`` gives ``S(c_lo) >= s``.

Iteration (safeguarded Newton).  Start at ``c0 = v_rms Phi^{-1}(1 - s / (2P))``, the threshold
for ``P`` centred Gaussians of the mean second moment ``v_rms^2 = sum_i count_i (m_i^2 +
v_i^2) / P`` (clipped into the bracket).  Each step evaluates ``g`` and ``g'`` in one fused
pass, shrinks the bracket with the sign of ``g`` (so it always holds the root), and takes
the Newton step ``t - g/g'`` if it lands strictly inside the bracket, else the midpoint.
Convergence: the Newton correction ``|g/g'|`` is below :data:`TOL_T` (1e-12: ``c`` is then
known to ~1e-12 relative; near the root the next error is quadratic), or the bracket is
narrower than :data:`TOL_T`; and the kept count matches ``s`` to :data:`TOL_COUNT` relative
(a float64 sum of thousands of probabilities matches ``s`` to ~1e-13 relatively, not
absolutely).  The loop is capped at :data:`MAX_STEPS` steps; a lane past the cap, or with
non-finite inputs (a NaN fixed point, say), is NOT_CONVERGED with ``c = NaN`` -- other
lanes of a ``vmap`` are unaffected.  Measured: 4-6 Newton steps, i.e. 5-7 passes over the
features per point (the bracket pass included; mean 4.5-4.9 steps), on E1 (keep 1..199), E2
(p = 41..1200, ridge 0 and 0.1) and a power-law pool of 1000 (p = 25..1000); the former
bisection took ~40.  The slow case is an extreme keep on a steep spectrum (saliency, keep 1,
power law a = 1.5: 9-17 steps), where the single-Gaussian start is far off and the safeguard
bisects first.

``s >= P`` (keep everything) is decided outside the solve: ``c = 0``, status CONVERGED, no
step taken.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import ndtri

import models

from ._fixed_point import fused_sums
from ._normal import ndtr
from ._status import Status, raise_if_failed

#: Newton tolerance in ``t = log c`` (relative tolerance in ``c``).
TOL_T = 1e-12
#: Relative mismatch of the kept count ``S(c)`` and ``s`` accepted at convergence.
TOL_COUNT = 1e-10
#: Step cap of the safeguarded Newton loop (the bracket alone would need ~45 bisections to
#: TOL_T, ~55 to float64 resolution: nearly deterministic coordinates took 25-52 steps).
MAX_STEPS = 128

_SQRT_2_OVER_PI = 0.7978845608028654


class Threshold(NamedTuple):
    """Result of :func:`magnitude_threshold` (JAX arrays of the batch shape)."""

    value: jax.Array   # c >= 0 (0 when everything is kept; NaN unless CONVERGED)
    status: jax.Array  # Status code (int32)
    steps: jax.Array   # Newton/bisection steps taken (passes over the features = steps + 1)


def _phi(z):
    return jnp.exp(-0.5 * z * z) * 0.3989422804014327


def tail_prob(m, v, c):
    """``P(|Z| >= c)`` for ``Z ~ N(m, v^2)``."""
    return ndtr((m - c) / v) + ndtr((-c - m) / v)


def _g_dg(m, v, count, s, t):
    """``(g(t), g'(t))`` in one fused pass (module docstring)."""
    c = jnp.exp(t)
    a, b = (c - m) / v, (c + m) / v
    S, dS = fused_sums(count * (ndtr(-a) + ndtr(-b)), count * (_phi(a) + _phi(b)) / v)
    return jnp.log(S / s), -c * dS / S, S


def _solve(m, v, count, s, max_steps, t_init=None):
    """The safeguarded Newton of the module docstring; ``t_init`` (optional, traced): a
    start in ``t = log c`` used instead of the single-Gaussian one where it is finite
    (clipped into the bracket), e.g. a nearby point's root."""
    dt = m.dtype
    P = jnp.sum(count)
    second, inv_v = fused_sums(count * (m * m + v * v), count / v)
    everything = s >= P
    t_hi = 0.5 * jnp.log(second / s)
    t_lo = jnp.log((P - s) / (_SQRT_2_OVER_PI * inv_v))
    q = jnp.clip(1.0 - 0.5 * s / P, 0.5, 1.0 - 1e-16)
    t0 = jnp.log(jnp.sqrt(second / P) * ndtri(q))
    if t_init is not None:
        t0 = jnp.where(jnp.isfinite(t_init), t_init, t0)
    t0 = jnp.clip(t0, t_lo, t_hi)
    finite = jnp.isfinite(t_lo) & jnp.isfinite(t_hi) & jnp.isfinite(t0) & (t_lo <= t_hi)
    start_done = everything | ~finite

    def cond(st):
        return (~st[4]) & (st[3] < max_steps)

    def body(st):
        t, lo, hi, k, _, _ = st
        g, dg, S = _g_dg(m, v, count, s, t)
        ok = jnp.isfinite(g) & jnp.isfinite(dg) & (dg < 0)
        # shrink the bracket with the sign of g (g > 0: root to the right)
        lo = jnp.where(jnp.isfinite(g) & (g >= 0), t, lo)
        hi = jnp.where(jnp.isfinite(g) & (g <= 0) | (S == 0), t, hi)
        step = jnp.where(ok, -g / jnp.where(ok, dg, -1.0), 0.0)
        newton = t + step
        inside = ok & (newton > lo) & (newton < hi)
        t_new = jnp.where(inside, newton, 0.5 * (lo + hi))
        count_ok = jnp.abs(S / s - 1.0) <= TOL_COUNT
        # The bracket at float64 resolution (of t, and of c = e^t): nothing left to refine.
        # When some coordinates are nearly deterministic (v_i ~ 4e-9 m_i) S jumps by more than
        # TOL_COUNT between adjacent floats (found by tests/test_properties.py: S = 1 -+ 2e-10
        # for s = 1, and the loop ran into MAX_STEPS: NOT_CONVERGED for a valid problem).
        resolved = hi - lo <= 4.0 * jnp.finfo(dt).eps * jnp.maximum(
            1.0, jnp.maximum(jnp.abs(lo), jnp.abs(hi)))
        conv = (((ok & (jnp.abs(step) <= TOL_T)) | (hi - lo <= TOL_T)) & count_ok) | resolved
        # converged at t (the Newton correction is below tolerance): keep t itself
        t_out = jnp.where(conv, jnp.where(ok & inside, newton, t), t_new)
        return t_out, lo, hi, k + 1, conv, conv

    init = (jnp.where(start_done, 0.0, t0).astype(dt), t_lo, t_hi, jnp.zeros((), jnp.int32),
            start_done, jnp.zeros((), bool))
    t, _, _, steps, _, conv = lax.while_loop(cond, body, init)
    c = jnp.where(everything, 0.0, jnp.where(conv, jnp.exp(t), jnp.nan))
    status = jnp.where(everything | conv, Status.CONVERGED, Status.NOT_CONVERGED).astype(jnp.int32)
    return Threshold(c.astype(dt), status, steps)


def magnitude_threshold(m, v, count, s, *, max_steps: int | None = None,
                        throw: bool = True) -> Threshold:
    """``c`` with ``sum_i count_i P(|Z_i| >= c) = s``, ``Z_i ~ N(m_i, v_i^2)`` (pure).

    Safeguarded Newton in ``t = log c`` inside the proved bracket
    ``[(P - s) / (sqrt(2/pi) sum_i count_i / v_i),  sqrt(sum_i count_i (m_i^2 + v_i^2) / s)]``
    (module docstring for the derivation and the stopping rule); 5-7 passes over the
    features per point typically.  ``s >= sum(count)`` gives ``c = 0`` (nothing pruned) without a solve.

    Args:
      m, v: ``(K,)`` means and standard deviations (``v > 0``) of the coordinates.
      count: ``(K,)`` multiplicities (a 0/1 mask for the first ``p`` features of a pool).
      s: the expected number of kept coordinates, ``0 < s``.
      max_steps: step cap (default :data:`MAX_STEPS`).
      throw: raise :class:`SolverError` when the status is not CONVERGED.  Exceptions cannot
        leave traced code: under ``jit``/``vmap`` pass ``throw=False`` and read ``status``.

    Returns:
      :class:`Threshold` ``(value, status, steps)``; ``value`` is NaN where the status is
      NOT_CONVERGED (step cap reached, or non-finite inputs).

    Example:
      >>> m = jnp.r_[jnp.full(10, 0.5 / 10**0.5), jnp.zeros(190)]; v = jnp.full(200, 0.05)
      >>> round(float(asy.magnitude_threshold(m, v, jnp.ones(200), 10.0).value), 6)   # E1
      0.124103
    """
    models.require_x64("magnitude_threshold")
    m, v = jnp.asarray(m), jnp.asarray(v)
    dt = jnp.result_type(m, v, jnp.float64)
    m, v = m.astype(dt), v.astype(dt)
    count = jnp.asarray(count, dt)
    s = jnp.asarray(s, dt)
    res = _solve(m, v, count, s, MAX_STEPS if max_steps is None else max_steps)
    if throw:
        if isinstance(res.status, jax.core.Tracer):
            raise models.InputError("throw: True inside jit/vmap cannot raise; allowed: "
                                    "throw=False under a transformation (read .status)")
        raise_if_failed(res.status, "magnitude_threshold")
    return res
