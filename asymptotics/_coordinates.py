"""Distribution of the fitted coordinates (theory note ``linear.md`` section 3).

Each coordinate of the min-norm / ridge fit behaves like a ridge estimate with
regularisation ``kappa`` in a Gaussian sequence model, independently across coordinates
(Chang et al., AAAI 2021, arXiv:2012.08749, Thm. 1):

    b_i  ~  w_i (beta_i + gamma g_i / sqrt(n lambda_i)),   g_i ~ N(0, 1),

with ``w_i = lambda_i / (lambda_i + kappa)``: mean ``m_i = w_i beta_i`` and standard deviation
``v_i = w_i gamma / sqrt(n lambda_i)``.  The empirical law of the ``p`` coordinates is the
equal-weight Gaussian mixture ``(1/p) sum_i N(m_i, v_i^2)``; its density, CDF and quantiles
are what a histogram of a fit is compared with.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import optimize, special

from models import LinearTask
from models._errors import check_int_range, check_positive

from ._dense import dense_risk
from ._status import Status


@dataclasses.dataclass(frozen=True)
class CoordinateLaw:
    """Per-coordinate Gaussian law of the fit of the first ``p`` features."""

    p: int
    n: int
    ridge: float
    kappa: float
    gamma2: float
    mean: np.ndarray  # (p,)  m_i = w_i beta_i
    sd: np.ndarray    # (p,)  v_i = w_i gamma / sqrt(n lambda_i)

    def subset(self, index) -> "CoordinateLaw":
        """The law of a subset of the coordinates (e.g. one block of a spectrum)."""
        idx = np.arange(self.p)[index]
        return dataclasses.replace(self, mean=self.mean[idx], sd=self.sd[idx])

    def density(self, x) -> np.ndarray:
        """Density of the empirical coordinate law, ``(1/p) sum_i phi((x-m_i)/v_i)/v_i``."""
        x = np.asarray(x, dtype=np.float64)
        z = (x[..., None] - self.mean) / self.sd
        return np.mean(np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * self.sd), axis=-1)

    def cdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.mean(special.ndtr((x[..., None] - self.mean) / self.sd), axis=-1)

    def quantile(self, q) -> np.ndarray:
        """Quantiles of the mixture (bracketed root finding, per level)."""
        q = np.atleast_1d(np.asarray(q, dtype=np.float64))
        if np.any((q <= 0) | (q >= 1)):
            raise ValueError("q: quantile levels must lie in (0, 1)")
        lo = float(np.min(self.mean - 40 * self.sd))
        hi = float(np.max(self.mean + 40 * self.sd))
        return np.array([optimize.brentq(lambda x, t=t: float(self.cdf(x)) - t, lo, hi,
                                         xtol=1e-14) for t in q])


def coordinate_law(task: LinearTask, p: int, n: int | None = None,
                   ridge: float | None = None) -> CoordinateLaw:
    """The coordinate law of the fit on the first ``p`` features.

    Raises ``InputError`` for bad input; ``ValueError`` at the ridgeless peak ``p = n``
    (the fit's variance is infinite there and no law exists).
    """
    p = int(check_int_range("p", p, 1, task.pool_size))
    n = task.n if n is None else int(check_int_range("n", n, 1))
    ridge = float(task.ridge) if ridge is None else float(check_positive("ridge", ridge, strict=False))
    th = dense_risk(task, p=p, n=n, ridge=ridge)
    if int(th.status) == Status.DIVERGED:
        raise ValueError(f"coordinate_law: p = n = {n} with ridge 0 is the interpolation "
                         "peak; the coordinates have infinite variance there")
    kappa, gamma2 = float(th.kappa), float(th.risk)
    lam = np.asarray(task.eigenvalues)[:p]
    beta = np.asarray(task.signal)[:p]
    w = lam / (lam + kappa)
    return CoordinateLaw(p=p, n=n, ridge=ridge, kappa=kappa, gamma2=gamma2, mean=w * beta,
                         sd=w * np.sqrt(gamma2 / (n * lam)))
