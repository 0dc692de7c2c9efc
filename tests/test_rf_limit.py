"""Random-features dense risk in the proportional limit (``asymptotics._rf_limit``).

Checks: the Marchenko-Pastur quadrature's mass, mean and second moment (exact to rounding)
and its agreement with :meth:`models.SpectralLaw.from_density`; the Mei-Montanari ridgeless
closed form (an independent formula; agreement to rounding); the conditional theory
:func:`asymptotics.rf_dense_risk` at ``d = 400`` within 1 %; the peak status.

The conditional theory depends on the teacher only through its projections
``(Q^T theta)_j^2`` on the right singular vectors of ``W``; for a drawn ``theta`` these
fluctuate by ``O(d^{-1/2})`` around ``||theta||^2 / d``, which the limit uses.  Measured at
``d = 400, n = 800`` (ReLU and tanh, ridge 0 and 0.1, keys 0-2, widths 200..3200 away from
``p = n``): a drawn teacher moves the conditional risk by 0.1-7.7 % from the limit (sd over
keys 1-3.6 % per width; the mean over 8 draws is within 0.6 %), while the same ``W`` with a
teacher spread evenly over its singular directions (``(Q^T theta)_j^2 = 1/d``, the teacher
average of the conditional theory, which is linear in ``theta theta^T``) agrees with the
limit within 0.32 % at every width.  The 1 % checks use that teacher; the drawn-teacher check
allows the measured spread.
"""

import jax
import numpy as np
import pytest

import asymptotics as asy
import models
from asymptotics._status import Status

D, N = 400, 800
#: widths on both sides of the peak p = n = 800 (700..900 excluded)
WIDTHS = (200, 400, 600, 1000, 1200, 1600, 2400, 3200)


def _mei_montanari_ridgeless(mu1, mu_star, psi1, psi2, noise, teacher_norm=1.0):
    """Mei & Montanari 2019 (arXiv:1908.05355), ridgeless limit of Thm. 1 (linear teacher,
    ``F_star = 0``): ``chi`` in closed form with ``psi = min(psi1, psi2)``, then
    ``R = F1^2 E1/E0 + tau^2 E2/E0`` (excess risk; the total risk adds ``tau^2``)."""
    z, psi, p1, p2 = mu1 / mu_star, min(psi1, psi2), psi1, psi2
    b = psi * z**2 - z**2 - 1
    c = -(b + np.sqrt(b * b + 4 * z**2 * psi)) / (2 * z**2)
    e0 = (-c**5 * z**6 + 3 * c**4 * z**4 + (p1 * p2 - p2 - p1 + 1) * c**3 * z**6
          - 2 * c**3 * z**4 - 3 * c**3 * z**2 + (p1 + p2 - 3 * p1 * p2 + 1) * c**2 * z**4
          + 2 * c**2 * z**2 + c**2 + 3 * p1 * p2 * c * z**2 - p1 * p2)
    e1 = p2 * c**3 * z**4 - p2 * c**2 * z**2 + p1 * p2 * c * z**2 - p1 * p2
    e2 = (c**5 * z**6 - 3 * c**4 * z**4 + (p1 - 1) * c**3 * z**6 + 2 * c**3 * z**4
          + 3 * c**3 * z**2 + (-p1 - 1) * c**2 * z**4 - 2 * c**2 * z**2 - c**2)
    return teacher_norm**2 * e1 / e0 + noise**2 * e2 / e0 + noise**2


def _flat_teacher_risk(weights, p, ridge, *, activation, noise=0.5, centred=True):
    """Conditional theory for the first ``p`` rows of ``weights`` with the teacher
    ``Q s / sqrt(d)`` (``Q``: right singular vectors of those rows, ``s``: fixed signs), so
    that every ``(Q^T theta)_j^2 = 1/d`` (``||theta|| = 1``)."""
    W = np.asarray(weights)[:p]
    d = W.shape[1]
    _, _, qt = np.linalg.svd(W, full_matrices=True)
    signs = np.where(np.arange(d) % 2 == 0, 1.0, -1.0)
    theta = qt.T @ signs / np.sqrt(d)
    task = models.RFTask.create(W, theta, noise=noise, n=N, activation=activation,
                                centred=centred)
    return asy.rf_dense_risk(task, p=p, ridge=ridge).risk


# ------------------------------------------------------------------------- the MP law

@pytest.mark.parametrize("ratio", [0.05, 0.5, 0.99, 1.0, 1.001, 2.0, 10.0, 100.0])
def test_marchenko_pastur_mass_mean_and_second_moment(ratio):
    x, w, atom = asy.marchenko_pastur_quadrature(ratio)
    assert np.all(x > 0) and np.all(w > 0)
    assert atom == pytest.approx(max(1 - 1 / ratio, 0.0), abs=1e-15)
    assert w.sum() == pytest.approx(min(1.0, 1.0 / ratio), rel=1e-13)
    # W W^T for unit rows: mean eigenvalue tr(W W^T)/p = 1, second moment 1 + p/d
    assert w @ x == pytest.approx(1.0, rel=1e-13)
    assert w @ x**2 == pytest.approx(1.0 + ratio, rel=1e-13)
    lo, hi = (1 - np.sqrt(ratio)) ** 2, (1 + np.sqrt(ratio)) ** 2
    assert lo - 1e-12 <= x.min() and x.max() <= hi + 1e-12


@pytest.mark.parametrize("psi1", [0.5, 3.0])
def test_law_matches_from_density_route(psi1):
    """The brief's route: the MP density through ``SpectralLaw.from_density`` plus the atom
    (``mixture``) gives the same risk to the accuracy of from_density's quadrature."""
    _, mu1, mu_star = (float(v) for v in models.ge_coefficients("relu", 1.0))
    lo, hi = (1 - np.sqrt(psi1)) ** 2, (1 + np.sqrt(psi1)) ** 2
    dens = lambda x: np.sqrt(np.maximum((hi - x) * (x - lo), 0.0)) / (2 * np.pi * psi1 * x)  # noqa: E731
    mp = models.SpectralLaw.from_density(dens, (lo, hi), 0.0, noise=0.0, nodes=400,
                                         log_scale=True)
    x = np.asarray(mp.eigenvalues)
    w = np.asarray(mp.weights) * min(1.0, 1.0 / psi1)
    lam = mu1**2 * x + mu_star**2
    atom = max(1 - 1 / psi1, 0.0)
    sigma2 = 0.25 + 1.0 - psi1 * float(np.sum(w * mu1**2 * x / lam))
    law = models.SpectralLaw.mixture(np.append(lam, mu_star**2), np.append(w, atom),
                                     np.append(psi1 * mu1**2 * x / lam**2, 0.0),
                                     noise=np.sqrt(sigma2))
    for psi2 in (0.4 * psi1, 2.0 * psi1):
        ref = float(asy.dense_risk_law(law, psi1 / psi2).risk)
        got = float(asy.rf_limit_dense_risk("relu", psi1, psi2, 0.5).risk)
        assert got == pytest.approx(ref, rel=1e-5)


# ------------------------------------------------------------------------- Mei-Montanari

@pytest.mark.parametrize("activation", ["relu", "tanh", "erf"])
def test_ridgeless_limit_equals_mei_montanari_closed_form(activation):
    _, mu1, mu_star = (float(v) for v in models.ge_coefficients(activation, 1.0))
    psi1 = np.array([0.3, 1.0, 1.5, 2.5, 4.0, 10.0])
    for psi2, noise, tn in ((2.0, 0.5, 1.0), (0.7, 0.2, 1.5)):
        got = asy.rf_limit_dense_risk(activation, psi1, psi2, noise, teacher_norm=tn).risk
        ref = [_mei_montanari_ridgeless(mu1, mu_star, a, psi2, noise, tn) for a in psi1]
        np.testing.assert_allclose(got, ref, rtol=1e-11)


# ------------------------------------------------------------------------- conditional theory

@pytest.mark.slow   # ~17 s for both activations; keeps the default suite well under 10 minutes
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_limit_agrees_with_conditional_theory_at_d400(activation):
    task = models.RFTask.draw(jax.random.key(0), d=D, pool=max(WIDTHS), n=N, noise=0.5,
                              activation=activation)
    ridges = np.array([0.0, 0.1])
    lim = asy.rf_limit_dense_risk(activation, np.array(WIDTHS)[:, None] / D, N / D, 0.5,
                                  ridges[None, :])
    cond = np.stack([_flat_teacher_risk(task.weights, p, ridges, activation=activation)
                     for p in WIDTHS])
    rel = lim.risk / cond - 1
    assert np.all(np.abs(rel) < 0.01), rel           # measured: below 0.0032


def test_limit_against_a_drawn_teacher_within_its_fluctuation():
    task = models.RFTask.draw(jax.random.key(0), d=D, pool=max(WIDTHS), n=N, noise=0.5)
    cond = asy.rf_dense_risk(task, p=np.array(WIDTHS))
    lim = asy.rf_limit_dense_risk("relu", np.array(WIDTHS) / D, N / D, 0.5)
    rel = lim.risk / cond.risk - 1
    assert np.all(np.abs(rel) < 0.08), rel           # measured: up to 0.038 (key 0)
    # kappa does not see the teacher: only W's spectrum, which concentrates like 1/d
    np.testing.assert_allclose(lim.kappa, cond.kappa, rtol=2e-3, atol=1e-12)


def test_uncentred_features_have_the_same_limit():
    task = models.RFTask.draw(jax.random.key(1), d=D, pool=1600, n=N, noise=0.5,
                              centred=False)
    for p in (400, 1600):
        cond = _flat_teacher_risk(task.weights, p, 0.0, activation="relu", centred=False)
        lim = asy.rf_limit_dense_risk("relu", p / D, N / D, 0.5, centred=False).risk
        assert abs(lim / cond - 1) < 0.01


# ------------------------------------------------------------------------- status, grid, input

def test_peak_is_diverged_and_ridge_makes_it_finite():
    c = asy.rf_limit_dense_risk("relu", [1.0, 2.0, 3.0], 2.0, 0.5, [[0.0], [1e-3]])
    assert c.risk.shape == (2, 3)
    assert np.isinf(c.risk[0, 1]) and c.status[0, 1] == Status.DIVERGED
    assert np.isinf(c.variance[0, 1]) and c.bias[0, 1] == 0.0
    assert np.all(np.isfinite(np.delete(c.risk.ravel(), 1)))
    assert np.all(np.delete(c.status.ravel(), 1) == Status.CONVERGED)
    # just off the peak: large but finite, on both sides
    near = asy.rf_limit_dense_risk("relu", [1.99, 2.01], 2.0, 0.5)
    assert np.all(np.isfinite(near.risk)) and np.all(near.risk > 10 * c.risk[0, 0])
    assert [r["status"] for r in c.rows()][:3] == ["converged", "diverged", "converged"]


def test_noiseless_far_overparameterised_limit_and_noise_axis():
    # psi1 -> inf: sigma_eff^2 -> sigma^2 (the features represent the teacher)
    c = asy.rf_limit_dense_risk("relu", 1e4, 2.0, [0.0, 0.5], 1e-2)
    assert c.sigma_eff2[1] == pytest.approx(0.25, abs=2e-4)
    assert np.all(np.diff(c.risk) > 0)
    # the label noise enters sigma_eff^2 additively
    assert c.sigma_eff2[1] - c.sigma_eff2[0] == pytest.approx(0.25, rel=1e-12)


def test_bad_inputs_are_rejected():
    with pytest.raises(models.InputError, match="psi1"):
        asy.rf_limit_dense_risk("relu", 0.0, 1.0, 0.5)
    with pytest.raises(models.InputError, match="ridge"):
        asy.rf_limit_dense_risk("relu", 1.0, 1.0, 0.5, -1.0)
    with pytest.raises(models.InputError, match="law"):
        asy.rf_limit_dense_risk("relu", 1.0, 2.0, 0.5, law="uniform")
    with pytest.raises(models.InputError, match="activation"):
        asy.rf_limit_dense_risk("softsign", 1.0, 2.0, 0.5)
    with pytest.raises(models.InputError, match="mu_star"):
        asy.rf_limit_dense_risk(lambda z: 2 * z, 1.0, 2.0, 0.5)


# ------------------------------------------------------------------------- figure

def test_figure_quick(tmp_path):
    from overparam_figures import rf_proportional_limit

    assert rf_proportional_limit.main(["--quick", "--outdir", str(tmp_path)]) == 0
    for name in ("rf_proportional_limit.png", "rf_proportional_limit.csv",
                 "rf_proportional_limit_line.csv", "rf_proportional_limit_rms.csv"):
        assert (tmp_path / name).is_file(), name
    # panel (c): the simulation averaged over (W, theta) draws, with both conditional theories
    import csv
    with open(tmp_path / "rf_proportional_limit_sim.csv", newline="") as fh:
        sim = list(csv.DictReader(fh))
    assert {int(r["d"]) for r in sim} == set(rf_proportional_limit.QUICK_SIM_DIMS)
    for r in sim:
        assert float(r["mc_stderr"]) > 0 and int(r["draws"]) == 2 and int(r["trials"]) == 8
        for col in ("mc_mean", "limit", "ge_conditional_mean", "exact_conditional_mean"):
            assert np.isfinite(float(r[col])), col


def test_weight_averaged_simulation_is_the_mean_of_per_draw_simulations():
    """``sims.rf_dense_risk_over_weights`` = the per-draw ``sims.rf_dense_risk`` runs (same
    keys), averaged; its standard error is the spread of the per-draw means."""
    import sims

    wkey, key = jax.random.key(3), jax.random.key(4)
    mc = sims.rf_dense_risk_over_weights(wkey, key, d=8, pool=24, n=12, noise=0.5, p=[6, 24],
                                         draws=3, trials=10)
    per = []
    for k in range(3):
        task = models.RFTask.draw(jax.random.fold_in(wkey, k), d=8, pool=24, n=12, noise=0.5)
        per.append(sims.rf_dense_risk(task, p=[6, 24], trials=10,
                                      key=jax.random.fold_in(key, k)).mean)
    per = np.array(per)
    np.testing.assert_allclose(mc.per_draw, per, rtol=1e-12)
    np.testing.assert_allclose(mc.mean, per.mean(0), rtol=1e-12)
    np.testing.assert_allclose(mc.stderr, per.std(0, ddof=1) / np.sqrt(3), rtol=1e-12)
    assert [r["weight_draws"] for r in mc.rows()] == [3, 3]
    with pytest.raises(models.InputError, match="interpolation peak"):
        sims.rf_dense_risk_over_weights(wkey, key, d=8, pool=24, n=12, noise=0.5, p=[12],
                                        draws=2, trials=2)
