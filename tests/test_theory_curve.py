"""The curve solver of ``dense_risk`` (asymptotics/_curve.py: sorted grid, continuation, one
fused pass per point) against the per-point Newton solver, point by point."""

import jax
import jax.numpy as jnp
import numpy as np

import models
from asymptotics import _dense


def _per_point(task, p, n, ridge):
    f = jax.jit(jax.vmap(_dense.dense_risk_point, in_axes=(None, 0, 0, 0)))
    return f(task, jnp.asarray(p), jnp.asarray(n, jnp.float64), jnp.asarray(ridge, jnp.float64))


def test_curve_equals_per_point_solver_on_a_mixed_unsorted_grid():
    # power-law pool (not isotropic: the start bound is not exact), unsorted p with repeats,
    # two n and two ridges interleaved, the ridgeless threshold p = n and OLS points inside
    task = models.LinearTask.power_law(pool=400, n=100, noise=0.5, a=1.0, b=0.5)
    rng = np.random.default_rng(0)
    p = rng.integers(1, 401, size=61)
    p[:4] = [100, 100, 150, 400]
    n = np.where(np.arange(61) % 3 == 0, 150.0, 100.0)
    ridge = np.where(np.arange(61) % 4 == 0, 1e-2, 0.0)
    # and a dense run (n 100, ridgeless), shuffled: continuation along it
    dense = rng.permutation(np.arange(200, 264))
    p, n, ridge = (np.concatenate([p, dense]), np.concatenate([n, np.full(64, 100.0)]),
                   np.concatenate([ridge, np.zeros(64)]))
    curve = _dense._dense_curve_grid(task, jnp.asarray(p), jnp.asarray(n), jnp.asarray(ridge))
    got = dict(zip(_dense.DensePoint._fields, np.asarray(curve)))
    ref = _per_point(task, p, n, ridge)
    np.testing.assert_array_equal(got["status"], np.asarray(ref.status))
    for field in ("kappa", "risk", "bias", "variance", "df1", "df2"):
        a, b = got[field], np.asarray(getattr(ref, field))
        both = np.isfinite(b)
        np.testing.assert_array_equal(np.isfinite(a), both, err_msg=field)
        np.testing.assert_allclose(a[both], b[both], rtol=1e-10, atol=1e-300, err_msg=field)
    # along the dense run a point continues from its neighbour: one pass (the first of the
    # run and the next one or two need more)
    assert np.sum(got["steps"][61:] == 1) >= 60
    # one compilation serves other values of the same shapes
    before = _dense._dense_curve_grid._cache_size()
    _dense._dense_curve_grid(task, jnp.asarray(p[::-1]), jnp.asarray(n), jnp.asarray(ridge))
    assert _dense._dense_curve_grid._cache_size() == before

