"""Random features in the proportional limit: the conditional theory for drawn W converges to
a W-free curve as d grows.

Mathematics: ``docs/random_features.md`` (Gaussian equivalence) and
``asymptotics/_rf_limit.py`` (the limit: Marchenko-Pastur spectrum of ``W W^T``, isotropic
teacher; equal to the Mei-Montanari ridgeless closed form).  Centred ReLU features, rows of
``W`` uniform on the sphere, ``||theta|| = 1``, ``n = psi2 d``, min-norm / OLS fit.
(a) dense risk against ``psi1 = p / d``: the limit (``asymptotics.rf_limit_dense_risk``, line)
and the conditional theory (``asymptotics.rf_dense_risk``) for several draws of ``(W, theta)``
at each ``d`` (markers; one colour per ``d``).  (b) relative deviation of the conditional
theory from the limit at fixed ratios, one marker per draw, with the root mean square over
draws: it falls like ``d^{-1/2}`` (the teacher's projections on the singular vectors of ``W``
fluctuate at that rate; the spectrum of ``W`` converges faster).  (c) the simulation with the
actual nonlinear features, averaged over the same number of draws of ``(W, theta)``
(``sims.rf_dense_risk_over_weights``: ``--trials`` data draws per draw, the two-level standard
error), relative to the limit, with error bars of 2 s.e.; beside it the conditional theory
averaged over those same draws: Gaussian equivalent, exact second moment
(``second_moment="exact"``, the finite-``d`` correction) and, for ReLU, exact second moment
with the radial correction (``radial=True``: the input radius turns into a training noise
``sigma^2 d/(d-2)``, ``asymptotics/_rf_radial.py``).  As ``d`` grows the simulation
approaches the limit (the Gaussian-equivalence error falls roughly like ``1/d``); the
exact-moment theory follows it and the radial correction closes most of what is left.

    python figures/rf_proportional_limit.py [--draws 12] [--trials 40] [--outdir out/rf_proportional_limit]
    overparam figure rf-proportional-limit
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
import sims  # noqa: E402
from overparam import _io, _plots  # noqa: E402

DIMS = (50, 100, 200, 400)
QUICK_DIMS = (25, 50)
#: widths p / d of the conditional theory (none within 20 % of the peak at psi1 = psi2 = 2)
PSI1 = (0.5, 1.0, 1.5, 2.5, 3.0, 4.0, 6.0, 8.0)
QUICK_PSI1 = (1.0, 4.0)
#: ratios of panel (b)
PANEL_B = (1.0, 4.0)
#: dimensions simulated in panel (c) (d = 400 costs ~8x d = 200 per trial)
SIM_DIMS = (50, 100, 200)
QUICK_SIM_DIMS = (25,)


def main(argv=None) -> int:
    ap = _common.parser(__doc__.split("\n\n")[0], "out/rf_proportional_limit")
    ap.add_argument("--draws", type=int, default=12, help="draws of (W, theta) per d")
    ap.add_argument("--psi2", type=float, default=2.0, help="n / d")
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--activation", default="relu", choices=sorted(models.ACTIVATIONS))
    ap.add_argument("--trials", type=int, default=40,
                    help="data draws per (W, theta) draw in the simulation of panel (c)")
    ap.add_argument("--quick", action="store_true", help="two small d, two draws (smoke test)")
    args = ap.parse_args(argv)
    if args.quick:
        args.draws = min(args.draws, 2)
        args.trials = min(args.trials, 8)
    if args.draws < 2:
        raise models.InputError(f"--draws: got {args.draws}; allowed: integers >= 2 (the "
                                "simulation's standard error is the spread over draws)")
    if args.trials < 2:
        raise models.InputError(f"--trials: got {args.trials}; allowed: integers >= 2")
    if not args.psi2 > 0:
        raise models.InputError(f"--psi2: got {args.psi2}; allowed: > 0")
    dims = QUICK_DIMS if args.quick else DIMS
    psi1 = np.array(QUICK_PSI1 if args.quick else PSI1)
    psi1 = psi1[np.abs(psi1 - args.psi2) >= 0.2 * args.psi2]
    psi2, noise, act = args.psi2, args.noise, args.activation
    outdir = Path(args.outdir)
    t0 = time.perf_counter()

    # the limit: a line over psi1, and its values at the conditional widths
    grid = np.unique(np.concatenate([np.geomspace(0.1, 20.0, 400), [psi2]]))
    line = asy.rf_limit_dense_risk(act, grid, psi2, noise, throw=False)

    rows = []
    key = jax.random.key(args.seed)
    for d in dims:
        n = int(round(psi2 * d))
        widths = np.unique(np.round(psi1 * d).astype(int))
        widths = widths[widths != n]
        lim = asy.rf_limit_dense_risk(act, widths / d, n / d, noise)
        for k in range(args.draws):
            task = models.RFTask.draw(jax.random.fold_in(jax.random.fold_in(key, d), k), d=d,
                                      pool=int(widths.max()), n=n, noise=noise, activation=act)
            cond = asy.rf_dense_risk(task, p=widths)
            for i, p in enumerate(widths):
                rows.append(dict(d=d, draw=k, p=int(p), n=n, psi1=p / d, psi2=n / d,
                                 conditional=float(cond.risk[i]), limit=float(lim.risk[i]),
                                 rel_dev=float(cond.risk[i] / lim.risk[i] - 1),
                                 kappa_conditional=float(cond.kappa[i]),
                                 kappa_limit=float(lim.kappa[i])))
    # ---- simulation averaged over (W, theta) draws, and the conditional theories on them
    sim_dims = QUICK_SIM_DIMS if args.quick else SIM_DIMS
    sim_psi1 = np.array([a for a in PANEL_B if a in psi1])
    sim_rows = []
    t_sim = time.perf_counter()
    for d in sim_dims:
        n = int(round(psi2 * d))
        widths = np.unique(np.round(sim_psi1 * d).astype(int))
        widths = widths[widths != n]
        wkey = jax.random.fold_in(jax.random.fold_in(key, 10_000 + d), 0)
        mc = sims.rf_dense_risk_over_weights(
            wkey, jax.random.fold_in(key, 20_000 + d), d=d, pool=int(widths.max()), n=n,
            noise=noise, p=widths, draws=args.draws, trials=args.trials, activation=act)
        lim = asy.rf_limit_dense_risk(act, widths / d, n / d, noise)
        ge, ex, rad = [], [], []
        for k in range(args.draws):      # the simulation's own draws (same keys)
            task = models.RFTask.draw(jax.random.fold_in(wkey, k), d=d, pool=int(widths.max()),
                                      n=n, noise=noise, activation=act)
            ge.append(asy.rf_dense_risk(task, p=widths).risk)
            ex.append(asy.rf_dense_risk(task, p=widths, second_moment="exact").risk)
            if act == "relu":            # the radial correction needs a degree-1 activation
                rad.append(asy.rf_dense_risk(task, p=widths, second_moment="exact",
                                             radial=True).risk)
        ge, ex = np.array(ge), np.array(ex)
        rad = np.array(rad) if rad else np.full_like(ex, np.nan)
        for i, p in enumerate(widths):
            sim_rows.append(dict(
                d=d, p=int(p), n=n, psi1=p / d, psi2=n / d, draws=args.draws,
                trials=args.trials, limit=float(lim.risk[i]), mc_mean=float(mc.mean[i]),
                mc_stderr=float(mc.stderr[i]), ge_conditional_mean=float(ge[:, i].mean()),
                exact_conditional_mean=float(ex[:, i].mean()),
                exact_conditional_stderr=float(ex[:, i].std(ddof=1) / np.sqrt(args.draws)),
                z_exact=float((mc.mean[i] - ex[:, i].mean()) / mc.stderr[i]),
                radial_conditional_mean=float(rad[:, i].mean()),
                z_radial=float((mc.mean[i] - rad[:, i].mean()) / mc.stderr[i]),
                z_limit=float((mc.mean[i] - lim.risk[i]) / mc.stderr[i])))
    t_sim = time.perf_counter() - t_sim

    params = {"figure": "rf-proportional-limit", **vars(args), "dims": dims, "psi1": psi1,
              "sim_dims": sim_dims, "sim_psi1": sim_psi1,
              "sim_standard_error": "std over the (W, theta) draws of the per-draw means / "
                                    "sqrt(draws) (sims.rf_dense_risk_over_weights)"}
    _io.write_csv(outdir / "rf_proportional_limit.csv", rows, parameters=params)
    _io.write_csv(outdir / "rf_proportional_limit_line.csv",
                  [dict(psi1=float(a), psi2=psi2, limit=float(r), status=str(s))
                   for a, r, s in zip(grid, line.risk, asy.status_names(line.status))],
                  parameters=params)

    # ---- figure
    fig, (ax_a, ax_b, ax_c) = _plots.new_figure(ncols=3, width=4.4, height=4.3)
    x, y = _common.split_at(grid, line.risk, psi2)
    ax_a.plot(x, y, color="0.15", lw=1.5, zorder=3, label="proportional limit")
    colors = {d: _plots.COLORS[i % len(_plots.COLORS)] for i, d in enumerate(dims)}
    jitter = {d: 1.0 + 0.025 * (i - (len(dims) - 1) / 2) for i, d in enumerate(dims)}
    for d in dims:
        sel = [r for r in rows if r["d"] == d]
        ax_a.plot([r["psi1"] * jitter[d] for r in sel], [r["conditional"] for r in sel], "o",
                  ms=3.5, mfc="none", color=colors[d], alpha=0.8,
                  label=f"conditional on W, d={d} ({args.draws} draws)")
    ax_a.axvline(psi2, color="0.6", ls="--", lw=1.0)
    ax_a.set_xscale("log")
    ax_a.set_yscale("log")
    ax_a.set_xlabel(r"$\psi_1 = p/d$")
    ax_a.set_ylabel("dense test risk")
    ax_a.set_title(f"(a) $\\psi_2 = n/d = {psi2:g}$, {act}, $\\sigma$={noise:g}")
    finite = line.risk[np.isfinite(line.risk)]
    ax_a.set_ylim(0.8 * finite.min(), 6.0 * np.median(finite))
    ax_a.legend(frameon=False, fontsize=8, loc="upper left")
    for axis in (ax_a.xaxis, ax_a.yaxis):
        _plots.plain_ticks(axis)
    rms_rows = []
    for j, a in enumerate(b for b in PANEL_B if b in psi1):
        marker = "os"[j % 2]
        ds, rms = [], []
        for d in dims:
            dev = np.array([r["rel_dev"] for r in rows if r["d"] == d
                            and abs(r["psi1"] - a) < 0.5 / d])
            if dev.size == 0:
                continue
            ax_b.plot(np.full(dev.size, d) * (1 + 0.04 * (j - 0.5)), np.abs(dev), marker,
                      ms=3.5, mfc="none", color=_plots.COLORS[j], alpha=0.6)
            ds.append(d)
            rms.append(float(np.sqrt(np.mean(dev**2))))
            rms_rows.append(dict(psi1=a, d=d, rms_rel_dev=rms[-1], draws=int(dev.size)))
        ax_b.plot(ds, rms, "-" + marker, color=_plots.COLORS[j], ms=5,
                  label=f"$\\psi_1$={a:g}: |deviation| per draw, and RMS")
        if ds:   # the d^{-1/2} law through the RMS points (level fitted in log space)
            dd = np.array(ds, float)
            level = float(np.exp(np.mean(np.log(np.array(rms) * np.sqrt(dd)))))
            ax_b.plot(dd, level / np.sqrt(dd), ":", color=_plots.COLORS[j], lw=1.2,
                      label=r"$\propto d^{-1/2}$" if j == 0 else None)
    ax_b.set_xscale("log")
    ax_b.set_yscale("log")
    ax_b.set_xticks(list(dims))
    _plots.plain_ticks(ax_b.xaxis)
    ax_b.set_xlabel("input dimension $d$ (ratios fixed)")
    ax_b.set_ylabel("|conditional / limit - 1|")
    ax_b.set_title("(b) distance to the limit")
    ax_b.legend(frameon=False, fontsize=8)
    for j, a in enumerate(sim_psi1):
        sel = [r for r in sim_rows if abs(r["psi1"] - a) < 1e-9]
        if not sel:
            continue
        ds = np.array([r["d"] for r in sel], float)
        rel = lambda key: np.array([r[key] / r["limit"] - 1 for r in sel])  # noqa: E731
        shift = 1 + 0.05 * (j - 0.5)
        ax_c.errorbar(ds * shift, rel("mc_mean"),
                      yerr=2 * np.array([r["mc_stderr"] / r["limit"] for r in sel]),
                      fmt="os"[j % 2], ms=4.5, color=_plots.COLORS[j], mfc="white", mew=1.2,
                      capsize=2, label=f"$\\psi_1$={a:g}: simulation, mean over draws $\\pm$2 s.e.")
        ax_c.plot(ds * shift, rel("exact_conditional_mean"), "--", color=_plots.COLORS[j], lw=1.1,
                  label=f"$\\psi_1$={a:g}: theory, exact second moment")
        if np.all(np.isfinite(rel("radial_conditional_mean"))):
            ax_c.plot(ds * shift, rel("radial_conditional_mean"), "-", color=_plots.COLORS[j],
                      lw=1.6, label=f"$\\psi_1$={a:g}: theory, exact second moment + radial")
        ax_c.plot(ds * shift, rel("ge_conditional_mean"), ":", color=_plots.COLORS[j], lw=1.4,
                  label=f"$\\psi_1$={a:g}: theory, Gaussian equivalent")
    ax_c.axhline(0.0, color="0.15", lw=1.0)
    ax_c.set_xscale("log")
    ax_c.set_xticks(list(sim_dims))
    _plots.plain_ticks(ax_c.xaxis)
    ax_c.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    ax_c.set_xlabel("input dimension $d$ (ratios fixed)")
    ax_c.set_ylabel("risk / limit - 1 (averages over draws)")
    ax_c.set_title(f"(c) nonlinear features, {args.draws} draws x {args.trials} trials")
    ax_c.legend(frameon=False, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    fig.suptitle("Random-features dense risk: conditional theory for drawn W, the proportional "
                 "limit and the simulation", fontsize=10)
    _io.save_figure(fig, outdir / "rf_proportional_limit.png", parameters=params)
    _plots.close(fig)
    _io.write_csv(outdir / "rf_proportional_limit_rms.csv", rms_rows, parameters=params)
    _io.write_csv(outdir / "rf_proportional_limit_sim.csv", sim_rows, parameters=params)

    for r in rms_rows:
        print(f"psi1={r['psi1']:g} d={r['d']:>4}: RMS relative deviation {r['rms_rel_dev']:.4f} "
              f"over {r['draws']} draws")
    for r in sim_rows:
        print(f"simulation d={r['d']:>4} psi1={r['psi1']:g}: {r['mc_mean']:.4f} +- "
              f"{r['mc_stderr']:.4f}; exact-moment theory {r['exact_conditional_mean']:.4f} "
              f"(z {r['z_exact']:+.1f}), with the radial correction "
              f"{r['radial_conditional_mean']:.4f} (z {r['z_radial']:+.1f}), Gaussian "
              f"equivalent {r['ge_conditional_mean']:.4f}, "
              f"limit {r['limit']:.4f} (z {r['z_limit']:+.1f})")
    print(f"rf-proportional-limit: {len(rows)} conditional points, {len(sim_rows)} simulated "
          f"({t_sim:.1f} s), total "
          f"{time.perf_counter() - t0:.1f} s -> {outdir}/rf_proportional_limit.png")
    return 0


if __name__ == "__main__":
    _common.run_main(main)
