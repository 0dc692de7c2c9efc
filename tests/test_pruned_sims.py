"""Pruning simulation against the theory and against exact finite-n facts."""

import jax
import numpy as np
import pytest

import asymptotics as asy
import models
import sims
from conftest import assert_mc_agrees

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
        mean, se, _ = mc.summary(mc.select(rule, "none")[:, 0])
        assert_mc_agrees(th.risk[:, j], mean, se, what=f"pruned {rule}")


def test_fresh_retraining_vs_theory(e2_run):
    task, p, mc = e2_run
    th = asy.pruned_risk(task, p=p, keep=40, rule=RULES, retrain="fresh")
    for j, rule in enumerate(RULES):
        mean, se, _ = mc.summary(mc.select(rule, "fresh")[:, 0])
        assert_mc_agrees(th.risk[:, j], mean, se, what=f"fresh retrain {rule}")


def test_train_small_is_exact(e2_run):
    # oracle support + same-data refit = OLS on the known features: E R = sigma_S^2 (n-1)/(n-s-1)
    # exactly; no finite-size allowance.
    task, p, mc = e2_run
    exact, _ = asy.train_small_risk(task, keep=40)
    mean, se, _ = mc.summary(mc.select("oracle", "same")[:, 0])
    assert_mc_agrees(np.full(p.shape, exact), mean, se, allowance=0.0, what="train-small")


def test_same_data_retraining_differs_from_fixed_support_formula(e2_run):
    # Selection bias (theory note section 4): the fixed-support formula is not the same-data
    # retraining risk; at p = 300 the two differ by many standard errors.
    task, p, mc = e2_run
    fixed = asy.pruned_risk(task, p=300, keep=40, rule="magnitude", retrain="fresh").risk[0]
    mean, se, _ = mc.summary(mc.select("magnitude", "same")[1, 0])
    assert abs(mean - fixed) > 3 * se


def test_worked_example_e1_mc():
    task = models.LinearTask.isotropic(pool=200, n=100, noise=0.5, support=10)
    mc = sims.pruned_risk(task, p=200, keep=10, rule=("magnitude", "oracle"), trials=400,
                          key=jax.random.key(2))
    th = asy.pruned_risk(task, p=200, keep=10, rule=("magnitude", "oracle"))
    mean, se, _ = mc.summary(mc.risks[0, :, 0])
    assert_mc_agrees(th.risk, mean, se, what="E1")


def test_empirical_saliency_runs_and_is_close():
    task = models.LinearTask.two_level(**E2)
    a = sims.pruned_risk(task, p=800, keep=40, rule="saliency", trials=100, key=jax.random.key(0))
    b = sims.pruned_risk(task, p=800, keep=40, rule="saliency", trials=100, key=jax.random.key(0),
                         saliency="empirical")
    ma, sa, _ = a.summary(a.risks[0, 0, 0])
    mb, sb, _ = b.summary(b.risks[0, 0, 0])
    assert abs(ma - mb) < 0.05 * ma   # lambda_hat = lambda (1 + O(n^-1/2))


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
