"""Random pruning at initialization: data, masks, network, theory formulas, bad inputs.

The simulation claims of the small configuration are in ``test_pruning_at_init_sim.py``.
Tolerances: Monte Carlo checks use 4 standard errors of the quantity checked (two-sided
false-alarm probability ~6e-5 per check); float64 identities use 1e-12 relative.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import asymptotics as asy
from models import InputError, PatchNet, PatchTask, nested_masks, patch_net_apply, sample_patch_data
from models._patch_net import init_patch_params, patch_net, signal_connected
from sims.pruning_at_init import _simulate, train_pruned

SMALL = dict(n=20, d=1000, m=10, mu_norm=12.0)


# ----------------------------------------------------------------------------- models
def test_masks_nested_and_keep_rate():
    p = np.array([0.0, 0.3, 0.7, 0.85, 0.97])
    masks = np.asarray(nested_masks(jax.random.key(1), (2, 10, 1000), p))
    assert masks.shape == (5, 2, 10, 1000)
    assert np.all(masks[0] == 1)                          # p = 0 keeps everything
    assert np.all(masks[1:] <= masks[:-1])                # nested: kept at p' => kept at p < p'
    N = masks[0].size
    keep = masks.reshape(5, -1).mean(axis=1)
    se = np.sqrt(p * (1 - p) / N)                         # Binomial(N, 1-p) / N
    assert np.all(np.abs(keep - (1 - p)) <= 4 * se + 1e-15)


def test_patch_data_law():
    for signal in ("sparse", "dense"):
        task = PatchTask.create(**SMALL, sigma_p=1.5, signal=signal)
        x, y = sample_patch_data(task, jax.random.key(2), 4000)
        x, y = np.asarray(x), np.asarray(y)
        u = np.asarray(task.direction)
        np.testing.assert_allclose(x[:, 0], y[:, None] * 12.0 * u[None], rtol=0, atol=1e-12)
        assert np.max(np.abs(x[:, 1] @ u)) < 1e-10         # noise orthogonal to mu
        # E||xi||^2 = sigma_p^2 (d - 1); per sample Var = 2 sigma_p^4 (d - 1)
        sq = (x[:, 1] ** 2).sum(1)
        se = np.sqrt(2 * 1.5**4 * 999 / 4000)
        assert abs(sq.mean() - 1.5**2 * 999) <= 4 * se
        assert set(np.unique(y)) == {-1.0, 1.0}
        assert abs(y.mean()) <= 4 / np.sqrt(4000)           # balanced labels


def test_flax_module_agrees_with_functional():
    task = PatchTask.create(**SMALL)
    x, _ = sample_patch_data(task, jax.random.key(3), 16)
    mask = nested_masks(jax.random.key(4), (2, 10, 1000), 0.6)
    net = PatchNet(m=10, q=3.0, sigma_0=0.01, param_dtype=jnp.float64)
    params = net.init(jax.random.key(5), x, mask)
    W = params["params"]["W"]
    assert W.shape == (2, 10, 1000) and W.dtype == jnp.float64
    assert PatchNet(m=10).init(jax.random.key(5), x)["params"]["W"].dtype == jnp.float32
    # scale the tiny initialization so that the activations are O(1) and the check is sharp
    params = {"params": {"W": 30 * W}}
    out_flax = net.apply(params, x, mask)
    out_fun = patch_net_apply(30 * W, mask, x, 3.0)
    np.testing.assert_allclose(out_flax, out_fun, rtol=1e-12, atol=1e-14)
    assert float(jnp.std(out_fun)) > 1e-3                  # not trivially zero
    g_flax = jax.grad(lambda p: net.apply(p, x, mask).sum())(params)["params"]["W"]
    g_fun = jax.grad(lambda w: patch_net_apply(w, mask, x, 3.0).sum())(30 * W)
    np.testing.assert_allclose(g_flax, g_fun, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(np.asarray(g_fun)[np.asarray(mask) == 0], 0.0)  # pruned stay put


def test_signal_connected_counts():
    task = PatchTask.create(**SMALL)
    mask = nested_masks(jax.random.key(6), (2, 10, 1000), [0.0, 0.5])
    c = np.asarray(signal_connected(mask, task.direction))
    np.testing.assert_array_equal(c[0], [10, 10])
    np.testing.assert_array_equal(c[1], np.asarray(mask)[1, :, :, 0].sum(-1))


def test_init_scale():
    """``init_patch_params`` and ``PatchNet.init`` draw W ~ N(0, sigma_0^2) (4 s.e. of the
    sample variance); float32 and float64 share the draws (made in float64, then cast)."""
    task = PatchTask.create(**SMALL, sigma_0=0.02)
    x = jnp.zeros((2, task.d))
    for w in (init_patch_params(task, jax.random.key(7)),
              patch_net(task, jnp.float64).init(jax.random.key(8), x)["params"]["W"]):
        w = np.asarray(w)
        assert w.shape == (2, 10, 1000)
        se = 0.02**2 * np.sqrt(2 / w.size)                    # s.e. of the sample variance
        assert abs(w.var() - 0.02**2) <= 4 * se
    np.testing.assert_array_equal(init_patch_params(task, jax.random.key(7), jnp.float32),
                                  init_patch_params(task, jax.random.key(7)).astype(jnp.float32))


# ----------------------------------------------------------------------------- theory
def test_p_min_is_benign_boundary():
    n, d, q, mu = 20, 1000, 3.0, np.array([4.0, 6.0, 8.0, 10.0])
    pm = asy.p_min(n, d, mu, 1.0, q, C_q=2.0).value
    # closed form: n SNR_p^q = C_q exactly at p = p_min
    margin = np.array([asy.benign_margin(n, d, m_, p_, 1.0, q, C_q=2.0).value for m_, p_ in zip(mu, pm)])
    np.testing.assert_allclose(margin, 1.0, rtol=1e-12)
    assert np.all(np.diff(pm) < 0)                         # stronger signal, smaller p_min
    np.testing.assert_allclose(asy.p_min(20, 1000, 12.0, 1.0, 3.0),
                               1 - (20 * 12.0**3) ** (2 / 3) / 1000, rtol=1e-14)


def test_effective_snr_and_bound():
    p = np.array([0.0, 0.5, 0.75, 0.96])
    snr = asy.effective_snr(12.0, 1.0, 1000, p).value
    np.testing.assert_allclose(snr, 12.0 / np.sqrt((1 - p) * 1000), rtol=1e-14)
    np.testing.assert_allclose(snr[2] / snr[0], 2.0, rtol=1e-14)  # d_eff / 4 doubles the SNR
    b = asy.theorem_a_bound(20, 4000, 3.0, p, C=0.5).value
    np.testing.assert_allclose(b, np.exp(-0.5 * 20 * 81 / ((1 - p) * 4000)), rtol=1e-14)
    assert np.all(np.diff(b) < 0)                          # improves as p grows


def test_binomial_law_and_floor():
    m, p = 10, np.array([0.0, 0.5, 0.85, 0.97])
    k = np.arange(m + 1)[:, None]
    pmf = asy.signal_connected_pmf(k, m, p).value
    np.testing.assert_allclose(pmf.sum(0), 1.0, rtol=1e-12)
    np.testing.assert_allclose((k * pmf).sum(0), m * (1 - p), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(pmf[0], p**m, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(asy.prob_no_signal_neuron(m, p), p**m, rtol=1e-14)
    np.testing.assert_allclose(asy.error_floor(m, p), 0.5 * p**m, rtol=1e-14)
    np.testing.assert_allclose(asy.over_pruning_onset(20, c=2.0), 0.9, rtol=1e-14)


def test_validity_flags_small_configuration():
    f = asy.validity_flags(20, 1000, [0.0, 0.97, 0.99])
    assert f["high_dimensional"].tolist() == [True] * 3    # d = 1000 >= n^2 = 400
    assert f["can_memorize"].tolist() == [True, True, False]  # (1-p) d = 30, 30, 10 vs n = 20
    th = asy.pruning_theory(PatchTask.create(**SMALL), [0.0, 0.9])
    assert set(th) >= {"effective_snr", "p_min", "p_max", "error_floor", "theorem_a_bound"}


# ----------------------------------------------------------------------------- bad inputs
def _one_line(err):
    msg = str(err.value)
    assert "\n" not in msg and "; allowed: " in msg
    return msg


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, float("nan")])
def test_bad_pruning_fraction(p):
    task = PatchTask.create(**SMALL)
    before = _simulate._cache_size()
    with pytest.raises(InputError, match=r"^p: ") as err:
        train_pruned(task, [0.0, p], jax.random.key(0), seeds=1, steps=2)
    assert _one_line(err).startswith("p:")
    assert _simulate._cache_size() == before               # raised before compiling
    for call in (lambda: nested_masks(jax.random.key(0), (2, 3), p),
                 lambda: asy.effective_snr(1.0, 1.0, 100, p),
                 lambda: asy.error_floor(10, p)):
        with pytest.raises(InputError, match=r"^p: ") as err:
            call()
        assert _one_line(err).startswith("p:")


@pytest.mark.parametrize("q", [0.5, 0.0, -1.0])
def test_bad_power(q):
    with pytest.raises(InputError, match=r"^q: ") as err:
        PatchTask.create(**SMALL, q=q)
    assert _one_line(err).startswith("q:")
    with pytest.raises(InputError, match=r"^q: "):
        asy.p_min(20, 1000, 12.0, 1.0, q)


@pytest.mark.parametrize("kw", [dict(n=0), dict(d=1), dict(m=0), dict(mu_norm=0.0),
                                dict(sigma_p=-1.0), dict(sigma_0=0.0), dict(signal="diag")])
def test_bad_task(kw):
    args = {**SMALL, **kw}
    with pytest.raises(InputError, match="^" + next(iter(kw)) + ": ") as err:
        PatchTask.create(**args)
    assert _one_line(err).startswith(next(iter(kw)) + ":")


def test_bad_simulation_settings():
    task = PatchTask.create(**SMALL)
    for kw, name in ((dict(eta=0.0), "eta"), (dict(steps=0), "steps"), (dict(seeds=0), "seeds"),
                     (dict(steps=10, record_steps=[5, 3]), "record_steps"),
                     (dict(steps=10, record_steps=[11]), "record_steps"),
                     (dict(dtype=jnp.float16), "dtype"), (dict(dtype="float32"), "dtype"),
                     (dict(n_test=0), "n_test")):
        with pytest.raises(InputError, match=f"^{name}: ") as err:
            train_pruned(task, [0.0], jax.random.key(0), **kw)
        assert _one_line(err).startswith(name + ":")
    with pytest.raises(InputError, match=r"^key: got int 0; allowed: a PRNG key"):
        train_pruned(task, [0.0], 0)
