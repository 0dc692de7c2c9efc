"""Benchmark: random-features theory over a width grid vs a per-width NumPy/SciPy loop.

Problem (the issue's sizes): ``d = 200``, 20 widths ``p`` log-spaced from 50 to 4000 (the
ridgeless threshold ``p = n`` excluded), ``n = 1000``, centred ReLU features, rows of ``W``
uniform on the unit sphere, a normalised Gaussian teacher, noise ``sigma = 0.5``, ridgeless.

* JAX: ``asymptotics.rf_dense_risk(task, p=widths)`` -- the public entry point (spectrum of
  every width from running Gram sums of the rows and one batched ``eigh`` of ``d x d``
  matrices, the fixed point vmapped over the grid, results back to NumPy).  The first call is
  timed separately (compile + run); then the median of ``--repeats`` calls.
* Baseline: what a researcher writes by hand -- per width, form
  ``M = mu1^2 W_p W_p^T + mu_star^2 I_p`` (``p x p``), ``numpy.linalg.eigh(M)``, project
  ``beta_F = M^-1 c`` (``c = mu1 W_p theta``) on the eigenvectors, ``scipy.optimize.brentq``
  on ``sum_i lam_i / (lam_i + kappa) = n`` and the closed-form ``gamma^2``.

Both must agree: ``max |risk_jax - risk_numpy| / risk_numpy < 1e-8`` (an assertion).  Speed
is reported, never asserted; the target is >= 20x on CPU.

Usage: ``python benchmarks/bench_rf.py [--quick] [--widths N] [--d D] [--p-max P] [--n N]
[--repeats R] [--baseline-repeats R] [--out-dir DIR]``.
"""

from __future__ import annotations

import statistics
import sys
import time

import jax
import numpy as np
from scipy.optimize import brentq

import asymptotics as asy
import models

import _common

RTOL_AGREE = 1e-8


def numpy_curve(w, theta, noise2, n, widths, mu1, mu_star):
    """Per width: dense ``p x p`` second moment, ``eigh``, brentq, closed-form risk."""
    out = np.empty((len(widths), 2))
    ey2 = float(theta @ theta) + noise2
    for j, p in enumerate(widths):
        wp = w[:p]
        m = mu1**2 * (wp @ wp.T) + mu_star**2 * np.eye(p)
        lam, u = np.linalg.eigh(m)
        c = mu1 * (wp @ theta)
        proj = u.T @ c                                  # U^T c; beta_F = U diag(1/lam) U^T c
        beta2 = (proj / lam) ** 2
        sigma2 = ey2 - float(np.sum(proj**2 / lam))     # E y^2 - c^T M^-1 c
        if p < n:
            kappa = 0.0
        else:
            kappa = brentq(lambda k: np.sum(lam / (lam + k)) - n, 0.0, np.sum(lam) / n,
                           xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=500)
        dd = lam + kappa
        df2 = np.sum((lam / dd) ** 2)
        shrink = kappa**2 * np.sum(lam * beta2 / dd**2)
        out[j] = kappa, (sigma2 + shrink) / (1.0 - df2 / n)
    return out[:, 0], out[:, 1]


def widths_grid(count: int, lo: int, hi: int, n: int) -> np.ndarray:
    p = np.unique(np.round(np.geomspace(lo, hi, count)).astype(np.int64))
    p = p[np.abs(p - n) > 1]          # the ridgeless threshold is inf (and +-1 ill-posed)
    return p


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n")[0], repeats=5, baseline_repeats=1)
    ap.add_argument("--widths", type=int, default=20)
    ap.add_argument("--d", type=int, default=200)
    ap.add_argument("--p-max", type=int, default=4000)
    ap.add_argument("--n", type=int, default=1000)
    a = ap.parse_args(argv)
    if a.quick:
        a.widths, a.d, a.p_max, a.n, a.repeats = 8, 40, 400, 100, 3

    info = _common.machine_info()
    _common.print_machine(info)
    task = models.RFTask.draw(jax.random.key(0), d=a.d, pool=a.p_max, n=a.n, noise=0.5)
    ps = widths_grid(a.widths, max(10, a.d // 4), a.p_max, a.n)
    print(f"problem : centred ReLU random features, d {a.d}, n {a.n}, sigma 0.5, "
          f"{len(ps)} widths p in [{ps.min()}, {ps.max()}]")

    call = lambda: asy.rf_dense_risk(task, p=ps)  # noqa: E731
    t_first, curve = _common.first_call(call)
    times = _common.time_call(call, a.repeats)
    t_jax = statistics.median(times)

    w, theta = np.asarray(task.weights), np.asarray(task.teacher)
    _, mu1, mu_star = (float(v) for v in models.ge_coefficients("relu"))
    noise2 = float(task.noise) ** 2
    t0 = time.perf_counter()
    kap_ref, risk_ref = numpy_curve(w, theta, noise2, a.n, ps, mu1, mu_star)
    btimes = [time.perf_counter() - t0]
    btimes += _common.time_call(lambda: numpy_curve(w, theta, noise2, a.n, ps, mu1, mu_star),
                                a.baseline_repeats - 1)
    t_base = statistics.median(btimes)

    assert np.all(curve.status == asy.Status.CONVERGED), "JAX theory: unconverged widths"
    rel = np.abs(curve.risk - risk_ref) / np.abs(risk_ref)
    max_rel = float(rel.max())
    assert max_rel < RTOL_AGREE, f"theory vs NumPy: max rel. risk diff {max_rel:.3g} at p={ps[rel.argmax()]}"
    kmask = kap_ref > 0
    krel = float((np.abs(curve.kappa[kmask] - kap_ref[kmask]) / kap_ref[kmask]).max()) if kmask.any() else 0.0

    res = {"widths": ps, "d": a.d, "n": a.n, "jax_first_call_s": t_first,
           "jax": _common.summary(times), "baseline": _common.summary(btimes),
           "ratio": t_base / t_jax, "max_rel_risk_diff": max_rel, "max_rel_kappa_diff": krel}
    print(f"  JAX first call (compile + run)   : {t_first:.3f} s")
    print(f"  JAX rf_dense_risk (median of {a.repeats})  : {t_jax * 1e3:.1f} ms")
    print(f"  NumPy eigh + brentq loop (median of {len(btimes)}): {t_base * 1e3:.1f} ms")
    print(f"  ratio NumPy / JAX                : {res['ratio']:.1f}x (target >= 20x on CPU)")
    print(f"  agreement: max rel. risk diff {max_rel:.2e}, kappa {krel:.2e}")
    payload = {"benchmark": "rf-theory", "machine": info, "quick": a.quick,
               "problem": {"activation": "relu", "centred": True, "law": "sphere", "d": a.d,
                           "n": a.n, "p_max": a.p_max, "noise": 0.5},
               "target_ratio": 20.0, "case": res}
    _common.write_json(_common.result_name("rf", info, a.tag or ("quick" if a.quick else "")),
                       payload, a.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
