"""Monte Carlo of the linear Gaussian task: sample, fit min-norm / OLS / ridge, measure risk.

Independent of ``asymptotics``: the risk of each fit is computed exactly from the population
formula ``R(b) = sigma^2 + sum_i lambda_i (b_i - beta_i)^2`` (no test set), from data drawn
afresh in every trial.

One trial draws ``X`` (``n_max x P`` with ``P`` the largest model in the grid, columns scaled by
``sqrt(lambda_i)``) and ``y = X beta + t eps' + sigma eps``, where ``t^2`` is the signal of the
pool features beyond ``P`` (a sum of independent Gaussians is one Gaussian).  Every grid point
``(p, n, ridge)`` of the trial uses the first ``n`` rows and ``p`` columns of the same draw
(common random numbers: curves over ``p`` are smooth).  Fits:

* ``p < n``: primal normal equations ``(X^T X / n + lambda_r I) b = X^T y / n`` (OLS at 0);
* ``p >= n``: dual form ``b = X^T (X X^T / n + lambda_r I)^{-1} y / n`` (the min-norm
  interpolator at ``lambda_r = 0``, the limit of gradient descent from zero), the Gram
  matrices of a trial's dual points built once along ``p`` (:func:`_dual_curve`).

Shapes are fixed by padding (unused rows and columns are masked out and get a unit
diagonal), so one compiled function serves the whole grid; trials are ``vmap``-ed in chunks
sized to a memory budget, grid points are ``lax.map``-ed inside the same ``jit``.  Matmuls
use ``Precision.HIGHEST`` (no TF32 on GPUs); the default dtype is float64.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from models import LinearTask
from models._config import MATMUL_PRECISION
from models._estimators import ridge_dual as _fit_dual
from models._estimators import ridge_primal as _fit_primal
from models._errors import check_int_range

from ._batching import GridSplit, check_dtype, run_chunks
from ._summary import TrialSummary, summarize

_HI = MATMUL_PRECISION


def _sample(key, lam_p, beta_p, tail_sd, noise, n_max: int, dtype):
    kx, kt, ke = jax.random.split(key, 3)
    x = jax.random.normal(kx, (n_max, lam_p.shape[0]), dtype) * jnp.sqrt(lam_p).astype(dtype)
    y = (jnp.matmul(x, beta_p.astype(dtype), precision=_HI)
         + tail_sd * jax.random.normal(kt, (n_max,), dtype)
         + noise * jax.random.normal(ke, (n_max,), dtype))
    return x, y


def _dual_curve(x, y, grid):
    """Min-norm / ridge fits (dual form, :func:`models.ridge_dual`) at every ``(p, n, ridge)``
    row of ``grid`` from ONE draw, with the Gram matrices shared along ``p``.

    ``X_p X_p^T = sum`` over the column blocks of ``X`` below ``p``: the points are solved
    in increasing ``p`` (``lax.scan``), the running Gram adding the whole blocks passed since
    the previous point (static block width ``w``, about ``P/16``), and each point adding its
    own partial block.  A curve of ``G`` dual points then costs one full Gram (``2 n^2 P``)
    plus ``G`` partial blocks (``2 n^2 w``) instead of ``G`` full-width Grams of masked copies.
    Same values as ``ridge_dual`` on each point (to rounding: the Gram is summed by blocks).
    Returns ``(G, P)`` coefficients in the order of ``grid``."""
    n_max, P = x.shape
    w = max(32, -(-P // 16))
    blocks = -(-P // w)
    xp = jnp.zeros((n_max, blocks * w), x.dtype).at[:, :P].set(x)
    order = jnp.argsort(grid[:, 0])
    g = grid[order]

    def block(b):
        return jax.lax.dynamic_slice(xp, (jnp.zeros((), jnp.int32), (b * w).astype(jnp.int32)),
                                     (n_max, w))

    def add_block(b, gram):
        xb = block(b)
        return gram + jnp.matmul(xb, xb.T, precision=_HI)

    def point(carry, row):
        gram, done = carry                      # gram: first done * w columns
        p, n, ridge = row[0], row[1], row[2]
        full = jnp.minimum((p // w).astype(jnp.int32), blocks)
        gram = jax.lax.fori_loop(done, full, add_block, gram)
        start = jnp.minimum(full, blocks - 1)
        cols_b = ((start * w + jnp.arange(w)) < p) & (full < blocks)
        xb = block(start) * cols_b.astype(x.dtype)[None, :]
        rows = (jnp.arange(n_max) < n).astype(x.dtype)
        k = ((gram + jnp.matmul(xb, xb.T, precision=_HI)) * rows[:, None] * rows[None, :] / n
             + jnp.diag(ridge * rows + (1.0 - rows)))
        alpha = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(k), y * rows / n)
        cols = (jnp.arange(P) < p).astype(x.dtype)
        b = jnp.matmul(x.T, alpha, precision=_HI) * cols
        return (gram, jnp.maximum(done, full)), b

    init = (jnp.zeros((n_max, n_max), x.dtype), jnp.zeros((), jnp.int32))
    _, b = jax.lax.scan(point, init, g)
    return jnp.zeros_like(b).at[order].set(b)


@partial(jax.jit, static_argnames=("n_max", "width_primal", "n_keep", "dtype", "grid_batch"))
def _trial_chunk(keys, lam_p, beta_p, tail_sd, noise, grid_primal, grid_dual, *, n_max: int,
                 width_primal: int, n_keep: int, dtype, grid_batch: int):
    """Risks (and kept coefficients) for a chunk of trials x every grid point."""

    def risk_of(b):
        return noise**2 + tail_sd**2 + jnp.sum(lam_p * (b - beta_p) ** 2)

    def one_trial(key):
        x, y = _sample(key, lam_p, beta_p, tail_sd, noise, n_max, dtype)
        out = []
        for grid, fit in ((grid_primal, lambda g: _fit_primal(x, y, g[0], g[1], g[2], width_primal)),
                          (grid_dual, lambda g: _fit_dual(x, y, g[0], g[1], g[2]))):
            if grid.shape[0] == 0:
                out.append((jnp.zeros((0,), dtype), jnp.zeros((0, x.shape[1]), dtype)))
                continue
            if grid is grid_dual:       # Gram matrices shared along p (one draw, many p)
                b = _dual_curve(x, y, grid)
            else:
                b = jax.lax.map(fit, grid, batch_size=min(grid_batch, grid.shape[0]))
            out.append((jax.vmap(risk_of)(b), b))
        return out

    res = jax.vmap(one_trial)(keys)
    risks = jnp.concatenate([res[0][0], res[1][0]], axis=1)              # (T, G)
    coefs = jnp.concatenate([res[0][1], res[1][1]], axis=1)[:n_keep]     # (k, G, P)
    return risks, coefs


@dataclasses.dataclass(frozen=True)
class DenseSimulation:
    """Monte Carlo estimates on a grid (NumPy; arrays of the grid's shape unless noted).

    ``risks`` has shape ``grid + (trials,)``; ``coefficients`` ``grid + (k, P)`` for the first
    ``k`` trials when requested (zero beyond each point's ``p``).
    """

    p: np.ndarray
    n: np.ndarray
    ridge: np.ndarray
    risks: np.ndarray
    coefficients: np.ndarray | None

    dtype: str = "float64"

    def summary(self) -> TrialSummary:
        """Mean, standard error, median and trial counts per grid point (finite trials)."""
        return summarize(self.risks)

    @property
    def trials(self) -> np.ndarray:
        """Finite trials per grid point (the count behind ``mean`` and ``stderr``)."""
        return self.summary().finite

    @property
    def mean(self) -> np.ndarray:
        return self.summary().mean

    @property
    def stderr(self) -> np.ndarray:
        return self.summary().stderr

    @property
    def median(self) -> np.ndarray:
        return self.summary().median

    def rows(self) -> list[dict]:
        st = self.summary()
        return [dict(p=int(p), n=int(n), ridge=float(r), risk_mean=float(m), risk_stderr=float(s),
                     risk_median=float(md), trials=int(t), nonfinite_trials=int(nf))
                for p, n, r, m, s, md, t, nf in zip(self.p.ravel(), self.n.ravel(),
                                                     self.ridge.ravel(), st.mean.ravel(),
                                                     st.stderr.ravel(), st.median.ravel(),
                                                     st.finite.ravel(), st.nonfinite.ravel())]


def default_chunk(n_max: int, width: int, grid_batch: int, itemsize: int,
                  memory_budget: int) -> int:
    """Trials per chunk so that the peak working set stays under ``memory_budget`` bytes.

    Per trial: the draw (n x P), one masked copy per vmapped grid point and its Gram matrix
    (n x n or P' x P'), with a factor 2 for temporaries.
    """
    per_trial = itemsize * (n_max * width * (1 + grid_batch) + grid_batch * max(n_max, 1) ** 2) * 2
    return int(max(1, min(4096, memory_budget // max(per_trial, 1))))


def dense_risk(task: LinearTask, p, trials: int, key: jax.Array, n=None, ridge=None, *,
               dtype=jnp.float64, chunk: int | None = None, memory_budget: int = 1 << 30,
               keep_coefficients: int = 0, grid_batch: int = 1,
               progress: bool = False, checkpoint=None, devices=None) -> DenseSimulation:
    """Monte Carlo test risk of min-norm / OLS / ridge fits on a grid of ``(p, n, ridge)``.

    Args:
      task: the problem (pool, signal, noise; default ``n`` and ``ridge``).
      p, n, ridge: grid axes, broadcast together.
      trials: independent data draws per grid point (shared across grid points).
      key: a ``jax.random`` key; results do not depend on ``chunk``.
      dtype: float64 (default) or float32 (GPU); matmuls use ``Precision.HIGHEST`` either way.
      chunk: trials per compiled call (default: from ``memory_budget`` bytes).
      keep_coefficients: return the fitted coefficients of the first ``k`` trials.
      checkpoint: a folder; finished chunks are saved there atomically and an
        interrupted run with the same arguments resumes where it stopped (another run's
        folder is refused).
      devices: devices the trials are sharded over (None: all visible; a count; a list):
        the numbers do not depend on it (:mod:`sims._sharding`); ``chunk`` is per device.

    Example:
      >>> import jax, models, sims
      >>> task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
      >>> mc = sims.dense_risk(task, p=200, trials=400, key=jax.random.key(0))
      >>> round(float(mc.mean), 1), bool(mc.stderr < 0.01)   # theory (E1): gamma^2 = 1
      (1.0, True)
    """
    p, n, ridge = task.grid_axes(p, n, ridge)
    trials = int(check_int_range("trials", trials, 1))
    keep = int(check_int_range("keep_coefficients", keep_coefficients, 0, trials))
    if chunk is not None:
        chunk = int(check_int_range("chunk", chunk, 1))
    dt = check_dtype(dtype, "sims.dense_risk")
    shape = np.broadcast_shapes(p.shape, n.shape, np.shape(ridge))
    pf, nf, rf = (np.broadcast_to(a, shape).ravel() for a in (p, n, ridge))
    split = GridSplit(pf, nf, rf, dt)
    lam = np.asarray(task.eigenvalues)
    beta = np.asarray(task.signal)
    p_max = split.p_max
    lam_p, beta_p = jnp.asarray(lam[:p_max], dt), jnp.asarray(beta[:p_max], dt)
    tail_sd = jnp.asarray(math.sqrt(float(np.sum(lam[p_max:] * beta[p_max:] ** 2))), dt)
    noise = jnp.asarray(float(task.noise), dt)
    if chunk is None:
        chunk = default_chunk(split.n_max, p_max, grid_batch, dt.itemsize, memory_budget)
    chunk = min(chunk, trials)

    def call(keys, start):
        return _trial_chunk(keys, lam_p, beta_p, tail_sd, noise, split.primal, split.dual,
                            n_max=split.n_max, width_primal=split.width_primal,
                            n_keep=keys.shape[0] if start < keep else 0, dtype=dt,
                            grid_batch=grid_batch)

    run_key = dict(kind="dense", task=jax.tree_util.tree_leaves(task), grid=(pf, nf, rf), keep=keep, dtype=str(dt))
    out = run_chunks(call, key, trials, chunk, progress, checkpoint, run_key, devices=devices)
    risks = split.restore(np.concatenate([r for r, _ in out])[:trials], axis=1)   # (T, G)
    risks = risks.T.reshape(shape + (trials,))
    coefficients = None
    if keep:
        cb = split.restore(np.concatenate([b for _, b in out if b.shape[0]])[:keep], axis=1)
        coefficients = np.moveaxis(cb, 0, 1).reshape(shape + (keep, p_max))
    return DenseSimulation(p=pf.reshape(shape), n=nf.reshape(shape), ridge=rf.reshape(shape),
                           risks=risks.astype(np.float64), coefficients=coefficients,
                           dtype=str(dt))
