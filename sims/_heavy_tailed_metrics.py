"""Empirical compressibility metrics (simulation side; independent of ``asymptotics``).

All functions are pure JAX on one example (vmap where called) and work on the last axis.

* ``leftover_fraction(x, kappa)``: ``sigma_k(x)_2^2 / ||x||_2^2`` with ``k = round(kappa n)``
  largest-magnitude entries kept (Gribonval, Cevher, Davies 2012).
* ``topk_relative_error(norms, kappa)``: ``||Theta - Theta_k||_F / ||Theta||_F`` keeping the
  ``k`` columns of largest norm, from the column norms.
* ``mce_pruned_count(norms, eps2)``: number of smallest-norm columns whose share of the squared
  Frobenius norm stays ``<= eps^2`` (Wan et al., arXiv:2306.08125, section 4).
* ``hill_tail_index(x, k)``: Hill (Ann. Statist. 3, 1975) estimate of the tail index ``alpha``
  of ``P(X > x) ~ C x^-alpha`` from the ``k`` largest values,
  ``alpha_hat = 1 / ((1/k) sum_{i<=k} log(X_(i) / X_(k+1)))``.  For alpha-stable data its bias
  grows as ``alpha -> 2`` (the tail is reached late); read it as a diagnostic, not a test.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _sorted_sq_share(norms: jax.Array) -> jax.Array:
    """Cumulative share of ``sum norms^2`` from the smallest norm up, ascending order."""
    sq = jnp.sort(norms.astype(jnp.promote_types(norms.dtype, jnp.float32)) ** 2, axis=-1)
    return jnp.cumsum(sq, axis=-1) / jnp.sum(sq, axis=-1, keepdims=True)


def leftover_fraction(x: jax.Array, kappa: float) -> jax.Array:
    n = x.shape[-1]
    k = int(round(kappa * n))
    share = _sorted_sq_share(jnp.abs(x))
    return share[..., n - k - 1] if k < n else jnp.zeros(x.shape[:-1], share.dtype)


def topk_relative_error(norms: jax.Array, kappa: float) -> jax.Array:
    return jnp.sqrt(leftover_fraction(norms, kappa))


def mce_pruned_count(norms: jax.Array, eps2: float) -> jax.Array:
    return jnp.sum(_sorted_sq_share(norms) <= eps2, axis=-1)


def smallest_mask(norms: jax.Array, count) -> jax.Array:
    """0/1 mask of shape ``norms.shape`` removing the ``count`` smallest-norm units."""
    rank = jnp.argsort(jnp.argsort(norms))
    return (rank >= count).astype(norms.dtype)


def hill_tail_index(x: jax.Array, k: int) -> jax.Array:
    top = -jnp.sort(-x, axis=-1)[..., : k + 1]
    logs = jnp.log(top[..., :k]) - jnp.log(top[..., k:k + 1])
    return 1.0 / jnp.mean(logs, axis=-1)
