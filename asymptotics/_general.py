"""Dense theory of min-norm / ridge least squares for a general (non-diagonal) covariance.

Mathematics: ``docs/linear.md`` sections 2-3 (Chang, Li, Oymak, Thrampoulidis, AAAI 2021,
arXiv:2012.08749; Hastie, Montanari, Rosset, Tibshirani 2019, Sec. 5).  For features
``x ~ N(0, Sigma)``, labels ``y = x.beta + sigma eps`` and ``Sigma = E diag(lambda) E^T``, the
problem in the rotated coordinates ``E^T x`` is the diagonal one with signal ``E^T beta``:
the risk ``sigma^2 + (b - beta)^T Sigma (b - beta)`` and the min-norm / ridge fits are
rotation-equivariant.  So

    kappa - lambda_r = (kappa / n) tr Sigma (Sigma + kappa I)^{-1},
    gamma^2 = (sigma^2 + kappa^2 beta^T Sigma (Sigma + kappa I)^{-2} beta)
              / (1 - tr[Sigma^2 (Sigma + kappa I)^{-2}] / n)

are the diagonal engine's fixed point and closed forms (:func:`asymptotics.dense_from_atoms`)
run on the atoms ``(lambda_j, (E^T beta)_j^2)``.  Equal eigenvalues may be merged into one
atom with a multiplicity and the summed squared signal (the sums only see
``lambda_j`` and ``sum (E^T beta)_j^2`` per eigenvalue): the random-features theory uses this
for the ``p - d`` copies of ``mu_star^2``.  Zero eigenvalues (directions with no variance) are
dropped: the min-norm fit puts nothing there and they carry no signal power.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import models
from models import InputError
from models._errors import as_finite_array, check_int_range, check_positive

from . import _grid
from ._dense import DensePoint, DenseRiskCurve, dense_from_atoms
from ._status import raise_if_failed


def spectral_dense_point(eigenvalues, signal2, count, noise2, n, ridge) -> DensePoint:
    """Dense theory from a spectrum (pure; jit/vmap/grad friendly).

    Args:
      eigenvalues: ``(K,)`` eigenvalues ``lambda_j >= 0`` of ``Sigma`` (zeros are dropped).
      signal2: ``(K,)`` squared signal per atom, ``(E^T beta)_j^2`` (summed over the
        eigenvectors of a merged atom, divided by its multiplicity).
      count: ``(K,)`` multiplicities ``>= 0``.
      noise2: noise variance ``sigma^2`` (the effective noise, unmodelled signal included).
      n, ridge: sample size and ridge penalty.

    Returns the :class:`DensePoint` of :func:`asymptotics.dense_from_atoms` (status DIVERGED
    with ``inf`` at the ridgeless ``p = n``; NOT_CONVERGED with NaN if the fixed point failed).
    """
    lam = jnp.asarray(eigenvalues)
    count = jnp.where(lam > 0, jnp.asarray(count, lam.dtype), 0.0)
    safe = jnp.where(lam > 0, lam, 1.0)           # dropped atoms: no 0/0 at kappa = 0
    beta2 = jnp.where(lam > 0, jnp.asarray(signal2, lam.dtype), 0.0)
    return dense_from_atoms(safe, beta2, count, n, ridge, noise2)


@jax.jit
def _spectral_grid(eigenvalues, signal2, count, noise2, n, ridge):
    f = lambda nn, rr: spectral_dense_point(eigenvalues, signal2, count, noise2, nn, rr)  # noqa: E731
    return _grid.pack(jax.vmap(f)(n, ridge))


def _check_covariance(Sigma) -> np.ndarray:
    S = as_finite_array("Sigma", Sigma, ndim=2)
    if S.shape[0] != S.shape[1] or S.shape[0] == 0:
        raise InputError(f"Sigma: has shape {S.shape}; allowed: a square (p, p) matrix, p >= 1")
    scale = max(float(np.max(np.abs(S))), np.finfo(np.float64).tiny)
    asym = float(np.max(np.abs(S - S.T)))
    if asym > 1e-10 * scale:
        raise InputError(f"Sigma: not symmetric (max |Sigma - Sigma^T| = {asym:.3g}); allowed: "
                         "a symmetric positive semi-definite matrix")
    return 0.5 * (S + S.T)


def general_dense_risk(Sigma, beta, noise, n, ridge=0.0, *, throw: bool = True) -> DenseRiskCurve:
    """Dense test risk of min-norm / ridge least squares for ``x ~ N(0, Sigma)`` on a grid of
    ``(n, ridge)`` (``docs/linear.md`` sections 2-3; module docstring).

    ``Sigma`` is eigendecomposed once (``eigh``, float64); every grid point reuses the spectrum
    ``lambda_j`` and the projected signal ``(E^T beta)_j^2`` in the diagonal fixed point
    (one compiled ``vmap``).  Eigenvalues below ``1e-12 max(lambda)`` are treated as 0 and
    dropped.

    Args:
      Sigma: ``(p, p)`` symmetric positive semi-definite feature covariance.
      beta: ``(p,)`` signal.  noise: label-noise standard deviation ``sigma >= 0``.
      n, ridge: sample sizes (integers >= 1) and penalties (>= 0), broadcast together.

    Returns a :class:`DenseRiskCurve` (``p`` is the dimension; ``sigma_p2`` is ``noise^2``).
    Ridgeless points with ``p = n`` (full rank) are ``inf`` with status DIVERGED.

    Example:
      >>> task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
      >>> Sigma = np.diag(np.asarray(task.eigenvalues))
      >>> round(float(asy.general_dense_risk(Sigma, task.signal, 0.5, n=100).risk), 12)   # E1
      1.0

    Raises:
      InputError: bad input (before compiling). SolverError: unconverged points (``throw``).
    """
    models.require_x64("general_dense_risk")
    S = _check_covariance(Sigma)
    b = as_finite_array("beta", beta, ndim=1)
    if b.shape[0] != S.shape[0]:
        raise InputError(f"beta: has {b.shape[0]} entries but Sigma is {S.shape[0]} x "
                         f"{S.shape[0]}; allowed: a vector of length p")
    noise = float(check_positive("noise", noise, strict=False))
    n = check_int_range("n", n, 1)
    ridge = check_positive("ridge", ridge, strict=False)
    lam, E = np.linalg.eigh(S)
    top = float(np.max(np.abs(lam)))
    if np.min(lam) < -1e-10 * max(top, np.finfo(np.float64).tiny):
        raise InputError(f"Sigma: has a negative eigenvalue {float(np.min(lam)):.3g}; allowed: "
                         "a positive semi-definite matrix")
    lam = np.where(lam > 1e-12 * top, lam, 0.0)
    signal2 = (E.T @ b) ** 2
    shape, flat = _grid.broadcast_grid(n=n, ridge=ridge)
    size, padded = _grid.pad(flat)
    out = _spectral_grid(jnp.asarray(lam), jnp.asarray(signal2), jnp.ones(lam.shape),
                         jnp.asarray(noise**2), jnp.asarray(padded["n"], jnp.float64),
                         jnp.asarray(padded["ridge"], jnp.float64))
    res = _grid.unpack(out, DensePoint, size, shape)
    if throw:
        raise_if_failed(res["status"], "general_dense_risk (fixed point)")
    return DenseRiskCurve(p=np.full(shape, S.shape[0]), n=flat["n"].reshape(shape),
                          ridge=flat["ridge"].reshape(shape), **res)
