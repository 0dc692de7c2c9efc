"""Random-features sparse double descent: the test risk of a second layer pruned to s weights
against the width p.

Mathematics: ``docs/random_features.md``, worked example E3 (centred ReLU features of rows
of W uniform on the sphere, d = 50, a normalised Gaussian teacher, n = 100, sigma = 0.5, the
min-norm / OLS second layer pruned by magnitude to s = 40 weights).  Theory conditional on
W, drawn twice: with the exact second moment of the nonlinear features and the radial
correction of ReLU features (solid lines, ``second_moment="exact", radial=True``, the finite-d
theory; ``docs/random_features.md``, "Radial correction") and with the Gaussian equivalent
(dashed, the library default) -- dense risk ``asymptotics.rf_dense_risk``; magnitude-pruned
and fresh-data-retrained risks ``asymptotics.rf_pruned_risk`` (means over draws of the
coordinate law, common random numbers across widths); train-small (OLS on the first s
features) ``asymptotics.rf_train_small``.  Simulation: the actual nonlinear features, exact
risks (``sims.rf_pruned_risk``, ``sims.rf_train_small_risk``), independent of the theory.
(a) dense and pruned without retraining; (b) pruned, then retrained by least squares on the
kept features: on fresh data (theory and simulation) and on the same data that chose the
support (simulation only: selection bias, no closed form for random features).  The
train-small baseline (theory line, simulated band) is drawn in both panels; the dashed
vertical line marks p = n, where the ridgeless risk diverges.

Agreement (``overparam.compare``), one rule per theory, none tuned: the finite-d theory
``|mc - theory| <= 3 s.e. + 2 %`` (the finite-n error of the deterministic equivalent, the
project's float64 rule; rows ``*-exact-moment`` in the table); the Gaussian equivalent
``3 s.e. + 5 %`` (the upper end of its measured dense-risk error at d = 50, 2-5 %,
``docs/random_features.md``, E3).  Measured at the default settings (300 trials, 4096 draws,
key 0; 2026-12-02), widths >= 2n (7 widths x dense, pruned, pruned + fresh refit): every
point within its rule for both theories, and **inside +-2 s.e. with no allowance: the
finite-d theory 21/21** (z -1.1 to +1.7; train-small z -1.8), the Gaussian equivalent 7/21
(dense 4.0-4.9 % low).  Without the radial correction the exact-moment theory was inside
+-2 s.e. at 10/21 (its dense risk 1.4-2.9 % low, z +2.5 to +4.0): the radius ``||x||`` of the
Gaussian inputs fluctuates by ``(2/d)^(1/2)`` = 20 % at d = 50, which no second-moment theory
sees; min-norm interpolation turns it into a training noise ``sigma^2 d/(d-2)``.  About 70 s
on 2 cores (theory 60 s, most of it the exact-moment pruned theory, run twice).

    python figures/rf_sparse_double_descent.py [--trials 300] [--outdir out/rf_sparse_double_descent]
    overparam figure rf-sparse-double-descent
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

#: Monte Carlo widths (E3 grid, refined); those within 10 % of p = n are dropped.
MC_P = np.array([40, 50, 60, 70, 80, 120, 135, 150, 175, 200, 250, 300, 400, 500, 600, 800])
QUICK_P = np.array([200, 800])
#: Gaussian-equivalence allowance: upper end of the documented 2-5 % dense-risk error at d = 50
GE_ALLOWANCE = 0.05
AGREEMENT = overparam.Agreement(3.0, GE_ALLOWANCE)
#: the exact-moment theory: only the finite-n allowance of the deterministic equivalent (the
#: project's float64 rule, 3 s.e. + 2 %; tests/test_rf_exact_moment.py states why)
EXACT_AGREEMENT = overparam.AGREEMENT["float64"]
EXACT_SUFFIX = "-exact-moment"
RULE = "magnitude"
MODES = ("none", "same", "fresh")
COLOR = {"dense": "0.55", "none": _plots.COLORS[1], "fresh": _plots.COLORS[0],
         "same": _plots.COLORS[3], "baseline": "0.15"}
MARKER = {"dense": "D", "none": "o", "same": "s", "fresh": "^"}
#: line style of the Gaussian-equivalent theory (the solid lines are the exact-moment theory with the radial correction)
GE_STYLE = (0, (4, 2.5))


def _status(values) -> np.ndarray:
    v = np.asarray(values, float)
    return np.where(np.isfinite(v), "converged", np.where(np.isinf(v), "diverged", "not_converged"))


def check_args(args) -> None:
    """Every flag, before anything is computed or written (``models.InputError``)."""
    need = _common.need
    need("trials", args.trials, args.trials >= 2, "integers >= 2")
    need("draws", args.draws, args.draws >= 2, "integers >= 2")
    need("d", args.d, args.d >= 1, "integers >= 1")
    need("n", args.n, args.n >= 3, "integers >= 3 (retraining needs keep <= n - 2)")
    need("keep", args.keep, 1 <= args.keep <= args.n - 2,
         f"integers in [1, n - 2] = [1, {args.n - 2}] (retraining by least squares)")
    need("pool", args.pool, args.pool >= args.keep, f"integers >= keep = {args.keep}")
    need("noise", args.noise, np.isfinite(args.noise) and args.noise >= 0, "finite values >= 0")


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n\n")[0], "out/rf_sparse_double_descent")
    ap.add_argument("--trials", type=int, default=300, help="Monte Carlo trials per width")
    ap.add_argument("--draws", type=int, default=4096,
                    help="draws of the coordinate law per width (pruned theory)")
    ap.add_argument("--keep", type=int, default=40, help="weights kept after pruning (s)")
    ap.add_argument("--n", type=int, default=100, help="training samples")
    ap.add_argument("--d", type=int, default=50, help="input dimension")
    ap.add_argument("--pool", type=int, default=800, help="rows of W drawn (largest width)")
    ap.add_argument("--noise", type=float, default=0.5, help="label noise sigma")
    ap.add_argument("--weights-seed", type=int, default=0,
                    help="W and teacher: models.RFTask.draw(jax.random.key(SEED)); 0 is E3")
    ap.add_argument("--quick", action="store_true",
                    help="2 widths, 8 trials, 256 draws, a coarse theory grid (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.trials = min(args.trials, 8)
        args.draws = min(args.draws, 256)
    check_args(args)
    s, n = args.keep, args.n
    t0 = time.perf_counter()
    task = models.RFTask.draw(jax.random.key(args.weights_seed), d=args.d, pool=args.pool, n=n,
                              noise=args.noise, activation="relu")
    outdir = Path(args.outdir)
    P = task.pool_size
    p_mc = QUICK_P if args.quick else MC_P
    p_mc = p_mc[(p_mc >= s) & (p_mc <= P) & (np.abs(p_mc - n) >= 0.1 * n)]
    if p_mc.size == 0:
        raise models.InputError(f"--pool: got {P}; allowed: a pool holding at least one width of "
                                f"{', '.join(map(str, MC_P))} >= keep and 10 % away from n")

    # ---- theory: a fine grid for the dense line, a coarser one for the sampled pruned lines
    # (the Monte Carlo widths included, so that the markers' theory lies on the lines)
    key = jax.random.key(args.seed)
    p_dense = np.unique(np.concatenate([np.round(np.geomspace(s, P, 120 if args.quick else 400)),
                                        np.arange(max(s, n - 12), min(n + 13, P + 1)), p_mc]))
    p_dense = p_dense[p_dense != n].astype(int)
    near = np.round(n * np.array([0.85, 0.9, 0.95, 0.97, 1.03, 1.05, 1.1, 1.15]))
    p_pruned = np.unique(np.concatenate([np.round(np.geomspace(s, P, 10 if args.quick else 44)),
                                         near, p_mc]))
    p_pruned = p_pruned[(p_pruned >= s) & (p_pruned <= P) & (p_pruned != n)].astype(int)
    dense_line = asy.rf_dense_risk(task, p=p_dense, throw=False)
    dense_th = asy.rf_dense_risk(task, p=p_mc, throw=False)            # the markers' theory
    # the finite-d correction: the same theory with the exact feature second moment and the
    # radial correction of ReLU features (asymptotics/_rf_radial.py)
    exact_line = asy.rf_dense_risk(task, p=p_pruned, throw=False, second_moment="exact",
                                   radial=True)
    exact_th = asy.rf_dense_risk(task, p=p_mc, throw=False, second_moment="exact", radial=True)
    pruned = asy.rf_pruned_risk(task, p=p_pruned, keep=s, rule=(RULE,), retrain="fresh",
                                draws=args.draws, key=jax.random.fold_in(key, 0), throw=False)
    baseline = float(asy.rf_train_small(task, keep=s, n=n))
    # the same pruned theory with the exact second moment (at the markers and near the peak)
    p_exact = p_mc if args.quick else np.unique(np.concatenate([p_mc, near]))
    p_exact = p_exact[(p_exact >= s) & (p_exact <= P) & (p_exact != n)].astype(int)
    pruned_ex = asy.rf_pruned_risk(task, p=p_exact, keep=s, rule=(RULE,), retrain="fresh",
                                   draws=args.draws, key=jax.random.fold_in(key, 0), throw=False,
                                   second_moment="exact", radial=True)
    baseline_ex = float(asy.rf_train_small(task, keep=s, n=n, second_moment="exact",
                                           radial=True))
    t_th = time.perf_counter() - t0

    # ---- simulation: the actual nonlinear features
    mc = sims.rf_pruned_risk(task, p=p_mc, keep=s, rule=(RULE,), retrain=MODES,
                             trials=args.trials, key=jax.random.fold_in(key, 1))
    small = sims.rf_train_small_risk(task, keep=s, trials=args.trials,
                                     key=jax.random.fold_in(key, 2)).summary()
    st = mc.summary(mc.risks[:, 0, mc.rules.index(RULE)])   # (P, M) over trials
    dst = sims.summarize(mc.dense)                    # (P,)
    t_mc = time.perf_counter() - t0 - t_th

    # ---- theory and simulation rows, joined by the one comparison of the project
    at = {int(p): i for i, p in enumerate(pruned.p)}
    th_val = {"none": pruned.pruned[:, 0], "fresh": pruned.fresh[:, 0]}
    th_se = {"none": pruned.pruned_se[:, 0], "fresh": pruned.fresh_se[:, 0]}
    at_ex = {int(p): i for i, p in enumerate(pruned_ex.p)}
    ex_val = {"none": pruned_ex.pruned[:, 0], "fresh": pruned_ex.fresh[:, 0]}
    ex_se = {"none": pruned_ex.pruned_se[:, 0], "fresh": pruned_ex.fresh_se[:, 0]}

    def sim_row(p, keep, rule, mode, summ, ix):
        return dict(p=int(p), n=n, ridge=0.0, keep=int(keep), rule=rule, retrain=mode,
                    risk_mean=float(summ.mean[ix]), risk_stderr=float(summ.stderr[ix]),
                    risk_median=float(summ.median[ix]), trials=int(summ.finite[ix]),
                    nonfinite_trials=int(summ.nonfinite[ix]))

    t_rows, s_rows, ex_rows, ex_sim = [], [], [], []
    for i, p in enumerate(p_mc):
        t_rows.append(dict(p=int(p), n=n, ridge=0.0, keep=int(p), rule="dense", retrain="none",
                           risk=float(dense_th.risk[i]), theory_stderr=0.0,
                           status=str(asy.status_names(dense_th.status[i])),
                           theory_source="rf_dense_risk (gamma^2, Gaussian equivalent)"))
        s_rows.append(sim_row(p, p, "dense", "none", dst, (i,)))
        ex_rows.append(dict(p=int(p), n=n, ridge=0.0, keep=int(p), rule="dense" + EXACT_SUFFIX,
                           retrain="none", risk=float(exact_th.risk[i]), theory_stderr=0.0,
                           status=str(asy.status_names(exact_th.status[i])),
                           theory_source="rf_dense_risk(second_moment='exact', radial=True), finite-d"))
        ex_sim.append(sim_row(p, p, "dense" + EXACT_SUFFIX, "none", dst, (i,)))
        j = at[int(p)]
        for m, mode in enumerate(MODES):
            if mode == "same":
                val, se, src = np.nan, np.nan, "none: simulation only (selection bias)"
            else:
                val, se = float(th_val[mode][j]), float(th_se[mode][j])
                src = (f"rf_pruned_risk, mean of {pruned.draws} draws"
                       + (", fresh-data refit" if mode == "fresh" else ""))
            ok = np.isfinite(val)
            t_rows.append(dict(p=int(p), n=n, ridge=0.0, keep=s, rule=RULE, retrain=mode,
                               risk=val if ok else "", theory_stderr=se if ok else "",
                               status=str(_status(val)) if mode != "same" else "no_theory",
                               theory_source=src))
            s_rows.append(sim_row(p, s, RULE, mode, st, (i, m)))
            if mode == "same":
                continue
            k = at_ex[int(p)]
            val, se = float(ex_val[mode][k]), float(ex_se[mode][k])
            ok = np.isfinite(val)
            ex_rows.append(dict(p=int(p), n=n, ridge=0.0, keep=s, rule=RULE + EXACT_SUFFIX,
                                retrain=mode, risk=val if ok else "",
                                theory_stderr=se if ok else "", status=str(_status(val)),
                                theory_source=f"rf_pruned_risk(second_moment='exact', radial=True), mean of "
                                              f"{pruned_ex.draws} draws"
                                              + (", fresh-data refit" if mode == "fresh" else "")))
            ex_sim.append(sim_row(p, s, RULE + EXACT_SUFFIX, mode, st, (i, m)))
    t_rows.append(dict(p=s, n=n, ridge=0.0, keep=s, rule="train-small", retrain="none",
                       risk=baseline, theory_stderr=0.0, status="converged",
                       theory_source="rf_train_small (first s features, exact for the GE)"))
    s_rows.append(sim_row(s, s, "train-small", "none", small, ()))
    ex_rows.append(dict(p=s, n=n, ridge=0.0, keep=s, rule="train-small" + EXACT_SUFFIX,
                        retrain="none", risk=baseline_ex, theory_stderr=0.0, status="converged",
                        theory_source="rf_train_small(second_moment='exact', radial=True)"))
    ex_sim.append(sim_row(s, s, "train-small" + EXACT_SUFFIX, "none", small, ()))
    cmp_rows = (overparam.compare(t_rows, s_rows, value="risk", agreement=AGREEMENT).rows()
                + overparam.compare(ex_rows, ex_sim, value="risk",
                                    agreement=EXACT_AGREEMENT).rows())
    rows = []
    for row in cmp_rows:
        has = row["z"] != ""
        rows.append(dict(
            p=row["p"], n=n, ridge=0.0, keep=row["keep"], rule=row["rule"], retrain=row["retrain"],
            theory=row["risk"], theory_stderr=row["theory_stderr"],
            theory_source=row["theory_source"], mc_mean=row["risk_mean"],
            mc_stderr=row["risk_stderr"], z=row["z"],
            rel_err=(row["risk_mean"] - row["risk"]) / row["risk"] if has else "",
            agrees=row["agrees"],
            within_2se=bool(abs(row["z"]) <= 2.0) if has else "",
            near_peak=bool(abs(row["p"] - n) < 0.1 * n), wide=bool(row["p"] >= 2 * n),
            trials=row["trials"]))
    params = {"figure": "rf-sparse-double-descent", **vars(args), "task": task.describe(),
              "mc_p": p_mc, "rule": RULE, "retrain": MODES, "draws_used": pruned.draws,
              "train_small_theory": baseline,
              "train_small_theory_exact_moment": baseline_ex, "exact_moment_p": p_exact,
              "agreement": {"n_stderr": AGREEMENT.n_stderr, "allowance": AGREEMENT.allowance,
                            "allowance_source": "Gaussian-equivalence error 2-5 % on the dense "
                                                "risk at d = 50, docs/random_features.md (E3)"},
              "agreement_exact_moment": {
                  "n_stderr": EXACT_AGREEMENT.n_stderr, "allowance": EXACT_AGREEMENT.allowance,
                  "allowance_source": "finite-n error of the deterministic equivalent "
                                      "(docs/linear.md section 6)"}}
    cols = ["p", "n", "ridge", "keep", "rule", "retrain", "theory", "theory_stderr",
            "theory_source", "mc_mean", "mc_stderr", "z", "rel_err", "agrees", "within_2se",
            "near_peak", "wide", "trials"]
    _io.write_csv(outdir / "rf_sparse_double_descent.csv", rows, columns=cols, parameters=params)
    dense_names = asy.status_names(dense_line.status)
    line_rows = [dict(p=int(p), n=n, keep=int(p), curve="dense", risk=float(dense_line.risk[i]),
                      stderr=0.0, status=str(dense_names[i]), kappa=float(dense_line.kappa[i]))
                 for i, p in enumerate(dense_line.p)]
    for curve, mode in (("magnitude", "none"), ("magnitude+fresh", "fresh")):
        line_rows += [dict(p=int(p), n=n, keep=s, curve=curve, risk=float(th_val[mode][i]),
                           stderr=float(th_se[mode][i]), status=str(_status(th_val[mode][i])),
                           kappa=float(pruned.kappa[i])) for i, p in enumerate(pruned.p)]
    line_rows.append(dict(p=s, n=n, keep=s, curve="train-small", risk=baseline, stderr=0.0,
                          status="converged", kappa=0.0))
    line_rows += [dict(p=int(p), n=n, keep=int(p), curve="dense" + EXACT_SUFFIX,
                       risk=float(exact_line.risk[i]), stderr=0.0,
                       status=str(asy.status_names(exact_line.status[i])),
                       kappa=float(exact_line.kappa[i])) for i, p in enumerate(exact_line.p)]
    for curve, mode in (("magnitude", "none"), ("magnitude+fresh", "fresh")):
        line_rows += [dict(p=int(p), n=n, keep=s, curve=curve + EXACT_SUFFIX,
                           risk=float(ex_val[mode][i]), stderr=float(ex_se[mode][i]),
                           status=str(_status(ex_val[mode][i])), kappa=float(pruned_ex.kappa[i]))
                      for i, p in enumerate(pruned_ex.p)]
    line_rows.append(dict(p=s, n=n, keep=s, curve="train-small" + EXACT_SUFFIX, risk=baseline_ex,
                          stderr=0.0, status="converged", kappa=0.0))
    _io.write_csv(outdir / "rf_sparse_double_descent_theory.csv", line_rows,
                  columns=["p", "n", "keep", "curve", "risk", "stderr", "status", "kappa"],
                  parameters=params)

    # ---- figure
    mean, se = st.mean, st.stderr
    fig, (ax_a, ax_b) = _plots.new_figure(ncols=2, width=4.7, height=3.9)
    pl, y = _common.split_at(exact_line.p, exact_line.risk, n)
    ax_a.plot(pl, y, color=COLOR["dense"], lw=1.5, zorder=1, label="dense fit, theory (exact moments + radial)")
    pl, y = _common.split_at(dense_line.p, dense_line.risk, n)
    ax_a.plot(pl, y, color=COLOR["dense"], lw=0.9, ls=GE_STYLE, zorder=1,
              label="dense fit, Gaussian-equivalent theory ($d \\to \\infty$ reference)")
    ax_a.errorbar(p_mc, dst.mean, yerr=2 * dst.stderr, fmt=MARKER["dense"], ms=3.5,
                  color=COLOR["dense"], mfc="white", mew=1.1, elinewidth=1.0, zorder=3,
                  label="dense fit, simulation")
    pl, y = _common.split_at(pruned_ex.p, ex_val["none"], n)
    for ax, kw in ((ax_a, dict(lw=1.8, alpha=1.0)), (ax_b, dict(lw=1.0, alpha=0.45))):
        ax.plot(pl, y, color=COLOR["none"], zorder=2,
                label="magnitude pruned, theory" + (" (exact moments + radial)" if ax is ax_a
                                                      else " (as in (a))"), **kw)
    pl, y = _common.split_at(pruned.p, th_val["none"], n)
    ax_a.plot(pl, y, color=COLOR["none"], lw=0.9, ls=GE_STYLE, zorder=2,
              label="magnitude pruned, Gaussian-equivalent theory (reference)")
    ax_a.errorbar(p_mc, mean[:, 0], yerr=2 * se[:, 0], fmt=MARKER["none"], ms=4,
                  color=COLOR["none"], mfc="white", mew=1.2, elinewidth=1.0, zorder=3,
                  label="magnitude pruned, simulation")
    pl, y = _common.split_at(pruned_ex.p, ex_val["fresh"], n)
    ax_b.plot(pl, y, color=COLOR["fresh"], lw=1.5, zorder=2,
              label="pruned + retrain on fresh data, theory (exact + radial)")
    pl, y = _common.split_at(pruned.p, th_val["fresh"], n)
    ax_b.plot(pl, y, color=COLOR["fresh"], lw=0.9, ls=GE_STYLE, zorder=2,
              label="pruned + retrain on fresh data, Gaussian-equivalent theory (reference)")
    ax_b.errorbar(p_mc, mean[:, 2], yerr=2 * se[:, 2], fmt=MARKER["fresh"], ms=4.5,
                  color=COLOR["fresh"], mfc="white", mew=1.2, elinewidth=1.0, zorder=3,
                  label="pruned + retrain on fresh data, simulation")
    ax_b.errorbar(p_mc, mean[:, 1], yerr=2 * se[:, 1], fmt=MARKER["same"], ms=4,
                  color=COLOR["same"], mfc=COLOR["same"], mew=1.0, elinewidth=1.0, zorder=3,
                  alpha=0.85, label="pruned + retrain on the same data, simulation only")
    sm, sse = float(small.mean), float(small.stderr)
    y_all = np.concatenate([dst.mean, mean.ravel(), [baseline, baseline_ex, sm]])
    y_all = y_all[np.isfinite(y_all)]
    lo, hi = 0.85 * y_all.min(), max(1.5 * y_all.max(), 2.0)
    for ax in (ax_a, ax_b):
        ax.axhspan(sm - 2 * sse, sm + 2 * sse, color=COLOR["baseline"], alpha=0.12, lw=0, zorder=0,
                   label=f"train small (first {s} features), simulation $\\pm$2 s.e.")
        ax.axhline(baseline_ex, color=COLOR["baseline"], ls=":", lw=1.4, zorder=1,
                   label=f"train small, theory {baseline_ex:.3f} (Gaussian equivalent "
                         f"{baseline:.3f}; simulation {sm:.3f})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plots.mark_threshold(ax, n)
        ax.set_xlabel("width $p$ (first $p$ rows of $W$)")
        ax.set_ylim(lo, hi)
        ax.set_xlim(s * 0.9, P * 1.1)
        ticks = [t for t in (40, 50, 100, 200, 400, 800, 1600) if s * 0.9 <= t <= P * 1.1]
        ax.set_xticks(ticks)
        _plots.plain_ticks(ax.xaxis)
        yt = [v for v in (0.3, 0.4, 0.5, 0.6, 0.8, 1, 1.5, 2, 3, 4, 6, 8) if lo <= v <= hi]
        ax.set_yticks(yt)
        _plots.plain_ticks(ax.yaxis)
        ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1,
                  fontsize=8.5)
    ax_a.set_ylabel("test risk (noise included)")
    ax_a.set_title(f"(a) dense, and pruned to s={s} by magnitude")
    ax_b.set_title(f"(b) pruned to s={s}, then retrained by least squares")
    fig.suptitle(f"Random-features sparse double descent (E3: ReLU, d={task.d}, n={n}, "
                 f"$\\sigma$={args.noise:g}); markers: mean $\\pm$2 s.e. of {args.trials} trials",
                 fontsize=10)
    _io.save_figure(fig, outdir / "rf_sparse_double_descent.png", parameters=params)
    _plots.close(fig)

    # ---- agreement table and verdict
    head = (f"{'p':>6} {'rule':>23} {'retrain':>8} {'theory':>9} {'th se':>7} {'mc mean':>9} "
            f"{'stderr':>8} {'rel err':>8} {'z':>7}  ok")
    print(head + "\n" + "-" * len(head))
    for r in rows:
        th_s = f"{r['theory']:>9.4f}" if r["theory"] != "" else f"{'--':>9}"
        ts_s = f"{r['theory_stderr']:>7.4f}" if r["theory_stderr"] != "" else f"{'':>7}"
        z_s = f"{r['z']:>7.2f}" if r["z"] != "" else f"{'':>7}"
        re_s = f"{r['rel_err']:>+8.1%}" if r["rel_err"] != "" else f"{'':>8}"
        ok_s = "" if r["agrees"] == "" else ("yes" if r["agrees"] else "NO")
        print(f"{r['p']:>6} {r['rule']:>23} {r['retrain']:>8} {th_s} {ts_s} {r['mc_mean']:>9.4f} "
              f"{r['mc_stderr']:>8.4f} {re_s} {z_s}  {ok_s}")
    rule_ge = f"{AGREEMENT.n_stderr:g} s.e. + {AGREEMENT.allowance:.0%}"
    rule_ex = f"{EXACT_AGREEMENT.n_stderr:g} s.e. + {EXACT_AGREEMENT.allowance:.0%}"
    print(f"rules: Gaussian-equivalent theory |mc - theory| <= {rule_ge} (allowance: "
          f"Gaussian-equivalence error 2-5 % at d = {task.d}, docs/random_features.md); "
          f"exact-moment theory with the radial correction (rules '*{EXACT_SUFFIX}') "
          f"<= {rule_ex} (finite-n allowance); "
          "same-data retraining has no theory")
    for kind, pick, rule_text in (("exact-moment + radial", True, rule_ex),
                                  ("Gaussian-equivalent", False, rule_ge)):
        judged = [r for r in rows if r["agrees"] != ""
                  and str(r["rule"]).endswith(EXACT_SUFFIX) == pick]
        wide = [r for r in judged if r["wide"]]
        bad_wide = [f"{r['rule']}/{r['retrain']}@{r['p']}" for r in wide if not r["agrees"]]
        out_2se = [f"{r['rule']}/{r['retrain']}@{r['p']} (z {r['z']:+.1f})" for r in wide
                   if not r["within_2se"]]
        print(f"rf-sparse-double-descent, {kind} theory: width >= 2n: "
              f"{len(wide) - len(bad_wide)}/{len(wide)} points within {rule_text}, "
              f"{len(wide) - len(out_2se)}/{len(wide)} inside +-2 s.e. (no allowance)"
              + (f" [outside: {', '.join(out_2se)}]" if out_2se else "")
              + f"; all widths: {sum(bool(r['agrees']) for r in judged)}/{len(judged)} within "
              f"its rule")
    print(f"theory {t_th:.1f} s, simulation {t_mc:.1f} s, total {time.perf_counter() - t0:.1f} s "
          f"-> {outdir}/rf_sparse_double_descent.png")
    return 0


if __name__ == "__main__":
    _common.run_main(main)
