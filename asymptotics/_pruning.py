"""Pruned, retrained and train-small risks for diagonal spectra (closed form).

Theory note ``linear.md`` sections 3-4 (Chang, Li, Oymak, Thrampoulidis, AAAI 2021,
arXiv:2012.08749, Thm. 2 and Sec. 4).  The fit's coordinates are independent
``Z_i ~ N(m_i, v_i^2)`` with ``m_i = w_i beta_i``, ``v_i = w_i gamma / sqrt(n lambda_i)``.
For ``d = m - b``, ``z = (a - m) / v``:

    E[(Z - b)^2 1{Z > a}] = (d^2 + v^2) Q(z) + (2 d v + v^2 z) phi(z)
    E[(Z - b)^2 1{Z < a}] = (d^2 + v^2) Phi(z) - (2 d v + v^2 z) phi(z)

Rules keeping ``s`` of the ``p`` coordinates:

* magnitude (MP): keep ``|Z_i| >= c`` with ``sum_i P(|Z_i| >= c) = s`` (bisection in ``log c``);
* saliency (HP, optimal brain damage, score ``lambda_i b_i^2``): the same with per-coordinate
  threshold ``c' / sqrt(lambda_i)``;
* oracle (OP): a data-independent support ``S`` (default: the ``s`` largest
  ``lambda_i beta_i^2``, ties broken by pool order);
* random: each coordinate kept with probability ``s / p``.

With keep probabilities ``pi_i`` the pruned risk is

    R = sigma_p^2 + sum_{i <= p} lambda_i { E[(Z_i - beta_i)^2 ; kept] + beta_i^2 P(not kept) }.

Retraining by least squares on a support chosen independently of the retraining data (fresh
data, or any data-independent support), and training the small model directly on a fixed
support, have risk ``sigma_S^2 (n - 1)/(n - s - 1)`` exactly for Gaussian designs
(``sigma_S^2 / (1 - s/n)`` asymptotically), ``sigma_S^2 = sigma^2 + sum_{i not in S}
lambda_i beta_i^2``, averaged over the keep probabilities.  Retraining on the SAME data that
chose the support has no known closed form (selection bias); it is only simulated.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jax.scipy.special import ndtr

from models import InputError, LinearTask
from models._errors import check_choice, check_int_range

from . import _grid
from ._dense import dense_risk_point
from ._status import SolverError, Status, status_names

RULES = ("magnitude", "saliency", "oracle", "random")
RETRAIN = ("none", "fresh", "same")


def _phi(z):
    return jnp.exp(-0.5 * z**2) / jnp.sqrt(2 * jnp.pi)


def _sq_err_above(m, v, b, a):
    """E[(Z - b)^2 1{Z > a}] for Z ~ N(m, v^2)."""
    d, z = m - b, (a - m) / v
    return (d**2 + v**2) * ndtr(-z) + (2 * d * v + v**2 * z) * _phi(z)


def _sq_err_below(m, v, b, a):
    """E[(Z - b)^2 1{Z < a}] for Z ~ N(m, v^2)."""
    d, z = m - b, (a - m) / v
    return (d**2 + v**2) * ndtr(z) - (2 * d * v + v**2 * z) * _phi(z)


def _tail_prob(m, v, c):
    """P(|Z| >= c)."""
    return ndtr((m - c) / v) + ndtr((-c - m) / v)


def magnitude_threshold(m, v, count, s):
    """``c`` with ``sum_i count_i P(|Z_i| >= c) = s`` (bisection in ``log c``; pure).

    Converged when the bracket in ``log c`` is below 1e-12 relative and the kept count matches
    ``s`` to 1e-10 relative.

    Returns ``(c, ok)``; ``s = sum(count)`` gives ``c = 0`` (nothing pruned).
    """
    scale = jnp.max(jnp.where(count > 0, jnp.abs(m) + v, 0.0))

    def excess(t, _):
        # relative to s: a float64 sum of thousands of probabilities cannot match s to 1e-13
        # absolutely, but does to 1e-10 relatively
        return jnp.sum(count * _tail_prob(m, v, jnp.exp(t))) / s - 1.0

    lo = jnp.log(scale) - 60.0
    hi = jnp.log(scale) + 5.0
    sol = optx.root_find(excess, optx.Bisection(rtol=1e-12, atol=1e-10), 0.5 * (lo + hi),
                         options={"lower": lo, "upper": hi}, max_steps=512, throw=False)
    everything = s >= jnp.sum(count)
    c = jnp.where(everything, 0.0, jnp.exp(sol.value))
    ok = everything | (sol.result == optx.RESULTS.successful)
    return c, ok


def _oracle_mask(lam, beta2, p, s):
    """The ``s`` largest ``lambda_i beta_i^2`` among the first ``p`` (ties: pool order)."""
    idx = jnp.arange(lam.shape[0])
    score = jnp.where(idx < p, lam * beta2, -jnp.inf)
    order = jnp.argsort(-score, stable=True)
    rank = jnp.empty_like(order).at[order].set(idx)
    return (rank < s).astype(lam.dtype)


def pruned_point(task: LinearTask, p, s, n, ridge, rules: tuple[str, ...],
                 support_mask=None) -> dict:
    """Theory for one ``(p, s, n, ridge)`` and each rule in ``rules`` (pure; vmappable).

    Returns a dict of arrays with a leading ``len(rules)`` axis: ``risk`` (pruned, no
    retraining), ``retrain_exact``/``retrain_asymptotic`` (fresh-data retraining),
    ``threshold``, ``kept_signal`` (expected number of true-signal features kept),
    ``keep_prob`` (per pool feature), ``status``; plus the dense ``kappa``, ``dense_risk``,
    ``status_dense``.
    """
    lam, beta = task.eigenvalues, task.signal
    dt = lam.dtype
    n = jnp.asarray(n, dt)
    s = jnp.asarray(s, dt)
    dense = dense_risk_point(task, p, n, ridge)
    count = (jnp.arange(lam.shape[0]) < p).astype(dt)
    w = lam / (lam + dense.kappa)
    diverged = dense.status == Status.DIVERGED
    gamma = jnp.sqrt(jnp.where(diverged, 1.0, dense.risk))
    m = jnp.where(diverged, 0.0, w * beta)              # at the peak only the direction of
    v = w * gamma / jnp.sqrt(n * lam)                   # the exploding noise picks the support
    beta2 = beta**2
    out = {k: [] for k in ("risk", "retrain_exact", "retrain_asymptotic", "threshold",
                           "kept_signal", "keep_prob", "status")}
    for rule in rules:
        ok = dense.status != Status.NOT_CONVERGED
        if rule in ("magnitude", "saliency"):
            score_scale = jnp.sqrt(lam) if rule == "saliency" else jnp.ones_like(lam)
            c, ok_c = magnitude_threshold(score_scale * m, score_scale * v, count, s)
            ok = ok & ok_c
            a = c / score_scale
            keep = count * _tail_prob(m, v, a)
            # E[(Z - beta)^2 ; |Z| >= a]
            kept_sq = _sq_err_above(m, v, beta, a) + _sq_err_below(m, v, beta, -a)
        else:
            if rule == "oracle":
                keep = _oracle_mask(lam, beta2, p, s) if support_mask is None else support_mask * count
            elif rule == "random":
                keep = count * s / jnp.sum(count)
            else:  # pragma: no cover  (validated on the host)
                raise ValueError(rule)
            c = jnp.asarray(jnp.nan, dt)
            kept_sq = keep * ((m - beta) ** 2 + v**2)     # support independent of Z
        pruned_excess = jnp.sum(count * lam * (kept_sq + beta2 * (1.0 - keep)))
        risk = jnp.where(diverged, jnp.inf, dense.sigma_p2 + pruned_excess)
        sigma_s2 = task.noise**2 + jnp.sum(lam * beta2 * (1.0 - keep))
        out["risk"].append(jnp.where(ok, risk, jnp.nan))
        out["retrain_exact"].append(jnp.where(ok & (s < n - 1), sigma_s2 * (n - 1) / (n - s - 1), jnp.nan))
        out["retrain_asymptotic"].append(jnp.where(ok & (s < n), sigma_s2 / (1 - s / n), jnp.nan))
        out["threshold"].append(c)
        out["kept_signal"].append(jnp.sum(keep * (beta != 0)))
        out["keep_prob"].append(keep)
        out["status"].append(jnp.where(ok, jnp.where(diverged, Status.DIVERGED, Status.CONVERGED),
                                       Status.NOT_CONVERGED).astype(jnp.int32))
    res = {k: jnp.stack(v) for k, v in out.items()}
    res.update(kappa=dense.kappa, dense_risk=dense.risk, status_dense=dense.status)
    return res


@partial(jax.jit, static_argnames=("rules",))
def _pruned_grid(task, p, s, n, ridge, support_mask, *, rules):
    f = lambda pp, ss, nn, rr: pruned_point(task, pp, ss, nn, rr, rules, support_mask)  # noqa: E731
    return jax.vmap(f)(p, s, n, ridge)


@dataclasses.dataclass(frozen=True)
class PrunedRiskCurve:
    """Pruned-risk theory on a grid; rule-dependent arrays have a trailing rule axis.

    ``risk``: pruned risk without retraining.  ``retrain_exact`` / ``retrain_asymptotic``:
    retraining on fresh data (or any data-independent support).  ``train_small_*``: OLS on
    the oracle support of size ``s`` (the "train the small model on the known features"
    baseline).  ``keep_prob`` only when requested.
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

    def value(self, rule: str, retrain: str = "none") -> np.ndarray:
        """Risk for ``rule`` after ``retrain`` in {'none', 'fresh'} (exact finite-n form)."""
        if retrain == "same":
            raise ValueError(SAME_DATA_MESSAGE)
        j = self.rules.index(rule)
        return (self.risk if retrain == "none" else self.retrain_exact)[..., j]

    def rows(self, retrain: tuple[str, ...] = ("none",)) -> list[dict]:
        out = []
        flat = lambda a: a.reshape(-1, *a.shape[len(self.p.shape):])  # noqa: E731
        P, K, N, R = (flat(a) for a in (self.p, self.keep, self.n, self.ridge))
        kap, dr = flat(self.kappa), flat(self.dense_risk)
        risk, rte, thr, ks, st = (flat(a) for a in (self.risk, self.retrain_exact, self.threshold,
                                                      self.kept_signal, self.status))
        for i in range(P.shape[0]):
            for j, rule in enumerate(self.rules):
                for rt in retrain:
                    if rt == "same":
                        val, status = "", "no_theory"
                    else:
                        val = float((risk if rt == "none" else rte)[i, j])
                        status = str(status_names(st[i, j]))
                    out.append(dict(p=int(P[i]), n=int(N[i]), ridge=float(R[i]), keep=int(K[i]),
                                    rule=rule, retrain=rt, kappa=float(kap[i]),
                                    dense_risk=float(dr[i]), risk=val,
                                    threshold=float(thr[i, j]), kept_signal=float(ks[i, j]),
                                    status=status))
        return out


SAME_DATA_MESSAGE = ("retrain='same': retraining on the data that chose the support has no "
                     "known closed form (selection bias, theory note linear.md section 4); "
                     "simulate it with sims.pruned_risk(..., retrain='same')")


def validate_rules(rule) -> tuple[str, ...]:
    rules = (rule,) if isinstance(rule, str) else tuple(rule)
    if not rules:
        raise InputError("rule: empty; allowed: one or more of " + ", ".join(RULES))
    for r in rules:
        check_choice("rule", r, RULES)
    return rules


def pruned_risk(task: LinearTask, p, keep, rule=RULES, n=None, ridge=None, *,
                retrain: str = "none", support=None, keep_probabilities: bool = False,
                throw: bool = True) -> PrunedRiskCurve:
    """Theoretical test risk after pruning to ``keep`` weights, on a ``(p, keep, n, ridge)``
    grid, for each rule (one compiled ``vmap``; float64).

    Args:
      task: the linear task.  p, keep, n, ridge: grid axes (broadcast together).
      rule: one or several of ``magnitude``, ``saliency``, ``oracle``, ``random``.
      retrain: ``none`` or ``fresh`` ('same' raises: no closed form exists).
      support: optional user oracle support (indices, ``len == keep``, all ``< p``).
      keep_probabilities: also return the per-feature keep probabilities.

    Example:
      >>> task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
      >>> th = asy.pruned_risk(task, p=200, keep=10, rule=("magnitude", "oracle"))
      >>> th.risk.round(4), th.threshold[0].round(6)   # E1: 0.6989, 0.5250; c = 0.124103
    """
    rules = validate_rules(rule)
    check_choice("retrain", retrain, RETRAIN)
    if retrain == "same":
        raise ValueError(SAME_DATA_MESSAGE)
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
    if retrain == "fresh" and np.any(flat["keep"] >= flat["n"] - 1):
        raise InputError("keep: retraining by least squares needs keep < n - 1; allowed: "
                         f"keep in [1, n - 2] (n = {int(flat['n'].min())})")
    size, padded = _grid.pad(flat)
    out = _pruned_grid(task, jnp.asarray(padded["p"]), jnp.asarray(padded["keep"], jnp.float64),
                       jnp.asarray(padded["n"], jnp.float64), jnp.asarray(padded["ridge"]),
                       None if support is None else jnp.asarray(mask), rules=rules)
    if not keep_probabilities:
        out.pop("keep_prob")
    res = _grid.unpad(out, size, shape)
    if throw and np.any(res["status"] == Status.NOT_CONVERGED):
        raise SolverError("pruned_risk: a fixed point or threshold did not converge at "
                          f"{int(np.sum(res['status'] == Status.NOT_CONVERGED))} point(s); "
                          "pass throw=False to inspect the status")
    small = train_small_risk(task, keep=flat["keep"].reshape(shape), n=flat["n"].reshape(shape),
                             support=support)
    if retrain == "fresh":
        res["risk"] = res["retrain_exact"]
    status_dense = res.pop("status_dense")
    del status_dense
    return PrunedRiskCurve(p=flat["p"].reshape(shape), keep=flat["keep"].reshape(shape),
                           n=flat["n"].reshape(shape), ridge=flat["ridge"].reshape(shape),
                           rules=rules, train_small_exact=small[0], train_small_asymptotic=small[1],
                           **res)


def train_small_risk(task: LinearTask, keep, n=None, support=None) -> tuple[np.ndarray, np.ndarray]:
    """Risk of OLS trained directly on a fixed support of size ``keep``: exact
    ``sigma_S^2 (n-1)/(n-s-1)`` and asymptotic ``sigma_S^2/(1 - s/n)`` (host-side, float64).

    The default support is the ``keep`` largest ``lambda_i beta_i^2`` of the whole pool (ties
    broken by pool order).  Values are ``inf`` where ``keep >= n - 1`` (exact) or
    ``keep >= n`` (asymptotic).
    """
    n = task.n if n is None else n
    keep = check_int_range("keep", keep, 1, task.pool_size)
    n = check_int_range("n", n, 1)
    keep, n = np.broadcast_arrays(keep, n)
    lam, beta = np.asarray(task.eigenvalues), np.asarray(task.signal)
    contrib = lam * beta**2
    order = np.argsort(-contrib, kind="stable")
    total = contrib.sum()
    if support is not None:
        sup = np.asarray(support, dtype=int)
        kept = np.full(keep.shape, contrib[sup].sum())
    else:
        csum = np.concatenate([[0.0], np.cumsum(contrib[order])])
        kept = csum[keep]
    sigma_s2 = float(task.noise) ** 2 + np.maximum(total - kept, 0.0)
    with np.errstate(divide="ignore"):
        exact = np.where(keep < n - 1, sigma_s2 * (n - 1) / np.maximum(n - keep - 1, 1), np.inf)
        asym = np.where(keep < n, sigma_s2 / np.maximum(1 - keep / n, 1e-300), np.inf)
    return exact, asym
