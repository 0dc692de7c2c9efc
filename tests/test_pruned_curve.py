"""The pruned theory solved as a curve (asymptotics/_pruned_curve.py: continuation of the
threshold along the sorted grid, truncated passes, Taylor-closed sums, bracketed solver for
the rest) against the per-point solver (asymptotics/_pruning.pruned_point), point by point."""

import jax.numpy as jnp
import numpy as np
import pytest

import asymptotics as asy
import models
from asymptotics import _pruning

FIELDS = ("risk", "retrain_exact", "retrain_asymptotic", "threshold", "kept_signal")


def _both(task, p, keep, n, ridge, rules, support=None):
    args = (task, jnp.asarray(p), jnp.asarray(keep, jnp.float64), jnp.asarray(n, jnp.float64),
            jnp.asarray(ridge, jnp.float64), None if support is None else jnp.asarray(support))
    curve = {k: np.asarray(v) for k, v in _pruning._pruned_curve_grid(*args, rules=rules).items()}
    point = {k: np.asarray(v) for k, v in
             _pruning._pruned_grid(*args, rules=rules, noiseless=False).items()}
    return curve, point


def _assert_same(curve, point, rtol=1e-9):
    np.testing.assert_array_equal(curve["status"], point["status"])
    np.testing.assert_array_equal(curve["status_dense"], point["status_dense"])
    for field in FIELDS + ("kappa", "dense_risk"):
        a, b = curve[field], point[field]
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=field)
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b), err_msg=field)
        ok = np.isfinite(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=1e-13, err_msg=field)


def test_curve_equals_per_point_on_a_mixed_grid():
    # power-law pool, unsorted p with repeats, two n, a ridge, two keep values interleaved
    # (several runs), OLS points, the ridgeless peak p = n (DIVERGED, inf), keep = p
    task = models.LinearTask.power_law(pool=600, n=150, noise=0.5, a=1.0, b=0.5)
    rng = np.random.default_rng(1)
    p = rng.integers(20, 601, size=90)
    p[:6] = [150, 150, 600, 40, 40, 25]
    n = np.where(np.arange(90) % 3 == 0, 200.0, 150.0)
    ridge = np.where(np.arange(90) % 5 == 0, 1e-2, 0.0)
    keep = np.where(np.arange(90) % 2 == 0, 20, 7)
    keep[5] = 25                                           # keep = p: nothing pruned, c = 0
    dense = np.arange(160, 600, 7)                         # a long run: continuation
    p = np.concatenate([p, dense])
    n = np.concatenate([n, np.full(dense.size, 150.0)])
    ridge = np.concatenate([ridge, np.zeros(dense.size)])
    keep = np.concatenate([keep, np.full(dense.size, 20)])
    curve, point = _both(task, p, keep, n, ridge, ("magnitude", "saliency", "oracle", "random"))
    _assert_same(curve, point)
    assert np.isinf(curve["risk"][1]).all()                # p = n = 150, ridgeless
    # the continuation does the work: most points of the long run take the two passes
    run = slice(90, None)
    assert np.mean(curve["steps"][run, :2] == 2) > 0.8


def test_curve_equals_per_point_with_a_sparse_signal_and_one_rule():
    # beta with zeros (the kept true-signal count differs from the kept count), one
    # threshold rule (the one-rule full pass is buffered: asymptotics/_pruned_curve.py)
    task = models.LinearTask.isotropic(pool=500, n=120, noise=0.3, support=12)
    p = np.arange(130, 501, 9)
    for rules in (("magnitude",), ("saliency",)):
        curve, point = _both(task, p, np.full(p.size, 12), np.full(p.size, 120.0),
                             np.zeros(p.size), rules)
        _assert_same(curve, point)


def test_curve_with_a_user_support():
    task = models.LinearTask.power_law(pool=300, n=100, noise=0.4, a=1.5, b=0.0)
    p = np.arange(110, 301, 10)
    support = np.zeros(300)
    support[[0, 3, 7, 50, 90]] = 1.0
    curve, point = _both(task, p, np.full(p.size, 5), np.full(p.size, 100.0), np.zeros(p.size),
                         ("oracle", "magnitude"), support=support)
    _assert_same(curve, point)


def test_pruned_risk_takes_the_curve_for_large_grids(monkeypatch):
    task = models.LinearTask.power_law(pool=800, n=200, noise=0.5, a=1.0, b=1.0)
    p = np.arange(210, 801, 3)
    monkeypatch.setattr(_pruning, "PRUNED_CURVE_MIN_WORK", 1)
    calls = []
    real = _pruning._pruned_curve_grid
    monkeypatch.setattr(_pruning, "_pruned_curve_grid",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    got = asy.pruned_risk(task, p=p, keep=30, rule=("magnitude", "saliency"))
    assert calls
    monkeypatch.setattr(_pruning, "PRUNED_CURVE_MIN_WORK", 1 << 60)
    ref = asy.pruned_risk(task, p=p, keep=30, rule=("magnitude", "saliency"))
    np.testing.assert_allclose(got.risk, ref.risk, rtol=1e-9)
    np.testing.assert_allclose(got.threshold, ref.threshold, rtol=1e-9)
    # keep probabilities and noise 0 stay with the per-point solver
    monkeypatch.setattr(_pruning, "PRUNED_CURVE_MIN_WORK", 1)
    calls.clear()
    asy.pruned_risk(task, p=p[:5], keep=30, rule="magnitude", keep_probabilities=True)
    asy.pruned_risk(models.LinearTask.power_law(pool=800, n=200, noise=0.0, a=1.0, b=1.0),
                    p=p[:5], keep=30, rule="magnitude")
    assert not calls


@pytest.mark.parametrize("a", [0.5, 2.0])
def test_curve_on_flat_and_steep_spectra(a):
    task = models.LinearTask.power_law(pool=700, n=150, noise=0.5, a=a, b=1.0)
    p = np.unique(np.geomspace(160, 700, 80).astype(int))[:60]   # same shape: one compile
    curve, point = _both(task, p, np.full(p.size, 40), np.full(p.size, 150.0), np.zeros(p.size),
                         ("magnitude", "saliency", "oracle"))
    _assert_same(curve, point)


def test_fast_normal_cdf_matches_scipy():
    from scipy.special import ndtr as scipy_ndtr

    from asymptotics._normal import ndtr

    x = np.linspace(-38.0, 38.0, 20001)
    ref = scipy_ndtr(x)
    got = np.asarray(ndtr(jnp.asarray(x)))
    ok = ref > 1e-300
    assert np.max(np.abs(got[ok] - ref[ok]) / ref[ok]) < 1e-14
    assert np.asarray(ndtr(jnp.asarray([-np.inf, np.inf]))).tolist() == [0.0, 1.0]
