"""Monte Carlo of pruning and retraining (independent of ``asymptotics``).

Each trial draws one data set (as in :mod:`sims._linear`), fits every grid point
``(p, n, ridge)``, and prunes each fit to each ``keep`` value by every requested rule, with
common random numbers (the same fit is pruned by all rules):

* ``magnitude``: the ``s`` largest ``|b_i|``;
* ``saliency``: the ``s`` largest ``lambda_i b_i^2`` (population ``lambda``, or the empirical
  ``diag(X^T X / n)`` with ``saliency='empirical'``);
* ``oracle``: a data-independent support, the ``s`` largest ``lambda_i beta_i^2`` (ties broken
  by pool order) or a support given by the user;
* ``random``: a uniformly random support (one uniform score per feature and trial, so the
  supports are nested in ``s``).

Retraining refits least squares on the kept columns: ``same`` uses the data that chose the
support, ``fresh`` a new independent sample of the same size.  ``oracle`` with ``same`` refits
on the model's oracle support (the best ``s`` among its first ``p`` features); the
train-small baseline, whose support is the best ``s`` of the whole pool wherever they sit, is
:func:`sims.train_small_risk`.  Risks are exact population risks
``sigma^2 + sum_i lambda_i (theta_i - beta_i)^2``.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from models import InputError, LinearTask
from models._errors import check_choice, check_int_range
from models._pruning_ops import RULES, check_retrain, check_rules, prune_and_refit, pruning_score
from models._estimators import fit_grid

from ._batching import GridSplit, check_dtype, run_chunks
from ._summary import TrialSummary, summarize
from ._linear import _sample, default_chunk


@partial(jax.jit, static_argnames=("n_max", "width_primal", "rules", "retrain", "s_max",
                                   "empirical_saliency", "dtype"))
def _pruned_chunk(keys, lam_p, beta_p, tail_sd, noise, grid_primal, grid_dual, keeps, user_mask,
                  *, n_max, width_primal, rules, retrain, s_max, empirical_saliency, dtype):
    P = lam_p.shape[0]

    def risk_of(theta):
        return noise**2 + tail_sd**2 + jnp.sum(lam_p * (theta - beta_p) ** 2)

    def one_trial(key):
        k_data, k_fresh, k_rand = jax.random.split(key, 3)
        x, y = _sample(k_data, lam_p, beta_p, tail_sd, noise, n_max, dtype)
        if "fresh" in retrain:
            x2, y2 = _sample(k_fresh, lam_p, beta_p, tail_sd, noise, n_max, dtype)
        b_all, g_all = fit_grid(x, y, grid_primal, grid_dual, width_primal)   # (G, P), (G, 3)

        def prune_point(b, g):
            p, n = g[0], g[1]
            inside = jnp.arange(P) < p
            rows = (jnp.arange(n_max) < n).astype(dtype)
            lam_hat = jnp.sum((x * rows[:, None]) ** 2, axis=0) / n
            lam_score = lam_hat if empirical_saliency else lam_p
            scores = {r: pruning_score(r, b, eigenvalues=lam_score, signal=beta_p, key=k_rand,
                                       support_mask=user_mask) for r in rules}

            def per_keep(s):
                return prune_and_refit(b, scores, inside, s, rules=rules, retrain=retrain,
                                       same=(x, y), fresh=(x2, y2) if "fresh" in retrain
                                       else None, n=n, s_max=s_max, risk_of=risk_of)   # (R, M)

            return risk_of(b), jax.vmap(per_keep)(keeps)                   # (), (K, R, M)

        return jax.vmap(prune_point)(b_all, g_all)

    return jax.vmap(one_trial)(keys)                                       # (T, G), (T, G, K, R, M)


@dataclasses.dataclass(frozen=True)
class PrunedSimulation:
    """Monte Carlo pruned risks.  ``risks``: ``grid + (K, R, M, trials)`` for the keep values
    ``keep`` (K), rules (R) and retraining modes (M); ``dense``: ``grid + (trials,)``."""

    p: np.ndarray
    n: np.ndarray
    ridge: np.ndarray
    keep: np.ndarray
    rules: tuple[str, ...]
    retrain: tuple[str, ...]
    risks: np.ndarray
    dense: np.ndarray

    def select(self, rule: str, retrain: str = "none") -> np.ndarray:
        """Risks of one rule and retraining mode: ``grid + (K, trials)``."""
        return self.risks[..., self.rules.index(rule), self.retrain.index(retrain), :]

    dtype: str = "float64"

    def summary(self, risks: np.ndarray | None = None) -> TrialSummary:
        """:func:`sims.summarize` of ``risks`` (default: all pruned risks) over its trailing
        trial axis: mean, standard error, median, finite and non-finite trial counts."""
        return summarize(self.risks if risks is None else risks)

    def rows(self) -> list[dict]:
        st = self.summary()
        dense = summarize(self.dense)
        out = []
        for gi in np.ndindex(self.p.shape):
            for k, s in enumerate(self.keep):
                for j, rule in enumerate(self.rules):
                    for m, mode in enumerate(self.retrain):
                        at = gi + (k, j, m)
                        out.append(dict(p=int(self.p[gi]), n=int(self.n[gi]),
                                        ridge=float(self.ridge[gi]), keep=int(s), rule=rule,
                                        retrain=mode, dense_risk_mean=float(dense.mean[gi]),
                                        risk_mean=float(st.mean[at]),
                                        risk_stderr=float(st.stderr[at]),
                                        risk_median=float(st.median[at]),
                                        trials=int(st.finite[at]),
                                        nonfinite_trials=int(st.nonfinite[at])))
        return out


def pruned_risk(task: LinearTask, p, keep, rule=RULES, retrain=("none",), *, trials: int,
                key: jax.Array, n=None, ridge=None, saliency: str = "population",
                support=None, dtype=jnp.float64, chunk: int | None = None,
                memory_budget: int = 1 << 30, progress: bool = False,
                checkpoint=None, devices=None) -> PrunedSimulation:
    """Monte Carlo pruned risk on a ``(p, n, ridge)`` grid x ``keep`` values x rules x
    retraining modes (one compiled function; trials vmapped in chunks).  ``checkpoint``: a file
    path where finished chunks are saved atomically; a rerun with the same arguments resumes.

    Example:
      >>> task = models.LinearTask.two_level(strong=40, lam_strong=1, lam_weak=0.05, n=100,
      ...                                    noise=1, pool=800)
      >>> mc = sims.pruned_risk(task, p=800, keep=40, rule=("magnitude", "oracle"),
      ...                       retrain=("none", "same"), trials=400, key=jax.random.key(0))
      >>> round(float(mc.summary(mc.select("magnitude")).mean[0]), 1)   # E2, p = 800: MP 1.6139
      1.6
    """
    rules = check_rules(rule)
    retrain = check_retrain(retrain)
    check_choice("saliency", saliency, ("population", "empirical"))
    p, n, ridge = task.grid_axes(p, n, ridge)
    keep = check_int_range("keep", np.atleast_1d(keep), 1).ravel()
    trials = int(check_int_range("trials", trials, 1))
    dt = check_dtype(dtype, "sims.pruned_risk")
    shape = np.broadcast_shapes(p.shape, n.shape, np.shape(ridge))
    pf, nf, rf = (np.broadcast_to(a, shape).ravel() for a in (p, n, ridge))
    if keep.max() > pf.min():
        raise InputError(f"keep: got {int(keep.max())} with p = {int(pf.min())}; allowed: "
                         "integers in [1, p] for every grid point")
    if set(retrain) - {"none"} and keep.max() >= nf.min() - 1:
        raise InputError(f"keep: retraining by least squares needs keep < n - 1; allowed: "
                         f"keep in [1, {int(nf.min()) - 2}]")
    user_mask = None
    if support is not None:
        sup = check_int_range("support", np.ravel(support), 0, int(pf.min()) - 1)
        if keep.size != 1 or sup.size != keep[0] or np.unique(sup).size != sup.size:
            raise InputError(f"support: {sup.size} indices ({np.unique(sup).size} distinct) for "
                             f"keep = {keep.tolist()}; allowed: exactly keep distinct indices "
                             "in [0, p-1], with a single keep value")
        if "oracle" not in rules:
            raise InputError("support: given but rule 'oracle' not requested; allowed: "
                             "support only with rule='oracle'")
        user_mask = np.zeros(int(pf.max()))
        user_mask[sup] = 1.0
    split = GridSplit(pf, nf, rf, dt)
    p_max = split.p_max
    lam, beta = np.asarray(task.eigenvalues), np.asarray(task.signal)
    args = (jnp.asarray(lam[:p_max], dt), jnp.asarray(beta[:p_max], dt),
            jnp.asarray(math.sqrt(float(np.sum(lam[p_max:] * beta[p_max:] ** 2))), dt),
            jnp.asarray(float(task.noise), dt), split.primal, split.dual, jnp.asarray(keep),
            None if user_mask is None else jnp.asarray(user_mask, dt))
    if chunk is None:
        chunk = default_chunk(split.n_max, p_max, 2, dt.itemsize, memory_budget)
    chunk = min(int(check_int_range("chunk", chunk, 1)), trials)

    def call(keys, start):
        return _pruned_chunk(keys, *args, n_max=split.n_max, width_primal=split.width_primal,
                             rules=rules, retrain=retrain, s_max=int(keep.max()),
                             empirical_saliency=saliency == "empirical", dtype=dt)

    run_key = dict(kind="pruned", task=jax.tree_util.tree_leaves(task), grid=(pf, nf, rf), keep=keep, rules=rules,
                   retrain=retrain, saliency=saliency, support=user_mask, dtype=str(dt))
    out = run_chunks(call, key, trials, chunk, progress, checkpoint, run_key, devices=devices)
    dense = split.restore(np.concatenate([d for d, _ in out])[:trials], axis=1)   # (T, G)
    risks = split.restore(np.concatenate([r for _, r in out])[:trials], axis=1)   # (T, G, K, R, M)
    return PrunedSimulation(p=pf.reshape(shape), n=nf.reshape(shape), ridge=rf.reshape(shape),
                            keep=keep, rules=rules, retrain=retrain,
                            risks=np.moveaxis(risks, 0, -1).reshape(shape + risks.shape[2:] + (trials,)).astype(np.float64),
                            dense=dense.T.reshape(shape + (trials,)).astype(np.float64),
                            dtype=str(dt))
