"""Dense theory: closed forms, worked examples, forms that must agree, gradients, status."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import asymptotics as asy
import models
from asymptotics import _dense


def hastie_ridgeless(psi, r2, sigma2):
    """Hastie, Montanari, Rosset, Tibshirani (2019), Thm. 1 / Eq. (10)-(11): isotropic
    features, ridgeless; total risk (noise included)."""
    psi = np.asarray(psi, float)
    under = sigma2 + sigma2 * psi / (1 - psi)
    over = sigma2 + r2 * (1 - 1 / psi) + sigma2 / (psi - 1)
    return np.where(psi < 1, under, over)


def test_isotropic_closed_form():
    n, sigma, k = 100, 0.7, 10
    task = models.LinearTask.isotropic(pool=600, n=n, noise=sigma, support=k, signal_power=2.0)
    p = np.array([10, 20, 50, 90, 99, 101, 110, 150, 200, 400, 600])  # p >= k: no unmodelled signal
    th = asy.dense_risk(task, p=p)
    np.testing.assert_allclose(th.risk, hastie_ridgeless(p / n, 2.0, sigma**2), rtol=1e-10)
    np.testing.assert_allclose(th.risk, th.sigma_p2 + th.bias + th.variance, rtol=1e-12)
    # kappa closed form for Sigma = I: p/(1+kappa) = n  =>  kappa = p/n - 1
    over = p > n
    np.testing.assert_allclose(th.kappa[over], p[over] / n - 1, rtol=1e-10)


def test_ols_underparameterized():
    task = models.LinearTask.two_level(strong=40, lam_strong=1.0, lam_weak=0.05, n=100, noise=1.0)
    p = np.arange(1, 100)
    th = asy.dense_risk(task, p=p)
    sigma_p2 = np.array([task.effective_noise(int(q)) for q in p])
    np.testing.assert_array_equal(th.kappa, 0.0)
    np.testing.assert_allclose(th.risk, sigma_p2 / (1 - p / 100), rtol=1e-12)
    assert np.all(th.status == asy.Status.CONVERGED)


def test_worked_example_e1():
    task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
    th = asy.dense_risk(task, p=200)
    assert abs(float(th.kappa) - 1.0) < 1e-10
    assert abs(float(th.risk) - 1.0) < 1e-10
    law = asy.coordinate_law(task, 200)
    np.testing.assert_allclose(law.mean[:10], 0.5 / np.sqrt(10), rtol=1e-10)   # w = 1/2
    np.testing.assert_allclose(law.sd, 0.5 * 1.0 / np.sqrt(100), rtol=1e-10)


@pytest.mark.parametrize("p,kappa,dense", [(300, 0.1494, 1.9053), (800, 0.4718, 1.4791),
                                          (1200, 0.7074, 1.4425)])
def test_worked_example_e2(p, kappa, dense):
    task = models.LinearTask.two_level(strong=40, lam_strong=1.0, lam_weak=0.05, n=100,
                                       noise=1.0, pool=1200)
    th = asy.dense_risk(task, p=p)
    assert abs(float(th.kappa) - kappa) < 1e-4
    assert abs(float(th.risk) - dense) < 1e-4


def test_peak_is_inf_and_never_nan():
    task = models.LinearTask.power_law(pool=400, n=100, noise=0.5, a=1.0, b=0.5)
    p = np.arange(1, 401)
    th = asy.dense_risk(task, p=p[:, None], ridge=np.array([0.0, 1e-3])[None, :])
    for field in ("kappa", "risk", "bias", "variance", "df1", "df2"):
        assert not np.isnan(getattr(th, field)).any(), field
    peak = (p == 100)
    assert np.isinf(th.risk[peak, 0]).all() and th.status[peak, 0] == asy.Status.DIVERGED
    assert np.isfinite(th.risk[~peak, 0]).all()
    assert np.isfinite(th.risk[:, 1]).all() and (th.status[:, 1] == asy.Status.CONVERGED).all()
    # Close to the threshold the risk is huge but finite: Newton in 1/kappa still converges.
    near = models.LinearTask.isotropic(pool=200_000, n=100_000, noise=1.0)
    t = asy.dense_risk(near, p=[100_050, 99_950])
    assert np.isfinite(t.risk).all() and (t.risk > 1000).all()
    assert (t.steps < 60).all()


def test_proportional_form_equals_atoms():
    task = models.LinearTask.power_law(pool=500, n=120, noise=0.3, a=0.8, b=0.3)
    for p in (60, 119, 121, 300, 500):
        for ridge in (0.0, 0.05):
            atoms = asy.dense_risk(task, p=p, ridge=ridge)
            law = models.SpectralLaw.from_task(task, p)
            prop = asy.dense_risk_law(law, psi=p / task.n, ridge=ridge)
            for f in ("kappa", "risk", "bias", "variance"):
                np.testing.assert_allclose(getattr(prop, f), getattr(atoms, f), rtol=1e-10)


def test_mixture_equals_two_level_atoms():
    n, p = 100, 800
    task = models.LinearTask.two_level(strong=40, lam_strong=1.0, lam_weak=0.05, n=n, noise=1.0,
                                       pool=p)
    law = models.SpectralLaw.mixture([1.0, 0.05], [40 / p, (p - 40) / p],
                                     [p * float(task.signal[0]) ** 2, 0.0], noise=1.0)
    a, b = asy.dense_risk(task, p=p), asy.dense_risk_law(law, psi=p / n)
    np.testing.assert_allclose([b.kappa, b.risk], [a.kappa, a.risk], rtol=1e-10)


def test_continuous_law_by_quadrature():
    # Lambda uniform on [0.5, 1.5], E[B^2 | Lambda] = 1: quadrature vs a fine grid of atoms
    # (midpoint rule, error O(D^-2)).
    dense = models.SpectralLaw.from_density(lambda x: np.ones_like(x), (0.5, 1.5), 1.0,
                                            noise=0.5, nodes=64)
    D = 20_000
    mid = 0.5 + (np.arange(D) + 0.5) / D
    atoms = models.SpectralLaw.mixture(mid, np.ones(D), np.ones(D), noise=0.5)
    for psi in (0.5, 2.0, 5.0):
        np.testing.assert_allclose(asy.dense_risk_law(dense, psi).risk,
                                   asy.dense_risk_law(atoms, psi).risk, rtol=1e-7)


def _fd(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def test_grad_matches_finite_differences():
    task = models.LinearTask.power_law(pool=300, n=100, noise=0.5, a=1.0, b=0.5)

    def risk(noise, ridge, scale, p):
        t = task.replace(noise=noise, eigenvalues=task.eigenvalues * scale)
        return _dense.dense_risk_point(t, p, ridge=ridge).risk

    for p, ridge in ((250, 0.0), (250, 0.02), (60, 0.02)):
        args = (jnp.float64(0.5), jnp.float64(ridge), jnp.float64(1.0))
        g = jax.grad(risk, argnums=(0, 1, 2))(*args, p)
        fds = (_fd(lambda v: risk(v, args[1], args[2], p), args[0], 1e-6),
               _fd(lambda v: risk(args[0], v, args[2], p), args[1], 1e-6)
               if ridge > 0 else None,
               _fd(lambda v: risk(args[0], args[1], v, p), args[2], 1e-6))
        for gi, fi in zip(g, fds):
            if fi is not None:
                np.testing.assert_allclose(float(gi), float(fi), rtol=1e-5, atol=1e-8)
    # gradient w.r.t. each eigenvalue at once
    def risk_lam(lam):
        return _dense.dense_risk_point(task.replace(eigenvalues=lam), 250).risk
    g = jax.grad(risk_lam)(task.eigenvalues)
    e = np.zeros(300); e[3] = 1e-6
    fd = (risk_lam(task.eigenvalues + e) - risk_lam(task.eigenvalues - e)) / 2e-6
    np.testing.assert_allclose(float(g[3]), float(fd), rtol=1e-5)


def test_optimal_ridge_isotropic_closed_form():
    # Hastie et al. (2019) Thm. 5: lambda* = sigma^2 p / (n ||beta||^2) for isotropic features.
    task = models.LinearTask.isotropic(pool=300, n=100, noise=0.5, signal_power=2.0)
    opt = asy.optimal_ridge(task, p=300)
    assert abs(opt.ridge - 0.25 * 3 / 2.0) < 1e-6
    grid = asy.dense_risk(task, p=300, ridge=np.geomspace(0.05, 5, 200)).risk
    assert opt.risk <= grid.min() + 1e-12


def test_no_recompilation_across_grid(monkeypatch):
    # one trace of the per-point theory for every grid of one bucket (32 points)
    _dense._dense_grid.clear_cache()
    monkeypatch.setattr(_dense, "dense_risk_point", chex.assert_max_traces(_dense.dense_risk_point, n=1))
    task = models.LinearTask.isotropic(pool=300, n=100, noise=0.5)
    try:
        for shift in range(5):  # same bucket, different values, n and ridge
            asy.dense_risk(task, p=np.arange(1, 33) + 7 * shift, n=90 + shift, ridge=0.01 * shift)
    finally:
        _dense._dense_grid.clear_cache()


def test_unconverged_is_reported_not_silent(monkeypatch):
    from asymptotics import _fixed_point
    monkeypatch.setattr(_fixed_point, "MAX_STEPS", 1)
    task = models.LinearTask.isotropic(pool=300, n=100, noise=0.5)
    grid = jax.jit(jax.vmap(lambda p: _dense.dense_risk_point(task, p)))
    res = grid(jnp.array([50, 200, 300]))
    # p < n needs no solve; the others cannot converge in one Newton step
    assert int(res.status[0]) == asy.Status.CONVERGED
    assert (np.asarray(res.status[1:]) == asy.Status.NOT_CONVERGED).all()


def test_dense_risk_throw_false_reports_status(monkeypatch):
    from asymptotics import _fixed_point
    monkeypatch.setattr(_fixed_point, "MAX_STEPS", 1)
    _dense._dense_grid.clear_cache()
    task = models.LinearTask.isotropic(pool=300, n=100, noise=0.5)
    try:
        th = asy.dense_risk(task, p=np.array([50, 200, 300]), throw=False)
        assert th.status.tolist() == [asy.Status.CONVERGED] + [asy.Status.NOT_CONVERGED] * 2
        assert np.isnan(th.kappa[1:]).all()
        with pytest.raises(asy.SolverError, match=r"dense_risk.*2 not_converged"):
            asy.dense_risk(task, p=np.array([50, 200, 300]))
    finally:
        _dense._dense_grid.clear_cache()


def test_noiseless_dense_closed_forms():
    # noise 0, isotropic, ||beta||^2 = 2 on 10 features: p <= n covering the support recovers
    # beta exactly (risk 0, also at p = n: nothing to amplify, CONVERGED, not DIVERGED);
    # p > n: Hastie et al. (2019) Thm. 1 with sigma = 0, R = ||beta||^2 (1 - n/p).
    task = models.LinearTask.isotropic(pool=400, n=100, noise=0.0, support=10, signal_power=2.0)
    p = np.array([5, 10, 50, 100, 101, 200, 400])
    th = asy.dense_risk(task, p=p)
    assert not np.isnan(th.risk).any()
    # p = 5 < support: the 5 unmodelled features act as noise, sigma_p^2 = 5 * 2/10 = 1,
    # OLS risk sigma_p^2 / (1 - p/n)
    expected = np.where(p > 100, 2.0 * (1 - 100 / np.maximum(p, 1)), 0.0)
    expected[0] = 1.0 / (1 - 5 / 100)
    np.testing.assert_allclose(th.risk, expected, rtol=1e-10, atol=1e-15)
    assert th.status.tolist() == [asy.Status.CONVERGED] * 7
    law = asy.coordinate_law(task, 50)
    assert law.status == asy.Status.CONVERGED and (law.sd == 0).all()
    np.testing.assert_allclose(law.mean, np.asarray(task.signal)[:50], rtol=1e-12)
    assert law.cdf(0.0) == 40 / 50 and law.quantile(0.9)[0] == law.mean[0]
    assert not np.isnan(law.density(np.array([0.0, 1.0]))).any()


def test_coordinate_law_status_at_the_peak():
    task = models.LinearTask.isotropic(pool=300, n=100, noise=0.5)
    law = asy.coordinate_law(task, 100, throw=False)
    assert law.status == asy.Status.INVALID and np.isnan(law.sd).all()
    with pytest.raises(asy.SolverError, match=r"coordinate_law.*interpolation peak.*1 invalid"):
        asy.coordinate_law(task, 100)


def test_optimal_ridge_status_and_throw():
    task = models.LinearTask.isotropic(pool=300, n=100, noise=0.5, signal_power=2.0)
    assert asy.optimal_ridge(task, p=300).status == asy.Status.CONVERGED
    capped = asy.optimal_ridge(task, p=300, max_steps=1, throw=False)
    assert capped.status == asy.Status.NOT_CONVERGED and np.isnan(capped.ridge)
    with pytest.raises(asy.SolverError, match=r"^optimal_ridge: BFGS did not converge"):
        asy.optimal_ridge(task, p=300, max_steps=1)
    with pytest.raises(models.InputError, match=r"^init: .*allowed"):
        asy.optimal_ridge(task, p=300, init=0.0)
