"""Closed forms of asymptotics._compressibility against the tables of docs/heavy_tailed_sgd.md
(docs/heavy_tailed_sgd.md, "Closed forms a test can check") and against exact special cases.
Tolerances: half a unit in the last printed digit of the tabulated numbers of docs/heavy_tailed_sgd.md, plus the quadrature
accuracy (1e-8) where the comparison is with an exact formula."""

import numpy as np
import pytest
from scipy import special, stats

import asymptotics as asy
from asymptotics import _compressibility
from models import InputError


def test_gaussian_leftover_fraction():
    assert asy.gaussian_leftover_fraction(0.1).value == pytest.approx(0.5607, abs=5e-5)


@pytest.mark.parametrize("alpha,n,expected", [(1.5, 1_000, 0.102), (1.5, 10_000, 0.047),
                                              (1.75, 1_000, 0.267), (1.75, 10_000, 0.192),
                                              (1.9, 1_000, 0.426)])
def test_heavy_tailed_leftover_table(alpha, n, expected):
    assert asy.heavy_tailed_leftover_fraction(alpha, n, 0.1).value == pytest.approx(expected, abs=5e-4)


def test_heavy_tailed_leftover_tends_to_gaussian_at_alpha_2():
    g = asy.gaussian_leftover_fraction(0.1).value
    assert asy.heavy_tailed_leftover_fraction(2.0, 1000).value == pytest.approx(g, abs=1e-10)
    assert asy.heavy_tailed_leftover_fraction(1.99999, 1000).value == pytest.approx(g, abs=1e-3)
    # compressibility: the leftover fraction falls like n^(1 - 2/alpha)
    r = asy.heavy_tailed_leftover_fraction(1.5, 10**4).value / asy.heavy_tailed_leftover_fraction(1.5, 10**3).value
    assert r == pytest.approx(10 ** (1 - 2 / 1.5), rel=1e-12)


@pytest.mark.parametrize("d,expected", [(1, 0.5554), (2, 0.4125), (5, 0.2743), (10, 0.2109),
                                        (50, 0.1414), (784, 0.1093)])
def test_gaussian_mce_table(d, expected):
    assert asy.gaussian_mce_pruned_fraction(d, 0.1).value == pytest.approx(expected, abs=5e-5)


def test_stable_law_special_cases():
    x = np.array([0.0, 0.5, 2.0, 7.0])
    np.testing.assert_allclose(asy.stable_density(x, 1.0).value, 1 / (np.pi * (1 + x**2)), atol=1e-9)
    np.testing.assert_allclose(asy.stable_density(x, 2.0).value, stats.norm.pdf(x, scale=np.sqrt(2)),
                               atol=1e-9)
    for q in (0.3, 1.0, 4.0):
        assert asy.stable_abs_cdf(q, 1.0).value == pytest.approx(2 / np.pi * np.arctan(q), abs=1e-9)
        assert asy.stable_abs_cdf(q, 2.0).value == pytest.approx(special.erf(q / 2), abs=1e-9)
        s = np.sqrt(2)  # N(0, 2): E[X^2 1{|X|<=q}] = s^2 (P(|Z|<=q/s) - 2 (q/s) phi(q/s))
        m = s**2 * (special.erf(q / 2) - 2 * (q / s) * stats.norm.pdf(q / s))
        assert asy.stable_truncated_second_moment(q, 2.0).value == pytest.approx(m, abs=1e-9)
    assert asy.stable_abs_quantile(0.5, 1.0).value == pytest.approx(1.0, abs=1e-9)  # Cauchy |X| median
    assert asy.stable_tail_constant(1.0).value == pytest.approx(2 / np.pi)
    assert asy.stable_tail_constant(2.0).value == pytest.approx(0.0, abs=1e-15)


def test_stable_mce_limits():
    # alpha = 2: the Gaussian d = 1 limit at every n (docs/heavy_tailed_sgd.md table row .55 .55 .55 .55)
    for n in (100, 10**5):
        assert asy.stable_mce_pruned_fraction(2.0, n).value == pytest.approx(0.5554, abs=5e-5)
    # alpha < 2: increasing in n towards 1
    vals = [asy.stable_mce_pruned_fraction(1.5, n).value for n in (10**2, 10**3, 10**4, 10**5)]
    assert np.all(np.diff(vals) > 0) and vals[-1] > 0.99


@pytest.mark.parametrize("call,arg", [
    (lambda: asy.heavy_tailed_leftover_fraction(2.5, 100), "alpha"),
    (lambda: asy.heavy_tailed_leftover_fraction(0.0, 100), "alpha"),
    (lambda: asy.heavy_tailed_leftover_fraction(1.5, 100, kappa=1.2), "kappa"),
    (lambda: asy.gaussian_mce_pruned_fraction(0), "d"),
    (lambda: asy.gaussian_mce_pruned_fraction(3, eps2=-0.1), "eps2"),
    (lambda: asy.stable_mce_pruned_fraction(1.5, 0), "n"),
])
def test_theory_bad_inputs(call, arg):
    with pytest.raises(InputError, match=rf"^{arg}: .*allowed"):
        call()


def test_status_and_error_estimates():
    # closed forms: CONVERGED, error 0; Fourier inversions: quad's error feeds the status
    assert asy.gaussian_leftover_fraction(0.1).status == asy.Status.CONVERGED
    est = asy.stable_abs_cdf(2.0, 1.3)
    assert est.status == asy.Status.CONVERGED and 0 <= est.error <= _compressibility.QUAD_TOL
    dens = asy.stable_density(np.array([0.0, 1.0]), 1.5)
    assert dens.status.tolist() == [asy.Status.CONVERGED] * 2 and dens.value.shape == (2,)
    # the propagated error bounds the distance to an exact value (Cauchy: |X| median 1)
    q = asy.stable_abs_quantile(0.5, 1.0)
    assert abs(q.value - 1.0) <= q.error + 1e-12


def test_quadrature_failure_is_reported_not_silent():
    # alpha = 1.2, n = 1e5: the truncated-moment integrand oscillates too fast for quad's
    # 400 subdivisions; its error estimate (~0.03 on the fraction) exceeds QUAD_TOL
    est = asy.stable_mce_pruned_fraction(1.2, 100_000, throw=False)
    assert est.status == asy.Status.NOT_CONVERGED and est.error > _compressibility.QUAD_TOL
    with pytest.raises(asy.SolverError, match=r"stable_mce_pruned_fraction: 1 not_converged"):
        asy.stable_mce_pruned_fraction(1.2, 100_000)


def test_doubling_loop_is_capped(monkeypatch):
    monkeypatch.setattr(_compressibility, "MAX_DOUBLINGS", 2)   # brackets up to 4 only
    _compressibility._abs_quantile.cache_clear()
    try:
        est = asy.stable_abs_quantile(0.99, 1.5, throw=False)  # q_0.99 ~ 25 > 4
        assert est.status == asy.Status.NOT_CONVERGED and np.isnan(est.value)
        with pytest.raises(asy.SolverError, match=r"stable_abs_quantile: 1 not_converged"):
            asy.stable_abs_quantile(0.99, 1.5)
        assert asy.stable_abs_quantile(0.5, 1.5).status == asy.Status.CONVERGED  # q < 4
    finally:
        _compressibility._abs_quantile.cache_clear()
