"""Pruned, retrained and train-small risks of random features (Gaussian equivalence).

Mathematics: ``docs/random_features.md`` (predictions) with the coordinate law of
:mod:`asymptotics._rf`.  The fitted second layer ``a`` of width ``p`` is the correlated
Gaussian ``(M + kappa)^{-1} M (beta_F + gamma M^{-1/2} g / sqrt(n))``; the diagonal closed
forms of ``docs/linear.md`` section 4 do not apply, so the pruned risk is the average over
``draws`` samples of ``a`` (common random numbers across grid points and rules):

* pruned (no retraining): ``R(a_S) = E y^2 - 2 a_S^T c + a_S^T M a_S`` with ``M a = V (V^T a)
  + mu_star^2 a`` (no ``p x p`` matrix);
* fresh-data retraining (OLS on a support ``S`` chosen independently of the new sample; the
  same for a ridge fit: the refit is unpenalised, as in the linear model):
  ``(E y^2 - c_S^T M_SS^{-1} c_S) (n - 1)/(n - s - 1)`` per draw (an ``s x s`` Cholesky
  solve), averaged over the draws.  Evaluating it once at the top ``s`` of the MEAN of ``a``
  is 26-50 % too low (``docs/random_features.md``): the average is what is returned;
* train-small baseline: the same formula on a data-independent support, the first ``s``
  features (the rows of ``W`` are exchangeable: any fixed support has the same law);
* same-data retraining has no closed form (selection bias): refused, as in the linear model.

Rules: magnitude keeps the ``s`` largest ``|a_i|``; saliency the largest ``M_ii a_i^2``
(equal to magnitude when ``diag M`` is constant); random a uniform support (independent of
``a``: its mean risk also has a closed form, used to test the sampler).  Every value comes
with its Monte Carlo standard error; one draw's pruned risk varies by ~15 %, so a standard
error below 0.3 % of the risk needs thousands of draws (default 4096, in chunks).
"""

from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import ndtr

import models
from models import InputError, RFTask
from models._errors import check_choice, check_int_range
from models._keys import check_key
from models._pruning_ops import rank_desc

from . import _grid
from ._pruning import SAME_DATA_MESSAGE
from ._rf import SECOND_MOMENTS, RFSpectrum, spectrum
from ._rf_law import (Basis, dense_basis_host, fast_basis, law_point, rf_coordinate_law,
                      sample_law)
from ._threshold import magnitude_threshold
from ._status import Status, raise_if_failed, status_names

#: rules the sampling theory supports (the oracle has no meaning conditional on W here)
RF_RULES = ("magnitude", "saliency", "random")
#: Measured relative error of ``diagonal=True`` (magnitude = saliency here) against sampling
#: (4096 draws, standard errors 0.06-0.4 %), E3 set-up (d = 50, n = 100, s = 40, ReLU
#: centred, keys 0 and 1): it is large near the interpolation peak and small far from it.
#: Gaussian rows (d = 20, n = 50, s = 15): +50 % (p = 30), +25 % (80), +7.5 % (120),
#: +1.5 % (200) for magnitude, similar for saliency.  The random rule is exact.
DIAGONAL_ERROR = {150: (0.332, 0.338), 200: (0.140, 0.139), 400: (0.003, 0.002),
                  800: (-0.007, -0.006)}
#: default number of draws of the coordinate law, and draws per chunk
DRAWS = 4096
CHUNK = 256


def _draw_stats(a, key, rules, V, t, ms2, Ey2, p, s, n, smax, fresh, gram=None):
    """Per rule: pruned risk (and fresh-retrained risk) of each draw in ``a`` (``(C, P)``).

    ``gram``: ``M`` itself (``P x P``) when ``V`` is a square factor (the exact-moment path):
    ``M a`` is then one product and ``M_SS`` a gather instead of ``V_S V_S^T``."""
    P = V.shape[0]
    c = V @ t
    diag_m = (jnp.sum(V * V, axis=1) if gram is None else jnp.diagonal(gram)) + ms2
    inside = jnp.arange(P) < p
    out = []
    for rule in rules:
        if rule == "magnitude":
            score = jnp.abs(a)
        elif rule == "saliency":
            score = diag_m * a * a
        else:
            score = jax.random.uniform(jax.random.fold_in(key, 1), a.shape, a.dtype)
        score = jnp.where(inside, score, -jnp.inf)
        order, rank = jax.vmap(rank_desc)(score)
        keep = (rank < s) & inside
        aS = jnp.where(keep, a, 0.0)
        Ma = ((aS @ V) @ V.T if gram is None else aS @ gram) + ms2 * aS
        risk = Ey2 - 2.0 * aS @ c + jnp.sum(aS * Ma, axis=1)
        if fresh:
            idx = order[:, :smax]
            valid = jnp.arange(smax) < s
            if gram is None:
                VS = jnp.where(valid[:, None], V[idx], 0.0)              # (C, smax, k)
                cS = VS @ t
                GSS = VS @ jnp.swapaxes(VS, 1, 2)
            else:
                cS = jnp.where(valid, c[idx], 0.0)
                GSS = jnp.where(valid[:, None] & valid[None, :],
                                gram[idx[:, :, None], idx[:, None, :]], 0.0)
            MSS = GSS + jax.vmap(jnp.diag)(jnp.where(valid, ms2[idx], 1.0))
            L = jnp.linalg.cholesky(MSS)
            z = jax.scipy.linalg.solve_triangular(L, cS[..., None], lower=True)[..., 0]
            refit = (Ey2 - jnp.sum(z * z, axis=1)) * (n - 1.0) / (n - s - 1.0)
            out.append(jnp.stack([risk, refit]))
        else:
            out.append(jnp.stack([risk, risk]))
    return jnp.stack(out)                                                # (rules, 2, C)


def _point(b: Basis, V, t, ms2, Ey2, p, s, n, ridge, key, *, rules, fresh, chunks, chunk,
           smax, gram=None):
    law = law_point(b, Ey2, n, ridge, peak_direction=True)
    dp = law.dense
    diverged = dp.status == Status.DIVERGED

    def body(acc, k):
        ka, kr = jax.random.split(k)
        a = sample_law(law, b.vectors, ka, chunk, p)
        x = _draw_stats(a, kr, rules, V, t, ms2, Ey2, p, s, n, smax, fresh, gram)
        return (acc[0] + jnp.sum(x, -1), acc[1] + jnp.sum(x * x, -1)), None

    zero = jnp.zeros((len(rules), 2), V.dtype)
    (s1, s2), _ = jax.lax.scan(body, (zero, zero), jax.random.split(key, chunks))
    B = chunks * chunk
    mean = s1 / B
    se = jnp.sqrt(jnp.maximum(s2 - B * mean * mean, 0.0) / (B - 1.0) / B)
    ok = dp.status != Status.NOT_CONVERGED
    st_none = jnp.where(ok, jnp.where(diverged, Status.DIVERGED, Status.CONVERGED),
                        Status.NOT_CONVERGED)
    st_fresh = jnp.where(ok & jnp.isfinite(mean[:, 1]), Status.CONVERGED, Status.NOT_CONVERGED)
    nan = jnp.asarray(jnp.nan, V.dtype)
    pruned = jnp.where(ok, jnp.where(diverged, jnp.inf, mean[:, 0]), nan)
    pruned_se = jnp.where(ok & ~diverged, se[:, 0], jnp.where(diverged, 0.0, nan))
    return dict(kappa=dp.kappa, dense_risk=dp.risk, pruned=pruned, pruned_se=pruned_se,
                fresh=jnp.where(ok, mean[:, 1], nan), fresh_se=jnp.where(ok, se[:, 1], nan),
                status_none=st_none.astype(jnp.int32) * jnp.ones(len(rules), jnp.int32),
                status_fresh=st_fresh.astype(jnp.int32))


@partial(jax.jit, static_argnames=("rules", "fresh", "chunks", "chunk", "smax"))
def _fast_grid(V, t, ms2v, Ey2, p, s, n, ridge, key, *, rules, fresh, chunks, chunk, smax):
    def f(x):
        pp, ss, nn, rr = x
        b = fast_basis(V, t, ms2v[0], pp)
        return _point(b, V, t, ms2v, Ey2, pp, ss, nn, rr, key, rules=rules, fresh=fresh,
                      chunks=chunks, chunk=chunk, smax=smax)
    return jax.lax.map(f, (p, s, n, ridge))


@partial(jax.jit, static_argnames=("rules", "fresh", "chunks", "chunk", "smax"))
def _dense_grid(bases, V, t, ms2v, Ey2, index, p, s, n, ridge, key, gram=None, *, rules, fresh,
                chunks, chunk, smax):
    def f(x):
        i, pp, ss, nn, rr = x
        b = Basis(*(y[i] for y in bases))
        return _point(b, V, t, ms2v, Ey2, pp, ss, nn, rr, key, rules=rules, fresh=fresh,
                      chunks=chunks, chunk=chunk, smax=smax, gram=gram)
    return jax.lax.map(f, (index, p, s, n, ridge))


@dataclasses.dataclass(frozen=True)
class RFPrunedRiskCurve:
    """Pruned random-features theory on a grid (NumPy); rule-dependent arrays have a
    trailing rule axis.

    ``risk`` / ``stderr``: the requested ``retrain`` mode's mean over ``draws`` samples of
    the coordinate law and its standard error; ``pruned``/``pruned_se`` (no retraining) are
    always there, ``fresh``/``fresh_se`` when ``retrain='fresh'``.  ``train_small``: OLS on
    the first ``keep`` features (exact, no sampling; ``inf`` at ``keep = n - 1``).
    ``status`` per (point, rule) of ``risk``: DIVERGED (``inf``) for the pruned risk at the
    ridgeless peak (the fresh refit stays finite there: the support is chosen along the
    exploding noise), NOT_CONVERGED if the fixed point failed."""

    p: np.ndarray
    keep: np.ndarray
    n: np.ndarray
    ridge: np.ndarray
    rules: tuple[str, ...]
    retrain: str
    draws: int
    kappa: np.ndarray
    dense_risk: np.ndarray
    risk: np.ndarray
    stderr: np.ndarray
    status: np.ndarray
    pruned: np.ndarray
    pruned_se: np.ndarray
    train_small: np.ndarray
    fresh: np.ndarray | None = None
    fresh_se: np.ndarray | None = None

    def rows(self) -> list[dict]:
        """One dict per (grid point, rule): ``p, n, ridge, keep, rule, retrain, kappa,
        dense_risk, risk, stderr, draws, train_small, status``."""
        flat = lambda a: a.reshape(-1, *a.shape[len(self.p.shape):])  # noqa: E731
        P, K, N, R, kap, dr, ts = (flat(a) for a in (self.p, self.keep, self.n, self.ridge,
                                                      self.kappa, self.dense_risk,
                                                      self.train_small))
        risk, se, st = flat(self.risk), flat(self.stderr), flat(self.status)
        return [dict(p=int(P[i]), n=int(N[i]), ridge=float(R[i]), keep=int(K[i]), rule=rule,
                     retrain=self.retrain, kappa=float(kap[i]), dense_risk=float(dr[i]),
                     risk=float(risk[i, j]), stderr=float(se[i, j]), draws=self.draws,
                     train_small=float(ts[i]), status=str(status_names(st[i, j])))
                for i in range(P.shape[0]) for j, rule in enumerate(self.rules)]


def rf_train_small(task: RFTask, keep, n=None, *,
                   second_moment: str = "gaussian-equivalent", radial: bool = False) -> np.ndarray:
    """OLS trained directly on the first ``keep`` features (a data-independent support):
    ``(E y^2 - c_S^T M_SS^{-1} c_S) (n - 1)/(n - keep - 1)`` (exact for the Gaussian
    equivalent; with ``second_moment="exact"``, ``M`` and ``c`` are the exact moments of the
    nonlinear features); ``inf`` at ``keep = n - 1``, NaN for ``keep >= n``.  Host side,
    float64.  ``radial``: the least-squares radial correction for ReLU
    (:mod:`asymptotics._rf_radial`): the misspecification's share of the excess scaled by
    ``(d+2)/d``."""
    models.require_x64("rf_train_small")
    check_choice("second_moment", second_moment, SECOND_MOMENTS)
    if radial:
        from ._rf_radial import check_radial

        check_radial(task)
        base = rf_train_small(task, keep, n, second_moment=second_moment)
        return _radial_ols(task, base, keep, task.n if n is None else n)
    keep = check_int_range("keep", keep, 1, task.pool_size)
    spec = spectrum(task, second_moment, int(np.max(keep)))
    n = check_int_range("n", task.n if n is None else n, 1)
    keep, n = np.broadcast_arrays(keep, n)
    cache = {}
    for s in np.unique(keep):
        V = spec.features[:s]
        cS = V @ spec.target
        L = np.linalg.cholesky(V @ V.T + np.diag(spec.mu_star2[:s]))
        z = np.linalg.solve(L, cS)
        cache[int(s)] = spec.label_second_moment - float(z @ z)
    sig = np.vectorize(cache.__getitem__, otypes=[float])(keep)
    kf, nf = keep.astype(float), n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(keep < n - 1, sig * (nf - 1) / (nf - kf - 1),
                        np.where(keep == n - 1, np.inf, np.nan))


def _diagonal_point(task: RFTask, spec, p: int, s: int, n: int, ridge: float, rules,
                    second_moment: str):
    """Independent-coordinate approximation at one point (host; see ``diagonal`` in
    :func:`rf_pruned_risk`).  Returns ``(kappa, dense, risks per rule, status)``."""
    law = rf_coordinate_law(task, p=p, n=n, ridge=ridge, throw=False,
                            second_moment=second_moment)
    if law.status != Status.CONVERGED:
        val = np.inf if law.status == Status.INVALID else np.nan
        st = Status.DIVERGED if law.status == Status.INVALID else law.status
        return law.kappa, law.gamma2, [val] * len(rules), [int(st)] * len(rules)
    V, ms2 = spec.features[:p], spec.mu_star2[:p]
    c = V @ spec.target
    Ey2 = spec.label_second_moment
    diag_m = np.sum(V * V, axis=1) + ms2
    m, var = law.mean, law.variance
    sd = np.sqrt(var)
    matvec = lambda x: V @ (V.T @ x) + ms2 * x  # noqa: E731
    risks, status = [], []
    for rule in rules:
        if rule == "random":          # exact: the support is independent of a
            q1, q2 = s / p, s * (s - 1) / (p * (p - 1)) if p > 1 else 0.0
            U, r = law.vectors, law.rest_sd
            lam_cols = np.sum(U * (V @ (V.T @ U) + ms2[:, None] * U), axis=0)
            # tr(M C), C = r^2 I + U diag((r + scale)^2 - r^2) U^T
            trace_mc = np.sum(lam_cols * ((law.scale + r) ** 2 - r**2)) + r**2 * np.sum(diag_m)
            second_diag = m * m + var
            risks.append(Ey2 - 2 * q1 * c @ m + q2 * (m @ matvec(m) + trace_mc)
                         + (q1 - q2) * np.sum(diag_m * second_diag))
            status.append(int(Status.CONVERGED))
            continue
        scale = np.sqrt(diag_m) if rule == "saliency" else np.ones(p)
        thr = magnitude_threshold(jnp.asarray(scale * m), jnp.asarray(scale * sd),
                                  jnp.ones(p), float(s), throw=False)
        a = float(thr.value) / scale
        z_hi, z_lo = (a - m) / sd, (-a - m) / sd
        e1 = m * ndtr(-z_hi) + sd * _phi(z_hi) + m * ndtr(z_lo) - sd * _phi(z_lo)
        e2 = ((m * m + var) * ndtr(-z_hi) + (2 * m * sd + var * z_hi) * _phi(z_hi)
              + (m * m + var) * ndtr(z_lo) - (2 * m * sd + var * z_lo) * _phi(z_lo))
        risks.append(Ey2 - 2 * c @ e1 + e1 @ matvec(e1) + np.sum(diag_m * (e2 - e1 * e1)))
        status.append(int(thr.status))
    return law.kappa, law.gamma2, risks, status


def _phi(z):
    return np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)


def rf_pruned_risk(task: RFTask, p, keep, rule=RF_RULES, n=None, ridge=None, *,
                   retrain: str = "none", draws: int = DRAWS, key=None,
                   diagonal: bool = False, throw: bool = True,
                   second_moment: str = "gaussian-equivalent",
                   radial: bool = False) -> RFPrunedRiskCurve:
    """Pruned (and fresh-retrained) test risk of random features by sampling the coordinate
    law, on a ``(p, keep, n, ridge)`` grid (module docstring), one compiled call.

    Args:
      task: a ``models.RFTask``.  p, keep, n, ridge: grid axes (broadcast together).
      rule: one or several of ``magnitude``, ``saliency``, ``random``.
      retrain: ``none`` or ``fresh`` (``same`` raises ``ValueError``: no closed form).
      draws: samples of the coordinate law per point (rounded up to a multiple of 256).
      key: a PRNG key (required unless ``diagonal``; the same draws serve every grid point
        and rule: common random numbers).
      diagonal: no sampling.  Magnitude and saliency by the independent-coordinate
        approximation: the coordinates keep their marginal laws ``N(m_i, v_i^2)`` but are
        treated as independent, the threshold solves ``sum_i P(|a_i| >= c) = s``
        (:func:`asymptotics.magnitude_threshold`; saliency on ``sqrt(M_ii) |a_i|``) and
        ``R = E y^2 - 2 c^T e1 + e1^T M e1 + sum_i M_ii (e2_i - e1_i^2)`` with
        ``e1_i = E[a_i; kept]``, ``e2_i = E[a_i^2; kept]`` (truncated-Gaussian moments,
        ``docs/linear.md`` section 4).  Measured error against sampling (E3, key 0,
        4096 draws): see :data:`DIAGONAL_ERROR`.  The random rule is then its exact closed
        form (a uniform support of size ``s`` independent of ``a``:
        ``E y^2 - 2 q1 c^T m + q2 (m^T M m + tr M C) + (q1 - q2) sum_i M_ii (m_i^2 + C_ii)``,
        ``q1 = s/p``, ``q2 = s(s-1)/(p(p-1))``).  Standard errors are 0; ``retrain='fresh'``
        is refused (it needs the supports of draws).  Host loop over grid points.
      second_moment: ``"gaussian-equivalent"`` (default) or ``"exact"``: the finite-``d``
        correction of :func:`asymptotics.rf_dense_risk` for every quantity here (coordinate
        law, pruned, fresh-retrained and train-small risks): ``M`` and ``c`` are the exact
        moments of the nonlinear features (:func:`asymptotics._rf.exact_spectrum`; dense
        path, ``O(P^3)`` once plus one ``p x p`` ``eigh`` per width).
      radial: the radial correction for ReLU at finite ``d`` (:mod:`asymptotics._rf_radial`;
        with ``second_moment="exact"``): at min-norm interpolation points (ridgeless ``p >
        n``) the coordinate law is drawn with the training noise ``sigma^2 d/(d-2)`` and the
        test risk keeps ``sigma^2``; every least-squares refit (fresh, train-small) scales
        the misspecification's share of its excess by ``(d+2)/d``.  Pruned risks at ridge or
        ``p < n`` points are unchanged.  Not with ``diagonal``.

    Example:
      >>> task = models.RFTask.draw(jax.random.key(0), d=20, pool=100, n=40, noise=0.5)
      >>> th = asy.rf_pruned_risk(task, p=100, keep=10, rule="magnitude", draws=512,
      ...                         key=jax.random.key(1))
      >>> bool(th.stderr[0] < 0.02 * th.risk[0]), th.draws
      (True, 512)
    """
    models.require_x64("rf_pruned_risk")
    check_choice("retrain", retrain, models.RETRAIN)
    if retrain == "same":
        raise ValueError(SAME_DATA_MESSAGE.replace("docs/linear.md section 4",
                                                   "docs/random_features.md"))
    rules = models.check_rules(rule)
    bad = [r for r in rules if r not in RF_RULES]
    if bad:
        raise InputError(f"rule: {bad[0]!r} is not available for random features; allowed: "
                         + ", ".join(RF_RULES))
    draws = int(check_int_range("draws", draws, 2))
    check_choice("second_moment", second_moment, SECOND_MOMENTS)
    if radial:
        if diagonal:
            raise InputError("radial: got diagonal=True; allowed: radial=True with sampling "
                             "(diagonal=False)")
        return _radial_pruned(task, p, keep, rules, n, ridge, retrain=retrain, draws=draws,
                              key=key, throw=throw, second_moment=second_moment)
    if diagonal:
        if retrain == "fresh":
            raise InputError("retrain: 'fresh' needs sampled supports; allowed: "
                             "retrain='none' with diagonal=True")
        return _diagonal_curve(task, p, keep, rules, n, ridge, throw, second_moment)
    if key is None:
        raise InputError("key: missing; allowed: a PRNG key from jax.random.key")
    check_key("key", key)
    shape, flat = _pruned_grid(task, p, keep, n, ridge)
    spec = spectrum(task, second_moment, int(flat["p"].max()))
    fresh = retrain == "fresh"
    if fresh and np.any(flat["keep"] >= flat["n"] - 1):
        raise InputError("keep: retraining by least squares needs keep < n - 1; allowed: "
                         f"keep in [1, n - 2] (n = {int(flat['n'].min())})")
    chunk = min(CHUNK, draws)
    chunks = -(-draws // chunk)
    smax = _grid.bucket(int(flat["keep"].max())) if fresh else 1
    size, pad = _grid.pad(flat)
    V, t = jnp.asarray(spec.features), jnp.asarray(spec.target)
    ms2, Ey2 = jnp.asarray(spec.mu_star2), jnp.asarray(spec.label_second_moment)
    args = (jnp.asarray(pad["p"]), jnp.asarray(pad["keep"], jnp.float64),
            jnp.asarray(pad["n"], jnp.float64), jnp.asarray(pad["ridge"], jnp.float64), key)
    static = dict(rules=rules, fresh=fresh, chunks=chunks, chunk=chunk, smax=min(smax, V.shape[0]))
    if spec.fast:
        out = _fast_grid(V, t, ms2, Ey2, *args, **static)
        res = _grid.unpad(out, size, shape)
    elif second_moment == "exact":
        res = _exact_buckets(spec, flat, key, shape, static)
    else:
        widths, index = np.unique(pad["p"], return_inverse=True)
        bases = [dense_basis_host(spec, int(w)) for w in widths]
        stacked = Basis(*(jnp.stack(c) for c in zip(*bases)))
        out = _dense_grid(stacked, V, t, ms2, Ey2, jnp.asarray(index.ravel()), *args, **static)
        res = _grid.unpad(out, size, shape)
    status = res["status_fresh" if fresh else "status_none"]
    if throw:
        raise_if_failed(status, "rf_pruned_risk (fixed point)")
    small = rf_train_small(task, flat["keep"].reshape(shape), flat["n"].reshape(shape),
                           second_moment=second_moment)
    grid = {k: flat[k].reshape(shape) for k in ("p", "keep", "n", "ridge")}
    return RFPrunedRiskCurve(
        **grid, rules=rules, retrain=retrain, draws=chunks * chunk, kappa=res["kappa"],
        dense_risk=res["dense_risk"], risk=res["fresh" if fresh else "pruned"],
        stderr=res["fresh_se" if fresh else "pruned_se"], status=status, pruned=res["pruned"],
        pruned_se=res["pruned_se"], train_small=small,
        fresh=res["fresh"] if fresh else None, fresh_se=res["fresh_se"] if fresh else None)


def _exact_buckets(spec, flat, key, shape, static) -> dict:
    """The exact-moment (dense) path, widths grouped by the power of two above them: a width
    ``p`` only needs the leading ``b x b`` block of the triangular factor ``L`` (rows ``< p``
    have no entry beyond column ``p``), so each bucket samples and evaluates in ``O(b^2)`` per
    draw instead of ``O(P^2)``; one compilation per bucket.  The draws of a point depend on
    its bucket size (common random numbers hold within a bucket)."""
    P = spec.features.shape[0]
    buckets = np.minimum([_grid.bucket(int(w)) for w in flat["p"]], P)
    parts = {}
    for b in np.unique(buckets):
        b = int(b)
        sel = np.flatnonzero(buckets == b)
        sub = RFSpectrum(features=spec.features[:b, :b], target=spec.target[:b],
                         mu_star2=spec.mu_star2[:b],
                         label_second_moment=spec.label_second_moment, fast=False,
                         coefficients=spec.coefficients)
        size, pad = _grid.pad({k: v[sel] for k, v in flat.items()})
        widths, index = np.unique(pad["p"], return_inverse=True)
        stacked = Basis(*(jnp.stack(c) for c in zip(*(dense_basis_host(sub, int(w))
                                                       for w in widths))))
        out = _dense_grid(stacked, jnp.asarray(sub.features), jnp.asarray(sub.target),
                          jnp.asarray(sub.mu_star2), jnp.asarray(sub.label_second_moment),
                          jnp.asarray(index.ravel()), jnp.asarray(pad["p"]),
                          jnp.asarray(pad["keep"], jnp.float64),
                          jnp.asarray(pad["n"], jnp.float64),
                          jnp.asarray(pad["ridge"], jnp.float64), key,
                          jnp.asarray(sub.features @ sub.features.T),
                          **{**static, "smax": min(static["smax"], b)})
        for name, v in _grid.unpad(out, size, (size,)).items():
            if name not in parts:
                parts[name] = np.zeros((len(flat["p"]),) + v.shape[1:], v.dtype)
            parts[name][sel] = v
    return {k: v.reshape(shape + v.shape[1:]) for k, v in parts.items()}


def _pruned_grid(task, p, keep, n, ridge):
    """Validated, broadcast ``(p, keep, n, ridge)`` grid: ``(shape, flat axes)``; ``keep <= p``."""
    p, n, ridge = task.grid_axes(p, n, ridge)
    keep = check_int_range("keep", keep, 1)
    shape, flat = _grid.broadcast_grid(p=p, keep=keep, n=n, ridge=ridge)
    if np.any(flat["keep"] > flat["p"]):
        i = int(np.flatnonzero(flat["keep"] > flat["p"])[0])
        raise InputError(f"keep: got {flat['keep'][i]} with p = {flat['p'][i]}; allowed: "
                         "integers in [1, p]")
    return shape, flat


def _diagonal_curve(task, p, keep, rules, n, ridge, throw, second_moment) -> RFPrunedRiskCurve:
    shape, flat = _pruned_grid(task, p, keep, n, ridge)
    spec = spectrum(task, second_moment, int(flat["p"].max()))
    pts = [_diagonal_point(task, spec, int(pp), int(ss), int(nn), float(rr), rules,
                           second_moment)
           for pp, ss, nn, rr in zip(flat["p"], flat["keep"], flat["n"], flat["ridge"])]
    kappa = np.array([x[0] for x in pts]).reshape(shape)
    dense = np.array([x[1] for x in pts]).reshape(shape)
    risk = np.array([x[2] for x in pts], np.float64).reshape(shape + (len(rules),))
    status = np.array([x[3] for x in pts], np.int32).reshape(shape + (len(rules),))
    if throw:
        raise_if_failed(status, "rf_pruned_risk (diagonal: fixed point or threshold)")
    small = rf_train_small(task, flat["keep"].reshape(shape), flat["n"].reshape(shape),
                           second_moment=second_moment)
    grid = {k: flat[k].reshape(shape) for k in ("p", "keep", "n", "ridge")}
    zero = np.zeros_like(risk)
    return RFPrunedRiskCurve(**grid, rules=rules, retrain="none", draws=0, kappa=kappa,
                             dense_risk=dense, risk=risk, stderr=zero, status=status,
                             pruned=risk, pruned_se=zero, train_small=small)


def _radial_ols(task: RFTask, risk, keep, n):
    """Least-squares risks ``(sigma^2 + m^2)(n-1)/(n-k-1)`` with the radial correction:
    ``sigma^2 + m^2 + (sigma^2 + E[r^4] m^2) k/(n-k-1)`` (:mod:`asymptotics._rf_radial`)."""
    from ._rf_radial import ols_excess, radial_moments

    _, e_r4 = radial_moments(task.d)
    sigma2 = float(task.noise) ** 2
    k = np.asarray(keep, float)
    nf = np.asarray(n, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        misfit = np.asarray(risk) * (nf - k - 1) / (nf - 1) - sigma2
        out = sigma2 + misfit + ols_excess(sigma2, misfit, k, nf, e_r4)
    return np.where(k < nf - 1, out, risk)


def _radial_pruned(task, p, keep, rules, n, ridge, *, retrain, draws, key, throw,
                   second_moment) -> RFPrunedRiskCurve:
    """:func:`rf_pruned_risk` with ``radial=True`` (:mod:`asymptotics._rf_radial`)."""
    from ._rf import rf_dense_risk
    from ._rf_radial import check_radial, inflated_task, radial_moments

    check_radial(task)
    kw = dict(rule=rules, n=n, ridge=ridge, retrain=retrain, draws=draws, key=key, throw=throw,
              second_moment=second_moment)
    base = rf_pruned_risk(task, p, keep, **kw)
    task_in, give_back = inflated_task(task)
    infl = rf_pruned_risk(task_in, p, keep, **kw)
    interp = (base.ridge == 0) & (base.p > base.n)
    r_interp = interp[..., None]
    dense = rf_dense_risk(task, p=base.p.ravel(), n=base.n.ravel(), ridge=base.ridge.ravel(),
                          throw=False, second_moment=second_moment, radial=True)
    pruned = np.where(r_interp, infl.pruned - give_back, base.pruned)
    pruned_se = np.where(r_interp, infl.pruned_se, base.pruned_se)
    status = np.where(r_interp, infl.status, base.status)
    small = _radial_ols(task, base.train_small, base.keep, base.n)
    fresh = fresh_se = None
    if retrain == "fresh":
        _, e_r4 = radial_moments(task.d)
        k, nf = base.keep[..., None].astype(float), base.n[..., None].astype(float)
        # the supports come from the (inflated) law of the dense fit; the refit is OLS
        raw = np.where(r_interp, infl.fresh - give_back * (nf - 1) / (nf - k - 1), base.fresh)
        fresh = _radial_ols(task, raw, k, nf)
        slope = (1.0 + e_r4 * k / (nf - k - 1)) * (nf - k - 1) / (nf - 1)
        fresh_se = np.where(r_interp, infl.fresh_se, base.fresh_se) * slope
    return dataclasses.replace(
        base, dense_risk=dense.risk.reshape(base.p.shape), pruned=pruned, pruned_se=pruned_se,
        status=status, train_small=small, fresh=fresh, fresh_se=fresh_se,
        risk=fresh if retrain == "fresh" else pruned,
        stderr=fresh_se if retrain == "fresh" else pruned_se)
