"""Alpha-stable samplers against the characteristic function, Laplace transform and tail
constant (docs/heavy_tailed_sgd.md, "Samplers").  Tolerances: 5 Monte Carlo standard
errors computed from the exact variance of the statistic, plus the stated series remainder
for the tail test."""

from math import gamma, pi, sin

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models
from models import InputError, positive_stable, rotation_invariant_stable, symmetric_stable

N = 200_000


def _cf(t, a):
    return np.exp(-np.abs(t) ** a)


@pytest.mark.parametrize("alpha", [0.8, 1.0, 1.5, 1.75, 2.0])
def test_symmetric_stable_characteristic_function(alpha):
    x = np.asarray(symmetric_stable(jax.random.key(11), alpha, (N,)))
    for t in (0.3, 1.0, 2.0):
        phi, phi2 = _cf(t, alpha), _cf(2 * t, alpha)
        se_cos = np.sqrt(((1 + phi2) / 2 - phi**2) / N)   # Var cos(tX) = (1 + phi(2t))/2 - phi(t)^2
        se_sin = np.sqrt((1 - phi2) / 2 / N)               # Var sin(tX) = (1 - phi(2t))/2
        assert abs(np.mean(np.cos(t * x)) - phi) < 5 * se_cos
        assert abs(np.mean(np.sin(t * x))) < 5 * se_sin    # symmetry


@pytest.mark.parametrize("alpha", [1.2, 1.5])
def test_symmetric_stable_tail_constant(alpha):
    # P(|X| > x) = (2/pi) sum_k (-1)^(k+1) Gamma(alpha k)/k! sin(k pi alpha/2) x^(-alpha k)
    # (Feller II, XVII.6); two terms as the expectation, the third as the finite-x allowance.
    n, x0 = 2_000_000, 15.0
    x = np.asarray(symmetric_stable(jax.random.key(3), alpha, (n,)))
    term = lambda k: (2 / pi) * (-1) ** (k + 1) * gamma(alpha * k) / gamma(k + 1) \
        * sin(k * pi * alpha / 2) * x0 ** (-alpha * k)  # noqa: E731
    expected = term(1) + term(2)
    c_alpha = 2 * gamma(alpha) * sin(pi * alpha / 2) / pi
    assert term(1) == pytest.approx(c_alpha * x0**-alpha)
    p_hat = np.mean(np.abs(x) > x0)
    se = np.sqrt(expected * (1 - expected) / n)
    assert abs(p_hat - expected) < 5 * se + abs(term(3))


@pytest.mark.parametrize("alpha", [1.5, 2.0])
def test_rotation_invariant_characteristic_function(alpha):
    x = np.asarray(rotation_invariant_stable(jax.random.key(5), alpha, (N,), 3))
    assert x.shape == (N, 3)
    us = [np.array([0.5, 0, 0]), np.array([0, 0.3, 0.4]), np.array([0.6, -0.6, 0.3]),
          np.array([0.0, 0.0, 1.5])]
    for u in us:
        r = np.linalg.norm(u)
        phi, phi2 = _cf(r, alpha), _cf(2 * r, alpha)
        se = np.sqrt(((1 + phi2) / 2 - phi**2) / N)
        assert abs(np.mean(np.cos(x @ u)) - phi) < 5 * se


@pytest.mark.parametrize("b", [0.6, 0.875, 1.0])
def test_positive_stable_laplace_transform(b):
    a = np.asarray(positive_stable(jax.random.key(8), b, (N,)))
    assert np.all(a > 0)
    for lam in (0.5, 1.0, 3.0):
        l1, l2 = np.exp(-lam**b), np.exp(-(2 * lam) ** b)
        se = np.sqrt(max(l2 - l1**2, 0.0) / N)
        assert abs(np.mean(np.exp(-lam * a)) - l1) <= 5 * se + 1e-12


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_samplers_finite_at_edge_alphas(dtype):
    for a in (0.3, 1 - 1e-7, 1.0, 1 + 1e-7, 2 - 1e-7, 2.0):
        x = symmetric_stable(jax.random.key(1), a, (100_000,), dtype)
        v = rotation_invariant_stable(jax.random.key(2), a, (20_000,), 4, dtype)
        assert x.dtype == dtype and v.dtype == dtype
        assert bool(jnp.all(jnp.isfinite(x))) and bool(jnp.all(jnp.isfinite(v)))


def test_alpha_grid_vmaps_under_one_trace():
    traces = []

    @jax.jit
    def draw(alphas):
        traces.append(1)
        return jax.vmap(lambda a: symmetric_stable(jax.random.key(0), a, (1000,)))(alphas)

    x1 = draw(jnp.array([1.5, 1.75, 2.0]))
    x2 = draw(jnp.array([1.1, 1.2, 1.3]))
    assert len(traces) == 1 and x1.shape == x2.shape == (3, 1000)
    # the traced alpha gives the same samples as a concrete alpha with the same key
    np.testing.assert_allclose(np.asarray(x1[1]),
                               np.asarray(symmetric_stable(jax.random.key(0), 1.75, (1000,))),
                               rtol=1e-12)


@pytest.mark.parametrize("alpha", [0.0, -1.0, 2.5, float("nan")])
def test_bad_alpha(alpha):
    with pytest.raises(InputError, match="alpha"):
        symmetric_stable(jax.random.key(0), alpha, (3,))
    with pytest.raises(InputError, match="alpha"):
        rotation_invariant_stable(jax.random.key(0), alpha, (3,), 2)


def test_bad_dimension():
    with pytest.raises(InputError, match="d:"):
        models.rotation_invariant_stable(jax.random.key(0), 1.5, (3,), 0)
