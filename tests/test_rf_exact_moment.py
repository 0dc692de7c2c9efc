"""The finite-d correction of the random-features theory (issue 9): ``second_moment="exact"``.

The exact-moment theory is the general-covariance engine fed the exact feature moments
``M = E phi phi^T``, ``c = E y phi`` of the nonlinear features (``models.rf_feature_moments``)
in place of the Gaussian equivalent's ``V V^T + diag(mu_star^2)``.

Allowance of the comparison with the nonlinear simulation (not tuned): the exact-moment theory
is the deterministic equivalent of the linear model whose covariance and cross moment are the
features' true ones, so what separates it from the simulation is (a) the finite-n error of the
deterministic equivalent, which the project states as 2 % for ``p >= 1.5 n``
(``docs/linear.md`` section 6, ``overparam.AGREEMENT``; here ``p = 2n, 4n``), and (b) the
non-Gaussianity of the features beyond their second moment, which no second-moment theory
sees.  Measured separately on the erf case below (3000 trials each): Gaussian features with
exactly this ``M`` (``sims.dense_risk`` on its spectrum) sit +1.4 % / +1.0 % above the theory
(p = 160 / 320): that is (a); the nonlinear features sit -0.9 % / +0.5 % from the Gaussian
ones: that is (b).  Both are inside the 2 % allowance, so the rule is the project's float64
``AGREEMENT`` (3 s.e. + 2 %).  The Gaussian equivalent misses by 4.8 % and 8.3 %, outside it.
"""

import jax
import numpy as np
import pytest

import asymptotics as asy
import models
import sims
from models import InputError
from overparam import AGREEMENT, assert_agrees


def _moment_engine(task, p, n, ridge):
    """The general-covariance engine fed the exact moments of the first ``p`` features."""
    mom = models.rf_feature_moments(task, p)
    beta = np.linalg.solve(mom.second, mom.cross)
    noise = np.sqrt(mom.label_second - mom.cross @ beta)
    return asy.general_dense_risk(mom.second, beta, noise, n=n, ridge=ridge)


@pytest.mark.parametrize("activation,centred", [("erf", True), ("relu", False), ("tanh", True)])
def test_exact_is_the_general_engine_on_the_exact_moments(activation, centred):
    task = models.RFTask.draw(jax.random.key(2), d=12, pool=50, n=30, noise=0.3,
                              activation=activation, centred=centred)
    ps, n, ridge = np.array([20, 50]), np.array([30, 60]), np.array([0.0, 0.05])
    got = asy.rf_dense_risk(task, p=ps[:, None, None], n=n[None, :, None],
                            ridge=ridge[None, None, :], second_moment="exact")
    for i, p in enumerate(ps):
        ref = _moment_engine(task, int(p), n[:, None], ridge[None, :])
        np.testing.assert_allclose(got.risk[i], ref.risk, rtol=1e-10)
        np.testing.assert_allclose(got.kappa[i], ref.kappa, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(got.bias[i], ref.bias, rtol=1e-9, atol=1e-14)
        np.testing.assert_array_equal(got.status[i], ref.status)


def test_exact_equals_gaussian_equivalent_for_orthogonal_rows():
    # rows orthogonal: the Hermite orders k >= 1 all vanish off the diagonal, so the exact M is
    # diagonal and equal to the Gaussian equivalent's; c is Stein's in both
    q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((16, 16)))
    task = models.RFTask.create(1.3 * q[:12], q[0] + 0.5 * q[3], noise=0.4, n=10,
                                activation="tanh")
    kw = dict(p=[4, 12], n=10, ridge=[[0.0], [0.1]])
    ge = asy.rf_dense_risk(task, **kw)
    ex = asy.rf_dense_risk(task, second_moment="exact", **kw)
    np.testing.assert_allclose(ex.risk, ge.risk, rtol=1e-10)


def test_status_rules_unchanged():
    task = models.RFTask.draw(jax.random.key(0), d=8, pool=40, n=20, noise=0.5)
    ex = asy.rf_dense_risk(task, p=[10, 20, 40], n=20, ridge=0.0, second_moment="exact",
                           throw=False)
    assert float(ex.kappa[0]) == 0.0                                   # p < n: OLS
    assert np.isinf(ex.risk[1]) and ex.rows()[1]["status"] == "diverged"
    assert ex.rows()[2]["status"] == "converged"


def test_bad_second_moment_is_refused():
    task = models.RFTask.draw(jax.random.key(0), d=8, pool=20, n=20, noise=0.5)
    with pytest.raises(InputError, match=r"second_moment: unknown value 'mehler'.*allowed.*"
                                         r"'gaussian-equivalent', 'exact'"):
        asy.rf_dense_risk(task, second_moment="mehler")


def test_exact_moment_theory_closes_the_finite_d_gap():
    """erf, d = 40, sigma = 0.2, n = 80, p = 160 and 320 (docs/random_features.md, "Practical
    points").  Measured (W key 0, 2000 trials, key 1): simulation 0.2100 +- 0.0008 and
    0.1310 +- 0.0004; exact-moment theory 0.2101 and 0.1293 (+0.03 %, -1.3 %); Gaussian
    equivalent 0.2011 and 0.1204 (-4.2 %, -8.1 %)."""
    n, ps = 80, [160, 320]
    task = models.RFTask.draw(jax.random.key(0), d=40, pool=320, n=n, noise=0.2,
                              activation="erf")
    ge = asy.rf_dense_risk(task, p=ps, n=n).risk
    ex = asy.rf_dense_risk(task, p=ps, n=n, second_moment="exact").risk
    mc = sims.rf_dense_risk(task, p=ps, n=n, trials=2000, key=jax.random.key(1))
    assert np.all(mc.stderr < 0.01 * mc.mean)
    assert np.all(np.abs(ex - mc.mean) < np.abs(ge - mc.mean))
    assert_agrees(ex, mc.mean, mc.stderr, agreement=AGREEMENT["float64"],
                  what="exact-moment theory vs nonlinear features")
    # the Gaussian equivalent is measurably off here (what the correction is for)
    assert not np.any(AGREEMENT["float64"].holds(mc.mean, mc.stderr, ge))


# ------------------------------------------------- the same correction for the pruned theory

def test_exact_spectrum_reproduces_every_leading_block():
    task = models.RFTask.draw(jax.random.key(5), d=10, pool=40, n=20, noise=0.3,
                              activation="tanh")
    spec = asy.exact_spectrum(task)
    mom = models.rf_feature_moments(task)
    for p in (7, 25, 40):
        L = spec.features[:p]
        np.testing.assert_allclose(L @ L.T, mom.second[:p, :p], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(L @ spec.target, mom.cross[:p], rtol=1e-12, atol=1e-15)
    assert not spec.fast and np.all(spec.mu_star2 == 0)
    dup = models.RFTask.create(np.vstack([task.weights[:3], task.weights[:1]]), task.teacher,
                               noise=0.3, n=20, activation="tanh")
    with pytest.raises(InputError, match="exact feature second moment of the pool is singular"):
        asy.rf_pruned_risk(dup, p=4, keep=2, key=jax.random.key(0), second_moment="exact")


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_exact_coordinate_law_and_train_small_use_the_exact_moments(activation):
    task = models.RFTask.draw(jax.random.key(6), d=10, pool=50, n=20, noise=0.4,
                              activation=activation)
    p, n = 40, 20
    mom = models.rf_feature_moments(task, p)
    M, c = mom.second, mom.cross
    ref = _moment_engine(task, p, n, 0.0)
    cl = asy.rf_coordinate_law(task, p=p, second_moment="exact")
    np.testing.assert_allclose([cl.kappa, cl.gamma2], [float(ref.kappa), float(ref.risk)],
                               rtol=1e-9)
    A = np.linalg.inv(M + cl.kappa * np.eye(p))
    np.testing.assert_allclose(cl.mean, A @ c, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cl.covariance(), cl.gamma2 / n * A @ M @ A, rtol=1e-8,
                               atol=1e-13)
    s = 6
    small = asy.rf_train_small(task, s, second_moment="exact")
    direct = (mom.label_second - c[:s] @ np.linalg.solve(M[:s, :s], c[:s])) * (n - 1) / (n - s - 1)
    np.testing.assert_allclose(small, direct, rtol=1e-12)
    assert abs(small - asy.rf_train_small(task, s)) > 1e-6 * small      # a different model


def test_exact_pruned_random_rule_matches_its_closed_form():
    # the random rule's mean risk in closed form on the exact moments; the sampler within
    # 4 of its standard errors (1 chance in ~16000 to fail by chance)
    task = models.RFTask.draw(jax.random.key(7), d=10, pool=50, n=20, noise=0.4)
    p, s = 40, 10
    th = asy.rf_pruned_risk(task, p=p, keep=s, rule=("magnitude", "random"), draws=2048,
                            key=jax.random.key(0), second_moment="exact")
    cl = asy.rf_coordinate_law(task, p=p, second_moment="exact")
    mom = models.rf_feature_moments(task, p)
    M, c = mom.second, mom.cross
    second = np.outer(cl.mean, cl.mean) + cl.covariance()
    q1, q2 = s / p, s * (s - 1) / (p * (p - 1))
    exact = (mom.label_second - 2 * q1 * c @ cl.mean + q2 * np.sum(M * second)
             + (q1 - q2) * np.sum(np.diag(M) * np.diag(second)))
    assert abs(th.risk[1] - exact) < 4 * th.stderr[1] and th.stderr[1] < 0.01 * exact
    np.testing.assert_allclose(th.train_small, asy.rf_train_small(task, s, second_moment="exact"))
