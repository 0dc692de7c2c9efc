"""Random-features Monte Carlo: exact feature moments (closed forms, Mehler series, a large
fresh test set), the fits (min-norm interpolation, lstsq), pruning and retraining reproduced
by hand, mechanics (chunks, recompilation, checkpoints) and bad inputs."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
import sims
from overparam import Agreement, assert_agrees
from sims import _rf, _rf_moments


def _task(key=0, *, d=10, pool=12, n=20, noise=0.5, activation="relu", centred=True,
          spread=True):
    """A small task whose rows have norms in [0.5, 2] (not unit) when ``spread``."""
    k1, k2, k3 = jax.random.split(jax.random.key(key), 3)
    w = np.array(jax.random.normal(k1, (pool, d)))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    if spread:
        w *= np.asarray(jax.random.uniform(k2, (pool, 1), minval=0.5, maxval=2.0))
    theta = np.array(jax.random.normal(k3, (d,)))
    theta /= np.linalg.norm(theta)
    return models.RFTask.create(w, theta, noise=noise, n=n, activation=activation,
                                centred=centred)


@pytest.mark.parametrize("activation", ["relu", "relu2", "erf"])
def test_closed_forms_match_mehler_series(activation):
    task = _task(1, d=30, pool=40, activation=activation)
    closed = sims.rf_feature_moments(task, method="closed")
    series = sims.rf_feature_moments(task, method="series")
    assert closed.method in ("arc-cosine", "erf") and closed.order == -1
    assert series.method == "mehler" and series.truncation_bound < 1e-14
    np.testing.assert_allclose(series.second, closed.second, rtol=0, atol=1e-12)
    np.testing.assert_allclose(series.cross, closed.cross, rtol=1e-13, atol=1e-15)
    # unit-norm ReLU row: E relu(G)^2 - mu0^2 = 1/2 - 1/(2 pi)
    unit = _task(1, d=30, pool=5, spread=False)
    assert abs(sims.rf_feature_moments(unit).second[0, 0] - (0.5 - 0.5 / np.pi)) < 1e-14


def _fresh_features(task, mom, key, points, chunk=100_000):
    """Empirical E[phi phi^T], E[y phi] and squared errors of given second layers."""
    w, theta = np.asarray(task.weights), np.asarray(task.teacher)
    mu0 = mom.mu0 if task.centred else 0.0
    for i in range(points // chunk):
        kx, ke = jax.random.split(jax.random.fold_in(key, i))
        x = np.asarray(jax.random.normal(kx, (chunk, task.d)))
        y = x @ theta + float(task.noise) * np.asarray(jax.random.normal(ke, (chunk,)))
        yield np.asarray(task.act(x @ w.T)) - mu0, y


@pytest.mark.parametrize("centred", [True, False])
@pytest.mark.parametrize("activation", ["relu", "relu2", "tanh", "erf"])
def test_moments_and_risk_vs_large_fresh_test_set(activation, centred):
    # 10^6 fresh points: every entry of M and c, and R(a) for three second layers, within
    # 5 standard errors of the sample means (rows of norms in [0.5, 2], not unit).
    task = _task(2, activation=activation, centred=centred)
    mom = sims.rf_feature_moments(task)
    P = task.pool_size
    rng = np.random.default_rng(0)
    best = np.linalg.solve(mom.second, mom.cross)
    layers = np.stack([best, best + 0.3 * rng.standard_normal(P) / np.sqrt(P),
                       rng.standard_normal(P)])
    s1 = s2 = 0.0
    c1 = c2 = 0.0
    r1 = r2 = 0.0
    total = 0
    for f, y in _fresh_features(task, mom, jax.random.key(3), 1_000_000):
        ff = f[:, :, None] * f[:, None, :]
        s1, s2 = s1 + ff.sum(0), s2 + (ff**2).sum(0)
        fy = f * y[:, None]
        c1, c2 = c1 + fy.sum(0), c2 + (fy**2).sum(0)
        e = (y[:, None] - f @ layers.T) ** 2
        r1, r2 = r1 + e.sum(0), r2 + (e**2).sum(0)
        total += y.size
    for s, q, exact in ((s1, s2, mom.second), (c1, c2, mom.cross), (r1, r2, mom.risk(layers))):
        mean = s / total
        se = np.sqrt((q / total - mean**2) / total)
        assert np.all(np.abs(mean - exact) <= 5 * se + 1e-12), np.max(np.abs(mean - exact) / se)
    # the best second layer: R = E y^2 - c^T M^{-1} c >= sigma^2
    assert mom.risk(best) >= float(task.noise) ** 2


def test_mehler_truncation_for_tanh_is_adaptive():
    task = _task(4, d=30, pool=40, activation="tanh")
    mom = sims.rf_feature_moments(task)
    assert mom.method == "mehler" and 0 < mom.order < _rf_moments.MAX_ORDER
    assert mom.truncation_bound < _rf_moments.TRUNCATION_TOL
    # odd activation: mu0 = 0, so centring changes nothing
    np.testing.assert_allclose(mom.mu0, 0, atol=1e-15)


def test_sim_risks_are_the_exact_risk_of_the_fits():
    task = _task(5, d=20, pool=60, n=40, activation="tanh")
    mc = sims.rf_dense_risk(task, p=[20, 39, 41, 60], ridge=[0.0, 0.0, 0.0, 0.1], trials=3,
                            key=jax.random.key(0), keep_coefficients=3)
    mom = sims.rf_feature_moments(task)
    np.testing.assert_allclose(mc.risks, mom.risk(mc.coefficients), rtol=1e-9)


def test_min_norm_interpolates_and_matches_lstsq():
    task = _task(6, d=15, pool=60, n=30, activation="relu2", centred=False)
    key = jax.random.key(7)
    mc = sims.rf_dense_risk(task, p=[20, 60], trials=2, key=key, keep_coefficients=2)
    mom = sims.rf_feature_moments(task)
    k = jax.random.split(key, 2)[0]
    f, y = _rf._sample(k, task.weights, task.teacher, task.noise, jnp.zeros(60), "relu2", 30,
                       jnp.float64)
    f, y = np.asarray(f), np.asarray(y)
    for j, p in enumerate((20, 60)):
        ref = np.linalg.lstsq(f[:, :p], y, rcond=None)[0]
        np.testing.assert_allclose(mc.coefficients[j, 0, :p], ref, rtol=1e-7, atol=1e-9)
        assert mc.risks[j, 0] == pytest.approx(float(mom.risk(ref)), rel=1e-8)
    np.testing.assert_allclose(f @ mc.coefficients[1, 0], y, atol=1e-8)   # p > n interpolates


def test_train_small_equals_ols_on_the_same_draw():
    # the first s rows, the same key: the train-small baseline is the dense OLS fit at p = s
    task = _task(8, d=20, pool=40, n=50)
    small = sims.rf_train_small_risk(task, keep=[10, 30], trials=5, key=jax.random.key(1))
    dense = sims.rf_dense_risk(task, p=30, trials=5, key=jax.random.key(1))
    np.testing.assert_allclose(small.risks[1], dense.risks, rtol=1e-9)
    np.testing.assert_array_equal(small.support, np.arange(30))
    assert small.rows()[0]["keep"] == 10


def test_pruning_and_retraining_reproduced_by_hand():
    task = _task(9, d=20, pool=60, n=40, activation="erf")
    key = jax.random.key(2)
    rules, modes = ("magnitude", "saliency", "random"), ("none", "same", "fresh")
    mc = sims.rf_pruned_risk(task, p=[30, 60], keep=[5, 12], rule=rules, retrain=modes,
                             trials=2, key=key)
    assert mc.risks.shape == (2, 2, 3, 3, 2) and mc.dense.shape == (2, 2)
    mom = sims.rf_feature_moments(task)
    mu0 = jnp.asarray(mom.mu0)
    diag = np.diag(mom.second)
    assert np.ptp(diag) > 0.1                 # rows of different norms: saliency != magnitude
    for t, kt in enumerate(jax.random.split(key, 2)):
        k_data, k_fresh, k_rand = jax.random.split(kt, 3)
        draws = [tuple(np.asarray(v) for v in _rf._sample(k, task.weights, task.teacher,
                                                          task.noise, mu0, "erf", 40, jnp.float64))
                 for k in (k_data, k_fresh)]
        f, y = draws[0]
        uniform = np.asarray(models.pruning_score("random", jnp.zeros(60), key=k_rand))
        for g, p in enumerate((30, 60)):
            b = np.linalg.lstsq(f[:, :p], y, rcond=None)[0]
            assert mc.dense[g, t] == pytest.approx(float(mom.risk(b)), rel=1e-8)
            scores = dict(magnitude=np.abs(b), saliency=diag[:p] * b**2, random=uniform[:p])
            for k, s in enumerate((5, 12)):
                for j, rule in enumerate(rules):
                    kept = np.argsort(-scores[rule], kind="stable")[:s]
                    for m, mode in enumerate(modes):
                        a = np.zeros(p)
                        if mode == "none":
                            a[kept] = b[kept]
                        else:
                            ff, yy = draws[0 if mode == "same" else 1]
                            a[kept] = np.linalg.lstsq(ff[:, kept], yy, rcond=None)[0]
                        assert mc.risks[g, k, j, m, t] == pytest.approx(float(mom.risk(a)),
                                                                          rel=1e-8)
    rows = mc.rows()
    assert len(rows) == 2 * 2 * 3 * 3 and rows[0]["rule"] == "magnitude"


def test_saliency_is_magnitude_for_unit_rows():
    task = _task(10, d=20, pool=50, n=40, spread=False)
    mc = sims.rf_pruned_risk(task, p=50, keep=10, rule=("magnitude", "saliency"), trials=4,
                             key=jax.random.key(0))
    np.testing.assert_allclose(mc.select("saliency"), mc.select("magnitude"), rtol=1e-12)


def test_chunking_does_not_change_results_or_recompile(monkeypatch):
    task = _task(11, d=10, pool=40, n=20, activation="tanh")
    a = sims.rf_dense_risk(task, p=[10, 40], trials=10, key=jax.random.key(2), chunk=10)
    _rf._dense_chunk.clear_cache()
    monkeypatch.setattr(_rf, "_sample", chex.assert_max_traces(_rf._sample, n=1))
    b = sims.rf_dense_risk(task, p=[10, 40], trials=10, key=jax.random.key(2), chunk=3)
    np.testing.assert_allclose(a.risks, b.risks, rtol=1e-10)
    # other grid values of the same shape (and another noise level) reuse the trace
    sims.rf_dense_risk(task, p=[12, 40], n=[18, 20], ridge=0.1, trials=10,
                       key=jax.random.key(4), chunk=3)
    _rf._dense_chunk.clear_cache()


def test_checkpoint_resumes_and_is_keyed_by_activation(tmp_path, monkeypatch):
    ckpt = tmp_path / "rf.npz"
    relu, tanh = _task(12, pool=30, n=20), _task(12, pool=30, n=20, activation="tanh")
    ref = sims.rf_dense_risk(relu, p=[10, 30], trials=6, key=jax.random.key(0), chunk=2)
    calls = []
    real = _rf._dense_chunk
    monkeypatch.setattr(_rf, "_dense_chunk", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    first = sims.rf_dense_risk(relu, p=[10, 30], trials=6, key=jax.random.key(0), chunk=2,
                               checkpoint=ckpt)
    again = sims.rf_dense_risk(relu, p=[10, 30], trials=6, key=jax.random.key(0), chunk=2,
                               checkpoint=ckpt)
    assert len(calls) == 3                     # the second run read all three chunks back
    np.testing.assert_array_equal(first.risks, ref.risks)
    np.testing.assert_array_equal(again.risks, ref.risks)
    with pytest.raises(models.InputError, match=r"^checkpoint: .*other parameters"):
        sims.rf_dense_risk(tanh, p=[10, 30], trials=6, key=jax.random.key(0), chunk=2,
                           checkpoint=ckpt)           # same arrays, other activation: refused
    assert len(calls) == 3


def test_rows_follow_the_cli_contract():
    task = _task(13, pool=30, n=20)
    mc = sims.rf_dense_risk(task, p=[[10], [30]], ridge=[0.0, 0.5], trials=4,
                            key=jax.random.key(0))
    assert mc.risks.shape == (2, 2, 4) and mc.dtype == "float64"
    rows = mc.rows()
    assert list(rows[0]) == ["p", "n", "ridge", "risk_mean", "risk_stderr", "risk_median",
                             "trials", "nonfinite_trials"]
    assert [(r["p"], r["ridge"]) for r in rows] == [(10, 0.0), (10, 0.5), (30, 0.0), (30, 0.5)]


def test_float32_agrees_with_float64():
    task = _task(14, d=20, pool=80, n=40)
    a = sims.rf_dense_risk(task, p=[20, 80], trials=200, key=jax.random.key(0))
    b = sims.rf_dense_risk(task, p=[20, 80], trials=200, key=jax.random.key(1),
                           dtype=jnp.float32)
    assert b.dtype == "float32"
    se = np.hypot(a.stderr, b.stderr)
    assert np.all(np.abs(a.mean - b.mean) <= 3 * se + 0.01 * a.mean)


def test_worked_example_e3_sanity():
    # docs/random_features.md E3 (prototype, another W/theta draw): 0.879 +- .013, 0.587 +-
    # .006, 0.506 +- .004.  Allowance 4 % for the W/theta draw: over six draws we measured
    # 0.886-0.948 at p = 200, 0.598-0.632 at p = 400, 0.510-0.525 at p = 800 (100 trials each).
    task = models.RFTask.draw(jax.random.key(0), d=50, pool=800, n=100, noise=0.5)
    mc = sims.rf_dense_risk(task, p=[200, 400, 800], trials=100, key=jax.random.key(1))
    doc = np.array([0.879, 0.587, 0.506])
    doc_se = np.array([0.013, 0.006, 0.004])
    assert_agrees(doc, mc.mean, np.hypot(mc.stderr, doc_se), agreement=Agreement(3.0, 0.04),
                  what="E3 dense")
    assert mc.mean[0] > mc.mean[1] > mc.mean[2] > 0.25          # descent past the peak, > sigma^2


@pytest.mark.parametrize("kwargs,arg", [
    (dict(p=0), "p"), (dict(p=10_000), "p"), (dict(n=0), "n"), (dict(ridge=-1.0), "ridge"),
    (dict(trials=0), "trials"), (dict(dtype=np.int32), "dtype"), (dict(chunk=0), "chunk"),
    (dict(task=models.LinearTask.isotropic(pool=30, n=20, noise=0.5)), "task"),
])
def test_bad_input_dense(kwargs, arg):
    full = dict(task=_task(0, pool=30), p=20, trials=4, key=jax.random.key(0)) | kwargs
    with pytest.raises(models.InputError, match=rf"^{arg}:"):
        sims.rf_dense_risk(**full)


@pytest.mark.parametrize("kwargs,match", [
    (dict(rule="oracle"), r"^rule: 'oracle' has no meaning"),
    (dict(rule="best"), r"^rule:"), (dict(retrain="twice"), r"^retrain:"),
    (dict(keep=40), r"^keep:"), (dict(keep=0), r"^keep:"),
    (dict(keep=19, retrain="same"), r"^keep: retraining by least squares needs keep < n - 1"),
])
def test_bad_input_pruned(kwargs, match):
    full = dict(p=30, keep=5, trials=2, key=jax.random.key(0)) | kwargs
    with pytest.raises(models.InputError, match=match):
        sims.rf_pruned_risk(_task(0, pool=30, n=20), **full)


def test_bad_input_moments_and_train_small():
    task = _task(0, pool=30, n=20, activation="tanh")
    with pytest.raises(models.InputError, match=r"^method: 'closed' has no closed form"):
        sims.rf_feature_moments(task, method="closed")
    with pytest.raises(models.InputError, match=r"^p:"):
        sims.rf_feature_moments(task, p=31)
    with pytest.raises(models.InputError, match=r"^keep: got 19 with n = 20"):
        sims.rf_train_small_risk(task, keep=19, trials=2, key=jax.random.key(0))
