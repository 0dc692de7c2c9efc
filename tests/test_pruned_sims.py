"""Pruning simulation against the theory and against exact finite-n facts."""

import jax
import numpy as np
import pytest

import asymptotics as asy
import models
import sims
from overparam import EXACT, assert_agrees

E2 = dict(strong=40, lam_strong=1.0, lam_weak=0.05, n=100, noise=1.0, pool=800)
RULES = ("magnitude", "saliency", "oracle", "random")


@pytest.fixture(scope="module")
def e2_run():
    task = models.LinearTask.two_level(**E2)
    p = np.array([60, 300, 800])
    mc = sims.pruned_risk(task, p=p, keep=40, rule=RULES, retrain=("none", "same", "fresh"),
                          trials=300, key=jax.random.key(11))
    return task, p, mc


def test_pruned_theory_vs_mc(e2_run):
    task, p, mc = e2_run
    th = asy.pruned_risk(task, p=p, keep=40, rule=RULES)
    for j, rule in enumerate(RULES):
        st = mc.summary(mc.select(rule, "none")[:, 0])
        assert_agrees(th.risk[:, j], st.mean, st.stderr, what=f"pruned {rule}")


def test_fresh_retraining_vs_theory(e2_run):
    task, p, mc = e2_run
    th = asy.pruned_risk(task, p=p, keep=40, rule=RULES, retrain="fresh")
    for j, rule in enumerate(RULES):
        st = mc.summary(mc.select(rule, "fresh")[:, 0])
        assert_agrees(th.risk[:, j], st.mean, st.stderr, what=f"fresh retrain {rule}")


def test_oracle_same_data_refit_is_exact(e2_run):
    # The oracle support does not depend on the data, so refitting on the same data is OLS on
    # a fixed support: E R = sigma_S^2 (n-1)/(n-s-1) exactly (no finite-size allowance).
    task, p, mc = e2_run
    exact = asy.pruned_risk(task, p=p, keep=40, rule="oracle", retrain="fresh").risk[:, 0]
    st = mc.summary(mc.select("oracle", "same")[:, 0])
    assert_agrees(exact, st.mean, st.stderr, agreement=EXACT, what="oracle + same")


def test_same_data_retraining_differs_from_fixed_support_formula(e2_run):
    # Selection bias (docs/linear.md section 4): the fixed-support formula is not the same-data
    # retraining risk; at p = 300 the two differ by many standard errors.
    task, p, mc = e2_run
    fixed = asy.pruned_risk(task, p=300, keep=40, rule="magnitude", retrain="fresh").risk[0]
    st = mc.summary(mc.select("magnitude", "same")[1, 0])
    assert abs(st.mean - fixed) > 3 * st.stderr


def test_worked_example_e1_mc():
    task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
    mc = sims.pruned_risk(task, p=200, keep=10, rule=("magnitude", "oracle"), trials=400,
                          key=jax.random.key(2))
    th = asy.pruned_risk(task, p=200, keep=10, rule=("magnitude", "oracle"))
    st = mc.summary(mc.risks[0, :, 0])
    assert_agrees(th.risk, st.mean, st.stderr, what="E1")


def test_empirical_saliency_runs_and_is_close():
    task = models.LinearTask.two_level(**E2)
    a = sims.pruned_risk(task, p=800, keep=40, rule="saliency", trials=100, key=jax.random.key(0))
    b = sims.pruned_risk(task, p=800, keep=40, rule="saliency", trials=100, key=jax.random.key(0),
                         saliency="empirical")
    ma, mb = a.summary(a.risks[0, 0, 0]).mean, b.summary(b.risks[0, 0, 0]).mean
    assert abs(ma - mb) < 0.05 * ma   # lambda_hat = lambda (1 + O(n^-1/2))


def _reversed_two_level(n=60, pool=300):
    """Two-level spectrum with the informative block LAST in the pool (features 260..299)."""
    base = models.LinearTask.two_level(strong=40, lam_strong=1.0, lam_weak=0.05, n=n, noise=1.0,
                                       pool=pool)
    return models.LinearTask.create(np.asarray(base.eigenvalues)[::-1],
                                    np.asarray(base.signal)[::-1], noise=1.0, n=n,
                                    name="two-level reversed")


def test_train_small_uses_the_pool_best_features_wherever_they_are():
    # Both evaluators read the train-small support from models.train_small_support: the 40
    # strong features at the END of the pool.  The exact finite-n formula holds with no
    # allowance; a model's oracle support (first p features) would miss them entirely.
    task = _reversed_two_level()
    np.testing.assert_array_equal(models.train_small_support(task.eigenvalues, task.signal, 40),
                                  np.arange(260, 300))
    keep = np.array([10, 25, 40])
    mc = sims.train_small_risk(task, keep=keep, trials=1500, key=jax.random.key(5))
    exact = asy.train_small_risk(task, keep=keep).exact
    st = mc.summary()
    assert_agrees(exact, st.mean, st.stderr, agreement=EXACT, what="train-small, reversed pool")
    # sigma_S^2 uses the whole pool: with s = 40 all the signal is captured
    assert abs(exact[-1] - 1.0 * 59 / (60 - 40 - 1)) < 1e-12


def test_summary_counts_nonfinite_trials():
    risks = np.array([[1.0, 2.0, np.nan, 3.0], [np.inf, np.nan, np.nan, np.nan]])
    st = sims.summarize(risks)
    np.testing.assert_array_equal(st.finite, [3, 0])
    np.testing.assert_array_equal(st.nonfinite, [1, 4])
    assert st.mean[0] == 2.0 and st.median[0] == 2.0 and abs(st.stderr[0] - 1 / np.sqrt(3)) < 1e-15
    assert np.isnan(st.mean[1]) and np.isinf(st.stderr[1])


@pytest.mark.parametrize("kw,arg", [
    (dict(keep=801), "keep"), (dict(keep=0), "keep"), (dict(rule="largest"), "rule"),
    (dict(rule="oracle", support=np.arange(5)), "support"), (dict(retrain="twice"), "retrain"),
    (dict(retrain="same", keep=99), "keep"), (dict(saliency="guess"), "saliency"),
])
def test_bad_input(kw, arg):
    task = models.LinearTask.two_level(**E2)
    args = dict(p=800, keep=40, trials=4, key=jax.random.key(0)) | kw
    with pytest.raises(models.InputError, match=rf"^{arg}: .*allowed"):
        sims.pruned_risk(task, **args)
