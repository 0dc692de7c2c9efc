"""Alpha-stable noise injection as an Optax gradient transformation.

Wan, Barsbey, Zaidi, Simsekli, "Implicit Compressibility of Overparametrized Neural Networks
Trained with Heavy-Tailed SGD", ICML 2024, arXiv:2306.08125, Algorithm 1;
``docs/heavy_tailed_sgd.md`` ("Algorithm").  After every SGD step of size ``eta``
the weights get

    theta <- theta - eta grad L(theta) + sigma eta^(1/alpha) N,

``N`` symmetric alpha-stable of unit scale (``E exp(i t X) = exp(-|t|^alpha)``; ``alpha = 2``
is ``N(0, 2)``), of one of three types (:data:`NOISE_TYPES`).  As a transformation it adds
``sigma eta^(1/alpha) N`` to whatever update it receives, so Algorithm 1 is

    optax.chain(optax.sgd(eta), stable_noise(key, eta=eta, alpha=alpha, sigma=sigma))

and "hidden layer only" is ``optax.masked(stable_noise(...), {"hidden": True, "output":
False})``.  The samplers are those of ``models._stable`` (Chambers-Mallows-Stuck; Kanter
for the rotation-invariant vectors).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from models._errors import check_choice, check_positive
from models._keys import check_key
from models._noisy_sgd import NOISE_TYPES
from models._stable import _check_alpha, rotation_invariant_stable, symmetric_stable


def stable_noise_sample(key: jax.Array, alpha, shape, noise_type: str = "iid",
                        dtype=jnp.float32) -> jax.Array:
    """Unit-scale alpha-stable noise ``N`` of ``shape``; the last axis holds one unit's weights.

    * ``"scalar"``: one alpha-stable scalar per unit (leading axes), broadcast over the last;
    * ``"iid"``: i.i.d. entries;
    * ``"rotation"``: a rotation-invariant vector along the last axis per unit.

    ``alpha`` may be traced (an ``alpha`` grid vmaps); a concrete one is validated.
    """
    check_choice("noise_type", noise_type, NOISE_TYPES)
    shape = tuple(int(s) for s in shape)
    if noise_type == "iid" or len(shape) == 0:
        return symmetric_stable(key, alpha, shape, dtype)
    if noise_type == "scalar":
        return jnp.broadcast_to(symmetric_stable(key, alpha, shape[:-1], dtype)[..., None], shape)
    return rotation_invariant_stable(key, alpha, shape[:-1], shape[-1], dtype)


class StableNoiseState(NamedTuple):
    """The noise transformation's own PRNG key (split once per update)."""

    key: jax.Array


def stable_noise(key: jax.Array, *, eta, alpha, sigma,
                 noise_type: str = "iid") -> optax.GradientTransformation:
    """Add ``sigma eta^(1/alpha) N`` to every update leaf (Algorithm 1 of Wan et al. 2024).

    Args:
      key: PRNG key of the noise, kept in the transformation state and split at every update
        (fresh noise per step; a different key per leaf).
      eta: the SGD step size entering ``eta^(1/alpha)`` (``> 0``).
      alpha: stability index, ``0 < alpha <= 2``.
      sigma: noise scale, ``>= 0``; ``sigma = 0`` adds exactly nothing, whatever ``alpha``.
      noise_type: ``"iid"``, ``"scalar"`` or ``"rotation"`` (see :func:`stable_noise_sample`).

    ``eta``, ``alpha`` and ``sigma`` may be traced scalars, so one compiled run serves an
    ``(alpha, sigma)`` grid under ``vmap``; concrete values are validated eagerly.

    Example (noise on the hidden layer only, plain SGD on both layers):
      >>> tx = optax.chain(optax.sgd(0.01), optax.masked(
      ...     stable_noise(jax.random.key(0), eta=0.01, alpha=1.75, sigma=0.03,
      ...                  noise_type="rotation"), {"hidden": True, "output": False}))

    Reference: Y. Wan, M. Barsbey, A. Zaidi, U. Simsekli, ICML 2024, arXiv:2306.08125.
    """
    check_key("key", key)
    check_choice("noise_type", noise_type, NOISE_TYPES)
    for name, v, strict in (("eta", eta, True), ("sigma", sigma, False)):
        if not isinstance(v, jax.core.Tracer):
            check_positive(name, v, strict=strict)
    _check_alpha("alpha", alpha)

    def init_fn(params):
        del params
        return StableNoiseState(key=key)

    def update_fn(updates, state, params=None):
        del params
        leaves, treedef = jax.tree.flatten(updates)
        if not leaves:
            return updates, state
        next_key, sub = jax.random.split(state.key)
        keys = jax.random.split(sub, len(leaves))
        out = []
        for k, u in zip(keys, leaves):
            dt = jnp.result_type(u)
            a, s = jnp.asarray(alpha, dt), jnp.asarray(sigma, dt)
            scale = s * jnp.asarray(eta, dt) ** (1 / a)
            noise = stable_noise_sample(k, a, u.shape, noise_type, dt)
            out.append(u + jnp.where(s != 0, scale * noise, jnp.zeros((), dt)))
        return treedef.unflatten(out), StableNoiseState(key=next_key)

    return optax.GradientTransformation(init_fn, update_fn)
