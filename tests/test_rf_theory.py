"""Random-features theory (Gaussian equivalence) and the general-covariance dense theory.

Exact checks (to rounding): the general-covariance engine against the diagonal engine (also
under a random rotation); the thin-SVD / Gram spectrum of ``M`` against an explicit ``p x p``
construction fed to the general engine; the coordinate law's mean and covariance against
their matrix formulas; the per-draw pruned and refit risks against dense formulas; the
train-small formula.  Statistical checks use the sampling standard error (``Z`` standard
errors).  The E3 worked example (docs/random_features.md) depends on the draws of ``W`` and
``theta``: measured over 20 draws of ``RFTask.draw(key(k), d=50, pool=800, n=100,
noise=0.5)``, the dense risk has a relative spread (sd) of 2.9 %, 2.3 % and 1.0 % at
``p = 200, 400, 800``, while ``kappa`` moves by less than 0.001; the allowance is stated
per quantity below.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import asymptotics as asy
import models
from asymptotics import _rf_pruning
from asymptotics._status import Status

Z = 4.0  # standard errors allowed in the statistical checks


def _relu_task(key=0, d=50, pool=800, n=100, noise=0.5, **kw):
    return models.RFTask.draw(jax.random.key(key), d=d, pool=pool, n=n, noise=noise, **kw)


# ------------------------------------------------------------------------- general Sigma

@pytest.mark.parametrize("ridge", [0.0, 0.1])
def test_general_covariance_equals_diagonal_engine_also_rotated(ridge):
    task = models.LinearTask.power_law(pool=300, n=100, noise=1.0, a=1.0, b=0.3)
    rng = np.random.default_rng(0)
    ns = np.array([40, 100, 150, 250])
    for p in (60, 100, 250):
        ref = asy.dense_risk(task, p=p, n=ns, ridge=ridge, throw=False)
        lam = np.asarray(task.eigenvalues)[:p]
        beta = np.asarray(task.signal)[:p]
        noise = np.sqrt(ref.sigma_p2[0])
        Q, _ = np.linalg.qr(rng.standard_normal((p, p)))
        for Sigma, b in ((np.diag(lam), beta), (Q @ np.diag(lam) @ Q.T, Q @ beta)):
            got = asy.general_dense_risk(Sigma, b, noise, n=ns, ridge=ridge, throw=False)
            np.testing.assert_array_equal(got.status, ref.status)
            for f in ("kappa", "risk", "bias", "variance", "df2"):
                np.testing.assert_allclose(getattr(got, f), getattr(ref, f), rtol=1e-9, atol=1e-12)
    assert Status.DIVERGED in ref.status or ridge > 0


def test_general_covariance_peak_and_inputs():
    Sigma = np.diag(np.linspace(0.5, 2.0, 30))
    beta = np.ones(30) / np.sqrt(30)
    c = asy.general_dense_risk(Sigma, beta, 0.5, n=[20, 30, 60])
    assert c.kappa[2] == 0.0 and np.isinf(c.risk[1]) and c.status[1] == Status.DIVERGED
    np.testing.assert_allclose(c.risk[2], 0.25 / (1 - 30 / 60), rtol=1e-12)   # OLS
    with pytest.raises(models.InputError, match="Sigma: not symmetric"):
        asy.general_dense_risk(Sigma + np.triu(np.ones((30, 30)), 1), beta, 0.5, n=20)
    with pytest.raises(models.InputError, match="Sigma: has a negative eigenvalue"):
        asy.general_dense_risk(-Sigma, beta, 0.5, n=20)
    with pytest.raises(models.InputError, match="beta: has 29 entries"):
        asy.general_dense_risk(Sigma, beta[:-1], 0.5, n=20)
    with pytest.raises(models.InputError, match="ridge"):
        asy.general_dense_risk(Sigma, beta, 0.5, n=20, ridge=-1.0)


# ------------------------------------------------------------------- Gaussian equivalent

def _explicit(task, p):
    """``M``, ``c`` of the Gaussian equivalent, built as dense ``p x p`` matrices."""
    W = np.asarray(task.weights)[:p]
    r = np.linalg.norm(W, axis=1)
    mu0, mu1, ms = (np.asarray(x) for x in models.ge_coefficients(task.activation, r))
    F = (mu1 / r)[:, None] * W
    M = F @ F.T + np.diag(ms**2)
    if not task.centred:
        M = M + np.outer(mu0, mu0)
    c = F @ np.asarray(task.teacher)
    return M, c


def _explicit_dense(task, p, n, ridge):
    M, c = _explicit(task, p)
    beta_f = np.linalg.solve(M, c)
    sig2 = task.label_second_moment - c @ beta_f
    return asy.general_dense_risk(M, beta_f, np.sqrt(sig2), n=n, ridge=ridge, throw=False), sig2


def test_relu_coefficients_closed_forms():
    spec = asy.rf_spectrum(_relu_task(pool=20))
    mu0, mu1, ms = spec.coefficients
    np.testing.assert_allclose(mu0, 1 / np.sqrt(2 * np.pi), rtol=1e-12)
    np.testing.assert_allclose(mu1, 0.5, rtol=1e-12)
    np.testing.assert_allclose(ms**2, 0.25 - 1 / (2 * np.pi), rtol=1e-12)
    assert spec.fast and spec.path == "thin-svd"
    assert not asy.rf_spectrum(_relu_task(pool=20, law="gaussian")).fast


@pytest.mark.parametrize("variant", ["sphere", "uncentred", "gaussian_rows", "tanh"])
def test_rf_dense_equals_explicit_general_covariance(variant):
    kw = dict(sphere={}, uncentred=dict(centred=False), gaussian_rows=dict(law="gaussian"),
              tanh=dict(activation="tanh"))[variant]
    task = _relu_task(d=12, pool=60, n=30, **kw)
    ps, ns, ridges = np.array([8, 12, 13, 30, 45, 60]), np.array([30, 30]), np.array([0.0, 0.05])
    curve = asy.rf_dense_risk(task, p=ps[:, None, None], n=ns[:, None],
                              ridge=ridges, throw=False)
    for i, p in enumerate(ps):
        ref, sig2 = _explicit_dense(task, int(p), ns[:, None], ridges)
        np.testing.assert_array_equal(curve.status[i], ref.status)
        np.testing.assert_allclose(curve.sigma_p2[i], sig2, rtol=1e-9)
        for f in ("kappa", "risk", "bias", "variance"):
            np.testing.assert_allclose(getattr(curve, f)[i], getattr(ref, f), rtol=1e-8,
                                       atol=1e-12)
    assert curve.status[3, 0, 0] == Status.DIVERGED and np.isinf(curve.risk[3, 0, 0])
    assert np.all(curve.kappa[:3, :, 0] == 0.0)                    # ridgeless p < n: OLS


def test_width_methods_agree_and_rows_have_the_cli_columns():
    task = _relu_task(d=20, pool=300, n=60)
    p = np.array([5, 20, 33, 60, 64, 65, 200, 300])
    a = asy.rf_dense_risk(task, p=p, throw=False)
    for method in ("padded", "bucketed"):
        b = asy.rf_dense_risk(task, p=p, throw=False, method=method)
        np.testing.assert_array_equal(a.status, b.status)
        np.testing.assert_allclose(a.risk, b.risk, rtol=1e-11)
    row = a.rows()[0]
    assert list(row) == ["p", "n", "ridge", "kappa", "dense_risk", "bias", "variance",
                         "sigma_p2", "status"]
    assert a.rows()[3]["status"] == "diverged"


def test_e3_dense_worked_example():
    task = _relu_task(0)
    c = asy.rf_dense_risk(task, p=[200, 400, 800])
    # kappa: depends on W only through the Gram spectrum; measured spread < 0.001
    np.testing.assert_allclose(c.kappa, [0.148, 0.443, 1.035], atol=2e-3)
    # dense risk: 2.5 measured sds of the draw-to-draw spread (2.9 %, 2.3 %, 1.0 %)
    for got, doc, allow in zip(c.risk, [0.876, 0.572, 0.488], [0.073, 0.058, 0.025]):
        assert abs(got - doc) <= allow * doc
    np.testing.assert_allclose(c.risk, c.sigma_p2 + c.bias + c.variance, rtol=1e-13)


def test_rf_inputs_are_validated_before_compiling():
    task = _relu_task(pool=50)
    with pytest.raises(models.InputError, match="p: got 51"):
        asy.rf_dense_risk(task, p=51)
    with pytest.raises(models.InputError, match="task: got LinearTask"):
        asy.rf_dense_risk(models.LinearTask.isotropic(pool=10, n=5, noise=1.0))
    with pytest.raises(models.InputError, match="ridge"):
        asy.rf_dense_risk(task, ridge=-0.1)


# ------------------------------------------------------------------------ coordinate law

@pytest.mark.parametrize("law,p,ridge", [("sphere", 40, 0.0), ("sphere", 9, 0.0),
                                         ("sphere", 25, 0.0), ("gaussian", 40, 0.1)])
def test_coordinate_law_matches_matrix_formulas(law, p, ridge):
    task = _relu_task(d=12, pool=60, n=20, law=law)
    cl = asy.rf_coordinate_law(task, p=p, ridge=ridge)
    M, c = _explicit(task, p)
    A = np.linalg.inv(M + cl.kappa * np.eye(p))
    np.testing.assert_allclose(cl.mean, A @ c, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(cl.covariance(), cl.gamma2 / 20 * A @ M @ A, rtol=1e-8, atol=1e-13)
    np.testing.assert_allclose(cl.variance, np.diag(cl.covariance()), rtol=1e-10)
    ref, _ = _explicit_dense(task, p, 20, ridge)
    np.testing.assert_allclose([cl.kappa, cl.gamma2], [ref.kappa, ref.risk], rtol=1e-9)


def test_coordinate_law_sampler():
    task = _relu_task(d=12, pool=60, n=20)
    cl = asy.rf_coordinate_law(task, p=40)
    draws = 40000
    x = np.asarray(cl.sample(jax.random.key(3), draws))
    assert x.shape == (draws, 40)
    se = np.sqrt(cl.variance / draws)
    assert np.all(np.abs(x.mean(0) - cl.mean) < Z * se)
    # sample covariance: every entry within Z standard errors (Wishart entry variance)
    C = cl.covariance()
    emp = np.cov(x.T)
    se_c = np.sqrt((C**2 + np.outer(np.diag(C), np.diag(C))) / draws)
    assert np.all(np.abs(emp - C) < Z * se_c + 1e-14)
    # vmappable over keys
    keys = jax.random.split(jax.random.key(4), 3)
    assert jax.vmap(lambda k: cl.sample(k, 5))(keys).shape == (3, 5, 40)


def test_coordinate_law_refuses_the_peak():
    task = _relu_task(d=12, pool=60, n=20)
    with pytest.raises(asy.SolverError, match="interpolation peak"):
        asy.rf_coordinate_law(task, p=20)
    cl = asy.rf_coordinate_law(task, p=20, throw=False)
    assert cl.status == Status.INVALID and np.all(np.isnan(cl.mean))


# --------------------------------------------------------------------------- pruned risks

def test_per_draw_pruned_and_refit_risks_equal_dense_formulas():
    task = _relu_task(d=12, pool=60, n=30, law="gaussian")
    spec = asy.rf_spectrum(task)
    p, s = 45, 7
    M, c = _explicit(task, p)
    Ey2 = task.label_second_moment
    a = np.zeros((3, 60))
    a[:, :p] = np.random.default_rng(1).standard_normal((3, p))
    out = _rf_pruning._draw_stats(
        jnp.asarray(a), jax.random.key(0), ("magnitude", "saliency"), jnp.asarray(spec.features),
        jnp.asarray(spec.target), jnp.asarray(spec.mu_star2), Ey2, p, float(s), 30.0, 8, True)
    for j, score in enumerate((np.abs(a[:, :p]), np.diag(M) * a[:, :p] ** 2)):
        for i in range(3):
            S = np.argsort(-score[i])[:s]
            aS = np.zeros(p)
            aS[S] = a[i, S]
            risk = Ey2 - 2 * aS @ c + aS @ M @ aS
            refit = (Ey2 - c[S] @ np.linalg.solve(M[np.ix_(S, S)], c[S])) * 29 / (30 - s - 1)
            np.testing.assert_allclose(out[j, :, i], [risk, refit], rtol=1e-10)


def test_random_rule_matches_its_closed_form_and_saliency_equals_magnitude():
    task = _relu_task(d=12, pool=60, n=20)
    p, s = 40, 10
    th = asy.rf_pruned_risk(task, p=p, keep=s, rule=("magnitude", "saliency", "random"),
                            key=jax.random.key(0))
    assert th.draws == 4096 and np.all(th.status == Status.CONVERGED)
    np.testing.assert_array_equal(th.risk[0], th.risk[1])          # diag M constant
    cl = asy.rf_coordinate_law(task, p=p)
    M, c = _explicit(task, p)
    m, C = cl.mean, cl.covariance()
    q1, q2 = s / p, s * (s - 1) / (p * (p - 1))
    second = np.outer(m, m) + C
    exact = (task.label_second_moment - 2 * q1 * c @ m + q2 * np.sum(M * second)
             + (q1 - q2) * np.sum(np.diag(M) * np.diag(second)))
    assert abs(th.risk[2] - exact) < Z * th.stderr[2]
    assert th.stderr[2] < 0.01 * exact


def test_saliency_differs_from_magnitude_when_diag_m_varies():
    task = _relu_task(d=12, pool=60, n=20, law="gaussian")
    th = asy.rf_pruned_risk(task, p=[10, 40], keep=8, rule=("magnitude", "saliency"),
                            retrain="fresh", draws=512, key=jax.random.key(0))
    assert np.all(np.isfinite(th.risk)) and not np.allclose(th.risk[:, 0], th.risk[:, 1])
    assert np.all(th.pruned_se > 0) and np.all(th.fresh_se > 0)


def test_e3_magnitude_pruning_and_refits():
    task = _relu_task(0)
    th = asy.rf_pruned_risk(task, p=[100, 200, 400, 800], keep=40, rule="magnitude",
                            retrain="fresh", key=jax.random.key(1))
    # the peak: pruned risk infinite (DIVERGED), the fresh refit stays finite
    assert np.isinf(th.pruned[0, 0]) and np.isfinite(th.fresh[0, 0])
    assert th.status[0, 0] == Status.CONVERGED
    # MP (0.982, 0.831, 0.921): standard error below 0.2 %; allowance the draw-to-draw spread
    np.testing.assert_allclose(th.pruned[1:, 0], [0.982, 0.831, 0.921], rtol=0.04)
    assert np.all(th.pruned_se[1:, 0] < 0.002 * th.pruned[1:, 0])
    # every p >= 200 beats training a 40-feature model directly (1.35 in the docs)
    np.testing.assert_allclose(th.train_small, 1.35, rtol=0.04)
    assert np.all(th.pruned[1:, 0] < th.train_small[1:])
    # the fresh refit evaluated once at the top 40 of the MEAN is far too low
    cl = asy.rf_coordinate_law(task, p=400)
    M, c = _explicit(task, 400)
    S = np.argsort(-np.abs(cl.mean))[:40]
    at_mean = (task.label_second_moment - c[S] @ np.linalg.solve(M[np.ix_(S, S)], c[S])) * 99 / 59
    assert at_mean < 0.85 * th.fresh[2, 0]


def test_train_small_formula_and_status_rows():
    task = _relu_task(d=12, pool=60, n=20)
    M, c = _explicit(task, 60)
    S = np.arange(7)
    ref = (task.label_second_moment - c[S] @ np.linalg.solve(M[np.ix_(S, S)], c[S])) * 19 / 12
    got = asy.rf_train_small(task, keep=[7, 19, 20])
    np.testing.assert_allclose(got[0], ref, rtol=1e-12)
    assert np.isinf(got[1]) and np.isnan(got[2])
    th = asy.rf_pruned_risk(task, p=[20, 40], keep=7, rule=("magnitude", "random"), draws=256,
                            key=jax.random.key(0))
    rows = th.rows()
    assert [r["status"] for r in rows] == ["diverged", "diverged", "converged", "converged"]
    assert list(rows[0]) == ["p", "n", "ridge", "keep", "rule", "retrain", "kappa",
                             "dense_risk", "risk", "stderr", "draws", "train_small", "status"]


def test_pruned_inputs():
    task = _relu_task(d=12, pool=60, n=20)
    k = jax.random.key(0)
    with pytest.raises(ValueError, match="no known closed form"):
        asy.rf_pruned_risk(task, p=40, keep=5, retrain="same", key=k)
    with pytest.raises(models.InputError, match="rule: 'oracle'"):
        asy.rf_pruned_risk(task, p=40, keep=5, rule="oracle", key=k)
    with pytest.raises(models.InputError, match="key: missing"):
        asy.rf_pruned_risk(task, p=40, keep=5)
    with pytest.raises(models.InputError, match="keep: got 41"):
        asy.rf_pruned_risk(task, p=40, keep=41, key=k)
    with pytest.raises(models.InputError, match="keep < n - 1"):
        asy.rf_pruned_risk(task, p=40, keep=19, retrain="fresh", key=k)
    with pytest.raises(models.InputError, match="key"):
        asy.rf_pruned_risk(task, p=40, keep=5, key=0)


def test_diagonal_option_random_exact_and_magnitude_error_as_stated():
    task = _relu_task(d=12, pool=60, n=20)
    d = asy.rf_pruned_risk(task, p=[20, 40], keep=10, rule=("magnitude", "random"),
                           diagonal=True, throw=False)
    assert d.status[0, 0] == Status.DIVERGED and np.isinf(d.risk[0, 0])
    cl = asy.rf_coordinate_law(task, p=40)
    M, c = _explicit(task, 40)
    m, C = cl.mean, cl.covariance()
    q1, q2 = 10 / 40, 10 * 9 / (40 * 39)
    second = np.outer(m, m) + C
    exact = (task.label_second_moment - 2 * q1 * c @ m + q2 * np.sum(M * second)
             + (q1 - q2) * np.sum(np.diag(M) * np.diag(second)))
    np.testing.assert_allclose(d.risk[1, 1], exact, rtol=1e-10)
    assert d.stderr[1, 1] == 0.0 and d.draws == 0
    # E3, key 0: the stated errors of the approximation (DIAGONAL_ERROR)
    task = _relu_task(0)
    ps = [150, 200, 400, 800]
    a = asy.rf_pruned_risk(task, p=ps, keep=40, rule="magnitude", key=jax.random.key(1))
    b = asy.rf_pruned_risk(task, p=ps, keep=40, rule="magnitude", diagonal=True)
    rel = b.risk[:, 0] / a.risk[:, 0] - 1
    stated = np.array([_rf_pruning.DIAGONAL_ERROR[p][0] for p in ps])
    assert np.all(np.abs(rel - stated) < 0.005 + Z * a.stderr[:, 0] / a.risk[:, 0])
    with pytest.raises(models.InputError, match="retrain: 'fresh' needs sampled supports"):
        asy.rf_pruned_risk(task, p=400, keep=40, retrain="fresh", diagonal=True)
