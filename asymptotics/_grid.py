"""Grid plumbing shared by the theory entry points.

Inputs (``p``, ``n``, ``ridge``, ...) are broadcast together, validated on the host, flattened
and padded to a power-of-two length, so that one compiled function serves every grid of the
same bucket: sweeping a grid never recompiles per point, and nearby grid sizes share a
compilation.
"""

from __future__ import annotations

import jax
import numpy as np


def bucket(size: int) -> int:
    """Smallest power of two >= size (at least 1)."""
    return 1 << max(0, int(size - 1).bit_length())


def broadcast_grid(**axes) -> tuple[tuple[int, ...], dict[str, np.ndarray]]:
    """Broadcast named axes together; return the shape and flat float64/int arrays."""
    arrays = {k: np.asarray(v) for k, v in axes.items()}
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    flat = {k: np.broadcast_to(a, shape).ravel() for k, a in arrays.items()}
    return shape, flat


def pad(flat: dict[str, np.ndarray]) -> tuple[int, dict[str, np.ndarray]]:
    """Pad each flat axis to the bucket length by repeating its first entry."""
    size = len(next(iter(flat.values())))
    target = bucket(size)
    out = {}
    for k, a in flat.items():
        if target > size:
            a = np.concatenate([a, np.repeat(a[:1], target - size)])
        out[k] = a
    return size, out


def unpad(tree, size: int, shape: tuple[int, ...]):
    """Strip padding and restore the grid shape of every leaf (NumPy out).

    One ``jax.device_get`` of the whole dict: every device-to-host copy is started before
    any is waited on (one synchronisation instead of one per field)."""
    host = jax.device_get(dict(tree))
    return {k: np.asarray(v)[:size].reshape(shape + np.shape(v)[1:]) for k, v in host.items()}


def pack(point) -> "jax.Array":
    """Inside ``jit``: stack the fields of a NamedTuple of equal-shape arrays into ONE float
    array (integer codes and counts are exact in float64), so that the host fetches a single
    buffer instead of one per field."""
    import jax.numpy as jnp

    leaves = list(point)
    dtype = jnp.result_type(*[x.dtype for x in leaves if jnp.issubdtype(x.dtype, jnp.floating)])
    return jnp.stack([x.astype(dtype) for x in leaves])


def unpack(packed, cls, size: int, shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Host side of :func:`pack`: one device-to-host copy, then the fields of ``cls`` (a
    NamedTuple type) with padding stripped and the grid shape restored.  Fields whose name
    is ``status`` or ``steps`` come back as int32."""
    host = np.asarray(jax.device_get(packed))
    out = {}
    for name, row in zip(cls._fields, host):
        v = row[:size].reshape(shape)
        out[name] = v.astype(np.int32) if name in ("status", "steps") else v
    return out
