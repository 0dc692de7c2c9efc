"""Benchmark: ways of drawing float64 standard normals for the Monte Carlo design matrix.

The min-norm Monte Carlo spends ~40 % of a trial drawing its ``n x p`` Gaussian design
(``benchmarks/README.md``).  This script times, for one ``n x p`` float64 draw (default 500 x
2000), every combination of JAX's PRNG implementation (``threefry2x32``, the default;
``rbg``; ``unsafe_rbg``) and normal transform (``jax.random.normal``: the inverse-error-
function transform of one uniform; Box-Muller: two uniforms -> two normals by
``sqrt(-2 log u1) (cos, sin)(2 pi u2)``), against NumPy's ``standard_normal`` (ziggurat), and
checks each against the normal law (mean, variance, 4th moment, a Kolmogorov-Smirnov
statistic against ``Phi`` on 10^6 draws; thresholds at ~5 standard errors).

Usage: ``python benchmarks/bench_normals.py [--n N] [--p P] [--repeats R] [--out-dir DIR]``.
"""

from __future__ import annotations

import statistics
import sys

import jax
import jax.numpy as jnp
import numpy as np

import _common


def box_muller(key, shape, dtype=jnp.float64):
    """Standard normals by the Box-Muller transform of uniform pairs (``sims._linear``)."""
    size = int(np.prod(shape))
    half = (size + 1) // 2
    u = jax.random.uniform(key, (2, half), dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)
    r = jnp.sqrt(-2.0 * jnp.log(u[0]))
    t = (2.0 * jnp.pi) * u[1]
    return jnp.concatenate([r * jnp.cos(t), r * jnp.sin(t)])[:size].reshape(shape)


def erfinv_normal(key, shape, dtype=jnp.float64):
    return jax.random.normal(key, shape, dtype)


def float32_upcast(key, shape, dtype=jnp.float64):
    """float32 normals (half the random bits, twice the SIMD width) converted to float64:
    not a float64 draw (values on a 2^-24 relative grid), listed for its speed only."""
    return jax.random.normal(key, shape, jnp.float32).astype(dtype)


TRANSFORMS = {"erfinv (jax.random.normal)": erfinv_normal, "box-muller": box_muller,
              "float32 erfinv, upcast": float32_upcast}
IMPLS = ("threefry2x32", "rbg", "unsafe_rbg")


def law_check(z: np.ndarray) -> dict:
    """Moments and the KS distance to Phi; ``ok`` when all are within ~5 standard errors."""
    from scipy.special import ndtr

    z = np.sort(z.ravel())
    m = z.size
    mean, var, m4 = float(z.mean()), float(z.var()), float(np.mean(z**4))
    ks = float(np.max(np.abs(ndtr(z) - (np.arange(1, m + 1) - 0.5) / m)))
    ok = (abs(mean) < 5 / np.sqrt(m) and abs(var - 1) < 5 * np.sqrt(2 / m)
          and abs(m4 - 3) < 5 * np.sqrt(96 / m) and ks < 1.95 / np.sqrt(m))  # KS at p ~ 0.001
    return {"mean": mean, "var": var, "m4": m4, "ks": ks, "draws": m, "ok": bool(ok)}


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n")[0], repeats=7)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--p", type=int, default=2000)
    a = ap.parse_args(argv)
    if a.quick:
        a.n, a.p, a.repeats = 100, 200, 3
    info = _common.machine_info()
    _common.print_machine(info)
    shape = (a.n, a.p)
    rows = []
    rng = np.random.default_rng(0)
    base = _common.cpu_time(lambda: rng.standard_normal(shape), a.repeats)
    walls = _common.time_call(lambda: rng.standard_normal(shape), a.repeats)
    rows.append({"method": "numpy standard_normal (ziggurat)", "cpu_median_s": statistics.median(base),
                 "wall_median_s": statistics.median(walls), "law": law_check(rng.standard_normal(10**6))})
    for impl in IMPLS:
        for tname, tf in TRANSFORMS.items():
            key = jax.random.key(0, impl=impl)
            f = jax.jit(lambda k: tf(k, shape))
            keys = [jax.random.fold_in(key, i) for i in range(a.repeats + 1)]
            _common.block(f(keys[-1]))
            it = iter(keys)
            cpu = _common.cpu_time(lambda: f(next(it)), a.repeats)
            it = iter(keys)
            wall = _common.time_call(lambda: f(next(it)), a.repeats)
            big = np.asarray(jax.jit(lambda k: tf(k, (10**6,)))(key))
            rows.append({"method": f"jax {impl} + {tname}", "cpu_median_s": statistics.median(cpu),
                         "wall_median_s": statistics.median(wall), "law": law_check(big)})
    print(f"\none {a.n} x {a.p} float64 draw (CPU-time medians of {a.repeats}):")
    for r in rows:
        print(f"  {r['method']:<48} {r['cpu_median_s'] * 1e3:8.2f} ms cpu "
              f"{r['wall_median_s'] * 1e3:8.2f} ms wall   law ok={r['law']['ok']} "
              f"(KS {r['law']['ks']:.2e})")
    _common.write_json(_common.result_name("normals", info, a.tag or ("quick" if a.quick else "")),
                       {"benchmark": "normals", "machine": info, "shape": list(shape),
                        "rows": rows}, a.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
