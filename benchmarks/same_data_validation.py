"""Validation of the same-data retraining theory against the engine's simulation.

For each problem of :data:`PROBLEMS` (two-level, power-law and isotropic spectra; SNR
0.25 to 100; ``s/n`` 0.1 to 0.5; ``p`` from 1.2n to 12n) and both data-dependent rules
(magnitude, saliency), the conditional-Gaussian prediction
(:func:`asymptotics.same_data_risk`, ``docs/same_data_retraining.md``) is compared with
``sims.pruned_risk(..., retrain="same")`` at >= 2000 trials per point; the fixed-support
(fresh-data) formula is printed beside it.  Writes ``docs/same_data_validation.csv``.

    python benchmarks/same_data_validation.py [--trials 2000] [--only NAME ...] [--sims-only]

The simulations are cached (with resume) under ``out/same_data_validation/``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import jax
import numpy as np

import models

models.cpu_scheduler_workaround()
models.enable_x64()

import sims  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "out" / "same_data_validation"
CSV = ROOT / "docs" / "same_data_validation.csv"
RULES = ("magnitude", "saliency")


def _problems():
    LT = models.LinearTask
    return {
        # name: (task, keep, p grid)
        "E2": (LT.two_level(strong=40, lam_strong=1, lam_weak=0.05, n=100, noise=1.0, pool=1200),
               40, [120, 200, 400, 800, 1200]),
        "iso-snr4": (LT.isotropic(pool=2400, n=200, noise=0.5, support=20), 20,
                     [240, 600, 1200, 2400]),
        "iso-snr0.25": (LT.isotropic(pool=1200, n=100, noise=1.0, support=20, signal_power=0.25),
                        30, [120, 300, 1200]),
        "iso-snr100": (LT.isotropic(pool=1200, n=100, noise=0.1, support=10), 10,
                       [150, 400, 1200]),
        "two-level-snr100": (LT.two_level(strong=10, lam_strong=1, lam_weak=0.05, n=100,
                                          noise=0.1, pool=1200), 10, [150, 400, 1200]),
        "two-level-s50": (LT.two_level(strong=20, lam_strong=1, lam_weak=0.2, n=100, noise=0.5,
                                       pool=1200), 50, [120, 300, 800, 1200]),
        "power-law-snr4": (LT.power_law(pool=1200, n=100, noise=0.5, a=1.0, b=0.5), 20,
                           [120, 160, 300, 600, 1200]),
        "power-law-snr100": (LT.power_law(pool=1200, n=100, noise=0.1, a=1.5, b=0.25), 50,
                             [150, 400, 1200]),
        "power-law-snr0.25": (LT.power_law(pool=1200, n=100, noise=2.0, a=0.5, b=0.5), 10,
                              [150, 600, 1200]),
    }


PROBLEMS = _problems


def simulate(name, task, keep, p, trials, seed=0, chunk=100):
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{name}_t{trials}.npz"
    if path.exists():
        return dict(np.load(path))
    mc = sims.pruned_risk(task, p=np.asarray(p), keep=keep, rule=RULES, retrain=("none", "same"),
                          trials=trials, key=jax.random.key(seed), chunk=chunk,
                          checkpoint=CACHE / f"{name}_t{trials}.ckpt")
    res = dict(p=np.asarray(p), keep=keep, risks=mc.risks[:, 0], dense=mc.dense)  # (P, R, M, T)
    np.savez(path, **res)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--sims-only", action="store_true")
    args = ap.parse_args(argv)
    probs = PROBLEMS()
    names = args.only or list(probs)
    for name in names:
        task, keep, p = probs[name]
        t0 = time.perf_counter()
        simulate(name, task, keep, p, args.trials)
        print(f"{name}: simulated in {time.perf_counter() - t0:.1f} s", flush=True)
    if args.sims_only:
        return 0
    rows = table(probs, names, args.trials)
    cols = list(rows[0])
    with open(CSV, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {CSV.relative_to(ROOT)} ({len(rows)} rows)")
    worst = max(rows, key=lambda r: abs(r["rel_err"]) - 2 * r["mc_rel_stderr"])
    ok = sum(r["within_3pct_2se"] for r in rows)
    print(f"{ok}/{len(rows)} (problem, p, rule) within 3 % + 2 s.e.; worst: {worst['problem']} "
          f"p={worst['p']} {worst['rule']}: {100 * worst['rel_err']:+.2f} % "
          f"(s.e. {100 * worst['mc_rel_stderr']:.2f} %)")
    return 0


def table(probs, names, trials) -> list[dict]:
    """Theory next to the cached simulation, one row per (problem, p, rule)."""
    import asymptotics as asy

    rows = []
    for name in names:
        task, keep, p = probs[name]
        mc = simulate(name, task, keep, p, trials)
        p = np.asarray(p)
        cg = asy.same_data_risk(task, p=p, keep=keep, rule=RULES, throw=False)
        pr = asy.pruned_risk(task, p=p, keep=keep, rule=RULES, throw=False)
        lam, beta = np.asarray(task.eigenvalues), np.asarray(task.signal)
        snr = float(np.sum(lam * beta**2)) / float(task.noise) ** 2
        for i, pp in enumerate(p):
            for j, rule in enumerate(RULES):
                same = mc["risks"][i, j, 1]
                none = mc["risks"][i, j, 0]
                mean, se = float(np.mean(same)), float(np.std(same, ddof=1) / np.sqrt(same.size))
                th = float(cg.risk[i, j])
                fixed = float(cg.fixed_support[i, j])
                rel = th / mean - 1
                rows.append(dict(
                    problem=name, spectrum=task.name, n=task.n, p=int(pp),
                    p_over_n=round(pp / task.n, 3), keep=keep, keep_over_n=keep / task.n,
                    snr=round(snr, 4), rule=rule, trials=int(same.size), mc_mean=mean,
                    mc_stderr=se, mc_rel_stderr=se / mean, theory=th, rel_err=rel,
                    z=(mean - th) / se,
                    within_3pct_2se=bool(abs(mean - th) <= 0.03 * abs(mean) + 2 * se),
                    fixed_support=fixed, fixed_support_rel_err=fixed / mean - 1,
                    unanchored=float(cg.unanchored[i, j]),
                    unanchored_rel_err=float(cg.unanchored[i, j]) / mean - 1,
                    pruned_theory=float(pr.risk[i, j]), pruned_mc=float(np.mean(none)),
                    pruned_rel_err=float(pr.risk[i, j]) / float(np.mean(none)) - 1,
                    method=cg.method, status=str(asy.status_names(cg.status[i, j]))))
    return rows


if __name__ == "__main__":
    sys.exit(main())
