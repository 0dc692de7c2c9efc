"""Benchmark: Monte Carlo trials per second, vmapped JAX vs a NumPy ``lstsq`` loop.

Problem (the issue's sizes): power-law pool ``lambda_i = i^-1``, ``beta_i`` constant
(``sum lambda_i beta_i^2 = 1``), pool of 10^4 features, noise ``sigma = 0.5``, ``n = 500``;
two cases: min-norm interpolation at ``p = 2000`` and OLS at ``p = 250 < n``.  The signal of
the features beyond ``p`` enters as extra Gaussian noise of variance
``sum_{i>p} lambda_i beta_i^2`` (as in ``sims``).

* JAX: ``sims.dense_risk(task, p=p, trials=T, key=key, dtype=...)`` -- the public entry point
  (sampling, the dual Cholesky / primal normal-equation fits, the population risk, results back
  to NumPy), package defaults for chunking.  First call timed separately (compile + run), then
  the median of ``--repeats`` calls.
* Baseline: what a researcher writes by hand -- a Python loop over trials: draw
  ``X = Z diag(sqrt(lambda))`` and ``y`` with ``numpy.random.default_rng``, fit with
  ``np.linalg.lstsq(X, y)`` (min-norm when ``p > n``), risk
  ``sigma^2 + sum_{i>p} lambda_i beta_i^2 + sum_{i<=p} lambda_i (b_i - beta_i)^2``; float64.

Agreement (asserted): (1) exact, on the same draws -- the first ``--check-trials`` data sets of
the JAX run are regenerated (``sims._linear._sample`` with the same keys) and solved with
``np.linalg.lstsq``: per-trial risks must agree to 1e-8 relative (float64; 1e-2 for float32);
(2) statistical -- the two runs' mean risks must agree within 6 standard errors (the risk is heavy-tailed near
``p = n``; 50 baseline trials make the z-score rough).

FLOPs are counted analytically per trial (2 flops per multiply-add): min-norm (dual)
``2 n^2 p`` (Gram) ``+ n^3/3`` (Cholesky) ``+ 4 n p`` (``X beta``, ``X^T alpha``); OLS (primal)
``2 n p^2 + p^3/3 + 4 n p``.  Sampling is not counted.  On a GPU the achieved rate is printed
as a fraction of the device's FP64 matmul peak (datasheet) and of a measured plain FP64 GEMM.

Usage: ``python benchmarks/bench_sims.py [--quick] [--dtype float64|float32] [--trials T]
[--baseline-trials T] [--repeats R] [--chunk C] [--out-dir DIR]``.
"""

from __future__ import annotations

import math
import statistics
import sys
import time

import numpy as np

import models
import sims
import jax
import jax.numpy as jnp

import _common


def numpy_loop(lam_p, beta_p, tail2, noise, n, trials, seed):
    """The straightforward NumPy way; returns the per-trial risks."""
    rng = np.random.default_rng(seed)
    p = lam_p.shape[0]
    sd = np.sqrt(lam_p)
    eff_sd = math.sqrt(noise**2 + tail2)
    risks = np.empty(trials)
    for t in range(trials):
        x = rng.standard_normal((n, p)) * sd
        y = x @ beta_p + eff_sd * rng.standard_normal(n)
        b = np.linalg.lstsq(x, y, rcond=None)[0]
        risks[t] = noise**2 + tail2 + np.sum(lam_p * (b - beta_p) ** 2)
    return risks


def flops_per_trial(n: int, p: int) -> float:
    if p >= n:   # dual (min-norm)
        return 2.0 * n * n * p + n**3 / 3.0 + 4.0 * n * p
    return 2.0 * n * p * p + p**3 / 3.0 + 4.0 * n * p


def exact_check(task, p, n, key, trials, mc_risks, k, dtype):
    """Re-draw the first ``k`` JAX data sets and solve them with lstsq (same draws)."""
    try:
        from sims._linear import _sample
    except ImportError as e:  # private API moved
        print(f"  (exact same-draw check skipped: {e})")
        return None
    lam = np.asarray(task.eigenvalues)
    beta = np.asarray(task.signal)
    dt = jnp.dtype(dtype)
    lam_p, beta_p = lam[:p], beta[:p]
    tail2 = float(np.sum(lam[p:] * beta[p:] ** 2))
    keys = jax.random.split(key, trials)
    rels = []
    for t in range(k):
        x, y = _sample(keys[t], jnp.asarray(lam_p, dt), jnp.asarray(beta_p, dt),
                       jnp.asarray(math.sqrt(tail2), dt), jnp.asarray(float(task.noise), dt),
                       n, dt)
        b = np.linalg.lstsq(np.asarray(x, np.float64), np.asarray(y, np.float64), rcond=None)[0]
        r = float(task.noise) ** 2 + tail2 + np.sum(lam_p * (b - beta_p) ** 2)
        rels.append(abs(mc_risks[t] - r) / r)
    return float(max(rels))


def run_case(name, task, p, a, info, gemm):
    n = task.n
    lam = np.asarray(task.eigenvalues)
    beta = np.asarray(task.signal)
    tail2 = float(np.sum(lam[p:] * beta[p:] ** 2))
    dtype = jnp.float64 if a.dtype == "float64" else jnp.float32
    key = jax.random.key(a.seed)

    call = lambda: sims.dense_risk(task, p=p, trials=a.trials, key=key, dtype=dtype,
                                   chunk=a.chunk)
    t_first, mc = _common.first_call(call)
    times = _common.time_call(call, a.repeats)
    t_jax = statistics.median(times)

    base = lambda: numpy_loop(lam[:p], beta[:p], tail2, float(task.noise), n,
                              a.baseline_trials, a.seed)
    t0 = time.perf_counter()
    ref = base()
    btimes = [time.perf_counter() - t0] + _common.time_call(base, a.baseline_repeats - 1)
    t_base = statistics.median(btimes)

    risks = np.asarray(mc.risks, np.float64).ravel()
    assert np.all(np.isfinite(risks)), "JAX Monte Carlo: non-finite risks"
    tol = 1e-8 if a.dtype == "float64" else 1e-2
    exact = exact_check(task, p, n, key, a.trials, risks, min(a.check_trials, a.trials), dtype)
    if exact is not None:
        assert exact < tol, f"{name}: same-draw risk mismatch vs lstsq, rel {exact:.3g}"
    m1, s1 = risks.mean(), risks.std(ddof=1) / math.sqrt(risks.size)
    m2, s2 = ref.mean(), ref.std(ddof=1) / math.sqrt(ref.size)
    z = (m1 - m2) / math.hypot(s1, s2)
    assert abs(z) < 6, f"{name}: mean risks disagree, z = {z:.2f}"

    jax_tps = a.trials / t_jax
    base_tps = a.baseline_trials / t_base
    fl = flops_per_trial(n, p)
    res = {
        "case": name, "n": int(n), "p": int(p), "fit": "min-norm (dual)" if p >= n else "OLS (primal)",
        "dtype": a.dtype, "jax_trials": a.trials, "baseline_trials": a.baseline_trials,
        "chunk": a.chunk,
        "jax_first_call_s": t_first, "jax_compile_s_est": max(t_first - t_jax, 0.0),
        "jax": _common.summary(times), "baseline": _common.summary(btimes),
        "jax_trials_per_s": jax_tps, "baseline_trials_per_s": base_tps,
        "ratio": jax_tps / base_tps,
        "max_rel_same_draw_diff": exact, "mean_risk_jax": float(m1), "mean_risk_numpy": float(m2),
        "z_means": float(z),
        "flops_per_trial": fl, "jax_flop_per_s": fl * jax_tps, "baseline_flop_per_s": fl * base_tps,
    }
    peak = info.get("fp64_matmul_peak_flops")
    if peak:
        res["fraction_of_fp64_matmul_peak"] = res["jax_flop_per_s"] / peak
    if gemm:
        res["fraction_of_measured_gemm"] = res["jax_flop_per_s"] / gemm["flop_per_s"]

    print(f"\n{name}: n {n}, p {p}, {res['fit']}, {a.dtype}")
    print(f"  JAX first call (compile + run)      : {t_first:.3f} s")
    print(f"  JAX {a.trials} trials (median of {a.repeats})      : {t_jax * 1e3:.1f} ms "
          f"= {jax_tps:.1f} trials/s")
    print(f"  NumPy lstsq loop, {a.baseline_trials} trials (median of "
          f"{a.baseline_repeats}): {t_base * 1e3:.1f} ms = {base_tps:.1f} trials/s")
    print(f"  ratio JAX / NumPy (trials/s)        : {res['ratio']:.2f}x (target >= 5x on CPU)")
    print("  agreement: same-draw max rel. diff "
          + (f"{exact:.1e}" if exact is not None else "n/a")
          + f"; means {m1:.5f} +- {s1:.5f} vs {m2:.5f} +- {s2:.5f} (z = {z:+.2f})")
    line = f"  JAX {res['jax_flop_per_s'] / 1e9:.1f} GFLOP/s (analytic count)"
    if peak:
        line += f" = {100 * res['fraction_of_fp64_matmul_peak']:.1f}% of FP64 matmul peak"
    if gemm:
        line += f", {100 * res['fraction_of_measured_gemm']:.1f}% of measured GEMM"
    print(line)
    return res


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n")[0], repeats=3)
    ap.add_argument("--pool", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--p-minnorm", type=int, default=2000)
    ap.add_argument("--p-ols", type=int, default=250)
    ap.add_argument("--trials", type=int, default=200, help="JAX trials")
    ap.add_argument("--baseline-trials", type=int, default=50, help="NumPy-loop trials")
    ap.add_argument("--check-trials", type=int, default=3, help="same-draw exact checks")
    ap.add_argument("--chunk", type=int, default=None, help="trials per compiled call "
                    "(default: the package's, from its memory budget)")
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    ap.add_argument("--gemm-size", type=int, default=None,
                    help="measure a plain GEMM of this size for reference (default 8192 on "
                    "GPU, 2048 on CPU; 0 = skip)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.quick:
        a.pool, a.n, a.p_minnorm, a.p_ols = 1000, 100, 400, 50
        a.trials, a.baseline_trials, a.repeats, a.baseline_repeats = 50, 20, 2, 1

    info = _common.machine_info()
    _common.print_machine(info)
    gsize = a.gemm_size if a.gemm_size is not None else (2048 if info["backend"] == "cpu" else 8192)
    gemm = None
    if gsize:
        gemm = _common.gemm_rate(gsize, np.float64)
        print(f"reference: plain float64 GEMM {gsize}^3 at {gemm['flop_per_s'] / 1e9:.1f} GFLOP/s")
    task = models.LinearTask.power_law(pool=a.pool, n=a.n, noise=0.5, a=1.0, b=0.0)
    print(f"problem : power law lambda_i = i^-1, pool {a.pool}, n {a.n}, sigma 0.5")

    cases = [run_case("min-norm", task, a.p_minnorm, a, info, gemm),
             run_case("ols", task, a.p_ols, a, info, gemm)]
    payload = {"benchmark": "sims", "machine": info, "quick": a.quick, "dtype": a.dtype,
               "problem": {"spectrum": "power-law a=1 b=0", "noise": 0.5, "pool": a.pool,
                           "n": a.n},
               "reference_gemm": gemm, "target_ratio_cpu_float64": 5.0, "cases": cases}
    tag = "_".join(t for t in (a.dtype if a.dtype != "float64" else "", a.tag,
                                "quick" if a.quick else "") if t)
    _common.write_json(_common.result_name("sims", info, tag), payload, a.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
