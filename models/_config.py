"""Numerical policy shared by every package: theory runs in float64.

JAX defaults to float32.  The theory (fixed points, closed forms) is only meaningful in
float64, so importing any of ``models``, ``asymptotics`` or ``sims`` switches JAX's x64
mode on.  Simulations take an explicit ``dtype`` (float64 by default) and pass an explicit
matmul ``precision`` so that GPUs never fall back to TF32 unnoticed.
"""

import jax

jax.config.update("jax_enable_x64", True)

#: matmul precision used by every simulation kernel (no TF32 / bf16 passes on GPU).
MATMUL_PRECISION = jax.lax.Precision.HIGHEST
