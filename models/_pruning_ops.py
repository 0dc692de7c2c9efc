"""Pruning operators on a coefficient vector (pure, jit/vmap friendly).

Mathematics: ``docs/linear.md`` section 1: keep ``s`` coordinates by

* ``magnitude`` (MP): the largest ``|b_i|``;
* ``saliency`` (HP, optimal brain damage): the largest ``lambda_i b_i^2``;
* ``oracle`` (OP): a data-independent support, by default the largest ``lambda_i beta_i^2``;
* ``random``: a uniformly random support (one uniform score per coordinate, so supports are
  nested in ``s``).

Ties are broken by pool order.  ``s`` may be traced (no recompilation across keep values).

This module is the one definition of the pruning concepts shared by the theory and the
simulation: the rule list :data:`RULES`, the retraining list :data:`RETRAIN`, their
validation, the oracle support of a model of size ``p`` (:func:`oracle_mask`) and the support
of the train-small baseline (:func:`train_small_support`).

Two supports, two meanings:

* the **oracle rule** prunes a fitted model of size ``p``, so it can only keep features of
  that model: the ``s`` largest ``lambda_i beta_i^2`` among the first ``p``;
* the **train-small baseline** trains a model of size ``s`` directly on the known informative
  features: the ``s`` largest ``lambda_i beta_i^2`` of the whole pool, wherever they sit
  (``docs/linear.md`` section 4: ``sigma_S^2`` is taken over the whole pool).  It does
  not depend on ``p``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._errors import InputError, check_choice

#: pruning rules, in the order tables and figures list them
RULES = ("magnitude", "saliency", "oracle", "random")
#: retraining after pruning: none, on the data that chose the support, on fresh data
RETRAIN = ("none", "same", "fresh")


def _check_names(value, allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    """A name or a sequence of names -> a non-empty tuple of distinct names from ``allowed``."""
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names:
        raise InputError(f"{name}: empty; allowed: one or more of " + ", ".join(allowed))
    for v in names:
        check_choice(name, v, allowed)
    return tuple(dict.fromkeys(names))


def check_rules(rule, name: str = "rule") -> tuple[str, ...]:
    """A rule name or a sequence of them -> a non-empty tuple of distinct known rules."""
    return _check_names(rule, RULES, name)


def check_retrain(retrain, name: str = "retrain") -> tuple[str, ...]:
    """A retraining mode or a sequence of them -> a non-empty tuple of distinct known modes."""
    return _check_names(retrain, RETRAIN, name)


def oracle_score(eigenvalues, signal):
    """The oracle's score ``lambda_i beta_i^2`` (the signal power of feature ``i``)."""
    return eigenvalues * signal**2


def oracle_mask(eigenvalues, signal, p, s):
    """0/1 mask (dtype of ``eigenvalues``) of the oracle rule's support for a model of size
    ``p``: the ``s`` largest ``lambda_i beta_i^2`` among the first ``p`` features, ties broken
    by pool order.  ``p`` and ``s`` may be traced."""
    return keep_top(oracle_score(eigenvalues, signal), s, p).astype(eigenvalues.dtype)


def train_small_support(eigenvalues, signal, s: int) -> np.ndarray:
    """Indices (NumPy, increasing) of the train-small baseline's support: the ``s`` largest
    ``lambda_i beta_i^2`` of the whole pool, ties broken by pool order (host side)."""
    score = np.asarray(eigenvalues, np.float64) * np.asarray(signal, np.float64) ** 2
    order = np.argsort(-score, kind="stable")
    return np.sort(order[: int(s)])


def pruning_score(rule: str, b, *, eigenvalues=None, signal=None, key=None, support_mask=None):
    """The score whose ``s`` largest entries a rule keeps."""
    if rule == "magnitude":
        return jnp.abs(b)
    if rule == "saliency":
        return eigenvalues * b**2
    if rule == "oracle":
        return support_mask.astype(b.dtype) if support_mask is not None else oracle_score(eigenvalues, signal)
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


def prune_and_refit(b, scores, inside, s, *, rules, retrain, same, fresh, n, s_max: int,
                    risk_of):
    """Risks ``(R, M)`` of the fit ``b`` pruned to its ``s`` best scores among the coordinates
    ``inside`` the model, for each rule (``scores[rule]``), after each retraining mode:
    ``none`` (the kept coefficients), ``same`` / ``fresh`` (OLS on the kept support with the
    data ``same = (x, y)`` that chose it, or ``fresh = (x2, y2)``; the first ``n`` rows, at most
    ``s_max`` columns).  Pure; ``s`` may be traced (vmap over keep values)."""
    from ._estimators import ols_on_support

    out = []
    for rule in rules:
        order, rank = rank_desc(jnp.where(inside, scores[rule], -jnp.inf))
        kept = (rank < s) & inside
        modes = []
        for mode in retrain:
            if mode == "none":
                a = jnp.where(kept, b, 0.0)
            else:
                valid = (jnp.arange(s_max) < s).astype(b.dtype)
                xx, yy = same if mode == "same" else fresh
                a = ols_on_support(xx, yy, order[:s_max], valid, n)
            modes.append(risk_of(a))
        out.append(jnp.stack(modes))
    return jnp.stack(out)
