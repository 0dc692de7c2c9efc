"""Pruned-risk theory: worked examples E1/E2, invariants, an independent SciPy evaluation of
the closed forms (ridge > 0, several n), noise 0, the threshold solver's status, bad input."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize, special

import asymptotics as asy
import models
from asymptotics import _pruning, _threshold

E1 = dict(pool=200, n=100, noise=0.5, support=10)
E2 = dict(strong=40, lam_strong=1.0, lam_weak=0.05, n=100, noise=1.0, pool=1200)
RULES3 = ("magnitude", "saliency", "oracle")


def test_worked_example_e1():
    task = models.LinearTask.isotropic(**E1)
    th = asy.pruned_risk(task, p=200, keep=10, rule=RULES3)
    assert abs(float(th.threshold[0]) - 0.124103) < 1e-6
    np.testing.assert_allclose(th.risk, [0.6989, 0.6989, 0.5250], atol=1e-4)
    assert abs(float(th.train_small_exact) - 0.2781) < 1e-4
    assert abs(float(th.train_small_asymptotic) - 0.2778) < 1e-4


@pytest.mark.parametrize("p,mp,hp,op", [(300, 2.1602, 1.6969, 1.5938), (800, 1.6139, 1.3891, 1.3759),
                                        (1200, 1.5251, 1.3761, 1.3696)])
def test_worked_example_e2(p, mp, hp, op):
    task = models.LinearTask.two_level(**E2)
    th = asy.pruned_risk(task, p=p, keep=40, rule=RULES3)
    np.testing.assert_allclose(th.risk, [mp, hp, op], atol=1e-4)
    assert abs(float(th.train_small_exact) - 1.6780) < 1e-4


def test_saliency_equals_magnitude_on_isotropic_spectra():
    task = models.LinearTask.isotropic(pool=400, n=100, noise=0.5, support=30, eigenvalue=2.0)
    th = asy.pruned_risk(task, p=np.array([50, 150, 400]), keep=20, rule=("magnitude", "saliency"))
    np.testing.assert_allclose(th.risk[:, 0], th.risk[:, 1], rtol=1e-12)


@pytest.mark.parametrize("rule", ["magnitude", "saliency"])
def test_expected_kept_count_is_keep(rule):
    # The threshold solver's own criterion (kept count = s to TOL_COUNT relative); for the
    # oracle and random rules the count holds by construction and is not tested.
    task = models.LinearTask.power_law(pool=500, n=100, noise=0.5, a=1.0, b=0.5)
    p, s = np.array([60, 100, 130, 500])[:, None], np.array([5, 40, 60])[None, :]
    th = asy.pruned_risk(task, p=p, keep=s, rule=rule, keep_probabilities=True)
    np.testing.assert_allclose(th.keep_prob.sum(-1)[..., 0], np.broadcast_to(s, th.p.shape),
                               rtol=_threshold.TOL_COUNT)
    assert np.all((th.keep_prob >= 0) & (th.keep_prob <= 1 + 1e-12))
    # kept true-signal features: never more than s nor than the signal count
    assert np.all(th.kept_signal <= np.minimum(s, 500)[..., None] * (1 + 1e-9))


def test_oracle_risk_non_increasing_in_keep():
    # Adding the next oracle feature i changes the risk by
    # lambda_i (1-w_i)^2 beta_i^2 + w_i^2 gamma^2 / n - lambda_i beta_i^2: negative while the
    # support grows inside the signal block, so the oracle risk is non-increasing in s there;
    # beyond it every added (pure-noise) feature only adds variance: non-decreasing.
    task = models.LinearTask.two_level(**E2)
    for p in (300, 800, 1200):
        inside = asy.pruned_risk(task, p=p, keep=np.arange(1, 41), rule="oracle").risk[:, 0]
        beyond = asy.pruned_risk(task, p=p, keep=np.arange(40, 201), rule="oracle").risk[:, 0]
        assert np.all(np.diff(inside) <= 1e-12) and np.all(np.diff(beyond) >= -1e-12)


def test_ordering_away_from_peak_heterogeneous_spectrum():
    # docs/linear.md section 5: OP <= HP <= MP for heterogeneous spectra away from the peak
    task = models.LinearTask.two_level(**E2)
    th = asy.pruned_risk(task, p=np.array([300, 500, 800, 1200]), keep=40, rule=RULES3)
    assert np.all(th.risk[:, 2] <= th.risk[:, 1]) and np.all(th.risk[:, 1] <= th.risk[:, 0])


def test_peak_inf_and_fresh_retraining_finite():
    task = models.LinearTask.two_level(**E2)
    th = asy.pruned_risk(task, p=100, keep=40, rule=RULES3)
    assert np.isinf(th.risk).all() and (th.status == asy.Status.DIVERGED).all()
    assert np.isfinite(th.retrain_exact).all()
    assert not np.isnan(th.risk).any()


def test_fresh_retraining_oracle_equals_train_small():
    task = models.LinearTask.two_level(**E2)
    th = asy.pruned_risk(task, p=800, keep=40, rule="oracle", retrain="fresh")
    np.testing.assert_allclose(th.risk[..., 0], th.train_small_exact, rtol=1e-12)


def test_a_retrained_curve_keeps_the_pruned_risk_and_labels_its_rows():
    # ``risk`` is the requested mode's value; ``pruned`` / value(rule, "none") / the "none"
    # rows stay the risk WITHOUT retraining (a fresh curve used to label its fresh risk "none")
    task = models.LinearTask.isotropic(**E1)
    plain = asy.pruned_risk(task, p=[150, 200], keep=10, rule=("magnitude", "oracle"))
    fresh = asy.pruned_risk(task, p=[150, 200], keep=10, rule=("magnitude", "oracle"),
                            retrain="fresh")
    assert fresh.retrain == "fresh" and plain.retrain == "none"
    np.testing.assert_array_equal(fresh.risk, fresh.retrain_exact)
    np.testing.assert_array_equal(fresh.pruned, plain.risk)
    np.testing.assert_array_equal(fresh.value("oracle", "none"), plain.risk[:, 1])
    rows = fresh.rows()
    assert [r["retrain"] for r in rows[:2]] == ["none", "fresh"] and len(rows) == 8
    by = {(r["p"], r["rule"], r["retrain"]): r["risk"] for r in rows}
    assert by[(200, "magnitude", "none")] == float(plain.risk[1, 0])
    assert by[(200, "magnitude", "fresh")] == float(fresh.retrain_exact[1, 0])
    assert by[(200, "magnitude", "none")] != by[(200, "magnitude", "fresh")]


def test_same_data_retraining_theory_only_where_computed():
    # retrain='same' has its own tests (tests/test_same_data.py); a curve computed without it
    # holds no same-data value
    task = models.LinearTask.isotropic(**E1)
    th = asy.pruned_risk(task, p=200, keep=10, rule="magnitude", retrain="fresh")
    with pytest.raises(ValueError, match="no same-data prediction"):
        th.value("magnitude", "same")


def test_user_support():
    task = models.LinearTask.isotropic(**E1)
    th = asy.pruned_risk(task, p=200, keep=10, rule="oracle", support=np.arange(10))
    assert abs(float(th.risk[0]) - 0.5250) < 1e-4
    shifted = asy.pruned_risk(task, p=200, keep=10, rule="oracle", support=np.arange(5, 15))
    assert float(shifted.risk[0]) > float(th.risk[0])


@pytest.mark.parametrize("kw,arg", [
    (dict(keep=201), "keep"), (dict(keep=0), "keep"), (dict(rule="largest"), "rule"),
    (dict(rule="oracle", support=np.arange(9)), "support"),
    (dict(rule="oracle", support=[0, 0, 1, 2, 3, 4, 5, 6, 7, 8]), "support"),
    (dict(rule="magnitude", support=np.arange(10)), "support"),
    (dict(retrain="sometimes"), "retrain"), (dict(retrain="fresh", keep=99), "keep"),
])
def test_bad_input(kw, arg):
    task = models.LinearTask.isotropic(**E1)
    args = dict(p=200, keep=10) | kw
    with pytest.raises(models.InputError, match=rf"^{arg}: .*allowed"):
        asy.pruned_risk(task, **args)


# ----------------------------------------------------------------------------- SciPy reference
def reference_point(task, p, s, n, ridge):
    lam_all, beta_all = np.asarray(task.eigenvalues), np.asarray(task.signal)
    lam, beta = lam_all[:p], beta_all[:p]
    sig_p2 = float(task.noise) ** 2 + float(np.sum(lam_all[p:] * beta_all[p:] ** 2))
    atoms, counts = np.unique(np.stack([lam, beta]), axis=1, return_counts=True)
    L, B = atoms
    if ridge == 0 and p < n:
        kappa = 0.0
    else:
        fp = lambda k: k - ridge - k / n * np.sum(counts * L / (L + k))  # noqa: E731
        kappa = optimize.brentq(fp, 1e-300 if ridge == 0 else ridge, 1e6, xtol=1e-15, rtol=1e-15)
    w = L / (L + kappa)
    df2 = np.sum(counts * w**2)
    gamma2 = (sig_p2 + kappa**2 * np.sum(counts * L * B**2 / (L + kappa) ** 2)) / (1 - df2 / n)
    m, v = w * B, w * np.sqrt(gamma2 / (n * L))
    tail = lambda c: np.sum(counts * (special.ndtr((m - c) / v) + special.ndtr((-c - m) / v)))  # noqa: E731
    c = optimize.brentq(lambda c: tail(c) - s, 1e-12, 1e3, xtol=1e-15, rtol=1e-15)
    risk_mp = sig_p2
    for k in range(len(L)):
        dens = lambda z: np.exp(-0.5 * ((z - m[k]) / v[k]) ** 2) / (np.sqrt(2 * np.pi) * v[k])  # noqa: E731
        lo, hi = m[k] - 40 * v[k], m[k] + 40 * v[k]
        kept = sum(integrate.quad(lambda z: (z - B[k]) ** 2 * dens(z), a, b, epsabs=0, epsrel=1e-12,
                                  limit=200)[0]
                   for a, b in ((lo, -c), (c, hi)) if b > a)
        dropped = integrate.quad(dens, -c, c, epsabs=0, epsrel=1e-12, limit=200)[0] if c > lo else 0.0
        risk_mp += counts[k] * L[k] * (kept + B[k] ** 2 * dropped)
    order = np.argsort(-(lam * beta**2), kind="stable")[:s]
    inside = np.zeros(p, bool)
    inside[order] = True
    wi = lam / (lam + kappa)
    risk_op = sig_p2 + np.sum(np.where(inside, lam * ((kappa / (lam + kappa)) ** 2 * beta**2
                                                      + wi**2 * gamma2 / (n * lam)),
                                       lam * beta**2))
    return kappa, gamma2, risk_mp, risk_op, c


# Tolerance: both sides are float64 evaluations of the same formulas; the reference's
# quadrature (epsrel 1e-12) and root finds (1e-15) are far below the solver's own stopping
# rules (kappa: 1e-12 relative in 1/kappa; threshold: 1e-12 in log c, count to 1e-10), and the
# risk's sensitivity to c vanishes at first order only for the kept count, so allow 1e-9
# relative: 10x the threshold's count tolerance.
RTOL_REF = 1e-9


@pytest.mark.parametrize("ridge", [0.0, 0.1, 1.0])
def test_pruning_with_ridge_matches_scipy_reference(ridge):
    task = models.LinearTask.two_level(**E2)
    ps = np.array([300, 800])
    th = asy.pruned_risk(task, p=ps, keep=40, ridge=ridge, rule=("magnitude", "oracle"))
    assert (th.status == asy.Status.CONVERGED).all()
    for i, p in enumerate(ps):
        kappa, gamma2, mp, op, c = reference_point(task, int(p), 40, 100, ridge)
        np.testing.assert_allclose(th.kappa[i], kappa, rtol=RTOL_REF)
        np.testing.assert_allclose(th.dense_risk[i], gamma2, rtol=RTOL_REF)
        np.testing.assert_allclose(th.threshold[i, 0], c, rtol=RTOL_REF)
        np.testing.assert_allclose(th.risk[i], [mp, op], rtol=RTOL_REF)


def test_grid_with_several_n_matches_reference_per_point():
    task = models.LinearTask.two_level(**E2)
    ns = np.array([60, 100, 150, 400])
    th = asy.pruned_risk(task, p=800, keep=40, n=ns, ridge=0.05, rule=("magnitude", "oracle"))
    assert th.risk.shape == (4, 2) and (th.status == asy.Status.CONVERGED).all()
    for i, n in enumerate(ns):
        kappa, gamma2, mp, op, _ = reference_point(task, 800, 40, int(n), 0.05)
        np.testing.assert_allclose(th.risk[i], [mp, op], rtol=RTOL_REF)
        np.testing.assert_allclose(th.train_small_exact[i],
                                   float(task.noise) ** 2 * (n - 1) / (n - 41), rtol=1e-12)
    # more data, lower oracle risk
    assert np.all(np.diff(th.risk[:, 1]) < 0)


# ----------------------------------------------------------------------------- train-small
def test_train_small_uses_the_best_features_of_the_whole_pool():
    # Two-level spectrum reversed: the 40 informative features sit at the END of the pool.
    # The baseline trains on them wherever they are: sigma_S^2 = sigma^2 = 1, so
    # R = (n-1)/(n-s-1) = 99/59 at every p, even when the first p features hold no signal.
    e2 = models.LinearTask.two_level(**E2)
    rev = models.LinearTask.create(np.asarray(e2.eigenvalues)[::-1], np.asarray(e2.signal)[::-1],
                                   noise=1.0, n=100)
    small = asy.train_small_risk(rev, keep=np.array([20, 40, 60]))
    beta2 = float(np.asarray(e2.signal)[0]) ** 2
    sigma_s2 = 1.0 + np.array([20 * beta2, 0.0, 0.0])   # lambda_strong = 1
    s = np.array([20, 40, 60])
    np.testing.assert_allclose(small.exact, sigma_s2 * 99 / (99 - s), rtol=1e-12)
    np.testing.assert_allclose(small.asymptotic, sigma_s2 / (1 - s / 100), rtol=1e-12)
    assert (small.status == asy.Status.CONVERGED).all()
    th = asy.pruned_risk(rev, p=800, keep=40, rule="oracle")      # first 800: no signal
    np.testing.assert_allclose(th.train_small_exact, 99 / 59, rtol=1e-12)
    # ... while the oracle RULE can only keep features of the model (the first p)
    assert float(th.kept_signal[0]) == 0.0


def test_train_small_status_and_throw():
    task = models.LinearTask.isotropic(**E1)
    res = asy.train_small_risk(task, keep=np.array([10, 98, 99, 100, 150]), throw=False)
    assert res.status.tolist() == [asy.Status.CONVERGED, asy.Status.CONVERGED, asy.Status.DIVERGED,
                                   asy.Status.INVALID, asy.Status.INVALID]
    assert np.isinf(res.exact[2]) and np.isnan(res.exact[3:]).all()
    assert np.isinf(res.asymptotic[3]) and np.isnan(res.asymptotic[4])
    with pytest.raises(asy.SolverError, match=r"train_small_risk.*2 invalid"):
        asy.train_small_risk(task, keep=np.array([10, 100, 150]))


# ----------------------------------------------------------------------------- threshold solver
def _e1_law():
    m = jnp.concatenate([jnp.full(10, 0.5 / np.sqrt(10)), jnp.zeros(190)])
    return m, jnp.full(200, 0.05), jnp.ones(200)


def test_threshold_e1_and_passes():
    m, v, count = _e1_law()
    thr = asy.magnitude_threshold(m, v, count, 10.0)
    assert abs(float(thr.value) - 0.124103) < 1e-6 and thr.status == asy.Status.CONVERGED
    assert int(thr.steps) < 10                         # the budget: under 10 passes


def test_threshold_status_per_lane_nan_lane_and_keep_all():
    m, v, count = _e1_law()
    ms = jnp.stack([m, m.at[3].set(jnp.nan), m, m])
    ss = jnp.array([10.0, 10.0, 200.0, 50.0])          # lane 2 keeps everything (keep = p)
    f = jax.jit(jax.vmap(lambda mm, s: asy.magnitude_threshold(mm, v, count, s, throw=False)))
    thr = f(ms, ss)
    assert np.asarray(thr.status).tolist() == [asy.Status.CONVERGED, asy.Status.NOT_CONVERGED,
                                               asy.Status.CONVERGED, asy.Status.CONVERGED]
    c = np.asarray(thr.value)
    assert abs(c[0] - 0.124103) < 1e-6 and np.isnan(c[1]) and c[2] == 0.0 and int(thr.steps[2]) == 0
    # lane 3 is independent of the NaN lane: its own solve (jit vs eager differ only in the
    # rounding of the fused sums, a few ulps)
    alone = asy.magnitude_threshold(m, v, count, 50.0)
    np.testing.assert_allclose(c[3], float(alone.value), rtol=1e-13)
    kept = np.sum(np.asarray(_threshold.tail_prob(m, v, c[3])))
    assert abs(kept / 50 - 1) <= _threshold.TOL_COUNT


def test_threshold_throw_and_step_cap():
    m, v, count = _e1_law()
    capped = asy.magnitude_threshold(m, v, count, 10.0, max_steps=1, throw=False)
    assert capped.status == asy.Status.NOT_CONVERGED and np.isnan(float(capped.value))
    with pytest.raises(asy.SolverError, match=r"magnitude_threshold: 1 not_converged"):
        asy.magnitude_threshold(m, v, count, 10.0, max_steps=1)
    with pytest.raises(models.InputError, match=r"^throw: .*allowed"):
        jax.jit(lambda mm: asy.magnitude_threshold(mm, v, count, 10.0).value)(m)


def test_keep_equals_p_prunes_nothing():
    task = models.LinearTask.two_level(**E2)
    th = asy.pruned_risk(task, p=np.array([150, 300]), keep=np.array([150, 300]),
                         rule=("magnitude", "saliency", "oracle", "random"))
    assert (th.status == asy.Status.CONVERGED).all()
    np.testing.assert_array_equal(th.threshold[:, :2], 0.0)
    np.testing.assert_allclose(th.risk, np.broadcast_to(th.dense_risk[:, None], th.risk.shape),
                               rtol=1e-12)


def test_pruned_risk_throw_false_reports_status(monkeypatch):
    task = models.LinearTask.isotropic(**E1)
    monkeypatch.setattr(_threshold, "MAX_STEPS", 1)
    _pruning._pruned_grid.clear_cache()
    try:
        th = asy.pruned_risk(task, p=200, keep=10, rule=("magnitude", "oracle"), throw=False)
        assert th.status.tolist() == [asy.Status.NOT_CONVERGED, asy.Status.CONVERGED]
        assert np.isnan(th.risk[0]) and np.isfinite(th.risk[1])
        with pytest.raises(asy.SolverError, match=r"pruned_risk.*1 not_converged"):
            asy.pruned_risk(task, p=200, keep=10, rule=("magnitude", "oracle"))
    finally:
        _pruning._pruned_grid.clear_cache()


def test_no_recompilation_across_grids(monkeypatch):
    # one trace of the per-point theory for every grid of the same bucket (16 points) and rules
    _pruning._pruned_grid.clear_cache()
    monkeypatch.setattr(_pruning, "pruned_point", chex.assert_max_traces(_pruning.pruned_point, n=1))
    task = models.LinearTask.two_level(**E2)
    try:
        for shift in range(3):
            asy.pruned_risk(task, p=np.arange(200, 1000, 50) + shift, keep=30 + shift,
                            n=100 + shift, ridge=0.01 * shift, rule=RULES3)
    finally:
        _pruning._pruned_grid.clear_cache()


# ----------------------------------------------------------------------------- noise 0
def test_noiseless_isotropic_closed_forms():
    # isotropic, support 10, beta_i^2 = 1/10, noise 0.
    task = models.LinearTask.isotropic(pool=200, n=100, noise=0.0, support=10)
    rules = ("magnitude", "saliency", "oracle", "random")
    # p <= n covering the support: exact recovery, deterministic coordinates Z = beta.
    # keep 5 of the 10 tied signal features: R = 5 * 1/10; random keeps each w.p. 5/p.
    th = asy.pruned_risk(task, p=np.array([50, 100]), keep=5, rule=rules)
    assert (th.status == asy.Status.CONVERGED).all() and not np.isnan(th.risk).any()
    np.testing.assert_allclose(th.dense_risk, 0.0, atol=1e-15)
    np.testing.assert_allclose(th.risk[:, :3], 0.5, rtol=1e-12)
    np.testing.assert_allclose(th.risk[:, 3], 1.0 - 5 / np.array([50, 100]), rtol=1e-12)
    # p = 2n: kappa = p/n - 1 = 1, w = 1/2, gamma^2 = ||beta||^2 (1 - n/p) = 1/2 (Hastie
    # et al. 2019, Thm. 1); oracle on the support: 10 [(1/4)(1/10) + (1/4)(1/2)/100] = 0.2625.
    th = asy.pruned_risk(task, p=200, keep=10, rule=rules)
    assert (th.status == asy.Status.CONVERGED).all() and np.isfinite(th.risk).all()
    np.testing.assert_allclose([th.kappa, th.dense_risk], [1.0, 0.5], rtol=1e-10)
    np.testing.assert_allclose(th.risk[2], 0.2625, rtol=1e-10)
    small = asy.train_small_risk(task, keep=10)
    np.testing.assert_allclose(small.exact, 0.0, atol=1e-300)
