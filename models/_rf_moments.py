"""Exact second-order moments of random features (the law of the features, no solving).

Mathematics: ``docs/random_features.md`` ("Gaussian equivalence"), here without the
equivalence: the true moments of ``phi_i(x) = act(w_i.x) - mu0_i`` for ``x ~ N(0, I_d)``,

    M = E phi phi^T,   c = E y phi,   E y^2 = |theta|^2 + sigma^2,
    R(a) = E (y - a.phi(x))^2 = E y^2 - 2 a.c + a^T M a,

computed once per task on the host in float64 from the activation and its Hermite
coefficients.  They describe the features' law, so both evaluators use them: the simulations
(``sims``) evaluate the exact risk of every fit with them, and the theory
(``asymptotics.rf_dense_risk(..., second_moment="exact")``, the finite-``d`` correction of
``docs/random_features.md``) feeds them to the general-covariance engine in place of the
Gaussian-equivalent ``M``.  With ``r_i = |w_i|`` and
``rho_ij = w_i.w_j / (r_i r_j)``:

* Mehler's formula ``E act(w_i.x) act(w_j.x) = sum_k a_k(r_i) a_k(r_j) rho_ij^k``
  (``a_k(r) = E[act(r G) He_k(G)] / sqrt(k!)``), truncated at the first order ``K`` with
  ``rho_max^(K+1) max_i t_i(K)^2 < 1e-14``, ``t_i(K)^2 = sum_{k > K} a_k(r_i)^2``: by
  Cauchy-Schwarz this bounds the neglected tail of every entry;
* closed forms where they exist: the arc-cosine kernels of order 1 (ReLU) and 2 (ReLU^2),
  ``E = r_i^n r_j^n J_n(t) / (2 pi)``, ``t = arccos rho``, ``J_1 = sin t + (pi - t) cos t``,
  ``J_2 = 3 sin t cos t + (pi - t)(1 + 2 cos^2 t)`` (Cho and Saul 2009: their Mehler
  series decay like ``k^(-5/4)`` and ``k^(-7/4)``), and erf,
  ``(2/pi) arcsin(2 r_i r_j rho / sqrt((1 + 2 r_i^2)(1 + 2 r_j^2)))`` (Williams 1997);
* centring subtracts ``mu0_i mu0_j`` (``mu0_i = a_0(r_i)``); the cross moment is exact by
  Stein's lemma, ``c_i = E[(x.theta) act(w_i.x)] = (w_i.theta / r_i) a_1(r_i)``.

References: Cho and Saul, "Kernel methods for deep learning" (NIPS 2009); Williams,
"Computing with infinite networks" (NIPS 1997); Mehler's formula (O'Donnell, *Analysis of
Boolean Functions*, ch. 11); Stein's lemma.
"""

from __future__ import annotations

import math
import warnings
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from ._activations import activation_fn, gaussian_expectation, hermite_coefficients
from ._config import require_x64
from ._errors import InputError, check_choice, check_int_range
from ._rf import RFTask

#: activations whose feature second moment has a closed form (used by ``method="auto"``)
CLOSED_FORMS = ("relu", "relu2", "erf")
#: the Mehler series stops at the first order whose truncation bound is below this
TRUNCATION_TOL = 1e-14
#: highest Hermite order (``models.hermite_coefficients`` normalises by ``sqrt(k!)`` in
#: float64, which overflows beyond ``k = 170``)
MAX_ORDER = 170


class RFMoments(NamedTuple):
    """Exact second-order moments of the features of the first ``P`` rows (NumPy, float64).

    ``second``: ``M = E phi phi^T`` (``P x P``, centred features if the task is centred);
    ``cross``: ``c = E y phi``; ``label_second``: ``E y^2``; ``mu0``: ``E act(w_i.x)`` (the
    centring); ``method``: ``"arc-cosine"``, ``"erf"`` or ``"mehler"``; ``order``: the last
    Mehler term kept (``-1`` for a closed form); ``truncation_bound``: a bound on
    ``max_ij |M_ij - M_ij^(order)|`` (0 for a closed form; quadrature error of the Hermite
    coefficients, ~1e-15 each, not included).
    """

    second: np.ndarray
    cross: np.ndarray
    label_second: float
    mu0: np.ndarray
    method: str
    order: int
    truncation_bound: float

    def risk(self, a) -> np.ndarray:
        """``R(a) = E y^2 - 2 a.c + a^T M a`` for second layers ``a`` (``(..., p)``, ``p <= P``;
        the first ``p`` features)."""
        a = np.asarray(a, np.float64)
        p = a.shape[-1]
        m, c = self.second[:p, :p], self.cross[:p]
        return self.label_second - 2 * a @ c + np.einsum("...i,ij,...j->...", a, m, a)


def check_task(task) -> RFTask:
    if not isinstance(task, RFTask):
        raise InputError(f"task: got {type(task).__name__}; allowed: a models.RFTask")
    return task


def _closed_form(name: str, r: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Uncentred ``E[act(w_i.x) act(w_j.x)]`` in closed form (rows of norms ``r``, correlations
    ``rho``): arc-cosine kernels of order 1 and 2 (Cho and Saul 2009), erf (Williams 1997)."""
    rr = np.outer(r, r)
    if name == "erf":
        q = 1.0 + 2.0 * r**2
        return (2 / math.pi) * np.arcsin(np.clip(2 * rr * rho / np.sqrt(np.outer(q, q)), -1, 1))
    t = np.arccos(rho)
    s = np.sqrt(np.maximum(1.0 - rho**2, 0.0))
    if name == "relu":
        return rr * (s + (math.pi - t) * rho) / (2 * math.pi)
    return rr**2 * (3 * s * rho + (math.pi - t) * (1 + 2 * rho**2)) / (2 * math.pi)   # relu2


def _mehler(coef: np.ndarray, second: np.ndarray, rho: np.ndarray):
    """``sum_{k <= K} a_k(r_i) a_k(r_j) rho_ij^k`` off the diagonal, with ``K`` the first order
    whose bound ``rho_max^(K+1) max_i t_i(K)^2`` falls below :data:`TRUNCATION_TOL`, where
    ``t_i(K)^2 = sum_{k > K} a_k(r_i)^2 = E act(r_i G)^2 - sum_{k <= K} a_k(r_i)^2`` (Cauchy-Schwarz
    bounds the tail ``sum_{k > K} |a_k(r_i) a_k(r_j)| |rho_ij|^k`` by ``|rho_ij|^(K+1) t_i t_j``).
    The diagonal is ``E act(r_i G)^2`` itself (quadrature)."""
    P = coef.shape[0]
    off = rho[~np.eye(P, dtype=bool)]
    rho_max = float(np.abs(off).max()) if off.size else 0.0
    tail = np.maximum(second[:, None] - np.cumsum(coef**2, axis=1), 0.0)      # (P, K+1)
    bounds = rho_max ** np.arange(1, coef.shape[1] + 1) * tail.max(axis=0)
    ok = np.flatnonzero(bounds < TRUNCATION_TOL)
    order = int(ok[0]) if ok.size else coef.shape[1] - 1
    bound = float(bounds[order])
    if bound > 1e-8:
        warnings.warn(f"Mehler series truncated at order {order} with error bound {bound:.1e} "
                      f"(row correlations up to {rho_max:.3f})", RuntimeWarning, stacklevel=3)
    m = np.zeros_like(rho)
    for k in range(order, -1, -1):                                             # Horner in rho
        m = m * rho + np.outer(coef[:, k], coef[:, k])
    np.fill_diagonal(m, second)
    return m, order, bound


def rf_feature_moments(task: RFTask, p: int | None = None, *, method: str = "auto") -> RFMoments:
    """Exact feature moments of the first ``p`` rows of ``W`` (default: all), float64, host.

    For rows ``w_i`` of norms ``r_i`` and correlations ``rho_ij = w_i.w_j / (r_i r_j)``:

    * Mehler: ``E act(w_i.x) act(w_j.x) = sum_k a_k(r_i) a_k(r_j) rho_ij^k`` with
      ``a_k = models.hermite_coefficients`` (truncated adaptively, bound in
      ``truncation_bound``);
    * ``relu``: ``r_i r_j (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi)`` and ``relu2``:
      ``r_i^2 r_j^2 (3 sin t cos t + (pi - t)(1 + 2 cos^2 t)) / (2 pi)``, ``t = arccos rho``
      (arc-cosine kernels of order 1 and 2; their Mehler series decay slowly);
    * ``erf``: ``(2/pi) arcsin(2 r_i r_j rho / sqrt((1 + 2 r_i^2)(1 + 2 r_j^2)))``.

    Centred features subtract ``mu0_i mu0_j`` (``mu0_i = a_0(r_i)``).  The cross moment is
    exact by Stein's lemma: ``c_i = E[y act(w_i.x)] = (w_i.theta / r_i) a_1(r_i)``.

    Args:
      method: ``"auto"`` (closed form when there is one, else Mehler), ``"closed"`` or
        ``"series"`` (Mehler for any activation: a cross-check of the closed forms).

    Example:
      >>> task = models.RFTask.draw(jax.random.key(0), d=20, pool=30, n=40, noise=0.5)
      >>> mom = models.rf_feature_moments(task)
      >>> mom.method, round(float(mom.second[0, 0]), 6)      # 1/2 - 1/(2 pi) for a unit row
      ('arc-cosine', 0.340845)
    """
    task = check_task(task)
    check_choice("method", method, ("auto", "closed", "series"))
    P = task.pool_size if p is None else int(check_int_range("p", p, 1, task.pool_size))
    require_x64("rf_feature_moments")
    name = task.activation if isinstance(task.activation, str) else None
    if method == "closed" and name not in CLOSED_FORMS:
        raise InputError(f"method: 'closed' has no closed form for activation {name or 'custom'!r}; "
                         f"allowed: 'closed' only for {', '.join(CLOSED_FORMS)}")
    w = np.asarray(task.weights, np.float64)[:P]
    theta = np.asarray(task.teacher, np.float64)
    r = np.linalg.norm(w, axis=1)
    u = w / r[:, None]
    rho = np.clip(u @ u.T, -1.0, 1.0)
    np.fill_diagonal(rho, 1.0)
    act = activation_fn(task.activation)
    closed = method == "closed" or (method == "auto" and name in CLOSED_FORMS)
    order = MAX_ORDER if not closed else 1
    coef = np.asarray(hermite_coefficients(act, order, scale=jnp.asarray(r)), np.float64)
    if closed:
        m = _closed_form(name, r, rho)
        kind, order, bound = ("erf" if name == "erf" else "arc-cosine"), -1, 0.0
    else:
        rj = jnp.asarray(r)
        second = np.asarray(gaussian_expectation(lambda g: act(g[:, None] * rj[None, :]) ** 2),
                            np.float64)
        m, order, bound = _mehler(coef, second, rho)
        kind = "mehler"
    mu0 = coef[:, 0] if task.centred else np.zeros(P)
    m = m - np.outer(mu0, mu0)
    cross = (w @ theta) / r * coef[:, 1]
    return RFMoments(second=m, cross=cross, label_second=task.label_second_moment,
                     mu0=coef[:, 0].copy(), method=kind, order=order, truncation_bound=bound)
