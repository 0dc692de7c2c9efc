"""Benchmark: a Monte Carlo learning curve over ``p`` -- one draw per trial vs a NumPy loop.

Problem: the power-law pool of ``bench_sims.py`` (``lambda_i = i^-1``, constant ``beta``,
pool 10^4, ``sigma = 0.5``), ``n = 500``, 10 model sizes ``p`` from 100 to 2000 (OLS below
``n``, min-norm above; ``p = n`` left out).

* JAX: ``sims.dense_risk(task, p=grid, trials=T, key=key)`` -- ONE ``n x max(p)`` draw per
  trial serves every ``p`` of the curve (common random numbers), fits and risks for all 10
  points in one compiled call.  First call timed separately, then the median of
  ``--repeats`` calls (wall and CPU time).
* Baseline: a Python loop as a user writes it -- for each ``p`` and each trial, draw ``X``
  (``n x p``, ``numpy.random.default_rng``) and ``y``, fit ``np.linalg.lstsq`` (min-norm
  for ``p > n``), population risk.

Figures: curves per second (one curve = ``T`` trials at each of the 10 points) and their
ratio.  Agreement (asserted): (1) the first ``--check-trials`` JAX draws regenerated
(``sims._linear._sample`` with the run's keys) and solved with ``lstsq`` at every ``p``:
relative risk difference < 1e-8; (2) the two runs' means within 6 combined standard errors
at every ``p`` (different draws).

Usage: ``python benchmarks/bench_sims_curve.py [--quick] [--trials T] [--baseline-trials T]
[--repeats R] [--out-dir DIR]``.
"""

from __future__ import annotations

import math
import statistics
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import _common
import models
import sims

GRID = (100, 250, 400, 600, 800, 1000, 1250, 1500, 1750, 2000)


def numpy_curve(lam, beta, noise, n, ps, trials, seed):
    """Per point and per trial: draw, lstsq, risk.  Returns ``(len(ps), trials)`` risks."""
    rng = np.random.default_rng(seed)
    out = np.empty((len(ps), trials))
    for j, p in enumerate(ps):
        lam_p, beta_p = lam[:p], beta[:p]
        tail2 = float(np.sum(lam[p:] * beta[p:] ** 2))
        sd = np.sqrt(lam_p)
        eff = math.sqrt(noise**2 + tail2)
        for t in range(trials):
            x = rng.standard_normal((n, p)) * sd
            y = x @ beta_p + eff * rng.standard_normal(n)
            b = np.linalg.lstsq(x, y, rcond=None)[0]
            out[j, t] = noise**2 + tail2 + np.sum(lam_p * (b - beta_p) ** 2)
    return out


def same_draw_check(task, ps, key, trials, mc_risks, k):
    """Regenerate the first ``k`` JAX draws and solve every ``p`` with lstsq."""
    from sims._linear import _sample

    lam, beta = np.asarray(task.eigenvalues), np.asarray(task.signal)
    P = max(ps)
    tail_sd = math.sqrt(float(np.sum(lam[P:] * beta[P:] ** 2)))
    keys = jax.random.split(key, trials)
    worst = 0.0
    for t in range(k):
        x, y = _sample(keys[t], jnp.asarray(lam[:P]), jnp.asarray(beta[:P]),
                       jnp.asarray(tail_sd), jnp.asarray(float(task.noise)), task.n, jnp.float64)
        x, y = np.asarray(x), np.asarray(y)
        for j, p in enumerate(ps):
            b = np.linalg.lstsq(x[:, :p], y, rcond=None)[0]
            r = (float(task.noise) ** 2 + float(np.sum(lam[p:] * beta[p:] ** 2))
                 + np.sum(lam[:p] * (b - beta[:p]) ** 2))
            worst = max(worst, abs(mc_risks[j, t] - r) / r)
    return worst


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n")[0], repeats=3, baseline_repeats=1)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--baseline-trials", type=int, default=10)
    ap.add_argument("--check-trials", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    ps = list(GRID)
    pool, n = 10_000, 500
    if a.quick:
        pool, n, ps = 1000, 50, [10, 25, 40, 60, 80, 100, 125, 150, 175, 200]
        a.trials, a.baseline_trials, a.repeats = 20, 4, 1
    info = _common.machine_info()
    _common.print_machine(info)
    task = models.LinearTask.power_law(pool=pool, n=n, noise=0.5, a=1.0, b=0.0)
    lam, beta = np.asarray(task.eigenvalues), np.asarray(task.signal)
    key = jax.random.key(a.seed)
    print(f"problem : power law, pool {pool}, n {n}, sigma 0.5, p in {ps}")

    call = lambda: sims.dense_risk(task, p=np.array(ps), trials=a.trials, key=key)  # noqa: E731
    t_first, mc = _common.first_call(call)
    wall = _common.time_call(call, a.repeats)
    cpu = _common.cpu_time(call, a.repeats)
    base = lambda: numpy_curve(lam, beta, float(task.noise), n, ps, a.baseline_trials, a.seed)  # noqa: E731
    t0, c0 = time.perf_counter(), time.process_time()
    ref = base()
    bwall, bcpu = [time.perf_counter() - t0], [time.process_time() - c0]

    risks = np.asarray(mc.risks)                                  # (points, trials)
    exact = same_draw_check(task, ps, key, a.trials, risks, min(a.check_trials, a.trials))
    assert exact < 1e-8, f"same-draw check: max rel. diff {exact:.3g}"
    m1, s1 = risks.mean(1), risks.std(1, ddof=1) / math.sqrt(a.trials)
    m2, s2 = ref.mean(1), ref.std(1, ddof=1) / math.sqrt(a.baseline_trials)
    z = np.abs(m1 - m2) / np.sqrt(s1**2 + s2**2)
    assert np.all(z < 6), f"means disagree: z = {np.round(z, 2)}"

    jax_rate = a.trials / statistics.median(wall)                  # curves' trials per s
    base_rate = a.baseline_trials / statistics.median(bwall)
    jax_rate_cpu = a.trials / statistics.median(cpu)
    base_rate_cpu = a.baseline_trials / statistics.median(bcpu)
    print(f"JAX first call (compile + run): {t_first:.1f} s")
    print(f"JAX  : {jax_rate:8.2f} curve-trials/s wall, {jax_rate_cpu:8.2f} per CPU-s "
          f"({a.trials} trials x {len(ps)} points, median of {a.repeats})")
    print(f"NumPy: {base_rate:8.2f} curve-trials/s wall, {base_rate_cpu:8.2f} per CPU-s "
          f"({a.baseline_trials} trials, draw + lstsq per point and trial)")
    print(f"ratio: {jax_rate / base_rate:.1f}x wall, {jax_rate_cpu / base_rate_cpu:.1f}x CPU time "
          f"(target >= 5x); same-draw max rel. diff {exact:.1e}; means z <= {z.max():.2f}")
    _common.write_json(
        _common.result_name("sims_curve", info, a.tag or ("quick" if a.quick else "")),
        {"benchmark": "sims_curve", "machine": info, "problem": {"pool": pool, "n": n, "p": ps},
         "trials": a.trials, "baseline_trials": a.baseline_trials, "jax_first_call_s": t_first,
         "jax_wall_s": wall, "jax_cpu_s": cpu, "baseline_wall_s": bwall, "baseline_cpu_s": bcpu,
         "ratio_wall": jax_rate / base_rate, "ratio_cpu": jax_rate_cpu / base_rate_cpu,
         "same_draw_max_rel_diff": exact, "z_max": float(z.max()),
         "mean_jax": m1, "mean_numpy": m2}, a.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
