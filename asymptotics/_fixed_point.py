"""Effective regularisation ``kappa`` of min-norm / ridge least squares.

Mathematics: ``docs/linear.md`` section 2 (Chang et al., AAAI 2021, arXiv:2012.08749; the
deterministic equivalent of Hastie, Montanari, Rosset, Tibshirani 2019, Sec. 5):

    kappa - lambda_r = (kappa / n) * sum_i c_i lambda_i / (lambda_i + kappa),

with feature multiplicities ``c_i`` (``c_i = 1{i <= p}`` for a pool, ``psi n w_a`` for a
weighted law).  In ``u = 1/kappa`` this reads ``h(u) = 0`` with

    h(u)  = (1/n) sum_i c_i lambda_i u / (lambda_i u + 1) + lambda_r u - 1,
    h'(u) = (1/n) sum_i c_i lambda_i / (lambda_i u + 1)^2 + lambda_r,

``h(0) = -1``, ``h`` increasing and concave, so Newton's method started at any ``u0`` with
``h(u0) <= 0`` climbs monotonically to the root without overshoot (3-20 steps from ``u0 = 0``
even at ``n/p = 0.9995``, where the plain fixed-point iteration needs ~40,000).

Start.  Instead of ``u0 = 0`` the solver starts from a closed-form lower bound on the root:
with ``S(u) = sum_i c_i / (lambda_i u + 1)`` (so ``h = (P - S)/n + lambda_r u - 1``,
``P = sum_i c_i``), dropping any set ``A`` of atoms (``P_A = sum_{i in A} c_i``) and
applying Jensen's inequality to the convex ``x -> 1/(x + 1)`` over the rest gives
``S(u) >= (P - P_A) / (u L_A + 1)``, ``L_A`` the ``c``-weighted mean of ``lambda`` outside
``A``; hence ``h(u) <= g_A(u)`` and the root ``u_A`` of the increasing ``g_A`` (a quadratic)
satisfies ``h(u_A) <= 0``.  The prefix (pool) solver takes the best of ``A = {first k
features}`` for ``k = n - ceil(n / 2^j)``, ``j = 0..21`` (cheap with a cumulative sum of
``lambda``); the weighted solver uses ``A`` empty.  The start is the bound times
``1 - 1e-6`` (a margin against rounding in the sums).

Each Newton step evaluates ``h`` and ``h'`` in one fused pass over the atoms (one division
per atom).  For a pool the mask ``1{i <= p}`` is built inside that pass from the scalar ``p``
(:func:`effective_regularization_prefix`), so a vmapped grid never materialises a
``(points, D)`` mask.  The loop is a hand-written Newton iteration in ``lax.while_loop``
wrapped in ``jax.lax.custom_root``: derivatives with respect to every continuous input come
from the implicit function theorem (``du/dtheta = -(dh/dtheta) / h'(u)``), not from unrolling
the iterations.  Stopping rule: ``|u_{k+1} - u_k| <= ATOL + RTOL |u_{k+1}|``, or a step
that stops shrinking near the root (the rounding floor of the sums; :func:`_newton`).

Ridgeless (``lambda_r = 0``) with ``sum_i c_i <= n``: there is no root (``kappa = 0``,
ordinary least squares); those points take no Newton step.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from ._status import Status

#: Newton tolerances (relative and absolute) in u = 1/kappa.  No absolute tolerance: u spans
#: 1e-11 .. 1e11 over valid problems, and an absolute 1e-12 stopped kappa = 8e8 at a relative
#: error of 1.3e-8 (found by tests/test_properties.py: kappa must scale with the spectrum).
RTOL = 1e-12
ATOL = 0.0
MAX_STEPS = 256
#: ``k = n - ceil(n / 2^j)`` for ``j < _SPLITS`` in the prefix lower bound.
_SPLITS = 22
#: The start is ``(1 - _MARGIN)`` times the bound: rounding in the cumulative sums must not
#: push it above the root (the bound is exact for equal eigenvalues), so that the iteration
#: stays monotone; from 1e-6 below the root Newton needs two more steps.
_MARGIN = 1e-6


class FixedPoint(NamedTuple):
    kappa: jax.Array
    status: jax.Array  # Status code (int32)
    steps: jax.Array


def _h(u, args):
    """Residual ``h(u)`` for multiplicities ``count`` (kept for reference and tests)."""
    lam, count, n, ridge = args
    return jnp.sum(count * lam * u / (lam * u + 1.0)) / n + ridge * u - 1.0


def fused_sums(*terms):
    """``tuple(jnp.sum(t) for t in terms)`` as ONE variadic reduction (XLA then evaluates
    the elementwise producers in a single fused pass; separate ``jnp.sum`` calls are not
    fused together on CPU and materialise the intermediates: ~10x slower under ``vmap``)."""
    zero = tuple(jnp.zeros((), t.dtype) for t in terms)
    axes = tuple(range(terms[0].ndim))
    return lax.reduce(tuple(terms), zero,
                      lambda x, y: tuple(a + b for a, b in zip(x, y)), axes)


def _sums(lam, weight, u):
    """``sum weight * (lam u r, lam r^2)`` with ``r = 1/(lam u + 1)``, in one pass
    (``n (h + 1 - lambda_r u)`` and ``n (h' - lambda_r)``).

    ``weight`` is either an array of multiplicities or a boolean mask; a mask is applied to
    ``lambda`` itself (a zero eigenvalue contributes exactly 0 to both sums)."""
    if weight.dtype == jnp.bool_:
        lam = jnp.where(weight, lam, jnp.zeros_like(lam))
        t = lam * u
        r = 1.0 / (t + 1.0)
        return fused_sums(t * r, lam * r * r)
    t = lam * u
    r = 1.0 / (t + 1.0)
    return fused_sums(weight * t * r, weight * lam * r * r)


def _residual(sums, u, n, ridge):
    """``(h, h')`` from :func:`_sums`."""
    a, b = sums
    return a / n + ridge * u - 1.0, b / n + ridge


def _bound_root(P, PA, LA, n, ridge):
    """Root ``u`` of ``g(u) = (P - (P - PA)/(u LA + 1))/n + ridge u - 1`` (0 if none).

    ``g`` is an upper bound of ``h`` (module docstring), so ``h(root) <= 0``.  Multiplying out:
    ``A u^2 + B u - C = 0`` with ``A = n ridge LA``, ``B = n ridge + (P - n) LA``,
    ``C = n - PA``."""
    A = n * ridge * LA
    B = n * ridge + (P - n) * LA
    C = n - PA
    disc = jnp.sqrt(jnp.maximum(B * B + 4.0 * A * C, 0.0))
    pos = B > 0
    u = jnp.where(pos, 2.0 * C / jnp.where(pos, B + disc, 1.0),
                  (disc - B) / jnp.where(A > 0, 2.0 * A, 1.0))
    ok = (C > 0) & (P > PA) & (LA > 0) & (pos | (A > 0)) & jnp.isfinite(u) & (u > 0)
    return jnp.where(ok, (1.0 - _MARGIN) * u, 0.0)


def _newton(h_dh, u0, start_done, max_steps: int):
    """Monotone Newton iteration ``u <- u - h/h'`` from ``u0 <= root`` (pure; vmappable).

    ``h_dh(u) -> (h, h')``.  Stops when the step ``du`` is below ``tol = ATOL + RTOL |u|``,
    or earlier when the remaining error provably is: from below on the concave ``h``, whose
    ``|h''|`` decreases in ``u`` and satisfies ``|h''(u)| u <= 2 h'(u)`` (as
    ``lambda u / (lambda u + 1) < 1``), Taylor's theorem gives
    ``root - u_new <= |h''(u)| du^2 / (2 h'(root)) <= 2 du^2 / u_new`` once
    ``|du| <= 1e-2 u`` (then ``h'(root) >= h'(u)/2``).  So ``2 du^2 <= RTOL u_new^2`` also
    stops: this saves the confirming step.  Returns ``(u, steps, converged)``; lanes with
    ``start_done`` take no step.

    Rounding floor.  By the same bound, once ``|du| <= 1e-2 u`` the next exact step is at
    most ``root - u_new <= 2 |du| / u <= 2e-2`` times this one; a step that does NOT shrink
    there is made of rounding in the sums of ``h``.  Then ``u`` is as accurate as the float64
    sums allow, and the point is converged.  (Found by ``tests/test_properties.py``: 100
    features of variance 1e8 and 2900 of 1e-8, ridgeless at n = 100, ``h'(u) u = 1e-7``; the
    summed ``h`` carries a rounding error of 3e-13, kappa is known to ~2e-6 relative, and
    Newton oscillated at that level for ``MAX_STEPS`` steps: NOT_CONVERGED, NaN.)"""

    def cond(s):
        _, step, done, _, _ = s
        return (~done) & (step < max_steps)

    def body(s):
        u, step, _, _, prev = s
        h, dh = h_dh(u)
        du = -h / dh
        u_new = u + du
        tol = ATOL + RTOL * jnp.abs(u_new)
        adu = jnp.abs(du)
        near = adu <= 1e-2 * jnp.abs(u_new)
        early = near & (2.0 * adu * adu <= RTOL * u_new * u_new)
        floor = near & (adu >= prev)
        conv = (adu <= tol) | early | floor
        bad = ~jnp.isfinite(u_new)
        return u_new, step + 1, conv | bad, conv & ~bad, adu

    init = (u0, jnp.zeros((), jnp.int32), start_done, start_done, jnp.full_like(u0, jnp.inf))
    u, steps, _, conv, _ = lax.while_loop(cond, body, init)
    return u, steps, conv


def _solve(h_dh, u0, no_root, max_steps: int | None) -> FixedPoint:
    """Newton in ``lax.custom_root`` (implicit derivatives) and the status bookkeeping."""
    max_steps = MAX_STEPS if max_steps is None else max_steps

    def f(u):
        return h_dh(u)[0]

    def solve(_, guess):
        u, steps, conv = _newton(h_dh, guess, no_root, max_steps)
        # aux as floats: custom_root (jax 0.10) gives integer/bool aux non-float0 tangents
        return u, (steps.astype(u.dtype), conv.astype(u.dtype))

    def tangent_solve(g, y):  # scalar root: the Jacobian is g(1)
        return y / g(jnp.ones_like(y))

    u, (steps, conv) = lax.custom_root(f, lax.stop_gradient(u0), solve, tangent_solve,
                                       has_aux=True)
    steps, conv = steps.astype(jnp.int32), conv > 0
    ok = conv & jnp.isfinite(u) & (u > 0)
    kappa = jnp.where(no_root, jnp.zeros_like(u), 1.0 / jnp.where(ok, u, 1.0))
    status = jnp.where(no_root | ok, Status.CONVERGED, Status.NOT_CONVERGED).astype(jnp.int32)
    kappa = jnp.where(status == Status.CONVERGED, kappa, jnp.nan)
    return FixedPoint(kappa=kappa, status=status, steps=steps)


def effective_regularization(lam, count, n, ridge, *, max_steps: int | None = None) -> FixedPoint:
    """Solve for ``kappa`` at one grid point (pure; ``vmap`` it over a grid).

    Args:
      lam: ``(K,)`` eigenvalues ``lambda_i > 0``.
      count: ``(K,)`` multiplicities ``c_i >= 0`` (a 0/1 mask for a feature pool; for the
        first ``p`` features of a pool :func:`effective_regularization_prefix` is faster).
      n: sample size (may be a traced float).
      ridge: ``lambda_r >= 0``.
      max_steps: Newton step limit (default :data:`MAX_STEPS`).

    Returns:
      :class:`FixedPoint` with ``kappa`` (0 for ridgeless OLS), a status code and the number
      of Newton steps.
    """
    lam = jnp.asarray(lam)
    dtype = lam.dtype
    count = jnp.asarray(count, dtype)
    n = jnp.asarray(n, dtype)
    ridge = jnp.asarray(ridge, dtype)
    P = jnp.sum(count)
    no_root = (ridge <= 0) & (P <= n)
    mean_lam = jnp.sum(count * lam) / jnp.where(P > 0, P, 1.0)
    u0 = jnp.where(no_root, 0.0, _bound_root(P, jnp.zeros_like(P), mean_lam, n, ridge))

    def h_dh(u):
        return _residual(_sums(lam, count, u), u, n, ridge)

    return _solve(h_dh, u0, no_root, max_steps)


def prefix_start(csum, p, n, ridge):
    """Lower bound ``u0 <= 1/kappa`` for the first ``p`` pool features (``h(u0) <= 0``).

    ``csum``: ``(K + 1,)`` cumulative sums of ``lambda`` with a leading 0 (so that
    ``csum[p] = sum_{i <= p} lambda_i``).  Best of the bounds with the first
    ``k = n - ceil(n / 2^j)`` features dropped (module docstring)."""
    dtype = csum.dtype
    pf = jnp.asarray(p, dtype)
    j = jnp.arange(_SPLITS, dtype=dtype)
    k = jnp.clip(n - jnp.ceil(n / 2.0**j), 0.0, jnp.maximum(pf - 1.0, 0.0))
    k = jnp.floor(k)
    ki = k.astype(jnp.int32)
    pi = jnp.asarray(p, jnp.int32)
    rest = csum[pi] - csum[ki]
    LA = rest / jnp.maximum(pf - k, 1.0)
    return jnp.max(_bound_root(pf, k, LA, n, ridge))


def effective_regularization_prefix(lam, p, n, ridge, *, csum=None, u_start=None,
                                    max_steps: int | None = None) -> FixedPoint:
    """:func:`effective_regularization` for ``count = 1{i < p}`` (the first ``p`` features).

    The mask is built inside the fused residual from the scalar ``p`` (may be traced), so
    under ``vmap`` over ``p`` no ``(points, K)`` array is ever formed.  ``csum`` (optional):
    ``concatenate([0], cumsum(lam))``, passed in to share it across calls.  ``u_start``
    (optional): a known lower bound of ``1/kappa`` (e.g. a Newton iterate); the start is the
    larger of it and the closed-form bound.
    """
    lam = jnp.asarray(lam)
    dtype = lam.dtype
    n = jnp.asarray(n, dtype)
    ridge = jnp.asarray(ridge, dtype)
    if csum is None:
        csum = jnp.concatenate([jnp.zeros((1,), dtype), jnp.cumsum(lam)])
    K = lam.shape[0]
    pf = jnp.minimum(jnp.asarray(p, dtype), K)
    no_root = (ridge <= 0) & (pf <= n)
    u0 = jnp.where(no_root, 0.0, prefix_start(csum, jnp.minimum(p, K), n, ridge))
    if u_start is not None:
        u0 = jnp.where(no_root | ~jnp.isfinite(u_start), u0, jnp.maximum(u0, u_start))
    mask_idx = jnp.arange(K)

    def h_dh(u):
        # The barrier ties ``p`` to the loop-variant ``u``: otherwise XLA hoists the
        # loop-invariant mask out of the Newton loop and materialises it (points x K).
        u, pp = lax.optimization_barrier((u, p))
        return _residual(_sums(lam, mask_idx < pp, u), u, n, ridge)

    return _solve(h_dh, u0, no_root, max_steps)
