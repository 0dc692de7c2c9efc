"""Numerical policy shared by every package: theory runs in float64.

JAX defaults to float32.  The theory (fixed points, closed forms) is only meaningful in
float64, so importing any of ``models``, ``asymptotics`` or ``sims`` switches JAX's x64
mode on.  Simulations take an explicit ``dtype`` (float64 by default) and pass an explicit
matmul ``precision`` so that GPUs never fall back to TF32 unnoticed.
"""

import os

# XLA's CPU runtime (jax 0.10.2) intermittently deadlocks -- every thread parked, a result
# never delivered -- when its concurrency-optimised scheduler runs our vmapped Monte Carlo
# kernels (seen in about one run in three of 30 back-to-back calls on a 2-core machine).  The
# default scheduler avoids it (0 hangs in our stress runs) at no measurable cost.  The flag
# must be set before JAX starts its CPU backend, hence here; set
# OVERPARAM_XLA_CPU_DEFAULT_FLAGS=1 to keep XLA's own defaults.
_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
if os.environ.get("OVERPARAM_XLA_CPU_DEFAULT_FLAGS", "0") != "1":
    _flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_enable_concurrency_optimized_scheduler" not in _flags:
        os.environ["XLA_FLAGS"] = (_flags + " " + _FLAG).strip()

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

#: matmul precision used by every simulation kernel (no TF32 / bf16 passes on GPU).
MATMUL_PRECISION = jax.lax.Precision.HIGHEST
