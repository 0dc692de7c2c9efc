"""Figure: heavy-tailed noise injected into SGD makes a one-hidden-layer network compressible.

Wan, Barsbey, Zaidi, Simsekli, arXiv:2306.08125 (ICML 2024);
``docs/heavy_tailed_sgd.md``.  Panels:

(a) mce pruned fraction (eps^2 = 0.1) against width for rotation-invariant noise with
    alpha in {1.5, 1.75, 2} and no noise (mean +- standard error over seeds), with the
    Gaussian-column limit ``P(chi_d <= r)`` (d = 10) as a reference line;
(b) test accuracy against the pruning ratio (smallest-norm units removed, no retraining) at
    the largest width; mce budgets marked;
(c) histogram of the column norms at the largest width (all seeds pooled) with the Pareto
    tail fitted by the Hill estimator (top 10% of norms);
(d) i.i.d. scalar alpha-stable vectors: sampled mce pruned fraction (median, quartiles)
    against the leading-order theory ``asymptotics.stable_mce_pruned_fraction``.

Default: the reference experiment's continuous time horizon ``eta T = 50`` in 1000 steps of ``eta = 0.05``
(regenerates on a 2-core CPU in a few minutes).  ``--eta 0.01 --steps 5000`` is the reference experiment's
reference run.  Writes PNG + CSVs (each with a JSON sidecar) to ``--outdir``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

CONFIGS = (  # (label, alpha, sigma); sigma for alpha = 1.5 as in the table of docs/heavy_tailed_sgd.md
    ("no noise", 2.0, 0.0),
    (r"$\alpha=2$ (Gaussian), $\sigma=.03$", 2.0, 0.03),
    (r"$\alpha=1.75$, $\sigma=.03$", 1.75, 0.03),
    (r"$\alpha=1.5$, $\sigma=.01$", 1.5, 0.01),
)
COLORS = ("0.35", "#1f77b4", "#d62728", "#ff7f0e")
MARKERS = ("s", "o", "^", "D")


def _parser():
    p = argparse.ArgumentParser(prog="overparam figure heavy-tailed-compressibility",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--outdir", default="out/heavy_tailed/")
    p.add_argument("--widths", type=int, nargs="+", default=[250, 500, 1000, 2000])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--eta", type=float, default=0.05)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise-type", default="rotation")
    p.add_argument("--eps2", type=float, default=0.1)
    p.add_argument("--iid-sizes", type=int, nargs="+", default=[100, 1000, 10000, 100000])
    p.add_argument("--iid-trials", type=int, default=200)
    return p


def main(argv=None) -> int:
    import jax
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import asymptotics as asy
    from models import NoisySGDTask
    from models._errors import check_int_range
    from overparam._io import save_figure, write_csv
    from sims import summarize
    from sims.heavy_tailed import DEFAULT_RATIOS, iid_compressibility, train_noisy_sgd

    args = _parser().parse_args(argv)
    widths = sorted(int(w) for w in check_int_range("--widths", args.widths, 20))
    check_int_range("--iid-sizes", args.iid_sizes, 20)
    check_int_range("--iid-trials", args.iid_trials, 2)
    cfgs = [NoisySGDTask.create(width=w, steps=args.steps, eta=args.eta, noise_type=args.noise_type)
            for w in widths]  # validates everything before any compilation
    alphas = [c[1] for c in CONFIGS]
    sigmas = [c[2] for c in CONFIGS]
    params = {**cfgs[-1].describe(), "widths": widths, "configs": [c[1:] for c in CONFIGS],
              "seeds": args.seeds, "seed": args.seed, "eps2": args.eps2, "dtype": "float32",
              "iid_sizes": args.iid_sizes, "iid_trials": args.iid_trials}

    t0 = time.time()
    runs = {}
    for cfg in cfgs:  # one compilation per width (array shapes), grid and seeds vmapped
        runs[cfg.net.width] = train_noisy_sgd(cfg, alphas, sigmas, jax.random.key(args.seed),
                                              seeds=args.seeds, eps2=args.eps2)
        print(f"width {cfg.net.width}: done ({time.time() - t0:.0f}s)", flush=True)
    big = runs[widths[-1]]
    iid = {n: iid_compressibility(jax.random.key(args.seed + 1), [1.5, 1.75, 2.0], n,
                                  args.iid_trials, eps2=args.eps2) for n in args.iid_sizes}
    print(f"i.i.d. vectors: done ({time.time() - t0:.0f}s)", flush=True)

    # ---------------------------------------------------------------- tables
    out = args.outdir.rstrip("/") + "/"
    rows = []
    for w, r in runs.items():
        for g, (label, a, s) in enumerate(CONFIGS):
            for k in range(args.seeds):
                rows.append({"width": w, "config": label.replace("$", ""), "alpha": a, "sigma": s,
                             "seed": k, **{m: float(r[m][g, k]) for m in (
                                 "test_acc", "mce_pruned_fraction", "mce_test_acc",
                                 "topk_relative_error", "hill_tail_index")}})
    write_csv(out + "width_sweep.csv", rows, parameters=params)
    rows = [{"width": widths[-1], "alpha": a, "sigma": s, "seed": k, "pruning_ratio": float(rt),
             "test_acc": float(big["test_acc_at_ratio"][g, k, j])}
            for g, (_, a, s) in enumerate(CONFIGS) for k in range(args.seeds)
            for j, rt in enumerate(DEFAULT_RATIOS)]
    write_csv(out + "accuracy_vs_ratio.csv", rows, parameters=params)
    rows = [{"width": widths[-1], "alpha": a, "sigma": s, "seed": k, "unit": i,
             "column_norm": float(big["column_norms"][g, k, i])}
            for g, (_, a, s) in enumerate(CONFIGS) for k in range(args.seeds)
            for i in range(widths[-1])]
    write_csv(out + "column_norms.csv", rows, parameters=params)
    theory = {a: [asy.stable_mce_pruned_fraction(a, n, args.eps2).value for n in args.iid_sizes]
              for a in (1.5, 1.75, 2.0)}
    rows = [{"alpha": a, "n": n, "theory_median": theory[a][i],
             "sim_median": float(np.median(iid[n]["mce_pruned_fraction"][j])),
             "sim_mean": float(np.mean(iid[n]["mce_pruned_fraction"][j])),
             "sim_q25": float(np.quantile(iid[n]["mce_pruned_fraction"][j], 0.25)),
             "sim_q75": float(np.quantile(iid[n]["mce_pruned_fraction"][j], 0.75))}
            for j, a in enumerate((1.5, 1.75, 2.0)) for i, n in enumerate(args.iid_sizes)]
    write_csv(out + "iid_mce.csv", rows, parameters=params)

    # ---------------------------------------------------------------- figure
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 9.5, "legend.fontsize": 7.5})
    fig, ax = plt.subplots(1, 4, figsize=(15, 3.6), constrained_layout=True)
    se = lambda v: summarize(v).stderr  # noqa: E731  (seed axis last; one summary everywhere)
    for g, (label, _, _) in enumerate(CONFIGS):
        pf = np.array([runs[w]["mce_pruned_fraction"][g] for w in widths])
        dodge = 1 + 0.025 * (g - 1.5)  # small horizontal offsets so overlapping curves stay visible
        ax[0].errorbar(np.asarray(widths) * dodge, summarize(pf).mean, yerr=se(pf), color=COLORS[g], marker=MARKERS[g],
                       ms=4, capsize=3, label=label)
    ax[0].axhline(asy.gaussian_mce_pruned_fraction(cfgs[0].task.d, args.eps2).value, color="k", ls=":",
                  lw=1, label=r"Gaussian columns, $n\to\infty$")
    ax[0].set(xscale="log", xlabel="width $n$", ylabel=r"mce pruned fraction ($\epsilon^2=%g$)" % args.eps2,
              title="(a) compressibility vs width (points offset)")
    ax[0].set_xticks(widths, [str(w) for w in widths])
    ax[0].minorticks_off()
    ax[0].legend(loc="upper left", frameon=False)

    ratios = np.asarray(DEFAULT_RATIOS)
    for g, (label, _, _) in enumerate(CONFIGS):
        acc = big["test_acc_at_ratio"][g]
        ax[1].errorbar(ratios + 0.005 * (g - 1.5), summarize(acc.T).mean, yerr=se(acc.T), color=COLORS[g], marker=MARKERS[g],
                       ms=3.5, capsize=2, label=label)
        pf = big["mce_pruned_fraction"][g].mean()
        ax[1].axvline(pf, color=COLORS[g], ls="--", lw=0.8)
    ax[1].set(xlabel="pruning ratio (smallest-norm units removed)", ylabel="test accuracy",
              title=f"(b) no retraining, $n={widths[-1]}$ (dashed: mce budget)")
    ax[1].legend(loc="lower left", frameon=False)

    allv = np.concatenate([big["column_norms"][g].ravel() for g in (0, 2, 3)])
    bins = np.geomspace(allv.min(), allv.max(), 50)
    dens_min = np.inf
    for g in (0, 2, 3):
        v = big["column_norms"][g].ravel()
        h, e = np.histogram(v, bins=bins)
        dens = h / (v.size * np.diff(e))
        c = np.sqrt(e[:-1] * e[1:])
        ok = h > 0
        dens_min = min(dens_min, dens[ok].min())
        ax[2].plot(c[ok], dens[ok], ls="none", marker=MARKERS[g], ms=3.2, color=COLORS[g],
                   label=CONFIGS[g][0])
        if g != 0:  # Pareto tail implied by the Hill fit: density (k/n) a x_k^a x^(-a-1), x > x_k
            a_hat = float(np.mean(big["hill_tail_index"][g]))
            k = max(10, round(0.1 * widths[-1]))
            xk = float(np.mean(np.sort(big["column_norms"][g], axis=1)[:, -k - 1]))
            xs = np.geomspace(xk, v.max(), 20)
            ax[2].plot(xs, (k / widths[-1]) * a_hat * xk**a_hat * xs ** (-a_hat - 1),
                       color=COLORS[g], ls="--", lw=1.2,
                       label=rf"Hill fit, top 10%: $\hat\alpha={a_hat:.2f}$")
    ax[2].set_ylim(bottom=dens_min / 5)
    ax[2].set(xscale="log", yscale="log", xlabel=r"column norm $\|\theta_i\|$",
              ylabel="density (log bins)",
              title=f"(c) column norms, $n={widths[-1]}$, {args.seeds} seeds pooled")
    ax[2].legend(loc="lower left", frameon=False)

    sizes = np.asarray(args.iid_sizes)
    for j, (a, col) in enumerate(zip((1.5, 1.75, 2.0), ("#ff7f0e", "#d62728", "#1f77b4"))):
        sim = np.array([iid[n]["mce_pruned_fraction"][j] for n in sizes])
        med = np.median(sim, axis=1)
        lo, hi = np.quantile(sim, 0.25, axis=1), np.quantile(sim, 0.75, axis=1)
        ax[3].errorbar(sizes, med, yerr=[med - lo, hi - med], fmt="o", color=col, ms=4, capsize=3,
                       label=rf"sampled, $\alpha={a:g}$")
        ax[3].plot(sizes, theory[a], color=col, lw=1.2)
    ax[3].plot([], [], color="k", lw=1.2, label="theory: median, leading order")
    ax[3].set(xscale="log", xlabel="vector length $n$", ylabel="mce pruned fraction",
              title=f"(d) i.i.d. $\\alpha$-stable vectors (median, quartiles; {args.iid_trials} draws)",
              ylim=(0.45, 1.02))
    ax[3].legend(loc="upper left", frameon=False)
    kind = {"rotation": "rotation-invariant", "iid": "i.i.d.", "scalar": "per-unit scalar"}[args.noise_type]
    fig.suptitle(f"Noise-injected SGD, one hidden ReLU layer: {kind} alpha-stable noise "
                 f"on the hidden layer; d = {cfgs[0].task.d}, eta = {args.eta:g}, {args.steps} steps, "
                 f"batch {cfgs[0].batch}; mean $\\pm$ s.e. over {args.seeds} seeds", fontsize=10)
    path = save_figure(fig, out + "heavy_tailed_compressibility.png", parameters=params)
    plt.close(fig)
    print(f"wrote {path} ({time.time() - t0:.0f}s)")
    return 0


if __name__ == "__main__":
    import _common  # the script's folder is on sys.path

    _common.run_main(main)  # float64 and the CPU workaround first, as the command line does
