"""Numerical policy shared by every package: theory runs in float64.

JAX defaults to float32.  The theory (fixed points, closed forms) is only meaningful in
float64, so importing any of ``models``, ``asymptotics`` or ``sims`` switches JAX's x64
mode on.  Simulations take an explicit ``dtype`` (float64 by default) and pass an explicit
matmul ``precision`` so that GPUs never fall back to TF32 unnoticed.
"""

import os

# XLA's CPU runtime in jaxlib 0.10 deadlocks intermittently -- every thread parked, a result
# never delivered -- when its concurrency-optimised scheduler runs a batched LAPACK call
# (Cholesky, LU) on a pool thread: the call hands its batch to the same pool and waits, and on
# a 2-core machine no thread is left to do the work.  Our vmapped Monte Carlo kernels hit it in
# about one run in three of 30 back-to-back calls.  The default scheduler runs such calls from
# the caller's thread (0 hangs in our stress runs).  The flag must be set before JAX starts its
# CPU backend, hence here; it is only added for the affected jaxlib versions, and
# OVERPARAM_XLA_CPU_DEFAULT_FLAGS=1 keeps XLA's own defaults.
_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler=false"


def _affected_jaxlib() -> bool:
    from importlib import metadata

    try:
        major, minor = (int(x) for x in metadata.version("jaxlib").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return (major, minor) <= (0, 10)


if os.environ.get("OVERPARAM_XLA_CPU_DEFAULT_FLAGS", "0") != "1" and _affected_jaxlib():
    _flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_enable_concurrency_optimized_scheduler" not in _flags:
        os.environ["XLA_FLAGS"] = (_flags + " " + _FLAG).strip()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

#: matmul precision used by every simulation kernel (no TF32 / bf16 passes on GPU).
MATMUL_PRECISION = jax.lax.Precision.HIGHEST
