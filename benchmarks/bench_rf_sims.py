"""Benchmark: random-features Monte Carlo trials per second, vmapped JAX vs a NumPy loop.

Problem (E3-like): ``models.RFTask.draw(jax.random.key(0), d=50, pool=800, n=100,
noise=0.5)`` -- centred ReLU features, rows of ``W`` uniform on the unit sphere, a normalised
Gaussian teacher -- at widths ``p in {200, 400, 800}``, ridgeless (min-norm interpolation,
every ``p > n``).  One data draw per trial serves every width (common random numbers) in
both paths.

* JAX: ``sims.rf_dense_risk(task, p=widths, trials=T, key=key)`` -- the public entry point
  (feature moments, sampling ``x``, ``y``, the features ``relu(X W^T) - mu0``, the dual
  Cholesky min-norm fit per width, the exact risk, results back to NumPy), package defaults
  for chunking.  First call timed separately (compile + run), then the median of
  ``--repeats`` calls.
* Baseline: what a researcher writes by hand -- ``M, c = models.rf_feature_moments(task)``
  once per run (the same exact moments the JAX path uses; it recomputes them inside every
  call, so both timed runs include them), then a Python loop over trials: ``X`` and ``y``
  from ``numpy.random.default_rng``, ``F = relu(X W^T) - mu0`` once per trial,
  ``np.linalg.lstsq(F[:, :p], y)`` (min-norm) per width, risk
  ``E y^2 - 2 a.c_p + a^T M_p a``; float64.

Agreement (asserted), two checks:

(a) exact, same draws -- NumPy's generator cannot reproduce JAX draws, so the first
    ``--check-trials`` JAX data sets are regenerated here with the public ``jax.random``
    calls and the key splitting of ``sims/_rf.py`` (``keys = split(key, T)``, per trial
    ``kx, ke = split(keys[t])``, ``X = normal(kx, (n, d))``, ``y = X theta + sigma
    normal(ke, (n,))``; ``sims._batching.run_chunks`` and ``sims._rf._sample``) and fed to
    the baseline's own per-trial code (``relu``, ``lstsq``, risk formula): every width's risk
    must agree to 1e-8 relative;
(b) statistical -- per width, the JAX and NumPy Monte Carlo means (independent draws) must
    agree within 6 combined standard errors.

FLOPs are counted analytically per trial (2 per multiply-add), sampling not counted: features
``2 n d P`` (``X W^T``, ``P = max p``) + ``2 n d`` (``X theta``); per width the dual min-norm
fit ``2 n^2 p`` (Gram) ``+ n^3/3`` (Cholesky) ``+ 4 n p`` and the exact risk ``2 p^2 + 2 p``.

Usage: ``python benchmarks/bench_rf_sims.py [--quick] [--trials T] [--baseline-trials T]
[--repeats R] [--baseline-repeats R] [--check-trials K] [--chunk C] [--out-dir DIR]``.
"""

from __future__ import annotations

import math
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import models
import sims

import _common

RTOL_AGREE = 1e-8


def relu(z):
    return np.maximum(z, 0.0)


def numpy_trial(x, y, w, mu0, ey2, c, m, widths):
    """The baseline's per-trial work on one draw ``(X, y)``: features once, lstsq per width."""
    f = relu(x @ w.T) - mu0
    out = np.empty(len(widths))
    for j, p in enumerate(widths):
        a = np.linalg.lstsq(f[:, :p], y, rcond=None)[0]
        out[j] = ey2 - 2.0 * (a @ c[:p]) + a @ (m[:p, :p] @ a)
    return out


def numpy_loop(task, widths, trials, seed):
    """The straightforward NumPy way; returns the ``(trials, widths)`` risks."""
    P = int(max(widths))
    mom = models.rf_feature_moments(task, P)          # exact M, c (shared with the JAX path)
    w = np.asarray(task.weights, np.float64)[:P]
    theta = np.asarray(task.teacher, np.float64)
    noise = float(task.noise)
    mu0 = mom.mu0 if task.centred else np.zeros(P)
    rng = np.random.default_rng(seed)
    n, d = task.n, task.d
    risks = np.empty((trials, len(widths)))
    for t in range(trials):
        x = rng.standard_normal((n, d))
        y = x @ theta + noise * rng.standard_normal(n)
        risks[t] = numpy_trial(x, y, w, mu0, mom.label_second, mom.cross, mom.second, widths)
    return risks


def same_draw_check(task, widths, key, trials, jax_risks, k):
    """(a): regenerate the JAX draws of the first ``k`` trials, solve them the NumPy way."""
    P = int(max(widths))
    mom = models.rf_feature_moments(task, P)
    w = np.asarray(task.weights, np.float64)[:P]
    theta = np.asarray(task.teacher, np.float64)
    mu0 = mom.mu0 if task.centred else np.zeros(P)
    keys = jax.random.split(key, trials)                        # sims._batching.run_chunks
    worst = 0.0
    for t in range(k):
        kx, ke = jax.random.split(keys[t])                      # sims._rf._sample
        x = np.asarray(jax.random.normal(kx, (task.n, task.d), jnp.float64))
        eps = np.asarray(jax.random.normal(ke, (task.n,), jnp.float64))
        y = x @ theta + float(task.noise) * eps
        r = numpy_trial(x, y, w, mu0, mom.label_second, mom.cross, mom.second, widths)
        worst = max(worst, float(np.max(np.abs(jax_risks[t] - r) / np.abs(r))))
    return worst


def flops_per_trial(n: int, d: int, widths) -> float:
    P = max(widths)
    fl = 2.0 * n * d * P + 2.0 * n * d
    for p in widths:
        fl += 2.0 * n * n * p + n**3 / 3.0 + 4.0 * n * p + 2.0 * p * p + 2.0 * p
    return fl


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n")[0], repeats=5, baseline_repeats=3)
    ap.add_argument("--d", type=int, default=50)
    ap.add_argument("--pool", type=int, default=800)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--widths", type=int, nargs="+", default=[200, 400, 800])
    ap.add_argument("--trials", type=int, default=1000, help="JAX trials")
    ap.add_argument("--baseline-trials", type=int, default=200, help="NumPy-loop trials")
    ap.add_argument("--check-trials", type=int, default=3, help="same-draw exact checks")
    ap.add_argument("--chunk", type=int, default=None, help="trials per compiled call "
                    "(default: the package's, from its memory budget)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.quick:
        a.d, a.pool, a.n, a.widths = 20, 160, 40, [80, 160]
        a.trials, a.baseline_trials, a.repeats, a.baseline_repeats = 100, 40, 2, 1
    widths = sorted(int(p) for p in a.widths)
    assert max(widths) <= a.pool and min(widths) > a.n, "ridgeless min-norm needs n < p <= pool"

    info = _common.machine_info()
    _common.print_machine(info)
    task = models.RFTask.draw(jax.random.key(0), d=a.d, pool=a.pool, n=a.n, noise=0.5)
    print(f"problem : centred ReLU random features, d {a.d}, pool {a.pool}, n {a.n}, sigma 0.5, "
          f"ridgeless min-norm at p in {widths}")
    key = jax.random.key(a.seed)

    call = lambda: sims.rf_dense_risk(task, p=widths, trials=a.trials, key=key,  # noqa: E731
                                      chunk=a.chunk)
    t_first, mc = _common.first_call(call)
    times = _common.time_call(call, a.repeats)
    t_jax = statistics.median(times)

    base = lambda: numpy_loop(task, widths, a.baseline_trials, a.seed)  # noqa: E731
    t0 = time.perf_counter()
    ref = base()
    btimes = [time.perf_counter() - t0] + _common.time_call(base, a.baseline_repeats - 1)
    t_base = statistics.median(btimes)

    risks = np.asarray(mc.risks, np.float64).reshape(len(widths), a.trials).T    # (T, widths)
    assert np.all(np.isfinite(risks)), "JAX Monte Carlo: non-finite risks"
    assert np.all(np.isfinite(ref)), "NumPy loop: non-finite risks"
    k = min(a.check_trials, a.trials)
    exact = same_draw_check(task, widths, key, a.trials, risks, k)
    assert exact < RTOL_AGREE, f"same-draw risk mismatch vs the NumPy loop: rel {exact:.3g}"
    m1 = risks.mean(0)
    s1 = risks.std(0, ddof=1) / math.sqrt(a.trials)
    m2 = ref.mean(0)
    s2 = ref.std(0, ddof=1) / math.sqrt(a.baseline_trials)
    z = (m1 - m2) / np.hypot(s1, s2)
    assert np.all(np.abs(z) < 6), f"mean risks disagree: z = {z}"

    jax_tps = a.trials / t_jax
    base_tps = a.baseline_trials / t_base
    fl = flops_per_trial(a.n, a.d, widths)
    res = {
        "widths": widths, "d": a.d, "pool": a.pool, "n": a.n, "fit": "min-norm (dual)",
        "dtype": "float64", "jax_trials": a.trials, "baseline_trials": a.baseline_trials,
        "chunk": a.chunk, "jax_first_call_s": t_first,
        "jax_compile_s_est": max(t_first - t_jax, 0.0),
        "jax": _common.summary(times), "baseline": _common.summary(btimes),
        "jax_trials_per_s": jax_tps, "baseline_trials_per_s": base_tps,
        "ratio": jax_tps / base_tps,
        "same_draw_check_trials": k, "max_rel_same_draw_diff": exact,
        "mean_risk_jax": m1, "stderr_jax": s1, "mean_risk_numpy": m2, "stderr_numpy": s2,
        "z_means": z,
        "flops_per_trial": fl, "jax_flop_per_s": fl * jax_tps,
        "baseline_flop_per_s": fl * base_tps,
    }
    _common.add_peak_fraction(res, info, "jax_flop_per_s")

    print(f"  JAX first call (compile + run)      : {t_first:.3f} s")
    print(f"  JAX {a.trials} trials (median of {a.repeats})     : {t_jax * 1e3:.1f} ms "
          f"= {jax_tps:.1f} trials/s")
    print(f"  NumPy lstsq loop, {a.baseline_trials} trials (median of {len(btimes)}): "
          f"{t_base * 1e3:.1f} ms = {base_tps:.1f} trials/s")
    print(f"  ratio JAX / NumPy (trials/s)        : {res['ratio']:.2f}x (no target)")
    print(f"  agreement: (a) same draws, {k} trials x {len(widths)} widths: max rel. diff "
          f"{exact:.1e}; (b) means:")
    for j, p in enumerate(widths):
        print(f"    p {p:5d}: {m1[j]:.5f} +- {s1[j]:.5f} (JAX) vs {m2[j]:.5f} +- {s2[j]:.5f} "
              f"(NumPy), z = {z[j]:+.2f}")
    line = (f"  analytic {fl / 1e9:.4f} GFLOP/trial: JAX {res['jax_flop_per_s'] / 1e9:.2f} GFLOP/s,"
            f" NumPy {res['baseline_flop_per_s'] / 1e9:.2f} GFLOP/s")
    if "fraction_of_fp64_matmul_peak" in res:
        line += f" (JAX {100 * res['fraction_of_fp64_matmul_peak']:.2f}% of FP64 matmul peak)"
    print(line)
    payload = {"benchmark": "rf-sims", "machine": info, "quick": a.quick,
               "problem": {"activation": "relu", "centred": True, "law": "sphere", "d": a.d,
                           "pool": a.pool, "n": a.n, "noise": 0.5, "ridge": 0.0,
                           "task_key": 0, "seed": a.seed},
               "moments_note": "both paths use models.rf_feature_moments for M, c, mu0; both "
                               "timed runs include computing them once",
               "agreement_checks": ["(a) same draws regenerated with jax.random and the "
                                    "key splitting of sims/_rf.py, solved by the NumPy "
                                    "per-trial code: rel < 1e-8",
                                    "(b) MC means per width within 6 combined SE"],
               "target_ratio": None, "case": res}
    tag = "_".join(t for t in (a.tag, "quick" if a.quick else "") if t)
    _common.write_json(_common.result_name("rf_sims", info, tag), payload, a.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
