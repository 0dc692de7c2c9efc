"""Check of the conditional model behind the same-data retraining theory, trial by trial.

For real trials (draw X, y; fit min-norm; prune by magnitude or saliency; refit on the same
data) this keeps the realized ``(alpha, b, e)`` and

* **conditional MC**: resamples the rest of the design, ``Z = alpha_hat c^T + e_hat f^T +
  P_alpha^perp Z' P_dbar^perp`` (``Z'`` fresh i.i.d. N(0, 1)), refits on the same support and
  averages the refit excess -- the model of step 1 of ``docs/same_data_retraining.md``;
* **closed form**: ``asymptotics._same_data.refit_excess`` (step 2) at the realized summaries
  (``c_S.c_S``, ``c_S.dbar_S``, ``D``, ``D_S``, ``d_bU``, ``b_U2``, ``c_r``, ``||e_perp||``);
* **prototype**: the refit formula of the first draft (``../shared/theory``; spiked-Wishart
  plug-in with ``N = n - 2``), for comparison;

and compares them with the realized excess ``||theta_S - beta_S||^2_Lambda`` of the real
refits (whose mean the conditional model must reproduce).  Writes
``docs/same_data_conditional_check.csv``.

    python benchmarks/same_data_conditional_check.py [--trials 40] [--resamples 60]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

import models

models.enable_x64()

from asymptotics._same_data import refit_excess  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "docs" / "same_data_conditional_check.csv"


def _cases():
    lam_e2 = np.r_[np.ones(40), np.full(1160, 0.05)]
    beta_e2 = np.r_[np.full(40, 40**-0.5), np.zeros(1160)]
    lam_c = np.r_[np.ones(10), np.full(1190, 0.05)]
    beta_c = np.r_[np.full(10, 10**-0.5), np.zeros(1190)]
    beta_i = np.r_[np.full(20, 20**-0.5), np.zeros(1180)]
    return [  # name, lam, beta, noise, n, p, s, rule
        ("E2", lam_e2, beta_e2, 1.0, 100, 200, 40, "magnitude"),
        ("E2", lam_e2, beta_e2, 1.0, 100, 800, 40, "magnitude"),
        ("E2", lam_e2, beta_e2, 1.0, 100, 800, 40, "saliency"),
        ("isotropic, sigma 0.5", np.ones(1200), beta_i, 0.5, 100, 300, 20, "magnitude"),
        ("two-level 10 strong, sigma 0.2", lam_c, beta_c, 0.2, 100, 150, 10, "magnitude"),
        ("two-level 10 strong, sigma 0.05 (certain support)", lam_c, beta_c, 0.05, 100, 400, 10,
         "magnitude"),
    ]


def real_trial(rng, lam, beta, noise, n, p, s, rule):
    lam, beta = lam[:p], beta[:p]
    Z = rng.standard_normal((n, p))
    X = Z * np.sqrt(lam)
    e = noise * rng.standard_normal(n)
    y = X @ beta + e
    alpha = np.linalg.solve(X @ X.T, y)
    b = X.T @ alpha
    score = np.abs(b) * (np.sqrt(lam) if rule == "saliency" else 1.0)
    S = np.argsort(-score)[:s]
    theta = np.linalg.lstsq(X[:, S], y, rcond=None)[0]
    return dict(Z=Z, e=e, alpha=alpha, b=b, S=S, lam=lam, beta=beta,
                excess=float(np.sum(lam[S] * (theta - beta[S]) ** 2)))


def geometry(t):
    alpha, b, e, lam, beta = (t[k] for k in ("alpha", "b", "e", "lam", "beta"))
    a = np.linalg.norm(alpha)
    ah = alpha / a
    c = b / (np.sqrt(lam) * a)
    dbar = np.sqrt(lam) * (b - beta)
    D = dbar @ dbar
    eperp = e - ah * (ah @ e)
    ne = np.linalg.norm(eperp)
    return ah, c, dbar, D, eperp, ne


def conditional_mc(t, reps, rng):
    """Refit excess with the design resampled given (alpha, b, e)."""
    ah, c, dbar, D, eperp, ne = geometry(t)
    n, p = t["Z"].shape
    S, lam, beta, e = t["S"], t["lam"], t["beta"], t["e"]
    bt = np.sqrt(lam) * beta
    out = np.empty(reps)
    for k in range(reps):
        W = rng.standard_normal((n, p))
        W -= np.outer(ah, ah @ W)
        W -= np.outer(W @ dbar, dbar) / D
        Zn = np.outer(ah, c) + np.outer(eperp / ne, dbar * ne / D) + W
        phi = np.linalg.lstsq(Zn[:, S], Zn @ bt + e, rcond=None)[0]
        out[k] = np.sum((phi - bt[S]) ** 2)
    return out.mean()


def summaries(t):
    ah, c, dbar, D, eperp, ne = geometry(t)
    n = t["Z"].shape[0]
    S = t["S"]
    U = np.setdiff1d(np.arange(t["lam"].size), S)
    bt = np.sqrt(t["lam"]) * t["beta"]
    f = dbar * ne / D
    return dict(n=n, s=S.size, cc=c[S] @ c[S], cd=c[S] @ dbar[S], D=D, DS=dbar[S] @ dbar[S],
                dbU=dbar[U] @ bt[U], bU2=bt[U] @ bt[U], c_r=ah @ t["e"] + c[U] @ bt[U],
                ne=ne, cf=c[S] @ f[S], ff=f[S] @ f[S], fd=f[S] @ dbar[S],
                e_r=ne + f[U] @ bt[U])


def prototype_refit(q):
    """The refit step of the first draft (spiked-Wishart plug-in, N = n - 2)."""
    n, s = q["n"], q["s"]
    cc, cf, ff, DS, cd, fd = (q[k] for k in ("cc", "cf", "ff", "DS", "cd", "fd"))
    DU = q["D"] - DS
    kU = q["dbU"] / DU
    om2 = max(q["bU2"] - q["dbU"] ** 2 / DU, 0.0)
    yF = np.array([q["c_r"] + kU * cd, q["e_r"] + kU * fd])
    N = n - 2
    k1, k3 = 1 / (N - s - 1), 1 / ((N - s) * (N - s - 1) * (N - s - 3))
    pv = lambda x, u, w: x + u * w / DU  # noqa: E731
    FF = np.array([[pv(cc, cd, cd), pv(cf, cd, fd)], [pv(cf, cd, fd), pv(ff, fd, fd) + s]])
    Fd = np.array([pv(cd, cd, DS), pv(fd, fd, DS)])
    IH = np.linalg.inv(np.eye(2) + k1 * FF)
    u = IH @ yF
    q2, trPi = 2 / DU + DS / DU**2, s + DS / DU
    FF2 = np.array([[cc + q2 * cd**2, cf + q2 * cd * fd],
                    [cf + q2 * cd * fd, ff + q2 * fd**2 + trPi]])
    FB2F = k3 * ((N - s - 1) * FF2 + trPi * FF)
    trK = k1 * trPi - np.trace(IH @ FB2F)
    return (u @ FB2F @ u - 2 * kU * k1 * Fd @ u + kU**2 * DS
            + om2 * (trK - np.trace(IH @ FB2F @ IH)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--resamples", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    rows = []
    for name, lam, beta, noise, n, p, s, rule in _cases():
        real, cond, closed, proto = [], [], [], []
        for _ in range(args.trials):
            t = real_trial(rng, lam, beta, noise, n, p, s, rule)
            q = summaries(t)
            real.append(t["excess"])
            cond.append(conditional_mc(t, args.resamples, rng))
            keys = ("n", "s", "cc", "cd", "D", "DS", "dbU", "bU2", "c_r")
            closed.append(float(refit_excess(*(q[k] for k in keys), se2=q["ne"] ** 2 / (n - 1))))
            proto.append(prototype_refit(q))
        real, cond, closed, proto = map(np.array, (real, cond, closed, proto))
        ratio = closed / cond
        rows.append(dict(case=name, n=n, p=p, keep=s, rule=rule, trials=args.trials,
                         resamples=args.resamples, realized=real.mean(),
                         realized_stderr=real.std(ddof=1) / np.sqrt(real.size),
                         conditional_mc=cond.mean(),
                         conditional_mc_stderr=cond.std(ddof=1) / np.sqrt(cond.size),
                         closed_form=closed.mean(), closed_over_conditional=ratio.mean(),
                         closed_over_conditional_stderr=ratio.std(ddof=1) / np.sqrt(ratio.size),
                         prototype=proto.mean(), prototype_over_conditional=(proto / cond).mean()))
        r = rows[-1]
        print(f"{name:50s} p={p:4d} {rule:9s} realized {r['realized']:.4g}"
              f"+-{r['realized_stderr']:.2g} conditional {r['conditional_mc']:.4g} "
              f"closed/cond {r['closed_over_conditional']:.4f}"
              f"+-{r['closed_over_conditional_stderr']:.4f} prototype/cond "
              f"{r['prototype_over_conditional']:.4f}", flush=True)
    with open(CSV, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {CSV.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
