"""Random-features theory by Gaussian equivalence, conditional on the first-layer weights.

Mathematics: ``docs/random_features.md`` (Gaussian equivalence, predictions) and
``docs/linear.md`` sections 2-3 (the fixed point and the general-covariance coordinate law).
References: Mei & Montanari 2019 (arXiv:1908.05355); Hastie, Montanari, Rosset, Tibshirani
2019 (arXiv:1903.08560), Sec. 6; Goldt et al. and Hu & Lu on Gaussian equivalence; Chang,
Li, Oymak, Thrampoulidis, AAAI 2021 (arXiv:2012.08749).

Gaussian equivalent.  A row ``w_i`` of norm ``r_i`` sees ``w_i.x = r_i G``; with the
coefficients ``(mu0_i, mu1_i, mu_star_i)`` of ``act(r_i G)`` (``models.ge_coefficients``) the
feature ``phi_i(x)`` behaves, to second order, like
``mu0_i + mu1_i (w_i / r_i).x + mu_star_i u_i`` with ``u ~ N(0, I_p)`` independent of ``x``
(``mu0_i`` is subtracted for centred features).  Writing ``v_i = mu1_i w_i / r_i`` (plus the
extra column ``mu0_i`` for uncentred features) and ``t = (theta, 0)``, the rows ``v_i`` form
``V`` (``p x k``, ``k = d`` or ``d + 1``) and

    M = E phi phi^T = V V^T + diag(mu_star_i^2),    c = E phi y = V t,
    beta_F = M^{-1} c,    sigma_eff^2 = E y^2 - c^T M^{-1} c,    E y^2 = ||theta||^2 + sigma^2,
    R(a) = E (y - a.phi)^2 = E y^2 - 2 a^T c + a^T M a = sigma_eff^2 + (a - beta_F)^T M (a - beta_F).

So a width-``p`` model is the linear model with covariance ``M``, signal ``beta_F`` and noise
``sigma_eff^2`` (:mod:`asymptotics._general`).

Spectrum (fast path: equal ``mu_star_i``, e.g. rows on the sphere).  With ``V_p = U S Q^T``
(thin SVD of the first ``p`` rows, rank ``<= k``), ``M`` has the eigenvalues
``s_j^2 + mu_star^2`` on the columns of ``U`` and ``mu_star^2`` with multiplicity
``p - min(p, k)`` on their complement; ``U^T c = S Q^T t``, so ``U^T beta_F`` has entries
``s_j (Q^T t)_j / (s_j^2 + mu_star^2)`` and ``beta_F`` has no component on the complement.
The dense theory needs only ``s_j^2`` and ``Q^T t``: the eigenvalues and eigenvectors of the
``k x k`` Gram matrix ``V_p^T V_p`` (``O(p k^2)``; no ``p x p`` matrix is formed).  Rows of
unequal norms with a non-homogeneous ``mu_star(r)`` (Gaussian rows: ``mu_star_i`` differ)
take the dense path: an ``eigh`` of the ``p x p`` ``M`` per width (``O(p^3)``, on the host);
:func:`rf_spectrum` says which path a task takes.
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

from . import _grid
from ._dense import DensePoint, DenseRiskCurve
from ._general import spectral_dense_point
from ._status import Status, raise_if_failed

#: Gram eigenvalues below this fraction of the largest are exact zeros (rank deficiency)
RANK_TOL = 1e-12
#: ``mu_star_i^2`` equal to this relative tolerance take the fast (thin-SVD) path
EQUAL_TOL = 1e-9


@dataclasses.dataclass(frozen=True)
class RFSpectrum:
    """The Gaussian-equivalent description of a task's pool (host NumPy, float64).

    ``features``: ``(P, k)`` rows ``v_i`` (``M = V V^T + diag(mu_star2)``); ``target``: ``(k,)``
    ``t`` (``c = V t``); ``mu_star2``: ``(P,)``; ``label_second_moment``: ``E y^2``;
    ``fast``: equal ``mu_star_i^2`` (thin-SVD path) or not (dense ``p x p`` path);
    ``coefficients``: ``(mu0, mu1, mu_star)`` per row."""

    features: np.ndarray
    target: np.ndarray
    mu_star2: np.ndarray
    label_second_moment: float
    fast: bool
    coefficients: tuple

    @property
    def path(self) -> str:
        return "thin-svd" if self.fast else "dense-eigh"


def rf_spectrum(task: RFTask) -> RFSpectrum:
    """The Gaussian equivalent of ``task`` (module docstring): per-row coefficients, ``V``,
    ``t``, ``mu_star_i^2`` and the path (``fast`` when all ``mu_star_i^2`` agree to
    :data:`EQUAL_TOL` relative; their mean is then used)."""
    if not isinstance(task, RFTask):
        raise InputError(f"task: got {type(task).__name__}; allowed: a models.RFTask")
    W = np.asarray(task.weights, np.float64)
    r = np.linalg.norm(W, axis=1)
    mu0, mu1, mu_star = (np.asarray(x, np.float64)
                         for x in models.ge_coefficients(task.activation, jnp.asarray(r)))
    V = (mu1 / r)[:, None] * W
    t = np.asarray(task.teacher, np.float64)
    if not task.centred:
        V = np.concatenate([V, mu0[:, None]], axis=1)
        t = np.concatenate([t, [0.0]])
    ms2 = mu_star**2
    top = float(np.max(ms2))
    fast = bool(np.max(ms2) - np.min(ms2) <= EQUAL_TOL * top)
    if fast:
        ms2 = np.full_like(ms2, np.mean(ms2))
    return RFSpectrum(features=V, target=t, mu_star2=ms2,
                      label_second_moment=task.label_second_moment, fast=fast,
                      coefficients=(mu0, mu1, mu_star))


class Atoms(NamedTuple):
    """Spectrum of ``M`` for one width as weighted atoms (see :func:`spectral_dense_point`)
    and ``sigma_eff^2``."""

    eigenvalues: jax.Array
    signal2: jax.Array
    count: jax.Array
    sigma_eff2: jax.Array


def _atoms_from_gram(g, qt, ms2, Ey2, p, k) -> Atoms:
    """Atoms from the Gram eigenpairs (``g`` ascending, ``qt = Q^T t``) of the first ``p`` rows."""
    g = jnp.where(g > RANK_TOL * g[-1], g, 0.0)
    lam = g + ms2
    cproj2 = g * qt**2                                   # (U^T c)_j^2 = s_j^2 (Q^T t)_j^2
    inside = jnp.arange(k) >= k - p                      # the top min(p, k) eigenvalues
    pos = inside & (lam > 0)
    safe = jnp.where(pos, lam, 1.0)
    explained = jnp.sum(jnp.where(pos, cproj2 / safe, 0.0))
    dt = g.dtype
    eig = jnp.concatenate([lam, jnp.reshape(ms2, (1,))])
    sig2 = jnp.concatenate([jnp.where(pos, cproj2 / safe**2, 0.0), jnp.zeros((1,), dt)])
    cnt = jnp.concatenate([inside.astype(dt),
                           jnp.reshape(jnp.maximum(jnp.asarray(p, dt) - k, 0.0), (1,))])
    return Atoms(eig, sig2, cnt, jnp.maximum(Ey2 - explained, 0.0))


def fast_atoms(V, t, ms2, Ey2, p) -> Atoms:
    """Atoms of the first ``p`` rows (``p`` may be traced; rows ``>= p`` masked): the Gram
    ``V_p^T V_p`` (``k x k``) and its ``eigh``.  Pure; vmappable over ``p``."""
    P, k = V.shape
    Vm = jnp.where((jnp.arange(P) < p)[:, None], V, 0.0)
    g, Q = jnp.linalg.eigh(Vm.T @ Vm)
    return _atoms_from_gram(g, Q.T @ t, ms2, Ey2, p, k)


@jax.jit
def _fast_atoms_widths(V, t, ms2, Ey2, widths) -> Atoms:
    return jax.vmap(fast_atoms, in_axes=(None, None, None, None, 0))(V, t, ms2, Ey2, widths)


def _dense_atoms_host(spec: RFSpectrum, p: int) -> tuple[np.ndarray, ...]:
    """Dense path for one width: ``eigh`` of the ``p x p`` ``M`` (host, float64), padded to the
    pool size with zero-count atoms."""
    V, ms2 = spec.features[:p], spec.mu_star2[:p]
    lam, E = np.linalg.eigh(V @ V.T + np.diag(ms2))
    lam = np.maximum(lam, 0.0)
    cproj = E.T @ (V @ spec.target)
    pos = lam > 0
    safe = np.where(pos, lam, 1.0)
    P = spec.features.shape[0]
    pad = P - p
    eig = np.concatenate([safe, np.ones(pad)])
    sig2 = np.concatenate([np.where(pos, cproj**2 / safe**2, 0.0), np.zeros(pad)])
    cnt = np.concatenate([pos.astype(np.float64), np.zeros(pad)])
    explained = float(np.sum(np.where(pos, cproj**2 / safe, 0.0)))
    return eig, sig2, cnt, max(spec.label_second_moment - explained, 0.0)


def width_atoms(spec: RFSpectrum, widths, *, method: str = "padded") -> Atoms:
    """Atoms for each width (leading axis ``len(widths)``).

    Fast path, ``method``: ``padded`` (one compiled ``vmap``; each width masks the whole
    ``P x k`` pool: ``O(P k^2)`` per width) or ``bucketed`` (widths grouped by the power of
    two above them; each group slices its bucket of rows: ``O(bucket k^2)`` per width, one
    compilation per bucket).  Dense path: one host ``eigh`` per width."""
    widths = np.asarray(widths, np.int64)
    if not spec.fast:
        cols = list(zip(*(_dense_atoms_host(spec, int(p)) for p in widths)))
        return Atoms(*(jnp.asarray(np.stack(c)) for c in cols))
    V, t = jnp.asarray(spec.features), jnp.asarray(spec.target)
    ms2, Ey2 = jnp.asarray(spec.mu_star2[0]), jnp.asarray(spec.label_second_moment)
    if method == "padded":
        _, pad = _grid.pad({"p": widths})
        out = _fast_atoms_widths(V, t, ms2, Ey2, jnp.asarray(pad["p"]))
        return Atoms(*(x[: widths.size] for x in out))
    if method != "bucketed":
        raise InputError(f"method: unknown value {method!r}; allowed: 'padded', 'bucketed'")
    P = V.shape[0]
    parts = [None] * widths.size
    buckets = np.minimum([_grid.bucket(int(p)) for p in widths], P)
    for b in np.unique(buckets):
        sel = np.flatnonzero(buckets == b)
        _, pad = _grid.pad({"p": widths[sel]})
        out = _fast_atoms_widths(V[: int(b)], t, ms2, Ey2, jnp.asarray(pad["p"]))
        for j, i in enumerate(sel):
            parts[i] = [x[j] for x in out]
    return Atoms(*(jnp.stack(c) for c in zip(*parts)))


def _atoms_point(atoms: Atoms, i, n, ridge) -> DensePoint:
    a = Atoms(*(x[i] for x in atoms))
    return spectral_dense_point(a.eigenvalues, a.signal2, a.count, a.sigma_eff2, n, ridge)


@jax.jit
def _atoms_grid(atoms: Atoms, index, n, ridge):
    return _grid.pack(jax.vmap(_atoms_point, in_axes=(None, 0, 0, 0))(atoms, index, n, ridge))


def rf_dense_risk(task: RFTask, p=None, n=None, ridge=None, *, throw: bool = True,
                  method: str = "padded") -> DenseRiskCurve:
    """Dense test risk of min-norm / ridge random features, conditional on ``W``, on a
    ``(p, n, ridge)`` grid (Gaussian equivalence; module docstring).

    A width ``p`` uses the first ``p`` rows of ``task.weights``.  The spectrum of ``M`` is
    computed once per distinct width (``method``: see :func:`width_atoms`; both give the
    same numbers, ``padded`` is the default: faster at the sizes measured, see the tests'
    module docstring), then the fixed point ``kappa`` and
    ``gamma^2 = (sigma_eff^2 + kappa^2 beta_F^T M (M + kappa)^{-2} beta_F) / (1 - df2/n)``
    run on the whole grid in one compiled ``vmap`` (float64).

    Returns a :class:`DenseRiskCurve`: ``risk`` is ``gamma^2`` (the total test risk, noise
    included), ``bias``/``variance`` its parts, and ``sigma_p2`` holds ``sigma_eff^2`` (the
    noise plus what the width-``p`` Gaussian equivalent cannot represent).  Ridgeless
    ``p < n``: ``kappa = 0`` (OLS); ridgeless ``p = n`` (full rank): ``inf``, status
    DIVERGED.

    Example (docs/random_features.md, E3 set-up at p = 800):
      >>> task = models.RFTask.draw(jax.random.key(0), d=50, pool=800, n=100, noise=0.5)
      >>> curve = asy.rf_dense_risk(task, p=800)
      >>> round(float(curve.kappa), 3), round(float(curve.risk), 3)
      (1.035, 0.49)

    Raises:
      InputError: bad input (before compiling). SolverError: unconverged points (``throw``).
    """
    models.require_x64("rf_dense_risk")
    spec = rf_spectrum(task)
    p, n, ridge = task.grid_axes(p, n, ridge)
    shape, flat = _grid.broadcast_grid(p=p, n=n, ridge=ridge)
    widths, index = np.unique(flat["p"], return_inverse=True)
    atoms = width_atoms(spec, widths, method=method)
    size, padded = _grid.pad({"i": index.ravel(), "n": flat["n"], "ridge": flat["ridge"]})
    out = _atoms_grid(atoms, jnp.asarray(padded["i"]), jnp.asarray(padded["n"], jnp.float64),
                      jnp.asarray(padded["ridge"], jnp.float64))
    res = _grid.unpack(out, DensePoint, size, shape)
    if throw:
        raise_if_failed(res["status"], "rf_dense_risk (fixed point)")
    return DenseRiskCurve(p=flat["p"].reshape(shape), n=flat["n"].reshape(shape),
                          ridge=flat["ridge"].reshape(shape), **res)


# --------------------------------------------------------------------------------------------
# Coordinate law of the fitted second layer (docs/linear.md section 3, general Sigma)


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
                      *, throw: bool = True) -> RFCoordinateLaw:
    """The coordinate law of the width-``p`` fit (:class:`RFCoordinateLaw`).

    Example:
      >>> task = models.RFTask.draw(jax.random.key(0), d=50, pool=800, n=100, noise=0.5)
      >>> law = asy.rf_coordinate_law(task, p=400)
      >>> law.mean.shape, law.sample(jax.random.key(1), 3).shape
      ((400,), (3, 400))

    Raises ``InputError`` for bad input; :class:`SolverError` (``throw``) at the ridgeless
    peak (INVALID: infinite variance) or an unconverged fixed point.
    """
    models.require_x64("rf_coordinate_law")
    spec = rf_spectrum(task)
    p, n, ridge = (np.ravel(x)[0] for x in task.grid_axes(p, n, ridge))
    for name, v in (("p", p), ("n", n), ("ridge", ridge)):
        if np.size(v) != 1:
            raise InputError(f"{name}: got {np.size(v)} values; allowed: a single value")
    p, n, ridge = int(p), int(n), float(ridge)
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
