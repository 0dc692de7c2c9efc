"""Benchmark: a pruned-risk curve (3 rules x 200 model sizes) in one compiled call vs a
per-point SciPy evaluation.

Problem: the power-law pool of ``bench_theory.py`` (``lambda_i = i^-1``, ``beta_i``
constant with ``sum lambda_i beta_i^2 = 1``, pool of 10^4 features, ``n = 2000``, noise
``sigma = 0.5``, ridgeless), pruned to ``keep = 200`` weights, 200 model sizes ``p`` evenly
spaced from 250 to 10^4 (``p = n`` excluded: the risk is infinite there), rules magnitude,
saliency (Hessian / optimal brain damage) and oracle (``docs/linear.md`` section 4).

* JAX: ``asymptotics.pruned_risk(task, p=grid, keep=200, rule=("magnitude", "saliency",
  "oracle"))`` -- the public entry point (host validation; on a CPU the curve solver of
  ``asymptotics/_pruned_curve.py``: the dense curve, the threshold by continuation along the
  sorted grid with truncated passes, the bracketed Newton for the points it does not
  certify; elsewhere one jitted ``vmap`` of the per-point solver; results back to NumPy).  The first call is timed separately (compile + run); then the
  median of ``--repeats`` calls.
* Baseline: what a researcher writes by hand -- a Python loop over the grid; per point,
  ``scipy.optimize.brentq`` for ``kappa`` (as in ``bench_theory.py``), the closed form
  ``gamma^2``, then per rule: magnitude -- ``brentq`` in ``c`` on
  ``sum_{i<=p} P(|Z_i| >= c) = s`` with ``Z_i ~ N(w_i beta_i, (w_i gamma)^2/(n lambda_i))``
  and ``scipy.stats.norm``; saliency -- the same with per-coordinate threshold
  ``c'/sqrt(lambda_i)``; oracle -- the ``s`` largest ``lambda_i beta_i^2``; then the closed
  forms ``E[(Z-b)^2 1{Z > a}] = (d^2+v^2) Q(z) + (2dv + v^2 z) phi(z)`` (and the lower tail)
  for the pruned risk.  Every brentq runs at its tightest relative tolerance.

Both must agree: ``max |risk_jax - risk_scipy| / risk_scipy < 1e-8`` over every point and
rule that JAX reports converged (an assertion); points with status ``not_converged`` are
counted, printed and recorded (see README, Findings: the threshold bisection's stopping rule
in ``asymptotics/_pruning.py`` cannot always be met in float64).  Speed is reported, never
asserted.

Usage: ``python benchmarks/bench_pruned.py [--quick] [--points N] [--pool K] [--n N]
[--keep S] [--repeats R] [--baseline-repeats R] [--out-dir DIR] [--tag TAG]``.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import asymptotics as asy
import models
from scipy.optimize import brentq
from scipy.stats import norm

import _common
from bench_theory import p_grid, scipy_point

RTOL_AGREE = 1e-8
RULES = ("magnitude", "saliency", "oracle")
_BRENTQ = dict(xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)


# ----------------------------------------------------------------------------- baseline
def _sq_err_above(m, v, b, a):
    """E[(Z - b)^2 1{Z > a}], Z ~ N(m, v^2)."""
    d, z = m - b, (a - m) / v
    return (d**2 + v**2) * norm.sf(z) + (2 * d * v + v**2 * z) * norm.pdf(z)


def _sq_err_below(m, v, b, a):
    """E[(Z - b)^2 1{Z < a}], Z ~ N(m, v^2)."""
    d, z = m - b, (a - m) / v
    return (d**2 + v**2) * norm.cdf(z) - (2 * d * v + v**2 * z) * norm.pdf(z)


def _tail(m, v, a):
    """P(|Z| >= a), Z ~ N(m, v^2) (``a`` per coordinate)."""
    return norm.sf((a - m) / v) + norm.cdf((-a - m) / v)


def _threshold(m, v, scale, s):
    """``c`` with ``sum_i P(|Z_i| >= c / scale_i) = s`` (brentq in ``c``)."""
    if s >= m.size:
        return 0.0
    hi = float(np.max(scale * (np.abs(m) + 40.0 * v)))
    return brentq(lambda c: np.sum(_tail(m, v, c / scale)) - s, 0.0, hi, **_BRENTQ)


def scipy_point_pruned(lam, beta, noise2, n, p, ridge, s):
    """One model size, every rule, the straightforward NumPy/SciPy way.

    Returns ``(kappa, dense_risk, [risk per rule], [threshold per rule])``."""
    beta2 = beta**2
    kappa, gamma2 = scipy_point(lam, beta2, noise2, n, p, ridge)
    lp, bp, b2p = lam[:p], beta[:p], beta2[:p]
    sigma_p2 = noise2 + np.sum(lam[p:] * beta2[p:])
    w = lp / (lp + kappa)
    m = w * bp
    v = w * np.sqrt(gamma2) / np.sqrt(n * lp)
    risks, thresholds = [], []
    for rule in RULES:
        if rule == "oracle":
            order = np.argsort(-(lp * b2p), kind="stable")
            keep = np.zeros(p)
            keep[order[:s]] = 1.0
            kept_sq = keep * ((m - bp) ** 2 + v**2)
            c = np.nan
        else:
            scale = np.sqrt(lp) if rule == "saliency" else np.ones(p)
            c = _threshold(m, v, scale, s)
            a = c / scale
            keep = _tail(m, v, a)
            kept_sq = _sq_err_above(m, v, bp, a) + _sq_err_below(m, v, bp, -a)
        risks.append(sigma_p2 + np.sum(lp * (kept_sq + b2p * (1.0 - keep))))
        thresholds.append(c)
    return kappa, gamma2, risks, thresholds


def scipy_curve(lam, beta, noise2, n, ps, ridge, s):
    risk = np.empty((len(ps), len(RULES)))
    thr = np.empty((len(ps), len(RULES)))
    kap = np.empty(len(ps))
    for j, p in enumerate(ps):
        kap[j], _, risk[j], thr[j] = scipy_point_pruned(lam, beta, noise2, n, int(p), ridge, s)
    return kap, risk, thr


# ----------------------------------------------------------------------------- benchmark
def run_case(task, ps, keep, ridge, repeats, baseline_repeats, info):
    lam = np.asarray(task.eigenvalues)
    beta = np.asarray(task.signal)
    noise2 = float(task.noise) ** 2
    n = task.n
    K = lam.shape[0]

    # --- JAX, public API
    # throw=False: points whose threshold solve hits its step limit are reported (their
    # count is recorded) and left out of the agreement check instead of aborting the run.
    call = lambda: asy.pruned_risk(task, p=ps, keep=keep, rule=RULES, ridge=ridge,  # noqa: E731
                                   throw=False)
    t_first, curve = _common.first_call(call)
    times = _common.time_call(call, repeats)
    t_jax = statistics.median(times)

    # --- baseline
    t0 = time.perf_counter()
    kap_ref, risk_ref, thr_ref = scipy_curve(lam, beta, noise2, n, ps, ridge, keep)
    btimes = [time.perf_counter() - t0]
    btimes += _common.time_call(lambda: scipy_curve(lam, beta, noise2, n, ps, ridge, keep),
                                baseline_repeats - 1)
    t_base = statistics.median(btimes)

    # --- agreement
    conv = curve.status == asy.Status.CONVERGED
    unconverged = {r: int((~conv[:, j]).sum()) for j, r in enumerate(RULES)}
    if not conv.all():
        print(f"  WARNING: JAX status not_converged at {int((~conv).sum())} (point, rule) pairs "
              f"{unconverged}; p = {ps[(~conv).any(1)].tolist()[:12]} ...; left out of the "
              "agreement check")
    assert conv.mean() > 0.5, "JAX theory: most points unconverged"
    assert np.all(np.isfinite(risk_ref)), "SciPy: non-finite risk"
    assert np.all(np.isfinite(curve.risk[conv])), "JAX: non-finite risk at a converged point"
    rel = np.where(conv, np.abs(curve.risk - risk_ref) / np.abs(risk_ref), 0.0)
    max_rel = float(rel.max())
    per_rule = {r: float(rel[:, j].max()) for j, r in enumerate(RULES)}
    i, j = np.unravel_index(rel.argmax(), rel.shape)
    assert max_rel < RTOL_AGREE, (f"pruned theory vs SciPy: max rel. risk diff {max_rel:.3g} "
                                  f"at p={ps[i]}, rule {RULES[j]}")
    tmask = conv & np.isfinite(thr_ref) & (thr_ref > 0)
    trel = np.abs(curve.threshold[tmask] - thr_ref[tmask]) / thr_ref[tmask]

    # Work estimate (rough; elementwise, no matmul): under vmap every lane runs the slowest
    # lane's iteration count over all K pool atoms.  Dense: ~10 flops per atom per Newton
    # step plus a ~15-flop closing pass; per magnitude-type rule: ~55 bisection steps (an
    # interval of 65 in log c to rtol 1e-13) of two normal CDFs (~25 flops each) per atom,
    # plus a ~100-flop closing pass; oracle: a stable sort and a ~20-flop pass.
    padded = 1 << max(0, int(len(ps) - 1).bit_length())
    per_atom = 10.0 * 6 + 15 + 2 * (55 * 2 * 25 + 100) + 20
    flops = per_atom * K * padded
    res = {
        "ridge": ridge, "keep": int(keep), "rules": list(RULES), "points": int(len(ps)),
        "p_min": int(ps.min()), "p_max": int(ps.max()), "pool": int(K), "n": int(n),
        "jax_first_call_s": t_first, "jax_compile_s_est": max(t_first - t_jax, 0.0),
        "jax": _common.summary(times),
        "baseline": _common.summary(btimes),
        "ratio": t_base / t_jax,
        "max_rel_risk_diff": max_rel, "max_rel_risk_diff_per_rule": per_rule,
        "unconverged_per_rule": unconverged,
        "max_rel_threshold_diff": float(trel.max()) if trel.size else 0.0,
        "max_rel_kappa_diff": float(np.max(np.abs(curve.kappa[kap_ref > 0] - kap_ref[kap_ref > 0])
                                           / kap_ref[kap_ref > 0])) if np.any(kap_ref > 0) else 0.0,
        "flops_est": flops,
        "flop_per_s_est": flops / t_jax,
    }
    return _common.add_peak_fraction(res, info, "flop_per_s_est")


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n")[0], repeats=5)
    ap.add_argument("--points", type=int, default=200)
    ap.add_argument("--pool", type=int, default=10_000)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--keep", type=int, default=200)
    ap.add_argument("--p-min", type=int, default=250)
    ap.add_argument("--ridges", type=float, nargs="+", default=[0.0])
    a = ap.parse_args(argv)
    if a.quick:
        a.points, a.pool, a.n, a.keep, a.p_min = 40, 1000, 200, 20, 25
        a.repeats, a.baseline_repeats = 3, 1

    info = _common.machine_info()
    _common.print_machine(info)
    task = models.LinearTask.power_law(pool=a.pool, n=a.n, noise=0.5, a=1.0, b=0.0)
    ps = p_grid(a.points, a.p_min, a.pool, a.n)
    print(f"problem : power law lambda_i = i^-1, pool {a.pool}, n {a.n}, sigma 0.5, keep "
          f"{a.keep}, rules {', '.join(RULES)}, {len(ps)} points p in [{ps.min()}, {ps.max()}]")

    cases = []
    for r in a.ridges:
        res = run_case(task, ps, a.keep, r, a.repeats, a.baseline_repeats, info)
        cases.append(res)
        print(f"\nridge = {r:g}")
        print(f"  JAX first call (compile + run) : {res['jax_first_call_s']:.3f} s")
        print(f"  JAX pruned_risk (median of {res['jax']['repeats']})  : "
              f"{res['jax']['median_s'] * 1e3:.2f} ms")
        print(f"  SciPy loop (median of {res['baseline']['repeats']})       : "
              f"{res['baseline']['median_s'] * 1e3:.1f} ms")
        print(f"  ratio SciPy / JAX              : {res['ratio']:.1f}x")
        print(f"  agreement: max rel. risk diff {res['max_rel_risk_diff']:.2e} ("
              + ", ".join(f"{k} {v:.1e}" for k, v in res["max_rel_risk_diff_per_rule"].items())
              + f"); threshold {res['max_rel_threshold_diff']:.2e}, kappa "
              f"{res['max_rel_kappa_diff']:.2e}")
        line = f"  est. {res['flop_per_s_est'] / 1e9:.2f} GFLOP/s (elementwise, not matmul)"
        if "fraction_of_fp64_matmul_peak" in res:
            line += f" = {100 * res['fraction_of_fp64_matmul_peak']:.3f}% of FP64 matmul peak"
        print(line)

    payload = {"benchmark": "pruned", "machine": info, "quick": a.quick,
               "problem": {"spectrum": "power-law a=1 b=0", "noise": 0.5, "pool": a.pool,
                           "n": a.n, "keep": a.keep, "rules": list(RULES),
                           "points": int(len(ps))},
               "cases": cases}
    _common.write_json(_common.result_name("pruned", info, a.tag or ("quick" if a.quick else "")),
                       payload, a.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
