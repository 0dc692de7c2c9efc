"""Pruning operators and estimators of ``models`` (the pieces the simulation is built from)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models


def test_magnitude_saliency_oracle_random():
    b = jnp.array([0.5, -2.0, 0.1, 1.0, -0.3])
    lam = jnp.array([1.0, 0.01, 4.0, 1.0, 9.0])
    pruned, mask = models.prune(b, 2, "magnitude")
    np.testing.assert_array_equal(mask, [False, True, False, True, False])
    np.testing.assert_array_equal(pruned, [0, -2.0, 0, 1.0, 0])
    _, mask = models.prune(b, 2, "saliency", eigenvalues=lam)          # lambda b^2: .25 .04 .04 1 .81
    np.testing.assert_array_equal(mask, [False, False, False, True, True])
    _, mask = models.prune(b, 2, "oracle", eigenvalues=lam, signal=jnp.array([0, 0, 1.0, 1.0, 0]))
    np.testing.assert_array_equal(mask, [False, False, True, True, False])
    # ties broken by pool order
    _, mask = models.prune(b, 2, "oracle", eigenvalues=jnp.ones(5), signal=jnp.ones(5))
    np.testing.assert_array_equal(mask, [True, True, False, False, False])
    # random supports are nested in s for one key, and have exactly s entries
    masks = [models.prune(b, s, "random", key=jax.random.key(3))[1] for s in range(1, 6)]
    assert [int(m.sum()) for m in masks] == [1, 2, 3, 4, 5]
    assert all(bool(jnp.all(masks[i] <= masks[i + 1])) for i in range(4))
    with pytest.raises(ValueError, match="rule"):
        models.pruning_score("largest", b)


def test_keep_count_is_traceable():
    f = jax.jit(lambda s: models.keep_top(jnp.arange(10.0), s, p=8).sum())
    assert [int(f(s)) for s in (1, 3, 8)] == [1, 3, 8]


def test_estimators_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 50))
    y = rng.standard_normal(30)
    b_over = models.ridge_dual(jnp.asarray(x), jnp.asarray(y), 50, 30, 0.0)
    np.testing.assert_allclose(b_over, np.linalg.pinv(x) @ y, rtol=1e-8, atol=1e-10)
    b_under = models.ridge_primal(jnp.asarray(x), jnp.asarray(y), 10, 30, 0.0, 29)
    np.testing.assert_allclose(b_under[:10], np.linalg.lstsq(x[:, :10], y, rcond=None)[0], rtol=1e-10)
    assert np.all(np.asarray(b_under[10:]) == 0)
    lam_r = 0.3
    ref = np.linalg.solve(x[:, :20].T @ x[:, :20] / 30 + lam_r * np.eye(20), x[:, :20].T @ y / 30)
    np.testing.assert_allclose(models.ridge_primal(jnp.asarray(x), jnp.asarray(y), 20, 30, lam_r, 29)[:20], ref, rtol=1e-10)
    np.testing.assert_allclose(models.ridge_dual(jnp.asarray(x), jnp.asarray(y), 20, 30, lam_r)[:20], ref, rtol=1e-8)
    idx = jnp.array([4, 7, 1, 0])
    th = models.ols_on_support(jnp.asarray(x), jnp.asarray(y), idx, jnp.array([1.0, 1, 1, 0]), 30)
    np.testing.assert_allclose(th[jnp.array([4, 7, 1])], np.linalg.lstsq(x[:, [4, 7, 1]], y, rcond=None)[0], rtol=1e-10)
    assert float(th[0]) == 0.0
