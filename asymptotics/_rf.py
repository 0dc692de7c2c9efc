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
:func:`rf_spectrum` says which path a task takes.  The coordinate law of the fitted second
layer is in :mod:`asymptotics._rf_law`, the pruned risks in :mod:`asymptotics._rf_pruning`.

Finite-``d`` correction (``second_moment="exact"``).  At finite ``d`` the nonlinear part of the
features is not white: ``E phi phi^T`` differs from ``V V^T + diag(mu_star^2)`` by the Hermite
orders ``k >= 2`` of Mehler's series, ``sum_{k>=2} a_k(r_i) a_k(r_j) (rho_ij^k - [i = j])``
(``docs/random_features.md``, "Practical points": the Gaussian equivalent is ~10 % low at
``d = 40``, ``sigma = 0.2``, erf).  The option replaces ``M`` and ``c`` by the exact moments of
the first ``p`` features (``models.rf_feature_moments``: arc-cosine / erf closed forms, else
the Mehler series with its stated truncation bound; ``c`` by Stein's lemma is the same as the
Gaussian equivalent's) and runs the same general-covariance engine on
``beta_F = M^{-1} c`` and ``sigma_eff^2 = E y^2 - c^T M^{-1} c``: the exact-moment linear
model.  What remains is the non-Gaussianity of the features themselves (fourth and higher
moments), which the engine does not see.  For ReLU its leading part is the radius of the
inputs: ``radial=True`` (:mod:`asymptotics._rf_radial`) adds it, and the E3 figure's theory
then lies inside +-2 s.e. of the simulation at every width >= 2n.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import models
from models import InputError, RFTask
from models._errors import check_choice

from . import _grid
from ._dense import DensePoint, DenseRiskCurve
from ._general import spectral_dense_point
from ._status import raise_if_failed

#: Gram eigenvalues below this fraction of the largest are exact zeros (rank deficiency)
RANK_TOL = 1e-12
#: ``mu_star_i^2`` equal to this relative tolerance take the fast (thin-SVD) path
EQUAL_TOL = 1e-9
#: the feature second moment the theory uses: the Gaussian equivalent (default) or the exact
#: moment of the nonlinear features (the finite-``d`` correction)
SECOND_MOMENTS = ("gaussian-equivalent", "exact")


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


def exact_spectrum(task: RFTask, pool: int | None = None) -> RFSpectrum:
    """The exact-moment linear model of the first ``pool`` features in the form of an
    :class:`RFSpectrum` (the finite-``d`` correction for the coordinate law, the pruned,
    fresh-retrained and train-small risks).

    ``M`` (exact, ``models.rf_feature_moments``) is factored as ``M = L L^T`` with ``L``
    lower triangular (Cholesky), so the leading ``p x p`` block of ``M`` is ``L_p L_p^T`` with
    ``L_p`` the first ``p`` rows of ``L``: a width ``p`` uses the first ``p`` rows of
    ``features = L``, exactly as for the Gaussian equivalent.  ``target = L^{-1} c`` gives
    ``c_p = L_p target`` for every ``p`` (``L`` is triangular), ``mu_star2 = 0`` and the
    dense path (``eigh`` of the ``p x p`` block per width).  ``O(P^2 d + P^3)`` once.

    Raises ``InputError`` when ``M`` is not positive definite (the
    features of the pool are linearly dependent: e.g. repeated rows of ``W``)."""
    import scipy.linalg  # only here: the Gaussian-equivalent paths do not need it

    if not isinstance(task, RFTask):
        raise InputError(f"task: got {type(task).__name__}; allowed: a models.RFTask")
    mom = models.rf_feature_moments(task, pool)
    try:
        L = np.linalg.cholesky(mom.second)
        singular = np.min(np.diag(L)) ** 2 <= RANK_TOL * np.max(np.diag(mom.second))
    except np.linalg.LinAlgError:
        singular = True
    if singular:
        raise InputError("weights: the exact feature second moment of the pool is singular "
                         "(linearly dependent features, e.g. repeated rows); allowed: "
                         "second_moment='gaussian-equivalent'")
    t = scipy.linalg.solve_triangular(L, mom.cross, lower=True)
    base = rf_spectrum(task)
    return RFSpectrum(features=L, target=t, mu_star2=np.zeros(L.shape[0]),
                      label_second_moment=float(mom.label_second), fast=False,
                      coefficients=tuple(np.asarray(x)[: L.shape[0]] for x in base.coefficients))


def spectrum(task: RFTask, second_moment: str = "gaussian-equivalent",
             pool: int | None = None) -> RFSpectrum:
    """:func:`rf_spectrum` (Gaussian equivalent) or :func:`exact_spectrum` (``"exact"``)."""
    check_choice("second_moment", second_moment, SECOND_MOMENTS)
    return exact_spectrum(task, pool) if second_moment == "exact" else rf_spectrum(task)


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


def _moment_atoms_host(m, c, Ey2, pad: int, floor: float = 0.0) -> tuple[np.ndarray, ...]:
    """Atoms of a ``p x p`` second moment ``m`` with cross moment ``c``: ``eigh`` on the host
    (float64), eigenvalues at or below ``floor * max(lambda)`` dropped, padded with ``pad``
    zero-count atoms.  ``sigma_eff^2 = E y^2 - sum_j (E^T c)_j^2 / lambda_j``."""
    lam, E = np.linalg.eigh(m)
    lam = np.maximum(lam, 0.0)
    cproj = E.T @ c
    pos = lam > floor * (float(lam[-1]) if lam.size else 0.0)
    safe = np.where(pos, lam, 1.0)
    eig = np.concatenate([safe, np.ones(pad)])
    sig2 = np.concatenate([np.where(pos, cproj**2 / safe**2, 0.0), np.zeros(pad)])
    cnt = np.concatenate([pos.astype(np.float64), np.zeros(pad)])
    explained = float(np.sum(np.where(pos, cproj**2 / safe, 0.0)))
    return eig, sig2, cnt, max(Ey2 - explained, 0.0)


def _dense_atoms_host(spec: RFSpectrum, p: int) -> tuple[np.ndarray, ...]:
    """Dense path for one width: ``eigh`` of the ``p x p`` ``M`` (host, float64), padded to the
    pool size with zero-count atoms."""
    V, ms2 = spec.features[:p], spec.mu_star2[:p]
    return _moment_atoms_host(V @ V.T + np.diag(ms2), V @ spec.target,
                              spec.label_second_moment, spec.features.shape[0] - p)


def exact_width_atoms(moments: models.RFMoments, widths) -> Atoms:
    """Atoms of the exact feature moments for each width (leading axis ``len(widths)``):
    ``M`` and ``c`` of the first ``p`` features are the leading block of ``moments`` (entries
    are pairwise), one host ``eigh`` of the ``p x p`` block per width (``O(p^3)``), padded to
    the largest width.  Eigenvalues below :data:`RANK_TOL` times the largest are dropped, as
    in :func:`asymptotics.general_dense_risk`."""
    widths = np.asarray(widths, np.int64)
    top = int(widths.max())
    cols = list(zip(*(_moment_atoms_host(moments.second[:p, :p], moments.cross[:p],
                                         moments.label_second, top - p, RANK_TOL)
                      for p in (int(w) for w in widths))))
    return Atoms(*(jnp.asarray(np.stack(c)) for c in cols))


def width_atoms(spec: RFSpectrum, widths, *, method: str = "prefix") -> Atoms:
    """Atoms for each width (leading axis ``len(widths)``).

    Fast path, ``method``: ``prefix`` (default: the Grams of all widths as running sums over
    the sorted widths on the host, ``O(P k^2)`` in all, then one batched ``eigh``),
    ``padded`` (one compiled ``vmap``; each width masks the whole ``P x k`` pool:
    ``O(P k^2)`` per width) or ``bucketed`` (widths grouped by the power of two above them;
    each group slices its bucket of rows: ``O(bucket k^2)`` per width, one compilation per
    bucket).  All three agree to ~1e-14.  Measured (2 shared CPU cores, warm, atoms only):
    P = 800, d = 50, 7 widths: 2.7 / 3.7 / 3.8 ms (prefix / padded / bucketed); P = 4000,
    d = 100, 64 widths: 88 / 237 / 188 ms; P = 20000, d = 100, 64 widths: 112 / 777 /
    348 ms.  First calls (compilation): bucketed compiles once per bucket (about 2x the
    padded first call).  Dense path: one host ``eigh`` per width."""
    if method not in ("prefix", "padded", "bucketed"):
        raise InputError(f"method: unknown value {method!r}; allowed: 'prefix', 'padded', "
                         "'bucketed'")
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
    if method == "prefix":
        return _prefix_atoms(spec, widths)
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


@jax.jit
def _gram_atoms(grams, t, ms2, Ey2, widths) -> Atoms:
    def one(G, p):
        g, Q = jnp.linalg.eigh(G)
        return _atoms_from_gram(g, Q.T @ t, ms2, Ey2, p, G.shape[0])
    return jax.vmap(one)(grams, widths)


def _prefix_atoms(spec: RFSpectrum, widths) -> Atoms:
    """Fast path, ``prefix``: the Grams of all widths as running sums over the sorted widths
    (host BLAS, ``O(P k^2)`` in all), then one batched ``eigh`` of the ``k x k`` Grams."""
    V = spec.features
    order = np.argsort(widths)
    grams = np.empty((widths.size, V.shape[1], V.shape[1]))
    G, prev = np.zeros((V.shape[1], V.shape[1])), 0
    for j in order:
        w = int(widths[j])
        G = G + V[prev:w].T @ V[prev:w]
        grams[j], prev = G, w
    _, pad = _grid.pad({"p": widths, "g": np.arange(widths.size)})
    out = _gram_atoms(jnp.asarray(grams[pad["g"]]), jnp.asarray(spec.target),
                      jnp.asarray(spec.mu_star2[0]), jnp.asarray(spec.label_second_moment),
                      jnp.asarray(pad["p"]))
    return Atoms(*(x[: widths.size] for x in out))


def _atoms_point(atoms: Atoms, i, n, ridge) -> DensePoint:
    a = Atoms(*(x[i] for x in atoms))
    return spectral_dense_point(a.eigenvalues, a.signal2, a.count, a.sigma_eff2, n, ridge)


@jax.jit
def _atoms_grid(atoms: Atoms, index, n, ridge):
    return _grid.pack(jax.vmap(_atoms_point, in_axes=(None, 0, 0, 0))(atoms, index, n, ridge))


def rf_dense_risk(task: RFTask, p=None, n=None, ridge=None, *, throw: bool = True,
                  method: str = "prefix",
                  second_moment: str = "gaussian-equivalent",
                  radial: bool = False) -> DenseRiskCurve:
    """Dense test risk of min-norm / ridge random features, conditional on ``W``, on a
    ``(p, n, ridge)`` grid (Gaussian equivalence; module docstring).

    A width ``p`` uses the first ``p`` rows of ``task.weights``.  The spectrum of ``M`` is
    computed once per distinct width (``method``: ``prefix``, ``padded`` or ``bucketed``, see
    :func:`width_atoms`; all give the same numbers, ``prefix`` was the fastest at every size
    measured), then the fixed point ``kappa`` and
    ``gamma^2 = (sigma_eff^2 + kappa^2 beta_F^T M (M + kappa)^{-2} beta_F) / (1 - df2/n)``
    run on the whole grid in one compiled ``vmap`` (float64).

    ``second_moment``: ``"gaussian-equivalent"`` (default; ``M = V V^T + diag(mu_star^2)``)
    or ``"exact"``, the finite-``d`` correction (module docstring): ``M`` and ``c`` are the
    exact moments of the first ``p`` nonlinear features (``models.rf_feature_moments`` of the
    first ``max(p)`` rows, computed once: ``O(P^2 d)``, plus ``O(P^2 K)`` for a Mehler series
    of ``K`` terms), then a dense ``eigh`` of the ``p x p`` block per distinct width
    (``O(p^3)`` each, on the host; ``method`` is not used).  Measured (2 shared CPU cores,
    single-threaded BLAS, warm): erf, d = 40, P = 320, widths 160 and 320: 0.02 s (0.01 s
    for the Gaussian equivalent); P = 2000, widths 250-2000: 2.7 s; tanh (Mehler series),
    d = 60, P = 480, 2 widths: 1.4 s.  Memory: ``8 P^2`` bytes for ``M``.  The label second
    moment and the status rules are the same.

    ``radial``: the radial correction for ReLU features at finite ``d``
    (:mod:`asymptotics._rf_radial`; use it with ``second_moment="exact"``): min-norm
    interpolation points (ridgeless ``p > n``) see the training noise ``sigma^2 d/(d-2)``,
    least-squares points (ridgeless ``p < n``) the misspecification scaled by ``(d+2)/d``;
    ridge points are unchanged.  Raises ``InputError`` for other activations.

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
    check_choice("method", method, ("prefix", "padded", "bucketed"))
    check_choice("second_moment", second_moment, SECOND_MOMENTS)
    if not isinstance(task, RFTask):
        raise InputError(f"task: got {type(task).__name__}; allowed: a models.RFTask")
    if radial:
        return _radial_dense(task, p, n, ridge, throw=throw, method=method,
                             second_moment=second_moment)
    p, n, ridge = task.grid_axes(p, n, ridge)
    shape, flat = _grid.broadcast_grid(p=p, n=n, ridge=ridge)
    widths, index = np.unique(flat["p"], return_inverse=True)
    if second_moment == "exact":
        atoms = exact_width_atoms(models.rf_feature_moments(task, int(widths.max())), widths)
    else:
        atoms = width_atoms(rf_spectrum(task), widths, method=method)
    size, padded = _grid.pad({"i": index.ravel(), "n": flat["n"], "ridge": flat["ridge"]})
    out = _atoms_grid(atoms, jnp.asarray(padded["i"]), jnp.asarray(padded["n"], jnp.float64),
                      jnp.asarray(padded["ridge"], jnp.float64))
    res = _grid.unpack(out, DensePoint, size, shape)
    if throw:
        raise_if_failed(res["status"], "rf_dense_risk (fixed point)")
    return DenseRiskCurve(p=flat["p"].reshape(shape), n=flat["n"].reshape(shape),
                          ridge=flat["ridge"].reshape(shape), **res)


def _radial_dense(task: RFTask, p, n, ridge, **kw) -> DenseRiskCurve:
    """:func:`rf_dense_risk` with ``radial=True`` (:mod:`asymptotics._rf_radial`)."""
    from ._rf_radial import check_radial, inflated_task, radial_moments

    check_radial(task)
    base = rf_dense_risk(task, p, n, ridge, **kw)
    task_in, give_back = inflated_task(task)
    infl = rf_dense_risk(task_in, p, n, ridge, **kw)
    sigma2 = float(task.noise) ** 2
    _, e_r4 = radial_moments(task.d)
    ridgeless = base.ridge == 0
    interp = ridgeless & (base.p > base.n)
    ols = ridgeless & (base.p < base.n)
    # least squares: excess (sigma^2 + E r^4 m^2) p/(n - p - 1), written on the theory's own
    # variance factor (variance / sigma_eff^2) so that only the noise level changes
    misfit = base.sigma_p2 - sigma2
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(base.sigma_p2 > 0, base.variance / base.sigma_p2, 0.0)
    ols_var = (sigma2 + e_r4 * misfit) * factor
    variance = np.where(interp, infl.variance, np.where(ols, ols_var, base.variance))
    sigma_p2 = np.where(interp, infl.sigma_p2 - give_back, base.sigma_p2)
    risk = np.where(interp, infl.risk - give_back,
                    np.where(ols, base.sigma_p2 + base.bias + ols_var, base.risk))
    return dataclasses.replace(base, risk=risk, variance=variance, sigma_p2=sigma_p2)
