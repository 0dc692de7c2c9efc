"""Random-features Monte Carlo averaged over draws of the first layer ``W`` (and the teacher).

The conditional simulation (:func:`sims.rf_dense_risk`) estimates ``R(W) = E_data risk`` for
one fixed ``W``.  The proportional-limit prediction (``docs/random_features.md``, Mei and
Montanari, arXiv:1908.05355) is a statement about ``E_W R(W)`` (and ``R(W)`` concentrates on
it as ``d`` grows), so its simulation check draws ``K`` pairs ``(W_k, theta_k)`` with
``models.RFTask.draw`` from keys ``fold_in(weights_key, k)`` and ``T`` data draws for each:

    mean   = (1/K) sum_k m_k,      m_k = (1/T) sum_t R_{k,t},
    stderr = std_k(m_k) / sqrt(K)  (ddof = 1),

the standard error of the two-level design: the spread of the per-draw means contains both
the between-``W`` variance and the within-``W`` Monte Carlo error, so no variance component
has to be estimated separately.  Every draw has the same shapes, so ONE compiled program of
:func:`sims.rf_dense_risk` serves all ``K`` draws (a host loop over draws, trials vmapped in
chunks inside each); the exact risk of each fit uses the moments of its own ``W``.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from models import InputError, RFTask
from models._errors import check_int_range
from models._keys import check_key

from ._rf import rf_dense_risk


@dataclasses.dataclass(frozen=True)
class WeightAveragedSimulation:
    """Dense random-features risk averaged over ``draws`` draws of ``(W, theta)`` (NumPy).

    ``per_draw``: ``(draws,) + grid`` mean risk of each draw over its ``trials`` data draws;
    ``per_draw_stderr``: its Monte Carlo standard error; ``mean``/``stderr``: the two-level
    estimate of ``E_W R(W)`` and its standard error (module docstring); ``nonfinite``:
    non-finite trials over all draws (left out of each draw's mean)."""

    p: np.ndarray
    n: np.ndarray
    ridge: np.ndarray
    draws: int
    trials: int
    per_draw: np.ndarray
    per_draw_stderr: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    nonfinite: np.ndarray

    def rows(self) -> list[dict]:
        """One dict per grid point: ``p, n, ridge, risk_mean, risk_stderr, weight_draws,
        trials, nonfinite_trials`` (``trials`` per draw)."""
        f = lambda a: np.asarray(a).ravel()  # noqa: E731
        return [dict(p=int(p), n=int(n), ridge=float(r), risk_mean=float(m), risk_stderr=float(s),
                     weight_draws=self.draws, trials=self.trials, nonfinite_trials=int(nf))
                for p, n, r, m, s, nf in zip(f(self.p), f(self.n), f(self.ridge), f(self.mean),
                                             f(self.stderr), f(self.nonfinite))]


def rf_dense_risk_over_weights(weights_key: jax.Array, key: jax.Array, *, d: int, pool: int,
                               n: int, noise: float, p=None, ridge=None, draws: int,
                               trials: int, activation="relu", law: str = "sphere",
                               centred: bool = True, chunk: int | None = None,
                               progress: bool = False) -> WeightAveragedSimulation:
    """Monte Carlo of ``E_W R(W)``: ``draws`` tasks ``models.RFTask.draw(fold_in(weights_key,
    k), d=d, pool=pool, ...)``, each simulated by :func:`sims.rf_dense_risk` with ``trials``
    data draws from ``fold_in(key, k)`` on the grid ``(p, n, ridge)`` (defaults: the whole
    pool, ``n``, 0).

    Example:
      >>> mc = sims.rf_dense_risk_over_weights(jax.random.key(0), jax.random.key(1), d=10,
      ...                                      pool=40, n=20, noise=0.5, p=[10, 40], draws=3,
      ...                                      trials=20)
      >>> mc.per_draw.shape, bool(np.all(mc.stderr > 0))
      ((3, 2), True)
    """
    check_key("weights_key", weights_key)
    check_key("key", key)
    draws = int(check_int_range("draws", draws, 2))
    trials = int(check_int_range("trials", trials, 2))
    tasks = [RFTask.draw(jax.random.fold_in(weights_key, k), d=d, pool=pool, n=n, noise=noise,
                         activation=activation, law=law, centred=centred)
             for k in range(draws)]                    # every input checked before compiling
    p, n_, ridge_ = tasks[0].grid_axes(p, None, ridge)
    pb, nb, rb = np.broadcast_arrays(p, n_, ridge_)
    if np.any((pb == nb) & (rb == 0)):
        raise InputError("p: the ridgeless interpolation peak p = n has an infinite mean risk; "
                         "allowed: widths p != n when ridge = 0")
    means, ses, bad = [], [], 0
    for k, task in enumerate(tasks):
        mc = rf_dense_risk(task, p=p, n=n_, ridge=ridge_, trials=trials,
                           key=jax.random.fold_in(key, k), chunk=chunk)
        means.append(mc.mean)
        ses.append(mc.stderr)
        bad = bad + np.sum(~np.isfinite(mc.risks), axis=-1)
        if progress:
            print(f"rf_dense_risk_over_weights: draw {k + 1}/{draws}", flush=True)
    per = np.stack(means)
    return WeightAveragedSimulation(
        p=mc.p, n=mc.n, ridge=mc.ridge, draws=draws, trials=trials, per_draw=per,
        per_draw_stderr=np.stack(ses), mean=per.mean(0),
        stderr=per.std(0, ddof=1) / np.sqrt(draws), nonfinite=np.asarray(bad))
