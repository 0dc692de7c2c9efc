"""Shared mechanics of the Monte Carlo entry points: dtype policy, the primal / dual split of
a ``(p, n, ridge)`` grid, and trial chunks (one compiled shape, padded last chunk) sharded
over devices (:mod:`sims._sharding`), checkpointed and resumable (:mod:`sims._checkpoint`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from models import InputError
from models._config import cpu_scheduler_workaround, require_x64

from . import _sharding
from ._checkpoint import TrialCheckpoint


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
               checkpoint=None, run_key: dict | None = None, devices=None,
               desc: str = "trials") -> list:
    """Run ``trials`` Monte Carlo trials in compiled chunks over devices; host results.

    Trial ``t`` always gets ``jax.random.split(key, trials)[t]``.  Each call ``call(keys,
    start)`` gets the keys of trials ``start, start + 1, ...`` (a multiple of ``chunk``
    of them, the last call padded with copies of its first key; the caller drops rows beyond
    ``trials``), laid out over the devices with ``chunk`` trials per device
    (:mod:`sims._sharding`): the numbers do not depend on the number of devices.  ``chunk``
    is the per-device batch, capped by :func:`sims._sharding.local_chunk`.  Returns the list of
    the calls' results as NumPy arrays (tuples), in trial order.

    ``devices``: ``None`` (the :func:`sims._sharding.device_scope` default, else all visible),
    a count, or a list of devices.  ``progress``: a tqdm bar over trials.  ``checkpoint``: a
    folder where each finished chunk is saved atomically (:class:`TrialCheckpoint`); a rerun
    with the same ``run_key`` (every parameter that changes the numbers) resumes after the
    last saved trial, whatever the device count (bit-identical to an uninterrupted run) or
    chunk size (another chunk size may change the resumed trials in the last bit); a folder
    written with another ``run_key`` raises ``InputError``.
    """
    devs = _sharding.resolve_devices(devices)
    chunk = _sharding.local_chunk(chunk, trials)
    key_data = np.asarray(jax.random.key_data(jax.random.split(key, trials)))
    impl = jax.random.key_impl(key)
    out: list = []
    done = 0
    store = None
    if checkpoint is not None:
        store = TrialCheckpoint(checkpoint, {**(run_key or {}), "trials": trials,
                                             "key": jax.random.key_data(key)},
                                write=_sharding.is_primary())
        saved = store.load()
        done = sum(count for _, count, _ in saved)
        if _sharding.broadcast_from_primary(done) != done:
            raise InputError(f"checkpoint: {str(checkpoint)!r} differs between processes; "
                             "allowed: a folder on a file system shared by every host")
        out = [parts for _, _, parts in saved]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(desc=desc, unit="trial", initial=done, total=trials)
    try:
        while done < trials:
            use = _sharding.devices_for(trials - done, chunk, devs)
            size = chunk * len(use)
            kd = key_data[done:done + size]
            if kd.shape[0] < size:
                pad = np.broadcast_to(kd[:1], (size - kd.shape[0],) + kd.shape[1:])
                kd = np.concatenate([kd, pad])
            keys = _sharding.shard_keys(kd, impl, use)
            res = _sharding.to_host(_sharding.run_sharded(call, keys, done))
            res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
            count = min(size, trials - done)
            out.append(res)
            if store is not None:
                store.save(done, count, res)
            done += count
            if bar is not None:
                bar.update(count)
    finally:
        if bar is not None:
            bar.close()
    return out
