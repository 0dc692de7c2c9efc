"""Monte Carlo trials over devices and hosts: a one-axis ``jax.sharding.Mesh``.

Every Monte Carlo runner goes through :func:`sims._batching.run_chunks`, which lays each
chunk of trial keys out over a mesh of devices with
``NamedSharding(mesh, PartitionSpec("trials"))`` and runs the runner's compiled, vmapped
kernel on every shard (:func:`run_sharded`: the same one-device program on each device, all
dispatched at once; results assembled into global arrays).  Keys come from the trial index
only (trial ``t`` always gets ``jax.random.split(key, trials)[t]``) and each device always
sees a batch of ``chunk`` trials with trial ``t`` at position ``t mod chunk``, so the numbers
do not depend on the number of devices: 1, 2 or 4 devices give bit-identical float64 results
on CPU (``tests/test_sharding.py``).

Which devices: ``devices=`` on every runner (``None``: the default of the innermost
:func:`device_scope`, else every visible device; an integer ``N``: the first ``N`` of
``jax.devices()``; or a sequence of devices).  ``overparam simulate|compare --devices N``
opens a :func:`device_scope`, whose :attr:`DeviceUsage.used` is recorded in the JSON
sidecar as ``environment.devices_used``.

Multi-host (a GPU cluster or a TPU slice, one process per host): :func:`initialize_distributed`
calls ``jax.distributed.initialize`` from environment variables (``OVERPARAM_DISTRIBUTED=1``
for the cluster's own auto-detection, or ``OVERPARAM_COORDINATOR=host:port`` with
``OVERPARAM_NUM_PROCESSES`` and ``OVERPARAM_PROCESS_ID``); ``jax.devices()`` is then the global
list, the mesh spans every host, keys are built with ``jax.make_array_from_callback`` and
results gathered to every process with ``multihost_utils.process_allgather``.  Only process 0
writes files.  Example: ``examples/two_process_cpu.py``; the README section "Many devices and
hosts".
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from typing import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from models import InputError

#: the mesh axis of Monte Carlo trials (and training seeds)
AXIS = "trials"


@dataclasses.dataclass
class DeviceUsage:
    """The device request of a :func:`device_scope` and the most devices a run was sharded
    over inside it (``used``; 0 when nothing was sharded)."""

    devices: int | Sequence | None = None
    used: int = 0


_SCOPES: list[DeviceUsage] = []


@contextlib.contextmanager
def device_scope(devices: int | Sequence | None = None):
    """Default ``devices`` for every runner called inside the ``with`` block; yields a
    :class:`DeviceUsage` whose ``used`` is filled in by the runs (validated first)."""
    resolve_devices(devices)
    usage = DeviceUsage(devices)
    _SCOPES.append(usage)
    try:
        yield usage
    finally:
        _SCOPES.remove(usage)


def current_usage() -> DeviceUsage | None:
    """The innermost :func:`device_scope` (None outside any)."""
    return _SCOPES[-1] if _SCOPES else None


def _record(k: int) -> None:
    for usage in _SCOPES:
        usage.used = max(usage.used, k)


def resolve_devices(devices: int | Sequence | None = None) -> list:
    """The devices a run is sharded over (see the module docstring); ``InputError`` for a
    count outside ``[1, jax.device_count()]``."""
    if devices is None:
        devices = _SCOPES[-1].devices if _SCOPES else None
    visible = jax.devices()
    if devices is None:
        return list(visible)
    if isinstance(devices, (int, np.integer, float)) and not isinstance(devices, bool):
        n = float(devices)
        if not (n == int(n) and 1 <= n <= len(visible)):
            raise InputError(f"devices: got {devices!r}; allowed: integers in [1, "
                             f"{len(visible)}] (the visible devices)")
        n = int(n)
        if n != len(visible) and jax.process_count() > 1:
            raise InputError(f"devices: got {n} with {jax.process_count()} processes; allowed: "
                             f"{len(visible)} (every device of every host) in a multi-host run")
        return list(visible[:n])
    devs = list(devices)
    if not devs or any(not isinstance(d, jax.Device) for d in devs):
        raise InputError("devices: allowed: None, a count, or a non-empty list of jax devices")
    return devs


def local_chunk(chunk: int, trials: int) -> int:
    """Trials per device per compiled call: ``chunk`` capped at ``ceil(trials / D)`` with ``D``
    the visible device count (not the count in use, so that 1, 2 or ``D`` devices share every
    per-device batch and give identical numbers)."""
    return int(max(1, min(int(chunk), math.ceil(trials / jax.device_count()))))


def devices_for(remaining: int, chunk: int, devices: list) -> list:
    """The devices of the next call: all of them, or on one host only as many as the
    ``remaining`` trials fill (the tail is not padded out to every device)."""
    if jax.process_count() > 1:
        return devices
    return devices[:max(1, min(len(devices), math.ceil(remaining / chunk)))]


def trial_mesh(devices: list) -> Mesh:
    """The one-axis mesh (``"trials"``) over ``devices``."""
    return Mesh(np.asarray(devices), (AXIS,))


def shard_keys(key_data: np.ndarray, impl, devices: list) -> jax.Array:
    """Typed PRNG keys from raw ``key_data`` (``(T, ...)`` uint32, ``T`` a multiple of the
    device count), split over ``devices`` along the trial axis."""
    _record(len(devices))
    sharding = NamedSharding(trial_mesh(devices), PartitionSpec(AXIS))
    data = jax.make_array_from_callback(key_data.shape, sharding, lambda idx: key_data[idx])
    return jax.jit(lambda d: jax.random.wrap_key_data(d, impl=impl), out_shardings=sharding)(data)


def run_sharded(call, keys: jax.Array, start: int):
    """``call(keys, start)`` on every shard of ``keys`` (a trial-sharded global array), each
    device running the single-device program on its own ``chunk`` trials (dispatched
    asynchronously, so the devices work at once); the results as global arrays laid out like
    ``keys`` (NumPy on every process via :func:`to_host`).

    Why not one SPMD program (``jit`` partitioning, or ``shard_map``): XLA compiles a program
    partitioned over several devices through other passes than a one-device program, and
    the fusions it picks may change the last bit of float64 results (measured here on the
    pruned-and-retrained risks); the same per-device program on every device never does.
    """
    shards = sorted(keys.addressable_shards, key=lambda sh: sh.index[0].start or 0)
    if len(shards) == 1 and keys.is_fully_addressable:
        return call(shards[0].data, start)
    parts = [call(sh.data, start) for sh in shards]
    sharding = keys.sharding
    n = keys.shape[0]

    def assemble(*leaves):
        local = leaves[0].shape
        shape = (local[0] * n // shards[0].data.shape[0],) + local[1:]
        return jax.make_array_from_single_device_arrays(shape, sharding, list(leaves))

    return jax.tree_util.tree_map(assemble, *parts)


def to_host(tree):
    """NumPy copies of a pytree of (possibly multi-host) arrays, on every process."""
    def one(x):
        if isinstance(x, jax.Array) and not x.is_fully_addressable:
            from jax.experimental import multihost_utils

            return np.asarray(multihost_utils.process_allgather(x, tiled=True))
        return np.asarray(jax.device_get(x))

    return jax.tree_util.tree_map(one, tree)


def is_primary() -> bool:
    """True on the process that writes files (process 0; always true on one host)."""
    return jax.process_index() == 0


def broadcast_from_primary(value: int) -> int:
    """Process 0's integer on every process (the integer itself on one host)."""
    if jax.process_count() == 1:
        return int(value)
    from jax.experimental import multihost_utils

    return int(multihost_utils.broadcast_one_to_all(np.int64(value)))


ENV_AUTO = "OVERPARAM_DISTRIBUTED"
ENV_COORDINATOR = "OVERPARAM_COORDINATOR"
ENV_NUM = "OVERPARAM_NUM_PROCESSES"
ENV_ID = "OVERPARAM_PROCESS_ID"
ENV_LOCAL = "OVERPARAM_LOCAL_DEVICES"


def initialize_distributed(environ=None) -> bool:
    """Start JAX's multi-controller runtime from environment variables; False when none set.

    * ``OVERPARAM_DISTRIBUTED=1``: ``jax.distributed.initialize()`` with the cluster's own
      detection (Cloud TPU slices, SLURM, Open MPI, Kubernetes JobSet).
    * ``OVERPARAM_COORDINATOR=host:port``, ``OVERPARAM_NUM_PROCESSES=N``,
      ``OVERPARAM_PROCESS_ID=i`` (``0 <= i < N``): explicit addresses (any cluster, or several
      CPU processes on one machine); ``OVERPARAM_LOCAL_DEVICES`` optionally lists this
      process's local device ids (comma-separated).

    Must run before JAX starts a backend (the command line calls it first thing).
    """
    env = os.environ if environ is None else environ
    coord = env.get(ENV_COORDINATOR, "").strip()
    auto = env.get(ENV_AUTO, "").strip().lower() in ("1", "true", "yes", "auto")
    if not coord and not auto:
        return False
    if not coord:
        jax.distributed.initialize()
        return True
    try:
        num, pid = int(env[ENV_NUM]), int(env[ENV_ID])
    except (KeyError, ValueError):
        raise InputError(f"{ENV_NUM}, {ENV_ID}: needed with {ENV_COORDINATOR}={coord!r}; "
                         "allowed: integers N >= 1 and 0 <= id < N") from None
    if num < 1 or not 0 <= pid < num:
        raise InputError(f"{ENV_ID}: got {pid} with {ENV_NUM}={num}; allowed: 0 <= id < N")
    local = env.get(ENV_LOCAL, "").strip()
    local_ids = [int(v) for v in local.split(",")] if local else None
    jax.distributed.initialize(coordinator_address=coord, num_processes=num, process_id=pid,
                               local_device_ids=local_ids)
    return True
