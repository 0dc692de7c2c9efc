"""Coordinate law of the fitted random-features second layer (Gaussian equivalence).

Mathematics: ``docs/linear.md`` section 3 (general Sigma) with ``Sigma = M``,
``beta = beta_F`` and the noise ``sigma_eff^2`` of :mod:`asymptotics._rf`
(``docs/random_features.md``; Chang, Li, Oymak, Thrampoulidis, AAAI 2021, Thm. 1 in its
deterministic-equivalent form):

    a ~ (M + kappa I)^{-1} M (beta_F + gamma M^{-1/2} g / sqrt(n)),   g ~ N(0, I_p),

with ``kappa`` and ``gamma^2`` the dense theory's.  In the eigenbasis of ``M`` (thin SVD of
``V_p`` on the fast path: ``k`` eigenvectors and the ``mu_star^2`` eigenspace of their
complement, so no ``p x p`` matrix is formed; a ``p x p`` ``eigh`` on the dense path) the
mean is ``U (U^T c)_j / (lambda_j + kappa)`` and the standard deviation along eigenvector
``j`` is ``gamma sqrt(lambda_j / n) / (lambda_j + kappa)``.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import models
from models import InputError, RFTask
from models._errors import check_int_range

from ._dense import DensePoint
from ._general import spectral_dense_point
from ._rf import RANK_TOL, Atoms, RFSpectrum, spectrum
from ._status import Status, raise_if_failed




class Basis(NamedTuple):
    """Eigen-structure of ``M`` for one width, padded to the pool (``P`` rows).

    ``vectors``: ``(P, R)`` orthonormal columns, zero beyond row ``p``; ``eigenvalues``,
    ``count`` (1 for a real eigenvector, 0 for padding), ``cproj = U^T c``: ``(R,)``;
    ``rest``/``rest_count``: the eigenvalue ``mu_star^2`` on the orthogonal complement of the
    columns within the first ``p`` coordinates and its dimension (0 on the dense path)."""

    vectors: jax.Array
    eigenvalues: jax.Array
    count: jax.Array
    cproj: jax.Array
    rest: jax.Array
    rest_count: jax.Array


def fast_basis(V, t, ms2, p) -> Basis:
    """Thin SVD of the masked ``V_p`` (``O(P k^2)``; pure, ``p`` may be traced)."""
    P, k = V.shape
    Vm = jnp.where((jnp.arange(P) < p)[:, None], V, 0.0)
    U, s, Qt = jnp.linalg.svd(Vm, full_matrices=False)
    s = jnp.where(s > jnp.sqrt(RANK_TOL) * s[0], s, 0.0)
    dt = V.dtype
    count = (jnp.arange(k) < p).astype(dt)               # descending: the top min(p, k)
    return Basis(U, s**2 + ms2, count, s * (Qt @ t), jnp.asarray(ms2, dt),
                 jnp.maximum(jnp.asarray(p, dt) - k, 0.0))


def dense_basis_host(spec: RFSpectrum, p: int) -> Basis:
    """Dense path: ``eigh`` of the ``p x p`` ``M`` on the host, padded to ``(P, P)``."""
    V, ms2 = spec.features[:p], spec.mu_star2[:p]
    lam, E = np.linalg.eigh(V @ V.T + np.diag(ms2))
    P = spec.features.shape[0]
    U = np.zeros((P, P))
    U[:p, :p] = E
    eig = np.concatenate([np.maximum(lam, 0.0), np.ones(P - p)])
    count = np.concatenate([np.ones(p), np.zeros(P - p)])
    cproj = np.concatenate([E.T @ (V @ spec.target), np.zeros(P - p)])
    return Basis(*(jnp.asarray(x) for x in (U, eig, count, cproj, 1.0, 0.0)))


def basis_atoms(b: Basis, Ey2) -> Atoms:
    pos = (b.count > 0) & (b.eigenvalues > 0)
    safe = jnp.where(pos, b.eigenvalues, 1.0)
    explained = jnp.sum(jnp.where(pos, b.cproj**2 / safe, 0.0))
    eig = jnp.concatenate([safe, jnp.reshape(b.rest, (1,))])
    sig2 = jnp.concatenate([jnp.where(pos, b.cproj**2 / safe**2, 0.0), jnp.zeros((1,))])
    cnt = jnp.concatenate([pos.astype(safe.dtype), jnp.reshape(b.rest_count, (1,))])
    return Atoms(eig, sig2, cnt, jnp.maximum(Ey2 - explained, 0.0))


class LawPoint(NamedTuple):
    """The coordinate law at one point: ``a = mean + rest_sd g + U (scale * (U^T g))``,
    ``g ~ N(0, I)`` on the first ``p`` coordinates (pure arrays)."""

    mean: jax.Array        # (P,)
    scale: jax.Array       # (R,) count * (sd_j - rest_sd)
    rest_sd: jax.Array
    dense: DensePoint


def law_point(b: Basis, Ey2, n, ridge, *, peak_direction: bool = False) -> LawPoint:
    """``a ~ (M + kappa)^{-1} M (beta_F + gamma M^{-1/2} g / sqrt(n))`` in the eigenbasis:
    mean ``U (U^T c)_j / (lambda_j + kappa)``, standard deviation
    ``gamma sqrt(lambda_j / n) / (lambda_j + kappa)`` along each eigenvector.

    ``peak_direction``: at the ridgeless peak (status DIVERGED) return the direction of the
    exploding noise (mean 0, ``gamma = 1``) instead of NaN, as ``asymptotics.pruned_risk``
    does to choose supports there."""
    dp = spectral_dense_point(*basis_atoms(b, Ey2), n, ridge)
    kappa = dp.kappa
    diverged = dp.status == Status.DIVERGED
    gamma2 = jnp.where(diverged, 1.0, dp.risk) if peak_direction else dp.risk
    mean_c = jnp.where(diverged, 0.0, 1.0) if peak_direction else 1.0
    lam = b.eigenvalues
    pos = (b.count > 0) & (lam > 0)
    safe = jnp.where(pos, lam, 1.0)
    coef = jnp.where(pos, b.cproj / (safe + kappa), 0.0)
    sd = jnp.where(pos, jnp.sqrt(gamma2 * safe / n) / (safe + kappa), 0.0)
    rest_sd = jnp.where((b.rest_count > 0) & (b.rest > 0),
                        jnp.sqrt(gamma2 * b.rest / n) / (b.rest + kappa), 0.0)
    mean = mean_c * (b.vectors @ coef)
    return LawPoint(mean, b.count * (sd - rest_sd), rest_sd, dp)


def sample_law(law: LawPoint, vectors, key, draws: int, p):
    """``(draws, P)`` draws of the coordinate law (zero beyond ``p``; pure, vmappable)."""
    P = vectors.shape[0]
    g = jax.random.normal(key, (draws, P), vectors.dtype)
    g = jnp.where(jnp.arange(P) < p, g, 0.0)
    return law.mean + law.rest_sd * g + ((g @ vectors) * law.scale) @ vectors.T


@dataclasses.dataclass(frozen=True)
class RFCoordinateLaw:
    """Correlated Gaussian law of the fitted second layer ``a`` of width ``p``
    (``docs/linear.md`` section 3 with ``Sigma = M``, ``beta = beta_F``):

        a ~ (M + kappa I)^{-1} M (beta_F + gamma M^{-1/2} g / sqrt(n)),   g ~ N(0, I_p).

    ``mean``: ``(p,)``; ``variance``: ``(p,)`` diagonal of the covariance;
    :meth:`covariance` forms the ``p x p`` matrix; :meth:`sample` draws (batched).
    ``status``: CONVERGED; INVALID at the ridgeless peak (no law; NaN); NOT_CONVERGED."""

    p: int
    n: int
    ridge: float
    kappa: float
    gamma2: float
    sigma_eff2: float
    mean: np.ndarray
    vectors: np.ndarray      # (p, R) eigenvectors of M used by the sampler
    scale: np.ndarray        # (R,)
    rest_sd: float
    status: Status

    @property
    def variance(self) -> np.ndarray:
        """``diag Cov(a) = rest_sd^2 + sum_j U_ij^2 ((rest_sd + scale_j)^2 - rest_sd^2)``."""
        r = self.rest_sd
        return r**2 + (self.vectors**2) @ ((r + self.scale) ** 2 - r**2)

    def covariance(self) -> np.ndarray:
        """The ``p x p`` covariance ``gamma^2 (M + kappa)^{-1} M (M + kappa)^{-1} / n``."""
        r, U = self.rest_sd, self.vectors
        return r**2 * np.eye(self.p) + (U * ((r + self.scale) ** 2 - r**2)) @ U.T

    def sample(self, key, draws: int) -> jax.Array:
        """``(draws, p)`` draws (``key``: a PRNG key; vmappable over keys)."""
        draws = int(check_int_range("draws", draws, 1))
        law = LawPoint(jnp.asarray(self.mean), jnp.asarray(self.scale),
                       jnp.asarray(self.rest_sd), None)
        return sample_law(law, jnp.asarray(self.vectors), key, draws, self.p)


@jax.jit
def _fast_law(V, t, ms2, Ey2, p, n, ridge):
    b = fast_basis(V, t, ms2, p)
    return b, law_point(b, Ey2, n, ridge)


def rf_coordinate_law(task: RFTask, p: int, n: int | None = None, ridge: float | None = None,
                      *, throw: bool = True,
                      second_moment: str = "gaussian-equivalent") -> RFCoordinateLaw:
    """The coordinate law of the width-``p`` fit (:class:`RFCoordinateLaw`).

    ``second_moment="exact"``: the finite-``d`` correction (exact feature moments in place of
    the Gaussian equivalent's ``M`` and ``c``; :func:`asymptotics.rf_dense_risk`).

    Example:
      >>> task = models.RFTask.draw(jax.random.key(0), d=50, pool=800, n=100, noise=0.5)
      >>> law = asy.rf_coordinate_law(task, p=400)
      >>> law.mean.shape, law.sample(jax.random.key(1), 3).shape
      ((400,), (3, 400))

    Raises ``InputError`` for bad input; :class:`SolverError` (``throw``) at the ridgeless
    peak (INVALID: infinite variance) or an unconverged fixed point.
    """
    models.require_x64("rf_coordinate_law")
    p, n, ridge = (np.ravel(x)[0] for x in task.grid_axes(p, n, ridge))
    for name, v in (("p", p), ("n", n), ("ridge", ridge)):
        if np.size(v) != 1:
            raise InputError(f"{name}: got {np.size(v)} values; allowed: a single value")
    p, n, ridge = int(p), int(n), float(ridge)
    spec = spectrum(task, second_moment, p)
    Ey2 = jnp.asarray(spec.label_second_moment)
    if spec.fast:
        b, law = _fast_law(jnp.asarray(spec.features), jnp.asarray(spec.target),
                           jnp.asarray(spec.mu_star2[0]), Ey2, p, float(n), ridge)
    else:
        b = dense_basis_host(spec, p)
        law = jax.jit(law_point)(b, Ey2, float(n), ridge)
    dp = law.dense
    status = Status(int(dp.status))
    if status == Status.DIVERGED:
        status = Status.INVALID
    if throw:
        raise_if_failed(status, f"rf_coordinate_law (p = {p}, n = {n}, ridge = {ridge}"
                        + (": interpolation peak, infinite variance)" if status == Status.INVALID
                           else ": fixed point)"))
    ok = status == Status.CONVERGED
    nan = lambda x: np.asarray(x) if ok else np.full(np.shape(x), np.nan)  # noqa: E731
    return RFCoordinateLaw(p=p, n=n, ridge=ridge, kappa=float(dp.kappa), gamma2=float(dp.risk),
                           sigma_eff2=float(dp.sigma_p2), mean=nan(law.mean)[:p],
                           vectors=np.asarray(b.vectors)[:p], scale=nan(law.scale),
                           rest_sd=float(nan(law.rest_sd)), status=status)
