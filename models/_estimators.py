"""Least-squares estimators on padded, masked designs (pure, jit/vmap friendly).

Shapes are fixed by padding so that one compiled function serves a whole grid of model sizes
``p`` and sample sizes ``n``: rows ``>= n`` and columns ``>= p`` are masked out and get a unit
diagonal, which leaves the solution on the live block unchanged and zero elsewhere.  Every
matmul passes ``precision=HIGHEST`` (no TF32 on GPUs).  Objective of the ridge fits:
``(1/n) ||y - X b||^2 + lambda_r ||b||^2`` (``docs/linear.md`` section 1).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._config import MATMUL_PRECISION as _HI


def ridge_primal(x, y, p, n, ridge, width: int):
    """Ridge / OLS in the primal: ``(X^T X / n + lambda_r I) b = X^T y / n`` on the first ``p``
    columns (``width >= p`` static) and ``n`` rows; OLS at ``lambda_r = 0`` (needs ``p < n``).
    Returns a vector of length ``x.shape[1]`` (zero beyond ``p``)."""
    xs = x[:, :width]
    rows = (jnp.arange(x.shape[0]) < n).astype(x.dtype)
    cols = (jnp.arange(width) < p).astype(x.dtype)
    xm = xs * rows[:, None] * cols[None, :]
    a = jnp.matmul(xm.T, xm, precision=_HI) / n + jnp.diag(ridge * cols + (1.0 - cols))
    rhs = jnp.matmul(xm.T, y * rows, precision=_HI) / n
    b = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(a), rhs)
    return jnp.zeros(x.shape[1], x.dtype).at[:width].set(b * cols)


def ridge_dual(x, y, p, n, ridge):
    """Min-norm / ridge in the dual: ``b = X^T (X X^T / n + lambda_r I)^{-1} y / n``; at
    ``lambda_r = 0`` and ``p >= n`` the minimum-norm interpolator (the limit of gradient
    descent from zero)."""
    rows = (jnp.arange(x.shape[0]) < n).astype(x.dtype)
    cols = (jnp.arange(x.shape[1]) < p).astype(x.dtype)
    xm = x * rows[:, None] * cols[None, :]
    k = jnp.matmul(xm, xm.T, precision=_HI) / n + jnp.diag(ridge * rows + (1.0 - rows))
    alpha = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(k), y * rows / n)
    return jnp.matmul(xm.T, alpha, precision=_HI)


def fit_grid(x, y, grid_primal, grid_dual, width_primal: int):
    """Every grid point's fit on one draw ``(x, y)``: the primal points (``p < n``, rows
    ``(p, n, ridge)`` of ``grid_primal``, systems padded to ``width_primal`` columns) then the
    dual ones, as ``(coefficients (G, P), grid (G, 3))`` in that order (``lax.map``: one
    system in memory at a time)."""
    fits = []
    for grid, fit in ((grid_primal, lambda g: ridge_primal(x, y, g[0], g[1], g[2], width_primal)),
                      (grid_dual, lambda g: ridge_dual(x, y, g[0], g[1], g[2]))):
        if grid.shape[0]:
            fits.append(jax.lax.map(fit, grid))
    return (jnp.concatenate(fits, axis=0),
            jnp.concatenate([grid_primal, grid_dual], axis=0))


def ols_on_support(x, y, idx, valid, n):
    """OLS on the columns ``idx[valid]`` (a support of static size ``len(idx)``, the entries
    with ``valid = 0`` unused) from the first ``n`` rows: retraining after pruning, or the
    "train the small model on a given support" baseline.  Returns a full-length vector."""
    rows = (jnp.arange(x.shape[0]) < n).astype(x.dtype)
    xs = x[:, idx] * rows[:, None] * valid[None, :]
    a = jnp.matmul(xs.T, xs, precision=_HI) / n + jnp.diag(1.0 - valid)
    rhs = jnp.matmul(xs.T, y * rows, precision=_HI) / n
    th = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(a), rhs) * valid
    return jnp.zeros(x.shape[1], x.dtype).at[idx].add(th)
