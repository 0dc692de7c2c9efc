"""Monte Carlo of the linear task: exact finite-n facts, agreement with theory, mechanics."""

import chex
import jax
import numpy as np
import pytest

import asymptotics as asy
import models
import sims
from sims import _linear
from overparam import EXACT, assert_agrees

E2 = dict(strong=40, lam_strong=1.0, lam_weak=0.05, n=100, noise=1.0, pool=800)


def test_ols_exact_finite_sample():
    # For Gaussian designs, E R(OLS) = sigma_p^2 (n-1)/(n-p-1) exactly (no asymptotics):
    # Monte Carlo must agree within 3 standard errors, with no allowance.
    task = models.LinearTask.two_level(**E2)
    p = np.array([10, 40, 60])
    mc = sims.dense_risk(task, p=p, trials=600, key=jax.random.key(3))
    exact = np.array([task.effective_noise(int(q)) for q in p]) * 99 / (100 - p - 1)
    assert_agrees(exact, mc.mean, mc.stderr, agreement=EXACT, what="OLS exact")


def test_dense_theory_vs_mc_away_from_peak():
    task = models.LinearTask.two_level(**E2)
    p = np.array([30, 60, 200, 300, 800])
    th = asy.dense_risk(task, p=p)
    mc = sims.dense_risk(task, p=p, trials=300, key=jax.random.key(0))
    assert_agrees(th.risk, mc.mean, mc.stderr, what="dense E2")


def test_ridge_theory_vs_mc():
    task = models.LinearTask.power_law(pool=400, n=100, noise=0.5, a=1.0, b=0.3)
    p = np.array([50, 100, 150, 400])
    ridge = np.array([0.01, 0.1])
    th = asy.dense_risk(task, p=p[:, None], ridge=ridge[None, :])
    mc = sims.dense_risk(task, p=p[:, None], ridge=ridge[None, :], trials=300,
                         key=jax.random.key(1))
    # At p = n with a ridge the risk is finite; the 2% allowance covers finite n.
    assert_agrees(th.risk, mc.mean, mc.stderr, what="ridge")


def test_worked_example_e1_mc():
    task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
    mc = sims.dense_risk(task, p=200, trials=400, key=jax.random.key(0))
    assert_agrees(1.0, mc.mean, mc.stderr, what="E1 dense")


def test_coordinate_law_vs_mc():
    task = models.LinearTask.two_level(**E2)
    p, trials = 600, 100
    mc = sims.dense_risk(task, p=p, trials=trials, key=jax.random.key(5), keep_coefficients=trials)
    b = mc.coefficients[:, :p]                                      # (trials, p)
    law = asy.coordinate_law(task, p)
    for block in (slice(0, 40), slice(40, p)):
        x = b[:, block].ravel()
        m, s = law.mean[block], law.sd[block]
        # mean and second moment of the pooled block vs the mixture's, within 3 s.e. + 3%
        se_mean = x.std() / np.sqrt(x.size)
        assert abs(x.mean() - m.mean()) <= 3 * se_mean + 0.03 * np.sqrt(np.mean(s**2 + m**2))
        second = np.mean(s**2 + m**2)
        se2 = np.std(x**2) / np.sqrt(x.size)
        assert abs(np.mean(x**2) - second) <= 3 * se2 + 0.03 * second
        # quantiles of the law vs the sample
        q = law.subset(block).quantile([0.1, 0.5, 0.9])
        np.testing.assert_allclose(np.quantile(x, [0.1, 0.5, 0.9]), q,
                                   atol=0.05 * np.sqrt(second))


def test_min_norm_interpolates_and_matches_lstsq():
    task = models.LinearTask.power_law(pool=60, n=30, noise=0.5, a=1.0, b=0.5)
    key = jax.random.key(7)
    mc = sims.dense_risk(task, p=[20, 60], trials=2, key=key, keep_coefficients=2)
    # Re-draw the same data and solve with NumPy's lstsq (min-norm for p > n).
    k = jax.random.split(key, 2)[0]
    x, y = _linear._sample(k, task.eigenvalues[:60], task.signal[:60], 0.0, task.noise, 30,
                           np.float64)
    x, y = np.asarray(x), np.asarray(y)
    for j, p in enumerate((20, 60)):
        ref = np.linalg.lstsq(x[:, :p], y, rcond=None)[0]
        np.testing.assert_allclose(mc.coefficients[j, 0, :p], ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(x @ mc.coefficients[1, 0], y, atol=1e-9)


def test_chunking_does_not_change_results_or_recompile(monkeypatch):
    task = models.LinearTask.isotropic(pool=80, n=40, noise=0.5)
    a = sims.dense_risk(task, p=[20, 80], trials=10, key=jax.random.key(2), chunk=10)
    # from here on one trace of the per-trial kernel serves every chunk (the last is padded)
    # and other grid values of the same shape
    _linear._trial_chunk.clear_cache()
    monkeypatch.setattr(_linear, "_sample", chex.assert_max_traces(_linear._sample, n=1))
    b = sims.dense_risk(task, p=[20, 80], trials=10, key=jax.random.key(2), chunk=3)
    np.testing.assert_allclose(a.risks, b.risks, rtol=1e-10)
    sims.dense_risk(task, p=[25, 80], n=[38, 40], ridge=0.1, trials=10, key=jax.random.key(4), chunk=3)
    _linear._trial_chunk.clear_cache()


def test_float32_runs_with_explicit_precision():
    task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
    mc = sims.dense_risk(task, p=200, trials=100, key=jax.random.key(0), dtype=np.float32)
    assert_agrees(1.0, mc.mean, mc.stderr, what="float32")


@pytest.mark.parametrize("kwargs,arg", [
    (dict(p=0), "p"), (dict(p=10_000), "p"), (dict(n=0), "n"), (dict(ridge=-1.0), "ridge"),
    (dict(trials=0), "trials"), (dict(dtype=np.int32), "dtype"),
])
def test_bad_input(kwargs, arg):
    task = models.LinearTask.isotropic(pool=50, n=20, noise=0.5)
    full = dict(p=30, trials=4, key=jax.random.key(0)) | kwargs
    with pytest.raises(models.InputError, match=rf"^{arg}:"):
        sims.dense_risk(task, **full)


def test_interrupted_run_resumes_from_checkpoint(tmp_path, monkeypatch):
    task = models.LinearTask.isotropic(pool=80, n=40, noise=0.5)
    ckpt = tmp_path / "run.npz"
    ref = sims.dense_risk(task, p=[20, 80], trials=10, key=jax.random.key(9), chunk=3)
    calls = []
    real = _linear._trial_chunk

    def flaky(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # interrupted during the third chunk
        return real(*args, **kw)

    monkeypatch.setattr(_linear, "_trial_chunk", flaky)
    with pytest.raises(KeyboardInterrupt, match=r"^$"):
        sims.dense_risk(task, p=[20, 80], trials=10, key=jax.random.key(9), chunk=3, checkpoint=ckpt)
    assert ckpt.exists()
    calls.clear()
    monkeypatch.setattr(_linear, "_trial_chunk", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    res = sims.dense_risk(task, p=[20, 80], trials=10, key=jax.random.key(9), chunk=3, checkpoint=ckpt)
    assert len(calls) == 2                      # 4 chunks, 2 saved before the interruption
    np.testing.assert_array_equal(res.risks, ref.risks)
    # other arguments: the checkpoint is refused, never mixed in (nothing computed)
    calls.clear()
    with pytest.raises(models.InputError, match=r"^checkpoint: .*other parameters \(differs in: key\)"):
        sims.dense_risk(task, p=[20, 80], trials=10, key=jax.random.key(10), chunk=3, checkpoint=ckpt)
    assert len(calls) == 0
