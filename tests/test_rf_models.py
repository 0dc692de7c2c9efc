"""Random-features problem description: activations, Hermite and Gaussian-equivalence
coefficients against closed forms, the task's validation and its random draws."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import models

# Closed forms for G ~ N(0, 1) (docs/random_features.md, "Gaussian equivalence"):
#   relu : mu0 = 1/sqrt(2 pi), mu1 = 1/2, E act^2 = 1/2
#   relu2: mu0 = 1/2, mu1 = E[G^3 1{G>0}] = sqrt(2/pi), E act^2 = E[G^4 1{G>0}] = 3/2
#   erf  : mu0 = 0, mu1 = 2/sqrt(3 pi), E act^2 = (2/pi) arcsin(2/3)
CLOSED = {
    "relu": (1 / math.sqrt(2 * math.pi), 0.5, 0.5),
    "relu2": (0.5, math.sqrt(2 / math.pi), 1.5),
    "erf": (0.0, 2 / math.sqrt(3 * math.pi), 2 / math.pi * math.asin(2 / 3)),
}


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_ge_coefficients_match_closed_forms(name):
    mu0, mu1, second = CLOSED[name]
    m0, m1, ms = (float(v) for v in models.ge_coefficients(name))
    # the split quadrature is exact to rounding for these (kink at 0 on a node boundary)
    assert abs(m0 - mu0) < 1e-13 and abs(m1 - mu1) < 1e-13
    assert abs(ms**2 - (second - mu0**2 - mu1**2)) < 1e-13


def test_scaled_rows_follow_homogeneity():
    # relu is 1-homogeneous and relu2 2-homogeneous: a_k(r) = r a_k(1) and r^2 a_k(1)
    r = jnp.array([0.5, 2.0, 3.0])
    for name, deg in (("relu", 1), ("relu2", 2)):
        a1 = models.hermite_coefficients(name, 6)
        ar = models.hermite_coefficients(name, 6, r)
        np.testing.assert_allclose(ar, (r[:, None] ** deg) * a1[None, :], rtol=1e-12, atol=1e-13)


def test_hermite_series_sums_to_the_second_moment():
    # Parseval for the normalised Hermite basis: sum_k a_k^2 = E act(G)^2
    a = models.hermite_coefficients("erf", 60)
    _, mu1, ms = models.ge_coefficients("erf")
    assert abs(float(jnp.sum(a**2)) - float(mu1**2 + ms**2)) < 1e-12
    # ReLU: a_2 = 1/(2 sqrt(pi)), odd coefficients beyond 1 vanish
    r = models.hermite_coefficients("relu", 5)
    assert abs(float(r[2]) - 1 / (2 * math.sqrt(math.pi))) < 1e-13
    assert abs(float(r[3])) < 1e-13 and abs(float(r[5])) < 1e-13


def test_coefficients_are_jit_vmap_and_grad_friendly():
    f = jax.jit(lambda r: models.ge_coefficients("tanh", r)[1])
    g = jax.grad(lambda r: models.ge_coefficients("tanh", r)[1])(1.3)
    h = 1e-6
    fd = (f(1.3 + h) - f(1.3 - h)) / (2 * h)
    assert abs(float(g) - float(fd)) < 1e-8
    v = jax.vmap(lambda r: models.ge_coefficients("erf", r)[1])(jnp.array([0.5, 1.0]))
    # erf(r G): mu1 = E[G erf(rG)] = 2 r / sqrt(pi (1 + 2 r^2))
    np.testing.assert_allclose(v, [2 * r / math.sqrt(math.pi * (1 + 2 * r * r)) for r in (0.5, 1.0)],
                               rtol=1e-12)


def test_user_activation_callable():
    a = models.ge_coefficients(lambda z: z**3)
    # z^3 = He_3 + 3 He_1: mu0 = 0, mu1 = 3, E z^6 = 15 -> mu_star^2 = 6
    assert abs(float(a[0])) < 1e-12 and abs(float(a[1]) - 3) < 1e-10
    assert abs(float(a[2]) ** 2 - 6) < 1e-9


def test_draws_laws_and_teacher():
    t = models.RFTask.draw(jax.random.key(0), d=50, pool=4000, n=100, noise=0.5)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(t.weights), axis=1), 1.0, rtol=1e-12)
    assert abs(float(jnp.linalg.norm(t.teacher)) - 1) < 1e-12
    assert abs(t.label_second_moment - 1.25) < 1e-12
    g = models.RFTask.draw(jax.random.key(1), d=50, pool=4000, n=100, noise=0.5, law="gaussian")
    w = np.asarray(g.weights)
    # entries N(0, 1/d): the sample variance of 2e5 entries is 1/d within a few standard errors
    se = (1 / 50) * math.sqrt(2 / w.size)
    assert abs(w.var() - 1 / 50) < 5 * se
    again = models.RFTask.draw(jax.random.key(0), d=50, pool=4000, n=100, noise=0.5)
    np.testing.assert_array_equal(again.weights, t.weights)


W = np.eye(3)[:2]
THETA = np.ones(3)


@pytest.mark.parametrize("kwargs,match", [
    (dict(weights=np.array([[1.0, np.nan, 0.0]]), teacher=THETA), r"^weights: 1 non-finite"),
    (dict(weights=np.zeros((2, 3)), teacher=THETA), r"^weights: row 0 is zero"),
    (dict(weights=W, teacher=np.ones(4)), r"^teacher: has 4 entries but the weights have d = 3"),
    (dict(weights=np.ones(3), teacher=THETA), r"^weights: has 1 dimensions"),
    (dict(weights=np.ones((2, 0)), teacher=np.ones(0)), r"^weights: has shape \(2, 0\)"),
    (dict(weights=W, teacher=THETA, activation="gelu"), r"^activation: unknown name 'gelu'"),
    (dict(weights=W, teacher=THETA, noise=-1.0), r"^noise: got -1.0"),
    (dict(weights=W, teacher=THETA, n=0), r"^n: got 0"),
])
def test_bad_input(kwargs, match):
    kw = dict(noise=0.5, n=10) | kwargs
    with pytest.raises(models.InputError, match=match):
        models.RFTask.create(kw.pop("weights"), kw.pop("teacher"), **kw)


def test_bad_draws():
    with pytest.raises(models.InputError, match=r"^d: got 0; allowed"):
        models.RFTask.draw(jax.random.key(0), d=0, pool=5, n=10, noise=0.1)
    with pytest.raises(models.InputError, match=r"^law: unknown value 'uniform'"):
        models.RFTask.draw(jax.random.key(0), d=3, pool=5, n=10, noise=0.1, law="uniform")
    with pytest.raises(models.InputError, match=r"^key: "):
        models.RFTask.draw(0, d=3, pool=5, n=10, noise=0.1)


def test_high_orders_stay_finite():
    # the normalised recurrence has no factorial: order 200 is finite and still sums to E act^2
    a = models.hermite_coefficients("erf", 200)
    assert bool(jnp.all(jnp.isfinite(a)))
    assert abs(float(jnp.sum(a**2)) - 2 / math.pi * math.asin(2 / 3)) < 1e-12
