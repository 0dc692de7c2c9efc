"""PRNG keys in public APIs: every random draw is driven by an explicit ``jax.random.key``.

Integer seeds are not accepted anywhere: a key is split (``jax.random.split``) or folded
(``jax.random.fold_in``) by the caller, so two runs share random numbers exactly when the
caller says so.  Both typed keys (``jax.random.key``) and legacy raw ``uint32[2]`` keys
(``jax.random.PRNGKey``) are accepted; traced keys pass unchecked.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ._errors import InputError


def is_key(key) -> bool:
    """A typed PRNG key array or a legacy raw ``uint32`` key (last axis of length 2)."""
    dtype = getattr(key, "dtype", None)
    if dtype is None:
        return False
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return True
    return jnp.dtype(dtype) == jnp.uint32 and getattr(key, "shape", ())[-1:] == (2,)


def check_key(name: str, key, *, batched: bool = False):
    """Validate a PRNG key (a single key unless ``batched``); returns it unchanged."""
    if isinstance(key, jax.core.Tracer):
        return key
    if not is_key(key):
        raise InputError(f"{name}: got {type(key).__name__} {key!r:.60}; allowed: a PRNG key "
                         "from jax.random.key (integer seeds are not accepted)")
    shape = key.shape if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) else key.shape[:-1]
    if not batched and shape != ():
        raise InputError(f"{name}: got a batch of keys of shape {shape}; allowed: a single key")
    return key
