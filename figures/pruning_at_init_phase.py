"""Phase diagram of random pruning at initialization: test error over (||mu||, p).

Yang, Liang, Guo, Wu, Wang, ICLR 2023 (arXiv:2301.00335), small configuration of
``docs/pruning_at_init.md``.  Simulation (``sims.train_pruned``, one compiled
call reused for every ``||mu||``) as a colour map; the theory's boundaries on top:

- ``p_min(||mu||) = 1 - (n ||mu||^q / (C_q sigma_p^q))^{2/q} / d`` (benign above it),
- ``p_max = 1 - c/m`` (over-pruning onset: fewer than ``c`` signal neurons per class),
- ``(1 - p) d = n`` (above it gradient descent can no longer memorize the noise).

Run:  ``overparam figure pruning-at-init-phase [--quick] [--outdir DIR]``
  or  ``python figures/pruning_at_init_phase.py``.
"""

from __future__ import annotations

import time

import jax
import numpy as np

import asymptotics as asy
from models import PatchTask
from overparam._io import save_figure, write_csv
from sims.pruning_at_init import train_pruned

if __package__:
    from ._pai_common import COLORS, SMALL, TRAIN, base_parser, outdir, style
else:  # run as a script
    from _pai_common import COLORS, SMALL, TRAIN, base_parser, outdir, style

MU_GRID = (3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 14.0, 17.0, 20.0)
P_GRID = (0.0, 0.2, 0.4, 0.55, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.985)


def compute(seeds: int, mu_grid, p_grid, seed: int, n_test: int) -> dict:
    """Mean and standard error of the final test error on the (||mu||, p) grid."""
    base = PatchTask.create(**SMALL)
    key = jax.random.key(seed)
    mean = np.zeros((len(mu_grid), len(p_grid)))
    se = np.zeros_like(mean)
    train = np.zeros_like(mean)
    for i, mu in enumerate(mu_grid):
        t0 = time.time()
        run = train_pruned(base.with_mu_norm(mu), p_grid, key, seeds=seeds,
                           n_test=n_test, record_steps=[TRAIN["steps"]], **TRAIN)
        mean[i], se[i] = run.summary("test_error")
        train[i] = run.summary("train_error")[0]
        print(f"  ||mu|| = {mu:5.1f}: {time.time() - t0:5.1f} s", flush=True)
    return {"mean": mean, "se": se, "train": train}


def fit_C_q(mu_grid, p_grid, mean, p_max: float, threshold: float = 0.25) -> float:
    """The constant ``C_q`` whose boundary ``p >= p_min(||mu||; C_q)`` best separates the
    simulated cells with test error below ``threshold`` (benign) from the others, among the
    cells with ``p <= p_max``; the geometric middle of the minimizing range of a log grid."""
    n, d, q, s = SMALL["n"], SMALL["d"], SMALL["q"], SMALL["sigma_p"]
    grid = np.geomspace(1e-2, 1e3, 501)
    mu, p = np.meshgrid(np.asarray(mu_grid), np.asarray(p_grid), indexing="ij")
    use = p <= p_max
    benign = mean < threshold
    cost = np.array([np.sum(((p >= asy.p_min(n, d, mu, s, q, C_q=C).value) != benign)[use]) for C in grid])
    best = grid[cost == cost.min()]
    return float(np.sqrt(best[0] * best[-1]))


def draw(mu_grid, p_grid, res, C_q: float, c: float):
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    n, d, m, q = SMALL["n"], SMALL["d"], SMALL["m"], SMALL["q"]
    mu, p = np.asarray(mu_grid), np.asarray(p_grid)
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    # cells centred on grid points (edges half-way between neighbours)
    def edges(v):
        mid = (v[1:] + v[:-1]) / 2
        return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    mesh = ax.pcolormesh(edges(mu), np.clip(edges(p), 0, 1), res["mean"].T, cmap="RdYlBu_r",
                         norm=Normalize(0, 0.5), shading="flat")
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label("test error (mean over seeds)")
    mu_f = np.linspace(edges(mu)[0], edges(mu)[-1], 400)
    pmax = float(asy.over_pruning_onset(m, c=c).value)
    pmin = asy.p_min(n, d, mu_f, SMALL["sigma_p"], q, C_q=C_q).value
    ax.plot(mu_f, np.where(pmin >= 0, pmin, np.nan), color="k", lw=1.6, ls=":",
            label=rf"$p_{{\min}}$: $n\,\mathrm{{SNR}}_p^{{q}} = C_q$, $C_q={C_q:g}$ (default)")
    fitted = fit_C_q(mu_grid, p_grid, res["mean"], pmax)
    pfit = asy.p_min(n, d, mu_f, SMALL["sigma_p"], q, C_q=fitted).value
    ax.plot(mu_f, np.where(pfit >= 0, pfit, np.nan), color="k", lw=2.2, ls="-",
            label=rf"$p_{{\min}}$ with $C_q={fitted:.2g}$ fitted to this map (error $<1/4$)")
    ax.axhline(pmax, color="k", lw=2.2, ls="--",
               label=rf"$p_{{\max}} = 1 - c/m$ ($c={c:g}$): $(1-p)m = c$")
    ax.axhline(1 - n / d, color=COLORS["memorize"], lw=1.6, ls=":",
               label=r"$(1-p)\,d = n$ (memorization limit)")
    ax.set_xlabel(r"signal strength $\|\mu\|$  ($\sigma_p = 1$)")
    ax.set_ylabel(r"pruning fraction $p$")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlim(edges(mu)[0], edges(mu)[-1])
    ax.grid(False)
    ax.set_title(rf"Random pruning at init: $n={n}$, $d={d}$, $m={m}$, $q={q:g}$", fontsize=11)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8.5,
              frameon=False)
    ax.text(0.98, 0.5 * (pmax + max(0.0, float(asy.p_min(n, d, mu[-1], 1.0, q, C_q=fitted).value))),
            "benign band", transform=ax.get_yaxis_transform(), ha="right", va="center",
            fontsize=9, color="k", bbox=dict(fc="white", alpha=0.7, lw=0))
    fig.fitted_C_q = fitted
    return fig


def main(argv=None) -> int:
    ap = base_parser("overparam figure pruning-at-init-phase", __doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=None, help="seeds per grid point (4; quick 2)")
    args = ap.parse_args(argv)
    out = outdir(args.outdir)
    style()
    mu_grid = MU_GRID[::2] if args.quick else MU_GRID
    p_grid = tuple(sorted(set(P_GRID[::2]) | {P_GRID[-1]})) if args.quick else P_GRID
    seeds = args.seeds or (2 if args.quick else 4)
    n_test = 500 if args.quick else 2000
    print(f"phase diagram: {len(mu_grid)} x {len(p_grid)} grid, {seeds} seeds", flush=True)
    res = compute(seeds, mu_grid, p_grid, args.seed, n_test)
    params = {**SMALL, **TRAIN, "seeds": seeds, "seed": args.seed, "n_test": n_test,
              "C_q": args.C_q, "c": args.c, "mu_grid": list(mu_grid), "p_grid": list(p_grid)}
    rows = []
    for i, mu in enumerate(mu_grid):
        pm = float(asy.p_min(SMALL["n"], SMALL["d"], mu, SMALL["sigma_p"], SMALL["q"], C_q=args.C_q).value)
        for j, p in enumerate(p_grid):
            rows.append({"mu_norm": mu, "p": p, "test_error": res["mean"][i, j],
                         "test_error_se": res["se"][i, j], "train_error": res["train"][i, j],
                         "p_min": pm, "p_max": float(asy.over_pruning_onset(SMALL["m"], c=args.c).value)})
    write_csv(out / "phase.csv", rows, parameters=params)
    fig = draw(mu_grid, p_grid, res, args.C_q, args.c)
    save_figure(fig, out / "phase.png", parameters={**params, "C_q_fitted": fig.fitted_C_q})
    print(f"C_q fitted to the simulated map: {fig.fitted_C_q:.3g}")
    print(f"wrote {out / 'phase.png'}")
    return 0


if __name__ == "__main__":
    import _common  # the script's folder is on sys.path

    _common.run_main(main)  # float64 and the CPU workaround first, as the command line does
