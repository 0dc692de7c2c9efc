"""Dense (unpruned) test risk of min-norm / ridge least squares, bias and variance.

Mathematics: ``docs/linear.md`` section 2 (Chang, Li, Oymak, Thrampoulidis, AAAI 2021,
arXiv:2012.08749; Hastie, Montanari, Rosset, Tibshirani 2019).  With ``kappa`` from
:func:`asymptotics.effective_regularization`, ``w_i = lambda_i / (lambda_i + kappa)`` and
``df2 = sum_i c_i w_i^2``:

    gamma^2  = (sigma_p^2 + kappa^2 sum_i c_i lambda_i beta_i^2 / (lambda_i + kappa)^2)
               / (1 - df2 / n)
    bias     = kappa^2 sum_i c_i lambda_i beta_i^2 / (lambda_i + kappa)^2 / (1 - df2 / n)
    variance = sigma_p^2 (df2 / n) / (1 - df2 / n)

so that the total test risk (noise included) is ``gamma^2 = sigma_p^2 + bias + variance``;
``sigma_p^2 = sigma^2 + sum_{i > p} lambda_i beta_i^2`` is the noise plus the unmodelled
signal.  At the ridgeless interpolation threshold ``p = n`` the risk is ``inf`` (status
DIVERGED).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import models
from models import LinearTask, SpectralLaw
from models._errors import check_int_range, check_positive

from . import _curve, _grid
from ._fixed_point import effective_regularization, effective_regularization_prefix, fused_sums
from ._status import Status, raise_if_failed, status_names


class DensePoint(NamedTuple):
    """Theory at one grid point (JAX scalars)."""

    kappa: jax.Array
    risk: jax.Array          # gamma^2: total test risk, noise included
    bias: jax.Array
    variance: jax.Array
    sigma_p2: jax.Array      # effective noise sigma_p^2
    df1: jax.Array           # sum c_i w_i
    df2: jax.Array           # sum c_i w_i^2
    status: jax.Array
    steps: jax.Array


def _dense_from_sums(fp, df1, df2, shrink, n, sigma_p2, dtype) -> DensePoint:
    """Closed forms of the module docstring from the fixed point and the three sums."""
    denom = 1.0 - df2 / n
    peak = (denom <= 0) & (fp.status == Status.CONVERGED)
    safe = jnp.where(peak, 1.0, denom)
    inf = jnp.asarray(jnp.inf, dtype)
    bias = jnp.where(peak, jnp.where(shrink > 0, inf, 0.0), shrink / safe)
    variance = jnp.where(peak, jnp.where(sigma_p2 > 0, inf, 0.0), sigma_p2 * (df2 / n) / safe)
    risk = sigma_p2 + bias + variance
    # At the peak with nothing to amplify (noise 0, no unmodelled signal, no shrinkage) the
    # interpolator recovers beta exactly: risk 0, not a divergence.
    diverged = peak & ((shrink > 0) | (sigma_p2 > 0))
    status = jnp.where(diverged, Status.DIVERGED, fp.status).astype(jnp.int32)
    return DensePoint(fp.kappa, risk, bias, variance, jnp.asarray(sigma_p2, dtype), df1, df2,
                      status, fp.steps)


def _weighted_sums(lam, beta2, weight, kappa):
    """``(sum c w, sum c w^2, sum c lam beta^2 (1-w)^2)``, ``w = lam/(lam+kappa)``; ``weight``
    is an array of multiplicities or a boolean mask (fused).  ``1 - w`` is computed as
    ``kappa/(lam+kappa)`` (no cancellation for ``lam >> kappa``)."""
    denom = lam + kappa
    w = lam / denom
    a, b, c = w, w * w, lam * beta2 * (kappa / denom) ** 2
    if weight.dtype == jnp.bool_:
        zero = jnp.zeros_like(w)
        a, b, c = (jnp.where(weight, x, zero) for x in (a, b, c))
    else:
        a, b, c = weight * a, weight * b, weight * c
    return fused_sums(a, b, c)


def dense_from_atoms(lam, beta2, count, n, ridge, sigma_p2) -> DensePoint:
    """Dense theory for weighted atoms (pure, jit/vmap/grad friendly).

    Args:
      lam, beta2, count: ``(K,)`` eigenvalues, squared signal per feature, multiplicities.
      n, ridge: sample size and ridge penalty.
      sigma_p2: effective noise variance (noise plus unmodelled signal).
    """
    lam = jnp.asarray(lam)
    count = jnp.asarray(count, lam.dtype)
    fp = effective_regularization(lam, count, n, ridge)
    df1, df2, shrink = _weighted_sums(lam, beta2, count, fp.kappa)
    return _dense_from_sums(fp, df1, df2, shrink, n, sigma_p2, lam.dtype)


def _prefix_tables(lam, beta2):
    """``csum[p] = sum_{i < p} lam_i`` and ``tail[p] = sum_{i >= p} lam_i beta_i^2`` (length
    ``K + 1``; the tail by a reversed cumulative sum, accurate for small tails)."""
    zero = jnp.zeros((1,), lam.dtype)
    csum = jnp.concatenate([zero, jnp.cumsum(lam)])
    tail = jnp.concatenate([jnp.cumsum((lam * beta2)[::-1])[::-1], zero])
    return csum, tail


def dense_prefix_point(lam, beta2, noise2, p, n, ridge) -> DensePoint:
    """Dense theory for the first ``p`` atoms of ``(lam, beta2)`` (pure; fast path).

    Equivalent to ``dense_from_atoms(lam, beta2, 1{i < p}, n, ridge, noise2 + sum_{i >= p}
    lam_i beta2_i)``, with the mask fused into every pass over the atoms."""
    lam = jnp.asarray(lam)
    dtype = lam.dtype
    n = jnp.asarray(n, dtype)
    csum, tail = _prefix_tables(lam, beta2)
    pi = jnp.minimum(jnp.asarray(p, jnp.int32), lam.shape[0])
    sigma_p2 = noise2 + tail[pi]
    fp = effective_regularization_prefix(lam, p, n, ridge, csum=csum)
    mask = jnp.arange(lam.shape[0]) < p
    df1, df2, shrink = _weighted_sums(lam, beta2, mask, fp.kappa)
    return _dense_from_sums(fp, df1, df2, shrink, n, sigma_p2, dtype)


def dense_risk_point(task: LinearTask, p, n=None, ridge=None) -> DensePoint:
    """Theory for the first ``p`` features of ``task`` (pure, jit/vmap/grad friendly).

    ``p`` may be traced; ``n`` and ``ridge`` default to the task's.
    """
    lam = task.eigenvalues
    beta2 = task.signal**2
    n = task.n if n is None else n
    ridge = task.ridge if ridge is None else ridge
    return dense_prefix_point(lam, beta2, task.noise**2, p, n, ridge)


def dense_risk_law_point(law: SpectralLaw, psi, ridge=None) -> DensePoint:
    """Proportional-limit theory at ``psi = p / n`` (pure).  ``n`` is scaled out (set to 1):
    ``kappa - lambda_r = kappa psi E[Lambda/(Lambda+kappa)]``."""
    ridge = law.ridge if ridge is None else ridge
    psi = jnp.asarray(psi, law.eigenvalues.dtype)
    count = psi * law.weights
    beta2 = law.signal2 / psi
    return dense_from_atoms(law.eigenvalues, beta2, count, jnp.ones_like(psi), ridge,
                            law.noise**2)


@dataclasses.dataclass(frozen=True)
class DenseRiskCurve:
    """Dense theory on a grid (NumPy arrays, all of the grid's shape).

    ``risk`` is the total test risk ``gamma^2`` (noise included); ``status`` holds
    :class:`Status` codes.
    """

    p: np.ndarray
    n: np.ndarray
    ridge: np.ndarray
    kappa: np.ndarray
    risk: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    sigma_p2: np.ndarray
    df1: np.ndarray
    df2: np.ndarray
    status: np.ndarray
    steps: np.ndarray

    def rows(self) -> list[dict]:
        """One dict per grid point, with the CLI's column names."""
        names = status_names(self.status.ravel())
        return [dict(p=int(p), n=int(n) if float(n).is_integer() else float(n), ridge=float(r),
                     kappa=float(k), dense_risk=float(g), bias=float(b), variance=float(v),
                     sigma_p2=float(s), status=str(st))
                for p, n, r, k, g, b, v, s, st in zip(
                    self.p.ravel(), self.n.ravel(), self.ridge.ravel(), self.kappa.ravel(),
                    self.risk.ravel(), self.bias.ravel(), self.variance.ravel(),
                    self.sigma_p2.ravel(), names)]


@jax.jit
def _dense_grid(task: LinearTask, p, n, ridge) -> jax.Array:
    """The whole grid in one compiled call; the :class:`DensePoint` fields packed into one
    ``(fields, points)`` float64 array (:func:`_grid.pack`: one device-to-host copy)."""
    return _grid.pack(jax.vmap(dense_risk_point, in_axes=(None, 0, 0, 0))(
        task, p, jnp.asarray(n, jnp.float64), jnp.asarray(ridge, jnp.float64)))


#: ``dense_risk`` solves the grid as a curve (:func:`_dense_curve_grid`) on a CPU when
#: ``points x pool`` reaches this many atom evaluations per pass (e.g. 1024 points over a
#: pool of 8192); below it, compiling the curve solver (~2.5 s, ~2 s more than the
#: per-point solver; measured 2026-12-02) costs more than it saves in a one-off call: a
#: 200-point curve over 10^4 features computes in ~10 ms either way (2-core CPU).  On an
#: accelerator the per-point ``vmap`` stays (109x the SciPy loop on an H100); the curve
#: solver has not been measured there.
CURVE_MIN_WORK = 1 << 23


@jax.jit
def _dense_curve_grid(task: LinearTask, p, n, ridge) -> jax.Array:
    """:func:`_dense_grid` solved as a curve (:func:`asymptotics._curve.dense_curve_sums`:
    exact roots at a few anchors, every other point from an anchor's power-series table);
    the closed forms are those of :func:`dense_risk_point`."""
    lam = task.eigenvalues
    beta2 = task.signal**2
    n = jnp.asarray(n, lam.dtype)
    ridge = jnp.asarray(ridge, lam.dtype)
    fp, df1, df2, shrink = _curve.dense_curve_sums(lam, beta2, p, n, ridge)
    _, tail = _prefix_tables(lam, beta2)
    sigma_p2 = task.noise**2 + tail[jnp.minimum(jnp.asarray(p, jnp.int32), lam.shape[0])]
    return _grid.pack(_dense_from_sums(fp, df1, df2, shrink, n, sigma_p2, lam.dtype))


@jax.jit
def _dense_law_grid(law: SpectralLaw, psi, ridge) -> jax.Array:
    return _grid.pack(jax.vmap(dense_risk_law_point, in_axes=(None, 0, 0))(law, psi, ridge))


def _raise_unconverged(status: np.ndarray, where: str) -> None:
    raise_if_failed(status, f"{where} (fixed point)")


def validate_dense_grid(task: LinearTask, p, n, ridge):
    """Host-side validation and broadcasting (before any compilation)."""
    p = task.pool_size if p is None else p
    n = task.n if n is None else n
    ridge = float(task.ridge) if ridge is None else ridge
    p = check_int_range("p", p, 1, task.pool_size)
    n = check_int_range("n", n, 1)
    ridge = check_positive("ridge", ridge, strict=False)
    return _grid.broadcast_grid(p=p, n=n, ridge=ridge)


def dense_risk(task: LinearTask, p=None, n=None, ridge=None, *, throw: bool = True) -> DenseRiskCurve:
    """Dense test risk, bias and variance of min-norm / ridge least squares on a grid.

    ``p``, ``n`` and ``ridge`` (scalars or arrays, broadcast together) default to the whole
    pool, ``task.n`` and ``task.ridge``.  The whole grid is one ``jit``-compiled call
    (float64): a ``vmap`` of the per-point solver, or on a CPU for large grids (``points x
    pool >=`` :data:`CURVE_MIN_WORK`) the curve solver of :mod:`asymptotics._curve`
    (exact roots at a few anchors, every other point from an anchor's certified power-series
    table; same values to ~1e-13).  Ridgeless points
    with ``p = n`` return ``inf`` with status DIVERGED.

    Example:
      >>> import numpy as np, models, asymptotics as asy
      >>> task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
      >>> round(float(asy.dense_risk(task, p=200).risk), 12)   # E1: gamma^2 = 1
      1.0

    Raises:
      InputError: bad input (before compiling). SolverError: unconverged points (``throw``).
    """
    models.require_x64("dense_risk")
    shape, flat = validate_dense_grid(task, p, n, ridge)
    size, padded = _grid.pad(flat)
    big = len(padded["p"]) * task.pool_size >= CURVE_MIN_WORK
    kernel = _dense_curve_grid if big and jax.default_backend() == "cpu" else _dense_grid
    out = kernel(task, padded["p"], padded["n"].astype(np.float64),
                 padded["ridge"].astype(np.float64))
    res = _grid.unpack(out, DensePoint, size, shape)
    if throw:
        _raise_unconverged(res["status"], "dense_risk")
    grid = {k: flat[k].reshape(shape) for k in ("p", "n", "ridge")}
    return DenseRiskCurve(**grid, **res)


def dense_risk_law(law: SpectralLaw, psi, ridge=None, *, throw: bool = True) -> DenseRiskCurve:
    """Proportional-limit dense theory over a grid of ``psi = p / n`` (> 0).

    The returned ``p`` field holds ``psi`` and ``n`` is 1 (the law is scale-free in ``n``).
    """
    from models._errors import check_positive as _pos

    models.require_x64("dense_risk_law")
    psi = _pos("psi", psi)
    ridge = _pos("ridge", float(law.ridge) if ridge is None else ridge, strict=False)
    shape, flat = _grid.broadcast_grid(psi=psi, ridge=ridge)
    size, padded = _grid.pad(flat)
    out = _dense_law_grid(law, np.asarray(padded["psi"], np.float64),
                          np.asarray(padded["ridge"], np.float64))
    res = _grid.unpack(out, DensePoint, size, shape)
    if throw:
        _raise_unconverged(res["status"], "dense_risk_law")
    return DenseRiskCurve(p=flat["psi"].reshape(shape), n=np.ones(shape),
                          ridge=flat["ridge"].reshape(shape), **res)
