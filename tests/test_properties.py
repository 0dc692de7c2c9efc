"""Property-based tests of the linear theory (issue 11, item 4).

Random VALID linear problems (``models.LinearTask``: spectra anywhere in [1e-8, 1e8], pool
sizes and ``p``, ``n`` from 1 to 3000, ridge 0 to 1e3, noise 0 included) against the public
theory (``asymptotics.dense_risk``, ``pruned_risk``, ``coordinate_law``, ``dense_risk_point``
under ``jax.grad``).  Every property below is a theorem about the formulas of
``docs/linear.md`` sections 2-4; the derivation sits in the comment above its assertion.

Reproducibility: the default profile ``ci`` is derandomized (the same examples on every run,
no example database) with a bounded number of examples, so the default suite is
deterministic.  ``OVERPARAM_HYPOTHESIS=explore pytest tests/test_properties.py`` runs a
random search with many more examples (how the regressions at the end of this file were
found).

Compile budget: a ``LinearTask``'s ``n`` is a static field, so every task here is built with
``n = 1`` and the sample sizes travel as a grid axis (``n=``); pool sizes are drawn from a
short list and grids have a fixed bucket length, so each test compiles once per pool size.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import asymptotics as asy  # noqa: E402
import models  # noqa: E402
from asymptotics import Status  # noqa: E402
from models import LinearTask  # noqa: E402,F401  (loads Flax now: its import draws from
                               # `random`, which hypothesis forbids inside a strategy)

settings.register_profile(
    "ci", deadline=None, max_examples=30, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "explore", deadline=None, max_examples=int(os.environ.get("OVERPARAM_HYPOTHESIS_EXAMPLES", 2000)),
    derandomize=False, database=None,
    print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PROFILE = os.environ.get("OVERPARAM_HYPOTHESIS", "ci")


def examples(n: int):
    """The profile's settings with ``n`` examples in ``ci`` (``explore`` keeps its own)."""
    base = settings.get_profile(PROFILE)
    return settings(base, max_examples=n if PROFILE == "ci" else base.max_examples)


#: pool sizes (one compilation each per test): the edge 1, a few hundred, a few thousand; the
#: ``explore`` profile adds 2 and 17, and every test draws from all of them
EXPLORE = PROFILE != "ci"
POOLS = (1, 2, 17, 300, 3000) if EXPLORE else (1, 300, 3000)
#: the pool of the costlier programs (gradients, pruned grid, coordinate law) in ``ci``
SMALL_POOLS = POOLS if EXPLORE else (300,)
LAM_LO, LAM_HI = -8.0, 8.0          # log10 range of the eigenvalues


# ------------------------------------------------------------------------------ strategies
@st.composite
def tasks(draw, pools=POOLS):
    """A valid task: spectrum shape, range, order and signal drawn; arrays made by NumPy from
    a drawn seed (so shrinking acts on the few parameters, not on thousands of floats)."""
    D = draw(st.sampled_from(pools))
    seed = draw(st.integers(0, 2**31 - 1))
    kind = draw(st.sampled_from(("loguniform", "two-level", "power-law", "constant", "extremes")))
    lo = draw(st.floats(LAM_LO, LAM_HI))
    hi = draw(st.floats(lo, LAM_HI))
    rng = np.random.default_rng(seed)
    if kind == "loguniform":
        lam = 10.0 ** rng.uniform(lo, hi, D)
    elif kind == "two-level":
        k = draw(st.integers(1, D))
        lam = np.full(D, 10.0**lo)
        lam[:k] = 10.0**hi
    elif kind == "power-law":
        a = draw(st.floats(0.0, 3.0))
        lam = np.clip(10.0**hi * np.arange(1, D + 1, dtype=float) ** -a, 10.0**LAM_LO, None)
    elif kind == "constant":
        lam = np.full(D, 10.0**hi)
    else:
        lam = np.where(np.arange(D) % 2 == 0, 10.0**LAM_HI, 10.0**LAM_LO)
    if draw(st.booleans()):
        lam = rng.permutation(lam)
    signal_kind = draw(st.sampled_from(("dense", "sparse", "zero")))
    scale = 10.0 ** draw(st.floats(-4.0, 4.0))
    beta = scale * rng.standard_normal(D) / np.sqrt(D)
    if signal_kind == "sparse":
        beta[draw(st.integers(1, D)):] = 0.0
    elif signal_kind == "zero":
        beta[:] = 0.0
    noise = draw(st.one_of(st.just(0.0), st.floats(1e-4, 1e2)))
    return models.LinearTask.create(lam, beta, noise=noise, n=1)


def sizes(draw, D: int, k: int, n: np.ndarray | None = None) -> np.ndarray:
    """``k`` model sizes in [1, D], near the interpolation thresholds of ``n`` half the time."""
    out = []
    for _ in range(k):
        if n is not None and draw(st.booleans()):
            out.append(int(np.clip(draw(st.sampled_from(list(n))) + draw(st.integers(-1, 1)), 1, D)))
        else:
            out.append(draw(st.integers(1, D)))
    return np.array(out)


@st.composite
def dense_grids(draw):
    """A task and a sorted ``4 (p) x 2 (n) x 4 (ridge)`` grid (32 points: one bucket)."""
    task = draw(tasks())
    D = task.pool_size
    n = np.sort(np.array([draw(st.integers(1, 3000)), draw(st.integers(1, max(1, 2 * D)))]))
    p = np.sort(sizes(draw, D, 4, n))
    ridge = np.sort(np.array([0.0, *(10.0 ** draw(st.floats(-8.0, 3.0)) for _ in range(3))]))
    return task, p, n, ridge


def dense_on(task, p, n, ridge):
    """``dense_risk`` on the outer product (axes p, n, ridge), with ``throw=False``."""
    return asy.dense_risk(task, p=p[:, None, None], n=n[None, :, None], ridge=ridge[None, None, :],
                          throw=False)


# ------------------------------------------------------------------------------ dense theory
@examples(40)
@given(dense_grids())
def test_dense_status_finiteness_and_bounds(case):
    task, p, n, ridge = case
    c = dense_on(task, p, n, ridge)
    P, N, R = np.broadcast_arrays(p[:, None, None], n[None, :, None], ridge[None, None, :])
    noise2 = float(task.noise) * float(task.noise)   # as the theory squares it: x ** 2 (libm
    # pow) can differ from the correctly rounded x * x by one ulp (54.36266784353636)
    # A status for every point, and for a valid problem the solver never fails: Newton on the
    # increasing concave h(u) from a proved lower bound converges (asymptotics/_fixed_point.py).
    assert set(np.unique(c.status)) <= {Status.CONVERGED, Status.DIVERGED}, c.status
    # sigma_p^2 = sigma^2 + sum_{i > p} lambda_i beta_i^2 >= sigma^2; exactly in floating point
    # (a sum of non-negative terms added to sigma^2 never rounds below it).
    assert np.all(c.sigma_p2 >= noise2)
    lam = np.asarray(task.eigenvalues)
    beta2 = np.asarray(task.signal) ** 2
    tail = np.array([np.sum(lam[q:] * beta2[q:]) for q in P.ravel()]).reshape(P.shape)
    np.testing.assert_allclose(c.sigma_p2, noise2 + tail, rtol=1e-12, atol=0)
    # inf exactly at the ridgeless interpolation threshold p = n when something is amplified
    # (sigma_p^2 > 0 or shrinkage > 0; at p = n ridgeless kappa = 0, so no shrinkage): there
    # 1 - df2/n = 1 - p/n = 0.  Everywhere else 1 - df2/n > 0 and every value is finite.
    peak = (R == 0) & (P == N)
    diverged = peak & (c.sigma_p2 > 0)
    assert np.array_equal(c.status == Status.DIVERGED, diverged)
    assert np.all(np.isinf(c.risk[diverged])) and np.all(c.risk[diverged] > 0)
    ok = ~diverged
    for name in ("kappa", "risk", "bias", "variance", "sigma_p2", "df1", "df2"):
        v = getattr(c, name)
        assert not np.any(np.isnan(v)), name          # no NaN anywhere
        assert np.all(np.isfinite(v[ok])), name
    # risk = sigma_p^2 + bias + variance with bias, variance >= 0: risk >= sigma_p^2 >= sigma^2
    assert np.all(c.bias >= 0) and np.all(c.variance >= 0) and np.all(c.kappa >= 0)
    assert np.all(c.risk >= c.sigma_p2) and np.all(c.risk >= noise2)
    # degrees of freedom: 0 <= w_i <= 1 gives df2 <= df1 <= p; the fixed point
    # kappa - ridge = kappa df1 / n gives df1 = n (1 - ridge/kappa) <= n (ridgeless p <= n:
    # kappa = 0 and df1 = p <= n).  Relative slack for rounding in the sums.
    tol = 1e-9
    assert np.all(c.df2 <= c.df1 * (1 + tol))
    assert np.all(c.df1 <= np.minimum(P, N) * (1 + tol))


@examples(40)
@given(dense_grids())
def test_dense_monotone(case):
    task, p, n, ridge = case
    c = dense_on(task, p, n, ridge)
    rtol = 1e-9  # rounding of Newton's stopping rule (1e-12 in u) and of the sums
    # kappa is non-decreasing in ridge, non-decreasing in p and non-increasing in n.  In
    # u = 1/kappa the root solves h(u) = (1/n) sum_{i<=p} lambda_i u/(lambda_i u + 1)
    # + ridge u - 1 = 0 with h increasing in u.  Raising ridge or adding a feature raises h
    # at every u, raising n lowers it; so the root u moves down, down, up.  (Ridgeless with
    # p <= n: kappa = 0, the smallest value; consistent with the three directions.)
    k = c.kappa
    assert np.all(np.diff(k, axis=2) >= -rtol * k[:, :, 1:])
    assert np.all(np.diff(k, axis=0) >= -rtol * k[1:])
    assert np.all(np.diff(k, axis=1) <= rtol * k[:, :-1])
    # The variance term sigma_p^2 (df2/n)/(1 - df2/n) is non-increasing in ridge: it increases
    # with df2 = sum_i w_i^2, and w_i = lambda_i/(lambda_i + kappa) falls as kappa rises with
    # ridge (above); inf at the ridgeless peak is the largest value.
    v = c.variance
    fin = np.isfinite(v[:, :, 1:])
    dv = np.diff(v, axis=2)
    assert np.all(~fin | (dv <= rtol * np.abs(v[:, :, :-1]) + 1e-300))
    # sigma_p^2 is non-increasing in p (the tail sum of lambda_i beta_i^2 >= 0 loses terms).
    assert np.all(np.diff(c.sigma_p2, axis=0) <= 0)


@st.composite
def scale_cases(draw):
    task, p, n, ridge = draw(dense_grids())
    return task, p, n, ridge, 2.0 ** draw(st.integers(-8, 8))


@examples(25)
@given(scale_cases())
def test_dense_scale_invariance(case):
    """Rescaling the features x -> sqrt(c) x, the coefficients beta -> beta/sqrt(c) and the
    penalty ridge -> c ridge leaves the data and the fit X b unchanged ((1/n)||y - X b||^2
    + ridge ||b||^2 with b -> b/sqrt(c)), so the test risk is unchanged and kappa scales by c.
    With c a power of two every product lambda_i u is formed exactly alike."""
    task, p, n, ridge, c = case
    lam, beta = np.asarray(task.eigenvalues), np.asarray(task.signal)
    assume(np.all(lam * c >= 1e-300))
    scaled = models.LinearTask.create(lam * c, beta / np.sqrt(c), noise=float(task.noise), n=1)
    a = dense_on(task, p, n, ridge)
    b = dense_on(scaled, p, n, c * ridge)
    assert np.array_equal(a.status, b.status)
    np.testing.assert_allclose(b.risk, a.risk, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(b.kappa, c * a.kappa, rtol=1e-9, atol=1e-300)


# ------------------------------------------------------------------------------ gradients
def _risk_point(lam, beta, noise, p, n, ridge):
    task = models.LinearTask(eigenvalues=lam, signal=beta, noise=noise, ridge=ridge, n=1)
    return asy.dense_risk_point(task, p, n, ridge)


@jax.jit
def _grads(lam, beta, noise, p, n, ridge):
    """Risk, status and the gradient of the risk in (eigenvalues, signal, noise, ridge) at each
    grid point (the fixed point is differentiated implicitly: asymptotics/_fixed_point.py)."""
    def one(pp, nn, rr):
        def risk(lam, beta, noise, ridge):
            return _risk_point(lam, beta, noise, pp, nn, ridge).risk
        pt = _risk_point(lam, beta, noise, pp, nn, rr)
        g = jax.grad(risk, argnums=(0, 1, 2, 3))(lam, beta, noise, rr)
        return pt.risk, pt.status, g
    return jax.vmap(one)(p, n, ridge)


@st.composite
def grad_cases(draw):
    task = draw(tasks(pools=SMALL_POOLS))  # the gradient program compiles per pool
    D = task.pool_size
    n = np.array([draw(st.integers(1, 3000)) for _ in range(4)], np.float64)
    p = sizes(draw, D, 4, n.astype(int))
    ridge = np.array([draw(st.one_of(st.just(0.0), st.floats(1e-8, 1e3))) for _ in range(4)])
    return task, p, n, ridge


@examples(30)
@given(grad_cases())
def test_grad_finite_where_converged(case):
    task, p, n, ridge = case
    risk, status, g = _grads(task.eigenvalues, task.signal, task.noise, jnp.asarray(p),
                             jnp.asarray(n), jnp.asarray(ridge))
    conv = np.asarray(status) == Status.CONVERGED
    assert np.all(np.isfinite(np.asarray(risk)[conv]))
    for name, gi in zip(("eigenvalues", "signal", "noise", "ridge"), g):
        gi = np.asarray(gi).reshape(len(p), -1)
        assert np.all(np.isfinite(gi[conv])), (name, np.flatnonzero(~np.isfinite(gi[conv]).all(1)))


# ------------------------------------------------------------------------------ pruned theory
@st.composite
def pruned_cases(draw):
    task = draw(tasks(pools=SMALL_POOLS))  # the pruned grid compiles per pool
    D = task.pool_size
    n = np.array([draw(st.integers(1, 600)) for _ in range(4)])
    p = sizes(draw, D, 4, n)
    keep = np.array([draw(st.integers(1, int(q))) for q in p])
    keep[0] = p[0]                         # keep everything at one point: equals the dense risk
    ridge = np.array([draw(st.one_of(st.just(0.0), st.floats(1e-8, 1e3))) for _ in range(4)])
    return task, p, keep, n, ridge


@examples(25)
@given(pruned_cases())
def test_pruned_risk_properties(case):
    task, p, keep, n, ridge = case
    th = asy.pruned_risk(task, p=p, keep=keep, n=n, ridge=ridge, throw=False)
    dense = asy.dense_risk(task, p=p, n=n, ridge=ridge, throw=False)
    noise2 = float(task.noise) ** 2
    # a status per (point, rule); never a failure for valid input
    assert th.status.shape == (4, len(th.rules))
    assert set(np.unique(th.status)) <= {Status.CONVERGED, Status.DIVERGED}, th.status
    div = th.status == Status.DIVERGED
    # the pruned risk diverges exactly where the dense one does (ridgeless p = n)
    assert np.array_equal(div, np.repeat((dense.status == Status.DIVERGED)[:, None],
                                         len(th.rules), 1))
    assert not np.any(np.isnan(th.risk)) and np.all(np.isfinite(th.risk[~div]))
    # R = sigma_p^2 + sum_{i<=p} lambda_i {E[(Z_i - beta_i)^2; kept] + beta_i^2 P(not kept)}:
    # a non-negative excess over sigma_p^2 >= sigma^2
    sp2 = dense.sigma_p2[:, None]
    assert np.all(th.risk >= sp2 * (1 - 1e-12)) and np.all(th.risk >= noise2 * (1 - 1e-12))
    # keeping all p coordinates (threshold 0 / the whole support) leaves the fit unpruned:
    # sum_i lambda_i (d_i^2 + v_i^2) = shrinkage + gamma^2 df2/n, so R = gamma^2, the dense risk.
    # (Up to rounding: a keep probability 1 - P(dropped) carries ~1e-16 absolute error, so the
    # dropped signal sum_i lambda_i beta_i^2 P(dropped) is known to ~1e-16 of the signal power.)
    power = float(np.sum(np.asarray(task.eigenvalues) * np.asarray(task.signal) ** 2)) + noise2
    np.testing.assert_allclose(th.risk[0], dense.risk[0], rtol=1e-9, atol=1e-14 * power)
    # fresh-data retraining: sigma_S^2 (n-1)/(n-s-1) >= sigma^2 where defined (s < n - 1)
    defined = (keep < n - 1)[:, None] & ~div
    assert np.all(th.retrain_exact[defined] >= noise2 * (1 - 1e-12))
    assert np.all(np.isnan(th.retrain_exact[~(keep < n - 1)]))


# ------------------------------------------------------------------------------ coordinate law
@st.composite
def law_cases(draw):
    task = draw(tasks(pools=SMALL_POOLS))
    n = draw(st.integers(1, 600))
    p = sizes(draw, task.pool_size, 1, np.array([n]))[0]
    ridge = draw(st.one_of(st.just(0.0), st.floats(1e-8, 1e3)))
    return task, int(p), n, ridge


@examples(20)
@given(law_cases())
def test_coordinate_law_consistent_with_dense_risk(case):
    task, p, n, ridge = case
    law = asy.coordinate_law(task, p, n=n, ridge=ridge, throw=False)
    dense = asy.dense_risk(task, p=p, n=n, ridge=ridge, throw=False)
    if int(dense.status) == Status.DIVERGED:
        # the ridgeless peak: no law (infinite variance), reported, never a number
        assert law.status == Status.INVALID and np.all(np.isnan(law.sd))
        return
    assert law.status == Status.CONVERGED
    assert np.all(np.isfinite(law.mean)) and np.all(np.isfinite(law.sd)) and np.all(law.sd >= 0)
    # The coordinates b_i ~ N(m_i, v_i^2) give back the dense risk:
    # sigma_p^2 + sum_i lambda_i ((m_i - beta_i)^2 + v_i^2) = gamma^2 (docs/linear.md sec. 3).
    # (m_i - beta_i = -kappa/(lambda_i + kappa) beta_i is formed without the cancellation of
    # w_i beta_i - beta_i, which loses all digits when kappa << lambda_i.)
    lam = np.asarray(task.eigenvalues)[:p]
    beta = np.asarray(task.signal)[:p]
    np.testing.assert_allclose(law.mean, lam / (lam + law.kappa) * beta, rtol=1e-12, atol=0)
    excess = np.sum(lam * ((law.kappa / (lam + law.kappa) * beta) ** 2 + law.sd**2))
    np.testing.assert_allclose(float(dense.sigma_p2) + excess, law.gamma2, rtol=1e-9)


# ------------------------------------------------------------------------------ regressions
# Failing examples found by the property tests, kept as plain tests (each fixed in the theory).

def test_regression_kappa_has_no_absolute_tolerance():
    """Alternating eigenvalues 1e8 / 1e-8, p = 17, n = 1, ridge 1: kappa solves
    kappa^2 - (8e8 + 1) kappa - 1e8 ~ 0 (to 1e-16), kappa = 800000001.125.  An absolute Newton
    tolerance of 1e-12 in u = 1/kappa stopped at 800000011.58 (relative error 1.3e-8), and
    the same task scaled by 1/4 gave a different answer (found by
    test_dense_scale_invariance).  (A pool of 300 of which the model uses the first 17: the
    compilation of test_coordinate_law_consistent_with_dense_risk.)"""
    lam = np.where(np.arange(300) % 2 == 0, 1e8, 1e-8)
    for c in (1.0, 0.25):
        scaled = models.LinearTask.create(lam * c, np.ones(300), noise=0.0, n=1)
        k = asy.dense_risk(scaled, p=17, n=1, ridge=c).kappa
        assert float(k) == pytest.approx(c * 800000001.1250001, rel=1e-12)


def test_regression_fixed_point_at_the_rounding_floor():
    """100 features of variance 1e8 and 2900 of 1e-8, ridgeless, n = 100 and 1000 with p just
    above n or the whole pool: h'(u) u ~ 1e-7, so the 3e-13 rounding error of the summed
    residual moves kappa by ~2e-6 relative, and Newton oscillated at that level until its step
    cap (status NOT_CONVERGED, risk NaN for a valid problem).  The reference kappa is the root
    in exact rational arithmetic (bisection with fractions.Fraction, 60 halvings).  (32 copies
    of the point: the compilation of test_dense_status_finiteness_and_bounds.)"""
    for n, p, exact in ((100, 3000, 5.3851649471345056), (1000, 1001, None)):
        lam = np.full(3000, 1e-8)
        lam[:n] = 1e8
        task = models.LinearTask.create(lam, np.full(3000, 1e-3), noise=0.1, n=1)
        c = asy.dense_risk(task, p=np.full(32, p), n=n)   # throw=True: raises if unconverged
        assert np.all(c.status == Status.CONVERGED) and np.all(np.isfinite(c.risk))
        if exact is not None:
            np.testing.assert_allclose(c.kappa, exact, rtol=1e-5)


def test_regression_threshold_at_float_resolution():
    """Magnitude pruning to keep = 1 of p = 300 features (variances alternating 1e8 / 1e-8,
    noise 0, ridgeless n = 212): the strong coordinates are nearly deterministic
    (v_i = 4e-9 |m_i|), so S(c) jumps from 1 + 2e-10 to 1 - 2e-10 between adjacent floats and
    the count tolerance 1e-10 could not be met: the threshold loop ran into its step cap
    (NOT_CONVERGED, risk NaN) for a valid problem (found by test_pruned_risk_properties)."""
    lam = np.where(np.arange(300) % 2 == 0, 1e8, 1e-8)
    beta = np.random.default_rng(1).standard_normal(300) / np.sqrt(300)
    task = models.LinearTask.create(lam, beta, noise=0.0, n=1)
    # (four equal points, all rules: the compilation of test_pruned_risk_properties)
    th = asy.pruned_risk(task, p=np.full(4, 300), keep=1, n=212, ridge=0.0)
    assert np.all(th.status == Status.CONVERGED) and np.all(np.isfinite(th.risk))
    # the threshold sits at the largest |m_i| (keep one coordinate): within v_i of it
    d = asy.dense_risk(task, p=300, n=212)
    m = lam / (lam + d.kappa) * beta
    assert float(th.threshold[0, 0]) == pytest.approx(np.max(np.abs(m)), rel=1e-7)


def test_regression_retrained_risk_not_below_the_noise():
    """Random pruning keeping all p = 300 features (noise 0, n = 302): the keep probability
    s/p came out as 1 + 2^-52 under jit, so P(not kept) = 1 - keep < 0 and the fresh-data
    retrained risk was -2e-14, below the noise variance 0 (found by
    test_pruned_risk_properties)."""
    beta = np.random.default_rng(0).standard_normal(300) / np.sqrt(300)
    task = models.LinearTask.create(np.ones(300), beta, noise=0.0, n=1)
    th = asy.pruned_risk(task, p=np.full(4, 300), keep=300, n=302, ridge=0.0)
    assert np.all(th.retrain_exact >= 0.0) and np.all(th.risk >= 0.0)


# ------------------------------------------------------------------------------ ridge path
@pytest.mark.slow
@examples(4)
@given(law_cases())
def test_optimal_ridge_is_the_lowest_point_of_the_ridge_path(case):
    """The BFGS minimiser of the risk over ridge > 0 (``optimal_ridge``; slow: it compiles per
    call) is no worse than any point of a ridge path from 1e-8 to 1e3, and than ridgeless.
    (Where the infimum is approached as ridge -> 0, noise 0, BFGS may stop NOT_CONVERGED by
    design: then only the status is checked.)"""
    task, p, n, _ = case
    opt = asy.optimal_ridge(task, p=p, n=n, throw=False)
    assert opt.status in (Status.CONVERGED, Status.NOT_CONVERGED)
    if opt.status != Status.CONVERGED:
        assert np.isnan(opt.ridge) and np.isnan(opt.risk)
        return
    path = asy.dense_risk(task, p=p, n=n, ridge=np.r_[0.0, np.logspace(-8, 3, 31)], throw=False)
    assert opt.ridge > 0 and np.isfinite(opt.risk)
    assert opt.risk <= np.min(path.risk) * (1 + 1e-6)
