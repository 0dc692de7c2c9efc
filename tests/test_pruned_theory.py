"""Pruned-risk theory: worked examples E1/E2, invariants, bad input."""

import numpy as np
import pytest

import asymptotics as asy
import models

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


@pytest.mark.parametrize("rule", ["magnitude", "saliency", "oracle", "random"])
def test_expected_kept_count_is_keep(rule):
    task = models.LinearTask.power_law(pool=500, n=100, noise=0.5, a=1.0, b=0.5)
    p, s = np.array([60, 100, 130, 500])[:, None], np.array([5, 40, 60])[None, :]
    th = asy.pruned_risk(task, p=p, keep=s, rule=rule, keep_probabilities=True)
    np.testing.assert_allclose(th.keep_prob.sum(-1)[..., 0], np.broadcast_to(s, th.p.shape), rtol=1e-9)
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
    # theory note section 5: OP <= HP <= MP for heterogeneous spectra away from the peak
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


def test_same_data_retraining_has_no_theory():
    task = models.LinearTask.isotropic(**E1)
    with pytest.raises(ValueError, match="no known closed form"):
        asy.pruned_risk(task, p=200, keep=10, retrain="same")
    th = asy.pruned_risk(task, p=200, keep=10, rule="magnitude", retrain="fresh")
    with pytest.raises(ValueError, match="no known closed form"):
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
