"""Pruning operators on a coefficient vector (pure, jit/vmap friendly).

Theory note ``linear.md`` section 1: keep ``s`` coordinates by

* ``magnitude`` (MP): the largest ``|b_i|``;
* ``saliency`` (HP, optimal brain damage): the largest ``lambda_i b_i^2``;
* ``oracle`` (OP): a data-independent support, by default the largest ``lambda_i beta_i^2``;
* ``random``: a uniformly random support (one uniform score per coordinate, so supports are
  nested in ``s``).

Ties are broken by pool order.  ``s`` may be traced (no recompilation across keep values).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

RULES = ("magnitude", "saliency", "oracle", "random")


def pruning_score(rule: str, b, *, eigenvalues=None, signal=None, key=None, support_mask=None):
    """The score whose ``s`` largest entries a rule keeps."""
    if rule == "magnitude":
        return jnp.abs(b)
    if rule == "saliency":
        return eigenvalues * b**2
    if rule == "oracle":
        return support_mask.astype(b.dtype) if support_mask is not None else eigenvalues * signal**2
    if rule == "random":
        return jax.random.uniform(key, b.shape, b.dtype)
    raise ValueError(f"rule: unknown rule {rule!r}; allowed: one of {', '.join(RULES)}")


def rank_desc(score):
    """``(order, rank)``: indices by decreasing score and each entry's rank (0 = largest);
    ties broken by index (stable)."""
    order = jnp.argsort(-score, stable=True)
    return order, jnp.empty_like(order).at[order].set(jnp.arange(score.shape[0]))


def keep_top(score, s, p=None):
    """Boolean mask of the ``s`` largest scores among the first ``p`` entries."""
    inside = jnp.ones(score.shape, bool) if p is None else jnp.arange(score.shape[0]) < p
    _, rank = rank_desc(jnp.where(inside, score, -jnp.inf))
    return (rank < s) & inside


def prune(b, s, rule: str, **score_kwargs):
    """``b`` with all but the ``s`` entries kept by ``rule`` set to zero; returns
    ``(pruned, mask)``.  Example: ``prune(b, 10, "saliency", eigenvalues=lam)``."""
    mask = keep_top(pruning_score(rule, b, **score_kwargs), s)
    return jnp.where(mask, b, 0.0), mask
