"""Pruned risk against the keep fraction s/p at fixed model sizes p.

Example E2 of the ``docs/linear.md`` (40 strong features with variance 1 carrying all
the signal, weak pure-noise features with variance 0.05; n = 100, sigma = 1).  The min-norm
fit of the first p features (p = 300 and p = 800 by default) is pruned to s weights by
magnitude (MP), Hessian/saliency (HP) or the oracle support (OP), without retraining.  Lines:
theory (``asymptotics.pruned_risk``); markers: Monte Carlo means +-2 standard errors
(``sims.pruned_risk``, all s pruned from the same fits).  Dotted: training least squares
directly on the s most informative features (``asymptotics.train_small_risk``, exact
(n-1)/(n-s-1) form), with its own simulation (``sims.train_small_risk``).

    python figures/pruning_vs_keep.py [--trials 100] [--p 300 800] [--outdir out/pruning_vs_keep]
    overparam figure pruning-vs-keep
"""

from __future__ import annotations

import time
from pathlib import Path

try:
    from . import _common
except ImportError:  # run as a script
    import _common

import jax  # noqa: E402
import numpy as np  # noqa: E402

import asymptotics as asy  # noqa: E402
import models  # noqa: E402
import overparam  # noqa: E402
import sims  # noqa: E402
from overparam import _io, _plots  # noqa: E402

MC_S = np.array([5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 95])
QUICK_S = np.array([10, 40, 80])
RULES = ("magnitude", "saliency", "oracle")
LABEL = {"magnitude": "magnitude (MP)", "saliency": "Hessian (HP)", "oracle": "oracle (OP)"}
COLOR = {"magnitude": _plots.COLORS[1], "saliency": _plots.COLORS[0], "oracle": _plots.COLORS[2]}


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n\n")[0], "out/pruning_vs_keep")
    ap.add_argument("--trials", type=int, default=100, help="Monte Carlo trials per model size")
    ap.add_argument("--p", type=int, nargs="+", default=[300, 800], help="model sizes (one panel each)")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--noise", type=float, default=1.0)
    ap.add_argument("--quick", action="store_true", help="3 keep values, few trials (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.trials = min(args.trials, 8)
        args.p = args.p[:1]
    if args.trials < 2:
        raise models.InputError(f"--trials: got {args.trials}; allowed: integers >= 2")
    n = args.n
    ps = np.array(args.p)
    if np.any(ps <= n):
        raise models.InputError(f"--p: got {ps.tolist()}; allowed: sizes above n = {n} "
                                "(overparameterized fits)")
    s_mc = QUICK_S if args.quick else MC_S
    s_mc = s_mc[(s_mc < n - 1) & (s_mc <= ps.min())]
    task = models.LinearTask.two_level(strong=40, lam_strong=1.0, lam_weak=0.05, n=n,
                                       noise=args.noise, pool=int(ps.max()))
    outdir = Path(args.outdir)
    t0 = time.perf_counter()
    s_line = np.arange(1, min(n - 2, ps.min()) + 1)
    small_line = asy.train_small_risk(task, keep=s_line, n=n).exact
    small_mc = asy.train_small_risk(task, keep=s_mc, n=n).exact
    key = jax.random.key(args.seed)
    mc = sims.pruned_risk(task, p=ps, keep=s_mc, rule=RULES, retrain=("none",),
                          trials=args.trials, key=key)
    st = mc.summary()                                                  # (P, K, R, M)
    mean, se = st.mean, st.stderr
    small = sims.train_small_risk(task, keep=s_mc, n=n, trials=args.trials,
                                  key=jax.random.fold_in(key, 1)).summary()   # (K,)
    t_mc = time.perf_counter() - t0

    def sim_row(p, s, rule, retrain, summ, at):
        return dict(p=int(p), keep=int(s), rule=rule, retrain=retrain,
                    risk_mean=float(summ.mean[at]), risk_stderr=float(summ.stderr[at]),
                    risk_median=float(summ.median[at]), trials=int(summ.finite[at]),
                    nonfinite_trials=int(summ.nonfinite[at]))

    t_rows, s_rows = [], []

    fig, axes = _plots.new_figure(ncols=len(ps), width=4.4, height=3.6)
    for j, p in enumerate(ps):
        ax = axes[j]
        line = asy.pruned_risk(task, p=int(p), keep=s_line, rule=RULES, throw=False)
        th = asy.pruned_risk(task, p=int(p), keep=s_mc, rule=RULES, throw=False)
        for r, rule in enumerate(RULES):
            ax.plot(s_line / p, line.risk[:, r], color=COLOR[rule], zorder=2,
                    label=f"{LABEL[rule]}, theory")
            ax.errorbar(s_mc / p, mean[j, :, r, 0], yerr=2 * se[j, :, r, 0], fmt="o", ms=4,
                        color=COLOR[rule], mfc="white", mew=1.2, elinewidth=1.0, zorder=3,
                        label=f"{LABEL[rule]}, simulation")
            for k, s in enumerate(s_mc):
                t_rows.append(dict(p=int(p), n=n, keep=int(s), keep_fraction=float(s / p),
                                   rule=rule, retrain="none", risk=float(th.risk[k, r]),
                                   status=str(asy.status_names(th.status[k, r])),
                                   threshold=float(th.threshold[k, r]),
                                   kept_signal=float(th.kept_signal[k, r])))
                s_rows.append(sim_row(p, s, rule, "none", st, (j, k, r, 0)))
        ax.plot(s_line / p, small_line, color="0.15", ls=":", lw=1.5, zorder=2,
                label="train small on the s best features, theory")
        ax.errorbar(s_mc / p, small.mean, yerr=2 * small.stderr, fmt="D", ms=3.5,
                    color="0.15", mfc="0.15", elinewidth=1.0, zorder=3,
                    label="train small, simulation")
        for k, s in enumerate(s_mc):
            t_rows.append(dict(p=int(p), n=n, keep=int(s), keep_fraction=float(s / p),
                               rule="train-small", retrain="none", risk=float(small_mc[k]),
                               status="converged", threshold="", kept_signal=float(min(s, 40))))
            s_rows.append(sim_row(p, s, "train-small", "none", small, (k,)))
        ax.axvline(40 / p, color="0.6", ls="-", lw=0.8, zorder=0)
        ax.annotate("s = 40\n(signal size)", xy=(40 / p, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(-3, -3), textcoords="offset points", fontsize=8, color="0.35",
                    ha="right", va="top")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plots.plain_ticks(ax.yaxis)
        ax.set_yticks([1.25, 1.5, 2, 3, 5])
        ax.set_ylim(1.2, 5.5)
        _plots.plain_ticks(ax.xaxis, minor=False)
        ax.set_xlabel("keep fraction $s/p$")
        ax.set_title(f"({'ab'[j] if j < 2 else j + 1}) model size p = {p}")
    axes[0].set_ylabel("test risk after pruning")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False, fontsize=8.5)
    fig.suptitle(f"Pruned risk against keep fraction, example E2, n={n}, $\\sigma$={args.noise:g}; "
                 f"markers: mean $\\pm$2 s.e. of {args.trials} trials", fontsize=10)
    params = {"figure": "pruning-vs-keep", **vars(args), "task": task.describe(), "mc_keep": s_mc,
              "rules": RULES}
    cmp_ = overparam.compare(t_rows, s_rows)
    names = {"risk": "theory", "risk_mean": "mc_mean", "risk_stderr": "mc_stderr"}
    rows = [{names.get(k, k): v for k, v in r.items()} for r in cmp_.rows()]
    _io.save_figure(fig, outdir / "pruning_vs_keep.png", parameters=params)
    _io.write_csv(outdir / "pruning_vs_keep.csv", rows, parameters=params)
    _plots.close(fig)
    ok = cmp_.agrees()[cmp_.judged]
    worst = max((r for r in rows if r["z"] != ""), key=lambda r: abs(r["z"]))
    rule_text = f"{cmp_.agreement.n_stderr:g} s.e. + {cmp_.agreement.allowance:.0%}"
    print(f"pruning-vs-keep: {int(ok.sum())}/{ok.size} points within {rule_text} of theory (largest |z| "
          f"{abs(worst['z']):.2f}: p={worst['p']}, s={worst['keep']}, {worst['rule']}, "
          f"{worst['retrain']}); simulation {t_mc:.1f} s, total {time.perf_counter() - t0:.1f} s "
          f"-> {outdir}/pruning_vs_keep.png")
    return 0


if __name__ == "__main__":
    _common.run_main(main)
