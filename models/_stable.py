"""Symmetric alpha-stable random variables and rotation-invariant alpha-stable vectors.

Unit scale throughout: a symmetric alpha-stable scalar ``X`` has characteristic function
``E exp(i t X) = exp(-|t|^alpha)`` (``alpha = 2`` is ``N(0, 2)``, ``alpha = 1`` Cauchy), and a
rotation-invariant vector ``X`` in ``R^d`` has ``E exp(i <u, X>) = exp(-||u||^alpha)``.
Tails: ``P(|X| > x) ~ c_alpha x^-alpha`` with ``c_alpha = 2 Gamma(alpha) sin(pi alpha / 2) / pi``.

Samplers (``docs/heavy_tailed_sgd.md``, section "Samplers"):

* Chambers, Mallows, Stuck (1976), symmetric case: ``V ~ U(-pi/2, pi/2)``, ``W ~ Exp(1)``,
  ``X = sin(alpha V) / cos(V)^(1/alpha) * (cos((1 - alpha) V) / W)^((1 - alpha) / alpha)``.
* Kanter (1975), positive ``b``-stable with ``E exp(-l A) = exp(-l^b)``, ``0 < b <= 1``:
  ``U ~ U(0, pi)``, ``E ~ Exp(1)``,
  ``A = sin(b U) / sin(U)^(1/b) * (sin((1 - b) U) / E)^((1 - b) / b)``.
* Sub-Gaussian construction (Samorodnitsky and Taqqu 1994, section 2.5):
  ``X = sqrt(2 A) g`` with ``g ~ N(0, I_d)`` and ``A`` positive ``alpha/2``-stable.

The powers are evaluated in log space so that angles near the ends of their interval give
no ``0 * inf``; ``alpha`` (and ``b``) may be traced, so a grid of ``alpha`` vmaps under one
``jit``.  ``alpha = 2`` and ``alpha`` near 1 are handled without NaN.

Example:
  >>> import jax
  >>> x = symmetric_stable(jax.random.key(0), 1.5, (1000,))
  >>> v = rotation_invariant_stable(jax.random.key(1), 1.75, (500,), 10)   # (500, 10)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import InputError, as_finite_array, check_int_range


def _check_alpha(name: str, alpha, lo_open: float = 0.0, hi: float = 2.0) -> None:
    """Eager host-side check of a concrete ``alpha``; traced values pass (checked by callers)."""
    if isinstance(alpha, jax.core.Tracer):
        return
    arr = as_finite_array(name, alpha)
    if np.any(arr <= lo_open) or np.any(arr > hi):
        bad = arr.ravel()[np.flatnonzero(((arr <= lo_open) | (arr > hi)).ravel())[0]]
        raise InputError(f"{name}: got {float(bad)!r}; allowed: {lo_open:g} < {name} <= {hi:g}")


def _open_uniform(key, shape, dtype, lo, hi):
    """Uniform on the open interval ``(lo, hi)`` (the endpoints have probability zero)."""
    tiny = jnp.finfo(dtype).eps
    u = jax.random.uniform(key, shape, dtype, minval=tiny, maxval=1.0 - tiny)
    return lo + (hi - lo) * u


def _positive_exponential(key, shape, dtype):
    return jnp.maximum(jax.random.exponential(key, shape, dtype), jnp.finfo(dtype).tiny)


def symmetric_stable(key: jax.Array, alpha, shape=(), dtype=jnp.float64) -> jax.Array:
    """Symmetric alpha-stable samples of unit scale, ``E exp(itX) = exp(-|t|^alpha)``.

    Chambers-Mallows-Stuck (J. Amer. Statist. Assoc. 71, 1976), symmetric case:
    ``X = sin(alpha V) cos(V)^(-1/alpha) (cos((1-alpha)V) / W)^((1-alpha)/alpha)``.

    Args:
      key: PRNG key.
      alpha: stability index, ``0 < alpha <= 2``; a Python/NumPy number (validated) or a
        traced scalar (so an ``alpha`` grid vmaps).
      shape: output shape.
      dtype: floating dtype of the samples (float64 by default; simulations use float32).
    """
    _check_alpha("alpha", alpha)
    kv, kw = jax.random.split(key)
    a = jnp.asarray(alpha, dtype)
    v = _open_uniform(kv, shape, dtype, -jnp.pi / 2, jnp.pi / 2)
    w = _positive_exponential(kw, shape, dtype)
    log_mag = (-jnp.log(jnp.cos(v)) / a
               + (1.0 - a) / a * (jnp.log(jnp.cos((1.0 - a) * v)) - jnp.log(w)))
    return jnp.sin(a * v) * jnp.exp(log_mag)


def positive_stable(key: jax.Array, b, shape=(), dtype=jnp.float64) -> jax.Array:
    """Positive ``b``-stable samples, ``E exp(-l A) = exp(-l^b)`` for ``l >= 0``, ``0 < b <= 1``.

    Kanter (Ann. Probab. 3, 1975): ``A = sin(bU) sin(U)^(-1/b) (sin((1-b)U)/E)^((1-b)/b)``,
    ``U ~ U(0, pi)``, ``E ~ Exp(1)``; ``b = 1`` gives ``A = 1``.
    """
    _check_alpha("b", b, 0.0, 1.0)
    ku, ke = jax.random.split(key)
    bb = jnp.asarray(b, dtype)
    u = _open_uniform(ku, shape, dtype, 0.0, jnp.pi)
    e = _positive_exponential(ke, shape, dtype)
    one = bb >= 1.0
    b_safe = jnp.where(one, 0.5, bb)  # any value in (0, 1): the b = 1 branch is replaced below
    log_a = (jnp.log(jnp.sin(b_safe * u)) - jnp.log(jnp.sin(u)) / b_safe
             + (1.0 - b_safe) / b_safe * (jnp.log(jnp.sin((1.0 - b_safe) * u)) - jnp.log(e)))
    return jnp.where(one, jnp.ones_like(u), jnp.exp(log_a))


def rotation_invariant_stable(key: jax.Array, alpha, shape_batch=(), d: int = 1,
                              dtype=jnp.float64) -> jax.Array:
    """Rotation-invariant alpha-stable vectors in ``R^d``, ``E exp(i<u,X>) = exp(-||u||^alpha)``.

    Sub-Gaussian construction ``X = sqrt(2 A) g``, ``g ~ N(0, I_d)``, ``A`` positive
    ``alpha/2``-stable (Kanter): conditionally on ``A``, ``<u, X> ~ N(0, 2 A ||u||^2)``, so
    ``E exp(i<u,X>) = E exp(-A ||u||^2) = exp(-||u||^alpha)``.  Each coordinate is a unit-scale
    symmetric alpha-stable scalar; the coordinates are dependent unless ``alpha = 2``.

    Returns an array of shape ``(*shape_batch, d)``.
    """
    _check_alpha("alpha", alpha)
    d = int(check_int_range("d", d, 1))
    shape_batch = tuple(int(s) for s in np.atleast_1d(shape_batch)) if shape_batch != () else ()
    ka, kg = jax.random.split(key)
    a = positive_stable(ka, jnp.asarray(alpha, dtype) / 2, shape_batch, dtype)
    g = jax.random.normal(kg, (*shape_batch, d), dtype)
    return jnp.sqrt(2.0 * a)[..., None] * g

