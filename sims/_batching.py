"""Shared mechanics of the Monte Carlo entry points: dtype policy, the primal / dual split of
a ``(p, n, ridge)`` grid, and trial chunks (one compiled shape, padded last chunk)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from models import InputError
from models._config import cpu_scheduler_workaround, require_x64

from ._checkpoint import load_checkpoint, run_tag, save_checkpoint


def check_dtype(dtype, where: str = "simulation") -> jnp.dtype:
    """Validate a simulation dtype (float32 or float64; float64 needs JAX's 64-bit mode) and
    apply the CPU scheduler workaround of ``models._config`` (these kernels need it)."""
    try:
        dt = jnp.dtype(dtype)
    except TypeError:
        raise InputError(f"dtype: got {dtype!r}; allowed: float32 or float64") from None
    if dt not in (jnp.dtype(jnp.float32), jnp.dtype(jnp.float64)):
        raise InputError(f"dtype: got {dtype}; allowed: float32 or float64")
    if dt == jnp.dtype(jnp.float64):
        require_x64(f"{where}(dtype=float64)")
    cpu_scheduler_workaround()
    return dt


class GridSplit:
    """A flat grid split into primal (``p < n``) and dual (``p >= n``) points.

    Primal systems are padded to ``n_max - 1`` columns (never depends on the grid values, so
    sweeping values does not recompile); ``order`` lists the primal points then the dual ones,
    and :meth:`restore` puts an axis back in the caller's order.
    """

    def __init__(self, pf, nf, rf, dt):
        self.n_max, self.p_max = int(nf.max()), int(pf.max())
        primal = pf < nf
        self.order = np.concatenate([np.flatnonzero(primal), np.flatnonzero(~primal)])
        self.width_primal = min(self.n_max - 1, self.p_max) if primal.any() else 0
        grid = np.stack([pf, nf, rf], axis=1).astype(np.float64)
        self.primal = jnp.asarray(grid[primal], dt)
        self.dual = jnp.asarray(grid[~primal], dt)

    def restore(self, a: np.ndarray, axis: int) -> np.ndarray:
        inv = np.empty_like(self.order)
        inv[self.order] = np.arange(self.order.size)
        return np.take(a, inv, axis=axis)


def run_chunks(call, key: jax.Array, trials: int, chunk: int, progress: bool = False,
               checkpoint=None, run_key: dict | None = None) -> list:
    """Split ``trials`` keys into chunks of ``chunk`` (the last padded, extras dropped by the
    caller), call ``call(keys, start)`` on each and return the host (NumPy) results.  Results
    do not depend on ``chunk``: trial ``t`` always gets ``split(key, trials)[t]``.

    With ``checkpoint`` (a file path), finished chunks are saved atomically after each chunk
    and a rerun with the same ``run_key`` (every parameter that changes the numbers) resumes
    after the last saved chunk instead of starting again; a different ``run_key`` starts afresh.
    """
    keys = jax.random.split(key, trials)
    n_chunks = -(-trials // chunk)
    out: list = []
    tag = None
    if checkpoint is not None:
        tag = run_tag({**(run_key or {}), "trials": trials, "chunk": chunk,
                       "key": jax.random.key_data(key)})
        out = load_checkpoint(checkpoint, tag)
    it = range(len(out), n_chunks)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="trials", unit="chunk", initial=len(out), total=n_chunks)
    for c in it:
        kc = keys[c * chunk:(c + 1) * chunk]
        if kc.shape[0] < chunk:
            kc = jnp.concatenate([kc, jnp.broadcast_to(kc[:1], (chunk - kc.shape[0],) + kc.shape[1:])])
        out.append(jax.device_get(call(kc, c * chunk)))
        if checkpoint is not None:
            save_checkpoint(checkpoint, tag, out)
    return out
