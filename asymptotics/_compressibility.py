"""Compressibility of i.i.d. vectors: closed forms and finite-n laws (theory, float64).

Mathematics: ``docs/heavy_tailed_sgd.md``, section "Closed forms"; references:
Gribonval, Cevher, Davies, "Compressible distributions for high-dimensional statistics",
IEEE Trans. Inf. Theory 58 (2012); Wan, Barsbey, Zaidi, Simsekli, "Implicit Compressibility
of Overparametrized Neural Networks Trained with Heavy-Tailed SGD", arXiv:2306.08125
(ICML 2024), section 3.

Definitions.  For ``x in R^n`` keep the ``k = kappa n`` entries of largest magnitude; the
*leftover fraction* is ``sigma_k(x)_2^2 / ||x||_2^2`` (the squared relative error of the best
``k``-term approximation).  For columns ``theta_1..theta_n in R^d``, *mce pruning* removes the
smallest-norm columns while their share of ``sum_i ||theta_i||^2`` stays ``<= eps^2``; the
*mce pruned fraction* is the share of columns removed.

The alpha-stable law enters only through its characteristic function ``exp(-|t|^alpha)``
(unit scale): densities, the CDF of ``|X|`` and truncated second moments are computed by
Fourier inversion with adaptive quadrature (``scipy.integrate.quad``).  Nothing here samples;
the simulation (``sims.heavy_tailed``) is an independent evaluator.

Status.  Every public function returns an :class:`~asymptotics.Estimate` ``(value, status,
error)``.  ``error`` is ``quad``'s absolute error estimate propagated to the returned value
(to first order through the root finds: ``dq = dF / F'(q)``); the status is NOT_CONVERGED
when it exceeds ``QUAD_TOL * max(1, |value|)``, when a root find fails, or when a bracketing
loop (doubling the upper end) passes :data:`MAX_DOUBLINGS`; closed forms are CONVERGED with
error 0.  ``throw=True`` (default) raises :class:`~asymptotics.SolverError` instead.
"""

from __future__ import annotations

from functools import lru_cache
from math import cos, gamma, pi, sin

import numpy as np
from scipy import integrate, optimize, stats

import models
from models._errors import InputError, as_finite_array, check_int_range

from ._status import Status, estimate

#: accepted absolute error of a value (relative above 1), from quad's error estimate
QUAD_TOL = 1e-8
#: cap on the doubling of a bracket's upper end (2^64 covers every finite quantile)
MAX_DOUBLINGS = 64
_QUAD = dict(limit=400, epsabs=1e-14, epsrel=1e-12, full_output=1)


# ----------------------------------------------------------------------------- validation
def _alpha(alpha, lo: float = 0.0) -> float:
    a = float(as_finite_array("alpha", alpha))
    if not lo < a <= 2.0:
        raise InputError(f"alpha: got {a!r}; allowed: {lo:g} < alpha <= 2")
    return a


def _fraction(name: str, value) -> float:
    v = float(as_finite_array(name, value))
    if not 0.0 < v < 1.0:
        raise InputError(f"{name}: got {v!r}; allowed: 0 < {name} < 1")
    return v


# ----------------------------------------------------------------------------- stable law
def stable_tail_constant(alpha, *, throw: bool = True):
    """``c_alpha = 2 Gamma(alpha) sin(pi alpha/2) / pi``: ``P(|X| > x) ~ c_alpha x^-alpha``.

    Samorodnitsky and Taqqu (1994), Property 1.2.15, for unit scale ``exp(-|t|^alpha)``.
    Closed form: an :class:`Estimate` with status CONVERGED.
    """
    models.require_x64("stable_tail_constant")
    return estimate(_tail_constant(_alpha(alpha)), Status.CONVERGED,
                    where="stable_tail_constant", throw=throw)


def _tail_constant(a: float) -> float:
    return 2.0 * gamma(a) * sin(pi * a / 2) / pi


def _t_max(a: float) -> float:
    return 42.0 ** (1.0 / a)  # exp(-t^alpha) < 6e-19 beyond


def _quad(f, a: float) -> tuple[float, float]:
    """``int_0^t_max f`` and quad's absolute error estimate (no warning: the error feeds the
    status instead)."""
    val, err, *_ = integrate.quad(f, 0.0, _t_max(a), **_QUAD)
    return float(val), float(err)


def _ok(value: float, error: float) -> bool:
    return bool(np.isfinite(value) and np.isfinite(error) and error <= QUAD_TOL * max(1.0, abs(value)))


def _status(value, error, *, solved: bool = True) -> Status:
    return Status.CONVERGED if solved and _ok(value, error) else Status.NOT_CONVERGED


@lru_cache(maxsize=4096)
def _density(x: float, a: float) -> tuple[float, float]:
    val, err = _quad(lambda t: np.exp(-t**a) * np.cos(t * abs(x)), a)
    return val / pi, err / pi


def stable_density(x, alpha, *, throw: bool = True):
    """Density of the unit-scale symmetric alpha-stable law by Fourier inversion,
    ``f(x) = (1/pi) int_0^inf cos(t x) exp(-t^alpha) dt`` (an :class:`Estimate` of ``x``'s
    shape)."""
    models.require_x64("stable_density")
    a = _alpha(alpha)
    xs = np.atleast_1d(as_finite_array("x", x))
    res = [_density(float(v), a) for v in xs.ravel()]
    val = np.array([r[0] for r in res]).reshape(xs.shape)
    err = np.array([r[1] for r in res]).reshape(xs.shape)
    st = np.array([_status(v, e) for v, e in zip(val.ravel(), err.ravel())]).reshape(xs.shape)
    if not np.ndim(x):
        val, err, st = val[0], err[0], st[0]
    return estimate(val, st, err, where="stable_density", throw=throw)


@lru_cache(maxsize=4096)
def _abs_cdf(q: float, a: float) -> tuple[float, float]:
    # P(|X| <= q) = (2/pi) int_0^inf exp(-t^a) sin(q t) / t dt
    val, err = _quad(lambda t: np.exp(-t**a) * q * np.sinc(q * t / pi), a)
    return 2.0 * val / pi, 2.0 * err / pi


def _h(s: np.ndarray) -> np.ndarray:
    """``h(s) = int_0^1 y^2 cos(s y) dy`` (series near 0, closed form elsewhere)."""
    s = np.asarray(s, dtype=np.float64)
    small = np.abs(s) < 0.5
    ss = np.where(small, 1.0, s)
    closed = (ss**2 * np.sin(ss) + 2 * ss * np.cos(ss) - 2 * np.sin(ss)) / ss**3
    z = s * s
    series = (1 / 3 - z / 10 + z**2 / 168 - z**3 / 6480 + z**4 / 443520 - z**5 / 47174400)
    return np.where(small, series, closed)


@lru_cache(maxsize=4096)
def _trunc_m2(q: float, a: float) -> tuple[float, float]:
    # E[X^2 1{|X| <= q}] = (2/pi) q^3 int_0^inf exp(-t^a) h(q t) dt
    val, err = _quad(lambda t: np.exp(-t**a) * _h(q * t), a)
    return 2.0 * q**3 * val / pi, 2.0 * q**3 * err / pi


def stable_abs_cdf(q, alpha, *, throw: bool = True):
    """``P(|X| <= q)`` for the unit-scale symmetric alpha-stable law (Fourier inversion)."""
    models.require_x64("stable_abs_cdf")
    val, err = _abs_cdf(float(q), _alpha(alpha))
    return estimate(val, _status(val, err), err, where="stable_abs_cdf", throw=throw)


def stable_truncated_second_moment(q, alpha, *, throw: bool = True):
    """``m(q) = E[X^2 1{|X| <= q}]`` for the unit-scale symmetric alpha-stable law."""
    models.require_x64("stable_truncated_second_moment")
    val, err = _trunc_m2(float(q), _alpha(alpha))
    return estimate(val, _status(val, err), err, where="stable_truncated_second_moment",
                    throw=throw)


def _bracket_root(f, target: float) -> tuple[float, bool]:
    """Smallest ``hi = 2^k`` (``k <= MAX_DOUBLINGS``) with ``f(hi) >= target``; ``ok``."""
    hi = 1.0
    for _ in range(MAX_DOUBLINGS):
        if f(hi) >= target:
            return hi, True
        hi *= 2.0
    return hi, bool(f(hi) >= target)


def _brentq(f, hi: float, tol: float) -> tuple[float, bool]:
    root, info = optimize.brentq(f, 0.0, hi, xtol=tol, rtol=tol, full_output=True, disp=False)
    return float(root), bool(info.converged)


@lru_cache(maxsize=256)
def _abs_quantile(p: float, a: float) -> tuple[float, float, Status]:
    """``(q_p, error, status)``; the error is the CDF's quadrature error over the density of
    ``|X|`` at ``q_p`` (first order) plus the root finder's tolerance."""
    cdf = lambda q: _abs_cdf(q, a)[0]  # noqa: E731
    hi, bracketed = _bracket_root(cdf, p)
    if not bracketed:
        return float("nan"), float("inf"), Status.NOT_CONVERGED
    q, solved = _brentq(lambda v: cdf(v) - p, hi, 1e-13)
    f_abs = 2.0 * _density(q, a)[0]
    err = _abs_cdf(q, a)[1] / f_abs + 2e-13 * max(1.0, q) if f_abs > 0 else float("inf")
    return q, err, _status(q, err, solved=solved)


def stable_abs_quantile(p, alpha, *, throw: bool = True):
    """``q_p`` with ``P(|X| <= q_p) = p`` (an :class:`Estimate`)."""
    models.require_x64("stable_abs_quantile")
    q, err, st = _abs_quantile(_fraction("p", p), _alpha(alpha))
    return estimate(q, st, err, where="stable_abs_quantile", throw=throw)


# ----------------------------------------------------------------------------- leftover fraction
def gaussian_leftover_fraction(kappa, *, throw: bool = True):
    """Limit of the leftover fraction of an i.i.d. Gaussian vector after keeping its top
    ``kappa n`` entries: ``(1 - kappa) - 2 c phi(c)``, ``c = Phi^{-1}(1 - kappa/2)``.

    It is ``E[Z^2 1{|Z| <= c}]`` for ``Z ~ N(0, 1)``; Gaussian vectors are not compressible
    (Gribonval, Cevher, Davies 2012, section III).  ``kappa = 0.1`` gives 0.5607.  Closed
    form (status CONVERGED).
    """
    models.require_x64("gaussian_leftover_fraction")
    k = _fraction("kappa", kappa)
    c = stats.norm.ppf(1 - k / 2)
    return estimate(float((1 - k) - 2 * c * stats.norm.pdf(c)), Status.CONVERGED,
                    where="gaussian_leftover_fraction", throw=throw)


def heavy_tailed_leftover_fraction(alpha, n, kappa=0.1, *, throw: bool = True):
    """Mean leftover fraction of an i.i.d. symmetric alpha-stable vector of length ``n``
    after keeping its top ``kappa n`` entries, to leading order in ``n``:

    ``E[sigma_k(x)_2^2 / ||x||_2^2] ~ n^(1 - 2/alpha) m_kappa Gamma(1 + 2/alpha)
    (c_alpha Gamma(1 - alpha/2))^(-2/alpha)``, ``m_kappa = E[X^2 1{|X| <= q_(1-kappa)}]``.

    Derivation: the kept-out part is ``n m_kappa (1 + o(1))`` by the law of large numbers,
    and ``||x||^2 / n^(2/alpha)`` tends to a positive ``alpha/2``-stable ``S`` with
    ``E exp(-l S) = exp(-C l^(alpha/2))``, ``C = c_alpha Gamma(1 - alpha/2)``, so
    ``E[1/S] = int_0^inf exp(-C l^(alpha/2)) dl = Gamma(1 + 2/alpha) C^(-2/alpha)``.
    The leftover fraction tends to 0 like ``n^(1 - 2/alpha)``: alpha-stable vectors with
    ``alpha < 2`` are compressible (Gribonval et al. 2012; Wan et al. 2024, Thm 3.3).
    At ``alpha = 2`` ``C -> E X^2 = 2`` and the formula is the Gaussian limit.

    Error: ``dm_kappa = err(m) + m'(q) dq = err(m) + q^2 err(F)`` (as ``m'(q) = q^2 F'(q)``).
    """
    models.require_x64("heavy_tailed_leftover_fraction")
    a = _alpha(alpha, lo=0.0)
    nn = float(check_int_range("n", n, 1))
    k = _fraction("kappa", kappa)
    q, _, st = _abs_quantile(1 - k, a)
    m_kappa, err_m = _trunc_m2(q, a) if np.isfinite(q) else (float("nan"), float("inf"))
    err_m = err_m + q**2 * _abs_cdf(q, a)[1] if np.isfinite(q) else err_m
    big_c = 2.0 if a == 2.0 else _tail_constant(a) * gamma(1 - a / 2)
    factor = nn ** (1 - 2 / a) * gamma(1 + 2 / a) * big_c ** (-2 / a)
    val, err = float(factor * m_kappa), float(factor * err_m)
    status = st if st != Status.CONVERGED else _status(val, err)
    return estimate(val, status, err, where="heavy_tailed_leftover_fraction", throw=throw)


# ----------------------------------------------------------------------------- mce pruning
def gaussian_mce_pruned_fraction(d, eps2=0.1, *, throw: bool = True):
    """Limit (n -> inf) of the mce pruned fraction of i.i.d. ``N(0, I_d)`` columns:
    ``P(chi_d <= r)`` where ``P(chi_(d+2) <= r) = eps^2``.

    The share of ``sum ||theta_i||^2`` carried by columns of norm ``<= r`` tends to
    ``E[R^2 1{R <= r}] / E R^2 = P(chi_(d+2) <= r)`` (size-biasing ``chi_d`` by ``R^2`` gives
    ``chi_(d+2)``).  ``eps^2 = 0.1``: d = 1 -> 0.5554, 10 -> 0.2109, 784 -> 0.1093.  Closed
    form (status CONVERGED).
    """
    models.require_x64("gaussian_mce_pruned_fraction")
    dd = int(check_int_range("d", d, 1))
    e2 = _fraction("eps2", eps2)
    return estimate(_gaussian_mce(dd, e2), Status.CONVERGED,
                    where="gaussian_mce_pruned_fraction", throw=throw)


def _gaussian_mce(dd: int, e2: float) -> float:
    r2 = stats.chi2.ppf(e2, dd + 2)
    return float(stats.chi2.cdf(r2, dd))


@lru_cache(maxsize=64)
def _positive_stable_median(b: float) -> float:
    # median of A >= 0 with E exp(-l A) = exp(-l^b), 0 < b < 1; scipy's S1 form with
    # beta = 1 has E exp(-l A) = exp(-(gamma l)^b / cos(pi b / 2)).
    scale = cos(pi * b / 2) ** (1 / b)
    return float(stats.levy_stable.ppf(0.5, b, 1.0, scale=scale))


def stable_mce_pruned_fraction(alpha, n, eps2=0.1, *, throw: bool = True):
    """Median mce pruned fraction of an i.i.d. symmetric alpha-stable vector of length ``n``
    (scalar entries), to leading order in ``n``.

    The entries of magnitude ``<= q`` carry ``n m(q)`` (law of large numbers) and the total
    is ``||x||^2 ~ n^(2/alpha) S``, ``S`` positive ``alpha/2``-stable with Laplace transform
    ``exp(-C l^(alpha/2))``, ``C = c_alpha Gamma(1 - alpha/2)``.  The pruned fraction is
    ``P(|X| <= q*)`` with ``m(q*) = eps^2 n^(2/alpha - 1) S``; it is increasing in ``S``, so
    its median is obtained at the median of ``S``.  As ``n -> inf`` it tends to 1 for every
    ``alpha < 2``; at ``alpha = 2`` it is the Gaussian limit :func:`gaussian_mce_pruned_fraction`
    with ``d = 1`` (0.5554 for ``eps^2 = 0.1``).

    Error: ``err(F(q*)) + F'(q*) dq*`` with ``dq* = err(m) / m'(q*)`` and ``m'(q) = q^2 F'(q)``,
    i.e. ``err(F) + err(m) / q*^2``.
    """
    models.require_x64("stable_mce_pruned_fraction")
    a = _alpha(alpha)
    nn = float(check_int_range("n", n, 1))
    e2 = _fraction("eps2", eps2)
    where = "stable_mce_pruned_fraction"
    if a == 2.0:
        return estimate(_gaussian_mce(1, e2), Status.CONVERGED, where=where, throw=throw)
    b = a / 2
    s_med = (_tail_constant(a) * gamma(1 - b)) ** (1 / b) * _positive_stable_median(b)
    target = e2 * nn ** (2 / a - 1) * s_med
    m2 = lambda v: _trunc_m2(v, a)[0]  # noqa: E731
    hi, bracketed = _bracket_root(m2, target)
    if not bracketed:
        return estimate(float("nan"), Status.NOT_CONVERGED, float("inf"), where=where, throw=throw)
    q, solved = _brentq(lambda v: m2(v) - target, hi, 1e-12)
    val, err_f = _abs_cdf(q, a)
    err = err_f + _trunc_m2(q, a)[1] / q**2
    return estimate(val, _status(val, err, solved=solved), err, where=where, throw=throw)
