"""Sparse double descent: pruned risk at a fixed kept size s against model size p.

Mathematics: ``docs/linear.md`` sections 4-6, example E2 (40 strong features with variance 1 carrying
all the signal, weak pure-noise features with variance 0.05; n = 100, sigma = 1), every fit
pruned to s = 40 weights.  (a) pruning without retraining: magnitude (MP), Hessian/saliency
(HP) and oracle (OP) theory lines (``asymptotics.pruned_risk``) over Monte Carlo means +-2
standard errors (``sims.pruned_risk``, independent of the theory).  (b) retraining the kept
weights by least squares: on fresh data (theory line and simulation) and on the same data
that chose the support (magnitude and saliency: the conditional-Gaussian approximation of
``asymptotics.same_data_risk``, ``docs/same_data_retraining.md``, drawn for p > n where it
applies; the oracle support does not depend on the data, so its same-data refit has the exact
fixed-support formula).  The train-small baseline (least squares on the pool's 40 most
informative features, exact (n-1)/(n-s-1) formula, and its own simulation
``sims.train_small_risk``) is drawn in both panels; the dashed line marks p = n, where the
ridgeless risk diverges.  Agreement is judged by ``overparam.compare``.

    python figures/sparse_double_descent.py [--trials 150] [--outdir out/sparse_double_descent]
    overparam figure sparse-double-descent
"""

from __future__ import annotations

import dataclasses
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

#: Monte Carlo model sizes: none within 10% of p = n (finite-n effects dominate there).
MC_P = np.array([40, 45, 50, 60, 70, 80, 85, 120, 135, 150, 175, 200, 250, 300, 400, 500,
                 600, 800, 1000, 1200])
QUICK_P = np.array([300])
RULES = ("magnitude", "saliency", "oracle")
MODES = ("none", "same", "fresh")
LABEL = {"magnitude": "magnitude (MP)", "saliency": "Hessian (HP)", "oracle": "oracle (OP)"}
COLOR = {"magnitude": _plots.COLORS[1], "saliency": _plots.COLORS[0], "oracle": _plots.COLORS[2],
         "dense": "0.55", "baseline": "0.15"}
MARKER = {"none": "o", "same": "s", "fresh": "^"}


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n\n")[0], "out/sparse_double_descent")
    ap.add_argument("--trials", type=int, default=150, help="Monte Carlo trials per model size")
    ap.add_argument("--keep", type=int, default=40, help="weights kept after pruning (s)")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--noise", type=float, default=1.0)
    ap.add_argument("--pool", type=int, default=1200, help="largest model size")
    ap.add_argument("--quick", action="store_true", help="3 model sizes, few trials (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.trials = min(args.trials, 8)
        args.pool = min(args.pool, 300)
    if args.trials < 2:
        raise models.InputError(f"--trials: got {args.trials}; allowed: integers >= 2")
    s, n = args.keep, args.n
    if not 1 <= s < n - 1:
        raise models.InputError(f"--keep: got {s}; allowed: 1 <= keep <= n - 2 (retraining)")
    task = models.LinearTask.two_level(strong=40, lam_strong=1.0, lam_weak=0.05, n=n,
                                       noise=args.noise, pool=args.pool)
    outdir = Path(args.outdir)
    t0 = time.perf_counter()
    p_mc = (QUICK_P if args.quick else MC_P)
    p_mc = p_mc[(p_mc >= s) & (p_mc <= task.pool_size) & (np.abs(p_mc - n) >= 0.1 * n)]
    # theory: lines on a dense grid, points on the Monte Carlo grid
    p_line = np.unique(np.concatenate([np.round(np.geomspace(s, task.pool_size, 500)),
                                       np.arange(max(s, n - 12), min(n + 13, task.pool_size + 1))])).astype(int)
    p_line = p_line[p_line != n]
    line = asy.pruned_risk(task, p=p_line, keep=s, rule=RULES, throw=False)
    th = asy.pruned_risk(task, p=p_mc, keep=s, rule=RULES, throw=False)
    # same-data retraining (magnitude, saliency): the conditional-Gaussian prediction, p > n
    # (one call for the line and the Monte Carlo points: one compiled grid)
    p_same = p_line[p_line > n]
    same = asy.same_data_risk(task, p=np.concatenate([p_same, p_mc]), keep=s, rule=RULES[:2],
                              throw=False)
    same_line = dataclasses.replace(same, risk=same.risk[:p_same.size])
    same_mc = dataclasses.replace(same, risk=same.risk[p_same.size:])
    baseline = float(asy.train_small_risk(task, keep=s, n=n).exact)
    # simulation: p < n and p > n in separate calls (two small compiled functions)
    key = jax.random.key(args.seed)
    mc_parts = []
    for j, sel in enumerate((p_mc < n, p_mc > n)):
        if sel.any():
            mc_parts.append(sims.pruned_risk(task, p=p_mc[sel], keep=s, rule=RULES, retrain=MODES,
                                             trials=args.trials, key=jax.random.fold_in(key, j)))
    small = sims.train_small_risk(task, keep=s, n=n, trials=args.trials,
                                  key=jax.random.fold_in(key, 2)).summary()
    risks = np.concatenate([m.risks[:, 0] for m in mc_parts])         # (P, R, M, T)
    dense = np.concatenate([m.dense for m in mc_parts])               # (P, T)
    t_mc = time.perf_counter() - t0
    st, dst = sims.summarize(risks), sims.summarize(dense)
    mean, se = st.mean, st.stderr

    # theory and simulation rows, joined by the one comparison of the project
    def sim_row(p, rule, mode, summ, at):
        return dict(p=int(p), n=n, rule=rule, retrain=mode, risk_mean=float(summ.mean[at]),
                    risk_stderr=float(summ.stderr[at]), risk_median=float(summ.median[at]),
                    trials=int(summ.finite[at]), nonfinite_trials=int(summ.nonfinite[at]))

    t_rows, s_rows = [], []
    for i, p in enumerate(p_mc):
        t_rows.append(dict(p=int(p), n=n, rule="dense", retrain="none", risk=float(th.dense_risk[i]),
                           status="converged", theory_source="dense (gamma^2)"))
        s_rows.append(sim_row(p, "dense", "none", dst, (i,)))
        for r, rule in enumerate(RULES):
            for m, mode in enumerate(MODES):
                if mode == "none":
                    val, src = th.risk[i, r], "pruned closed form"
                elif mode == "fresh" or rule == "oracle":
                    # the oracle support does not depend on the data: refitting on the same
                    # data is OLS on a fixed support, the same exact formula as fresh data
                    val, src = th.retrain_exact[i, r], "fixed-support retraining, exact"
                elif p > n:
                    # selection bias: the conditional-Gaussian approximation (min-norm, p > n)
                    val = same_mc.risk[i, r]
                    src = "conditional-gaussian approximation (docs/same_data_retraining.md)"
                else:
                    val, src = np.nan, "none: simulation only (p < n)"
                t_rows.append(dict(p=int(p), n=n, rule=rule, retrain=mode,
                                   risk=float(val) if np.isfinite(val) else "",
                                   status="converged" if np.isfinite(val) else "no_theory",
                                   theory_source=src))
                s_rows.append(sim_row(p, rule, mode, st, (i, r, m)))
    t_rows.append(dict(p=s, n=n, rule="train-small", retrain="none", risk=baseline,
                       status="converged", theory_source="train-small, exact"))
    s_rows.append(sim_row(s, "train-small", "none", small, ()))
    cmp_ = overparam.compare(t_rows, s_rows)
    rows = []
    for row in cmp_.rows():
        rows.append(dict(p=row["p"], n=n, keep=s, rule=row["rule"], retrain=row["retrain"],
                         theory=row["risk"], theory_source=row["theory_source"],
                         mc_mean=row["risk_mean"], mc_stderr=row["risk_stderr"], z=row["z"],
                         rel_err="" if row["z"] == "" else (row["risk_mean"] - row["risk"]) / row["risk"],
                         agrees=row["agrees"], near_peak=bool(abs(row["p"] - n) < 0.1 * n),
                         trials=row["trials"]))
    params = {"figure": "sparse-double-descent", **vars(args), "task": task.describe(),
              "mc_p": p_mc, "rules": RULES, "retrain": MODES, "train_small_exact": baseline}
    cols = ["p", "n", "keep", "rule", "retrain", "theory", "theory_source", "mc_mean", "mc_stderr",
            "z", "rel_err", "agrees", "near_peak", "trials"]
    _io.write_csv(outdir / "sparse_double_descent.csv", rows, columns=cols, parameters=params)
    same_at = {int(q): j for j, q in enumerate(p_same)}
    line_rows = [dict(p=int(p), n=n, keep=s, rule=rule, dense_risk=float(line.dense_risk[i]),
                      risk=float(line.risk[i, r]), retrain_fresh=float(line.retrain_exact[i, r]),
                      threshold=float(line.threshold[i, r]),
                      kept_signal=float(line.kept_signal[i, r]),
                      retrain_same=(float(same_line.risk[same_at[int(p)], r])
                                    if p > n and r < 2 else ""))
                 for i, p in enumerate(p_line) for r, rule in enumerate(RULES)]
    _io.write_csv(outdir / "sparse_double_descent_theory.csv", line_rows, parameters=params)

    # ---- figure
    fig, (ax_a, ax_b) = _plots.new_figure(ncols=2, width=4.7, height=3.9)
    pl, y = _common.split_at(p_line, line.dense_risk, n)
    ax_a.plot(pl, y, color=COLOR["dense"], lw=1.2, ls="-", alpha=0.8, zorder=1,
              label="dense fit (theory)")
    for r, rule in enumerate(RULES):
        pl, y = _common.split_at(p_line, line.risk[:, r], n)
        ax_a.plot(pl, y, color=COLOR[rule], zorder=2, label=f"{LABEL[rule]}, theory")
        ax_a.errorbar(p_mc, mean[:, r, 0], yerr=2 * se[:, r, 0], fmt=MARKER["none"], ms=4,
                      color=COLOR[rule], mfc="white", mew=1.2, elinewidth=1.0, zorder=3,
                      label=f"{LABEL[rule]}, simulation")
    for r, rule in enumerate(RULES[:2]):
        ri = RULES.index(rule)
        pl, y = _common.split_at(p_line, line.retrain_exact[:, ri], n)
        ax_b.plot(pl, y, color=COLOR[rule], ls="--", zorder=2,
                  label=f"{LABEL[rule]} + retrain, fresh data (theory)")
        ax_b.errorbar(p_mc, mean[:, ri, 2], yerr=2 * se[:, ri, 2], fmt=MARKER["fresh"], ms=4.5,
                      color=COLOR[rule], mfc="white", mew=1.2, elinewidth=1.0, zorder=3,
                      label=f"{LABEL[rule]} + retrain, fresh data (simulation)")
        ax_b.plot(p_same, same_line.risk[:, ri], color=COLOR[rule], ls="-", lw=1.2, zorder=2,
                  label=f"{LABEL[rule]} + retrain, same data (conditional-Gaussian approx.)")
        ax_b.errorbar(p_mc, mean[:, ri, 1], yerr=2 * se[:, ri, 1], fmt=MARKER["same"], ms=4,
                      color=COLOR[rule], mfc=COLOR[rule], mew=1.0, elinewidth=1.0, zorder=3,
                      alpha=0.85, label=f"{LABEL[rule]} + retrain, same data (simulation)")
    for ax in (ax_a, ax_b):
        ax.axhline(baseline, color=COLOR["baseline"], ls=":", lw=1.4, zorder=1,
                   label=f"train small on the {s} informative features: theory {baseline:.3f}, "
                         f"simulation {float(small.mean):.3f} $\\pm$ {2 * float(small.stderr):.3f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plots.mark_threshold(ax, n)
        ax.set_xlabel("model size $p$ (first $p$ features)")
        _plots.plain_ticks(ax.yaxis)
        ax.set_yticks([1.25, 1.5, 2, 3, 4, 6])
        ax.set_ylim(1.2, 6.5)
        ax.set_xlim(s * 0.9, task.pool_size * 1.1)
        ax.set_xticks([t for t in (40, 100, 200, 500, 1000) if s * 0.9 <= t <= task.pool_size * 1.1])
        _plots.plain_ticks(ax.xaxis)
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=1,
                  fontsize=8.5)
    ax_a.set_ylabel(r"test risk after pruning to $s$ weights")
    ax_a.set_title(f"(a) prune to s={s}, no retraining")
    ax_b.set_title(f"(b) prune to s={s}, then retrain by least squares")
    fig.suptitle(f"Sparse double descent, example E2 (40 strong features), n={n}, "
                 f"$\\sigma$={args.noise:g}; markers: mean $\\pm$2 s.e. of {args.trials} trials",
                 fontsize=10)
    _io.save_figure(fig, outdir / "sparse_double_descent.png", parameters=params)
    _plots.close(fig)

    # ---- agreement table
    tested = [r for r in rows if r["agrees"] != "" and not r["near_peak"]]
    rule_text = (f"{cmp_.agreement.n_stderr:g} s.e. + {cmp_.agreement.allowance:.0%}")
    head = f"{'p':>6} {'rule':>10} {'retrain':>8} {'theory':>9} {'mc mean':>9} {'stderr':>8} {'z':>7}  ok"
    print(head + "\n" + "-" * len(head))
    for r in rows:
        th_s = f"{r['theory']:>9.4f}" if r["theory"] != "" else f"{'--':>9}"
        z_s = f"{r['z']:>7.2f}" if r["z"] != "" else f"{'':>7}"
        ok_s = "" if r["agrees"] == "" else ("yes" if r["agrees"] else "NO")
        print(f"{r['p']:>6} {r['rule']:>10} {r['retrain']:>8} {th_s} {r['mc_mean']:>9.4f} "
              f"{r['mc_stderr']:>8.4f} {z_s}  {ok_s}")
    n_ok = sum(bool(r["agrees"]) for r in tested)
    print(f"sparse-double-descent: {n_ok}/{len(tested)} (p, rule, retrain) points within {rule_text} "
          f"of theory (|p-n| < 0.1n excluded; same-data retraining: conditional-Gaussian "
          f"approximation for p > n); "
          f"simulation {t_mc:.1f} s, total {time.perf_counter() - t0:.1f} s -> "
          f"{outdir}/sparse_double_descent.png")
    return 0


if __name__ == "__main__":
    _common.run_main(main)
