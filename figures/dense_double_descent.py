"""Dense double descent of min-norm / ridge least squares: theory vs Monte Carlo.

Two-level spectrum of example E2 of ``docs/linear.md`` section 6 (40 strong features with variance 1
carrying all the signal, weak features with variance 0.05; n = 100, sigma = 1).
(a) ridgeless: the risk diverges at p = n and descends again; (b) ridge penalties flatten
the peak.  Lines: theory (``asymptotics.dense_risk``); markers: Monte Carlo means with
+-2 standard errors (``sims.dense_risk``), independent of the theory.

    python figures/dense_double_descent.py [--trials 200] [--outdir out/demo]
    overparam figure dense-double-descent
"""

from __future__ import annotations

import time
from pathlib import Path

try:
    from . import _common
except ImportError:  # run as a script
    import _common

import jax  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

import asymptotics as asy  # noqa: E402
import models  # noqa: E402
import overparam  # noqa: E402
import sims  # noqa: E402
from overparam import _io, _plots  # noqa: E402

MC_P = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90, 110, 125, 150, 200, 300, 400, 600, 800,
                 1000, 1200])
RIDGES = (0.0, 0.01, 0.1)


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n\n")[0], "out/demo")
    ap.add_argument("--trials", type=int, default=200, help="Monte Carlo trials per point")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--noise", type=float, default=1.0)
    ap.add_argument("--pool", type=int, default=1200)
    args = ap.parse_args(argv)
    if args.trials < 2:
        raise models.InputError(f"--trials: got {args.trials}; allowed: integers >= 2")
    task = models.LinearTask.two_level(strong=40, lam_strong=1.0, lam_weak=0.05, n=args.n,
                                       noise=args.noise, pool=args.pool)
    outdir = Path(args.outdir)
    t0 = time.perf_counter()
    p_line = np.unique(np.concatenate([np.round(np.geomspace(1, task.pool_size, 600)), [args.n]])).astype(int)
    p_mc = MC_P[MC_P <= task.pool_size]
    ridges = np.array(RIDGES)
    th = asy.dense_risk(task, p=p_mc[:, None], ridge=ridges[None, :], throw=False)
    mc = sims.dense_risk(task, p=p_mc[:, None], ridge=ridges[None, :], trials=args.trials,
                         key=jax.random.key(args.seed))
    cmp_ = overparam.compare(th, mc)
    rows = cmp_.rows()
    params = {"figure": "dense-double-descent", **vars(args), "task": task.describe(),
              "mc_p": p_mc, "ridges": ridges}
    _io.write_csv(outdir / "dense_double_descent.csv", rows, parameters=params)

    fig, (ax_a, ax_b) = _plots.new_figure(ncols=2, width=4.6, height=3.5)
    for j, r in enumerate(ridges):
        line = asy.dense_risk(task, p=p_line, ridge=r, throw=False)
        ax = ax_a if r == 0 else ax_b
        color = _plots.COLORS[j]
        lab = "ridgeless" if r == 0 else rf"ridge $\lambda_r$={r:g}"
        _plots.theory_vs_mc(ax, p_line, line.risk, p_mc, mc.mean[:, j], 2 * mc.stderr[:, j],
                            color=color, label=f"theory, {lab}", mc_label=f"Monte Carlo, {lab}")
    for ax, title in ((ax_a, "(a) min-norm / OLS"), (ax_b, "(b) ridge")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plots.mark_threshold(ax, args.n)
        ax.set_xlabel("model size $p$ (first $p$ features)")
        ax.set_title(title)
        ax.legend(frameon=False, loc="upper left")
        ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_yticks([1.5, 2, 3, 5, 10, 20])
    ax_a.set_ylabel(r"test risk $\sigma^2 + \|b-\beta\|_\Sigma^2$")
    finite = mc.mean[np.isfinite(mc.mean)]
    for ax in (ax_a, ax_b):
        ax.set_ylim(0.8 * min(finite.min(), np.nanmin(th.risk)), 30)
    fig.suptitle(f"Dense double descent, two-level spectrum (40 strong features), n={args.n}, "
                 f"$\\sigma$={args.noise:g}; markers: mean $\\pm$2 s.e. of {args.trials} trials",
                 fontsize=10)
    _io.save_figure(fig, outdir / "dense_double_descent.png", parameters=params)
    _plots.close(fig)
    ok = cmp_.agrees()[cmp_.judged]
    rule = cmp_.agreement
    print(cmp_.table())
    print(f"dense-double-descent: {int(ok.sum())}/{ok.size} judged points within "
          f"{rule.n_stderr:g} s.e. + {rule.allowance:.0%} (ridgeless |p-n| < {rule.peak_band:g}n "
          f"not judged); {time.perf_counter() - t0:.1f} s -> {outdir}/dense_double_descent.png")
    return 0


if __name__ == "__main__":
    _common.run_main(main)
