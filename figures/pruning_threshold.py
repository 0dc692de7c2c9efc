"""Magnitude pruning threshold on the coordinate law of the min-norm fit.

Example E2 of the ``docs/linear.md`` (40 strong features with variance 1 carrying all
the signal, weak pure-noise features with variance 0.05; n = 100, sigma = 1) at p = 800,
pruned to s = 40 weights by magnitude.  Line: the theory's law of a fitted coordinate
(``asymptotics.coordinate_law``, an equal-weight Gaussian mixture), split into the strong and
the weak block; vertical lines: the magnitude threshold +-c with ``sum_i P(|b_i| >= c) = s``
(``asymptotics.pruned_risk(...).threshold``); shaded: the kept mass.  Histogram: fitted
coefficients pooled over Monte Carlo trials (``sims.dense_risk``).  The kept count and the
number of true-signal features among the s kept are compared with the simulation.

    python figures/pruning_threshold.py [--trials 200] [--p 800] [--keep 40]
    overparam figure pruning-threshold
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

STRONG = 40


def _mean_se(x):
    st = sims.summarize(np.asarray(x, float))
    return float(st.mean), float(st.stderr)


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n\n")[0], "out/pruning_threshold")
    ap.add_argument("--trials", type=int, default=200, help="Monte Carlo fits pooled")
    ap.add_argument("--p", type=int, default=800, help="model size")
    ap.add_argument("--keep", type=int, default=40, help="weights kept (s)")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--noise", type=float, default=1.0)
    ap.add_argument("--quick", action="store_true", help="few trials (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.trials = min(args.trials, 10)
    if args.trials < 2:
        raise models.InputError(f"--trials: got {args.trials}; allowed: integers >= 2")
    p, s, n = args.p, args.keep, args.n
    if p <= STRONG or not 1 <= s <= p:
        raise models.InputError(f"--p/--keep: got p={p}, keep={s}; allowed: p > {STRONG}, "
                                "1 <= keep <= p")
    task = models.LinearTask.two_level(strong=STRONG, lam_strong=1.0, lam_weak=0.05, n=n,
                                       noise=args.noise, pool=p)
    outdir = Path(args.outdir)
    t0 = time.perf_counter()
    law = asy.coordinate_law(task, p)
    th = asy.pruned_risk(task, p=p, keep=s, rule=("magnitude",))
    c = float(th.threshold[0])
    kept_signal_th = float(th.kept_signal[0])
    mc = sims.dense_risk(task, p=np.array([p]), trials=args.trials, key=jax.random.key(args.seed),
                         keep_coefficients=args.trials)
    b = np.asarray(mc.coefficients)[0][:, :p]                          # (trials, p)
    absb = np.abs(b)
    count_c = _mean_se((absb >= c).sum(1))                              # kept by the threshold
    signal_c = _mean_se((absb[:, :STRONG] >= c).sum(1))
    top = np.argsort(-absb, axis=1, kind="stable")[:, :s]               # top-s by magnitude
    signal_top = _mean_se((top < STRONG).sum(1))
    kept_frac_sim = float((absb >= c).mean())

    strong, weak = law.subset(slice(0, STRONG)), law.subset(slice(STRONG, p))
    w_strong, w_weak = STRONG / p, (p - STRONG) / p
    lo, hi = np.quantile(b, [0.0002, 0.9998])
    span = max(abs(lo), abs(hi), 1.4 * c)
    grid = np.linspace(-span, span, 801)
    dens = law.density(grid)
    fig, axes = _plots.new_figure(ncols=2, width=4.6, height=3.5)
    for j, ax in enumerate(axes):
        ax.hist(b.ravel(), bins=90, range=(-span, span), density=True, color=_plots.COLORS[6],
                alpha=0.35, label=f"simulation ({args.trials} fits pooled)")
        ax.plot(grid, dens, color=_plots.COLORS[0], lw=1.8, label="theory, all coordinates")
        ax.plot(grid, w_strong * strong.density(grid), color=_plots.COLORS[1], lw=1.2, ls="--",
                label=f"theory, strong block (features 1-{STRONG})")
        ax.plot(grid, w_weak * weak.density(grid), color=_plots.COLORS[2], lw=1.2, ls="-.",
                label="theory, weak block (noise features)")
        for side in (-1, 1):
            sel = side * grid >= c
            ax.fill_between(grid[sel], 0, dens[sel], color=_plots.COLORS[4], alpha=0.45, lw=0,
                            label=f"kept mass $P(|b|\\geq c)$ = s/p = {s / p:.3f}" if side > 0 else None)
            ax.axvline(side * c, color="0.2", ls=":", lw=1.2,
                       label=f"magnitude threshold $\\pm c$, c = {c:.4f}" if side > 0 else None)
        ax.set_xlabel(r"fitted coefficient $b_i$")
        ax.set_xlim(-span, span)
    axes[0].set_ylabel("density")
    axes[0].set_title("(a) coordinate law, linear scale")
    axes[1].set_yscale("log")
    axes[1].set_ylim(max(1e-3, 0.3 * dens[np.abs(grid) <= span].min()), 40 * dens.max())
    axes[1].set_title("(b) log scale: the kept tails")
    text = (f"kept by $|b_i|\\geq c$:\n  theory {s}, sim. {count_c[0]:.1f} $\\pm$ {count_c[1]:.1f}\n"
            f"true signal among top {s}:\n  theory {kept_signal_th:.2f}, sim. {signal_top[0]:.2f} $\\pm$ {signal_top[1]:.2f}")
    axes[1].text(0.98, 0.98, text, transform=axes[1].transAxes, fontsize=8, va="top", ha="right",
                 bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="0.8", alpha=0.9))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False, fontsize=8.5)
    fig.suptitle(f"Magnitude pruning of the min-norm fit, example E2, p={p}, n={n}, "
                 f"$\\sigma$={args.noise:g}, keep s={s}", fontsize=10)
    params = {"figure": "pruning-threshold", **vars(args), "task": task.describe()}
    _io.save_figure(fig, outdir / "pruning_threshold.png", parameters=params)
    _plots.close(fig)
    rows = [dict(quantity="threshold_c", theory=c, simulation="", stderr=""),
            dict(quantity="kept_fraction", theory=s / p, simulation=kept_frac_sim, stderr=""),
            dict(quantity="kept_count_at_c", theory=float(s), simulation=count_c[0], stderr=count_c[1]),
            dict(quantity="signal_kept_at_c", theory=kept_signal_th, simulation=signal_c[0],
                 stderr=signal_c[1]),
            dict(quantity="signal_kept_top_s", theory=kept_signal_th, simulation=signal_top[0],
                 stderr=signal_top[1])]
    for q in (0.05, 0.5, 0.95, 0.99):
        rows.append(dict(quantity=f"quantile_{q:g}", theory=float(law.quantile(q)[0]),
                         simulation=float(np.quantile(b, q)), stderr=""))
    for r in rows:
        r.update(p=p, n=n, keep=s, trials=args.trials)
    # the counts with a standard error are judged by the project's one comparison
    counted = [r for r in rows if r["stderr"] != ""]
    cmp_ = overparam.compare(
        [dict(quantity=r["quantity"], theory=r["theory"], status="converged") for r in counted],
        [dict(quantity=r["quantity"], value_mean=r["simulation"], value_stderr=r["stderr"],
              value_median=r["simulation"], trials=args.trials, nonfinite_trials=0)
         for r in counted], value="theory", prefix="value")
    verdict = {row["quantity"]: row for row in cmp_.rows()}
    for r in rows:
        v = verdict.get(r["quantity"], {})
        r.update(z=v.get("z", ""), agrees=v.get("agrees", ""))
    _io.write_csv(outdir / "pruning_threshold.csv", rows,
                  columns=["p", "n", "keep", "quantity", "theory", "simulation", "stderr", "z",
                           "agrees", "trials"],
                  parameters=params)
    print(cmp_.table())
    print(f"pruning-threshold: c = {c:.5f}; kept at c: theory {s}, simulation {count_c[0]:.2f} +- "
          f"{count_c[1]:.2f}; true-signal kept: theory {kept_signal_th:.3f}, simulation "
          f"{signal_top[0]:.3f} +- {signal_top[1]:.3f} (top-s), {signal_c[0]:.3f} +- {signal_c[1]:.3f} "
          f"(at c); {time.perf_counter() - t0:.1f} s -> {outdir}/pruning_threshold.png")
    return 0


if __name__ == "__main__":
    _common.run_main(main)
