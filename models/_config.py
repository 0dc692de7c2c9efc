"""Numerical policy: what precision each evaluator runs in, and the one CPU workaround.

Importing ``models``, ``asymptotics``, ``sims`` or ``overparam`` changes nothing in the
process's JAX configuration.  The policy is explicit instead:

* **Theory runs in float64.**  Every public theory entry point calls :func:`require_x64`
  and raises :class:`PrecisionError` when JAX's 64-bit mode is off, with the one line to
  add (``jax.config.update("jax_enable_x64", True)``).  Linear tasks hold float64 leaves, so
  their constructors require it too.
* **Simulations state their dtype.**  Monte Carlo entry points take ``dtype=`` (float64 by
  default, which needs the 64-bit mode; float32 runs without it) and every matmul passes
  :data:`MATMUL_PRECISION` (``HIGHEST``), so GPUs never fall back to TF32 unnoticed.
* **The command line** owns its process: ``overparam ...`` turns the 64-bit mode on first
  thing (:func:`enable_x64`), then applies the CPU workaround below.

CPU scheduler workaround.  XLA's CPU runtime in jaxlib <= 0.10 deadlocks intermittently --
every thread parked, a result never delivered -- when its concurrency-optimised scheduler runs
a batched LAPACK call (Cholesky, LU) on a pool thread: the call hands its batch to the same
pool and waits, and on a 2-core machine no thread is left to do the work.  Our vmapped Monte
Carlo kernels hit it in about one run in three of 30 back-to-back calls.  The default
scheduler runs such calls from the caller's thread (0 hangs in our stress runs).  The flag
must be in ``XLA_FLAGS`` before JAX starts its CPU backend, so :func:`cpu_scheduler_workaround`
is called where it is needed: when ``sims`` (whose vmapped kernels make those calls) is
imported, by the command line at start-up, and again by each Monte Carlo entry point.  It adds
the flag only for the affected jaxlib versions and only while the backend has not started;
when the backend is already running without the flag it warns (once) instead of silently
doing nothing.  It changes no numerics: only which thread runs a batched solve.
``OVERPARAM_XLA_CPU_DEFAULT_FLAGS=1`` keeps XLA's own defaults.
"""

from __future__ import annotations

import os
import warnings

import jax

#: matmul precision used by every simulation kernel (no TF32 / bf16 passes on GPU).
MATMUL_PRECISION = jax.lax.Precision.HIGHEST

_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
_FLAG_NAME = "xla_cpu_enable_concurrency_optimized_scheduler"
_warned = False


class PrecisionError(RuntimeError):
    """A float64 computation was requested while JAX's 64-bit mode is off."""


def x64_enabled() -> bool:
    return bool(jax.config.read("jax_enable_x64"))


def require_x64(where: str) -> None:
    """Raise :class:`PrecisionError` unless JAX's 64-bit mode is on.

    Called by every theory entry point (the theory is only meaningful in float64) and by
    simulations asked for float64, before anything is traced."""
    if not x64_enabled():
        raise PrecisionError(
            f"{where}: needs float64 but JAX's 64-bit mode is off; add "
            "`jax.config.update(\"jax_enable_x64\", True)` once, before creating arrays "
            "(or pass dtype=jnp.float32 to a simulation)")


def enable_x64() -> None:
    """Turn JAX's 64-bit mode on (what the command line does at start-up)."""
    jax.config.update("jax_enable_x64", True)


def _affected_jaxlib() -> bool:
    from importlib import metadata

    try:
        major, minor = (int(x) for x in metadata.version("jaxlib").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return (major, minor) <= (0, 10)


def _backends_initialized() -> bool:
    try:
        from jax._src import xla_bridge
        return bool(xla_bridge.backends_are_initialized())
    except Exception:  # pragma: no cover  (private API moved: assume the worst)
        return True


def cpu_scheduler_workaround() -> bool:
    """Make sure the CPU scheduler flag is in effect where it is needed (see module docstring).

    Returns True when the flag is (or will be) in effect.  Adds it to ``XLA_FLAGS`` if the
    CPU backend has not started yet; if it has started without the flag, warns once that the
    workaround can no longer take effect in this process."""
    global _warned
    if os.environ.get("OVERPARAM_XLA_CPU_DEFAULT_FLAGS", "0") == "1" or not _affected_jaxlib():
        return False
    flags = os.environ.get("XLA_FLAGS", "")
    if _FLAG_NAME in flags:
        return True
    if not _backends_initialized():
        os.environ["XLA_FLAGS"] = (flags + " " + _FLAG).strip()
        return True
    if jax.default_backend() == "cpu" and not _warned:
        _warned = True
        warnings.warn(
            "overparam: JAX's CPU backend started before the scheduler workaround could be "
            f"set; batched linear solves may deadlock on jaxlib <= 0.10. Set XLA_FLAGS={_FLAG} "
            "before importing jax (or call models.cpu_scheduler_workaround() first).",
            RuntimeWarning, stacklevel=2)
    return False
