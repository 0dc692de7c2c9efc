"""Pruned, retrained and train-small risks for diagonal spectra (closed form).

Mathematics: ``docs/linear.md`` sections 3-4 (Chang, Li, Oymak, Thrampoulidis, AAAI 2021,
arXiv:2012.08749, Thm. 2 and Sec. 4).  The fit's coordinates are independent
``Z_i ~ N(m_i, v_i^2)`` with ``m_i = w_i beta_i``, ``v_i = w_i gamma / sqrt(n lambda_i)``.
For ``d = m - b``, ``z = (a - m) / v``:

    E[(Z - b)^2 1{Z > a}] = (d^2 + v^2) Q(z) + (2 d v + v^2 z) phi(z)
    E[(Z - b)^2 1{Z < a}] = (d^2 + v^2) Phi(z) - (2 d v + v^2 z) phi(z)

Rules keeping ``s`` of the ``p`` coordinates:

* magnitude (MP): keep ``|Z_i| >= c`` with ``sum_i P(|Z_i| >= c) = s`` (bracketed Newton in
  ``log c``, :func:`asymptotics.magnitude_threshold`; ``s = p`` gives ``c = 0``);
* saliency (HP, optimal brain damage, score ``lambda_i b_i^2``): the same with per-coordinate
  threshold ``c' / sqrt(lambda_i)``;
* oracle (OP): a data-independent support ``S`` (default :func:`models.oracle_mask`: the
  ``s`` largest ``lambda_i beta_i^2`` among the first ``p``, ties broken by pool order);
* random: each coordinate kept with probability ``s / p``.

With keep probabilities ``pi_i`` the pruned risk is

    R = sigma_p^2 + sum_{i <= p} lambda_i { E[(Z_i - beta_i)^2 ; kept] + beta_i^2 P(not kept) }.

Retraining by least squares on a support chosen independently of the retraining data (fresh
data, or any data-independent support), and training the small model directly on a fixed
support, have risk ``sigma_S^2 (n - 1)/(n - s - 1)`` exactly for Gaussian designs
(``sigma_S^2 / (1 - s/n)`` asymptotically), ``sigma_S^2 = sigma^2 + sum_{i not in S}
lambda_i beta_i^2``, averaged over the keep probabilities.  Retraining on the SAME data that
chose the support has no known closed form (selection bias); it is only simulated.

Noise 0.  Where ``gamma = 0`` (no noise and no unmodelled signal, ``p <= n`` ridgeless:
exact recovery) the coordinates are deterministic, ``Z_i = m_i``: magnitude and saliency
keep the ``s`` largest scores (ties by pool order) and the risk is evaluated directly.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

import models
from models import InputError, LinearTask
from models._errors import check_choice, check_int_range

from . import _grid
from ._dense import dense_risk_point
from ._normal import ndtr
from ._status import Status, raise_if_failed, status_names
from ._threshold import magnitude_threshold, tail_prob


def _phi(z):
    return jnp.exp(-0.5 * z**2) / jnp.sqrt(2 * jnp.pi)


def _sq_err_above(d, v, z):
    """E[(Z - b)^2 1{Z > a}] for Z ~ N(m, v^2), given ``d = m - b`` and ``z = (a - m)/v``."""
    return (d**2 + v**2) * ndtr(-z) + (2 * d * v + v**2 * z) * _phi(z)


def _sq_err_below(d, v, z):
    """E[(Z - b)^2 1{Z < a}] for Z ~ N(m, v^2), given ``d = m - b`` and ``z = (a - m)/v``."""
    return (d**2 + v**2) * ndtr(z) - (2 * d * v + v**2 * z) * _phi(z)


def _noiseless_keep(score, count, s):
    """Deterministic coordinates (``gamma = 0``: ``Z_i = m_i``): keep the ``s`` largest
    scores among the counted features, ties by pool order; the threshold is the smallest
    kept score (0 when everything is kept)."""
    keep = models.keep_top(jnp.where(count > 0, score, -jnp.inf), s) & (count > 0)
    c = jnp.where(s >= jnp.sum(count), 0.0, jnp.min(jnp.where(keep, score, jnp.inf)))
    return keep.astype(score.dtype), c


def pruned_point(task: LinearTask, p, s, n, ridge, rules: tuple[str, ...],
                 support_mask=None, *, noiseless: bool = True) -> dict:
    """Theory for one ``(p, s, n, ridge)`` and each rule in ``rules`` (pure; vmappable).

    Returns a dict of arrays with a leading ``len(rules)`` axis: ``risk`` (pruned, no
    retraining), ``retrain_exact``/``retrain_asymptotic`` (fresh-data retraining),
    ``threshold``, ``kept_signal`` (expected number of true-signal features kept),
    ``keep_prob`` (per pool feature), ``status`` (per rule: the dense fixed point's status
    combined with the threshold's), ``steps`` (threshold Newton steps; 0 for data-independent
    rules); plus the dense ``kappa``, ``dense_risk``, ``status_dense``.

    ``noiseless`` (static): also evaluate the deterministic-coordinate branch used where
    ``gamma = 0`` (noise 0 and no unmodelled signal: exact recovery, ``Z_i = m_i``); pass
    False when ``task.noise > 0`` to skip its sort.  The shrinkage ``1 - w_i`` is computed as
    ``kappa / (lambda_i + kappa)`` (no cancellation when ``w_i`` is close to 1).
    """
    lam, beta = task.eigenvalues, task.signal
    dt = lam.dtype
    n = jnp.asarray(n, dt)
    s = jnp.asarray(s, dt)
    dense = dense_risk_point(task, p, n, ridge)
    count = (jnp.arange(lam.shape[0]) < p).astype(dt)
    kappa = dense.kappa
    denom = lam + kappa
    w = lam / denom
    shrink = kappa / denom                              # 1 - w, without cancellation
    diverged = dense.status == Status.DIVERGED
    gamma = jnp.sqrt(jnp.where(diverged, 1.0, dense.risk))
    m = jnp.where(diverged, 0.0, w * beta)              # at the peak only the direction of
    d = jnp.where(diverged, -beta, -shrink * beta)      # the exploding noise picks the support
    v = w * gamma / jnp.sqrt(n * lam)                   # (m - beta = -(1 - w) beta)
    exact = noiseless & ~diverged & (gamma == 0)        # deterministic coordinates
    v_safe = jnp.where(exact, 1.0, v)
    beta2 = beta**2
    dense_ok = dense.status != Status.NOT_CONVERGED
    out = {k: [] for k in ("risk", "retrain_exact", "retrain_asymptotic", "threshold",
                           "kept_signal", "keep_prob", "status", "steps")}
    for rule in rules:
        ok = dense_ok
        steps = jnp.zeros((), jnp.int32)
        if rule in ("magnitude", "saliency"):
            score_scale = jnp.sqrt(lam) if rule == "saliency" else jnp.ones_like(lam)
            thr = magnitude_threshold(score_scale * m, score_scale * v_safe, count, s,
                                      throw=False)
            c, steps = thr.value, thr.steps
            ok = ok & (exact | (thr.status == Status.CONVERGED))
            a = c / score_scale
            keep = count * tail_prob(m, v_safe, a)
            # E[(Z - beta)^2 ; |Z| >= a]
            kept_sq = (_sq_err_above(d, v_safe, (a - m) / v_safe)
                       + _sq_err_below(d, v_safe, (-a - m) / v_safe))
            if noiseless:
                keep0, c0 = _noiseless_keep(score_scale * jnp.abs(m), count, s)
                keep = jnp.where(exact, keep0, keep)
                kept_sq = jnp.where(exact, keep0 * d**2, kept_sq)
                c = jnp.where(exact, c0, c)
                steps = jnp.where(exact, 0, steps)
        else:
            if rule == "oracle":
                keep = (models.oracle_mask(lam, beta, p, s) if support_mask is None
                        else support_mask * count)
            elif rule == "random":
                keep = count * s / jnp.sum(count)
            else:  # pragma: no cover  (validated on the host)
                raise ValueError(rule)
            c = jnp.asarray(jnp.nan, dt)
            kept_sq = keep * (d**2 + v**2)                # support independent of Z
        # P(not kept) >= 0: s/p rounds to 1 + 2^-52 under jit (keep = p, rule random), and
        # 1 - keep < 0 made the retrained risk negative, -1.8e-14 at noise 0 (found by
        # tests/test_properties.py)
        dropped = jnp.maximum(1.0 - keep, 0.0)
        pruned_excess = jnp.sum(count * lam * (kept_sq + beta2 * dropped))
        risk = jnp.where(diverged, jnp.inf, dense.sigma_p2 + pruned_excess)
        sigma_s2 = task.noise**2 + jnp.sum(lam * beta2 * dropped)
        out["risk"].append(jnp.where(ok, risk, jnp.nan))
        out["retrain_exact"].append(jnp.where(ok & (s < n - 1), sigma_s2 * (n - 1) / (n - s - 1), jnp.nan))
        out["retrain_asymptotic"].append(jnp.where(ok & (s < n), sigma_s2 / (1 - s / n), jnp.nan))
        out["threshold"].append(jnp.where(ok, c, jnp.nan))
        out["kept_signal"].append(jnp.sum(keep * (beta != 0)))
        out["keep_prob"].append(keep)
        out["status"].append(jnp.where(ok, jnp.where(diverged, Status.DIVERGED, Status.CONVERGED),
                                       Status.NOT_CONVERGED).astype(jnp.int32))
        out["steps"].append(steps.astype(jnp.int32))
    res = {k: jnp.stack(v) for k, v in out.items()}
    res.update(kappa=dense.kappa, dense_risk=dense.risk, status_dense=dense.status)
    return res


@partial(jax.jit, static_argnames=("rules", "noiseless"))
def _pruned_grid(task, p, s, n, ridge, support_mask, *, rules, noiseless):
    f = lambda pp, ss, nn, rr: pruned_point(task, pp, ss, nn, rr, rules, support_mask,  # noqa: E731
                                            noiseless=noiseless)
    return jax.vmap(f)(p, s, n, ridge)


@partial(jax.jit, static_argnames=("rules",))
def _pruned_curve_grid(task, p, s, n, ridge, support_mask, *, rules):
    """:func:`_pruned_grid` solved as a curve (:mod:`asymptotics._pruned_curve`: continuation
    of the threshold along the sorted grid, truncated passes; noise > 0, no keep
    probabilities); same values to ~1e-12."""
    from ._pruned_curve import pruned_curve

    return pruned_curve(task, p, s, n, ridge, support_mask, rules)


#: ``pruned_risk`` solves the grid as a curve (:func:`_pruned_curve_grid`) on a CPU when
#: ``points x pool`` reaches this many feature evaluations per pass and the task has noise.
#: The curve costs ~2.4 s more to compile than the per-point ``vmap`` and saves ~3e-7 s per
#: point and feature (200 points over 10^4 features, 3 rules: 0.16 s instead of 0.75 s;
#: 2-core CPU, ``benchmarks/bench_pruned.py``), so a single call breaks even near 8e6; the
#: command line's persistent compilation cache pays the compile once per machine, hence the
#: lower bound (a 200-point curve over a pool of 10^4).  On an accelerator the per-point
#: ``vmap`` stays (one parallel pass over the whole grid per step).
PRUNED_CURVE_MIN_WORK = 1 << 21


def _use_curve(task, points: int, keep_probabilities: bool) -> bool:
    return (points * task.pool_size >= PRUNED_CURVE_MIN_WORK and float(task.noise) > 0
            and not keep_probabilities and jax.default_backend() == "cpu")


@dataclasses.dataclass(frozen=True)
class PrunedRiskCurve:
    """Pruned-risk theory on a grid; rule-dependent arrays have a trailing rule axis.

    ``risk``: the risk of the requested retraining mode ``retrain`` (``none``: pruned, no
    retraining; ``fresh``: ``retrain_exact``; ``same``: ``retrain_same``), as in
    :class:`asymptotics.RFPrunedRiskCurve`; ``pruned``: always the pruned risk without
    retraining.  ``retrain_exact`` / ``retrain_asymptotic``: retraining on fresh data (or any
    data-independent support).  ``train_small_*``: OLS
    trained directly on the ``keep`` best features of the whole pool (the "train the small
    model on the known features" baseline, :func:`train_small_risk`).  ``status``: a :class:`Status`
    code per (point, rule).  ``steps``: Newton steps of the threshold per (point, rule)
    (passes over the features = steps + 1; 0 for the oracle and random rules; for a grid
    solved as a curve, the passes of the continuation, 2, plus the bracketed solver's steps
    where it took over).
    ``keep_prob`` only when requested.
    """

    p: np.ndarray
    keep: np.ndarray
    n: np.ndarray
    ridge: np.ndarray
    rules: tuple[str, ...]
    kappa: np.ndarray
    dense_risk: np.ndarray
    risk: np.ndarray
    retrain_exact: np.ndarray
    retrain_asymptotic: np.ndarray
    threshold: np.ndarray
    kept_signal: np.ndarray
    status: np.ndarray
    train_small_exact: np.ndarray
    train_small_asymptotic: np.ndarray
    keep_prob: np.ndarray | None = None
    steps: np.ndarray | None = None   # threshold Newton steps per (point, rule)
    #: same-data retraining (only from ``pruned_risk(..., retrain='same')``): the
    #: conditional-Gaussian prediction for magnitude / saliency, the exact fixed-support formula
    #: for oracle / random; its status and ``method`` per rule
    retrain_same: np.ndarray | None = None
    status_same: np.ndarray | None = None
    method_same: tuple[str, ...] | None = None
    #: the requested retraining mode (what ``risk`` holds) and the risk without retraining
    retrain: str = "none"
    pruned: np.ndarray | None = None

    def __post_init__(self):
        if self.pruned is None:
            object.__setattr__(self, "pruned", self.risk)

    def value(self, rule: str, retrain: str = "none") -> np.ndarray:
        """Risk for ``rule`` after ``retrain`` in {'none', 'fresh', 'same'} ('same' needs a
        curve computed with ``retrain='same'``)."""
        j = self.rules.index(rule)
        if retrain == "same":
            if self.retrain_same is None:
                raise ValueError(SAME_DATA_NOT_COMPUTED)
            return self.retrain_same[..., j]
        return (self.pruned if retrain == "none" else self.retrain_exact)[..., j]

    def rows(self, retrain: tuple[str, ...] | None = None) -> list[dict]:
        """One dict per (point, rule, retraining mode); ``retrain`` defaults to ``none`` plus
        the curve's own mode (``fresh`` or ``same``) when it is not ``none``."""
        if retrain is None:
            retrain = ("none",) + ((self.retrain,) if self.retrain != "none" else ())
        out = []
        flat = lambda a: a.reshape(-1, *a.shape[len(self.p.shape):])  # noqa: E731
        P, K, N, R = (flat(a) for a in (self.p, self.keep, self.n, self.ridge))
        kap, dr = flat(self.kappa), flat(self.dense_risk)
        risk, rte, thr, ks, st = (flat(a) for a in (self.pruned, self.retrain_exact,
                                                      self.threshold, self.kept_signal,
                                                      self.status))
        for i in range(P.shape[0]):
            for j, rule in enumerate(self.rules):
                for rt in retrain:
                    # method: exact finite-n formula, asymptotic closed form, or the
                    # conditional-Gaussian approximation (same data, magnitude / saliency)
                    if rt == "same" and self.retrain_same is None:
                        val, status, method = "", "no_theory", ""
                    elif rt == "same":
                        val = float(flat(self.retrain_same)[i, j])
                        status = str(status_names(flat(self.status_same)[i, j]))
                        method = self.method_same[j]
                    else:
                        val = float((risk if rt == "none" else rte)[i, j])
                        status = str(status_names(st[i, j]))
                        method = ("exact" if rt == "fresh" and rule in ("oracle", "random")
                                  else "asymptotic")
                    out.append(dict(p=int(P[i]), n=int(N[i]), ridge=float(R[i]), keep=int(K[i]),
                                    rule=rule, retrain=rt, kappa=float(kap[i]),
                                    dense_risk=float(dr[i]), risk=val,
                                    threshold=float(thr[i, j]), kept_signal=float(ks[i, j]),
                                    method=method, status=status))
        return out


SAME_DATA_NOT_COMPUTED = ("retrain='same': this curve holds no same-data prediction; compute "
                          "it with pruned_risk(..., retrain='same') or asymptotics.same_data_risk "
                          "(docs/same_data_retraining.md)")

#: the refusal of settings without a same-data theory (random features)
SAME_DATA_MESSAGE = ("retrain='same': retraining on the data that chose the support has no "
                     "known closed form (selection bias, docs/linear.md section 4); "
                     "simulate it with sims.pruned_risk(..., retrain='same')")


def pruned_risk(task: LinearTask, p, keep, rule=models.RULES, n=None, ridge=None, *,
                retrain: str = "none", support=None, keep_probabilities: bool = False,
                throw: bool = True) -> PrunedRiskCurve:
    """Theoretical test risk after pruning to ``keep`` weights, on a ``(p, keep, n, ridge)``
    grid, for each rule (one compiled ``vmap``; float64).

    Args:
      task: the linear task.  p, keep, n, ridge: grid axes (broadcast together).
      rule: one or several of ``magnitude``, ``saliency``, ``oracle``, ``random``.
      retrain: ``none``, ``fresh`` or ``same``.  ``same`` (refit on the data that chose the
        support): magnitude and saliency get the conditional-Gaussian APPROXIMATION of
        :func:`asymptotics.same_data_risk` (min-norm fits with ``p > n`` only; status INVALID
        elsewhere, ridge refused), oracle and random the exact fixed-support formula (their
        support does not depend on the data), in ``retrain_same``; ``method_same`` says which
        method per rule.  ``risk`` holds the requested mode's risk, ``pruned`` always the
        risk without retraining.
      support: optional user oracle support (indices, ``len == keep``, all ``< p``).
      keep_probabilities: also return the per-feature keep probabilities.

    Example:
      >>> task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
      >>> th = asy.pruned_risk(task, p=200, keep=10, rule=("magnitude", "oracle"))
      >>> th.risk.round(4).tolist(), round(float(th.threshold[0]), 6)   # E1
      ([0.6989, 0.525], 0.124103)
    """
    models.require_x64("pruned_risk")
    rules = models.check_rules(rule)
    check_choice("retrain", retrain, models.RETRAIN)
    p, n, ridge = task.grid_axes(p, n, ridge)
    keep = check_int_range("keep", keep, 1)
    shape, flat = _grid.broadcast_grid(p=p, keep=keep, n=n, ridge=ridge)
    bad = flat["keep"] > flat["p"]
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"keep: got {flat['keep'][i]} with p = {flat['p'][i]}; allowed: "
                         "integers in [1, p]")
    mask = np.zeros(task.pool_size)
    if support is not None:
        sup = check_int_range("support", np.ravel(support), 0, task.pool_size - 1)
        if np.unique(flat["keep"]).size != 1 or sup.size != flat["keep"][0] or np.unique(sup).size != sup.size:
            raise InputError(f"support: {sup.size} indices ({np.unique(sup).size} distinct) for "
                             f"keep = {np.unique(flat['keep']).tolist()}; allowed: exactly keep "
                             "distinct indices, with a single keep value")
        if sup.max() >= flat["p"].min():
            raise InputError(f"support: index {int(sup.max())} is outside the model (p = "
                             f"{int(flat['p'].min())}); allowed: indices in [0, p-1]")
        if "oracle" not in rules:
            raise InputError("support: given but rule 'oracle' not requested; allowed: "
                             "support only with rule='oracle'")
        mask[sup] = 1.0
    data_rules = tuple(r for r in rules if r in ("magnitude", "saliency"))
    if retrain == "same" and data_rules and np.any(flat["ridge"] != 0):
        from ._same_data import RIDGE_MESSAGE
        raise InputError(RIDGE_MESSAGE)
    if retrain != "none" and np.any(flat["keep"] >= flat["n"] - 1):
        raise InputError("keep: retraining by least squares needs keep < n - 1; allowed: "
                         f"keep in [1, n - 2] (n = {int(flat['n'].min())})")
    size, padded = _grid.pad(flat)
    args = (task, jnp.asarray(padded["p"]), jnp.asarray(padded["keep"], jnp.float64),
            jnp.asarray(padded["n"], jnp.float64), jnp.asarray(padded["ridge"]),
            None if support is None else jnp.asarray(mask))
    if _use_curve(task, len(padded["p"]), keep_probabilities):
        out = _pruned_curve_grid(*args, rules=rules)
    else:
        out = _pruned_grid(*args, rules=rules, noiseless=float(task.noise) == 0.0)
        if not keep_probabilities:
            out.pop("keep_prob")
    res = _grid.unpad(out, size, shape)
    if throw:
        raise_if_failed(res["status"], "pruned_risk (fixed point or threshold)")
    small = train_small_risk(task, keep=flat["keep"].reshape(shape), n=flat["n"].reshape(shape),
                             support=support, throw=False)
    same = {}
    if retrain == "same":
        same = _same_data_fields(task, flat, shape, rules, data_rules, res, throw)
    res["pruned"] = res["risk"]
    if retrain == "fresh":
        res["risk"] = res["retrain_exact"]
    elif retrain == "same":
        res["risk"] = same["retrain_same"]
    status_dense = res.pop("status_dense")
    del status_dense
    return PrunedRiskCurve(p=flat["p"].reshape(shape), keep=flat["keep"].reshape(shape),
                           n=flat["n"].reshape(shape), ridge=flat["ridge"].reshape(shape),
                           rules=rules, train_small_exact=small.exact,
                           train_small_asymptotic=small.asymptotic, retrain=retrain,
                           **res, **same)


def _same_data_fields(task, flat, shape, rules, data_rules, res, throw) -> dict:
    """``retrain_same``, ``status_same``, ``method_same`` of :func:`pruned_risk`: the
    conditional-Gaussian prediction for the data-dependent rules, the fixed-support formula
    (exact: the support does not depend on the data) for oracle and random."""
    value = res["retrain_exact"].copy()
    status = res["status"].copy()
    methods = []
    cg = None
    if data_rules:
        from ._same_data import METHOD, same_data_risk
        cg = same_data_risk(task, p=flat["p"].reshape(shape), keep=flat["keep"].reshape(shape),
                            n=flat["n"].reshape(shape), rule=data_rules, ridge=0.0, throw=throw)
    for j, rule in enumerate(rules):
        if rule in data_rules:
            k = data_rules.index(rule)
            value[..., j], status[..., j] = cg.risk[..., k], cg.status[..., k]
            methods.append(METHOD)
        else:
            methods.append("exact")
    return dict(retrain_same=value, status_same=status, method_same=tuple(methods))


@dataclasses.dataclass(frozen=True)
class TrainSmallRisk:
    """Risk of OLS trained directly on a fixed support of size ``keep`` (NumPy, grid shape).

    ``exact``: ``sigma_S^2 (n-1)/(n-s-1)``; ``asymptotic``: ``sigma_S^2 / (1 - s/n)``;
    ``status`` (of the exact form): CONVERGED for ``s < n - 1``; DIVERGED for ``s = n - 1``
    (the expected risk is infinite: ``E (X_S^T X_S)^{-1}`` exists only for ``n > s + 1``);
    INVALID for ``s >= n`` (least squares on ``s >= n`` features has no unique solution;
    values NaN, except the asymptotic form's ``inf`` at ``s = n``).  ``value`` is ``exact``.
    """

    keep: np.ndarray
    n: np.ndarray
    exact: np.ndarray
    asymptotic: np.ndarray
    status: np.ndarray

    @property
    def value(self) -> np.ndarray:
        return self.exact


def train_small_risk(task: LinearTask, keep, n=None, support=None, *,
                     throw: bool = True) -> TrainSmallRisk:
    """Risk of OLS trained directly on a fixed support of size ``keep`` (host-side, float64).

    Mathematics: ``docs/linear.md`` section 4: ``sigma_S^2 = sigma^2 + sum_{i not in S} lambda_i
    beta_i^2`` over the whole pool.  The default support is :func:`models.train_small_support`:
    the ``keep`` largest ``lambda_i beta_i^2`` of the WHOLE pool, wherever they sit (it does
    not depend on ``p``; the oracle pruning rule, by contrast, picks among the first ``p``).
    ``support``: a user support (indices) of size ``keep`` instead.

    Returns :class:`TrainSmallRisk`; raises :class:`SolverError` with ``throw=True`` where
    ``keep >= n`` (INVALID).

    Example:
      >>> task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
      >>> round(float(asy.train_small_risk(task, keep=10).exact), 4)   # E1
      0.2781
    """
    models.require_x64("train_small_risk")
    n = task.n if n is None else n
    keep = check_int_range("keep", keep, 1, task.pool_size)
    n = check_int_range("n", n, 1)
    keep, n = np.broadcast_arrays(keep, n)
    lam, beta = np.asarray(task.eigenvalues), np.asarray(task.signal)
    contrib = lam * beta**2
    if support is not None:
        sup = check_int_range("support", np.ravel(support), 0, task.pool_size - 1)
        if np.unique(sup).size != sup.size or np.any(keep != sup.size):
            raise InputError(f"support: {sup.size} indices ({np.unique(sup).size} distinct) for "
                             f"keep = {np.unique(keep).tolist()}; allowed: exactly keep "
                             "distinct indices")
        supports = {int(sup.size): sup}
    else:
        supports = {int(k): models.train_small_support(lam, beta, int(k)) for k in np.unique(keep)}
    # sum over the complement directly (no cancellation in total - kept)
    left_out = {k: float(np.sum(np.delete(contrib, s))) for k, s in supports.items()}
    sigma_s2 = float(task.noise) ** 2 + np.vectorize(left_out.__getitem__, otypes=[float])(keep)
    kf, nf = keep.astype(np.float64), n.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(keep < n - 1, sigma_s2 * (nf - 1) / (nf - kf - 1),
                         np.where(keep == n - 1, np.inf, np.nan))
        asym = np.where(keep < n, sigma_s2 / (1 - kf / nf), np.where(keep == n, np.inf, np.nan))
    status = np.where(keep < n - 1, Status.CONVERGED,
                      np.where(keep == n - 1, Status.DIVERGED, Status.INVALID)).astype(np.int32)
    if throw:
        raise_if_failed(status, "train_small_risk (keep >= n)")
    return TrainSmallRisk(keep=keep, n=n, exact=exact, asymptotic=asym, status=status)
