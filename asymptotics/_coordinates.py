"""Distribution of the fitted coordinates (``docs/linear.md`` section 3).

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

import models
from models import LinearTask
from models._errors import check_int_range, check_positive

from ._dense import dense_risk
from ._status import Status, raise_if_failed


@dataclasses.dataclass(frozen=True)
class CoordinateLaw:
    """Per-coordinate Gaussian law of the fit of the first ``p`` features.

    ``status``: CONVERGED; INVALID at the ridgeless peak ``p = n`` (infinite variance, no
    law: ``mean``/``sd`` NaN); NOT_CONVERGED if the fixed point failed.  With noise 0 and
    ``gamma = 0`` (exact recovery) ``sd`` is 0 and the law is the point masses at ``mean``.
    """

    p: int
    n: int
    ridge: float
    kappa: float
    gamma2: float
    mean: np.ndarray  # (p,)  m_i = w_i beta_i
    sd: np.ndarray    # (p,)  v_i = w_i gamma / sqrt(n lambda_i)
    status: Status = Status.CONVERGED

    @property
    def _point_masses(self) -> bool:
        return bool(np.all(self.sd == 0))

    def subset(self, index) -> "CoordinateLaw":
        """The law of a subset of the coordinates (e.g. one block of a spectrum)."""
        idx = np.arange(self.p)[index]
        return dataclasses.replace(self, mean=self.mean[idx], sd=self.sd[idx])

    def density(self, x) -> np.ndarray:
        """Density of the empirical coordinate law, ``(1/p) sum_i phi((x-m_i)/v_i)/v_i``
        (``inf`` at the atoms and 0 elsewhere for point masses)."""
        x = np.asarray(x, dtype=np.float64)
        if self._point_masses:
            return np.where(np.any(x[..., None] == self.mean, axis=-1), np.inf, 0.0)
        z = (x[..., None] - self.mean) / self.sd
        return np.mean(np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * self.sd), axis=-1)

    def cdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._point_masses:
            return np.mean(x[..., None] >= self.mean, axis=-1)
        return np.mean(special.ndtr((x[..., None] - self.mean) / self.sd), axis=-1)

    def quantile(self, q) -> np.ndarray:
        """Quantiles of the mixture (bracketed root finding, per level; for point masses the
        smallest ``x`` with ``cdf(x) >= q``)."""
        q = np.atleast_1d(np.asarray(q, dtype=np.float64))
        if np.any((q <= 0) | (q >= 1)):
            raise ValueError("q: quantile levels must lie in (0, 1)")
        if self._point_masses:
            srt = np.sort(self.mean)
            return srt[np.ceil(q * srt.size - 1e-12).astype(int) - 1]
        lo = float(np.min(self.mean - 40 * self.sd))
        hi = float(np.max(self.mean + 40 * self.sd))
        return np.array([optimize.brentq(lambda x, t=t: float(self.cdf(x)) - t, lo, hi,
                                         xtol=1e-14) for t in q])


def coordinate_law(task: LinearTask, p: int, n: int | None = None,
                   ridge: float | None = None, *, throw: bool = True) -> CoordinateLaw:
    """The coordinate law of the fit on the first ``p`` features.

    Raises ``InputError`` for bad input.  At the ridgeless peak ``p = n`` with something to
    amplify the fit's variance is infinite and no law exists: status INVALID (``mean``/``sd``
    NaN), and :class:`SolverError` with ``throw=True``; likewise for an unconverged fixed
    point (NOT_CONVERGED).
    """
    models.require_x64("coordinate_law")
    p = int(check_int_range("p", p, 1, task.pool_size))
    n = task.n if n is None else int(check_int_range("n", n, 1))
    ridge = float(task.ridge) if ridge is None else float(check_positive("ridge", ridge, strict=False))
    th = dense_risk(task, p=p, n=n, ridge=ridge, throw=False)
    status = Status(int(th.status))
    if status == Status.DIVERGED:
        status = Status.INVALID
    if throw:
        raise_if_failed(status, f"coordinate_law (p = {p}, n = {n}, ridge = {ridge}: "
                        + ("interpolation peak, infinite variance" if status == Status.INVALID
                           else "fixed point") + ")")
    kappa, gamma2 = float(th.kappa), float(th.risk)
    lam = np.asarray(task.eigenvalues)[:p]
    beta = np.asarray(task.signal)[:p]
    w = lam / (lam + kappa)
    mean, sd = w * beta, w * np.sqrt(gamma2 / (n * lam))
    if status != Status.CONVERGED:
        mean, sd = np.full(p, np.nan), np.full(p, np.nan)
    return CoordinateLaw(p=p, n=n, ridge=ridge, kappa=kappa, gamma2=gamma2, mean=mean, sd=sd,
                         status=status)
