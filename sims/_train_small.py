"""Monte Carlo of the train-small baseline: OLS trained directly on the known support.

The baseline of the sparse-double-descent comparison (``docs/linear.md`` section 4):
a model of size ``s`` trained by least squares on the ``s`` features of the pool with the
largest signal power ``lambda_i beta_i^2`` (:func:`models.train_small_support`, wherever
they sit in the pool; it does not depend on a model size ``p``).

One trial draws the columns of the largest support needed (``s_max`` features, in
decreasing order of signal power) for ``n_max`` samples, and labels
``y = X_S beta_S + t eps' + sigma eps`` with ``t^2`` the signal power outside that support.
Every ``(keep, n)`` grid point fits OLS on the first ``keep`` of those columns and the first
``n`` rows of the same draw (common random numbers), and its exact population risk is
``sigma^2 + sum_{i not in S} lambda_i beta_i^2 + sum_{i in S} lambda_i (theta_i - beta_i)^2``.
Nothing here calls ``asymptotics``.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from models import InputError, LinearTask
from models._config import MATMUL_PRECISION
from models._errors import check_int_range
from models._estimators import ols_on_support
from models._pruning_ops import train_small_support

from ._batching import check_dtype, run_chunks
from ._summary import TrialSummary, summarize


def check_train_small_grid(keep, n, pool: int):
    """Validated ``(keep, n)`` grid of a train-small simulation: ``(shape, keep, n)`` flat;
    least squares on ``keep`` features needs ``keep < n - 1`` (finite expected risk)."""
    keep = check_int_range("keep", keep, 1, pool)
    n = check_int_range("n", n, 1)
    shape = np.broadcast_shapes(keep.shape, n.shape)
    kf, nf = (np.broadcast_to(a, shape).ravel() for a in (keep, n))
    bad = kf >= nf - 1
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"keep: got {int(kf[i])} with n = {int(nf[i])}; allowed: keep < n - 1 "
                         "(least squares on the support needs more samples than features + 1)")
    return shape, kf, nf


@partial(jax.jit, static_argnames=("n_max", "dtype"))
def _chunk(keys, lam_s, beta_s, tail_sd, noise, keeps, ns, *, n_max: int, dtype):
    s_max = lam_s.shape[0]

    def one_trial(key):
        kx, kt, ke = jax.random.split(key, 3)
        x = jax.random.normal(kx, (n_max, s_max), dtype) * jnp.sqrt(lam_s).astype(dtype)
        y = (jnp.matmul(x, beta_s.astype(dtype), precision=MATMUL_PRECISION)
             + tail_sd * jax.random.normal(kt, (n_max,), dtype)
             + noise * jax.random.normal(ke, (n_max,), dtype))

        def point(s, n):
            valid = (jnp.arange(s_max) < s).astype(dtype)
            theta = ols_on_support(x, y, jnp.arange(s_max), valid, n)
            # features of the largest support left out at this s count as missed signal
            return (noise**2 + tail_sd**2
                    + jnp.sum(lam_s * jnp.where(valid > 0, (theta - beta_s) ** 2, beta_s**2)))

        return jax.vmap(point)(keeps, ns)

    return jax.vmap(one_trial)(keys)


@dataclasses.dataclass(frozen=True)
class TrainSmallSimulation:
    """Monte Carlo risks of the train-small baseline; ``risks``: ``grid + (trials,)``."""

    keep: np.ndarray
    n: np.ndarray
    support: np.ndarray
    risks: np.ndarray
    dtype: str = "float64"

    def summary(self) -> TrialSummary:
        return summarize(self.risks)

    def rows(self) -> list[dict]:
        st = self.summary()
        return [dict(keep=int(k), n=int(n), risk_mean=float(m), risk_stderr=float(se),
                     risk_median=float(md), trials=int(t), nonfinite_trials=int(nf))
                for k, n, m, se, md, t, nf in zip(self.keep.ravel(), self.n.ravel(),
                                                   st.mean.ravel(), st.stderr.ravel(),
                                                   st.median.ravel(), st.finite.ravel(),
                                                   st.nonfinite.ravel())]


def train_small_risk(task: LinearTask, keep, trials: int, key: jax.Array, n=None, *,
                     dtype=jnp.float64, chunk: int | None = None, progress: bool = False,
                     checkpoint=None, devices=None) -> TrainSmallSimulation:
    """Monte Carlo risk of OLS trained on the pool's ``keep`` features of largest signal
    power, on a ``(keep, n)`` grid (broadcast together; ``n`` defaults to ``task.n``).

    Example:
      >>> import jax, models, sims
      >>> task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
      >>> mc = sims.train_small_risk(task, keep=10, trials=2000, key=jax.random.key(0))
      >>> round(float(mc.summary().mean), 2)   # E1: 0.2781 exact
      0.28
    """
    shape, kf, nf = check_train_small_grid(keep, task.n if n is None else n, task.pool_size)
    trials = int(check_int_range("trials", trials, 1))
    dt = check_dtype(dtype, "sims.train_small_risk")
    s_max = int(kf.max())
    lam, beta = np.asarray(task.eigenvalues), np.asarray(task.signal)
    support = train_small_support(lam, beta, s_max)
    power = lam[support] * beta[support] ** 2
    ranked = support[np.argsort(-power, kind="stable")]      # decreasing power, ties by pool order
    outside = np.ones(lam.size, bool)
    outside[ranked] = False
    tail_sd = math.sqrt(float(np.sum(lam[outside] * beta[outside] ** 2)))
    args = (jnp.asarray(lam[ranked], dt), jnp.asarray(beta[ranked], dt), jnp.asarray(tail_sd, dt),
            jnp.asarray(float(task.noise), dt), jnp.asarray(kf), jnp.asarray(nf, dt))
    n_max = int(nf.max())
    if chunk is None:
        chunk = max(1, min(4096, (1 << 28) // max(1, dt.itemsize * n_max * s_max * (2 + kf.size))))
    chunk = min(int(check_int_range("chunk", chunk, 1)), trials)

    def call(keys, start):
        return (_chunk(keys, *args, n_max=n_max, dtype=dt),)

    run_key = dict(kind="train-small", task=jax.tree_util.tree_leaves(task), grid=(kf, nf),
                   dtype=str(dt))
    out = run_chunks(call, key, trials, chunk, progress, checkpoint, run_key, devices=devices)
    risks = np.concatenate([r for (r,) in out])[:trials]                        # (T, G)
    return TrainSmallSimulation(keep=kf.reshape(shape), n=nf.reshape(shape),
                                support=np.sort(support),
                                risks=risks.T.reshape(shape + (trials,)).astype(np.float64),
                                dtype=str(dt))
