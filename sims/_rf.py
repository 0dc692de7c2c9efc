"""Monte Carlo of random-features regression with the actual nonlinear features.

Mathematics: ``docs/random_features.md`` ("Model").  Never the Gaussian equivalent: every
trial draws ``x ~ N(0, I_d)`` (``n_max`` rows), ``y = x.theta + sigma eps`` and the features
``phi_i(x) = act(w_i.x) - mu0_i`` (``mu0_i = 0`` for uncentred features) of the first
``P = max(p)`` rows of ``W``, once; every grid point ``(p, n, ridge)`` fits the first ``p``
columns and ``n`` rows of that draw (common random numbers) with the padded primal / dual
ridge solvers of :mod:`models._estimators` exactly as :mod:`sims._linear` does (OLS for
``p < n``, the min-norm interpolator for ``p >= n`` at ``ridge = 0``).

The risk ``R(a) = E (y - a.phi(x))^2 = E y^2 - 2 a.c + a^T M a`` of each fit is exact (no
test set), from the true feature moments of :func:`models.rf_feature_moments`
(:mod:`models._rf_moments`, re-exported as ``sims.rf_feature_moments``), evaluated as the sum
of squares ``r_P + |L^T a - u|^2``.  Nothing here calls ``asymptotics``.

Pruning (:func:`rf_pruned_risk`) keeps ``s`` second-layer weights by ``|a_i|`` (magnitude),
``M_ii a_i^2`` (saliency, with the exact ``M_ii``; equal to magnitude when the rows of ``W``
have one norm) or at random, then optionally retrains by OLS on the kept features, on the
same data or on a fresh draw.  :func:`rf_train_small_risk` is the baseline that trains an
``s``-feature model directly on the first ``s`` rows of ``W``: the rows are exchangeable over
draws of ``W``, but for one fixed ``W`` the first ``s`` rows are one particular subset (its
risk differs from the average over random subsets by the luck of that subset, ~10 % at
``s = 40``, ``d = 50``).  The oracle rule has no meaning here (no feature is informative by
construction) and is refused.

Vmapped over trials in chunks (:func:`sims._batching.run_chunks`: checkpoint and resume),
grid points ``lax.map``-ed inside one ``jit``; matmuls at ``models.MATMUL_PRECISION``.

References: Chang, Li, Oymak, Thrampoulidis (AAAI 2021, arXiv:2012.08749), random-features
part; Mei and Montanari, arXiv:1908.05355.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from models import InputError, RFTask
from models._activations import activation_fn
from models._config import MATMUL_PRECISION
from models._errors import check_int_range
from models._estimators import fit_grid, ols_on_support
from models._estimators import ridge_dual as _fit_dual
from models._estimators import ridge_primal as _fit_primal
from models._pruning_ops import check_retrain, check_rules, prune_and_refit, pruning_score
from models._rf_moments import check_task as _check_task
from models._rf_moments import rf_feature_moments

from ._batching import GridSplit, check_dtype, run_chunks
from ._linear import DenseSimulation, default_chunk
from ._pruning import PrunedSimulation
from ._rf_moments import _exact_risk, _risk_form
from ._train_small import TrainSmallSimulation, check_train_small_grid

_HI = MATMUL_PRECISION
#: pruning rules that mean something for random features (no oracle support)
RF_RULES = ("magnitude", "saliency", "random")


def _sample(key, weights, teacher, noise, mu0, activation, n_max: int, dtype):
    """One draw: features ``act(X W^T) - mu0`` (``n_max x P``) and labels ``y``."""
    kx, ke = jax.random.split(key)
    x = jax.random.normal(kx, (n_max, weights.shape[1]), dtype)
    y = (jnp.matmul(x, teacher.astype(dtype), precision=_HI)
         + noise * jax.random.normal(ke, (n_max,), dtype))
    z = jnp.matmul(x, weights.astype(dtype).T, precision=_HI)
    return activation_fn(activation)(z) - mu0.astype(dtype), y


@partial(jax.jit, static_argnames=("activation", "whitened", "n_max", "width_primal", "n_keep",
                                   "dtype", "grid_batch"))
def _dense_chunk(keys, weights, teacher, noise, mu0, lt, u, r0, grid_primal, grid_dual, *,
                 activation, whitened: bool, n_max: int, width_primal: int, n_keep: int, dtype,
                 grid_batch: int):
    """Risks (and kept coefficients) for a chunk of trials x every grid point."""

    def one_trial(key):
        f, y = _sample(key, weights, teacher, noise, mu0, activation, n_max, dtype)
        out = []
        for grid, fit in ((grid_primal, lambda g: _fit_primal(f, y, g[0], g[1], g[2], width_primal)),
                          (grid_dual, lambda g: _fit_dual(f, y, g[0], g[1], g[2]))):
            if grid.shape[0] == 0:
                out.append((jnp.zeros((0,), dtype), jnp.zeros((0, f.shape[1]), dtype)))
                continue
            b = jax.lax.map(fit, grid, batch_size=min(grid_batch, grid.shape[0]))
            out.append((jax.vmap(lambda a: _exact_risk(lt, u, r0, whitened, a))(b), b))
        return out

    res = jax.vmap(one_trial)(keys)
    risks = jnp.concatenate([res[0][0], res[1][0]], axis=1)              # (T, G)
    coefs = jnp.concatenate([res[0][1], res[1][1]], axis=1)[:n_keep]     # (k, G, P)
    return risks, coefs


def _activation_label(activation) -> str:
    if isinstance(activation, str):
        return activation
    return f"{getattr(activation, '__module__', '?')}.{getattr(activation, '__qualname__', repr(activation))}"


def _setup(task, p, n, ridge, trials, dtype, where):
    """Validated grid, dtype, moments and device arrays shared by the entry points."""
    task = _check_task(task)
    p, n, ridge = task.grid_axes(p, n, ridge)
    trials = int(check_int_range("trials", trials, 1))
    dt = check_dtype(dtype, where)
    shape = np.broadcast_shapes(p.shape, n.shape, np.shape(ridge))
    pf, nf, rf = (np.broadcast_to(a, shape).ravel() for a in (p, n, ridge))
    split = GridSplit(pf, nf, rf, dt)
    mom = rf_feature_moments(task, split.p_max)
    form = _risk_form(mom, dt)
    data = (jnp.asarray(np.asarray(task.weights)[:split.p_max], dt), jnp.asarray(task.teacher, dt),
            jnp.asarray(float(task.noise), dt),
            jnp.asarray(mom.mu0 if task.centred else np.zeros(split.p_max), dt))
    run_key = dict(task=jax.tree_util.tree_leaves(task), activation=_activation_label(task.activation),
                   centred=task.centred, grid=(pf, nf, rf), dtype=str(dt))
    return task, trials, dt, shape, (pf, nf, rf), split, mom, form, data, run_key


def rf_dense_risk(task: RFTask, p, trials: int, key: jax.Array, n=None, ridge=None, *,
                  dtype=jnp.float64, chunk: int | None = None, memory_budget: int = 1 << 30,
                  keep_coefficients: int = 0, grid_batch: int = 1, progress: bool = False,
                  checkpoint=None, devices=None) -> DenseSimulation:
    """Monte Carlo risk of min-norm / OLS / ridge second layers on random features, on a grid
    of ``(p, n, ridge)`` (broadcast together; defaults: the whole pool, ``task.n``,
    ``task.ridge``), with the exact risk ``E y^2 - 2 a.c + a^T M a`` of each fit.

    Args:
      task: a :class:`models.RFTask` (weights, teacher, noise, activation, centring).
      trials: independent data draws (each serves every grid point).
      key: a ``jax.random`` key; results do not depend on ``chunk``.
      dtype: float64 (default) or float32; matmuls use ``Precision.HIGHEST`` either way.
      chunk: trials per compiled call (default: from ``memory_budget`` bytes).
      keep_coefficients: return the fitted second layers of the first ``k`` trials.
      checkpoint: a file path; finished chunks are saved atomically and a rerun with the same
        arguments resumes.

    Returns a :class:`sims.DenseSimulation` (``.rows()``: ``p, n, ridge, risk_mean,
    risk_stderr, risk_median, trials, nonfinite_trials``).

    Example:
      >>> task = models.RFTask.draw(jax.random.key(0), d=20, pool=80, n=40, noise=0.5)
      >>> mc = sims.rf_dense_risk(task, p=[20, 80], trials=50, key=jax.random.key(1))
      >>> bool(np.all(mc.mean > 0.25)), bool(mc.mean[1] < mc.mean[0])   # above sigma^2; p=80 wins
      (True, True)
    """
    task, trials, dt, shape, (pf, nf, rf), split, mom, form, data, run_key = _setup(
        task, p, n, ridge, trials, dtype, "sims.rf_dense_risk")
    keep = int(check_int_range("keep_coefficients", keep_coefficients, 0, trials))
    grid_batch = int(check_int_range("grid_batch", grid_batch, 1))
    if chunk is None:
        chunk = default_chunk(split.n_max, split.p_max + task.d, grid_batch, dt.itemsize,
                              memory_budget)
    chunk = min(int(check_int_range("chunk", chunk, 1)), trials)

    def call(keys, start):
        return _dense_chunk(keys, *data, form.lt, form.u, form.r0, split.primal, split.dual,
                            activation=task.activation, whitened=form.whitened,
                            n_max=split.n_max, width_primal=split.width_primal,
                            n_keep=keys.shape[0] if start < keep else 0, dtype=dt,
                            grid_batch=grid_batch)

    out = run_chunks(call, key, trials, chunk, progress, checkpoint,
                     dict(run_key, kind="rf-dense", keep=keep), devices=devices)
    risks = split.restore(np.concatenate([r for r, _ in out])[:trials], axis=1)   # (T, G)
    coefficients = None
    if keep:
        cb = split.restore(np.concatenate([b for _, b in out if b.shape[0]])[:keep], axis=1)
        coefficients = np.moveaxis(cb, 0, 1).reshape(shape + (keep, split.p_max))
    return DenseSimulation(p=pf.reshape(shape), n=nf.reshape(shape), ridge=rf.reshape(shape),
                           risks=risks.T.reshape(shape + (trials,)).astype(np.float64),
                           coefficients=coefficients, dtype=str(dt))


@partial(jax.jit, static_argnames=("activation", "whitened", "n_max", "width_primal", "rules",
                                   "retrain", "s_max", "dtype"))
def _pruned_chunk(keys, weights, teacher, noise, mu0, lt, u, r0, diag_m, grid_primal, grid_dual,
                  keeps, *, activation, whitened: bool, n_max: int, width_primal: int,
                  rules: tuple, retrain: tuple, s_max: int, dtype):
    P = weights.shape[0]

    def risk_of(a):
        return _exact_risk(lt, u, r0, whitened, a)

    def one_trial(key):
        k_data, k_fresh, k_rand = jax.random.split(key, 3)
        f, y = _sample(k_data, weights, teacher, noise, mu0, activation, n_max, dtype)
        if "fresh" in retrain:
            f2, y2 = _sample(k_fresh, weights, teacher, noise, mu0, activation, n_max, dtype)
        b_all, g_all = fit_grid(f, y, grid_primal, grid_dual, width_primal)   # (G, P), (G, 3)

        def prune_point(b, g):
            p, n = g[0], g[1]
            inside = jnp.arange(P) < p
            scores = {r: pruning_score(r, b, eigenvalues=diag_m, key=k_rand) for r in rules}

            def per_keep(s):
                return prune_and_refit(b, scores, inside, s, rules=rules, retrain=retrain,
                                       same=(f, y), fresh=(f2, y2) if "fresh" in retrain
                                       else None, n=n, s_max=s_max, risk_of=risk_of)   # (R, M)

            return risk_of(b), jax.vmap(per_keep)(keeps)                   # (), (K, R, M)

        return jax.vmap(prune_point)(b_all, g_all)

    return jax.vmap(one_trial)(keys)                                       # (T, G), (T, G, K, R, M)


def rf_pruned_risk(task: RFTask, p, keep, rule=RF_RULES, retrain=("none",), *, trials: int,
                   key: jax.Array, n=None, ridge=None, dtype=jnp.float64,
                   chunk: int | None = None, memory_budget: int = 1 << 30,
                   progress: bool = False, checkpoint=None, devices=None) -> PrunedSimulation:
    """Monte Carlo risk of pruned (and retrained) random-features second layers on a
    ``(p, n, ridge)`` grid x ``keep`` values x rules x retraining modes (one compiled
    function, trials vmapped in chunks, common random numbers throughout).

    Each fit ``a`` (as in :func:`rf_dense_risk`) is pruned to its ``s`` largest scores among
    its ``p`` features: ``|a_i|`` (magnitude), ``M_ii a_i^2`` (saliency, exact ``M_ii``) or
    uniform scores (random, nested in ``s``); then ``retrain``: ``none`` keeps the pruned
    weights, ``same`` refits OLS on the kept features with the same data
    (:func:`models.ols_on_support`), ``fresh`` on a fresh draw of ``X, y`` of the same size.
    Risks are exact (:func:`rf_feature_moments`).  The oracle rule is refused.

    Returns a :class:`sims.PrunedSimulation` (``.select(rule, retrain)``, ``.summary()``,
    ``.rows()``).

    Example:
      >>> task = models.RFTask.draw(jax.random.key(0), d=20, pool=80, n=40, noise=0.5)
      >>> mc = sims.rf_pruned_risk(task, p=80, keep=10, rule=("magnitude", "random"),
      ...                          retrain=("none", "same"), trials=20, key=jax.random.key(1))
      >>> mc.risks.shape                                     # (K, rules, retrain, trials)
      (1, 2, 2, 20)
    """
    rules = check_rules(rule)
    if "oracle" in rules:
        raise InputError("rule: 'oracle' has no meaning for random features (no feature is "
                         "informative by construction); allowed: one or more of "
                         + ", ".join(RF_RULES))
    retrain = check_retrain(retrain)
    task, trials, dt, shape, (pf, nf, rf), split, mom, form, data, run_key = _setup(
        task, p, n, ridge, trials, dtype, "sims.rf_pruned_risk")
    keep = check_int_range("keep", np.atleast_1d(keep), 1).ravel()
    if keep.max() > pf.min():
        raise InputError(f"keep: got {int(keep.max())} with p = {int(pf.min())}; allowed: "
                         "integers in [1, p] for every grid point")
    if set(retrain) - {"none"} and keep.max() >= nf.min() - 1:
        raise InputError(f"keep: retraining by least squares needs keep < n - 1; allowed: "
                         f"keep in [1, {int(nf.min()) - 2}]")
    if chunk is None:
        chunk = default_chunk(split.n_max, split.p_max + task.d, 2, dt.itemsize, memory_budget)
    chunk = min(int(check_int_range("chunk", chunk, 1)), trials)
    diag_m = jnp.asarray(np.diag(mom.second), dt)

    def call(keys, start):
        return _pruned_chunk(keys, *data, form.lt, form.u, form.r0, diag_m, split.primal,
                             split.dual, jnp.asarray(keep), activation=task.activation,
                             whitened=form.whitened, n_max=split.n_max,
                             width_primal=split.width_primal, rules=rules, retrain=retrain,
                             s_max=int(keep.max()), dtype=dt)

    out = run_chunks(call, key, trials, chunk, progress, checkpoint,
                     dict(run_key, kind="rf-pruned", keep=keep, rules=rules, retrain=retrain),
                     devices=devices)
    dense = split.restore(np.concatenate([d for d, _ in out])[:trials], axis=1)   # (T, G)
    risks = split.restore(np.concatenate([r for _, r in out])[:trials], axis=1)   # (T, G, K, R, M)
    risks = np.moveaxis(risks, 0, -1).reshape(shape + risks.shape[2:] + (trials,))
    return PrunedSimulation(p=pf.reshape(shape), n=nf.reshape(shape), ridge=rf.reshape(shape),
                            keep=keep, rules=rules, retrain=retrain,
                            risks=risks.astype(np.float64),
                            dense=dense.T.reshape(shape + (trials,)).astype(np.float64),
                            dtype=str(dt))


@partial(jax.jit, static_argnames=("activation", "whitened", "n_max", "dtype"))
def _small_chunk(keys, weights, teacher, noise, mu0, lt, u, r0, keeps, ns, *, activation,
                 whitened: bool, n_max: int, dtype):
    s_max = weights.shape[0]

    def one_trial(key):
        f, y = _sample(key, weights, teacher, noise, mu0, activation, n_max, dtype)

        def point(s, n):
            valid = (jnp.arange(s_max) < s).astype(dtype)
            return _exact_risk(lt, u, r0, whitened, ols_on_support(f, y, jnp.arange(s_max), valid, n))

        return jax.vmap(point)(keeps, ns)

    return jax.vmap(one_trial)(keys)


def rf_train_small_risk(task: RFTask, keep, trials: int, key: jax.Array, n=None, *,
                        dtype=jnp.float64, chunk: int | None = None, progress: bool = False,
                        checkpoint=None, devices=None) -> TrainSmallSimulation:
    """Monte Carlo risk of an ``s``-feature model trained directly by OLS: the first ``s``
    rows of ``W`` (exchangeable over draws of ``W``; for one fixed ``W`` a particular subset,
    see the module docstring), on a ``(keep, n)`` grid (broadcast; ``n`` defaults to
    ``task.n``; ``keep < n - 1``), exact risks.

    Example:
      >>> task = models.RFTask.draw(jax.random.key(0), d=20, pool=80, n=40, noise=0.5)
      >>> mc = sims.rf_train_small_risk(task, keep=[5, 10], trials=50, key=jax.random.key(1))
      >>> mc.risks.shape
      (2, 50)
    """
    task = _check_task(task)
    shape, kf, nf = check_train_small_grid(keep, task.n if n is None else n, task.pool_size)
    trials = int(check_int_range("trials", trials, 1))
    dt = check_dtype(dtype, "sims.rf_train_small_risk")
    s_max, n_max = int(kf.max()), int(nf.max())
    mom = rf_feature_moments(task, s_max)
    form = _risk_form(mom, dt)
    data = (jnp.asarray(np.asarray(task.weights)[:s_max], dt), jnp.asarray(task.teacher, dt),
            jnp.asarray(float(task.noise), dt),
            jnp.asarray(mom.mu0 if task.centred else np.zeros(s_max), dt))
    if chunk is None:
        chunk = max(1, min(4096, (1 << 28) // max(1, dt.itemsize * n_max * (s_max + task.d)
                                                   * (2 + kf.size))))
    chunk = min(int(check_int_range("chunk", chunk, 1)), trials)

    def call(keys, start):
        return (_small_chunk(keys, *data, form.lt, form.u, form.r0, jnp.asarray(kf),
                             jnp.asarray(nf, dt), activation=task.activation,
                             whitened=form.whitened, n_max=n_max, dtype=dt),)

    run_key = dict(kind="rf-train-small", task=jax.tree_util.tree_leaves(task),
                   activation=_activation_label(task.activation), centred=task.centred,
                   grid=(kf, nf), dtype=str(dt))
    out = run_chunks(call, key, trials, chunk, progress, checkpoint, run_key, devices=devices)
    risks = np.concatenate([r for (r,) in out])[:trials]                        # (T, G)
    return TrainSmallSimulation(keep=kf.reshape(shape), n=nf.reshape(shape),
                                support=np.arange(s_max),
                                risks=risks.T.reshape(shape + (trials,)).astype(np.float64),
                                dtype=str(dt))
